# Signing in: the reply, wrong passwords, unknown accounts, lockout and
# unlock, disabled users, the login log and the per-IP rate limit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64url);
use Youdu::Test;
use Youdu::Accounts;

my $admin = admin_token();

sub login { api(POST => '/auth/login', @_) }

sub log_results {
    my ($acc) = @_;
    return [ map { $_->[0] } sql_rows("SELECT result FROM login_log WHERE account = '$acc' ORDER BY id") ];
}

# ---------------------------------------------------------------- success

{
    my ($uid, $acc, $pw) = db_user();
    sql("UPDATE users SET failed_logins = 2 WHERE id = $uid");
    reset_login_limit();
    my $j = json_ok('sign in', POST => '/auth/login',
        { account => $acc, password => $pw, device_type => 'pc', device_name => 'Work laptop' },
        headers => { 'User-Agent' => 'youdu-test/1.0' });

    like($j->{access_token}, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'access_token is a JWT');
    is($j->{token_type}, 'Bearer', 'token_type');
    is($j->{expires_in}, 900, 'expires_in 15 minutes');
    like($j->{refresh_token}, qr/^[\w-]{43}$/, 'refresh_token: 32 random bytes');
    is($j->{refresh_expires_in}, 30 * 86400, 'refresh_expires_in 30 days');
    like($j->{session_id}, qr/^\d+$/, 'session_id');
    is($j->{must_change_password}, JSON::PP::false, 'must_change_password false');
    is_deeply($j->{user}, { id => $uid + 0, role => 0, account => $acc, name => "Name $acc" },
              'user: id, role, account, name');

    my $claims = $JSON->decode(decode_base64url((split /\./, $j->{access_token})[1]));
    is($claims->{sub}, $uid, 'token sub = user id');
    is($claims->{sid}, $j->{session_id}, 'token sid = session id');
    is($claims->{typ}, 'access', 'token typ');
    ok(abs($claims->{exp} - time - 900) < 60, 'token exp = now + 15 min');

    my ($s) = sql_rows("SELECT user_id, device_type, device_name, ip, user_agent, refresh_hash, "
                       . "revoked_at IS NULL, refresh_expires > UTC_TIMESTAMP() + INTERVAL 29 DAY "
                       . "FROM sessions WHERE id = $j->{session_id}");
    is_deeply($s, [$uid, 'pc', 'Work laptop', '127.0.0.1', 'youdu-test/1.0',
                   sha256_hex($j->{refresh_token}), 1, 1],
              'session row: device, ip, user agent, hash of the refresh token');
    is(sql("SELECT failed_logins FROM users WHERE id = $uid"), 0, 'failed count reset');
    my ($l) = sql_rows("SELECT user_id, ip, device_type, result FROM login_log "
                       . "WHERE account = '$acc' ORDER BY id DESC LIMIT 1");
    is_deeply($l, [$uid, '127.0.0.1', 'pc', 'ok'], 'login_log: ok');

    my $me = json_ok('token works', GET => '/auth/me', undef, token => $j->{access_token});
    is($me->{id}, $uid, 'me: id');
    is($me->{session_id}, $j->{session_id}, 'me: session_id');

    # defaults: device web, name from the User-Agent
    reset_login_limit();
    $j = json_ok('account is case-insensitive, device defaults', POST => '/auth/login',
                 { account => uc $acc, password => $pw },
                 headers => { 'User-Agent' => 'Mozilla/5.0 test' });
    is($j->{user}{account}, $acc, 'stored spelling returned');
    is_deeply([sql_rows("SELECT device_type, device_name FROM sessions WHERE id = $j->{session_id}")],
              [['web', 'Mozilla/5.0 test']], 'device web, named after the browser');

    reset_login_limit();
    $j = json_ok('a long User-Agent is cut for the name', POST => '/auth/login',
                 { account => $acc, password => $pw },
                 headers => { 'User-Agent' => 'A' x 300 });
    is(sql("SELECT CONCAT(CHAR_LENGTH(device_name), '/', CHAR_LENGTH(user_agent)) "
           . "FROM sessions WHERE id = $j->{session_id}"), '128/255', 'name 128, agent 255');

    # a User-Agent that is not UTF-8 must not break the sign-in
    reset_login_limit();
    my $body = $JSON->encode({ account => $acc, password => $pw });
    my ($st, $raw) = raw_http("POST /api/v1/auth/login HTTP/1.0\r\n"
        . "User-Agent: bad\xff\xfeagent\x01\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body");
    is($st, 200, 'User-Agent with bytes that are not UTF-8: signed in');
    $j = eval { $JSON->decode($raw) } || {};
    is(sql("SELECT device_name FROM sessions WHERE id = " . ($j->{session_id} // 0)),
       'bad??agent?', 'the bad bytes stored as "?"');
}

# ---------------------------------------------------------------- failures

my ($uid, $acc, $pw) = db_user();

{
    reset_login_limit();
    my $r = json_err('wrong password', 401, 40104, POST => '/auth/login',
                     { account => $acc, password => 'Wrong-pass-1' });
    is($r->{errmsg}, 'wrong account or password (4 attempts left before the account is locked)',
       'message with attempts left');
    my $r2 = json_err('again', 401, 40104, POST => '/auth/login',
                      { account => $acc, password => 'Wrong-pass-1' });
    like($r2->{errmsg}, qr/\(3 attempts left/, 'one attempt fewer');
    is(sql("SELECT failed_logins FROM users WHERE id = $uid"), 2, 'failures counted');
    is(count_rows('sessions', "user_id = $uid"), 0, 'no session created');

    # unknown accounts get the same answers, so they cannot be told apart
    my $ghost = uniq('ghost');
    my $u = json_err('unknown account', 401, 40104, POST => '/auth/login',
                     { account => $ghost, password => 'Wrong-pass-1' });
    is($u->{errmsg}, $r->{errmsg}, 'same message as a wrong password');
    $u = json_err('unknown account again', 401, 40104, POST => '/auth/login',
                  { account => $ghost, password => 'Wrong-pass-1' });
    is($u->{errmsg}, $r2->{errmsg}, 'same countdown');
    login({ account => $ghost, password => 'x' }) for 1 .. 2;
    my $gl = json_err('unknown account: "locked" like a real one', 401, 40105,
                      POST => '/auth/login', { account => $ghost, password => 'x' });
    is_deeply(log_results($ghost), [('unknown_account') x 5], 'login_log: unknown_account');
    is(sql("SELECT COUNT(*) FROM login_log WHERE account = '$ghost' AND user_id IS NULL"), 5,
       'no user_id for unknown accounts');
    is(count_rows('users', "account = '$ghost'"), 0, 'no user created');

    # lockout: the fifth failure locks, even the right password is refused
    login({ account => $acc, password => 'Wrong-pass-1' }) for 1 .. 2;
    my $l = json_err('fifth failure locks the account', 401, 40105, POST => '/auth/login',
                     { account => $acc, password => 'Wrong-pass-1' });
    is($l->{errmsg}, 'too many failed attempts: account locked for 15 minutes, or ask an '
                     . 'administrator to unlock it', 'lock message');
    is($gl->{errmsg}, $l->{errmsg}, 'unknown account got the same lock message');
    ok(sql("SELECT locked_until BETWEEN UTC_TIMESTAMP() + INTERVAL 14 MINUTE "
           . "AND UTC_TIMESTAMP() + INTERVAL 16 MINUTE FROM users WHERE id = $uid"),
       'locked_until = now + 15 min');
    my $l2 = json_err('right password refused while locked', 401, 40105, POST => '/auth/login',
                      { account => $acc, password => $pw });
    like($l2->{errmsg}, qr/locked for 15 more minutes/, 'minutes left');
    is(count_rows('sessions', "user_id = $uid"), 0, 'still no session');
    is_deeply(log_results($acc), [('bad_password') x 4, 'locked', 'locked'],
              'login_log: bad_password x4, locked x2');

    json_ok('admin unlocks', POST => "/admin/users/$uid/unlock", undef, token => $admin);
    my $t = signin($acc, $pw);
    json_ok('signed in after the unlock', GET => '/auth/me', undef, token => $t);
    is(log_results($acc)->[-1], 'ok', 'login_log: ok');
}

# a user without a password cannot sign in
{
    my ($nid, $nacc) = db_user(password => undef);
    reset_login_limit();
    json_err('no password set', 401, 40104, POST => '/auth/login',
             { account => $nacc, password => 'Anything-1' });
    is_deeply(log_results($nacc), ['bad_password'], 'login_log: bad_password');
}

# disabled and not activated users
{
    for my $state (-1, 0) {
        my ($did, $dacc, $dpw) = db_user(enable_state => $state);
        reset_login_limit();
        json_err("enable_state $state: right password refused", 401, 40106,
                 POST => '/auth/login', { account => $dacc, password => $dpw });
        json_err("enable_state $state: wrong password is just wrong", 401, 40104,
                 POST => '/auth/login', { account => $dacc, password => 'Wrong-pass-1' });
        is_deeply(log_results($dacc), ['disabled', 'bad_password'], 'login_log: disabled');
        is(count_rows('sessions', "user_id = $did"), 0, 'no session');
    }

    # disabled while signed in: out at the next request, and no refresh
    my ($did, $dacc, $dpw) = db_user();
    my ($t, $j) = signin($dacc, $dpw);
    sql("UPDATE users SET enable_state = -1 WHERE id = $did");
    json_err('disabled user: token refused', 401, 40106, GET => '/auth/me', undef, token => $t);
    json_err('disabled user: no refresh', 401, 40106, POST => '/auth/refresh',
             { refresh_token => $j->{refresh_token} });
}

# ---------------------------------------------------------------- bad input

{
    my $n = count_rows('login_log');
    my $s = count_rows('sessions');
    reset_login_limit();
    my %ok = (account => $acc, password => $pw);
    json_err('missing account', 400, 40004, POST => '/auth/login', { password => $pw });
    json_err('missing password', 400, 40004, POST => '/auth/login', { account => $acc });
    json_err('empty account', 400, 40004, POST => '/auth/login', { %ok, account => '' });
    json_err('null password', 400, 40004, POST => '/auth/login', { %ok, password => undef });
    json_err('account not a string', 400, 40003, POST => '/auth/login', { %ok, account => 5 });
    json_err('password not a string', 400, 40003, POST => '/auth/login',
             { %ok, password => [$pw] });
    json_err('account too long', 400, 40005, POST => '/auth/login', { %ok, account => 'a' x 65 });
    json_err('password too long', 400, 40005, POST => '/auth/login',
             { %ok, password => 'a' x 129 });
    json_err('device_type unknown', 400, 40006, POST => '/auth/login',
             { %ok, device_type => 'toaster' });
    json_err('device_type not a string', 400, 40003, POST => '/auth/login',
             { %ok, device_type => 1 });
    json_err('device_name too long', 400, 40005, POST => '/auth/login',
             { %ok, device_name => 'n' x 65 });
    json_err('control character in device_name', 400, 40006, POST => '/auth/login',
             { %ok, device_name => "my\nphone" });
    json_err('no body', 400, 40001, POST => '/auth/login');
    json_err('malformed JSON', 400, 40001, POST => '/auth/login', undef, raw => '{"account":');
    json_err('bad UTF-8', 400, 40002, POST => '/auth/login', undef,
             raw => qq({"account":"\xc3\x28","password":"x"}));
    is(count_rows('login_log'), $n, 'refused requests are not logged as attempts');
    is(count_rows('sessions'), $s, 'no session written');
    is(redis_cli('GET', $IP_KEY), '', 'and they cost no attempt from the IP budget');
}

# ---------------------------------------------------------------- per-IP limit

{
    reset_login_limit();
    signin($acc, $pw);
    is(redis_cli('GET', $IP_KEY), 0, 'a successful sign-in costs nothing from the budget');
    json_err('a failed attempt', 401, 40104, POST => '/auth/login',
             { account => $acc, password => 'wrong-password' });
    is(redis_cli('GET', $IP_KEY), 1, 'a failed attempt counts in Redis');
    my $ttl = redis_cli('TTL', $IP_KEY);
    ok($ttl > 0 && $ttl <= 60, 'the budget is per minute');
    sql("UPDATE users SET failed_logins = 0 WHERE id = $uid");

    redis_cli('SET', $IP_KEY, 29, 'EX', 60);
    my (undef, $j) = login({ account => $acc, password => $pw });
    ok($j && $j->{errcode} == 0, 'the 30th attempt in a minute is served');
    is(redis_cli('GET', $IP_KEY), 29, 'and, being a success, gives its attempt back');
    redis_cli('SET', $IP_KEY, 30, 'EX', 60);

    my $n = count_rows('sessions', "user_id = $uid");
    my $r = json_err('the 31st is refused', 429, 42900, POST => '/auth/login',
                     { account => $acc, password => $pw });
    like($r->{errmsg}, qr/wait/, 'message says to wait');
    json_err('unknown accounts too', 429, 42900, POST => '/auth/login',
             { account => uniq('ghost'), password => 'x' });
    is(count_rows('sessions', "user_id = $uid"), $n, 'no session while limited');
    is(log_results($acc)->[-1], 'rate_limited', 'login_log: rate_limited');
    is(sql("SELECT failed_logins FROM users WHERE id = $uid"), 0,
       'limited attempts do not count towards the account lockout');

    reset_login_limit();
    is(redis_cli('EXISTS', $IP_KEY), 0, 'key removed');
    signin($acc, $pw);
    pass('served again once the budget is back');
}

reset_login_limit();
done_testing;
