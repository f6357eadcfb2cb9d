# DESIGN.md §4: after a worker killed with SIGKILL, Redis restarted, MariaDB
# restarted, a client cut off mid-stream, and across two nginx instances,
# every message whose send was acknowledged reaches every member exactly
# once, in seq order (via push or sync), and the stored conversation has
# strictly increasing seqs without gaps.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Youdu::Test;
use Youdu::Msg;
use Youdu::WS;
use Youdu::Senders;
use Youdu::SyncClient;
use Youdu::Node;

my $RUN = run_dir();
my ($HTTP_PORT) = $URL =~ /:(\d+)$/;
my $t_start = time;
# (build.sh gives the workers, which run as nobody, log/asan/ for sanitizer
# reports, and fails the run on "exited with code N")
my $log_mark = error_log_mark();

sub service {
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    my $rc = system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @_, @asan);
    is($rc, 0, "service @_");
}

# the stored conversation: seqs 1..last_seq without gaps, one row per
# acknowledged client_msg_id with the acknowledged seq, nothing else
sub check_stored {
    my ($name, $conv, $res, $n_sent) = @_;
    is_deeply($res->{fails}, [], "$name: every send was acknowledged in the end");
    is(scalar keys %{ $res->{acked} }, $n_sent, "$name: $n_sent acknowledged");
    my @rows = sql_rows("SELECT seq, IFNULL(client_msg_id, '-'), kind FROM messages "
                        . "WHERE conv_id = $conv ORDER BY seq");
    my $last = db("SELECT last_seq FROM conversations WHERE id = $conv");
    is_deeply([ map { $_->[0] } @rows ], [1 .. $last],
              "$name: stored seqs are 1..$last, strictly increasing, no gaps");
    my %stored = map { $_->[1] => $_->[0] } grep { $_->[2] == 1 } @rows;
    is_deeply(\%stored, $res->{acked},
              "$name: exactly the acknowledged messages are stored, each once, at its acknowledged seq");
    return $last;
}

# each device: what it handed to the app is 1..last exactly once in order;
# no connection got the same seq pushed twice
sub check_devices {
    my ($name, $clients, $last) = @_;
    ok(Youdu::SyncClient::settle($clients, 20), "$name: every device reconnected and synced");
    for my $i (0 .. $#$clients) {
        my $cl = $clients->[$i];
        $cl->sync;
        is_deeply($cl->{delivered}, [1 .. $last],
                  "$name: device $i (user $cl->{user}{id}) has seqs 1..$last exactly once, in order");
        is_deeply($cl->{errors}, [], "$name: device $i: sync returned what followed its cursor");
        my $dup = 0;
        for my $p (@{ $cl->{paths} }) { my %s; $s{$_}++ and $dup++ for @$p }
        is($dup, 0, "$name: device $i: no connection got a seq pushed twice");
        note("$name: device $i: connections " . scalar(@{ $cl->{paths} })
             . ", by push $cl->{pushed}, by sync $cl->{synced}, duplicate pushes dropped $cl->{dups}"
             . ($cl->{drops} ? ', dropped by server: ' . join('; ', @{ $cl->{drops} }) : ''));
    }
}

sub run_senders {
    my ($clients, $kids, $secs) = @_;
    ok(Youdu::SyncClient::pump($clients, $secs, until => sub { senders_done($kids) }),
       'the senders finished in time');
    return sender_results($kids);
}

sub members { my ($n) = @_; return map { new_user() } 1 .. $n }

# the nginx worker holding the server end of a client connection
sub worker_of {
    my ($c, $port) = @_;
    my $lport = $c->{sock}->sockport;
    my $out = `ss -Htnp state established '( sport = :$port and dport = :$lport )'`;
    my ($pid) = $out =~ /pid=(\d+)/;
    return $pid;
}

sub nginx_workers {
    my ($master) = @_;
    return grep { /^\d+$/ } split /\s+/, `pgrep -P $master`;
}

# ------------------------------------------------- 1. a worker is SIGKILLed
{
    my $name = 'SIGKILL';
    my ($a, $b, $c) = members(3);
    my $conv = new_conv($a, kind => 'group', name => 'kill', user_ids => [$b->{id}, $c->{id}]);
    # B on three devices, so both workers likely hold some connections
    my @dev = map { Youdu::SyncClient->new($_, $conv) } $a, $b, $b, $b, $c;
    ok(Youdu::SyncClient::settle(\@dev, 10), "$name: devices connected");
    my $master = do { open my $f, '<', "$RUN/nginx.pid" or die; local $/; <$f> =~ s/\s+//gr };
    my @workers = nginx_workers($master);
    cmp_ok(scalar @workers, '>=', 2, "$name: nginx runs several workers");
    my $victim = worker_of($dev[1]{c}, $HTTP_PORT);
    ok($victim && grep({ $_ == $victim } @workers), "$name: found the worker holding B's connection")
        or die "no worker pid to kill";   # never kill(0): that is our process group

    my $n = 30;
    my $kids = start_senders([ map { { user => $_->[0], conv => $conv, n => $n, tag => "k$$-$_->[1]" } }
                               [$a, 'a'], [$b, 'b'], [$c, 'c'] ], pace => 0.02);
    Youdu::SyncClient::pump(\@dev, 0.4);
    ok(kill('KILL', $victim), "$name: worker $victim killed with SIGKILL mid-stream");
    # under ASAN the kernel may take a while to tear a process down (its
    # sockets close at the end): wait for the death and the respawn
    ok(Youdu::SyncClient::pump(\@dev, 20, until => sub {
           my @w = nginx_workers($master);
           !kill(0, $victim) && @w == @workers && !grep { $_ == $victim } @w }),
       "$name: the worker died and the master respawned it");
    ok(Youdu::SyncClient::pump(\@dev, 10, until => sub { @{ $dev[1]{paths} } >= 2 && $dev[1]{c} }),
       "$name: B's device on that worker was cut off and reconnected");
    my $res = run_senders(\@dev, $kids, 60);
    note("$name: retried $res->{retried}, answered as duplicates $res->{dups}, errors "
         . join(' ', map { "$_ x$res->{bad}{$_}" } sort keys %{ $res->{bad} }));
    my $last = check_stored($name, $conv, $res, 3 * $n);
    check_devices($name, \@dev, $last);
}

# sends one probe per second at most (acknowledged ones join the expected set)
my $probe_at = 0;
sub state_probe {
    my ($seq, $i, $u, $conv, $res) = @_;
    return if time - $probe_at < 1;
    $probe_at = time;
    my $cmid = "p$$-$conv-" . ($$i + 1);
    my ($st, $j) = send_text($u, $conv, "probe", client_msg_id => $cmid);
    return unless $st == 201;
    $$i++;
    $res->{acked}{$cmid} = $$seq = $j->{message}{seq};
}

# ------------------------------------------------- 2. Redis restarted
{
    my $name = 'Redis restart';
    my ($a, $b, $c) = members(3);
    my $conv = new_conv($a, kind => 'group', name => 'redis', user_ids => [$b->{id}, $c->{id}]);
    my @dev = map { Youdu::SyncClient->new($_, $conv) } $a, $b, $b, $c;
    ok(Youdu::SyncClient::settle(\@dev, 10), "$name: devices connected");
    my $n = 25;
    my $kids = start_senders([ map { { user => $_->[0], conv => $conv, n => $n, tag => "r$$-$_->[1]" } }
                               [$a, 'a'], [$b, 'b'] ], pace => 0.05);
    Youdu::SyncClient::pump(\@dev, 0.4);
    service('stop', 'redis');
    Youdu::SyncClient::pump(\@dev, 0.5);
    service('start', 'redis');
    my $res = run_senders(\@dev, $kids, 60);
    ok(!$res->{bad}{503} && !$res->{bad}{599}, "$name: sends kept being acknowledged without Redis")
        or diag(explain($res->{bad}));

    # pushes resume once the subscriptions are back: a probe reaches every device
    my ($probe_seq, $probe_i) = (0, 0);
    my $resumed = Youdu::SyncClient::pump(\@dev, 15, until => sub {
        if ($probe_seq && !grep { !grep { $_ == $probe_seq } @{ $_->{paths}[-1] } } @dev) { return 1 }
        state_probe(\$probe_seq, \$probe_i, $a, $conv, $res);
        return 0;
    });
    ok($resumed, "$name: pushes resume after Redis is back");
    my @live;
    for my $i (1 .. 5) {
        my ($st, $j) = send_text($a, $conv, "live $i", client_msg_id => "r$$-live-$i");
        is($st, 201, "$name: live message $i acknowledged");
        $res->{acked}{"r$$-live-$i"} = $j->{message}{seq};
        push @live, $j->{message}{seq};
    }
    Youdu::SyncClient::pump(\@dev, 5, until => sub {
        !grep { my $p = $_->{paths}[-1]; grep { my $s = $_; !grep { $_ == $s } @$p } @live } @dev });
    for my $i (0 .. $#dev) {
        my %p = map { $_ => 1 } @{ $dev[$i]{paths}[-1] };
        is_deeply([ grep { $p{$_} } @live ], \@live, "$name: device $i got the live messages by push");
    }
    my $last = check_stored($name, $conv, $res, 2 * $n + 5 + $probe_i);
    check_devices($name, \@dev, $last);
}

# ------------------------------------------------- 3. MariaDB restarted
{
    my $name = 'MariaDB restart';
    my ($a, $b, $c) = members(3);
    my $conv = new_conv($a, kind => 'group', name => 'db', user_ids => [$b->{id}, $c->{id}]);
    my @dev = map { Youdu::SyncClient->new($_, $conv) } $a, $b, $c;
    ok(Youdu::SyncClient::settle(\@dev, 10), "$name: devices connected");
    my $n = 20;
    my $kids = start_senders([ map { { user => $_->[0], conv => $conv, n => $n, tag => "m$$-$_->[1]" } }
                               [$a, 'a'], [$c, 'c'] ], pace => 0.05);
    Youdu::SyncClient::pump(\@dev, 0.4);
    note(sprintf('stopping mariadb at %.1f', time - $^T));
    service('stop', 'mariadb');
    # longer than youdu_db wait_timeout (5 s): requests waiting for a
    # connection give up with 503 instead of being served after the restart
    Youdu::SyncClient::pump(\@dev, 6);
    service('start', 'mariadb');
    note(sprintf('mariadb started at %.1f', time - $^T));
    my $res = run_senders(\@dev, $kids, 60);
    cmp_ok($res->{bad}{503} // 0, '>', 0, "$name: sends during the outage got 503 (not acknowledged)");
    cmp_ok($res->{bad}{e50300} // 0, '>', 0, "$name: ... with errcode 50300");
    cmp_ok($res->{retried}, '>', 0, "$name: and were resent with the same client_msg_id");
    note("$name: retried $res->{retried}, duplicates $res->{dups}, errors "
         . join(' ', map { "$_ x$res->{bad}{$_}" } sort keys %{ $res->{bad} }));
    my $last = check_stored($name, $conv, $res, 2 * $n);
    check_devices($name, \@dev, $last);
}

# ------------------------------------------------- 4. a client cut off mid-stream
{
    my $name = 'cut off';
    my ($a, $b) = members(2);
    my $conv = new_conv($a, kind => 'direct', user_id => $b->{id});
    my @dev = map { Youdu::SyncClient->new($_, $conv) } $a, $b, $b;
    ok(Youdu::SyncClient::settle(\@dev, 10), "$name: devices connected");
    my $n = 50;
    my $kids = start_senders([ { user => $a, conv => $conv, n => $n, tag => "x$$-a" } ], pace => 0.02);
    Youdu::SyncClient::pump(\@dev, 0.4);
    $dev[1]->cut;
    # stays away while messages flow, then comes back
    $dev[1]{next_try} = time + 0.3;
    my $res = run_senders(\@dev, $kids, 60);
    my $last = check_stored($name, $conv, $res, $n);
    check_devices($name, \@dev, $last);
    cmp_ok(scalar @{ $dev[1]{paths} }, '==', 2, "$name: the device reconnected once");
    cmp_ok(scalar @{ $dev[1]{paths}[1] }, '>', 0, "$name: and got pushes again on its new connection");
    is($dev[2]{synced}, 0, "$name: the device that stayed connected got everything by push");
}

# ------------------------------------------------- 5. two nginx instances
{
    my $name = 'two nodes';
    my $dir = "$RUN/node2";
    my ($https) = $ENV{TEST_YOUDU_HTTPS_URL} =~ /:(\d+)$/;
    # four free ports near ours (base+1080 may belong to another stack):
    # HTTP, HTTPS and the raw TCP push listeners (plain, TLS)
    my ($p1, $p2, $p3, $p4) = free_ports($HTTP_PORT + 900, $HTTP_PORT + 960, 4);
    ok($p4, "$name: four free ports for the second instance");
    my $conf = node_conf($dir, $HTTP_PORT => $p1, $https => $p2,
                         $ENV{TEST_YOUDU_TCP_PORT} => $p3, $ENV{TEST_YOUDU_TCPS_PORT} => $p4);
    my $url2 = "http://127.0.0.1:$p1";
    ok(node_start($dir, $conf, "$url2/api/v1/ping"), "$name: the second instance started and answers");

    my ($a, $b) = members(2);
    my $conv = new_conv($a, kind => 'direct', user_id => $b->{id});
    my $da = Youdu::SyncClient->new($a, $conv);
    my $db = Youdu::SyncClient->new($b, $conv, url => $url2);
    my @dev = ($da, $db);
    ok(Youdu::SyncClient::settle(\@dev, 10), "$name: A on instance 1, B on instance 2");
    is(worker_of($db->{c}, $p1) ? 1 : 0, 1, "$name: B's connection is held by the second instance");

    # both instances subscribed: a probe sent through each reaches the other side
    my %res = (acked => {}, fails => [], bad => {});
    my $k = 0;
    my $send = sub {
        my ($u, $url) = @_;
        my $cmid = "n$$-" . ++$k;
        my $save = $URL;
        $URL = $url;
        my ($st, $j) = send_text($u, $conv, "node $k", client_msg_id => $cmid);
        $URL = $save;
        push @{ $res{fails} }, "$cmid: $st" unless $st == 201;
        $res{acked}{$cmid} = $j->{message}{seq} if $st == 201;
        return $st == 201 ? $j->{message}{seq} : 0;
    };
    my $ready = Youdu::SyncClient::pump(\@dev, 10, until => sub {
        return 1 if $da->{pushed} && $db->{pushed} && !$da->{need_sync} && !$db->{need_sync}
                    && $da->{last} == $db->{last} && $da->{last} == $k;
        $send->($k % 2 ? $b : $a, $k % 2 ? $url2 : $URL);
        Youdu::SyncClient::pump(\@dev, 0.5);
        return 0;
    });
    ok($ready, "$name: pushes flow between the instances");
    my $from = $k + 1;
    for my $i (1 .. 10) {
        $i % 2 ? $send->($a, $URL) : $send->($b, $url2);
        Youdu::SyncClient::pump(\@dev, 0.05);
    }
    Youdu::SyncClient::pump(\@dev, 5, until => sub { $da->{last} == $k && $db->{last} == $k });
    for my $d (@dev) {
        my @p = grep { $_ >= $from } @{ $d->{paths}[-1] };
        is_deeply(\@p, [$from .. $k], "$name: user $d->{user}{id} got the messages sent through both "
                  . "instances by push, once each, in order");
    }
    my $last = check_stored($name, $conv, \%res, $k);
    check_devices($name, \@dev, $last);

    # stop the second instance; its log has no crash or alert
    my ($gone, $log) = node_stop($dir);
    ok($gone, "$name: second instance stopped");
    unlike($log, qr/\[alert\]|\[emerg\]|exited on signal|exited with code [1-9]|AddressSanitizer|Can't open file/,
           "$name: no crash or alert in the second instance's log");
}

# no worker died other than the one we killed (an ASAN abort exits with 1)
my @bad = grep { /exited with code [1-9]|exited on signal (?!9$)|AddressSanitizer|Can't open file/ }
          split /\n/, error_log_since($log_mark);
is_deeply(\@bad, [], 'no nginx worker crashed or exited with an error');
cmp_ok(time - $t_start, '<', 90, 'the whole file ran in under 90 s');
done_testing;
