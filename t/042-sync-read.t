# Sync and history paging, visibility for joiners and leavers, read marks,
# unread counts, read receipts and the read notice.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Msg;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my ($ua, $ub, $uc, $ud, $ue) = map { new_user() } 1 .. 5;
my ($st, $j, $before);
sub unchanged { my ($b4, $name) = @_; is(msg_state(), $b4, "$name: nothing was written") }

my $g = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('g'), user_ids => [$ub->{id}, $uc->{id}]);
my $path = "/conversations/$g/messages";
send_text($ua, $g, "m$_") for 2 .. 11;     # seq 2..11

# --- sync after
$j = json_ok('sync: everything', GET => $path, undef, token => $ub->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [1 .. 11], 'sync: from the start, in order');
ok(!$j->{has_more}, 'sync: no more');
is($j->{last_seq}, 11, 'sync: last_seq');
is($j->{messages}[0]{kind}, 6, 'sync: the creation event first');
is($j->{messages}[5]{body}{text}, 'm6', 'sync: bodies');
$j = json_ok('sync: after 4, limit 3', GET => "$path?after=4&limit=3", undef, token => $ub->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [5, 6, 7], 'sync: the next page');
ok($j->{has_more}, 'sync: has_more');
$j = json_ok('sync: after 7, limit 4', GET => "$path?after=7&limit=4", undef, token => $ub->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [8 .. 11], 'sync: the last page');
ok(!$j->{has_more}, 'sync: the end');
$j = json_ok('sync: after the end', GET => "$path?after=11", undef, token => $ub->{token});
is_deeply($j->{messages}, [], 'sync: nothing new');

# --- history before
$j = json_ok('history: before 11, limit 3', GET => "$path?before=11&limit=3", undef, token => $ub->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [8, 9, 10], 'history: ascending order');
ok($j->{has_more}, 'history: more before');
$j = json_ok('history: before 3', GET => "$path?before=3&limit=10", undef, token => $ub->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [1, 2], 'history: the beginning');
ok(!$j->{has_more}, 'history: nothing before');

# --- bad queries
json_err('sync: both after and before', 400, 40008, GET => "$path?after=1&before=5", undef, token => $ub->{token});
json_err('sync: after negative', 400, 40008, GET => "$path?after=-1", undef, token => $ub->{token});
json_err('sync: after not a number', 400, 40008, GET => "$path?after=abc", undef, token => $ub->{token});
json_err('sync: before 0', 400, 40008, GET => "$path?before=0", undef, token => $ub->{token});
json_err('sync: limit 0', 400, 40008, GET => "$path?limit=0", undef, token => $ub->{token});
json_err('sync: limit 501', 400, 40008, GET => "$path?limit=501", undef, token => $ub->{token});
json_err('sync: outsider', 404, 40401, GET => $path, undef, token => $ud->{token});
json_err('sync: no token', 401, 40100, GET => $path);
json_err('sync: no such conversation', 404, 40401, GET => '/conversations/999999999/messages', undef,
         token => $ub->{token});

# --- a new member sees from his joined_seq on; a leaver up to his leave
$j = json_ok('add d', POST => "/conversations/$g/members", { user_ids => [$ud->{id}] }, token => $ua->{token});
my $joined = $j->{message}{seq};
send_text($ua, $g, 'after d joined');
$j = json_ok('joiner: sync', GET => $path, undef, token => $ud->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [$joined, $joined + 1], 'joiner: from the join event on');
is($j->{messages}[0]{body}{event}, 'member_added', 'joiner: sees his own addition');
$j = json_ok('joiner: history', GET => "$path?before=$joined", undef, token => $ud->{token});
is_deeply($j->{messages}, [], 'joiner: no earlier history');
json_err('joiner: cannot quote earlier messages', 404, 40401, POST => $path,
         { client_msg_id => 'q1', kind => 'text', text => 'x', quote_seq => 5 }, token => $ud->{token});
$j = json_ok('list: joiner unread', GET => '/conversations', undef, token => $ud->{token});
my ($lg) = grep { $_->{id} == $g } @{ $j->{conversations} };
is($lg->{unread}, 2, 'joiner: unread counts from the join');

$j = json_ok('c leaves', DELETE => "/conversations/$g/members/$uc->{id}", undef, token => $uc->{token});
my $left = $j->{message}{seq};
send_text($ua, $g, 'after c left');
$j = json_ok('leaver: sync', GET => "$path?after=" . ($left - 2), undef, token => $uc->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [$left - 1, $left], 'leaver: up to his leave event');
is($j->{last_seq}, $left, 'leaver: last_seq stops at his leave');
$before = msg_state();
json_err('leaver: cannot send', 403, 40300, POST => $path, { client_msg_id => 'l1', kind => 'text', text => 'x' },
         token => $uc->{token});
json_err('leaver: cannot mark read', 403, 40300, POST => "/conversations/$g/read", { seq => 1 },
         token => $uc->{token});
unchanged($before, 'leaver writes');

# --- read marks
my $last = db("SELECT last_seq FROM conversations WHERE id = $g");
$before = msg_state();
json_err('read: seq missing', 400, 40004, POST => "/conversations/$g/read", {}, token => $ub->{token});
json_err('read: seq string', 400, 40003, POST => "/conversations/$g/read", { seq => '5' }, token => $ub->{token});
json_err('read: seq negative', 400, 40006, POST => "/conversations/$g/read", { seq => -1 }, token => $ub->{token});
json_err('read: malformed', 400, 40001, POST => "/conversations/$g/read", undef, raw => '{', token => $ub->{token});
json_err('read: outsider', 404, 40401, POST => "/conversations/$g/read", { seq => 1 }, token => $ue->{token});
unchanged($before, 'refused read marks');
my $l = push_listen();
$j = json_ok('read: up to 5', POST => "/conversations/$g/read", { seq => 5 }, token => $ub->{token});
my @notices = push_collect($l);
is($j->{last_read_seq}, 5, 'read: last_read_seq');
is($j->{unread}, $last - 5, 'read: unread');
my ($n) = grep { $_->{t} eq 'read' && $_->{conv} == $g } @notices;
ok($n, 'read: notice published');
is_deeply($n->{ev}, { type => 'read', conv_id => $g, user_id => $ub->{id}, seq => 5 }, 'read: notice event');
is_deeply([sort { $a <=> $b } @{ $n->{to} }], [sort { $a <=> $b } $ua->{id}, $ub->{id}, $ud->{id}],
          'read: notice to the current members');
$j = json_ok('read: backwards is ignored', POST => "/conversations/$g/read", { seq => 3 }, token => $ub->{token});
is($j->{last_read_seq}, 5, 'read: never moves back');
$j = json_ok('read: beyond the end', POST => "/conversations/$g/read", { seq => 999999 }, token => $ub->{token});
is($j->{last_read_seq}, $last, 'read: capped at last_seq');
is($j->{unread}, 0, 'read: nothing unread');
is(db("SELECT last_read_seq FROM conversation_members WHERE conv_id = $g AND user_id = $ub->{id}"), $last,
   'read: stored');
$j = json_ok('list: unread', GET => '/conversations', undef, token => $ub->{token});
($lg) = grep { $_->{id} == $g } @{ $j->{conversations} };
is($lg->{unread}, 0, 'list: unread 0 after reading');
send_text($ua, $g, 'one more');
send_text($ua, $g, 'and another');
$j = json_ok('list: unread again', GET => '/conversations', undef, token => $ub->{token});
($lg) = grep { $_->{id} == $g } @{ $j->{conversations} };
is($lg->{unread}, 2, 'list: two new messages unread');
is($lg->{last_message}{preview}, 'and another', 'list: last message preview');
is($lg->{last_message}{sender_id}, $ua->{id}, 'list: last message sender');

# --- read receipts: the sender only
($st, $j) = send_text($ua, $g, 'who read this?');
my $rs = $j->{message}{seq};
json_ok('b reads it', POST => "/conversations/$g/read", { seq => $rs }, token => $ub->{token});
$j = json_ok('reads: sender', GET => "$path/$rs/reads", undef, token => $ua->{token});
is_deeply($j->{read}, [{ user_id => $ub->{id}, name => $ub->{name} }], 'reads: b read it');
is_deeply($j->{unread}, [{ user_id => $ud->{id}, name => $ud->{name} }], 'reads: d did not (c left)');
is($j->{read_count}, 1, 'reads: read_count');
is($j->{member_count}, 2, 'reads: member_count without the sender');
json_err('reads: not the sender', 403, 40300, GET => "$path/$rs/reads", undef, token => $ub->{token});
json_err('reads: no such message', 404, 40401, GET => "$path/99999/reads", undef, token => $ua->{token});
json_err('reads: outsider', 404, 40401, GET => "$path/$rs/reads", undef, token => $ue->{token});
json_err('reads: bad seq', 404, 40401, GET => "$path/abc/reads", undef, token => $ua->{token});

# --- direct: unread for the peer, and read
my $dm = new_conv($ua, kind => 'direct', user_id => $ue->{id});
send_text($ua, $dm, 'hello e');
$j = json_ok('direct list', GET => '/conversations', undef, token => $ue->{token});
my ($ld) = grep { $_->{id} == $dm } @{ $j->{conversations} };
is($ld->{unread}, 1, 'direct: one unread');
is($ld->{last_message}{preview}, 'hello e', 'direct: preview');
$j = json_ok('direct sync', GET => "/conversations/$dm/messages?after=0", undef, token => $ue->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [1], 'direct: seq 1 is the first message');

# --- the default page is 100 events, the maximum 500
my $big = new_conv($ua, kind => 'multi', user_ids => [$ub->{id}]);
my @r = concurrent_post("/conversations/$big/messages", [ map { [ $ua->{token},
    { client_msg_id => "page-$$-$_", kind => 'text', text => "p$_" } ] } 1 .. 120 ]);
is(scalar(grep { $_->{status} == 201 } @r), 120, 'paging: 120 sent');
$j = json_ok('paging: default limit', GET => "/conversations/$big/messages", undef, token => $ub->{token});
is(scalar @{ $j->{messages} }, 100, 'paging: 100 by default');
ok($j->{has_more}, 'paging: has_more');
is($j->{messages}[-1]{seq}, 100, 'paging: up to seq 100');
$j = json_ok('paging: the rest', GET => "/conversations/$big/messages?after=100&limit=500", undef,
             token => $ub->{token});
is_deeply([map { $_->{seq} } @{ $j->{messages} }], [101 .. 121], 'paging: the rest in order');
ok(!$j->{has_more}, 'paging: done');
is($j->{last_seq}, 121, 'paging: last_seq');

# --- a page ends early past 2 MiB of message bodies (big messages, forwards)
{
    my $heavy = new_conv($ua, kind => 'multi', user_ids => [$ub->{id}]);
    my $text = '长' x 5000;    # 15,000 bytes of UTF-8
    my @h = concurrent_post("/conversations/$heavy/messages", [ map { [ $ua->{token},
        { client_msg_id => "heavy-$$-$_", kind => 'text', text => $text } ] } 1 .. 200 ]);
    is(scalar(grep { $_->{status} == 201 } @h), 200, 'byte cap: 200 messages of 15 KB sent');
    my ($after, @seqs, $pages, $largest) = (0);
    while (1) {
        my ($st2, $p, $raw) = api(GET => "/conversations/$heavy/messages?after=$after&limit=500",
                                  undef, token => $ub->{token});
        last unless $st2 == 200 && @{ $p->{messages} };
        $pages++;
        $largest = length $raw if !$largest || length $raw > $largest;
        push @seqs, map { $_->{seq} } @{ $p->{messages} };
        $after = $p->{messages}[-1]{seq};
        last unless $p->{has_more};
        last if $pages > 10;
    }
    ok($pages >= 2, "byte cap: 3 MB of messages came in $pages pages, not one");
    ok($largest < 2.5 * 1024 * 1024, "byte cap: the largest page is $largest bytes");
    is_deeply(\@seqs, [1 .. 201], 'byte cap: every message once, in order, across the pages');
    my $one = json_ok('byte cap: history backwards', GET => "/conversations/$heavy/messages?before=202&limit=500",
                      undef, token => $ub->{token});
    ok($one->{has_more} && @{ $one->{messages} } < 200, 'byte cap: backwards too, has_more');
    is($one->{messages}[-1]{seq}, 201, 'byte cap: backwards ends at the newest');
}

done_testing();
