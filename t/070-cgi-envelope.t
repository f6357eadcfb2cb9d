#!/usr/bin/perl
# /cgi: the envelope, the crypto (PROTOCOL.md section 2, with the worked
# example), gettoken (section 3) and the section 6 codes of the envelope.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use MIME::Base64;
use Youdu::Test;
use Youdu::Cgi;

my $J = JSON::PP->new->utf8->canonical;

# --- the worked example of section 2.6, on both sides ---------------------
my $ex = cgi_app(app_id => 'yd37D192E9F20E448192827A001A84D443',
                 key => 'AY2O92Lpyr4M2IOXT05NQG3eaXd72FlS/QZ1l4vGKsQ=');
my $ct_a = 'v6805vKW2awcnEiXuLdBsJgkPWEbi0SmjoVvQjI6IxVkJU1Wtd31Rwr+8HORL4ZTqcNSzK7yunGfkaLyJ57LkS8dgAzQ+nF8RQd+ufQ/+0ZAjzGZQfBGOFbarxDFMhcp';
my $ct_b = 'v6805vKW2awcnEiXuLdBsBSZGEa4KvOAOuvuvUrNdoL5AIlvOmxgJfZhfChcVNQuoAk9qqlYnwmsCusPzJIB6i8Hxq6vQr86RqWT/lmoLTfi1h61d8uywN5gequN/zmB';
is(cgi_encrypt($ex->{key}, $ex->{app_id}, '1700000000', random16 => '0123456789abcdef'), $ct_a,
   'the test client reproduces the worked example (a)');
my ($plain, $trailer) = cgi_decrypt($ex->{key}, $ct_b);
is($plain, '{"accessToken":"tok-123","expireIn":7200}', 'and decrypts example (b)');
is($trailer, $ex->{app_id}, 'with the appId trailer');

my ($st, $j) = cgi_raw(POST => '/gettoken', $J->encode({ buin => 707168, appId => $ex->{app_id}, encrypt => $ct_a }));
is($st, 200, 'gettoken with the example ciphertext: HTTP 200');
is($j->{errcode}, 0, 'errcode 0');
is($j->{errmsg}, 'ok', 'errmsg ok');
my ($tok_plain, $tok_trailer) = cgi_decrypt($ex->{key}, $j->{encrypt});
is($tok_trailer, $ex->{app_id}, 'the reply ends with the appId (Python and PHP check it)');
my $tok = $J->decode($tok_plain);
like($tok->{accessToken}, qr/^[A-Za-z0-9_-]{20,}$/, 'an opaque, URL-safe token');
is($tok->{expireIn}, 7200, 'expireIn 7200');
like($tok_plain, qr/"expireIn":7200[,}]/, 'expireIn is a JSON integer');
is(length(decode_base64($j->{encrypt})) % 32, 0, 'reply ciphertext is a multiple of 32 bytes (Go SDKs)');

# --- gettoken: every SDK's way of encrypting ------------------------------
my $app = cgi_app();
my %seen;
for my $iv ('key', 'random') {
    my $t = cgi_token($app, iv => $iv);
    ok($t, "gettoken with IV $iv");
    $seen{$t}++;
}
$seen{cgi_token($app, random16 => join('', map { chr } 0..15))}++;
is(scalar(keys %seen), 3, 'each call returns a new token');
is(sql("SELECT COUNT(*) FROM app_tokens WHERE app_pk = $app->{pk} AND expires_at > UTC_TIMESTAMP()"), 3,
   'all three stay valid (several live tokens per app)');
is(sql("SELECT COUNT(*) FROM app_tokens WHERE token_hash = SHA2('" . (keys %seen)[0] . "', 256)"), 1,
   'only a hash of the token is stored');
is(sql("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), MAX(expires_at)) BETWEEN 7190 AND 7200 FROM app_tokens WHERE app_pk = $app->{pk}"),
   1, 'tokens live 7200 s');

# a 16-byte padder whose pad value happens to be valid (<= 32) is read
($st, $j) = cgi_raw(POST => '/gettoken', $J->encode({ buin => 1, appId => $app->{app_id},
    encrypt => cgi_encrypt($app->{key}, $app->{app_id}, '17000000000', pad => 16) }));
is($j->{errcode}, 0, 'a 16-byte PKCS#7 padding is accepted (pad values 1..32)');

# GET works as well, and a trailing "?" (ADD sends /cgi/gettoken?)
my $env = { buin => 1, appId => $app->{app_id}, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, time) };
($st, $j) = cgi_raw(POST => '/gettoken?', $J->encode($env));
is($j->{errcode}, 0, 'POST /cgi/gettoken? works');
($st, $j) = cgi_raw(POST => '/GetToken', $J->encode($env), 'Content-Type' => 'text/plain', 'Content-Encoding' => 'UTF-8');
is($j->{errcode}, 0, 'case-insensitive path, any Content-Type, Content-Encoding ignored');
($st, $j) = cgi_raw(POST => '/gettoken', $J->encode({ %$env, buin => '1000' }));
is($j->{errcode}, 0, 'buin as a numeric string is accepted');
my $ws = $env->{encrypt};
$ws =~ s/(.{20})/$1\r\n /g;
($st, $j) = cgi_raw(POST => '/gettoken', $J->encode({ %$env, encrypt => " $ws\r" }));
is($j->{errcode}, 0, 'whitespace inside the base64 is skipped');

# --- envelope errors: each its section 6 code, HTTP 200, errmsg string ----
my @bad = (
    [ 'empty body', undef, 100003 ],
    [ 'not JSON', 'buin=1', 100004 ],
    [ 'a JSON array', '[1,2]', 100004 ],
    [ 'truncated JSON', '{"buin":1,', 100004 ],
    [ 'missing buin', { appId => $app->{app_id}, encrypt => $env->{encrypt} }, 100008 ],
    [ 'buin a float', { %$env, buin => 1.5 }, 100012 ],
    [ 'buin an object', { %$env, buin => {} }, 100012 ],
    [ 'buin a word', { %$env, buin => 'abc' }, 100012 ],
    [ 'missing appId', { buin => 1, encrypt => $env->{encrypt} }, 100010 ],
    [ 'appId a number', { %$env, appId => 12 }, 100013 ],
    [ 'appId too long', { %$env, appId => 'x' x 65 }, 100013 ],
    [ 'missing encrypt', { buin => 1, appId => $app->{app_id} }, 100011 ],
    [ 'encrypt a number', { %$env, encrypt => 5 }, 100014 ],
    [ 'encrypt empty', { %$env, encrypt => '' }, 100014 ],
    [ 'unknown appId', { %$env, appId => 'ydNOSUCHAPP' }, 100005 ],
    [ 'encrypt not base64', { %$env, encrypt => '!!!notbase64!!!' }, 100006 ],
    [ 'ciphertext not whole blocks', { %$env, encrypt => encode_base64('x' x 40, '') }, 100006 ],
    [ 'ciphertext under another key', { %$env, encrypt => cgi_encrypt(cgi_key(), $app->{app_id}, time) }, 100006 ],
    [ 'padding byte 0', { %$env, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, time, last_byte => 0) }, 100006 ],
    [ 'padding byte 33', { %$env, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, time, last_byte => 33) }, 100006 ],
    [ 'padding bytes not uniform', { %$env, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, '17000000000', last_byte => 3) }, 100006 ],
    [ 'length field too big', { %$env, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, time, len_delta => 4000) }, 100006 ],
    [ 'another appId in the trailer', { %$env, encrypt => cgi_encrypt($app->{key}, 'ydOTHER', time) }, 100005 ],
    [ 'payload not a time', { %$env, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, 'yesterday') }, 100006 ],
    [ 'duplicate keys', '{"buin":1,"buin":2,"appId":"x","encrypt":"y"}', 100004 ],
    [ 'bad UTF-8', "{\"buin\":1,\"appId\":\"\xff\xfe\",\"encrypt\":\"x\"}", 100004 ],
);
my $before = sql("SELECT COUNT(*) FROM app_tokens WHERE app_pk = $app->{pk}");
for my $b (@bad) {
    my ($name, $body, $code) = @$b;
    my $content = ref $body ? $J->encode($body) : $body;
    my ($s, $jj, $raw) = cgi_raw(POST => '/gettoken', $content);
    is($s, 200, "$name: HTTP 200");
    is($jj && $jj->{errcode}, $code, "$name: errcode $code") or diag $raw;
    ok($jj && defined $jj->{errmsg} && !ref $jj->{errmsg} && length $jj->{errmsg}, "$name: errmsg is a string");
    ok($jj && !exists $jj->{encrypt}, "$name: no encrypt");
}
is(sql("SELECT COUNT(*) FROM app_tokens WHERE app_pk = $app->{pk}"), $before, 'no token was stored by any of them');

# tampering with the ciphertext: flip a bit in every block
my $good = decode_base64($env->{encrypt});
my $fails = 0;
for my $blk (1 .. length($good) / 16 - 1) {
    my $t = $good;
    substr($t, $blk * 16 - 16 + 3, 1) ^= "\x01";
    my ($s, $jj) = cgi_raw(POST => '/gettoken', $J->encode({ %$env, encrypt => encode_base64($t, '') }));
    $fails++ if $jj->{errcode} == 100006 || $jj->{errcode} == 100005;
}
is($fails, length($good) / 16 - 1, 'a flipped bit in any block after the first is refused (100005/100006)');

# a disabled app, an app without a key yet
my $off = cgi_app(enabled => 0);
($st, $j) = cgi_raw(POST => '/gettoken', $J->encode({ buin => 1, appId => $off->{app_id}, encrypt => cgi_encrypt($off->{key}, $off->{app_id}, time) }));
is($j->{errcode}, 100005, 'a disabled app: 100005');
like($j->{errmsg}, qr/disabled/, 'errmsg says it is disabled');
my $nokey = cgi_app(key => undef);
($st, $j) = cgi_raw(POST => '/gettoken', $J->encode({ buin => 1, appId => $nokey->{app_id}, encrypt => cgi_encrypt(cgi_key(), $nokey->{app_id}, time) }));
is($j->{errcode}, 100005, 'an app without a key: 100005');
like($j->{errmsg}, qr/no EncodingAESKey/, 'errmsg says what to do');
like($j->{errMsg}, qr/no EncodingAESKey/, 'errMsg as well (go-packagist reads it)');

# unknown API, wrong method, oversized body
($st, $j) = cgi_raw(GET => '/no/such/thing');
is($st, 200, 'unknown API: HTTP 200');
is($j->{errcode}, 5, 'unknown API: errcode 5');
($st, $j) = cgi_raw(PUT => '/gettoken', '{}');
is($j->{errcode}, 5, 'PUT: errcode 5');
($st, $j) = cgi_raw(POST => '/gettoken', '{"buin":1,"x":"' . ('a' x (70 * 1024)) . '"}');
is($st, 200, 'oversized body: HTTP 200');
is($j->{errcode}, 5, 'oversized body: errcode 5');

done_testing();
