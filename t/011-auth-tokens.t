# Access tokens (what is accepted, what is refused and with which code),
# refresh token rotation and reuse detection, and the password-change-due
# mode.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64 qw(encode_base64url decode_base64url);
use Youdu::Test;
use Youdu::Accounts;

my $admin = admin_token();
my ($uid, $acc, $pw) = db_user();
my ($tok, $login) = signin($acc, $pw);
my $sid = $login->{session_id};

sub claims { return { sub => $uid + 0, sid => $sid + 0, role => 0, typ => 'access',
                      iat => time, exp => time + 600, @_ } }

# ---------------------------------------------------------------- access tokens

json_ok('access token works', GET => '/auth/me', undef, token => $tok);
json_ok('"bearer" in any case', GET => '/auth/me', undef,
        headers => { Authorization => "bearer $tok" });
json_ok('a token signed with the server key is accepted', GET => '/auth/me', undef,
        token => forge_jwt(claims()));

json_err('expired token', 401, 40102, GET => '/auth/me', undef,
         token => forge_jwt(claims(iat => time - 1000, exp => time - 5)));
my $j = json_err('expired token says what to do', 401, 40102, GET => '/auth/me', undef,
                 token => forge_jwt(claims(exp => time - 1)));
like($j->{errmsg}, qr{/auth/refresh}, 'message points at /auth/refresh');

json_err('no Authorization header', 401, 40100, GET => '/auth/me');
json_err('wrong scheme', 401, 40100, GET => '/auth/me', undef,
         headers => { Authorization => "Basic " . encode_base64url("$acc:$pw") });
json_err('token alone, no scheme', 401, 40100, GET => '/auth/me', undef,
         headers => { Authorization => $tok });
json_err('empty bearer', 401, 40100, GET => '/auth/me', undef,
         headers => { Authorization => 'Bearer ' });
json_err('garbage', 401, 40101, GET => '/auth/me', undef, token => 'not-a-token');
json_err('three garbage parts', 401, 40101, GET => '/auth/me', undef, token => 'aaa.bbb.ccc');
json_err('very long garbage', 401, 40101, GET => '/auth/me', undef, token => 'a' x 3000);

my ($h, $p, $s) = split /\./, $tok;
my $sig = decode_base64url($s);
substr($sig, 5, 1) = chr(ord(substr($sig, 5, 1)) ^ 1);
json_err('tampered signature', 401, 40101, GET => '/auth/me', undef,
         token => "$h.$p." . encode_base64url($sig));
my $pl = $JSON->decode(decode_base64url($p));
$pl->{role} = 2;
json_err('tampered payload (role raised)', 401, 40101, GET => '/auth/me', undef,
         token => "$h." . encode_base64url($JSON->encode($pl)) . ".$s");
json_err('no signature', 401, 40101, GET => '/auth/me', undef, token => "$h.$p.");
json_err('alg none', 401, 40101, GET => '/auth/me', undef,
         token => forge_jwt(claims(), header => { alg => 'none', typ => 'JWT' }));
json_err('alg none, signature kept', 401, 40101, GET => '/auth/me', undef,
         token => encode_base64url($JSON->encode({ alg => 'none' })) . ".$p.$s");
json_err('another key', 401, 40101, GET => '/auth/me', undef,
         token => forge_jwt(claims(), key => 'x' x 64));
json_err('not an access token (typ)', 401, 40101, GET => '/auth/me', undef,
         token => forge_jwt(claims(typ => 'refresh')));
json_err('no typ', 401, 40101, GET => '/auth/me', undef,
         token => forge_jwt({ %{ claims() }, typ => undef }));
json_err('no session id', 401, 40101, GET => '/auth/me', undef,
         token => forge_jwt({ sub => $uid + 0, role => 0, typ => 'access', exp => time + 600 }));
json_err('role out of range', 401, 40101, GET => '/auth/me', undef,
         token => forge_jwt(claims(role => 7)));
json_err('a session that does not exist', 401, 40103, GET => '/auth/me', undef,
         token => forge_jwt(claims(sid => 999999999)));
my ($oid, $oacc, $opw) = db_user();
json_err('a session of another user', 401, 40103, GET => '/auth/me', undef,
         token => forge_jwt(claims(sub => $oid + 0)));

# the role is read from the database, not from the token
json_err('role 2 in the token of an employee', 403, 40300, GET => '/admin/status', undef,
         token => forge_jwt(claims(role => 2)));

# ---------------------------------------------------------------- refresh

{
    my ($t, $l) = signin($acc, $pw, device_type => 'android');
    my $r1 = $l->{refresh_token};
    my $n = json_ok('refresh', POST => '/auth/refresh', { refresh_token => $r1 });
    like($n->{access_token}, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'an access token');
    ok($n->{refresh_token} && $n->{refresh_token} ne $r1, 'a new refresh token (rotation)');
    is($n->{session_id}, $l->{session_id}, 'same session');
    is($n->{token_type}, 'Bearer', 'token_type');
    is($n->{expires_in}, 900, 'expires_in');
    is($n->{must_change_password}, JSON::PP::false, 'must_change_password');
    is($n->{user}{id}, $uid, 'user id');
    json_ok('new access token works', GET => '/auth/me', undef, token => $n->{access_token});
    json_ok('old access token still works until it expires', GET => '/auth/me', undef,
            token => $t);

    my $n2 = json_ok('refresh again with the new one', POST => '/auth/refresh',
                     { refresh_token => $n->{refresh_token} });

    # the old refresh token used again: stolen; the whole session ends
    my $r = json_err('old refresh token refused', 401, 40107, POST => '/auth/refresh',
                     { refresh_token => $n->{refresh_token} });
    json_err('the session is revoked: access token refused', 401, 40103, GET => '/auth/me',
             undef, token => $n2->{access_token});
    json_err('and the newest refresh token too', 401, 40103, POST => '/auth/refresh',
             { refresh_token => $n2->{refresh_token} });
    is(sql("SELECT revoke_reason FROM sessions WHERE id = $l->{session_id}"), 'refresh_reuse',
       'revoke_reason refresh_reuse');
    json_ok('other sessions of the user are untouched', GET => '/auth/me', undef, token => $tok);
}

{
    my ($t, $l) = signin($acc, $pw);
    json_ok('logout', POST => '/auth/logout', undef, token => $t);
    json_err('refresh of a signed-out session', 401, 40103, POST => '/auth/refresh',
             { refresh_token => $l->{refresh_token} });

    ($t, $l) = signin($acc, $pw);
    sql("UPDATE sessions SET refresh_expires = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
        . "WHERE id = $l->{session_id}");
    $j = json_err('expired refresh token', 401, 40107, POST => '/auth/refresh',
                  { refresh_token => $l->{refresh_token} });
    like($j->{errmsg}, qr/expired/, 'message says expired');

    my $before = sql("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL");
    json_err('unknown refresh token', 401, 40107, POST => '/auth/refresh',
             { refresh_token => 'A' x 43 });
    json_err('missing refresh_token', 400, 40004, POST => '/auth/refresh', {});
    json_err('refresh_token not a string', 400, 40003, POST => '/auth/refresh',
             { refresh_token => 42 });
    json_err('refresh_token too long', 400, 40005, POST => '/auth/refresh',
             { refresh_token => 'A' x 129 });
    json_err('no body', 400, 40001, POST => '/auth/refresh');
    json_err('malformed JSON', 400, 40001, POST => '/auth/refresh', undef, raw => '{');
    json_err('GET is not allowed', 405, 40500, GET => '/auth/refresh');
    is(sql("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"), $before,
       'no session changed by refused refreshes');
}

# ---------------------------------------------------------------- password change due

{
    my ($mid, $macc, $mpw) = db_user(must_change => 1);
    my ($t, $l) = signin($macc, $mpw);
    is($l->{must_change_password}, JSON::PP::true, 'login says a change is due');

    my $me = json_ok('/auth/me allowed', GET => '/auth/me', undef, token => $t);
    is($me->{must_change_password}, JSON::PP::true, 'me: must_change_password');
    for my $c ([GET => '/auth/sessions'], [GET => '/auth/login-log'],
               [DELETE => '/auth/sessions/1'])
    {
        json_err("$c->[0] $c->[1] refused", 403, 40301, @$c, undef, token => $t);
    }

    my ($aid, $aacc, $apw) = db_user(role => 1, must_change => 1);
    my ($at) = signin($aacc, $apw);
    json_err('an admin with a change due: admin routes refused', 403, 40301,
             GET => '/admin/status', undef, token => $at);

    my $r = json_ok('refresh allowed', POST => '/auth/refresh',
                    { refresh_token => $l->{refresh_token} });
    is($r->{must_change_password}, JSON::PP::true, 'refresh says a change is due');

    json_ok('password change allowed', POST => '/auth/password',
            { old_password => $mpw, new_password => 'Changed-Pass-1' }, token => $t);
    is(sql("SELECT must_change_password FROM users WHERE id = $mid"), 0, 'flag cleared');
    json_ok('then everything works with the same token', GET => '/auth/sessions', undef,
            token => $t);
    $me = json_ok('me', GET => '/auth/me', undef, token => $t);
    is($me->{must_change_password}, JSON::PP::false, 'me: no change due');
    like($me->{password_changed_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
         'password_changed_at set');

    my ($m2id, $m2acc, $m2pw) = db_user(must_change => 1);
    my ($t2) = signin($m2acc, $m2pw);
    json_ok('logout allowed while a change is due', POST => '/auth/logout', undef, token => $t2);
    json_err('signed out', 401, 40103, GET => '/auth/me', undef, token => $t2);
}

reset_login_limit();
done_testing;
