# End to end: a message sent over REST reaches the recipients' open
# WebSocket connections (every device, any worker) exactly once, in seq order,
# and what was pushed is what the sync API returns.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Msg;
use Youdu::WS;

my $a = new_user(name => '张三');
my $b = new_user(name => '李四');
my $c = new_user(name => '王五');

# B on two devices, C on one; several connections so both workers get some
my @b = map { scalar ws_auth($b->{token}) } 1 .. 3;
my ($c1) = ws_auth($c->{token});

my $direct = new_conv($a, kind => 'direct', user_id => $b->{id});
my @seqs;
for my $i (1 .. 5) {
    my ($st, $j) = send_text($a, $direct, "你好 $i");
    is($st, 201, "message $i stored and acknowledged");
    push @seqs, $j->{message}{seq};
}
is_deeply(\@seqs, [1 .. 5], 'seqs 1..5 without gaps');

for my $k (0 .. $#b) {
    my @got;
    while (@got < 5) {
        my $e = ws_json($b[$k], 5) or last;
        push @got, $e if $e->{type} eq 'message' && $e->{conv_id} == $direct;
    }
    is_deeply([ map { $_->{seq} } @got ], [1 .. 5], "B's connection $k got every message once, in order");
    is($got[0]{body}{text}, '你好 1', "connection $k: the text arrives intact (UTF-8)");
    ok(ws_expect_nothing($b[$k], 0.5), "connection $k: no duplicates");
}
ok(ws_expect_nothing($c1, 0.5), 'a non-member receives nothing');

# what was pushed is what sync returns
my $sync = json_ok('sync after 0', GET => "/conversations/$direct/messages?after=0", undef,
                   token => $b->{token});
is_deeply([ map { $_->{seq} } @{ $sync->{messages} } ], [1 .. 5], 'sync returns the same seqs');
is($sync->{messages}[4]{body}{text}, '你好 5', 'and the same content');

# a group: every member's connection gets the creation event and the message
my $group = new_conv($a, kind => 'group', name => '项目组', user_ids => [$b->{id}, $c->{id}]);
my ($st, $j) = send_text($a, $group, '大家好');
is($st, 201, 'group message stored');
for my $conn ($b[0], $c1) {
    my @got;
    while (my $e = ws_json($conn, 5)) {
        push @got, $e if ($e->{conv_id} // 0) == $group;
        last if @got == 2;
    }
    is_deeply([ map { $_->{seq} } @got ], [1, 2], 'group: creation event then the message');
    is($got[1]{body}{text}, '大家好', 'group message text');
}

# read marks reach the sender's devices
my ($a1) = ws_auth($a->{token});
json_ok('B reads the direct chat', POST => "/conversations/$direct/read", { seq => 5 },
        token => $b->{token});
my $r;
while (my $e = ws_json($a1, 5)) { if ($e->{type} eq 'read') { $r = $e; last } }
ok($r && $r->{conv_id} == $direct && $r->{user_id} == $b->{id} && $r->{seq} == 5,
   'the sender sees the read mark');

# a reconnect loses nothing: messages sent while away come back through sync
$_->{sock}->close for @b;
my @away = map { (send_text($a, $direct, "离线 $_"))[1]{message}{seq} } 1 .. 3;
is_deeply(\@away, [6, 7, 8], 'three messages while B is offline');
my ($b2) = ws_auth($b->{token});
my $catch = json_ok('catch-up by sync', GET => "/conversations/$direct/messages?after=5", undef,
                    token => $b->{token});
is_deeply([ map { $_->{seq} } @{ $catch->{messages} } ], [6, 7, 8], 'sync returns exactly what was missed');
send_text($a, $direct, '又在线了');
my $e;
while ($e = ws_json($b2, 5)) { last if $e->{type} eq 'message' }
is($e && $e->{seq}, 9, 'live delivery resumes on the new connection');

# an org change made by an administrator reaches every online client within
# a second, with the version the change feed then serves
{
    use Time::HiRes qw(time);
    my @on = ($b2, $c1);
    ws_json($_, 0.2) for @on;    # drain
    my $t0 = time;
    my $d = json_ok('admin creates a department', POST => '/admin/departments',
                    { name => '新部门 ' . int(rand 1e6), parent_id => 0 }, token => admin_token());
    my $v = json_ok('org version', GET => '/org/version', undef, token => $c->{token})->{version};
    for my $conn (@on) {
        my $o;
        while ($o = ws_json($conn, 2)) { last if $o->{type} eq 'org' }
        is($o && $o->{version}, $v, "org event with the new version $v");
        ok(time - $t0 < 1, sprintf('within a second of the write (%.0f ms)', (time - $t0) * 1000));
    }
    my $ch = json_ok('change feed', GET => '/org/changes?since=' . ($v - 1), undef, token => $c->{token});
    is($ch->{departments}[0]{name}, $d->{department}{name}, 'the change feed has the new department');
}

done_testing;
