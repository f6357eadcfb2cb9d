# Presence: a subscriber sees a colleague's devices come and go (several
# devices, several device types), the REST view matches at each step, a
# killed worker's connections go offline after youdu_push_presence_ttl
# (4s in the test stack), and bad input is refused.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Youdu::Test;
use Youdu::WS;

my $JSON = JSON::PP->new->utf8->canonical;

my ($aid, $aacc, $apw) = create_user();
my ($bid, $bacc, $bpw) = create_user();
my $atok = login_as($aacc, $apw);
my $bweb = login_as($bacc, $bpw, device_type => 'web');
my $bpc  = login_as($bacc, $bpw, device_type => 'pc');

# next presence event about $uid (other events skipped); undef on timeout
sub next_presence {
    my ($c, $uid, $t) = @_;
    my $deadline = time + ($t // 5);
    while ((my $left = $deadline - time) > 0) {
        my $e = ws_json($c, $left) or return undef;
        return $e if $e->{type} eq 'presence' && $e->{user_id} == $uid;
    }
    return undef;
}

# skips events until one with the wanted online state (a notice published
# just before a presence_sub may still be on its way through Redis)
sub wait_presence {
    my ($c, $uid, $online) = @_;
    while (my $e = next_presence($c, $uid)) {
        return $e if !!$e->{online} == !!$online;
    }
    return undef;
}

# the node id of the user's (only) presence field
sub node_of {
    my ($uid) = @_;
    my ($f) = split /\n/, redis_cli('HKEYS', "yd:pres:$uid");
    return (split /:/, $f // '')[0] // '';
}

sub rest_presence {
    my ($name, $ids) = @_;
    my $j = json_ok($name, GET => "/presence?user_ids=$ids", undef, token => $atok);
    return $j->{presence} || [];
}

sub bye {
    my ($c) = @_;
    ws_send($c, pack('n', 1000), type => 'close');
    ws_close_code($c, 5);
    close $c->{sock};
}

# --- A subscribes to B: immediate state
my $a = ws_auth($atok);
ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => [$bid] }));
my $e = next_presence($a, $bid);
is_deeply($e, { type => 'presence', user_id => $bid, online => JSON::PP::false, devices => [] },
          'presence_sub answers at once: B offline');
my $p = rest_presence('REST: B offline', $bid);
is_deeply($p, [{ user_id => $bid, online => JSON::PP::false, devices => [] }], 'REST: offline, no devices');

# --- B on the web
my $b1 = ws_auth($bweb);
$e = next_presence($a, $bid);
ok($e && $e->{online}, 'A sees B come online');
is_deeply($e->{devices}, ['web'], 'with the device type web');
$p = rest_presence('REST after web', $bid);
is_deeply($p->[0]{devices}, ['web'], 'REST: web');
ok($p->[0]{online}, 'REST: online');

# --- a second web device changes nothing visible
my $b2 = ws_auth($bweb);
ok(ws_expect_nothing($a, 1), 'a second web connection sends no event (same device set)');

# --- B on the PC too
my $b3 = ws_auth($bpc);
$e = next_presence($a, $bid);
is_deeply($e && $e->{devices}, ['pc', 'web'], 'A sees the pc device added (sorted list)');
ok($e && $e->{online}, 'still online');
$p = rest_presence('REST after pc', $bid);
is_deeply($p->[0]{devices}, ['pc', 'web'], 'REST: both device types');

# --- closing devices one by one
bye($b1);
ok(ws_expect_nothing($a, 1), 'one of two web connections closed: no event');
$p = rest_presence('REST after one web closed', $bid);
is_deeply($p->[0]{devices}, ['pc', 'web'], 'REST: still pc and web');

bye($b2);
$e = next_presence($a, $bid);
is_deeply($e && $e->{devices}, ['pc'], 'last web connection closed: only pc left');
ok($e && $e->{online}, 'still online');
$p = rest_presence('REST after web closed', $bid);
is_deeply($p->[0], { user_id => $bid, online => JSON::PP::true, devices => ['pc'] }, 'REST: online on pc');

close $b3->{sock};    # no close frame: the server sees EOF
$e = next_presence($a, $bid);
is_deeply($e, { type => 'presence', user_id => $bid, online => JSON::PP::false, devices => [] },
          'last device gone (EOF): A sees B offline');
$p = rest_presence('REST after all closed', $bid);
ok(!$p->[0]{online}, 'REST: offline');
is(redis_cli('EXISTS', "yd:pres:$bid") + 0, 0, 'the Redis hash is gone');

# --- a subscription is replaced, not added to
ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => [$aid, $aid] }));
$e = next_presence($a, $aid);
ok($e && $e->{online} && $e->{devices}[0] eq 'web', 'A subscribed to itself: online on web');
ok(ws_expect_nothing($a, 0.5), 'duplicate ids answered once');
my $b4 = ws_auth($bweb);
ok(ws_expect_nothing($a, 1), 'B no longer subscribed: no event');
bye($b4);

# --- a worker killed with SIGKILL: its fields go stale after the TTL
ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => [$bid] }));
ok(wait_presence($a, $bid, 0), 'subscribed to B again: offline');
1 while next_presence($a, $bid, 1);    # late notices of b4 (see wait_presence)
my ($apid) = map { (split /:/)[1] } split /\n/, redis_cli('HKEYS', "yd:pres:$aid");
my ($victim, $bpid);
for (1 .. 20) {
    my $c = ws_auth($bweb);
    wait_presence($a, $bid, 1);    # the field is written once A hears of it
    my %pids = map { (split /:/)[1] => 1 } split /\n/, redis_cli('HKEYS', "yd:pres:$bid");
    my ($pid) = keys %pids;
    if (keys %pids == 1 && $pid != $apid) { ($victim, $bpid) = ($c, $pid); last }
    bye($c);
    wait_presence($a, $bid, 0);
}
ok($bpid, "B got a connection on a worker other than A's ($apid)") or BAIL_OUT('no other worker');
ok(rest_presence('REST before the kill', $bid)->[0]{online}, 'B online before the kill');
ok(redis_cli('TTL', "yd:pres:$bid") <= 4, 'the hash expires within the TTL');
ok(scalar(grep { $_ == $bid } split /\n/, redis_cli('SMEMBERS', "yd:pres:node:" . node_of($bid))),
   "the node's index lists B");
kill 'KILL', $bpid;
# the master respawns the worker in the same slot; the new worker finds the
# dead one's node id there and has its devices swept at once: A is told
my $t0 = time;
$e = wait_presence($a, $bid, 0);
ok($e, 'A is told B went offline (pushed, no re-subscribe)');
ok(time - $t0 < 3, sprintf('within 3 s of the kill, before the 4 s TTL (%.1f s)', time - $t0));
is_deeply($e && $e->{devices}, [], 'no devices left');
$p = rest_presence('REST after the kill', $bid);
is_deeply($p->[0], { user_id => $bid, online => JSON::PP::false, devices => [] },
          'REST agrees: the dead worker\'s device is offline');
is(redis_cli('HLEN', "yd:pres:$bid"), '0', 'the dead worker\'s field is gone from Redis');
ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => [$bid] }));
# (an event queued before the answer may come first: look for the answer)
my @seen;
while ($e = next_presence($a, $bid)) { push @seen, $e; last unless $e->{online} }
ok($e && !$e->{online}, 're-subscribing shows B offline') or diag($JSON->encode(\@seen));
diag('before the answer: ' . $JSON->encode(\@seen)) if @seen > 1;

# --- a whole node that died (another server, faked in Redis): once its
# deadline passes, some live worker sweeps it and pushes the change
{
    my ($cid) = create_user();
    my $now = int time;
    redis_cli('HSET', "yd:pres:$cid", 'deadbeef:4242:7', 'ios|' . ($now + 60));
    redis_cli('EXPIRE', "yd:pres:$cid", 60);
    redis_cli('SADD', 'yd:pres:node:deadbeef', $cid);
    redis_cli('ZADD', 'yd:pres:nodes', $now + 2, 'deadbeef');
    ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => [$cid] }));
    $e = next_presence($a, $cid);
    is_deeply($e && $e->{devices}, ['ios'], 'C looks online on the other server (ios)');
    my $t1 = time;
    $e = wait_presence($a, $cid, 0);
    ok($e, 'after that server\'s deadline A is told C went offline');
    ok(time - $t1 < 6, sprintf('within the deadline + one heartbeat (%.1f s)', time - $t1));
    is(redis_cli('EXISTS', "yd:pres:$cid"), '0', "C's stale field was deleted");
    is(redis_cli('ZSCORE', 'yd:pres:nodes', 'deadbeef'), '', 'the dead node is forgotten');
    is(redis_cli('EXISTS', 'yd:pres:node:deadbeef'), '0', 'and its index');
}

# --- many ids at once; unknown users are simply offline
my @ids = ((grep { $_ != $aid } 1 .. 1000)[0 .. 998], $aid);
$p = rest_presence('REST with 1000 ids', join(',', @ids));
is(scalar @$p, 1000, '1000 entries, in the order asked');
is($p->[999]{user_id}, $aid, 'last one is A');
ok($p->[999]{online}, 'A is online');
ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => \@ids }));
my $n = 0;
while (my $x = ws_json($a, 3)) { $n++ if $x->{type} eq "presence"; last if $n == 1000 }
is($n, 1000, 'presence_sub with 1000 ids: 1000 answers');

# --- bad presence_sub input: error 40001, the connection stays open
for my $bad ('{"type":"presence_sub"}', '{"type":"presence_sub","user_ids":5}',
             '{"type":"presence_sub","user_ids":["1"]}', '{"type":"presence_sub","user_ids":[0]}',
             '{"type":"presence_sub","user_ids":[-3]}', '{"type":"presence_sub","user_ids":[1.5]}',
             '{"type":"presence_sub","user_ids":[null]}',
             $JSON->encode({ type => 'presence_sub', user_ids => [1 .. 1001] })) {
    ws_send($a, $bad);
    my $r = ws_json($a, 5);
    $r = ws_json($a, 5) while $r && $r->{type} eq 'presence';
    ok($r && $r->{type} eq 'error' && $r->{errcode} == 40001 && $r->{errmsg},
       'bad presence_sub ' . substr($bad, 0, 50) . ' -> 40001');
}
ws_send($a, '{"type":"ping"}');
is(ws_json($a, 5)->{type}, 'pong', 'the connection is still open');

# --- REST bad input
for my $q ('', '?user_ids=', '?user_ids=abc', '?user_ids=1,,2', '?user_ids=0', '?user_ids=-1',
           '?user_ids=1,2,', '?user_ids=1.5', '?user_ids=' . join(',', 1 .. 1001),
           '?user_ids=99999999999999999999', '?user_ids=%FF') {
    json_err("REST bad query '" . substr($q, 0, 30) . "' -> 40008", 400, 40008,
             GET => "/presence$q", undef, token => $atok);
}
json_err('REST without a token -> 401', 401, 40100, GET => "/presence?user_ids=$bid");
json_err('REST with a bad token -> 401', 401, 40101, GET => "/presence?user_ids=$bid",
         undef, token => 'not.a.token');

# --- Redis down: 503/50301 over REST, error 50301 on the push channel;
# once it is back, heartbeats write the fields again
sub service {
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    is(system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @_, @asan), 0, "service @_");
}
sub eventually {
    my ($secs, $check) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) { return 1 if $check->(); select(undef, undef, undef, 0.2) }
    return 0;
}
service('stop', 'redis');
ok(eventually(10, sub { my ($st, $j) = api(GET => "/presence?user_ids=$aid", undef, token => $atok);
                        $st == 503 && $j && $j->{errcode} == 50301 && $j->{errmsg} }),
   'REST with Redis down: 503/50301');
ws_send($a, $JSON->encode({ type => 'presence_sub', user_ids => [$aid] }));
my $r = ws_json($a, 5);
$r = ws_json($a, 5) while $r && $r->{type} eq 'presence';
ok($r && $r->{type} eq 'error' && $r->{errcode} == 50301, 'presence_sub with Redis down: error 50301');
service('start', 'redis');
ok(eventually(15, sub { my ($st, $j) = api(GET => "/presence?user_ids=$aid", undef, token => $atok);
                        $st == 200 && $j->{presence}[0]{online} }),
   'after Redis is back, A is online again (refreshed by its heartbeat)');

bye($a);
done_testing();
