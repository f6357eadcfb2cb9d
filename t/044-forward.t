# Merged forward (kind 5): messages of one conversation sent as one bundle
# into another; order, sender names, quotes and nested bundles kept; a
# snapshot a later recall does not change; refused seqs (recalled, system,
# not readable) and refused callers; idempotent resend; pushed and synced;
# the size and nesting caps; the paged items endpoint.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode ();
use Time::HiRes qw(time);
use Youdu::Test;
use Youdu::Msg;
use Youdu::WS;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $ua = new_user(name => '张三');
my $ub = new_user(name => '李四');
my $uc = new_user(name => '王五');
my $ud = new_user(name => '局外人');
my $ue = new_user(name => '新人');
my ($st, $j, $before);
my $mark = error_log_mark();
sub unchanged { my ($b4, $name) = @_; is(msg_state(), $b4, "$name: nothing was written") }
my $n = 0;
sub cmid { return Youdu::Test::uniq('fw') . '-' . ++$n }
sub forward {
    my ($user, $to, %b) = @_;
    $b{client_msg_id} //= cmid();
    return api(POST => "/conversations/$to/forward", \%b, token => $user->{token});
}

# the source: a direct chat of A and B with a quote
my $src = new_conv($ua, kind => 'direct', user_id => $ub->{id});
send_text($ua, $src, "第一条\nline 2") for 1;
send_text($ub, $src, 'second');
($st, $j) = send_text($ua, $src, 'third, quoting the first', extra => { quote_seq => 1 });
is($st, 201, 'source: a quote');
is(db("SELECT last_seq FROM conversations WHERE id = $src"), 3, 'source: seqs 1..3');

# the target: a group of A, B and C; C is not in the source
my $g = new_conv($ua, kind => 'group', name => '项目组', user_ids => [$ub->{id}, $uc->{id}]);
my @cws = map { scalar ws_auth($uc->{token}) } 1 .. 2;
my ($dws) = ws_auth($ud->{token});

# --- a forward, seqs given out of order
my $fw_cmid = cmid();
($st, $j) = forward($ua, $g, client_msg_id => $fw_cmid, from_conv_id => $src, seqs => [3, 1, 2]);
is($st, 201, 'forward: 201');
my $fw = $j->{message};
is($fw->{kind}, 5, 'forward: kind 5');
is($fw->{conv_id}, $g, 'forward: into the target');
is($fw->{seq}, 2, "forward: the target's next seq");
is($fw->{sender_id}, $ua->{id}, 'forward: sent by the caller');
is($fw->{client_msg_id}, $fw_cmid, 'forward: client_msg_id');
my $title = 'Chat history of 张三 and 李四';
is($fw->{body}{title}, $title, 'forward: default title of a direct chat');
is($fw->{body}{text}, "[Chat history] $title", 'forward: the text preview');
my @items = @{ $fw->{body}{items} || [] };
is(scalar @items, 3, 'forward: three items');
is_deeply([ map { $_->{body}{text} } @items ], ["第一条\nline 2", 'second', 'third, quoting the first'],
          'forward: items in seq order');
is_deeply([ map { $_->{sender_id} } @items ], [$ua->{id}, $ub->{id}, $ua->{id}], 'forward: senders');
is_deeply([ map { $_->{sender_name} } @items ], ['张三', '李四', '张三'], 'forward: sender names');
is_deeply([ map { $_->{kind} } @items ], [1, 1, 1], 'forward: item kinds');
is($items[2]{body}{quote}{seq}, 1, 'forward: the quote is kept');
is($items[2]{body}{quote}{preview}, "第一条\nline 2", 'forward: with its preview');
like($items[0]{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'forward: item created_at');
ok(!exists $items[0]{seq}, "forward: the source's seqs are not exposed");
is(db("SELECT kind FROM messages WHERE conv_id = $g AND seq = 2"), 5, 'forward: stored as kind 5');

# pushed to the target's members (C was never in the source), not outsiders
for my $k (0 .. 1) {
    my $e;
    while ($e = ws_json($cws[$k], 5)) { last if $e->{type} eq 'message' && $e->{conv_id} == $g && $e->{seq} == 2 }
    is_deeply($e, $fw, "push: C's device $k gets the forward as returned");
}
ok(ws_expect_nothing($dws, 0.5), 'push: an outsider gets nothing');

# synced like any message, previewed in the conversation list
$j = json_ok('sync', GET => "/conversations/$g/messages?after=1", undef, token => $uc->{token});
is_deeply($j->{messages}[0], $fw, 'sync returns the same event');
$j = json_ok('conversation list', GET => '/conversations', undef, token => $uc->{token});
my ($row) = grep { $_->{id} == $g } @{ $j->{conversations} };
is($row->{last_message}{kind}, 5, 'list: last message is the forward');
is($row->{last_message}{preview}, substr("[Chat history] $title", 0, 60), 'list: preview "[Chat history] title"');

# --- idempotent resend: the original, nothing new
$before = msg_state();
($st, $j) = forward($ua, $g, client_msg_id => $fw_cmid, from_conv_id => $src, seqs => [1]);
is($st, 200, 'resend: 200');
ok($j->{duplicate}, 'resend: duplicate');
is_deeply($j->{message}, $fw, 'resend: the original message, same seq');
unchanged($before, 'resend');
my $dm_ac = new_conv($ua, kind => 'direct', user_id => $uc->{id});
$before = msg_state();
json_err('resend into another conversation', 409, 40900, POST => "/conversations/$dm_ac/forward",
         { client_msg_id => $fw_cmid, from_conv_id => $src, seqs => [1] }, token => $ua->{token});
json_err('a text send reusing the forward client_msg_id', 409, 40900, POST => "/conversations/$dm_ac/messages",
         { client_msg_id => $fw_cmid, kind => 'text', text => 'x' }, token => $ua->{token});
unchanged($before, 'client_msg_id reused elsewhere');

# a concurrent resend: one message, both answers carry its seq
my $race_cmid = cmid();
my @r = concurrent_post("/conversations/$g/forward",
    [ map { [$ua->{token}, { client_msg_id => $race_cmid, from_conv_id => $src, seqs => [2] }] } 1 .. 2 ]);
is_deeply([ sort map { $_->{status} } @r ], [200, 201], 'concurrent resend: one 201, one 200');
is($r[0]{json}{message}{seq}, $r[1]{json}{message}{seq}, 'concurrent resend: the same seq');
is(db("SELECT COUNT(*) FROM messages WHERE sender_id = $ua->{id} AND client_msg_id = '$race_cmid'"), 1,
   'concurrent resend: stored once');
my $race_seq = $r[0]{json}{message}{seq};
$j = json_ok('the race message', GET => "/conversations/$g/messages?after=" . ($race_seq - 1) . '&limit=1',
             undef, token => $ua->{token});
is($j->{messages}[0]{kind}, 5, 'concurrent resend: a forward');
for my $k (0 .. 1) {
    my $e;
    while ($e = ws_json($cws[$k], 5)) { last if $e->{type} eq 'message' && $e->{seq} == $race_seq }
    ok($e, "concurrent resend: pushed to C's device $k");
}
ok(ws_expect_nothing($cws[0], 0.5), 'concurrent resend: pushed once');

# forwarding within the same conversation, and an image item as stored by
# the image/file sends (the body is copied as is, metadata included)
my $img = '{"file_id":77,"name":"a.png","size":1234,"mime":"image/png","width":10,"height":20}';
sql("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $g");
my $img_seq = db("SELECT last_seq FROM conversations WHERE id = $g") + 0;
sql("INSERT INTO messages (conv_id, seq, sender_id, client_msg_id, kind, body) "
    . "VALUES ($g, $img_seq, $ub->{id}, 'img-$img_seq', 2, '$img')");
($st, $j) = forward($uc, $g, from_conv_id => $g, seqs => [$img_seq, 2]);
is($st, 201, 'forward within the same conversation') or diag($JSON->encode($j));
is_deeply([ map { $_->{kind} } @{ $j->{message}{body}{items} } ], [5, 2], 'same conversation: by seq');
is_deeply($j->{message}{body}{items}[1]{body}, $JSON->decode($img), 'an image item keeps its metadata');
is($j->{message}{body}{title}, 'Chat history of 项目组', 'same conversation: the group title');
for my $k (0 .. 1) {
    my $e;
    while ($e = ws_json($cws[$k], 5)) { last if $e->{type} eq 'message' && $e->{seq} == $j->{message}{seq} }
    ok($e, "own forward: pushed to C's device $k too");
}

# --- quoting and the items endpoint
($st, $j) = send_text($uc, $g, 'about that history', extra => { quote_seq => 2 });
is($st, 201, 'quote a forward');
is($j->{message}{body}{quote}{preview}, substr("[Chat history] $title", 0, 60), 'quote: the forward preview');
$j = json_ok('items: a page', GET => "/conversations/$g/messages/2/forward?offset=1&limit=1", undef,
             token => $uc->{token});
is($j->{total}, 3, 'items: total');
is($j->{title}, $title, 'items: title');
is_deeply($j->{items}, [$items[1]], 'items: the second item only');
$j = json_ok('items: default page', GET => "/conversations/$g/messages/2/forward", undef, token => $ub->{token});
is_deeply($j->{items}, \@items, 'items: all of them');
json_err('items: not a forward', 404, 40401, GET => "/conversations/$g/messages/1/forward", undef,
         token => $uc->{token});
json_err('items: no such seq', 404, 40401, GET => "/conversations/$g/messages/999/forward", undef,
         token => $uc->{token});
json_err('items: outsider', 404, 40401, GET => "/conversations/$g/messages/2/forward", undef,
         token => $ud->{token});
json_err('items: bad limit', 400, 40008, GET => "/conversations/$g/messages/2/forward?limit=0", undef,
         token => $uc->{token});

# --- nested: C forwards the bundle and a text of his into a chat with A
($st, $j) = send_text($uc, $g, 'my own note');
my $note = $j->{message}{seq};
my $dm_ca = $dm_ac;
($st, $j) = forward($uc, $dm_ca, from_conv_id => $g, seqs => [$note, 2], title => '周报');
is($st, 201, 'nested forward: 201');
my $nested = $j->{message};
is($nested->{body}{title}, '周报', 'nested: the given title');
is($nested->{body}{text}, '[Chat history] 周报', 'nested: preview with the title');
is_deeply([ map { $_->{kind} } @{ $nested->{body}{items} } ], [5, 1], 'nested: the bundle, then the text');
is_deeply($nested->{body}{items}[0]{body}, $fw->{body}, 'nested: the inner bundle is kept whole');
is($nested->{body}{items}[0]{sender_name}, '张三', 'nested: the inner bundle by its sender');
is($nested->{body}{items}[1]{body}{text}, 'my own note', 'nested: the text');

# default title of a group
($st, $j) = forward($ub, $src, from_conv_id => $g, seqs => [$note]);
is($st, 201, 'forward from a group');
is($j->{message}{body}{title}, 'Chat history of 项目组', 'default title of a group: its name');

# --- snapshot: a recall in the source does not change the bundle
$j = json_ok('recall in the source', POST => "/conversations/$src/messages/1/recall", undef, token => $ua->{token});
my $recall_seq = $j->{message}{seq};
$j = json_ok('sync the bundle after the recall', GET => "/conversations/$g/messages?after=1&limit=1", undef,
             token => $uc->{token});
is_deeply($j->{messages}[0]{body}, $fw->{body}, 'snapshot: the bundle is unchanged');
is($j->{messages}[0]{body}{items}[0]{body}{text}, "第一条\nline 2", 'snapshot: the recalled text stays in it');

# --- refused seqs: nothing written
$before = msg_state();
json_err('a recalled message', 409, 40900, POST => "/conversations/$g/forward",
         { client_msg_id => cmid(), from_conv_id => $src, seqs => [2, 1] }, token => $ua->{token});
my $e = json_err('a recall event', 400, 40006, POST => "/conversations/$g/forward",
         { client_msg_id => cmid(), from_conv_id => $src, seqs => [$recall_seq] }, token => $ua->{token});
like($e->{errmsg} // '', qr/recall event/, 'recall event: said so');
$e = json_err('a system event', 400, 40006, POST => "/conversations/$src/forward",
         { client_msg_id => cmid(), from_conv_id => $g, seqs => [1] }, token => $ua->{token});
like($e->{errmsg} // '', qr/system event/, 'system event: said so');
$e = json_err('no such seq', 404, 40401, POST => "/conversations/$g/forward",
         { client_msg_id => cmid(), from_conv_id => $src, seqs => [2, 999] }, token => $ua->{token});
like($e->{errmsg} // '', qr/999/, 'no such seq: names it');
unchanged($before, 'refused seqs');

# E joins the group later: what came before is not his to forward
json_ok('E joins', POST => "/conversations/$g/members", { user_ids => [$ue->{id}] }, token => $ua->{token});
my $e_joined = db("SELECT joined_seq FROM conversation_members WHERE conv_id = $g AND user_id = $ue->{id}");
my $dm_ea = new_conv($ue, kind => 'direct', user_id => $ua->{id});
$before = msg_state();
json_err('before his joined_seq', 404, 40401, POST => "/conversations/$dm_ea/forward",
         { client_msg_id => cmid(), from_conv_id => $g, seqs => [2] }, token => $ue->{token});
unchanged($before, 'before his joined_seq');
($st, $j) = send_text($ub, $g, 'after E joined');
my $after_e = $j->{message}{seq};
$before = msg_state();
($st, $j) = forward($ue, $dm_ea, from_conv_id => $g, seqs => [$after_e]);
is($st, 201, 'E forwards what he can read');

# E leaves: he can forward up to his left_seq, not beyond
json_ok('E leaves', DELETE => "/conversations/$g/members/$ue->{id}", undef, token => $ue->{token});
($st, $j) = send_text($ub, $g, 'after E left');
my $after_left = $j->{message}{seq};
($st, $j) = forward($ue, $dm_ea, from_conv_id => $g, seqs => [$after_e]);
is($st, 201, 'a leaver forwards from the history he kept');
$before = msg_state();
json_err('beyond his left_seq', 404, 40401, POST => "/conversations/$dm_ea/forward",
         { client_msg_id => cmid(), from_conv_id => $g, seqs => [$after_left] }, token => $ue->{token});
json_err('into a conversation he left', 403, 40300, POST => "/conversations/$g/forward",
         { client_msg_id => cmid(), from_conv_id => $dm_ea, seqs => [1] }, token => $ue->{token});
unchanged($before, 'leaver');

# outsiders
my $dm_db = new_conv($ud, kind => 'direct', user_id => $ub->{id});
send_text($ud, $dm_db, 'outsider text');
$before = msg_state();
json_err('not a member of the source', 404, 40401, POST => "/conversations/$dm_db/forward",
         { client_msg_id => cmid(), from_conv_id => $src, seqs => [2] }, token => $ud->{token});
json_err('not a member of the target', 404, 40401, POST => "/conversations/$g/forward",
         { client_msg_id => cmid(), from_conv_id => $dm_db, seqs => [1] }, token => $ud->{token});
json_err('no such source', 404, 40401, POST => "/conversations/$dm_db/forward",
         { client_msg_id => cmid(), from_conv_id => 987654321, seqs => [1] }, token => $ud->{token});
json_err('no such target', 404, 40401, POST => '/conversations/987654321/forward',
         { client_msg_id => cmid(), from_conv_id => $dm_db, seqs => [1] }, token => $ud->{token});
unchanged($before, 'refused callers');

# --- bad input
$before = msg_state();
my $p = "/conversations/$g/forward";
my %ok = (client_msg_id => 'bad-1', from_conv_id => $src, seqs => [2]);
my @bad = (
    ['no token', 401, 40100, undef],
    ['no body', 400, 40001, undef],
    ['malformed', 400, 40001, undef, raw => '{"seqs":'],
    ['client_msg_id missing', 400, 40004, { %ok, client_msg_id => undef }],
    ['client_msg_id too long', 400, 40005, { %ok, client_msg_id => 'c' x 65 }],
    ['from_conv_id missing', 400, 40004, { %ok, from_conv_id => undef }],
    ['from_conv_id a string', 400, 40003, { %ok, from_conv_id => "$src" }],
    ['from_conv_id zero', 400, 40006, { %ok, from_conv_id => 0 }],
    ['seqs missing', 400, 40004, { %ok, seqs => undef }],
    ['seqs empty', 400, 40004, { %ok, seqs => [] }],
    ['seqs not an array', 400, 40003, { %ok, seqs => 2 }],
    ['seqs with a string', 400, 40003, { %ok, seqs => [2, '3'] }],
    ['seqs with zero', 400, 40006, { %ok, seqs => [0] }],
    ['seqs with a negative', 400, 40006, { %ok, seqs => [-2] }],
    ['seqs: a duplicate', 400, 40006, { %ok, seqs => [2, 3, 2] }],
    ['seqs: 101 of them', 400, 40006, { %ok, seqs => [1 .. 101] }],
    ['title a number', 400, 40003, { %ok, title => 5 }],
    ['title too long', 400, 40005, { %ok, title => 'x' x 101 }],
    ['title with a newline', 400, 40006, { %ok, title => "a\nb" }],
    ['bad target id', 404, 40401, { %ok }, path => '/conversations/x/forward'],
);
for my $b (@bad) {
    my ($name, $hst, $code, $body, %o) = @$b;
    my $path = delete $o{path} // $p;
    if (defined $body) { delete $body->{$_} for grep { !defined $body->{$_} } keys %$body }
    json_err("bad input: $name", $hst, $code, POST => $path, $body,
             ($name eq 'no token' ? () : (token => $ua->{token})), %o,
             ($name eq 'no token' ? (raw => $JSON->encode(\%ok)) : ()));
}
$e = json_err('bad input: 101 seqs says the limit', 400, 40006, POST => $p, { %ok, seqs => [1 .. 101] },
              token => $ua->{token});
like($e->{errmsg} // '', qr/100/, 'too many seqs: the limit is named');
unchanged($before, 'bad input');

# --- size: beyond TEXT's 64 KiB is fine (MEDIUMTEXT), beyond 256 KiB is refused
my $big = new_conv($ua, kind => 'direct', user_id => $ue->{id});
my @big;
for my $i (1 .. 60) {
    ($st, $j) = send_text($ua, $big, ('长' x 1700) . " $i");
    push @big, $j->{message}{seq};
}
is(scalar(grep { defined } @big), 60, 'size: 60 long messages sent');
my $t0 = time;
($st, $j) = forward($ua, $g, from_conv_id => $big, seqs => [@big[0 .. 29]]);
diag(sprintf('a forward of 30 messages of 5 KB (150 KiB): %.0f ms', 1000 * (time - $t0)));
is($st, 201, 'size: a 150 KiB bundle is stored');
is(scalar @{ $j->{message}{body}{items} }, 30, 'size: all 30 items');
cmp_ok(db("SELECT LENGTH(body) FROM messages WHERE conv_id = $g AND seq = $j->{message}{seq}"), '>', 65535,
       'size: more than 64 KiB stored');
$before = msg_state();
$e = json_err('size: over 256 KiB refused', 400, 40005, POST => $p,
              { client_msg_id => cmid(), from_conv_id => $big, seqs => \@big }, token => $ua->{token});
like($e->{errmsg} // '', qr/262144/, 'size: the limit is named');
unchanged($before, 'size');

# --- nesting: at most 5 bundles deep
my ($from, $to) = ($g, $dm_ac);
my $seq = 2;       # depth 1 in the group
for my $depth (2 .. 5) {
    ($st, $j) = forward($ua, $to, from_conv_id => $from, seqs => [$seq]);
    is($st, 201, "nesting: depth $depth");
    ($seq, $from, $to) = ($j->{message}{seq}, $to, $from);
}
$before = msg_state();
json_err('nesting: depth 6 refused', 400, 40006, POST => "/conversations/$to/forward",
         { client_msg_id => cmid(), from_conv_id => $from, seqs => [$seq] }, token => $ua->{token});
unchanged($before, 'nesting');
$j = json_ok('nesting: the deepest still syncs', GET => "/conversations/$from/messages?after=" . ($seq - 1),
             undef, token => $ua->{token});
my $b = $j->{messages}[0]{body};
$b = $b->{items}[0]{body} for 1 .. 4;
is($b->{items}[0]{body}{text}, "第一条\nline 2", 'nesting: the innermost text intact');
$j = json_ok('nesting: list preview', GET => '/conversations', undef, token => $ua->{token});
($row) = grep { $_->{id} == $from } @{ $j->{conversations} };
like($row->{last_message}{preview}, qr/^\[Chat history\] /, 'nesting: the preview is found');

# --- the sender recalls his forward
$j = json_ok('recall a fresh forward', POST => "/conversations/$from/messages/$seq/recall", undef,
             token => $ua->{token});
is($j->{message}{kind}, 7, 'recall: a kind 7 event');
json_err('items of a recalled forward', 404, 40401, GET => "/conversations/$from/messages/$seq/forward",
         undef, token => $ua->{token});

# --- files: a forward lets its readers download the files of its items,
# at any depth, until it is recalled
my $bytes = "季度报告\n" . join('', map { chr(65 + $_ % 26) } 1 .. 5000);
($st, $j) = api(POST => '/files?name=report.txt', undef, token => $ub->{token}, raw => Encode::encode_utf8($bytes),
                type => 'text/plain');
is($st, 201, 'files: B uploads a file');
my $fid = $j->{file}{id};
($st, $j) = api(POST => "/conversations/$src/messages", { client_msg_id => cmid(), kind => 'file', file_id => $fid },
                token => $ub->{token});
is($st, 201, 'files: B sends it to A');
my $file_seq = $j->{message}{seq};
my ($fst) = api(GET => "/files/$fid", undef, token => $uc->{token});
is($fst, 404, 'files: C cannot download it yet');
($st, $j) = forward($ua, $g, from_conv_id => $src, seqs => [$file_seq]);
is($st, 201, 'files: A forwards it to the group');
my $fwf = $j->{message}{seq};
is($j->{message}{body}{items}[0]{kind}, 3, 'files: a file item');
is($j->{message}{body}{items}[0]{body}{file_id}, $fid, 'files: with its file_id');
is($j->{message}{body}{items}[0]{body}{name}, 'report.txt', 'files: and its name');
my ($fst2, undef, $got) = api(GET => "/files/$fid", undef, token => $uc->{token});
is($fst2, 200, 'files: C, a reader of the forward, downloads it');
ok($got eq Encode::encode_utf8($bytes), 'files: the same bytes');
my $dm_ce = new_conv($uc, kind => 'direct', user_id => $ue->{id});
($fst) = api(GET => "/files/$fid", undef, token => $ue->{token});
is($fst, 404, 'files: E cannot download it');
($st, $j) = forward($uc, $dm_ce, from_conv_id => $g, seqs => [$fwf]);
is($st, 201, 'files: C forwards the forward to E');
($fst) = api(GET => "/files/$fid", undef, token => $ue->{token});
is($fst, 200, 'files: E downloads the file of the nested item');
json_ok('files: C recalls it', POST => "/conversations/$dm_ce/messages/$j->{message}{seq}/recall", undef,
        token => $uc->{token});
($fst) = api(GET => "/files/$fid", undef, token => $ue->{token});
is($fst, 404, 'files: after the recall E cannot download it any more');

unlike(error_log_since($mark), qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');
done_testing;
