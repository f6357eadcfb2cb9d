# Administrators managing accounts: password reset, unlock, devices, and the
# login and audit logs; who may do what, and what is written.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Accounts;

my $super = admin_token();
my $super_id = sql("SELECT id FROM users WHERE account = 'admin'");

my ($eid, $eacc, $epw) = db_user();                 # employee
my ($e2id, $e2acc, $e2pw) = db_user();              # second employee
my ($aid, $aacc, $apw) = db_user(role => 1);         # administrator
my ($a2id, $a2acc, $a2pw) = db_user(role => 1);      # another one
my ($sid2, $sacc, $spw) = db_user(role => 2);        # another super admin

my $etok = signin($eacc, $epw);
my $atok = signin($aacc, $apw);

sub audit_rows { count_rows('audit_log') }

sub last_audit {
    my ($action, $target) = @_;
    my ($r) = sql_rows("SELECT actor_id, action, target, detail, ip FROM audit_log "
                       . "WHERE action = '$action' AND target = '$target' "
                       . "ORDER BY id DESC LIMIT 1");
    return $r || [];
}

# ---------------------------------------------------------------- password

{
    my ($uid, $acc, $pw) = db_user();
    my $t1 = signin($acc, $pw, device_type => 'web');
    my $t2 = signin($acc, $pw, device_type => 'ios');
    my $n = audit_rows();

    my $j = json_ok('super admin resets an employee password',
        POST => "/admin/users/$uid/password", { password => 'New-Pass-123' },
        token => $super);
    is($j->{user_id}, $uid, 'reply names the user');
    is($j->{must_change_password}, JSON::PP::true, 'must_change defaults to true');
    is($j->{sessions_revoked}, 2, 'both devices signed out');

    json_err('old access token is revoked', 401, 40103,
             GET => '/auth/me', undef, token => $t1);
    json_err('other device too', 401, 40103, GET => '/auth/me', undef, token => $t2);
    is(count_rows('sessions', "user_id = $uid AND revoke_reason = 'password_reset'"), 2,
       'sessions revoked with reason password_reset');

    reset_login_limit();
    json_err('old password no longer works', 401, 40104,
             POST => '/auth/login', { account => $acc, password => $pw });
    my ($t, $login) = signin($acc, 'New-Pass-123');
    is($login->{must_change_password}, JSON::PP::true, 'login says: change password');
    json_err('must change before anything else', 403, 40301,
             GET => '/auth/sessions', undef, token => $t);
    is(sql("SELECT must_change_password FROM users WHERE id = $uid"), 1, 'flag stored');

    is(audit_rows(), $n + 1, 'one audit row');
    my $a = last_audit('user.password_reset', "user:$uid");
    is($a->[0], $super_id, 'audit actor is the super admin');
    is($a->[4], '127.0.0.1', 'audit ip');
    my $d = $JSON->decode($a->[3]);
    is_deeply($d, { account => $acc, must_change => JSON::PP::true, sessions_revoked => 2 },
              'audit detail');
    unlike($a->[3], qr/New-Pass/, 'the password is not in the audit log');

    $j = json_ok('must_change false', POST => "/admin/users/$uid/password",
                 { password => 'Other-Pass-456', must_change => JSON::PP::false },
                 token => $super);
    is($j->{must_change_password}, JSON::PP::false, 'reply: must_change false');
    ($t, $login) = signin($acc, 'Other-Pass-456');
    is($login->{must_change_password}, JSON::PP::false, 'no change required');
    json_ok('user may work at once', GET => '/auth/sessions', undef, token => $t);

    # a reset also lifts a lockout
    sql("UPDATE users SET locked_until = UTC_TIMESTAMP() + INTERVAL 10 MINUTE, "
        . "failed_logins = 3 WHERE id = $uid");
    json_ok('reset a locked user', POST => "/admin/users/$uid/password",
            { password => 'Third-Pass-789', must_change => JSON::PP::false }, token => $super);
    is(sql("SELECT CONCAT(failed_logins, '/', IFNULL(locked_until, 'none')) FROM users WHERE id = $uid"),
       '0/none', 'lock cleared');
    signin($acc, 'Third-Pass-789');
    pass('locked user signs in with the new password');
}

# password: bad input, nothing written
{
    my $hash = sql("SELECT password_hash FROM users WHERE id = $eid");
    my $n = audit_rows();
    my $p = "/admin/users/$eid/password";
    my %t = (token => $super);

    json_err('too short', 400, 40006, POST => $p, { password => 'Ab1' }, %t);
    json_err('one kind of character', 400, 40006, POST => $p, { password => 'abcdefghijk' }, %t);
    json_err('missing password', 400, 40004, POST => $p, { must_change => JSON::PP::true }, %t);
    json_err('empty password', 400, 40004, POST => $p, { password => '' }, %t);
    json_err('password not a string', 400, 40003, POST => $p, { password => 12345678 }, %t);
    json_err('must_change not a boolean', 400, 40003, POST => $p,
             { password => 'Good-Pass-1', must_change => 'yes' }, %t);
    json_err('password too long', 400, 40005, POST => $p, { password => 'Ab1' . ('x' x 126) }, %t);
    json_err('control character', 400, 40006, POST => $p, { password => "Good-Pass\x{1}1" }, %t);
    json_err('malformed JSON', 400, 40001, POST => $p, undef, raw => '{"password": ', %t);
    json_err('no body', 400, 40001, POST => $p, undef, %t);
    json_err('JSON array', 400, 40001, POST => $p, undef, raw => '["x"]', %t);
    json_err('bad UTF-8', 400, 40002, POST => $p, undef,
             raw => "{\"password\":\"Good-Pass-\xff\xfe\"}", %t);
    json_err('wrong content type', 415, 40007, POST => $p, undef,
             raw => '{"password":"Good-Pass-1"}', type => 'text/plain', %t);
    json_err('body over 16 KiB', 413, 41300, POST => $p,
             { password => 'Good-Pass-1', pad => 'x' x 20000 }, %t);
    json_err('unknown user', 404, 40403, POST => '/admin/users/999999999/password',
             { password => 'Good-Pass-1' }, %t);
    json_err('id not a number', 404, 40401, POST => '/admin/users/abc/password',
             { password => 'Good-Pass-1' }, %t);
    json_err('no token', 401, 40100, POST => $p, { password => 'Good-Pass-1' });
    json_err('bad token', 401, 40101, POST => $p, { password => 'Good-Pass-1' },
             token => 'x.y.z');
    json_err('expired token', 401, 40102, POST => $p, { password => 'Good-Pass-1' },
             token => forge_jwt({ sub => $super_id + 0, sid => 1, role => 2,
                                  typ => 'access', iat => time - 1000, exp => time - 10 }));
    json_err('employee may not', 403, 40300, POST => "/admin/users/$e2id/password",
             { password => 'Good-Pass-1' }, token => $etok);

    is(sql("SELECT password_hash FROM users WHERE id = $eid"), $hash, 'password unchanged');
    is(audit_rows(), $n, 'no audit row for refused calls');
    json_ok('employee still signed in', GET => '/auth/me', undef, token => $etok);
}

# password: role rules
{
    my $n = audit_rows();
    my $hash = sql("SELECT password_hash FROM users WHERE id = $a2id");
    json_err('admin may not reset another admin', 403, 40300,
             POST => "/admin/users/$a2id/password", { password => 'Good-Pass-1' },
             token => $atok);
    json_err('admin may not reset a super admin', 403, 40300,
             POST => "/admin/users/$sid2/password", { password => 'Good-Pass-1' },
             token => $atok);
    json_err('admin may not reset the first super admin', 403, 40300,
             POST => "/admin/users/$super_id/password", { password => 'Good-Pass-1' },
             token => $atok);
    is(sql("SELECT password_hash FROM users WHERE id = $a2id"), $hash, 'admin password unchanged');
    is(audit_rows(), $n, 'nothing audited');

    my ($uid, $acc, $pw) = db_user();
    json_ok('admin resets an employee', POST => "/admin/users/$uid/password",
            { password => 'Emp-Pass-12' }, token => $atok);
    is(last_audit('user.password_reset', "user:$uid")->[0], $aid, 'audit actor is the admin');

    json_ok('super admin resets an admin', POST => "/admin/users/$a2id/password",
            { password => 'Admin2-Pass-1', must_change => JSON::PP::false }, token => $super);
    signin($a2acc, 'Admin2-Pass-1');
    pass('admin signs in with the password the super admin set');

    # an admin may reset his own password: every session, this one too, ends
    my ($xid, $xacc, $xpw) = db_user(role => 1);
    my $xt = signin($xacc, $xpw);
    my $j = json_ok('admin resets his own password', POST => "/admin/users/$xid/password",
                    { password => 'Self-Pass-1', must_change => JSON::PP::false }, token => $xt);
    is($j->{sessions_revoked}, 1, 'own session counted');
    json_err('and is signed out', 401, 40103, GET => '/auth/me', undef, token => $xt);
}

# ---------------------------------------------------------------- unlock

{
    my ($uid, $acc, $pw) = db_user();
    reset_login_limit();
    for my $i (1 .. 4) {
        api(POST => '/auth/login', { account => $acc, password => 'wrong-pass-1' });
    }
    json_err('fifth failure locks', 401, 40105,
             POST => '/auth/login', { account => $acc, password => 'wrong-pass-1' });
    json_err('locked even with the right password', 401, 40105,
             POST => '/auth/login', { account => $acc, password => $pw });

    my $n = audit_rows();
    json_err('employee may not unlock', 403, 40300, POST => "/admin/users/$uid/unlock",
             undef, token => $etok);
    json_err('unknown user', 404, 40403, POST => '/admin/users/999999999/unlock', undef,
             token => $atok);
    json_err('bad id', 404, 40401, POST => '/admin/users/12x/unlock', undef, token => $atok);
    json_err('no token', 401, 40100, POST => "/admin/users/$uid/unlock");
    json_err('GET is not allowed', 405, 40500, GET => "/admin/users/$uid/unlock", undef,
             token => $atok);
    is(audit_rows(), $n, 'refused unlocks write nothing');
    ok(sql("SELECT locked_until > UTC_TIMESTAMP() FROM users WHERE id = $uid"), 'still locked');

    my $j = json_ok('admin unlocks', POST => "/admin/users/$uid/unlock", undef, token => $atok);
    is($j->{user_id}, $uid, 'reply: user_id');
    is($j->{was_locked}, JSON::PP::true, 'reply: was_locked');
    is(sql("SELECT CONCAT(failed_logins, '/', IFNULL(locked_until, 'none')) FROM users WHERE id = $uid"),
       '0/none', 'failed_logins and locked_until cleared');
    my $a = last_audit('user.unlock', "user:$uid");
    is($a->[0], $aid, 'audit actor');
    is_deeply($JSON->decode($a->[3]), { account => $acc, was_locked => JSON::PP::true },
              'audit detail');
    signin($acc, $pw);
    pass('user signs in after the unlock');

    $j = json_ok('unlock of an unlocked user', POST => "/admin/users/$uid/unlock", {},
                 token => $atok);
    is($j->{was_locked}, JSON::PP::false, 'was_locked false');

    # failed attempts below the limit are forgotten too
    reset_login_limit();
    api(POST => '/auth/login', { account => $acc, password => 'wrong-pass-1' }) for 1 .. 3;
    json_ok('unlock resets the count', POST => "/admin/users/$uid/unlock", undef, token => $atok);
    reset_login_limit();
    my (undef, $r) = api(POST => '/auth/login', { account => $acc, password => 'wrong-pass-1' });
    like($r->{errmsg}, qr/4 attempts left/, 'count restarted at zero');

    json_ok('admin may unlock a super admin', POST => "/admin/users/$sid2/unlock", undef,
            token => $atok);
}

# ---------------------------------------------------------------- sessions

{
    my ($uid, $acc, $pw) = db_user();
    my ($tw, $lw) = signin($acc, $pw, device_type => 'web', device_name => 'Office PC');
    my ($ti, $li) = signin($acc, $pw, device_type => 'ios', device_name => 'My iPhone');
    my ($tx) = signin($acc, $pw, device_type => 'android');
    api(POST => '/auth/logout', undef, token => $tx);

    my $j = json_ok('list a user\'s devices', GET => "/admin/users/$uid/sessions", undef,
                    token => $atok);
    my @s = sort { $a->{id} <=> $b->{id} } @{ $j->{sessions} };
    is(scalar @s, 2, 'two active sessions (the signed-out one is not listed)');
    is($s[0]{id}, $lw->{session_id}, 'first session id');
    is($s[0]{device_type}, 'web', 'device_type');
    is($s[0]{device_name}, 'Office PC', 'device_name');
    is($s[1]{device_type}, 'ios', 'second device_type');
    is($s[1]{device_name}, 'My iPhone', 'second device_name');
    is($s[0]{ip}, '127.0.0.1', 'ip');
    like($s[0]{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at format');
    like($s[0]{last_seen}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'last_seen format');
    ok(!exists $s[0]{current}, 'no "current" flag in the admin view');

    my ($nid) = db_user();
    $j = json_ok('user without devices', GET => "/admin/users/$nid/sessions", undef,
                 token => $atok);
    is_deeply($j->{sessions}, [], 'empty list');

    json_err('unknown user', 404, 40403, GET => '/admin/users/999999999/sessions', undef,
             token => $atok);
    json_err('employee may not list', 403, 40300, GET => "/admin/users/$uid/sessions", undef,
             token => $etok);
    json_err('no token', 401, 40100, GET => "/admin/users/$uid/sessions");

    # one device
    my $n = audit_rows();
    my $other = $li->{session_id};
    json_err('a session of another user', 404, 40405,
             DELETE => "/admin/users/$eid/sessions/$other", undef, token => $atok);
    json_err('unknown session', 404, 40405,
             DELETE => "/admin/users/$uid/sessions/999999999", undef, token => $atok);
    json_err('unknown user', 404, 40403,
             DELETE => "/admin/users/999999999/sessions/$other", undef, token => $atok);
    json_err('bad session id', 404, 40401,
             DELETE => "/admin/users/$uid/sessions/x1", undef, token => $atok);
    json_err('employee may not revoke', 403, 40300,
             DELETE => "/admin/users/$uid/sessions/$other", undef, token => $etok);
    is(audit_rows(), $n, 'refused revokes write nothing');
    json_ok('phone still signed in', GET => '/auth/me', undef, token => $ti);

    $j = json_ok('admin signs the phone out', DELETE => "/admin/users/$uid/sessions/$other",
                 undef, token => $atok);
    is($j->{session_id}, $other, 'reply: session_id');
    json_err('phone is out at its next request', 401, 40103,
             GET => '/auth/me', undef, token => $ti);
    json_ok('office PC still in', GET => '/auth/me', undef, token => $tw);
    is(sql("SELECT revoke_reason FROM sessions WHERE id = $other"), 'revoked_by_admin',
       'revoke_reason');
    is_deeply($JSON->decode(last_audit('user.session_revoke', "user:$uid")->[3]),
              { account => $acc, session_id => $other }, 'audit detail');
    json_err('twice: gone', 404, 40405, DELETE => "/admin/users/$uid/sessions/$other", undef,
             token => $atok);
    json_err('refresh of the revoked device fails', 401, 40103,
             POST => '/auth/refresh', { refresh_token => $li->{refresh_token} });

    # every device
    my ($t3) = signin($acc, $pw, device_type => 'mac');
    $j = json_ok('admin signs the user out everywhere', DELETE => "/admin/users/$uid/sessions",
                 undef, token => $atok);
    is($j->{sessions_revoked}, 2, 'two sessions ended');
    json_err('office PC out', 401, 40103, GET => '/auth/me', undef, token => $tw);
    json_err('mac out', 401, 40103, GET => '/auth/me', undef, token => $t3);
    is(count_rows('sessions', "user_id = $uid AND revoked_at IS NULL"), 0, 'no active session');
    is(count_rows('sessions', "user_id = $uid AND revoke_reason = 'revoked_by_admin'"), 3,
       'reasons recorded');
    is_deeply($JSON->decode(last_audit('user.sessions_revoke', "user:$uid")->[3]),
              { account => $acc, sessions_revoked => 2 }, 'audit detail');
    $j = json_ok('nothing left to revoke', DELETE => "/admin/users/$uid/sessions", undef,
                 token => $atok);
    is($j->{sessions_revoked}, 0, 'zero');
    json_err('unknown user', 404, 40403, DELETE => '/admin/users/999999999/sessions', undef,
             token => $atok);
    json_err('employee may not', 403, 40300, DELETE => "/admin/users/$uid/sessions", undef,
             token => $etok);

    # role rules: an admin cannot sign out a super admin or another admin
    my ($st) = signin($sacc, $spw);
    my $ssid = sql("SELECT MAX(id) FROM sessions WHERE user_id = $sid2");
    json_err('admin may not sign out a super admin', 403, 40300,
             DELETE => "/admin/users/$sid2/sessions", undef, token => $atok);
    json_err('nor one of his devices', 403, 40300,
             DELETE => "/admin/users/$sid2/sessions/$ssid", undef, token => $atok);
    json_ok('super admin still in', GET => '/auth/me', undef, token => $st);
    json_ok('admin may list them', GET => "/admin/users/$sid2/sessions", undef, token => $atok);
    json_ok('a super admin may', DELETE => "/admin/users/$sid2/sessions/$ssid", undef,
            token => $super);
    json_err('signed out', 401, 40103, GET => '/auth/me', undef, token => $st);
}

# ---------------------------------------------------------------- login log

{
    my ($uid, $acc, $pw) = db_user();
    reset_login_limit();
    api(POST => '/auth/login', { account => $acc, password => 'wrong-pass-1',
                                 device_type => 'pc' });
    signin($acc, $pw, device_type => 'linux');

    my $j = json_ok('login log of one account', GET => "/admin/login-log?account=$acc",
                    undef, token => $atok);
    is($j->{total}, 2, 'total 2');
    my ($ok, $bad) = @{ $j->{entries} };
    is($ok->{result}, 'ok', 'newest first: the success');
    is($bad->{result}, 'bad_password', 'then the failure');
    is($ok->{user_id}, $uid, 'user_id');
    is($ok->{account}, $acc, 'account');
    is($ok->{ip}, '127.0.0.1', 'ip');
    is($ok->{device_type}, 'linux', 'device_type');
    is($bad->{device_type}, 'pc', 'device_type of the failure');
    like($ok->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'at format');
    ok($ok->{id} > $bad->{id}, 'ids descending');

    $j = json_ok('filter by result', GET => "/admin/login-log?account=$acc&result=bad_password",
                 undef, token => $atok);
    is($j->{total}, 1, 'one failure');
    is($j->{entries}[0]{result}, 'bad_password', 'the failure');

    $j = json_ok('paging', GET => "/admin/login-log?account=$acc&limit=1&offset=1", undef,
                 token => $atok);
    is(scalar @{ $j->{entries} }, 1, 'one entry');
    is($j->{total}, 2, 'total counts all');
    is($j->{entries}[0]{result}, 'bad_password', 'the second one');

    $j = json_ok('a page past the end', GET => "/admin/login-log?account=$acc&offset=10",
                 undef, token => $atok);
    is_deeply($j->{entries}, [], 'no entries');
    is($j->{total}, 2, 'but the total is still reported');

    $j = json_ok('everyone\'s log', GET => '/admin/login-log?limit=500', undef, token => $atok);
    ok($j->{total} >= 2, 'total');
    ok((grep { $_->{account} eq 'admin' } @{ $j->{entries} }), 'other accounts included');

    $j = json_ok('no match', GET => '/admin/login-log?account=nobody-such', undef, token => $atok);
    is($j->{total}, 0, 'total 0');
    is_deeply($j->{entries}, [], 'no entries');

    json_err('limit 0', 400, 40008, GET => '/admin/login-log?limit=0', undef, token => $atok);
    json_err('limit too big', 400, 40008, GET => '/admin/login-log?limit=501', undef, token => $atok);
    json_err('offset negative', 400, 40008, GET => '/admin/login-log?offset=-1', undef, token => $atok);
    json_err('limit not a number', 400, 40008, GET => '/admin/login-log?limit=ten', undef, token => $atok);
    json_err('account too long', 400, 40008, GET => '/admin/login-log?account=' . ('a' x 65),
             undef, token => $atok);
    json_err('bad UTF-8 in a filter', 400, 40008, GET => '/admin/login-log?account=%FF%FE',
             undef, token => $atok);
    json_err('employee may not', 403, 40300, GET => '/admin/login-log', undef, token => $etok);
    json_err('no token', 401, 40100, GET => '/admin/login-log');
}

# ---------------------------------------------------------------- audit log

{
    my ($uid, $acc, $pw) = db_user();
    json_ok('an action by the admin', POST => "/admin/users/$uid/unlock", undef, token => $atok);
    json_ok('then another', POST => "/admin/users/$uid/password",
            { password => 'Audit-Pass-1' }, token => $atok);

    my $j = json_ok('audit log of one admin', GET => "/admin/audit-log?actor=$aacc&limit=2",
                    undef, token => $super);
    my ($new, $old) = @{ $j->{entries} };
    is($new->{action}, 'user.password_reset', 'newest first');
    is($old->{action}, 'user.unlock', 'then the older one');
    is($new->{actor}, $aacc, 'actor account');
    is($new->{actor_id}, $aid, 'actor_id');
    is($new->{target}, "user:$uid", 'target');
    is($new->{ip}, '127.0.0.1', 'ip');
    like($new->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'at format');
    is(ref $new->{detail}, 'HASH', 'detail is a JSON object');
    is($new->{detail}{account}, $acc, 'detail names the account');
    my $total = $j->{total};
    is($total, count_rows('audit_log', "actor_id = $aid"), 'total = all of the admin\'s rows');
    ok($new->{id} > $old->{id}, 'ids descending');

    $j = json_ok('filter by action', GET => "/admin/audit-log?actor=$aacc&action=user.unlock",
                 undef, token => $atok);
    ok(!(grep { $_->{action} ne 'user.unlock' } @{ $j->{entries} }), 'only unlocks');
    is($j->{total}, count_rows('audit_log', "actor_id = $aid AND action = 'user.unlock'"),
       'total of the filter');

    $j = json_ok('offset', GET => "/admin/audit-log?actor=$aacc&limit=1&offset=1", undef,
                 token => $atok);
    is($j->{entries}[0]{id}, $old->{id}, 'offset 1 = the second newest');
    is($j->{total}, $total, 'total unchanged by paging');

    $j = json_ok('a page past the end', GET => "/admin/audit-log?actor=$aacc&offset=100000",
                 undef, token => $atok);
    is_deeply($j->{entries}, [], 'no entries');
    is($j->{total}, $total, 'but the total is still reported');

    $j = json_ok('unknown actor', GET => '/admin/audit-log?actor=nobody-such', undef,
                 token => $atok);
    is($j->{total}, 0, 'nothing');

    # a row written by someone else with a non-JSON detail is passed through
    sql("INSERT INTO audit_log (actor_id, action, target, detail, ip) "
        . "VALUES (NULL, 'test.plain', 'x', 'plain text', '')");
    $j = json_ok('system rows', GET => '/admin/audit-log?action=test.plain&limit=1', undef,
                 token => $atok);
    is($j->{entries}[0]{detail}, 'plain text', 'plain detail as a string');
    is($j->{entries}[0]{actor}, undef, 'no actor');

    json_err('bad limit', 400, 40008, GET => '/admin/audit-log?limit=-5', undef, token => $atok);
    json_err('action too long', 400, 40008, GET => '/admin/audit-log?action=' . ('a' x 65),
             undef, token => $atok);
    json_err('employee may not', 403, 40300, GET => '/admin/audit-log', undef, token => $etok);
    json_err('no token', 401, 40100, GET => '/admin/audit-log');
    json_err('POST not allowed', 405, 40500, POST => '/admin/audit-log', {}, token => $atok);
}

reset_login_limit();
done_testing;
