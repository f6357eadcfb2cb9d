# Typing indicator: reaches the other members' devices over the push
# channel, never the typist's own devices or outsiders; nothing stored; one
# notice per user and conversation every 3 s; members only; big groups are
# ignored; Redis down is a clear 503/50301.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Youdu::Test;
use Youdu::Msg;
use Youdu::WS;
use Youdu::TCP;
use IO::Socket::INET;

my $mark = error_log_mark();
my ($ua, $ub, $uc, $ud) = map { new_user() } 1 .. 4;
my $dm = new_conv($ua, kind => 'direct', user_id => $ub->{id});
my $g = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('g'), user_ids => [$ub->{id}, $uc->{id}]);

my @aws = map { scalar ws_auth($ua->{token}) } 1 .. 2;
my @bws = map { scalar ws_auth($ub->{token}) } 1 .. 2;
my ($cws) = ws_auth($uc->{token});
my ($dws) = ws_auth($ud->{token});
my ($btcp) = tcp_auth($ub->{token});
sub typing_on {
    my ($c, $conv, $uid, $name) = @_;
    my $e = ws_json($c, 5);
    $e = ws_json($c, 5) while $e && $e->{type} eq 'pong';
    is_deeply($e, { type => 'typing', conv_id => $conv + 0, user_id => $uid + 0 }, $name)
        or diag(explain($e));
}
sub quiet { my ($name, $t, @c) = @_; ok(ws_expect_nothing($_, $t), $name) for @c }

# --- 1:1: the peer's devices, not A's own, not others
my $before = msg_state();
my $l = push_listen();
my $j = json_ok('typing in a direct chat', POST => "/conversations/$dm/typing", undef, token => $ua->{token});
ok($j->{sent}, 'sent');
typing_on($_, $dm, $ua->{id}, "B's device gets the typing event") for @bws;
is_deeply(tcp_json($btcp, 5), { type => 'typing', conv_id => $dm + 0, user_id => $ua->{id} + 0 },
          "B's raw TCP device gets it too");
close $btcp->{sock};
quiet('nothing to A, C or an outsider', 0.5, @aws, $cws, $dws);
my @n = grep { ($_->{t} // '') eq 'typing' } push_collect($l, wait => 0.3);
is(scalar @n, 1, 'one notice on yd:push');
is_deeply($n[0], { t => 'typing', conv => $dm + 0, to => [$ub->{id} + 0],
                   ev => { type => 'typing', conv_id => $dm + 0, user_id => $ua->{id} + 0 } },
          'the notice: {"t":"typing","conv","to":[others],"ev"}');
is(msg_state(), $before, 'nothing stored');

# --- rate limit: one notice per 3 s per user and conversation
my $t0 = time;
$j = json_ok('typing again at once', POST => "/conversations/$dm/typing", undef, token => $ua->{token});
ok(!$j->{sent}, 'rate limited: answered ok, not sent');
my $pttl = redis_cli('PTTL', "yd:typing:$dm:$ua->{id}");
$pttl =~ s/\s+//g;
ok($pttl > 0 && $pttl <= 3000, "the limit key expires within 3 s ($pttl ms)");
$j = json_ok('B types meanwhile', POST => "/conversations/$dm/typing", undef, token => $ub->{token});
ok($j->{sent}, 'the limit is per user');
typing_on($_, $dm, $ub->{id}, "A's device gets B typing") for @aws;
quiet('A typing twice: B got nothing more', 0.3, @bws);
$j = json_ok('A types in the group', POST => "/conversations/$g/typing", undef, token => $ua->{token});
ok($j->{sent}, 'the limit is per conversation');
typing_on($_, $g, $ua->{id}, 'group: the other members get it') for $bws[0], $bws[1], $cws;
quiet('group: not A, not an outsider', 0.3, @aws, $dws);
sleep(3.2 - (time - $t0)) if time - $t0 < 3.2;
$j = json_ok('after 3 s', POST => "/conversations/$dm/typing", undef, token => $ua->{token});
ok($j->{sent}, 'after 3 s: sent again');
typing_on($_, $dm, $ua->{id}, 'after 3 s: B gets it again') for @bws;

# --- who may
json_err('an outsider', 404, 40401, POST => "/conversations/$g/typing", undef, token => $ud->{token});
json_err('no such conversation', 404, 40401, POST => '/conversations/987654321/typing', undef,
         token => $ua->{token});
json_err('bad id', 404, 40401, POST => '/conversations/x/typing', undef, token => $ua->{token});
json_err('no token', 401, 40100, POST => "/conversations/$g/typing", undef);
json_err('GET', 405, 40500, GET => "/conversations/$g/typing", undef, token => $ua->{token});
json_err('malformed body', 400, 40001, POST => "/conversations/$g/typing", undef, raw => '{"x":',
         token => $ua->{token});
json_ok('C leaves', DELETE => "/conversations/$g/members/$uc->{id}", undef, token => $uc->{token});
my $e = ws_json($bws[0], 5);
is($e && $e->{kind}, 6, 'B sees C leave');
ws_json($_, 5) for $bws[1], $aws[0], $aws[1], $cws;
json_err('a member who left', 403, 40300, POST => "/conversations/$g/typing", undef, token => $uc->{token});
quiet('nobody got anything from refused calls', 0.3, @aws, @bws, $cws, $dws);

# B types in the group: A only now
json_ok('B types in the group', POST => "/conversations/$g/typing", undef, token => $ub->{token});
typing_on($_, $g, $ub->{id}, 'A gets it') for @aws;
quiet('C, who left, does not', 0.3, $cws);

# --- a group over 100 members: ignored
my $big = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('big'), user_ids => [$ub->{id}]);
ws_json($_, 5) for @aws, @bws;
sql("UPDATE conversations SET member_count = 101 WHERE id = $big");
$j = json_ok('typing in a group of 101', POST => "/conversations/$big/typing", undef, token => $ua->{token});
ok(!$j->{sent}, 'big group: not sent');
quiet('big group: nobody gets it', 0.5, @bws);
sql("UPDATE conversations SET member_count = 100 WHERE id = $big");
$j = json_ok('typing in a group of 100', POST => "/conversations/$big/typing", undef, token => $ua->{token});
ok($j->{sent}, 'a group of 100: sent');
typing_on($_, $big, $ua->{id}, 'a group of 100: B gets it') for @bws;

# --- back-pressure in the push bus: a device that reads slowly gets no
# typing notice once its queue in nginx is half full (512 KiB), but every
# message; a device that keeps up gets it.  The kernel buffers a few MiB
# first: publish 100 KB notices on yd:push until the server socket's send
# queue stops growing, then more (~800 KB and 158 frames queued in nginx,
# below the 1 MiB and 256 frames that close the connection).
ws_raw($_, "\x88\x80\0\0\0\0") for @aws, @bws, $cws, $dws;
my ($slow) = ws_auth($ub->{token});
my ($brd) = ws_auth($ub->{token});
my $slow_port = $slow->{sock}->sockport;
sub kernel_sendq {
    my ($line) = grep { /:$slow_port\s*$/ } split /\n/, `ss -tnH state established '( dport = :$slow_port )'`;
    return $line && $line =~ /^\s*\d+\s+(\d+)/ ? $1 : -1;
}
my $rs = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_YOUDU_REDIS_PORT}, Proto => 'tcp')
    or die "redis: $!";
sub publish {
    my ($notice) = @_;
    my $p = $JSON->encode($notice);
    print $rs "*3\r\n\$7\r\nPUBLISH\r\n\$7\r\nyd:push\r\n\$" . length($p) . "\r\n$p\r\n";
    my $r = <$rs>;
    return $r =~ /^:(\d+)/ ? $1 : -1;
}
my $pad = 'x' x 100_000;
# the raw text of the next text frame: decoding 100 KB with JSON::PP is slow
sub next_text {
    my ($c, $t) = @_;
    while (my $f = ws_recv($c, $t)) {
        return undef if $f->{eof};
        if ($f->{op} == 8) { $c->{close} = $f; return undef }
        return $f->{data} if $f->{op} == 1;
    }
    return undef;
}
my $n_msg = 0;
my $big_notice = sub {
    $n_msg++;
    publish({ t => 'msg', conv => $dm + 0, seq => $n_msg, to => [$ub->{id} + 0],
              ev => { type => 'message', conv_id => $dm + 0, seq => $n_msg, pad => $pad } });
    my $f = next_text($brd, 5);
    return $f && $f =~ /"seq":$n_msg\b/;
};
my $typing_notice = { t => 'typing', conv => $dm + 0, to => [$ub->{id} + 0],
                      ev => { type => 'typing', conv_id => $dm + 0, user_id => $ua->{id} + 0 } };
ok(kernel_sendq() >= 0, 'back-pressure: the slow connection is seen by ss');
# full: the kernel holds over 500 KB and took neither of two notices in a row
# (both queued in nginx); then 6 more: 8 frames, ~800 KB
my ($full, $stuck, $all_ok) = (undef, 0, 1);
for my $i (1 .. 100) {
    my $q0 = kernel_sendq();
    $big_notice->() or $all_ok = 0;
    my $t = time;
    sleep 0.02 while kernel_sendq() - $q0 < 30000 && time - $t < 2;
    $stuck = (kernel_sendq() - $q0 < 30000 && $q0 > 500_000) ? $stuck + 1 : 0;
    next unless $stuck == 2;
    # a worker that was only late would deliver now
    my $q1 = kernel_sendq();
    sleep 1.5;
    if (kernel_sendq() == $q1) { $full = $i; last }
    $stuck = 0;
}
ok($full, 'back-pressure: the kernel buffers are full after ' . ($full // 'no') . ' notices of 100 KB');
$big_notice->() or $all_ok = 0 for 1 .. 6;
# and 150 small ones: 150 frames queued behind ~800 KB are past the half of
# the 256-frame limit however much the kernel buffers grow meanwhile
my $small_notice = sub {
    $n_msg++;
    publish({ t => 'msg', conv => $dm + 0, seq => $n_msg, to => [$ub->{id} + 0],
              ev => { type => 'message', conv_id => $dm + 0, seq => $n_msg } });
    my $f = next_text($brd, 5);
    return $f && $f =~ /"seq":$n_msg\b/;
};
$small_notice->() or $all_ok = 0 for 1 .. 150;
ok($all_ok, 'back-pressure: the device that keeps up got every notice');
publish($typing_notice);
typing_on($brd, $dm, $ua->{id}, 'back-pressure: the device that keeps up gets typing');
# the server drops a client silent for 60 s: say we are alive
ws_send($slow, '{"type":"ack","conv_id":1,"seq":1}');
my @got;
my $until = time + 30;
while (@got < $n_msg && time < $until) { my $f = next_text($slow, 5) // last; push @got, $f }
# a typing frame, if it were queued, would come right after them
push @got, 'unexpected' unless ws_expect_nothing($slow, 1);
is_deeply([ map { /"type":"message"/ && /"seq":(\d+)/ ? $1 : () } @got ], [1 .. $n_msg],
          "back-pressure: the slow device gets every message, in order ($n_msg)");
is(scalar(grep { /"type":"typing"|unexpected/ } @got), 0, 'back-pressure: but not the typing notice');
ok(!$slow->{close} && kernel_sendq() >= 0, 'back-pressure: and it was not closed')
    or diag('close frame: ' . ($slow->{close} ? join(' ', unpack('n', $slow->{close}{data}), substr($slow->{close}{data}, 2)) : 'none')
            . ', last frame: ' . substr($got[-1] // '', 0, 80) . ', kernel: ' . kernel_sendq()
            . ', time ' . time);
publish($typing_notice);
typing_on($slow, $dm, $ua->{id}, 'back-pressure: once caught up, the slow device gets typing again');
close $rs;

# --- Redis down: a clear temporary error, then back to normal
sub service {
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    is(system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @_, @asan), 0, "service @_");
}
service('stop', 'redis');
my ($st, $r) = api(POST => "/conversations/$g/typing", undef, token => $ub->{token});
is($st, 503, 'Redis down: 503');
is($r && $r->{errcode}, 50301, 'Redis down: 50301');
like($r && $r->{errmsg} // '', qr/try again/, 'Redis down: says to try again');
service('start', 'redis');
my $ok = 0;
for (1 .. 75) {
    ($st, $r) = api(POST => "/conversations/$g/typing", undef, token => $ub->{token});
    if ($st == 200 && $r->{sent}) { $ok = 1; last }
    sleep 0.2;
}
ok($ok, 'typing works again once Redis is back');

unlike(error_log_since($mark), qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');
done_testing;
