# Remote wipe of a device (docs/api.md "Remote wipe"): the session is revoked
# and the device, whenever it comes back (REST, refresh, push), is told to
# delete its local data (40108, "wipe": true); the other devices go on.
# The user's own wipe, the administrators' (one device, every device), who
# may do what, and the audit log.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Accounts;
use Youdu::WS;
use Youdu::TCP;

my $mark = error_log_mark();
my $super = admin_token();
my $super_id = sql("SELECT id FROM users WHERE account = 'admin'");

sub reason { my ($sid) = @_; sql("SELECT IFNULL(revoke_reason, 'none') FROM sessions WHERE id = $sid") }

sub wiped_everywhere {
    my ($name, $tok, $login) = @_;
    json_err("$name: REST refused with 40108", 401, 40108, GET => '/auth/me', undef, token => $tok);
    json_err("$name: refresh refused with 40108", 401, 40108, POST => '/auth/refresh',
             { refresh_token => $login->{refresh_token} });
}

sub last_audit {
    my ($action, $target) = @_;
    my ($r) = sql_rows("SELECT actor_id, detail, ip FROM audit_log WHERE action = '$action' "
                       . "AND target = '$target' ORDER BY id DESC LIMIT 1");
    return $r || [];
}

# ---------------------------------------------------------------- own wipe

my ($uid, $acc, $pw) = db_user();
my ($tw, $lw) = signin($acc, $pw, device_type => 'web', device_name => 'Office PC');
my ($tp, $lp) = signin($acc, $pw, device_type => 'ios', device_name => 'Lost phone');
my $sp = $lp->{session_id};

{
    my $web_ws = ws_auth($tw);
    my $phone_ws = ws_auth($tp);
    my $phone_tcp = tcp_auth($tp);

    my $j = json_ok('wipe the lost phone from the browser', POST => "/auth/sessions/$sp/wipe",
                    undef, token => $tw);
    is($j->{session_id}, $sp, 'reply: session_id');
    is($j->{wipe}, JSON::PP::true, 'reply: wipe true');
    is(reason($sp), 'wipe', 'revoke_reason wipe');
    is(sql("SELECT revoked_at IS NOT NULL FROM sessions WHERE id = $sp"), 1, 'session revoked');

    # the open push connections of the phone are kicked at once, told to wipe
    my $k = ws_json($phone_ws, 8);
    is_deeply($k, { type => 'kicked', reason => 'remote wipe', wipe => JSON::PP::true },
              'WebSocket: kicked with wipe true');
    is((ws_close_code($phone_ws))[0], 4403, 'WebSocket: close 4403');
    my ($code, $why, $before) = tcp_close_code($phone_tcp, 8);
    is_deeply($before, [{ type => 'kicked', reason => 'remote wipe', wipe => JSON::PP::true }],
              'raw TCP: kicked with wipe true');
    is($code, 4403, 'raw TCP: close frame 4403');
    is($why, 'remote wipe', 'raw TCP: reason remote wipe');

    wiped_everywhere('phone', $tp, $lp);
    json_err('refresh again: still 40108, nothing rotated', 401, 40108, POST => '/auth/refresh',
             { refresh_token => $lp->{refresh_token} });

    # a new push connection with the phone's token
    my $c = ws_open();
    ws_send($c, $JSON->encode({ type => 'auth', token => $tp }));
    $j = ws_json($c);
    is($j->{type}, 'error', 'new WebSocket: error');
    is($j->{errcode}, 40108, 'new WebSocket: errcode 40108');
    like($j->{errmsg}, qr/wiped/, 'new WebSocket: errmsg says wiped');
    is((ws_close_code($c))[0], 4401, 'new WebSocket: close 4401');
    my $t = tcp_open();
    tcp_send($t, { type => 'auth', token => $tp });
    $j = tcp_json($t);
    is($j && $j->{errcode}, 40108, 'new raw TCP connection: errcode 40108');
    is((tcp_close_code($t, 5))[0], 4401, 'new raw TCP connection: close 4401');

    # the browser is not affected
    json_ok('the browser still works', GET => '/auth/me', undef, token => $tw);
    ws_send($web_ws, '{"type":"ping"}');
    is_deeply(ws_json($web_ws, 5), { type => 'pong' }, 'its WebSocket was not kicked');
    ok(ws_expect_nothing($web_ws, 2.5), 'nor at its next periodic re-check');
    my $l = json_ok('list', GET => '/auth/sessions', undef, token => $tw);
    is_deeply([map { $_->{id} } @{ $l->{sessions} }], [$lw->{session_id}],
              'the phone is no longer listed');
    json_err('wiping it twice: 404', 404, 40405, POST => "/auth/sessions/$sp/wipe", undef,
             token => $tw);
    close $web_ws->{sock};
}

# the phone comes back days later: its access token has expired, its
# refresh token would still be valid
{
    sql("UPDATE sessions SET revoked_at = UTC_TIMESTAMP() - INTERVAL 3 DAY, "
        . "last_seen = UTC_TIMESTAMP() - INTERVAL 3 DAY WHERE id = $sp");
    my $old = forge_jwt({ sub => $uid + 0, sid => $sp + 0, role => 0, typ => 'access',
                          iat => time - 3 * 86400, exp => time - 3 * 86400 + 900 });
    json_err('its access token has expired (checked before the session)', 401, 40102,
             GET => '/auth/me', undef, token => $old);
    json_err('days later: refresh still says wipe', 401, 40108, POST => '/auth/refresh',
             { refresh_token => $lp->{refresh_token} });
    sql("UPDATE sessions SET refresh_expires = UTC_TIMESTAMP() - INTERVAL 1 DAY WHERE id = $sp");
    json_err('even after the refresh token expired', 401, 40108, POST => '/auth/refresh',
             { refresh_token => $lp->{refresh_token} });
    my ($t2) = signin($acc, $pw, device_type => 'ios');
    json_ok('signing in again gives a working session', GET => '/auth/me', undef, token => $t2);
}

# a device that was signed out first can still be told to wipe
{
    my ($to, $lo) = signin($acc, $pw, device_type => 'android');
    json_ok('sign the tablet out', DELETE => "/auth/sessions/$lo->{session_id}", undef, token => $tw);
    json_err('signed out: 40103', 401, 40103, POST => '/auth/refresh',
             { refresh_token => $lo->{refresh_token} });
    json_ok('then wipe it', POST => "/auth/sessions/$lo->{session_id}/wipe", undef, token => $tw);
    wiped_everywhere('signed-out tablet', $to, $lo);

    # but not one whose refresh token expired (it cannot come back)
    my ($te, $le) = signin($acc, $pw, device_type => 'linux');
    sql("UPDATE sessions SET refresh_expires = UTC_TIMESTAMP() - INTERVAL 1 MINUTE "
        . "WHERE id = $le->{session_id}");
    json_err('a session past its refresh expiry: 404', 404, 40405,
             POST => "/auth/sessions/$le->{session_id}/wipe", undef, token => $tw);
    is(reason($le->{session_id}), 'none', 'left as it was');
}

# wiping the current device itself
{
    my ($ts, $ls) = signin($acc, $pw, device_type => 'mac');
    json_ok('wipe this very device', POST => "/auth/sessions/$ls->{session_id}/wipe", undef,
            token => $ts);
    wiped_everywhere('self-wiped mac', $ts, $ls);
}

# permissions and bad input
{
    my ($oid, $oacc, $opw) = db_user();
    my ($to, $lo) = signin($oacc, $opw);
    json_err('another user\'s session: 404', 404, 40405,
             POST => "/auth/sessions/$lo->{session_id}/wipe", undef, token => $tw);
    json_ok('that session still works', GET => '/auth/me', undef, token => $to);
    is(reason($lo->{session_id}), 'none', 'not revoked');
    json_err('unknown session', 404, 40405, POST => '/auth/sessions/999999999/wipe', undef,
             token => $tw);
    json_err('bad id', 404, 40401, POST => '/auth/sessions/abc/wipe', undef, token => $tw);
    json_err('no token', 401, 40100, POST => "/auth/sessions/$lo->{session_id}/wipe");
    json_err('GET is not allowed', 405, 40500, GET => "/auth/sessions/$lo->{session_id}/wipe",
             undef, token => $tw);
    json_err('by a wiped device', 401, 40108, POST => "/auth/sessions/$lw->{session_id}/wipe",
             undef, token => $tp);
    json_ok('the browser is still in', GET => '/auth/me', undef, token => $tw);
}

# ---------------------------------------------------------------- administrators

my ($aid, $aacc, $apw) = db_user(role => 1);
my ($a2id, $a2acc, $a2pw) = db_user(role => 1);
my $atok = signin($aacc, $apw);

# one device
{
    my ($eid, $eacc, $epw) = db_user();
    my ($t1, $l1) = signin($eacc, $epw, device_type => 'web');
    my ($t2, $l2) = signin($eacc, $epw, device_type => 'android');
    my $ws = ws_auth($t2);
    my $n = count_rows('audit_log');
    my $s2 = $l2->{session_id};

    json_err('employee on the admin route: 403', 403, 40300,
             POST => "/admin/users/$eid/sessions/$s2/wipe", undef, token => $t1);
    is(reason($s2), 'none', 'nothing done');

    my $j = json_ok('an admin wipes the phone of an employee',
                    POST => "/admin/users/$eid/sessions/$s2/wipe", undef, token => $atok);
    is_deeply([@$j{qw(user_id session_id wipe)}], [$eid, $s2, JSON::PP::true],
              'reply: user_id, session_id, wipe');
    is_deeply(ws_json($ws, 8), { type => 'kicked', reason => 'remote wipe', wipe => JSON::PP::true },
              'its WebSocket: kicked with wipe');
    is((ws_close_code($ws))[0], 4403, 'close 4403');
    wiped_everywhere('admin-wiped phone', $t2, $l2);
    json_ok('the employee\'s other device works', GET => '/auth/me', undef, token => $t1);

    is(count_rows('audit_log'), $n + 1, 'one audit row');
    my $a = last_audit('session.wipe', "user:$eid");
    is($a->[0], $aid, 'audit actor: the admin');
    is_deeply($JSON->decode($a->[1] // '{}'), { account => $eacc, session_id => $s2 + 0 },
              'audit detail: account and session_id');
    is($a->[2], '127.0.0.1', 'audit ip');

    json_err('the same again: 404', 404, 40405, POST => "/admin/users/$eid/sessions/$s2/wipe",
             undef, token => $atok);
    json_err('a session of another user: 404', 404, 40405,
             POST => "/admin/users/$eid/sessions/$lw->{session_id}/wipe", undef, token => $atok);
    json_ok('which still works', GET => '/auth/me', undef, token => $tw);
    json_err('unknown user: 404', 404, 40403,
             POST => "/admin/users/999999999/sessions/$s2/wipe", undef, token => $atok);
    json_err('bad session id', 404, 40401, POST => "/admin/users/$eid/sessions/x/wipe", undef,
             token => $atok);
    is(count_rows('audit_log'), $n + 1, 'failures are not audited');

    # only a super admin wipes a device of an administrator
    my ($ta2, $la2) = signin($a2acc, $a2pw);
    json_err('an admin may not wipe another admin\'s device', 403, 40300,
             POST => "/admin/users/$a2id/sessions/$la2->{session_id}/wipe", undef, token => $atok);
    json_ok('whose session still works', GET => '/auth/me', undef, token => $ta2);
    json_ok('a super admin may', POST => "/admin/users/$a2id/sessions/$la2->{session_id}/wipe",
            undef, token => $super);
    wiped_everywhere('admin\'s device wiped by the super admin', $ta2, $la2);
    is(last_audit('session.wipe', "user:$a2id")->[0], $super_id, 'audited with the super admin');
}

# every device
{
    my ($eid, $eacc, $epw) = db_user();
    my @s = map { [signin($eacc, $epw, device_type => $_)] } qw(web pc ios android);
    my $ws = ws_auth($s[0][0]);
    json_ok('one device signed out before', DELETE => "/auth/sessions/$s[2][1]{session_id}",
            undef, token => $s[0][0]);
    sql("UPDATE sessions SET refresh_expires = UTC_TIMESTAMP() - INTERVAL 1 MINUTE, "
        . "revoked_at = UTC_TIMESTAMP() WHERE id = $s[3][1]{session_id}");
    my $n = count_rows('audit_log');

    json_err('employee on the admin route: 403', 403, 40300, POST => "/admin/users/$eid/wipe",
             undef, token => $s[1][0]);
    my $j = json_ok('an admin wipes every device of the user', POST => "/admin/users/$eid/wipe",
                    undef, token => $atok);
    is($j->{user_id}, $eid, 'reply: user_id');
    is($j->{sessions_revoked}, 2, 'reply: two devices were signed in');
    is($j->{sessions_wiped}, 3, 'reply: three devices may still come back and are wiped');
    is($j->{wipe}, JSON::PP::true, 'reply: wipe true');
    is_deeply(ws_json($ws, 8), { type => 'kicked', reason => 'remote wipe', wipe => JSON::PP::true },
              'WebSocket of the user: kicked with wipe');
    is((ws_close_code($ws))[0], 4403, 'close 4403');
    wiped_everywhere("device $_", @{ $s[$_] }) for 0 .. 2;
    is(reason($s[3][1]{session_id}), 'none', 'the session past its refresh expiry is left alone');

    is(count_rows('audit_log'), $n + 1, 'one audit row');
    my $a = last_audit('user.wipe', "user:$eid");
    is($a->[0], $aid, 'audit actor');
    is_deeply($JSON->decode($a->[1] // '{}'),
              { account => $eacc, sessions_revoked => 2, sessions_wiped => 3 }, 'audit detail');

    $j = json_ok('again: nothing left to wipe', POST => "/admin/users/$eid/wipe", undef,
                 token => $atok);
    is_deeply([@$j{qw(sessions_revoked sessions_wiped)}], [0, 0], 'zero and zero');
    json_err('unknown user: 404', 404, 40403, POST => '/admin/users/999999999/wipe', undef,
             token => $atok);
    json_err('bad user id: 404', 404, 40401, POST => '/admin/users/abc/wipe', undef,
             token => $atok);
    json_err('no token', 401, 40100, POST => "/admin/users/$eid/wipe");

    my ($ta2) = signin($a2acc, $a2pw);
    json_err('an admin may not wipe another admin', 403, 40300, POST => "/admin/users/$a2id/wipe",
             undef, token => $atok);
    json_ok('who still works', GET => '/auth/me', undef, token => $ta2);
    $j = json_ok('a super admin may', POST => "/admin/users/$a2id/wipe", undef, token => $super);
    ok($j->{sessions_revoked} >= 1, 'the admin\'s devices were wiped');
    json_err('and that admin is out', 401, 40108, GET => '/auth/me', undef, token => $ta2);
    json_ok('the super admin is unaffected', GET => '/auth/me', undef, token => $super);
}

# ---------------------------------------------------------------- afterwards

my @bad = grep { /\[(alert|crit|emerg)\]|AddressSanitizer/ } split /\n/, error_log_since($mark);
ok(!@bad, 'no alert or crash in the error log') or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

done_testing();
