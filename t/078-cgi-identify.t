#!/usr/bin/perl
# Single sign-on (PROTOCOL.md 4.9): POST /api/v1/sso/token for the signed-in
# user, GET /cgi/identify?token= for the app's server (plain JSON, no app).

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use Youdu::Test;
use Youdu::Msg;
use Youdu::Cgi;

my $LOG_MARK = error_log_mark();   # earlier files SIGKILL workers on purpose

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $dept = create_dept(name => 'SSO dept');
my ($uid, $account, $pw) = create_user(name => '张三', mobile => '13800138' . sprintf('%03d', $$ % 1000),
                                       email => 'zs@example.com', gender => 1,
                                       departments => [{ dept_id => $dept, position => 'Engineer' }]);
my $token = login_as($account, $pw);
my $bare = new_user();   # no mobile, phone, email

sub sso_token {
    my ($tk, $body) = @_;
    my ($st, $j, $raw) = api(POST => '/sso/token', $body, token => $tk);
    die "sso/token: $st $raw" unless $st == 200;
    return $j;
}

sub identify {
    my ($t, %o) = @_;
    my ($st, $j, $raw, $h) = cgi_raw(GET => '/identify' . (defined $t ? "?token=$t" : ''));
    return ($st, $j, $raw);
}

# --- the token --------------------------------------------------------------------
my $t = sso_token($token);
like($t->{token}, qr/^[A-Za-z0-9_-]{40,}$/, 'a long URL-safe token (no + / =)');
is($t->{expires_in}, 180, 'valid 3 minutes');
ok(!exists $t->{url}, 'no url without app_id');
is(db("SELECT COUNT(*) FROM sso_tokens WHERE token_hash = '" . sha256_hex($t->{token}) . "'"), 1, 'stored as a hash');
is(db("SELECT COUNT(*) FROM sso_tokens WHERE token_hash = '$t->{token}'"), 0, 'never in clear');
my $secs = db("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), expires_at) FROM sso_tokens WHERE token_hash = '"
              . sha256_hex($t->{token}) . "'");
ok($secs > 170 && $secs <= 180, "expires in ~180 s ($secs)");
isnt(sso_token($token)->{token}, $t->{token}, 'every call gives a new random token');

my ($st) = api(POST => '/sso/token', {});
is($st, 401, 'sso/token needs a signed-in user');

# --- identify: the happy path ----------------------------------------------------------
my ($hst, $j, $raw) = identify($t->{token});
is($hst, 200, 'identify: HTTP 200');
is($j->{status}{code}, 0, 'status code 0');
like($j->{status}{message}, qr/\S/, 'a message');
like($j->{status}{createdAt}, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'createdAt YYYY-MM-DD HH:MM:SS');
ok(!exists $j->{errcode}, 'the identify shape: no errcode');
my $u = $j->{userInfo};
is($u->{gid}, $uid, 'gid is the user id');
like($raw, qr/"gid":$uid[,}]/, 'gid is a number');
is($u->{account}, $account, 'account');
is($u->{chsName}, '张三', 'chsName');
is($u->{gender}, 1, 'gender');
like($u->{mobile}, qr/^13800138\d{3}$/, 'mobile');
is($u->{email}, 'zs@example.com', 'email');
is($u->{phone}, '', 'phone: an empty string');
is($u->{orgId}, $dept, 'orgId: the department');
is($u->{position}, 'Engineer', 'position');
for my $f (qw(gid account chsName mobile phone email gender)) {
    ok(defined $u->{$f}, "$f present and not null");
}
for my $f (qw(account chsName mobile phone email engName position)) {
    like($raw, qr/"$f":"/, "$f is a JSON string");
}

# a user without mobile, phone, email: empty strings, never null
my $tb = sso_token($bare->{token});
(undef, $j, $raw) = identify($tb->{token});
is($j->{status}{code}, 0, 'a bare user identifies');
unlike($raw, qr/null/, 'no null anywhere');
is($j->{userInfo}{mobile}, '', 'mobile ""');

# --- failures ----------------------------------------------------------------------------
(undef, $j) = identify($t->{token});
is($j->{status}{code}, 10, 'a used token: 10 (once only)');
ok(!exists $j->{userInfo}, 'without userInfo');
(undef, $j) = identify('A' x 43);
is($j->{status}{code}, 10, 'an unknown token: 10');
(undef, $j) = identify('x' x 500);
is($j->{status}{code}, 10, 'a huge token: 10');
($hst, $j) = identify(undef);
is($hst, 200, 'no token: HTTP 200');
is($j->{status}{code}, 2, 'no token: 2');
(undef, $j) = identify('');
is($j->{status}{code}, 2, 'an empty token: 2');

my $te = sso_token($token);
sql("UPDATE sso_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE token_hash = '"
    . sha256_hex($te->{token}) . "'");
(undef, $j) = identify($te->{token});
is($j->{status}{code}, 10, 'an expired token: 10');

# the session that asked is signed out
my ($token2) = login_as($account, $pw);
my $tr = sso_token($token2);
my (undef, $me) = api(GET => '/auth/sessions', undef, token => $token2);
my ($cur) = grep { $_->{current} } @{ $me->{sessions} || [] };
($st) = api(DELETE => "/auth/sessions/$cur->{id}", undef, token => $token);
is($st, 200, 'the second device is signed out from the first');
(undef, $j) = identify($tr->{token});
is($j->{status}{code}, 10, 'a token of a revoked session: 10');

# a disabled user
my $td = sso_token($bare->{token});
api(PATCH => "/admin/users/$bare->{id}", { enable_state => -1 }, token => admin_token());
(undef, $j) = identify($td->{token});
is($j->{status}{code}, 10, 'a token of a disabled user: 10');

# --- the app portal URL --------------------------------------------------------------
my $app = cgi_app(rights => 1);
sql("UPDATE apps SET home_url = 'https://app.example/sso?ydtoken=\$TOKEN\$&x=1' WHERE id = $app->{pk}");
my $ta = sso_token($token, { app_id => $app->{app_id} });
is($ta->{url}, "https://app.example/sso?ydtoken=$ta->{token}&x=1", 'url: home_url with $TOKEN$ replaced');
is(db("SELECT app_pk FROM sso_tokens WHERE token_hash = '" . sha256_hex($ta->{token}) . "'"), $app->{pk},
   'the token remembers the app');
(undef, $j) = identify($ta->{token});
is($j->{status}{code}, 0, 'and identifies');
($st, $j) = api(POST => '/sso/token', { app_id => 'nope' }, token => $token);
is($st, 404, 'an unknown app_id: 404');
is($j->{errcode}, 40401, 'errcode 40401');
my $hidden = cgi_app(rights => 1);
sql("UPDATE apps SET scope_all = 0, home_url = 'https://h.example/\$TOKEN\$' WHERE id = $hidden->{pk}");
($st, $j) = api(POST => '/sso/token', { app_id => $hidden->{app_id} }, token => $token);
is($st, 403, 'an app outside the user\'s portal: 403');
is(db("SELECT COUNT(*) FROM sso_tokens WHERE app_pk = $hidden->{pk}"), 0, 'and no token');
sql("INSERT INTO app_scope (app_pk, kind, target_id) VALUES ($hidden->{pk}, 2, $uid)");
my $th = sso_token($token, { app_id => $hidden->{app_id} });
is($th->{url}, "https://h.example/$th->{token}", 'in scope by user: a token and its url');
($st, $j) = api(POST => '/sso/token', { app_id => $hidden->{app_id} }, token => $bare->{token});
is($st, 401, 'a disabled user gets nothing');
($st, $j) = api(POST => '/sso/token', { app_id => 5 }, token => $token);
is($st, 400, 'app_id must be a string');

unlike(error_log_since($LOG_MARK), qr/\[alert\]|AddressSanitizer/, 'no alert in the error log');

done_testing();
