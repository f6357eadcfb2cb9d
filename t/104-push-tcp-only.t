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
use Youdu::Node;

my $JSON = JSON::PP->new->utf8->canonical;
my $RUN = run_dir();
my ($HTTP_PORT) = $URL =~ /:(\d+)$/;
my $dir = "$RUN/tcp-only";
my $https = $ENV{TEST_YOUDU_HTTPS_URL} =~ /:(\d+)$/ ? $1 : die 'no https port';

# three free ports near ours: HTTP (for the ping), raw TCP, raw TCP + TLS
my ($hp, $tp, $tps) = free_ports($HTTP_PORT + 970, $HTTP_PORT + 1010, 3);
ok($tps, 'three free ports for the second node');
my $conf = node_conf($dir, $HTTP_PORT => $hp, $ENV{TEST_YOUDU_TCP_PORT} => $tp,
                     $ENV{TEST_YOUDU_TCPS_PORT} => $tps);

# the first node's locations without the WebSocket endpoint, no HTTPS server
my $loc = do { open my $f, '<', "$RUN/youdu-locations.conf" or die; local $/; <$f> };
ok($loc =~ s{location = /push/ws \{.*?\n\}\n}{}s, 'the WebSocket location is left out');
open my $lf, '>', "$dir/youdu-locations.conf" or die;
print $lf $loc;
close $lf;
$conf =~ s{include \Q$RUN\E/youdu-locations\.conf;}{include $dir/youdu-locations.conf;}g;
$conf =~ s{\n\s*server \{\n\s*listen 127\.0\.0\.1:$https ssl;.*?\n    \}\n}{\n}s;
unlike($conf, qr/listen 127\.0\.0\.1:$https /, 'no HTTPS server on the second node');

ok(node_start($dir, $conf, "http://127.0.0.1:$hp/api/v1/ping"), 'the TCP-only node started and answers');

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
my ($gone, $log) = node_stop($dir);
ok($gone, 'the TCP-only node stopped');
my $t0 = time;
while ($p = ws_json($aw, 10)) { last if $p->{type} eq 'presence' && !$p->{online} }
ok($p && !$p->{online}, sprintf('A is told B went offline (%.1f s)', time - $t0));
is_deeply($p && $p->{devices}, [], 'no devices left');

unlike($log, qr/\[alert\]|\[emerg\]|exited on signal|exited with code [1-9]|AddressSanitizer/,
       'no crash or alert in the TCP-only node\'s log');

done_testing();
