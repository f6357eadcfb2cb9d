# The raw TCP push channel (docs/push.md "Raw TCP"): length-prefixed JSON
# frames in nginx stream, the same authentication, events, presence,
# heartbeats, errors and close codes as the WebSocket, and TLS.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use Youdu::Test;
use Youdu::Accounts;
use Youdu::Msg;
use Youdu::WS;
use Youdu::TCP;

sub publish {
    my ($channel, $msg) = @_;
    return redis_cli('PUBLISH', $channel, ref $msg ? $JSON->encode($msg) : $msg);
}

sub notice {
    my ($to, $seq, %ev) = @_;
    return { t => 'msg', conv => 7, seq => $seq, to => [ map { $_ + 0 } @$to ],
             ev => { type => 'message', conv_id => 7, seq => $seq, sender_id => $to->[0] + 0,
                     client_msg_id => undef, kind => 1, body => { text => "hello $seq" },
                     created_at => '2026-01-01T00:00:00Z', recalled => 0, %ev } };
}

# an error frame, then the close frame, then the end of the connection
sub closes_with {
    my ($c, $name, $errcode, $code, $t) = @_;
    my ($got, $reason, $before) = tcp_close_code($c, $t // 5);
    my @errs = grep { $_->{type} eq 'error' } @{ $before || [] };
    if (defined $errcode) {
        ok(@errs && $errs[0]{errcode} == $errcode && length $errs[0]{errmsg},
           "$name: error $errcode") or diag(explain($before));
    }
    is($got, $code, "$name: close frame with code $code");
    ok(defined $reason && length $reason, "$name: and a reason") if defined $got;
    ok(tcp_eof($c, 7), "$name: then the server ends the connection");
    return $reason;
}

# the next frame of a type (org events from other tests' user changes skipped)
sub next_of {
    my ($c, $type, $t) = @_;
    my $deadline = time + ($t // 5);
    while ((my $left = $deadline - time) > 0) {
        my $j = tcp_json($c, $left) or return undef;
        return $j if $j->{type} eq $type || $j->{type} eq 'close';
    }
    return undef;
}

sub ping_pong {
    my ($c, $name) = @_;
    tcp_send($c, { type => 'ping' });
    is_deeply(next_of($c, 'pong'), { type => 'pong' }, $name);
}

my $mark = error_log_mark();

# ---------------------------------------------------------------- auth

my ($uid_a, $acc_a, $pw_a) = db_user();
my ($uid_b, $acc_b, $pw_b) = db_user();
my ($tok_a1, $login_a1) = signin($acc_a, $pw_a, device_type => 'pc', device_name => 'a1');
my ($tok_a2, $login_a2) = signin($acc_a, $pw_a, device_type => 'android', device_name => 'a2');
my ($tok_b) = signin($acc_b, $pw_b, device_type => 'mac');

my ($a1, $ok) = tcp_auth($tok_a1);
is($ok->{user_id}, $uid_a, 'auth_ok carries the user id');
is($ok->{session_id}, $login_a1->{session_id}, 'and the session id');
ping_pong($a1, '{"type":"ping"} -> {"type":"pong"}');

# SO_KEEPALIVE: the kernel shows a keepalive timer on the server's socket
{
    my $lport = $a1->{sock}->sockport;
    my $ss;
    for (1 .. 20) {    # while data is unacknowledged the retransmit timer shows instead
        $ss = `ss -tnoH state established '( sport = :$ENV{TEST_YOUDU_TCP_PORT} and dport = :$lport )'`;
        last if $ss =~ /keepalive/;
        sleep 0.1;
    }
    like($ss, qr/timer:\(keepalive/, 'TCP keepalive is on for push connections') or diag($ss);
    my $wsc = ws_open();
    my $wport = $wsc->{sock}->sockport;
    my ($hp) = $URL =~ /:(\d+)$/;
    $ss = `ss -tnoH state established '( sport = :$hp and dport = :$wport )'`;
    unlike($ss, qr/timer:\(keepalive/, '(the check can tell: an HTTP connection has none)') or diag($ss);
    close $wsc->{sock};
}

my $c = tcp_open();
tcp_send($c, { type => 'auth', token => 'not.a.token' });
closes_with($c, 'bad token', 40101, 4401);

$c = tcp_open();
tcp_send($c, { type => 'auth', token => forge_jwt(
    { sub => $uid_a + 0, sid => $login_a1->{session_id} + 0, role => 0, typ => 'access',
      iat => time - 1000, exp => time - 10 }) });
my $j = tcp_json($c);
is($j->{errcode}, 40102, 'expired token: error 40102');
like($j->{errmsg}, qr/refresh/, 'the message says to refresh');
closes_with($c, 'expired token', undef, 4401);

$c = tcp_open();
tcp_send($c, { type => 'ping' });
closes_with($c, 'a first frame that is not auth', 40101, 4401);

$c = tcp_open();
tcp_raw($c, pack('N', 0));
closes_with($c, 'an empty first frame', 40101, 4401);

$c = tcp_open();
my $t0 = time;
closes_with($c, 'no auth frame', 40101, 4401, 6);
my $took = time - $t0;
ok($took >= 1.5 && $took < 5, sprintf('after the auth timeout (2s in tests; took %.1fs)', $took));

{
    my ($uid_d, $acc_d, $pw_d) = db_user();
    my ($tok_d, $login_d) = signin($acc_d, $pw_d);
    sql("UPDATE sessions SET revoked_at = UTC_TIMESTAMP() WHERE id = $login_d->{session_id}");
    $c = tcp_open();
    tcp_send($c, { type => 'auth', token => $tok_d });
    closes_with($c, 'revoked session at auth', 40103, 4401);
}

# ---------------------------------------------------------------- framing

# the auth frame and then a ping written one byte at a time
{
    my $slow = tcp_open();
    my $bytes = $JSON->encode({ type => 'auth', token => $tok_b });
    $bytes = pack('N', length $bytes) . $bytes . pack('N', 15) . '{"type":"ping"}';
    for my $i (0 .. length($bytes) - 1) {
        tcp_raw($slow, substr($bytes, $i, 1));
        sleep 0.002;
    }
    is(tcp_json($slow)->{type}, 'auth_ok', 'partial frames, byte by byte: auth_ok');
    is_deeply(tcp_json($slow), { type => 'pong' }, 'then the ping that followed, byte by byte');

    # the auth frame and a ping in one write: the ping waits for the session query
    my $both = tcp_open();
    my $auth = $JSON->encode({ type => 'auth', token => $tok_b });
    tcp_raw($both, pack('N', length $auth) . $auth . pack('N', 15) . '{"type":"ping"}');
    is(tcp_json($both)->{type}, 'auth_ok', 'auth and ping in one write: auth_ok');
    is_deeply(tcp_json($both), { type => 'pong' }, 'then the pong');
    close $both->{sock};

    # several frames in one write
    tcp_raw($slow, join '', map { pack('N', 15) . '{"type":"ping"}' } 1 .. 3);
    my $pongs = grep { my $x = tcp_json($slow); $x && $x->{type} eq 'pong' } 1 .. 3;
    is($pongs, 3, 'three frames in one write: three answers');

    # a frame of exactly 64 KiB is accepted
    my $pad = '{"type":"ping","pad":"' . ('p' x (65536 - 24)) . '"}';
    is(length $pad, 65536, 'a frame of 65536 bytes');
    tcp_send($slow, $pad);
    is_deeply(tcp_json($slow), { type => 'pong' }, 'a 64 KiB frame is read');

    tcp_raw($slow, pack('N', 0));
    $j = tcp_json($slow);
    is($j->{type} . '/' . $j->{errcode}, 'error/40001', 'zero-length frame: error 40001');
    like($j->{errmsg}, qr/empty/, 'the message says the frame is empty');
    ping_pong($slow, 'the connection stays open after an empty frame');

    tcp_send($slow, '{"type":');
    $j = tcp_json($slow);
    is($j->{errcode}, 40001, 'malformed JSON: error 40001');
    tcp_send($slow, '[1,2]');
    is(tcp_json($slow)->{errcode}, 40001, 'a JSON array: error 40001');
    tcp_send($slow, '{"type":"dance"}');
    $j = tcp_json($slow);
    is($j->{errcode}, 40001, 'unknown type: error 40001');
    ok(length $j->{errmsg}, 'with a message');
    tcp_send($slow, { type => 'pong' });
    ok(tcp_expect_nothing($slow, 0.5), '{"type":"pong"} accepted silently');
    tcp_send($slow, { type => 'ack', conv_id => 7, seq => 3 });
    ok(tcp_expect_nothing($slow, 0.5), 'ack accepted silently');
    ping_pong($slow, 'the connection stays open after errors');
    close $slow->{sock};
}

{
    my $many = tcp_auth($tok_b);
    tcp_send($many, 'garbage') for 1 .. 20;
    my ($code, $reason, $before) = tcp_close_code($many);
    is(scalar(grep { $_->{errcode} == 40001 } @$before), 20, '20 errors answered');
    is($code, 1008, 'then close 1008');
    is($reason, 'too many errors', 'reason: too many errors');
    ok(tcp_eof($many, 7), 'and the connection ends');
}

{
    my $big = tcp_auth($tok_b);
    tcp_raw($big, pack('N', 65537) . ('x' x 100));
    my $reason = closes_with($big, 'frame over 64 KiB', 40001, 1009);
    is($reason, 'frame too large', 'reason: frame too large');

    $big = tcp_auth($tok_b);
    tcp_raw($big, pack('N', 0xffffffff));
    closes_with($big, 'length 2^32-1', 40001, 1009);

    my $http = tcp_open();
    tcp_raw($http, "GET /push/ws HTTP/1.1\r\nHost: x\r\n\r\n");
    closes_with($http, 'garbage length prefix (an HTTP request)', 40001, 1009);

    my $utf = tcp_auth($tok_b);
    tcp_send($utf, "{\"type\":\"ping\",\"x\":\"\xc3\x28\"}");
    $reason = closes_with($utf, 'invalid UTF-8', 40001, 1007);
    is($reason, 'invalid UTF-8', 'reason: invalid UTF-8');

    $utf = tcp_open();
    tcp_send($utf, "\"\xed\xa0\x80\"");
    closes_with($utf, 'a surrogate before auth', 40001, 1007);

    my $ok8 = tcp_auth($tok_b);
    tcp_send($ok8, "{\"type\":\"ping\",\"x\":\"\xe4\xbd\xa0\"}");
    is(tcp_json($ok8)->{type}, 'pong', 'valid multi-byte UTF-8 is accepted');
    close $ok8->{sock};
}

# clients that vanish mid-frame or while their auth query is in flight
{
    for my $i (1 .. 20) {
        my $v = tcp_open();
        tcp_raw($v, pack('N', 200) . '{"type":"au');
        close $v->{sock};
        $v = tcp_auth($tok_b);
        tcp_raw($v, pack('N', 50) . '{"type":"pi');
        close $v->{sock};
        $v = tcp_open();
        tcp_send($v, { type => 'auth', token => $tok_b });
        close $v->{sock};
    }
    my $v = tcp_auth($tok_b);
    ping_pong($v, 'after 60 clients vanished mid-frame or during auth, new ones work');
    close $v->{sock};
}

# random bytes before and after auth: every answer is a well-formed frame
# (tcp_json dies otherwise), the connection ends or stays usable
{
    srand(103);
    my ($ended, $bad) = (0, 0);
    for my $i (1 .. 60) {
        my $r = $i % 2 ? tcp_open() : tcp_auth($tok_b);
        my $junk = join '', map { chr int rand 256 } 1 .. 1 + int rand 300;
        $junk = pack('N', length $junk) . $junk if $i % 3 == 0;    # framed garbage
        tcp_raw($r, $junk);
        my $end = 0;
        eval { while (my $j = tcp_json($r, 0.5)) { $end = 1 if $j->{type} eq 'close' } 1 }
            or do { $bad++; diag($@) };
        $ended++ if $end && tcp_eof($r, 7);
        close $r->{sock};
    }
    is($bad, 0, "random bytes: every answer is a well-formed JSON frame ($ended connections "
                . "closed with a close frame, then EOF)");
    ok($ended >= 20, 'framed garbage (1 in 3) and junk lengths over 64 KiB close the connection');
    my $v = tcp_auth($tok_b);
    ping_pong($v, 'random bytes: the endpoint still works');
    close $v->{sock};
}

# ---------------------------------------------------------------- delivery

my $a2 = tcp_auth($tok_a2);
my $b = tcp_auth($tok_b);

my $n = publish('yd:push', notice([$uid_a], 1));
is($n, 2, 'each of the 2 workers is subscribed to yd:push');
for my $dev ([a1 => $a1], [a2 => $a2]) {
    $j = tcp_json($dev->[1]);
    ok($j && $j->{type} eq 'message' && $j->{seq} == 1 && $j->{body}{text} eq 'hello 1',
       "TCP device $dev->[0] of user A got the event");
}
ok(tcp_expect_nothing($b, 1), 'user B got nothing');

publish('yd:org', 43);
is_deeply(tcp_json($_), { type => 'org', version => 43 }, 'yd:org relayed to every TCP connection')
    for $a1, $a2, $b;

# end to end: a REST send reaches a user's WebSocket and TCP devices
{
    my $s = new_user(name => '发送者');
    my $r = new_user(name => '接收者');
    my ($rtok_pc) = login_as($r->{account} // die, 'Passw0rd-' . $r->{account}, device_type => 'pc');
    my $rws = ws_auth($r->{token});
    my $rtcp = tcp_auth($rtok_pc);
    my $conv = new_conv($s, kind => 'direct', user_id => $r->{id});
    my ($st, $sent) = send_text($s, $conv, '你好 over TCP');
    is($st, 201, 'REST send stored');
    my $seq = $sent->{message}{seq};
    my ($wj, $tj);
    for (1 .. 5) { $wj = ws_json($rws, 5) or last; last if $wj->{type} eq 'message' }
    for (1 .. 5) { $tj = tcp_json($rtcp, 5) or last; last if $tj->{type} eq 'message' }
    ok($tj && $tj->{type} eq 'message' && $tj->{conv_id} == $conv && $tj->{seq} == $seq,
       'the TCP device got the message event');
    is($tj && $tj->{body}{text}, '你好 over TCP', 'with the text intact (UTF-8)');
    is_deeply($tj, $wj, 'the very same event as on the WebSocket device');
    my ($sst, $sync) = api(GET => "/conversations/$conv/messages?after=0", undef, token => $r->{token});
    my ($m) = grep { $_->{seq} == $seq } @{ $sync->{messages} || [] };
    is_deeply($tj, $m, 'and what the sync API returns');
    ok(tcp_expect_nothing($rtcp, 0.5), 'exactly once');
    close $rws->{sock};
    close $rtcp->{sock};
}

# fan-out to many TCP connections of one user
{
    my ($uid_m, $acc_m, $pw_m) = db_user();
    my ($tok_m) = signin($acc_m, $pw_m);
    my @conns = map { scalar tcp_auth($tok_m) } 1 .. 200;
    my $t1 = time;
    publish('yd:push', notice([$uid_m], 77));
    my $got = grep { my $m = next_of($_, 'message'); $m && $m->{seq} == 77 } @conns;
    is($got, 200, '200 TCP devices of one user all get the event');
    diag(sprintf('fan-out to 200 TCP connections: %.0f ms until the last one read it', (time - $t1) * 1000));
    close $_->{sock} for @conns;
}

# ---------------------------------------------------------------- presence across transports

{
    my ($pid, $pacc, $ppw) = db_user();
    my ($p_pc) = signin($pacc, $ppw, device_type => 'pc');
    my ($p_web) = signin($pacc, $ppw, device_type => 'web');
    my $watch_tcp = tcp_auth($tok_b);
    my $watch_ws = ws_auth($tok_b);
    my $next = sub {
        my ($online) = @_;
        my (%got);
        for my $w ([tcp => $watch_tcp], [ws => $watch_ws]) {
            my $deadline = time + 5;
            while (time < $deadline) {
                my $e = $w->[0] eq 'tcp' ? tcp_json($w->[1], 1) : ws_json($w->[1], 1);
                next unless $e && $e->{type} eq 'presence' && $e->{user_id} == $pid;
                $got{$w->[0]} = $e;
                last;
            }
        }
        return \%got;
    };
    tcp_send($watch_tcp, { type => 'presence_sub', user_ids => [$pid + 0] });
    ws_send($watch_ws, $JSON->encode({ type => 'presence_sub', user_ids => [$pid + 0] }));
    my $g = $next->();
    ok($g->{tcp} && !$g->{tcp}{online} && !@{ $g->{tcp}{devices} }, 'presence_sub over TCP: offline');
    my $ptcp = tcp_auth($p_pc);
    $g = $next->();
    is_deeply($g->{tcp} && $g->{tcp}{devices}, ['pc'], 'a TCP device (pc) seen over TCP');
    is_deeply($g->{ws} && $g->{ws}{devices}, ['pc'], 'and over the WebSocket');
    my $pws = ws_auth($p_web);
    $g = $next->();
    is_deeply($g->{tcp} && $g->{tcp}{devices}, ['pc', 'web'], 'plus a WebSocket device (web): pc, web');
    my $pr = json_ok('REST presence', GET => "/presence?user_ids=$pid", undef, token => $tok_a1);
    is_deeply($pr->{presence}[0]{devices}, ['pc', 'web'], 'REST agrees');
    close $ptcp->{sock};
    $g = $next->();
    is_deeply($g->{tcp} && $g->{tcp}{devices}, ['web'], 'the TCP device leaves: web only');
    ok($g->{tcp} && $g->{tcp}{online}, 'still online');
    close $pws->{sock};
    $g = $next->();
    ok($g->{tcp} && !$g->{tcp}{online}, 'the last device leaves: offline');
    close $watch_tcp->{sock};
    close $watch_ws->{sock};
}

# ---------------------------------------------------------------- heartbeats

{
    my $quiet = tcp_auth($tok_b, no_pong => 1);
    my $alive = tcp_auth($tok_b);
    my $t1 = time;
    my ($dropped, $quiet_pings);
    while (time - $t1 < 12) {
        tcp_json($_, 0.05) for $a1, $a2, $b;    # they answer pings too
        tcp_json($alive, 0.2);
        my $f = tcp_recv($quiet, 0.2) or next;
        if ($f->{eof}) { $dropped = time - $t1; last }
        $quiet_pings++ if $f->{data} eq '{"type":"ping"}';
    }
    ok($quiet_pings >= 2, "the server sends {\"type\":\"ping\"} every interval ($quiet_pings received)");
    ok(defined $dropped && $dropped >= 5.5 && $dropped < 11,
       sprintf('a client that never answers is dropped after the idle timeout (6s in tests; %s)',
               defined $dropped ? sprintf('%.1fs', $dropped) : 'not dropped'));
    ok($alive->{pings} >= 2, "a client answering the pings ($alive->{pings}) ...");
    ping_pong($alive, '... stays connected');
    close $alive->{sock};
}

# ---------------------------------------------------------------- session re-check

json_ok('revoke device a2', DELETE => "/auth/sessions/$login_a2->{session_id}", undef, token => $tok_a1);
$t0 = time;
$j = next_of($a2, 'kicked', 8);
is_deeply($j, { type => 'kicked', reason => 'session revoked' }, 'revoked session: kicked');
closes_with($a2, 'kicked', undef, 4403);
$took = time - $t0;
ok($took < 5, sprintf('within the re-check interval (2s in tests; took %.1fs)', $took));
ping_pong($a1, 'device a1 stays connected');

# ---------------------------------------------------------------- slow consumer

{
    my ($uid_s, $acc_s, $pw_s) = db_user();
    my ($tok_s) = signin($acc_s, $pw_s);
    my $slow = tcp_auth($tok_s);
    my $rs = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_YOUDU_REDIS_PORT})
        or die "redis: $!";
    my $big = $JSON->encode(notice([$uid_s], 0, body => { text => 'y' x 8000 }));
    my $count = 3000;
    my $cmd = sprintf("*3\r\n\$7\r\nPUBLISH\r\n\$7\r\nyd:push\r\n\$%d\r\n%s\r\n", length $big, $big);
    print $rs $cmd for 1 .. $count;
    my $replies = 0;
    while ($replies < $count && defined(my $line = <$rs>)) { $replies++ if $line =~ /^:/ }
    is($replies, $count, "published $count notices of 8 KB while the TCP client does not read");
    sleep 0.5;
    my ($got, $code, $reason) = (0);
    while (my $e = tcp_json($slow, 10)) {
        $got++ if $e->{type} eq 'message';
        if ($e->{type} eq 'close') { ($code, $reason) = ($e->{code}, $e->{reason}); last }
    }
    is($code, 1008, "the slow TCP client is closed with 1008 (it had received $got of $count)");
    is($reason, 'too slow, resync', 'reason: too slow, resync');
    ok($got < $count, 'the backlog was dropped');
    ok(tcp_eof($slow, 7), 'and the connection ends');
}

# a TLS client that stops reading: the session is finalized while its
# output (and the TLS close_notify) cannot be written
{
    my ($uid_s, $acc_s, $pw_s) = db_user();
    my ($tok_s) = signin($acc_s, $pw_s);
    my $slow = tcp_auth($tok_s, tls => 1);
    my $rs = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_YOUDU_REDIS_PORT})
        or die "redis: $!";
    my $big = $JSON->encode(notice([$uid_s], 0, body => { text => 'z' x 8000 }));
    my $count = 2000;
    my $cmd = sprintf("*3\r\n\$7\r\nPUBLISH\r\n\$7\r\nyd:push\r\n\$%d\r\n%s\r\n", length $big, $big);
    print $rs $cmd for 1 .. $count;
    my $replies = 0;
    while ($replies < $count && defined(my $line = <$rs>)) { $replies++ if $line =~ /^:/ }
    sleep 7;    # past the close wait (5 s): finalized with unsent output
    my ($n, $eof) = (0, 0);
    my $deadline = time + 15;
    while (time < $deadline) {
        my $f = tcp_recv($slow, 1);
        if ($f && $f->{eof}) { $eof = 1; last }
        $n++ if $f;
    }
    ok($eof, "TLS slow client: the server ends the connection ($n frames read after it stalled)");
    ok($n < $count, 'without having buffered the whole backlog');
    my ($pst) = api(GET => '/ping');
    is($pst, 200, 'nginx stays healthy');
    my $t2 = tcp_auth($tok_s, tls => 1);
    ping_pong($t2, 'TLS: new connections work');
    close $t2->{sock};
}

# ---------------------------------------------------------------- TLS

{
    my $t = tcp_open(tls => 1);
    like($t->{sock}->get_sslversion, qr/^TLSv1_[23]$/, 'TLS listener: TLS 1.2 or newer ('
         . $t->{sock}->get_sslversion . ')');
    tcp_send($t, { type => 'auth', token => $tok_b });
    is(tcp_json($t)->{type}, 'auth_ok', 'TLS: auth_ok');
    publish('yd:push', notice([$uid_b], 50));
    $j = tcp_json($t);
    is($j->{seq}, 50, 'TLS: events delivered');
    tcp_json($b, 1);
    my $pad = '{"type":"ping","pad":"' . ('q' x 30000) . '"}';
    tcp_send($t, $pad);
    is(tcp_json($t)->{type}, 'pong', 'TLS: a 30 KB frame is read');
    tcp_raw($t, pack('N', 100000));
    closes_with($t, 'TLS: oversized frame', 40001, 1009);

    my $tv = tcp_open(tls => 1);
    tcp_raw($tv, pack('N', 100) . '{"ty');
    close $tv->{sock};
    my $t2 = tcp_auth($tok_b, tls => 1);
    ping_pong($t2, 'TLS: works after a client vanished mid-frame');
    close $t2->{sock};

    my $plain = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_YOUDU_TCPS_PORT},
                                      Timeout => 5) or die "connect: $!";
    my $pc = { sock => $plain, buf => '' };
    tcp_send($pc, { type => 'auth', token => $tok_b });
    my $f = tcp_recv($pc, 5);
    ok(!$f || $f->{eof} || $f->{data} !~ /auth_ok/, 'plain TCP on the TLS listener gets no auth_ok');
    close $plain;
}

# ---------------------------------------------------------------- database down

# runs build.sh service ... while $keep answers its heartbeats (it would
# look idle otherwise: the idle timeout is 6s in tests)
sub service_while_alive {
    my ($keep, @args) = @_;
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    my $pid = fork // die "fork: $!";
    exec("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @args, @asan) or POSIX::_exit(127) unless $pid;
    tcp_json($keep, 0.2) while waitpid($pid, POSIX::WNOHANG()) == 0;
    is($?, 0, "service @args");
}

{
    require POSIX;
    my $open = tcp_auth($tok_b);
    service_while_alive($open, 'stop', 'mariadb');
    my $c = tcp_open();
    tcp_send($c, { type => 'auth', token => $tok_b });
    my @got;
    my $deadline = time + 15;
    while (time < $deadline && !$c->{eof}) {
        tcp_json($open, 0.1);
        my $j = tcp_json($c, 0.2) or next;
        push @got, $j;
        last if $j->{type} eq 'close';
    }
    is($got[0] && $got[0]{errcode}, 50300, 'database down at auth: error 50300');
    is_deeply($got[1], { type => 'close', code => 1011, reason => 'try again later' },
              'then close 1011 "try again later"');
    ok(tcp_eof($c, 7), 'and the connection ends');
    tcp_json($open, 3);    # a failed re-check or two meanwhile
    ping_pong($open, 'an open connection survives failed session re-checks');
    service_while_alive($open, 'start', 'mariadb');
    my $back;
    for (1 .. 75) { $back = eval { tcp_auth($tok_b) } and last; sleep 0.2 }
    ok($back, 'auth works again once MariaDB is back');
    close $open->{sock};
}

# ---------------------------------------------------------------- graceful shutdown

{
    my $g = tcp_auth($tok_b);
    is(nginx_cmd('-s', 'reload'), 0, 'nginx reload');
    my ($code, $reason) = tcp_close_code($g, 10);
    is($code, 1001, 'old workers close TCP connections with 1001');
    is($reason, 'server restarting, reconnect', 'reason: server restarting, reconnect');
    my $back;
    for (1 .. 50) { $back = eval { tcp_auth($tok_b) } and last; sleep 0.2 }
    ok($back, 'reconnecting works');
}

my $log = error_log_since($mark);
unlike($log, qr/\[alert\]|\[emerg\]|\[crit\]|AddressSanitizer/, 'no alert or crit in the error log (TLS writes retried right)');

done_testing;
