# The WebSocket push channel (docs/push.md): handshake, authentication,
# delivery of yd:push / yd:org notices across workers, heartbeats, session
# re-checks, protocol errors with their close codes, a slow consumer, and
# recovery after a Redis restart.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Socket ();
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use Youdu::Test;
use Youdu::Accounts;
use Youdu::WS;

sub service {
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    my $rc = system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @_, @asan);
    is($rc, 0, "service @_");
}

sub eventually {
    my ($secs, $check) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) {
        return 1 if $check->();
        sleep 0.2;
    }
    return 0;
}

sub publish {
    my ($channel, $msg) = @_;
    return redis_cli('PUBLISH', $channel, ref $msg ? $JSON->encode($msg) : $msg);
}

sub notice {
    my ($to, $seq, %ev) = @_;
    $to = [ map { $_ + 0 } @$to ];
    return { t => 'msg', conv => 7, seq => $seq, to => $to,
             ev => { type => 'message', conv_id => 7, seq => $seq, sender_id => $to->[0],
                     client_msg_id => undef, kind => 1, body => { text => "hello $seq" },
                     created_at => '2026-01-01T00:00:00Z', recalled => 0, %ev } };
}

my $mark = error_log_mark();

# ---------------------------------------------------------------- handshake

my $c = ws_open();
is($c->{status}, 101, 'handshake: 101 Switching Protocols');
ok($c->{accept_ok}, 'Sec-WebSocket-Accept is SHA-1(key + GUID) in base64');
like($c->{head}, qr/^Upgrade: websocket\r?$/mi, 'Upgrade: websocket');
like($c->{head}, qr/^Connection: Upgrade\r?$/mi, 'Connection: Upgrade');
close $c->{sock};

for my $bad ([ 'missing key', key => undef ], [ 'short key', key => 'abc' ],
             [ 'key of 15 bytes', key => 'AAAAAAAAAAAAAAAAAAAA' ],
             [ 'no Upgrade header', no_upgrade => 1 ], [ 'version 8', version => 8 ]) {
    my ($name, @o) = @$bad;
    my $r = ws_open(@o);
    is($r->{status}, 400, "handshake with $name: 400");
    like($r->{buf}, qr/"errcode":40000/, "$name: JSON error body");
}
my $r = ws_open(method => 'POST', headers => "Content-Length: 0\r\n");
is($r->{status}, 405, 'POST: 405');

# ---------------------------------------------------------------- auth

my ($uid_a, $acc_a, $pw_a) = db_user();
my ($uid_b, $acc_b, $pw_b) = db_user();
my ($tok_a1, $login_a1) = signin($acc_a, $pw_a, device_name => 'a1');
my ($tok_a2, $login_a2) = signin($acc_a, $pw_a, device_name => 'a2');
my ($tok_b) = signin($acc_b, $pw_b);

my ($a1, $ok) = ws_auth($tok_a1);
is($ok->{user_id}, $uid_a, 'auth_ok carries the user id');
is($ok->{session_id}, $login_a1->{session_id}, 'and the session id');

$c = ws_open();
ws_send($c, $JSON->encode({ type => 'auth', token => 'not.a.token' }));
my $j = ws_json($c);
is($j->{type} . '/' . $j->{errcode}, 'error/40101', 'bad token: error 40101');
is((ws_close_code($c))[0], 4401, 'then close 4401');

$c = ws_open();
ws_send($c, $JSON->encode({ type => 'auth', token => forge_jwt(
    { sub => $uid_a + 0, sid => $login_a1->{session_id} + 0, role => 0, typ => 'access',
      iat => time - 1000, exp => time - 10 }) }));
$j = ws_json($c);
is($j->{errcode}, 40102, 'expired token: error 40102');
like($j->{errmsg}, qr/refresh/, 'the message says to refresh');
is((ws_close_code($c))[0], 4401, 'then close 4401');

$c = ws_open();
ws_send($c, $JSON->encode({ type => 'ping' }));
$j = ws_json($c);
is($j->{errcode}, 40101, 'a first frame that is not auth: error 40101');
is((ws_close_code($c))[0], 4401, 'then close 4401');

$c = ws_open();
my $t0 = time;
$j = ws_json($c, 6);
is($j->{errcode}, 40101, 'no auth frame: error 40101');
is((ws_close_code($c))[0], 4401, 'then close 4401');
my $took = time - $t0;
ok($took >= 1.5 && $took < 5, sprintf('after the auth timeout (2s in tests; took %.1fs)', $took));

{
    my ($uid_d, $acc_d, $pw_d) = db_user();
    my ($tok_d, $login_d) = signin($acc_d, $pw_d);
    sql("UPDATE sessions SET revoked_at = UTC_TIMESTAMP() WHERE id = $login_d->{session_id}");
    $c = ws_open();
    ws_send($c, $JSON->encode({ type => 'auth', token => $tok_d }));
    $j = ws_json($c);
    is($j->{errcode}, 40103, 'revoked session at auth: error 40103');
    is((ws_close_code($c))[0], 4401, 'then close 4401');

    my ($uid_e, $acc_e, $pw_e) = db_user();
    my ($tok_e) = signin($acc_e, $pw_e);
    sql("UPDATE users SET enable_state = -1 WHERE id = $uid_e");
    $c = ws_open();
    ws_send($c, $JSON->encode({ type => 'auth', token => $tok_e }));
    $j = ws_json($c);
    is($j->{errcode}, 40106, 'disabled account at auth: error 40106');
    is((ws_close_code($c))[0], 4401, 'then close 4401');
}

# ---------------------------------------------------------------- delivery

my $a2 = ws_auth($tok_a2);
my $b = ws_auth($tok_b);

my $n = publish('yd:push', notice([$uid_a], 1));
is($n, 2, 'each of the 2 workers is subscribed to yd:push');
for my $dev ([a1 => $a1], [a2 => $a2]) {
    $j = ws_json($dev->[1]);
    ok($j && $j->{type} eq 'message' && $j->{seq} == 1 && $j->{body}{text} eq 'hello 1',
       "device $dev->[0] of user A got the event (the \"ev\" object)");
}
ok(ws_expect_nothing($b, 1), 'user B got nothing');

publish('yd:push', notice([$uid_b, $uid_a], 2));
is(ws_json($_)->{seq}, 2, 'a notice to A and B reaches every device') for $a1, $a2, $b;

publish("yd:push", { t => "read", conv => 7, to => [$uid_b + 0],
                     ev => { type => 'read', conv_id => 7, user_id => $uid_a + 0, seq => 2 } });
$j = ws_json($b);
is_deeply($j, { type => 'read', conv_id => 7, user_id => $uid_a + 0, seq => 2 }, 'read marks relayed as is');
ok(ws_expect_nothing($a1, 0.5), 'not to A');

publish('yd:push', 'not json');
publish('yd:push', '{"to":"x"}');
publish('yd:push', notice([$uid_b], 3));
is(ws_json($b)->{seq}, 3, 'malformed notices are skipped, the next one is delivered');

$n = publish('yd:org', 42);
is($n, 2, 'each worker is subscribed to yd:org');
is_deeply(ws_json($_), { type => 'org', version => 42 }, 'yd:org relayed to every connection')
    for $a1, $a2, $b;

# ---------------------------------------------------------------- client messages

ws_send($a1, '{"type":"ping"}');
is_deeply(ws_json($a1), { type => 'pong' }, '{"type":"ping"} -> {"type":"pong"}');
ws_send($a1, '{"type":"ack","conv_id":7,"seq":3}');
ok(ws_expect_nothing($a1, 0.5), 'ack accepted silently');
ws_send($a1, '{"type":');
$j = ws_json($a1);
is($j->{errcode}, 40001, 'malformed JSON: error 40001');
ws_send($a1, '{"type":"dance"}');
$j = ws_json($a1);
is($j->{errcode}, 40001, 'unknown type: error 40001');
ok(length $j->{errmsg}, 'with a message');
ws_send($a1, '{"type":"ping"}');
is(ws_json($a1)->{type}, 'pong', 'the connection stays open after errors');

ws_send($a1, 'ping me', type => 'ping');
my $f = ws_recv($a1);
is($f->{op}, 10, 'WebSocket ping -> pong');
is($f->{data}, 'ping me', 'with the same payload');
ok(!$f->{masked}, 'server frames are not masked');

my $frag = ws_auth($tok_b);
ws_send($frag, '{"ty', fin => 0);
ws_send($frag, 'x', type => 'ping');
ws_send($frag, 'pe":"pi', type => 'continuation', fin => 0);
ws_send($frag, 'ng"}', type => 'continuation');
$f = ws_recv($frag);
is($f->{op}, 10, 'a ping between fragments is answered');
is_deeply(ws_json($frag), { type => 'pong' }, 'fragmented text reassembled');
ws_send($frag, "{\"type\":\"ping\",\"x\":\"\xe4\xbd", fin => 0);
ws_send($frag, "\xa0\"}", type => 'continuation');
is(ws_json($frag)->{type}, 'pong', 'UTF-8 split across fragments is valid');

my $many = ws_auth($tok_b);
ws_send($many, 'garbage') for 1 .. 20;
my $errors = 0;
while (my $e = ws_json($many)) { $errors++ if $e->{errcode} == 40001 }
is($errors, 20, '20 errors answered');
is((ws_close_code($many))[0], 1008, 'then close 1008');

# ---------------------------------------------------------------- bad frames

my %bad = (
    'unmasked frame'         => [ 1002, sub { ws_send($_[0], '{"type":"ping"}', masked => 0) } ],
    'binary frame'           => [ 1003, sub { ws_send($_[0], "\x00\x01", type => 'binary') } ],
    'invalid UTF-8'          => [ 1007, sub { ws_send($_[0], "{\"type\":\"ping\",\"x\":\"\xc3\x28\"}") } ],
    'surrogate in UTF-8'     => [ 1007, sub { ws_send($_[0], "\"\xed\xa0\x80\"") } ],
    'frame over 64 KiB'      => [ 1009, sub { ws_send($_[0], 'x' x 70000) } ],
    'message over 64 KiB'    => [ 1009, sub { ws_send($_[0], 'x' x 40000, fin => 0);
                                              ws_send($_[0], 'x' x 40000, type => 'continuation') } ],
    'continuation first'     => [ 1002, sub { ws_send($_[0], 'x', type => 'continuation') } ],
    'text inside fragments'  => [ 1002, sub { ws_send($_[0], 'x', fin => 0); ws_send($_[0], 'y') } ],
    'reserved bits'          => [ 1002, sub { ws_raw($_[0], "\xc1\x80abcd") } ],
    'fragmented ping'        => [ 1002, sub { ws_raw($_[0], "\x09\x80abcd") } ],
    'unknown opcode'         => [ 1002, sub { ws_raw($_[0], "\x83\x80abcd") } ],
);
for my $name (sort keys %bad) {
    my ($code, $do) = @{ $bad{$name} };
    my $bc = ws_auth($tok_b);
    $do->($bc);
    is((ws_close_code($bc))[0], $code, "$name: close $code");
    my $after = ws_recv($bc, 3);
    ok($after && $after->{eof}, "$name: the server closes the TCP connection");
}
{
    my $bc = ws_open();
    ws_send($bc, '{"type":"auth"}', masked => 0);
    is((ws_close_code($bc))[0], 1002, 'unmasked frame before auth: close 1002');
}
{
    my $bc = ws_auth($tok_b);
    ws_raw($bc, Protocol::WebSocket::Frame->new(buffer => pack('n', 1000) . 'bye', type => 'close',
                                                masked => 1)->to_bytes);
    my ($code) = ws_close_code($bc);
    is($code, 1000, 'client close 1000: the server answers close 1000');
    my $after = ws_recv($bc, 3);
    ok($after && $after->{eof}, 'and closes the connection');
}

# ---------------------------------------------------------------- over TLS

{
    my $t = ws_open(tls => 1);
    is($t->{status}, 101, 'wss: handshake on the TLS listener');
    ok($t->{accept_ok}, 'wss: correct accept key');
    ws_send($t, $JSON->encode({ type => 'auth', token => $tok_b }));
    is(ws_json($t)->{type}, 'auth_ok', 'wss: auth_ok');
    publish('yd:push', notice([$uid_b], 50));
    $j = ws_json($t);
    is($j->{seq}, 50, 'wss: events delivered');
    ws_json($b, 1);
    ws_send($t, 'x' x 20000 . '{"type":"ping"}') ;
    is(ws_json($t)->{errcode}, 40001, 'wss: a 20 KB frame is read');
    ws_send($t, "\x00", type => 'binary');
    is((ws_close_code($t))[0], 1003, 'wss: binary frame -> close 1003');
    my $after = ws_recv($t, 7);
    ok($after && $after->{eof}, 'wss: then the connection is closed');
}

# ---------------------------------------------------------------- session re-check

# the next WebSocket ping (a heartbeat: the periodic session re-check is
# then a whole interval away)
sub wait_ping {
    my ($c) = @_;
    while (my $f = ws_recv($c, 5)) { return 1 if $f->{op} == 9; return 0 if $f->{eof} }
    return 0;
}

ws_json($a1, 0.1);
ok(wait_ping($a2), 'device a2 got a heartbeat ping');
json_ok('revoke device a2', DELETE => "/auth/sessions/$login_a2->{session_id}", undef, token => $tok_a1);
$t0 = time;
$j = ws_json($a2, 8);
is_deeply($j, { type => 'kicked', reason => 'session revoked' }, 'revoked session: kicked');
is((ws_close_code($a2))[0], 4403, 'then close 4403');
$took = time - $t0;
ok($took < 1, sprintf('at once, not at the next re-check 2s later (took %.2fs)', $took));

# an administrator disables an account: its devices are kicked at once too
{
    my ($uid_x, $acc_x, $pw_x) = create_user();
    my $x = ws_auth(scalar login_as($acc_x, $pw_x));
    ok(wait_ping($x), 'user x connected, heartbeat seen');
    json_ok('admin disables x', PATCH => "/admin/users/$uid_x", { enable_state => 0 },
            token => admin_token());
    my $t1 = time;
    my $k;
    # (the change of the org chart is announced too)
    1 while ($k = ws_json($x, 8)) && $k->{type} eq 'org';
    is_deeply($k, { type => 'kicked', reason => 'account disabled' }, 'disabled account: kicked');
    is((ws_close_code($x))[0], 4403, 'then close 4403');
    ok(time - $t1 < 1, sprintf('at once (took %.2fs)', time - $t1));
}
my $pings = 0;
while (my $pf = ws_recv($a1, 0.1)) { $pings++ if $pf->{op} == 9 }
ok($pings >= 1, 'device a1 got WebSocket pings meanwhile');
ws_send($a1, '{"type":"ping"}');
is(ws_json($a1)->{type}, 'pong', 'device a1 stays connected');

# ---------------------------------------------------------------- clients that vanish mid-query

# the auth query is in flight when the client goes away: the callback must
# find the connection marked closed (ASAN would report a use after free)
for my $i (1 .. 40) {
    my $v = ws_open();
    ws_send($v, $JSON->encode({ type => 'auth', token => $tok_b }));
    close $v->{sock};
}
{
    my $v = ws_auth($tok_b);
    ws_send($v, '{"type":"ping"}');
    is(ws_json($v)->{type}, 'pong', 'after 40 clients vanished during auth, new ones work');
}

# fan-out to many connections of one user
{
    my ($uid_m, $acc_m, $pw_m) = db_user();
    my ($tok_m) = signin($acc_m, $pw_m);
    my @conns = map { scalar ws_auth($tok_m) } 1 .. 200;
    my $t1 = time;
    publish('yd:push', notice([$uid_m], 77));
    my $got = grep { my $m = ws_json($_); $m && $m->{seq} == 77 } @conns;
    is($got, 200, '200 devices of one user all get the event');
    diag(sprintf('fan-out to 200 connections: %.0f ms until the last one read it', (time - $t1) * 1000));
    close $_->{sock} for @conns;
}

# ---------------------------------------------------------------- slow consumer

my ($uid_s, $acc_s, $pw_s) = db_user();
my ($tok_s) = signin($acc_s, $pw_s);
my $slow = ws_auth($tok_s);
# a fixed, small receive buffer: with autotuning (tcp_rmem up to 32 MB here)
# the kernel could swallow the whole backlog and the server never sees it
setsockopt($slow->{sock}, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 65536)
    or die "SO_RCVBUF: $!";
my $rs = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_YOUDU_REDIS_PORT})
    or die "redis: $!";
my $big = $JSON->encode(notice([$uid_s], 0, body => { text => 'y' x 8000 }));
my $count = 3000;
my $cmd = sprintf("*3\r\n\$7\r\nPUBLISH\r\n\$7\r\nyd:push\r\n\$%d\r\n%s\r\n", length $big, $big);
print $rs $cmd for 1 .. $count;
my $replies = 0;
while ($replies < $count && defined(my $line = <$rs>)) { $replies++ if $line =~ /^:/ }
is($replies, $count, "published $count notices of 8 KB while the client does not read");
sleep 0.5;
my ($got, $closecode, $closereason) = (0);
while (my $sf = ws_recv($slow, 10)) {
    last if $sf->{eof};
    $got++ if $sf->{op} == 1;
    if ($sf->{op} == 8) { $closecode = unpack 'n', $sf->{data}; $closereason = substr($sf->{data}, 2); last }
}
is($closecode, 1008, "the slow client is closed with 1008 (it had received $got of $count)");
is($closereason, 'too slow, resync', 'reason: too slow, resync');
ok($got < $count, 'the backlog was dropped, not buffered without bound');
diag("slow consumer: received $got of $count notices before close 1008");
my ($pst) = api(GET => '/ping');
is($pst, 200, 'nginx stays healthy');
ws_send($a1, '{"type":"ping"}');
is(ws_json($a1)->{type}, 'pong', 'other connections unaffected');
like(error_log_since($mark), qr/too slow/, 'the disconnect is logged');

# ---------------------------------------------------------------- Redis restart

service('stop', 'redis');
service('start', 'redis');
$t0 = time;
my $back = eventually(15, sub {
    publish('yd:push', notice([$uid_b], 99)) eq '2' or return 0;
    my $m = ws_json($b, 1);
    return $m && ($m->{seq} // 0) == 99;
});
ok($back, 'after a Redis restart delivery works again (re-subscribed)');
my $resub = time - $t0;
ok($resub < 10, sprintf('within a few seconds (%.1fs)', $resub));
diag(sprintf('re-subscribed %.1fs after Redis came back', $resub));
publish('yd:push', notice([$uid_a], 100));
is(ws_json($a1)->{seq}, 100, 'connections opened before the restart still get events');

# ---------------------------------------------------------------- graceful shutdown

my $g = ws_auth($tok_b);
is(nginx_cmd('-s', 'reload'), 0, 'nginx reload');
my ($gcode, $greason) = ws_close_code($g, 10);
is($gcode, 1001, 'old workers close their connections with 1001');
is($greason, 'server restarting, reconnect', 'reason: server restarting, reconnect');
ok(eventually(10, sub { my $x = eval { ws_auth($tok_b) }; $x ? 1 : 0 }), 'reconnecting works');

my $log = error_log_since($mark);
unlike($log, qr/\[alert\]|\[emerg\]|AddressSanitizer/, 'no alert in the error log');

done_testing;
