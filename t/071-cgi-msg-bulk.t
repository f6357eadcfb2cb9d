#!/usr/bin/perl
# /cgi/msg/send to the whole company (toDept "0"): 2,000 users created
# by SQL (YOUDU_BULK_USERS overrides; bench/RESULTS.md has 5,000+).  Every
# enabled user gets exactly one card in his app conversation, the push
# reaches a connected user, and the server keeps answering meanwhile
# (batched transactions, nothing blocks the event loop).

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use HTTP::Tiny;
use Time::HiRes qw(time sleep);
use POSIX qw(WNOHANG);
use Youdu::Test;
use Youdu::Cgi;
use Youdu::WS;
use Youdu::AppMsg;

my $N = $ENV{YOUDU_BULK_USERS} // 2000;
my $tag = uniq('bk');
my $dept = create_dept(name => uniq('Bulk'));

# N users by SQL (no password: they need not sign in), in one department
sql("INSERT INTO users (account, name) SELECT CONCAT('$tag-', seq), CONCAT('Bulk ', seq) FROM seq_1_to_$N");
sql("INSERT INTO user_depts (user_id, dept_id) SELECT id, $dept FROM users WHERE account LIKE '$tag-%'");
is(sql("SELECT COUNT(*) FROM users WHERE account LIKE '$tag-%'"), $N, "$N users");

my $watcher = mk_user();
my $ws = ws_auth($watcher->{token});
my $app = cgi_app(name => 'Company news ' . uniq('n'));
my $enabled = sql("SELECT COUNT(*) FROM users WHERE enable_state = 1");
ok($enabled > $N, "$enabled enabled users in all");

# the send in a child; meanwhile the parent measures how fast a cheap
# request is answered
my $token = cgi_token($app);
my $t0 = time;
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    my ($code, undef, $j) = cgi_call($app, '/msg/send',
        { toUser => '', toDept => '0', msgType => 'text', text => { content => 'All hands at 10:00' } },
        token => $token);
    POSIX::_exit($code == 0 ? 0 : 1);
}
my $http = HTTP::Tiny->new(timeout => 30);
my ($worst, $probes) = (0, 0);
while (waitpid($pid, WNOHANG) == 0) {
    my $s = time;
    my $r = $http->get("$URL/api/v1/presence?user_ids=$watcher->{id}",
                       { headers => { Authorization => "Bearer $watcher->{token}" } });
    my $d = time - $s;
    $worst = $d if $d > $worst && $r->{status} == 200;
    $probes++;
    sleep 0.05;
}
my $rc = $? >> 8;
my $secs = time - $t0;
is($rc, 0, 'the send to toDept "0" succeeded');
diag(sprintf('%d enabled users: %.2f s, worst probe %.0f ms over %d probes', $enabled, $secs, $worst * 1000, $probes));
ok($secs < 300, 'it completed in the test (generous limit)');
ok($worst < 5, 'other requests were answered meanwhile (worst ' . int($worst * 1000) . ' ms)');

is(sql("SELECT COUNT(*) FROM conversations WHERE app_pk = $app->{pk} AND kind = 4"), $enabled,
   'one app conversation per enabled user');
is(card_count($app), $enabled, 'one card each');
is(sql("SELECT COUNT(DISTINCT cm.user_id) FROM conversations c JOIN conversation_members cm ON cm.conv_id = c.id "
     . "WHERE c.app_pk = $app->{pk}"), $enabled, 'each user the member of his own');
is(sql("SELECT COUNT(*) FROM conversations c JOIN conversation_members cm ON cm.conv_id = c.id "
     . "WHERE c.app_pk = $app->{pk} AND c.direct_key <> CONCAT('app:', c.app_pk, ':', cm.user_id)"), 0,
   'and the conversation is keyed by that user');
is(sql("SELECT COUNT(*) FROM conversations c JOIN messages m ON m.conv_id = c.id AND m.seq = 1 "
     . "WHERE c.app_pk = $app->{pk} AND c.last_seq = 1 AND m.kind = 4 AND m.sender_id IS NULL"), $enabled,
   'every card is seq 1 of its conversation');
is(sql("SELECT COUNT(*) FROM users u WHERE u.account LIKE '$tag-%' AND NOT EXISTS (SELECT 1 FROM conversations c "
     . "WHERE c.direct_key = CONCAT('app:', $app->{pk}, ':', u.id))"), 0, 'no bulk user was missed');

my $e;
while ($e = ws_json($ws, 10)) { last if $e->{type} eq 'message' }
is($e && $e->{body}{text}{content}, 'All hands at 10:00', 'a connected user got the push');
my (undef, $m) = app_inbox($watcher, $app);
is(scalar @$m, 1, 'and sees the card over REST');

# a second company-wide send bumps every existing conversation
cgi_ok('a second send to everybody', $app, '/msg/send',
       { toDept => '0', msgType => 'text', text => { content => 'Reminder' } });
is(sql("SELECT COUNT(*) FROM conversations WHERE app_pk = $app->{pk} AND last_seq = 2"), $enabled,
   'every conversation reused, at seq 2');
is(card_count($app), 2 * $enabled, 'two cards each');

# concurrent sends of one app to the same users, whose conversations do
# not exist yet: each user ends with one conversation holding every card
my $racer = cgi_app(name => 'Racer ' . uniq('r'));
my @tokens = map { cgi_token($racer) } 1 .. 4;
my @pids;
for my $k (0 .. 3) {
    my $p = fork // die "fork: $!";
    if ($p == 0) {
        my ($code) = cgi_call($racer, '/msg/send',
            { toDept => "$dept", msgType => 'text', text => { content => "race $k" } }, token => $tokens[$k]);
        POSIX::_exit($code == 0 ? 0 : 1);
    }
    push @pids, $p;
}
my @rcs = map { waitpid($_, 0); $? >> 8 } @pids;
is_deeply(\@rcs, [0, 0, 0, 0], 'four concurrent sends to the same new users all succeed');
is(sql("SELECT COUNT(*) FROM conversations WHERE app_pk = $racer->{pk}"), $N, 'one conversation per user');
is(sql("SELECT COUNT(*) FROM conversations WHERE app_pk = $racer->{pk} AND last_seq = 4"), $N, 'holding four cards each');
is(card_count($racer), 4 * $N, 'no card lost or doubled');
sql("DELETE FROM conversations WHERE app_pk = $racer->{pk}");

# clean up the bulk users so later tests see a normal-sized company
sql("DELETE FROM conversations WHERE app_pk = $app->{pk}");
sql("DELETE FROM users WHERE account LIKE '$tag-%'");

done_testing();
