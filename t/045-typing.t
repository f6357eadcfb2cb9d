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

my $mark = error_log_mark();
my ($ua, $ub, $uc, $ud) = map { new_user() } 1 .. 4;
my $dm = new_conv($ua, kind => 'direct', user_id => $ub->{id});
my $g = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('g'), user_ids => [$ub->{id}, $uc->{id}]);

my @aws = map { scalar ws_auth($ua->{token}) } 1 .. 2;
my @bws = map { scalar ws_auth($ub->{token}) } 1 .. 2;
my ($cws) = ws_auth($uc->{token});
my ($dws) = ws_auth($ud->{token});
sub typing_on {
    my ($c, $conv, $uid, $name) = @_;
    my $e = ws_json($c, 5);
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

# --- back-pressure: a device that reads slowly gets no typing event once
# its queue in nginx is half full (512 KiB), but every message; the others
# get it.  The kernel buffers a few MiB first: push 100 KiB forwards until
# the server socket's send queue stops growing, then 7 more (~700 KiB
# queued in nginx, below the 1 MiB that closes the connection).
my ($slow) = ws_auth($ub->{token}, rcvbuf => 4096);
my $slow_port = $slow->{sock}->sockport;
sub kernel_sendq {
    my ($line) = grep { /:$slow_port\s*$/ } split /\n/, `ss -tnH state established '( dport = :$slow_port )'`;
    return $line && $line =~ /^\s*\d+\s+(\d+)/ ? $1 : -1;
}
my $bp = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('bp'), user_ids => [$ub->{id}]);
my $long = new_conv($ua, kind => 'direct', user_id => $uc->{id});
my @long = map { my (undef, $m) = send_text($ua, $long, ('x' x 4990) . " $_"); $m->{message}{seq} } 1 .. 20;
ws_json($_, 5) for @aws, @bws;     # the creation of $bp
for my $i (1 .. 20) { ws_json($_, 5) for @aws }
my (@fw, $full);
my $push = sub {
    my ($fst, $fj) = api(POST => "/conversations/$bp/forward",
        { client_msg_id => Youdu::Test::uniq('bp'), from_conv_id => $long, seqs => \@long }, token => $ua->{token});
    push @fw, $fj->{message}{seq} if $fst == 201;
    ws_json($_, 5) for @aws, @bws;
    return $fst == 201;
};
ok(kernel_sendq() >= 0, 'back-pressure: the slow connection is seen by ss');
for my $i (1 .. 100) {
    my $q0 = kernel_sendq();
    $push->() or last;
    sleep 0.1;
    if (kernel_sendq() - $q0 < 30000) { $full = $i; last }
}
ok($full, "back-pressure: the kernel buffers are full after $full forwards of 100 KiB");
my $pushed = 0;
$push->() && $pushed++ for 1 .. 7;
is($pushed, 7, 'back-pressure: 7 more forwards');
json_ok('A types while the slow device is behind', POST => "/conversations/$bp/typing", undef,
        token => $ua->{token});
typing_on($_, $bp, $ua->{id}, 'back-pressure: a device that keeps up gets it') for @bws;
my @got;
while (my $f = ws_json($slow, 2)) { push @got, $f }
is_deeply([ map { $_->{seq} } grep { $_->{type} eq 'message' && $_->{conv_id} == $bp && $_->{kind} == 5 } @got ],
          \@fw, 'back-pressure: the slow device gets every message, in order (' . scalar(@fw) . ')');
is(scalar(grep { $_->{type} eq 'typing' } @got), 0, 'back-pressure: but not the typing event');
ok(!$slow->{close}, 'back-pressure: and it was not closed');
redis_cli('DEL', "yd:typing:$bp:$ua->{id}");
json_ok('A types again once it caught up', POST => "/conversations/$bp/typing", undef, token => $ua->{token});
typing_on($slow, $bp, $ua->{id}, 'back-pressure: the caught-up device gets typing again');

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
