# Messages: send (idempotent by client_msg_id), seq without gaps under
# concurrent senders, mentions and @all, quotes, recall (window and
# admins), the yd:push notice; refused sends write nothing.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode ();
use Youdu::Test;
use Youdu::Msg;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my ($ua, $ub, $uc, $ud, $ue) = map { new_user() } 1 .. 5;
my ($st, $j, $before);
sub unchanged { my ($b4, $name) = @_; is(msg_state(), $b4, "$name: nothing was written") }

my $g = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('g'), user_ids => [$ub->{id}, $uc->{id}, $ue->{id}]);
my $dm = new_conv($ua, kind => 'direct', user_id => $ub->{id});
my $path = "/conversations/$g/messages";

# --- send
my $cmid = Youdu::Test::uniq('cm');
($st, $j) = api(POST => $path, { client_msg_id => $cmid, kind => 'text', text => "你好\nworld" }, token => $ub->{token});
is($st, 201, 'send: 201');
my $msg = $j->{message};
is($msg->{type}, 'message', 'send: event type');
is($msg->{conv_id}, $g, 'send: conv_id');
is($msg->{seq}, 2, 'send: seq after the creation event');
is($msg->{sender_id}, $ub->{id}, 'send: sender');
is($msg->{client_msg_id}, $cmid, 'send: client_msg_id');
is($msg->{kind}, 1, 'send: kind text');
is($msg->{body}{text}, "你好\nworld", 'send: text with a newline');
is_deeply($msg->{body}{mentions}, [], 'send: no mentions');
ok(!$msg->{body}{mention_all}, 'send: no @all');
is($msg->{body}{quote}, undef, 'send: no quote');
like($msg->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'send: created_at');
ok(!$msg->{recalled}, 'send: not recalled');
{
    # the reply is built without reading the row back: it must be the row
    my $r = json_ok('read the message back', GET => "$path?after=1&limit=1", undef, token => $uc->{token});
    is_deeply($r->{messages}[0], $msg, 'send: the reply is exactly what sync returns');
    is($msg->{created_at}, db("SELECT yd_iso(created_at) FROM messages WHERE conv_id = $g AND seq = 2"),
       "send: created_at is the database's time");
    is(db("SELECT c.last_msg_at = m.created_at FROM messages m JOIN conversations c ON c.id = m.conv_id "
          . "WHERE m.conv_id = $g AND m.seq = 2"), 1, 'send: the conversation\'s activity time is the message\'s, to the millisecond');
}
is(db("SELECT CONCAT(last_seq, ':', member_count) FROM conversations WHERE id = $g"), '2:4', 'send: last_seq');
is(db("SELECT HEX(JSON_VALUE(body, '\$.text')) FROM messages WHERE conv_id = $g AND seq = 2"),
   uc unpack('H*', Encode::encode_utf8("你好\nworld")), 'send: body stored as JSON');

# --- idempotent resend: the original, same seq, nothing new
$before = msg_state();
($st, $j) = api(POST => $path, { client_msg_id => $cmid, kind => 'text', text => 'other text' }, token => $ub->{token});
is($st, 200, 'resend: 200');
ok($j->{duplicate}, 'resend: duplicate');
is($j->{message}{seq}, 2, 'resend: the original seq');
is($j->{message}{body}{text}, "你好\nworld", 'resend: the original text');
unchanged($before, 'resend');
json_err('resend in another conversation', 409, 40900, POST => "/conversations/$dm/messages",
         { client_msg_id => $cmid, kind => 'text', text => 'x' }, token => $ub->{token});
unchanged($before, 'client_msg_id reused elsewhere');
# the same client_msg_id from another sender is another message
($st, $j) = api(POST => $path, { client_msg_id => $cmid, kind => 'text', text => 'c' }, token => $uc->{token});
is($st, 201, 'same client_msg_id, other sender: a new message');
is($j->{message}{seq}, 3, 'other sender: seq 3');

# --- bad input
$before = msg_state();
my %ok = (client_msg_id => 'x1', kind => 'text', text => 'hi');
json_err('send: no token', 401, 40100, POST => $path, \%ok);
json_err('send: malformed', 400, 40001, POST => $path, undef, raw => '{"text":', token => $ub->{token});
json_err('send: not an object', 400, 40001, POST => $path, undef, raw => '"hi"', token => $ub->{token});
json_err('send: bad UTF-8', 400, 40002, POST => $path, undef,
         raw => qq({"client_msg_id":"u1","kind":"text","text":"\xc3\x28"}), token => $ub->{token});
json_err('send: client_msg_id missing', 400, 40004, POST => $path, { kind => 'text', text => 'hi' },
         token => $ub->{token});
json_err('send: client_msg_id empty', 400, 40004, POST => $path, { %ok, client_msg_id => '' }, token => $ub->{token});
json_err('send: client_msg_id too long', 400, 40005, POST => $path, { %ok, client_msg_id => 'c' x 65 },
         token => $ub->{token});
json_err('send: client_msg_id number', 400, 40003, POST => $path, { %ok, client_msg_id => 5 }, token => $ub->{token});
json_err('send: kind missing', 400, 40004, POST => $path, { client_msg_id => 'x', text => 'hi' },
         token => $ub->{token});
json_err('send: unknown kind', 400, 40006, POST => $path, { %ok, kind => 'video' }, token => $ub->{token});
json_err('send: kind image without file_id', 400, 40004, POST => $path, { %ok, kind => 'image' },
         token => $ub->{token});
json_err('send: text missing', 400, 40004, POST => $path, { client_msg_id => 'x', kind => 'text' },
         token => $ub->{token});
json_err('send: text empty', 400, 40004, POST => $path, { %ok, text => '' }, token => $ub->{token});
json_err('send: text number', 400, 40003, POST => $path, { %ok, text => 42 }, token => $ub->{token});
json_err('send: text too long', 400, 40005, POST => $path, { %ok, text => '字' x 5001 }, token => $ub->{token});
json_err('send: text with a control char', 400, 40006, POST => $path, { %ok, text => "a\x07b" },
         token => $ub->{token});
json_err('send: mentions not an array', 400, 40003, POST => $path, { %ok, mentions => $uc->{id} },
         token => $ub->{token});
json_err('send: mention of a non-member', 400, 40006, POST => $path, { %ok, mentions => [$ud->{id}] },
         token => $ub->{token});
json_err('send: mention_all not bool', 400, 40003, POST => $path, { %ok, mention_all => 1 }, token => $ub->{token});
json_err('send: @all by a member', 403, 40300, POST => $path, { %ok, mention_all => JSON::PP::true },
         token => $ub->{token});
json_err('send: @all in a direct chat', 403, 40300, POST => "/conversations/$dm/messages",
         { %ok, mention_all => JSON::PP::true }, token => $ua->{token});
json_err('send: quote_seq string', 400, 40003, POST => $path, { %ok, quote_seq => '2' }, token => $ub->{token});
json_err('send: quote_seq 0', 400, 40006, POST => $path, { %ok, quote_seq => 0 }, token => $ub->{token});
json_err('send: quote of no message', 404, 40401, POST => $path, { %ok, quote_seq => 999 }, token => $ub->{token});
json_err('send: quote of a system event', 404, 40401, POST => $path, { %ok, quote_seq => 1 }, token => $ub->{token});
json_err('send: outsider', 404, 40401, POST => $path, \%ok, token => $ud->{token});
json_err('send: no such conversation', 404, 40401, POST => '/conversations/999999999/messages', \%ok,
         token => $ub->{token});
json_err('send: bad conversation id', 404, 40401, POST => '/conversations/x/messages', \%ok, token => $ub->{token});
unchanged($before, 'refused sends');

# --- mentions, @all by the owner, quote
$j = json_ok('send: mentions', POST => $path,
    { client_msg_id => Youdu::Test::uniq('cm'), kind => 'text', text => '@c look', mentions => [$uc->{id}, $uc->{id}] },
    token => $ub->{token});
is_deeply($j->{message}{body}{mentions}, [$uc->{id}], 'mentions: stored once');
$j = json_ok('send: @all by the owner', POST => $path,
    { client_msg_id => Youdu::Test::uniq('cm'), kind => 'text', text => '@all meeting', mention_all => JSON::PP::true },
    token => $ua->{token});
ok($j->{message}{body}{mention_all}, '@all stored');
json_ok('make c an admin', POST => "/conversations/$g/admins", { user_id => $uc->{id} }, token => $ua->{token});
json_ok('send: @all by an admin', POST => $path,
    { client_msg_id => Youdu::Test::uniq('cm'), kind => 'text', text => '@all', mention_all => JSON::PP::true },
    token => $uc->{token});
$j = json_ok('send: quote', POST => $path,
    { client_msg_id => Youdu::Test::uniq('cm'), kind => 'text', text => 'agreed', quote_seq => 2 },
    token => $uc->{token});
is_deeply($j->{message}{body}{quote}, { seq => 2, sender_id => $ub->{id}, preview => "你好\nworld" },
          'quote: seq, sender, preview');

# --- 20 concurrent senders: seq strictly increasing, no gaps, no duplicates
my @senders = ($ua, $ub, $uc);
my $start = db("SELECT last_seq FROM conversations WHERE id = $g");
my @res = concurrent_post($path, [ map { [ $senders[$_ % 3]{token},
    { client_msg_id => "conc-$$-$_", kind => 'text', text => "m$_" } ] } 0 .. 19 ]);
is(scalar(grep { $_->{status} == 201 } @res), 20, 'concurrent: 20 x 201');
my @seqs = sort { $a <=> $b } map { $_->{json}{message}{seq} // 0 } @res;
is_deeply(\@seqs, [ $start + 1 .. $start + 20 ], 'concurrent: seqs are consecutive and unique');
is(db("SELECT CONCAT(COUNT(*), ':', MIN(seq), ':', MAX(seq)) FROM messages WHERE conv_id = $g AND seq > $start"),
   "20:" . ($start + 1) . ':' . ($start + 20), 'concurrent: stored without gaps');
is(db("SELECT last_seq FROM conversations WHERE id = $g"), $start + 20, 'concurrent: last_seq');
# the same message resent 10 times at once: one message
$start = db("SELECT last_seq FROM conversations WHERE id = $g");
@res = concurrent_post($path, [ map { [ $ub->{token},
    { client_msg_id => "same-$$", kind => 'text', text => 'once' } ] } 1 .. 10 ]);
is(scalar(grep { $_->{status} == 201 || $_->{status} == 200 } @res), 10, 'concurrent resends: all answered');
is(scalar(grep { $_->{status} == 201 } @res), 1, 'concurrent resends: one created');
is(scalar(keys %{{ map { ($_->{json}{message}{seq} // 0) => 1 } @res }}), 1, 'concurrent resends: one seq');
is(db("SELECT COUNT(*) FROM messages WHERE sender_id = $ub->{id} AND client_msg_id = 'same-$$'"), 1,
   'concurrent resends: one row');
is(db("SELECT last_seq FROM conversations WHERE id = $g"), $start + 1, 'concurrent resends: no gap left behind');

# --- a member kicked while his messages are in flight: nothing of his lands
# after the removal event (the membership is re-checked under the seq lock)
my $race = new_conv($ua, kind => 'group', name => 'race', user_ids => [$ud->{id}]);
my $pid = fork // die "fork: $!";
if (!$pid) {
    select(undef, undef, undef, 0.02);
    api(DELETE => "/conversations/$race/members/$ud->{id}", undef, token => $ua->{token});
    exit 0;
}
my @race = concurrent_post("/conversations/$race/messages", [ map { [ $ud->{token},
    { client_msg_id => "race-$$-$_", kind => 'text', text => "r$_" } ] } 1 .. 200 ]);
waitpid $pid, 0;
note('race: ' . join(',', map { $_->{status} } @race));
my $left_seq = db("SELECT left_seq FROM conversation_members WHERE conv_id = $race AND user_id = $ud->{id}");
ok($left_seq, 'race: the member was removed');
is(db("SELECT COUNT(*) FROM messages WHERE conv_id = $race AND sender_id = $ud->{id} AND seq > $left_seq"), 0,
   'race: no message of his after his removal');
is(scalar(grep { $_->{status} != 201 && $_->{status} != 403 } @race), 0, 'race: each send stored or refused (403)');
is(scalar(grep { $_->{status} == 201 } @race),
   db("SELECT COUNT(*) FROM messages WHERE conv_id = $race AND sender_id = $ud->{id}"),
   'race: every acknowledged send is stored');

# --- recall
($st, $j) = send_text($ub, $g, 'oops');
my $rs = $j->{message}{seq};
$before = msg_state();
json_err('recall: by another member', 403, 40300, POST => "$path/$rs/recall", undef, token => $ue->{token} );
json_err('recall: outsider', 404, 40401, POST => "$path/$rs/recall", undef, token => $ud->{token});
json_err('recall: no such message', 404, 40401, POST => "$path/99999/recall", undef, token => $ub->{token});
json_err('recall: a system event', 404, 40401, POST => "$path/1/recall", undef, token => $ua->{token});
json_err('recall: bad seq', 404, 40401, POST => "$path/x/recall", undef, token => $ub->{token});
unchanged($before, 'refused recalls');
my $l = push_listen();
$j = json_ok('recall: by the sender', POST => "$path/$rs/recall", undef, token => $ub->{token});
my @notices = push_collect($l);
is($j->{message}{kind}, 7, 'recall: a kind 7 event');
is($j->{message}{body}{recall_seq}, $rs, 'recall: recall_seq');
is($j->{message}{sender_id}, $ub->{id}, 'recall: by');
is(db("SELECT recalled FROM messages WHERE conv_id = $g AND seq = $rs"), 1, 'recall: original marked');
my ($n) = grep { $_->{conv} == $g && $_->{seq} == $j->{message}{seq} } @notices;
ok($n, 'recall: notice published');
is_deeply($n->{ev}, $j->{message}, 'recall: notice carries the event');
json_err('recall twice', 409, 40900, POST => "$path/$rs/recall", undef, token => $ub->{token});
$j = json_ok('sync after recall', GET => "$path?after=" . ($rs - 1) . '&limit=1', undef, token => $uc->{token});
is_deeply($j->{messages}[0]{body}, { recalled => JSON::PP::true }, 'sync: recalled body emptied');
ok($j->{messages}[0]{recalled}, 'sync: recalled flag');

# the window: a sender cannot recall an old message; group admins can
($st, $j) = send_text($ub, $g, 'old one');
my $old = $j->{message}{seq};
sql("UPDATE messages SET created_at = created_at - INTERVAL 1 HOUR WHERE conv_id = $g AND seq = $old");
$before = msg_state();
json_err('recall: window passed', 403, 40300, POST => "$path/$old/recall", undef, token => $ub->{token});
unchanged($before, 'recall after the window');
# youdu_recall_window is 5m in the test stack (the default is 2m)
sql("UPDATE messages SET created_at = UTC_TIMESTAMP(3) - INTERVAL 310 SECOND WHERE conv_id = $g AND seq = $old");
$j = json_err('recall: just past the configured 5 min', 403, 40300, POST => "$path/$old/recall", undef, token => $ub->{token});
like($j->{errmsg}, qr/within 300 seconds/, 'recall: the error says how long the window is');
sql("UPDATE messages SET created_at = UTC_TIMESTAMP(3) - INTERVAL 290 SECOND WHERE conv_id = $g AND seq = $old");
json_ok('recall: inside the configured window (past the default 2 min)', POST => "$path/$old/recall", undef, token => $ub->{token});
($st, $j) = send_text($ub, $g, 'older');
$old = $j->{message}{seq};
sql("UPDATE messages SET created_at = created_at - INTERVAL 1 HOUR WHERE conv_id = $g AND seq = $old");
json_ok('recall: an admin any time', POST => "$path/$old/recall", undef, token => $uc->{token});
($st, $j) = send_text($ua, $dm, 'direct');
json_err('recall: the peer in a direct chat', 403, 40300, POST => "/conversations/$dm/messages/$j->{message}{seq}/recall",
         undef, token => $ub->{token});

# --- the push notice: "to" is the current members, "ev" the event
$l = push_listen();
($st, $j) = send_text($ua, $g, 'notice me');
@notices = push_collect($l);
($n) = grep { $_->{t} eq 'msg' && $_->{conv} == $g && $_->{seq} == $j->{message}{seq} } @notices;
ok($n, 'notice: published on yd:push');
is_deeply([sort { $a <=> $b } @{ $n->{to} }], [sort { $a <=> $b } $ua->{id}, $ub->{id}, $uc->{id}, $ue->{id}],
          'notice: to the current members');
is_deeply($n->{ev}, $j->{message}, 'notice: the event as sync returns it');
# a kicked member is told once (the removal), then no more
$l = push_listen();
json_ok('add d', POST => "/conversations/$g/members", { user_ids => [$ud->{id}] }, token => $ua->{token});
($st, $j) = api(DELETE => "/conversations/$g/members/$ud->{id}", undef, token => $ua->{token});
my $kick = $j->{message}{seq};
($st, $j) = send_text($ua, $g, 'after kick');
@notices = grep { $_->{conv} == $g } push_collect($l);
($n) = grep { $_->{seq} == $kick } @notices;
ok($n && grep({ $_ == $ud->{id} } @{ $n->{to} }), 'notice: the kicked member hears of his removal');
($n) = grep { $_->{seq} == $j->{message}{seq} } @notices;
ok($n && !grep({ $_ == $ud->{id} } @{ $n->{to} }), 'notice: but not of later messages');

# --- Redis down: a send is still stored and acknowledged
sub service {
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    is(system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @_, @asan), 0, "service @_");
}
service('stop', 'redis');
($st, $j) = send_text($ub, $g, 'redis down');
is($st, 201, 'send with Redis down: acknowledged');
is(db("SELECT JSON_VALUE(body, '\$.text') FROM messages WHERE conv_id = $g AND seq = " . ($j->{message}{seq} // 0)),
   'redis down', 'send with Redis down: stored');
service('start', 'redis');
my $t0 = time;
sleep 0.2 while time - $t0 < 10
    && !(api(GET => '/admin/status', undef, token => admin_token()))[1]{redis}{ok};
($st, $j) = send_text($ub, $g, 'redis back');
is($st, 201, 'send after Redis is back');

done_testing();
