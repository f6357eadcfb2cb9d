# A node that serves only native clients: a second nginx with the raw TCP
# push endpoint (stream) and no WebSocket location.  Its Redis bus and its
# presence node are started by the stream module alone: messages sent through
# the first node reach its TCP clients, its devices' presence is seen by
# clients of the first node, and they go offline when it stops.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use JSON::PP;
use Youdu::Test;
use Youdu::Msg;
use Youdu::WS;
use Youdu::TCP;

my $JSON = JSON::PP->new->utf8->canonical;
my $RUN = run_dir();
my ($HTTP_PORT) = $URL =~ /:(\d+)$/;
my $dir = "$RUN/tcp-only";
mkdir $dir;
mkdir "$dir/$_" for qw(log tmp tmp/body tmp/proxy tmp/fastcgi tmp/uwsgi tmp/scgi);
system('chown', '-R', 'nobody:nogroup', "$dir/tmp");

# three free ports near ours: HTTP (for the ping), raw TCP, raw TCP + TLS
my @free;
for my $p ($HTTP_PORT + 970 .. $HTTP_PORT + 1010) {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p, Listen => 1, ReuseAddr => 1)
        or next;
    push @free, $p;
    last if @free == 3;
}
is(scalar @free, 3, 'three free ports for the second node');
my ($hp, $tp, $tps) = @free;

# the first node's locations without the WebSocket endpoint
my $loc = do { open my $f, '<', "$RUN/youdu-locations.conf" or die; local $/; <$f> };
ok($loc =~ s{location = /push/ws \{.*?\n\}\n}{}s, 'the WebSocket location is left out');
open my $lf, '>', "$dir/youdu-locations.conf" or die;
print $lf $loc;
close $lf;

my $conf = do { open my $f, '<', "$RUN/nginx.conf" or die; local $/; <$f> };
my $https = $ENV{TEST_YOUDU_HTTPS_URL} =~ /:(\d+)$/ ? $1 : die 'no https port';
$conf =~ s{listen 127\.0\.0\.1:$HTTP_PORT;}{listen 127.0.0.1:$hp;};
$conf =~ s{\n\s*server \{\n\s*listen 127\.0\.0\.1:$https ssl;.*?\n    \}\n}{\n}s;
$conf =~ s{listen 127\.0\.0\.1:$ENV{TEST_YOUDU_TCP_PORT};}{listen 127.0.0.1:$tp;};
$conf =~ s{listen 127\.0\.0\.1:$ENV{TEST_YOUDU_TCPS_PORT} ssl;}{listen 127.0.0.1:$tps ssl;};
$conf =~ s{include \Q$RUN\E/youdu-locations\.conf;}{include $dir/youdu-locations.conf;}g;
$conf =~ s{^pid .*?;}{pid $dir/nginx.pid;}m;
$conf =~ s{^error_log \S+}{error_log $dir/log/error.log}m;
$conf =~ s{access_log \S+;}{access_log $dir/log/access.log;};
$conf =~ s{(_temp_path) \Q$RUN\E/tmp/}{$1 $dir/tmp/}g;
unlike($conf, qr/listen 127\.0\.0\.1:$https /, 'no HTTPS server on the second node');
open my $cf, '>', "$dir/nginx.conf" or die;
print $cf $conf;
close $cf;

my @pre = $ENV{TEST_YOUDU_ASAN}
    ? ('env', 'LD_PRELOAD=' . `gcc -print-file-name=libasan.so` =~ s/\s+$//r,
       "ASAN_OPTIONS=detect_leaks=0:log_path=$RUN/log/asan/asan")
    : ();
is(system(@pre, '/usr/sbin/nginx', '-p', $dir, '-c', "$dir/nginx.conf"), 0, 'the TCP-only node started');
my $url2 = "http://127.0.0.1:$hp";
my $up = 0;
for (1 .. 50) { my ($st) = api(GET => "$url2/api/v1/ping"); if ($st == 200) { $up = 1; last } sleep 0.1 }
ok($up, 'the TCP-only node answers');

# no WebSocket endpoint there
my $ws = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hp, Timeout => 5) or die;
print $ws "GET /push/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    . "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
my $status = <$ws> // '';
unlike($status, qr/ 101 /, "the second node has no WebSocket endpoint ($status)" =~ s/\r?\n//r);
close $ws;

my $a = new_user();
my $b = new_user();
my $conv = new_conv($a, kind => 'direct', user_id => $b->{id});

# B's native client on the TCP-only node, A's colleague view on the first
my $bt = do { local $ENV{TEST_YOUDU_TCP_PORT} = $tp; tcp_auth($b->{token}) };
ok($bt, 'B signed in over raw TCP on the TCP-only node');
my $bs = do { local $ENV{TEST_YOUDU_TCPS_PORT} = $tps; tcp_auth($b->{token}, tls => 1) };
ok($bs, 'and over raw TCP with TLS');

my ($st, $j) = send_text($a, $conv, 'to the native client');
is($st, 201, 'A sends through the first node');
for my $c ($bt, $bs) {
    my $e;
    while ($e = tcp_json($c, 5)) { last if $e->{type} eq 'message' }
    is($e && $e->{body}{text}, 'to the native client', 'B\'s TCP device on the other node gets it');
    is($e && $e->{seq}, $j->{message}{seq}, 'with its seq');
}

# presence of B's devices there, seen from the first node
my $aw = ws_auth($a->{token});
ws_send($aw, $JSON->encode({ type => 'presence_sub', user_ids => [$b->{id}] }));
my $p;
while ($p = ws_json($aw, 5)) { last if $p->{type} eq 'presence' }
ok($p && $p->{online}, 'A sees B online (devices on the TCP-only node)');

# the node stops: its devices go offline for A, by their own close or by
# the sweeper of the first node once the stopped node's deadline passed
my $pid = do { open my $f, '<', "$dir/nginx.pid" or die; local $/; <$f> =~ s/\s+//gr };
kill 'QUIT', $pid;
my $gone = 0;
for (1 .. 100) { unless (kill 0, $pid) { $gone = 1; last } sleep 0.1 }
ok($gone, 'the TCP-only node stopped');
my $t0 = time;
while ($p = ws_json($aw, 10)) { last if $p->{type} eq 'presence' && !$p->{online} }
ok($p && !$p->{online}, sprintf('A is told B went offline (%.1f s)', time - $t0));
is_deeply($p && $p->{devices}, [], 'no devices left');

my $log = do { open my $f, '<', "$dir/log/error.log"; local $/; <$f> // '' };
unlike($log, qr/\[alert\]|\[emerg\]|exited on signal|exited with code [1-9]|AddressSanitizer/,
       'no crash or alert in the TCP-only node\'s log');

done_testing();
