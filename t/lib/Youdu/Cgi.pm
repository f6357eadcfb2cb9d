package Youdu::Cgi;

# A client of the Youdu open platform API (/cgi, PROTOCOL.md) written from
# the spec, with its own crypto (CryptX's AES, not the server's code):
# envelope encryption and decryption, gettoken, calls, and app fixtures.

use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use Crypt::Mode::CBC;
use Crypt::PRNG qw(random_bytes random_string_from);
use Digest::SHA qw(sha1_hex);
use Test::More;
use Youdu::Test;

our @EXPORT = qw(cgi_key cgi_encrypt cgi_decrypt cgi_app cgi_builtin_app
                 cgi_token cgi_call cgi_raw cgi_ok cgi_err cgi_signature
                 $CGI_URL);

our $CGI_URL = "$URL/cgi";
my $J = JSON::PP->new->utf8->canonical->allow_nonref;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

# a fresh EncodingAESKey: 32 random bytes, standard base64 with '='
sub cgi_key { encode_base64(random_bytes(32), '') }

sub _key { my $k = decode_base64($_[0]); die "key is not 32 bytes" unless length $k == 32; $k }

# cgi_encrypt(key_b64, appId, payload_bytes, %o) -> base64
# o: iv => 'random' (as the Python and Go SDKs) or the default key prefix,
#    random16 => 16 bytes, pad => block size (32; 16 makes a bad padding),
#    len_delta => added to the length field (a lying length),
#    last_byte => the last padding byte (a broken padding)
sub cgi_encrypt {
    my ($key_b64, $appid, $payload, %o) = @_;
    my $key = _key($key_b64);
    my $r16 = $o{random16} // random_string_from(join('', 'a'..'z', 0..9), 16);
    my $buf = $r16 . pack('N', length($payload) + ($o{len_delta} // 0)) . $payload . $appid;
    my $block = $o{pad} // 32;
    my $n = $block - length($buf) % $block;
    $buf .= chr($n) x $n;
    substr($buf, -1, 1) = chr($o{last_byte}) if defined $o{last_byte};
    my $iv = ($o{iv} // '') eq 'random' ? random_bytes(16) : substr($key, 0, 16);
    my $c = Crypt::Mode::CBC->new('AES', 0)->encrypt($buf, $key, $iv);
    return encode_base64($c, '');
}

# cgi_decrypt(key_b64, b64, %o) -> (payload, appId); dies on any defect,
# with the checks the strictest SDKs make (multiple of 32, pad 1..32,
# uniform pad bytes, length field inside the buffer, non-empty appId)
sub cgi_decrypt {
    my ($key_b64, $b64, %o) = @_;
    my $key = _key($key_b64);
    my $c = decode_base64($b64);
    die "ciphertext length " . length($c) . " is not a multiple of 32\n" if length($c) % 32 || !length $c;
    my $iv = "" . substr($key, 0, 16);
    my $p = Crypt::Mode::CBC->new("AES", 0)->decrypt($c, $key, $iv);
    my $n = ord(substr($p, -1));
    die "pad $n out of range\n" if $n < 1 || $n > 32;
    die "pad bytes not uniform\n" if substr($p, -$n) ne chr($n) x $n;
    $p = substr($p, 0, length($p) - $n);
    my $len = unpack('N', substr($p, 16, 4));
    die "length field $len does not fit\n" if 20 + $len >= length $p;
    return (substr($p, 20, $len), substr($p, 20 + $len));
}

# section 2.7
sub cgi_signature { sha1_hex(join '', sort @_[0..3]) }

# a custom app created directly in the database: { pk, app_id, key, name }
sub cgi_app {
    my (%o) = @_;
    my $app_id = $o{app_id} // ('yd' . uc(unpack('H*', random_bytes(16))));
    my $key = exists $o{key} ? $o{key} : cgi_key();
    my $name = $o{name} // "App $app_id";
    my $rights = $o{rights} // 1;
    my $cb = $o{callback_url} // '';
    my $tok = $o{callback_token} // random_string_from(join('', 'a'..'z', 0..9), 16);
    my $kq = defined $key ? "'$key'" : 'NULL';
    sql("INSERT INTO apps (app_id, name, rights, aes_key, callback_url, callback_token, enabled) "
        . "VALUES ('$app_id', '$name', $rights, $kq, '$cb', '$tok', " . ($o{enabled} // 1) . ")");
    my $pk = sql("SELECT id FROM apps WHERE app_id = '$app_id'");
    return { pk => $pk, app_id => $app_id, key => $key, name => $name, callback_token => $tok };
}

# a built-in app (sysOrgAssistant, ...) given a fresh key
sub cgi_builtin_app {
    my ($app_id, %o) = @_;
    my $key = cgi_key();
    my $cb = $o{callback_url} // '';
    my $tok = random_string_from(join('', 'a'..'z', 0..9), 16);
    sql("UPDATE apps SET aes_key = '$key', callback_url = '$cb', callback_token = '$tok', enabled = 1 "
        . "WHERE app_id = '$app_id'");
    my $pk = sql("SELECT id FROM apps WHERE app_id = '$app_id'");
    die "no built-in app $app_id" unless $pk;
    return { pk => $pk, app_id => $app_id, key => $key, callback_token => $tok };
}

# cgi_raw(METHOD, "/gettoken?x=y", content, %headers) -> (status, json, raw, headers)
sub cgi_raw {
    my ($method, $path, $content, %h) = @_;
    $h{'Content-Type'} //= 'application/json' if defined $content;
    my $res = $http->request($method, "$CGI_URL$path",
        { headers => \%h, (defined $content ? (content => $content) : ()) });
    my $json = eval { $J->decode($res->{content}) };
    return ($res->{status}, $json, $res->{content}, $res->{headers});
}

sub _envelope {
    my ($app, $payload, %o) = @_;
    my $text = ref $payload ? $J->encode($payload) : $payload;
    return { buin => $o{buin} // 1000, appId => $o{appId} // $app->{app_id},
             encrypt => cgi_encrypt($app->{key}, $o{trailer} // $app->{app_id}, $text, %o) };
}

# a new access token for the app (dies unless the server gives one)
sub cgi_token {
    my ($app, %o) = @_;
    my ($st, $j) = cgi_raw(POST => '/gettoken', $J->encode(_envelope($app, '' . time, %o)));
    die "gettoken: HTTP $st" unless $st == 200;
    die "gettoken: errcode $j->{errcode} $j->{errmsg}" if $j->{errcode};
    my ($plain, $trailer) = cgi_decrypt($app->{key}, $j->{encrypt});
    die "gettoken: reply made for $trailer" unless $trailer eq $app->{app_id};
    return $J->decode($plain)->{accessToken};
}

# cgi_call(app, path, payload, %o) -> (errcode, decrypted reply or undef, json, status)
# payload: a Perl structure (encrypted in the envelope), or undef (no body).
# o: method (POST; GET sends no body unless payload), query => {..},
#    token => a token (default: a fresh one; '' sends none), and the
#    cgi_encrypt options.  The reply's "encrypt" is decrypted and decoded.
sub cgi_call {
    my ($app, $path, $payload, %o) = @_;
    my $method = $o{method} // (defined $payload ? 'POST' : 'GET');
    my $token = exists $o{token} ? $o{token} : cgi_token($app);
    my %q = %{ $o{query} || {} };
    $q{accessToken} = $token if defined $token && length $token;
    my $qs = join '&', map { "$_=" . _esc($q{$_}) } sort keys %q;
    my $body = defined $payload ? $J->encode(_envelope($app, $payload, %o)) : undef;
    my ($st, $j, $raw) = cgi_raw($method, $path . ($qs ? "?$qs" : ''), $body);
    die "HTTP $st from $path: $raw" unless $st == 200;
    die "not JSON from $path: $raw" unless ref $j eq 'HASH';
    my $data;
    if (defined $j->{encrypt} && length $j->{encrypt}) {
        my ($plain, $trailer) = cgi_decrypt($app->{key}, $j->{encrypt});
        die "reply made for $trailer" unless $trailer eq $app->{app_id};
        $data = $J->decode($plain);
    }
    return ($j->{errcode}, $data, $j, $st);
}

sub _esc { my $s = shift; utf8::encode($s) if utf8::is_utf8($s); $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge; $s }

# cgi_ok(name, app, path, payload, %o) -> decrypted data; one test
sub cgi_ok {
    my ($name, @args) = @_;
    my ($code, $data, $j) = cgi_call(@args);
    is($code, 0, $name) or diag explain $j;
    return $data;
}

# cgi_err(name, code, app, path, payload, %o) -> json; one test
sub cgi_err {
    my ($name, $want, @args) = @_;
    my ($code, $data, $j) = cgi_call(@args);
    is($code, $want, "$name: errcode $want") or diag explain $j;
    return $j;
}

1;
