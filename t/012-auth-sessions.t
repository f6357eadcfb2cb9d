# A user's own devices: listing, signing one out, logout, password change
# (keeps this device, ends the others), device types, own login log.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Accounts;

my ($uid, $acc, $pw) = db_user();
my ($tw, $lw) = signin($acc, $pw, device_type => 'web', device_name => 'Chrome at work');
my ($ti, $li) = signin($acc, $pw, device_type => 'ios', device_name => 'iPhone 15');

# ---------------------------------------------------------------- list

{
    my $j = json_ok('list own sessions', GET => '/auth/sessions', undef, token => $tw);
    my %s = map { $_->{id} => $_ } @{ $j->{sessions} };
    is(scalar keys %s, 2, 'two logins, two sessions');
    my ($w, $i) = @s{ $lw->{session_id}, $li->{session_id} };
    is($w->{device_type}, 'web', 'web device_type');
    is($w->{device_name}, 'Chrome at work', 'web device_name');
    is($i->{device_type}, 'ios', 'ios device_type');
    is($i->{device_name}, 'iPhone 15', 'ios device_name');
    is($w->{ip}, '127.0.0.1', 'ip');
    like($w->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at');
    like($w->{last_seen}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'last_seen');
    is($w->{current}, JSON::PP::true, 'the calling device is current');
    is($i->{current}, JSON::PP::false, 'the other is not');

    # last_seen and ip follow use (written at most once a minute)
    sql("UPDATE sessions SET last_seen = UTC_TIMESTAMP() - INTERVAL 5 MINUTE, ip = '10.9.9.9' "
        . "WHERE id = $li->{session_id}");
    json_ok('a request from the phone', GET => '/auth/me', undef, token => $ti);
    is(sql("SELECT CONCAT(last_seen > UTC_TIMESTAMP() - INTERVAL 1 MINUTE, ip) FROM sessions "
           . "WHERE id = $li->{session_id}"), '1127.0.0.1', 'last_seen and ip updated');

    my ($oid, $oacc, $opw) = db_user();
    my ($to) = signin($oacc, $opw);
    $j = json_ok('another user', GET => '/auth/sessions', undef, token => $to);
    is(scalar @{ $j->{sessions} }, 1, 'sees only his own session');
    json_err('no token', 401, 40100, GET => '/auth/sessions');
}

# ---------------------------------------------------------------- revoke one

{
    my ($oid, $oacc, $opw) = db_user();
    my ($to, $lo) = signin($oacc, $opw);
    json_err('cannot sign out someone else\'s session', 404, 40405,
             DELETE => "/auth/sessions/$lo->{session_id}", undef, token => $tw);
    json_ok('that session still works', GET => '/auth/me', undef, token => $to);
    is(sql("SELECT revoked_at IS NULL FROM sessions WHERE id = $lo->{session_id}"), 1,
       'not revoked');
    json_err('unknown session', 404, 40405, DELETE => '/auth/sessions/999999999', undef,
             token => $tw);
    json_err('bad id', 404, 40401, DELETE => '/auth/sessions/abc', undef, token => $tw);
    json_err('id too big', 404, 40401, DELETE => '/auth/sessions/99999999999999999999999',
             undef, token => $tw);
    json_err('no token', 401, 40100, DELETE => "/auth/sessions/$li->{session_id}");

    json_ok('sign the phone out from the browser', DELETE => "/auth/sessions/$li->{session_id}",
            undef, token => $tw);
    json_err('phone is out at its next request', 401, 40103, GET => '/auth/me', undef,
             token => $ti);
    json_err('and cannot refresh', 401, 40103, POST => '/auth/refresh',
             { refresh_token => $li->{refresh_token} });
    is(sql("SELECT revoke_reason FROM sessions WHERE id = $li->{session_id}"),
       'signed_out_by_user', 'revoke_reason');
    json_ok('browser still in', GET => '/auth/me', undef, token => $tw);
    json_err('twice: gone', 404, 40405, DELETE => "/auth/sessions/$li->{session_id}", undef,
             token => $tw);
    my $j = json_ok('list', GET => '/auth/sessions', undef, token => $tw);
    is_deeply([map { $_->{id} } @{ $j->{sessions} }], [$lw->{session_id}],
              'only the browser is listed');
}

# ---------------------------------------------------------------- logout

{
    my ($t, $l) = signin($acc, $pw, device_type => 'mac');
    json_ok('logout', POST => '/auth/logout', undef, token => $t);
    json_err('token refused afterwards', 401, 40103, GET => '/auth/me', undef, token => $t);
    json_err('logout again', 401, 40103, POST => '/auth/logout', undef, token => $t);
    is(sql("SELECT revoke_reason FROM sessions WHERE id = $l->{session_id}"), 'logout',
       'revoke_reason logout');
    json_ok('other device still in', GET => '/auth/me', undef, token => $tw);
    json_err('logout without a token', 401, 40100, POST => '/auth/logout');
    json_err('logout with GET', 405, 40500, GET => '/auth/logout', undef, token => $tw);
}

# ---------------------------------------------------------------- password change

{
    my ($t2, $l2) = signin($acc, $pw, device_type => 'linux');
    my ($t3) = signin($acc, $pw, device_type => 'api');
    my $hash = sql("SELECT password_hash FROM users WHERE id = $uid");
    my %c = (old_password => $pw, new_password => 'Fresh-Pass-42');

    json_err('wrong current password', 403, 40302, POST => '/auth/password',
             { %c, old_password => 'Not-it-123' }, token => $tw);
    json_err('new password too short', 400, 40006, POST => '/auth/password',
             { %c, new_password => 'Ab-1' }, token => $tw);
    json_err('new password of one kind', 400, 40006, POST => '/auth/password',
             { %c, new_password => '1234567890' }, token => $tw);
    json_err('same as the old one', 400, 40006, POST => '/auth/password',
             { %c, new_password => $pw }, token => $tw);
    json_err('missing old_password', 400, 40004, POST => '/auth/password',
             { new_password => 'Fresh-Pass-42' }, token => $tw);
    json_err('missing new_password', 400, 40004, POST => '/auth/password',
             { old_password => $pw }, token => $tw);
    json_err('new_password not a string', 400, 40003, POST => '/auth/password',
             { %c, new_password => JSON::PP::true }, token => $tw);
    json_err('new_password too long', 400, 40005, POST => '/auth/password',
             { %c, new_password => 'Aa1' x 43 }, token => $tw);
    json_err('no token', 401, 40100, POST => '/auth/password', \%c);
    is(sql("SELECT password_hash FROM users WHERE id = $uid"), $hash, 'password unchanged');
    json_ok('other devices still in', GET => '/auth/me', undef, token => $t2);

    json_ok('change password', POST => '/auth/password', \%c, token => $tw);
    json_ok('this device stays signed in', GET => '/auth/me', undef, token => $tw);
    json_err('the others are signed out', 401, 40103, GET => '/auth/me', undef, token => $t2);
    json_err('all of them', 401, 40103, GET => '/auth/me', undef, token => $t3);
    is(sql("SELECT revoke_reason FROM sessions WHERE id = $l2->{session_id}"),
       'password_changed', 'revoke_reason');
    reset_login_limit();
    json_err('old password refused', 401, 40104, POST => '/auth/login',
             { account => $acc, password => $pw });
    signin($acc, 'Fresh-Pass-42');
    pass('new password accepted');
    $pw = 'Fresh-Pass-42';
}

# guessing the current password with a token counts like failed sign-ins
{
    my ($gid, $gacc, $gpw) = db_user();
    my $t = signin($gacc, $gpw);
    my %c = (old_password => 'Guess-pass-1', new_password => 'Guessed-Pass-2');
    json_err("wrong current password $_", 403, 40302, POST => '/auth/password', \%c,
             token => $t) for 1 .. 2;
    is(sql("SELECT failed_logins FROM users WHERE id = $gid"), 2, 'failures counted');
    json_err("wrong current password $_", 403, 40302, POST => '/auth/password', \%c,
             token => $t) for 3 .. 5;
    ok(sql("SELECT locked_until > UTC_TIMESTAMP() FROM users WHERE id = $gid"),
       'the fifth locks the account');
    json_err('then even the right one is refused', 403, 40105, POST => '/auth/password',
             { %c, old_password => $gpw }, token => $t);
    reset_login_limit();
    json_err('and sign-in is locked', 401, 40105, POST => '/auth/login',
             { account => $gacc, password => $gpw });
    is(sql("SELECT password_hash FROM users WHERE id = $gid") =~ /^\$argon2id/, 1,
       'password kept');
    json_ok('an admin unlocks', POST => "/admin/users/$gid/unlock", undef,
            token => admin_token());
    json_err('one more miss', 403, 40302, POST => '/auth/password', \%c, token => $t);
    json_ok('the right password works again', POST => '/auth/password',
            { %c, old_password => $gpw }, token => $t);
    is(sql("SELECT failed_logins FROM users WHERE id = $gid"), 0, 'and clears the count');
}

# ---------------------------------------------------------------- device types

{
    for my $type (qw(web pc mac linux android ios api)) {
        my (undef, $l) = signin($acc, $pw, device_type => $type);
        is(sql("SELECT device_type FROM sessions WHERE id = $l->{session_id}"), $type,
           "device_type $type accepted");
    }
    my $n = count_rows('sessions', "user_id = $uid");
    reset_login_limit();
    for my $bad ('WEB', 'toaster', 'web ') {
        json_err("device_type '$bad' refused", 400, 40006, POST => '/auth/login',
                 { account => $acc, password => $pw, device_type => $bad });
    }
    json_err('device_type too long', 400, 40005, POST => '/auth/login',
             { account => $acc, password => $pw, device_type => 'x' x 17 });
    my (undef, $l) = signin($acc, $pw, device_type => undef);
    is(sql("SELECT device_type FROM sessions WHERE id = $l->{session_id}"), 'web',
       'no device_type: web');
    is(count_rows('sessions', "user_id = $uid"), $n + 1, 'refused logins created no session');
}

# ---------------------------------------------------------------- own login log

{
    my ($oid, $oacc, $opw) = db_user();
    my $t = signin($oacc, $opw);
    reset_login_limit();
    api(POST => '/auth/login', { account => $oacc, password => 'Wrong-pass-1' });
    my $j = json_ok('own login log', GET => '/auth/login-log', undef, token => $t);
    is($j->{total}, 2, 'two entries');
    is_deeply([map { $_->{result} } @{ $j->{entries} }], ['bad_password', 'ok'],
              'newest first');
    ok(!(grep { $_->{user_id} != $oid } @{ $j->{entries} }), 'only own entries');
    $j = json_ok('filters apply to own entries only', GET => "/auth/login-log?account=$acc",
                 undef, token => $t);
    is($j->{total}, 0, 'someone else\'s account filtered away');
}

reset_login_limit();
done_testing;
