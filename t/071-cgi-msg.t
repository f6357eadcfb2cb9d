#!/usr/bin/perl
# /cgi/msg/send (PROTOCOL.md 4.1): every msgType becomes a card (kind 4)
# in the receiver's app conversation, visible over REST and pushed over
# the WebSocket; media of the app, and of no other app.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Youdu::Test;
use Youdu::Cgi;
use Youdu::Msg;
use Youdu::WS;
use Youdu::AppMsg;

my $app = cgi_app(name => 'Expense bot ' . uniq('x'));
my $alice = mk_user();
my $bob = mk_user();

# --- text: REST conversation list, message list, push ----------------------
my $ws = ws_auth($alice->{token});
cgi_ok('text to one account', $app, '/msg/send',
       { toUser => $alice->{account}, toDept => '', msgType => 'text',
         text => { content => "Your expense report 😀 was approved\nline 2" } });

my $e;
while ($e = ws_json($ws, 5)) { last if $e->{type} eq 'message' }
ok($e, 'the card is pushed over the WebSocket at once');
is($e->{kind}, 4, 'kind 4 (card)');
is($e->{sender_id}, undef, 'no sender (an app)');
is_deeply($e->{body}, { app => { app_id => $app->{app_id}, name => $app->{name} },
                        msgType => 'text',
                        text => { content => "Your expense report 😀 was approved\nline 2" },
                        preview => 'Your expense report 😀 was approved line 2' },
          'the card: app, msgType, the content, a preview');

my ($conv, $msgs) = app_inbox($alice, $app);
ok($conv, 'the conversation list shows an app conversation named after the app');
is($conv->{kind}, 'app', 'kind "app"');
is($conv->{member_count}, 1, 'the user is its only member');
is($conv->{unread}, 1, 'one unread');
is($conv->{last_message}{kind}, 4, 'last message: the card');
is($conv->{last_message}{preview}, 'Your expense report 😀 was approved line 2', 'with its preview');
is(scalar @$msgs, 1, 'the message list has the card');
is_deeply($msgs->[0]{body}, $e->{body}, 'the same body as pushed');
is($msgs->[0]{seq}, $e->{seq}, 'same seq');
is($e->{conv_id}, $conv->{id}, 'same conversation');
is(sql("SELECT direct_key FROM conversations WHERE id = $conv->{id}"), "app:$app->{pk}:$alice->{id}",
   "direct_key app:<app>:<user>");
is(sql("SELECT app_pk FROM conversations WHERE id = $conv->{id}"), $app->{pk}, 'app_pk set');
is(sql("SELECT COUNT(*) FROM audit_log WHERE action = 'cgi.msg.send' AND target = '$app->{app_id}'"), 1,
   'audit log: cgi.msg.send');
is(app_conv_of($bob, $app), undef, 'bob has no conversation with the app');

# a second message: same conversation, next seq
cgi_ok('second text', $app, '/msg/send', { toUser => $alice->{account}, msgType => 'text',
                                           text => { content => 'second' } });
($conv, $msgs) = app_inbox($alice, $app);
is(scalar @$msgs, 2, 'the second card in the same conversation');
is($msgs->[1]{seq}, $msgs->[0]{seq} + 1, 'next seq');
is($conv->{unread}, 2, 'two unread');
is(sql("SELECT COUNT(*) FROM conversations WHERE app_pk = $app->{pk}"), 1, 'one conversation per app and user');
my $sync = Youdu::Test::api_ok_or_die(GET => "/conversations/$conv->{id}/messages?after=$msgs->[0]{seq}", undef,
                         token => $alice->{token});
is(scalar @{ $sync->{messages} }, 1, 'sync after the first returns the second');

# the app's name follows a rename
sql("UPDATE apps SET name = '$app->{name} v2' WHERE id = $app->{pk}");
cgi_ok('text after a rename', $app, '/msg/send', { toUser => $alice->{account}, msgType => 'text',
                                                   text => { content => 'renamed' } });
my $renamed = { %$app, name => "$app->{name} v2" };
ok(app_conv_of($alice, $renamed), 'the conversation takes the app\'s new name');
sql("UPDATE apps SET name = '$app->{name}' WHERE id = $app->{pk}");


# --- every msgType ----------------------------------------------------------
my $png = png_bytes(300, 200);
my ($img_mid, $img_fid) = app_media_row($app, $bob, 'chart.png', $png, 'image');
my ($doc_mid, $doc_fid) = app_media_row($app, $bob, 'report.txt', "quarterly numbers\n" x 10, 'file');
my ($voc_mid) = app_media_row($app, $bob, 'hello.amr', "#!AMR\n" . ('v' x 100), 'voice');
my ($vid_mid) = app_media_row($app, $bob, 'clip.mp4', 'm' x 300, 'video');
my $carol = mk_user();

my $cws = ws_auth($carol->{token});

# the last card of carol's conversation after each send; it was pushed
# over the WebSocket too, with the same body
sub pushed_ok {
    my ($ws, $card) = @_;
    my $ev;
    while ($ev = ws_json($ws, 5)) {
        last if $ev->{type} eq 'message' && $ev->{conv_id} == $card->{conv_id} && $ev->{seq} == $card->{seq};
    }
    is_deeply($ev && $ev->{body}, $card->{body}, "card $card->{seq} ($card->{body}{msgType}) pushed as stored");
}

sub last_card {
    my (undef, $m) = app_inbox($carol, $app);
    pushed_ok($cws, $m->[-1]);
    return $m->[-1];
}

sub send_ok {
    my ($name, $a, $payload) = @_;
    cgi_ok($name, $a, '/msg/send', { toUser => $carol->{account}, %$payload });
}

send_ok('image', $app, { msgType => 'image', image => { media_id => $img_mid } });
my $c = last_card();
is($c->{body}{msgType}, 'image', 'image card');
is($c->{body}{image}{media_id}, $img_mid, 'keeps the media id');
is($c->{body}{image}{file_id}, $img_fid, 'and names the file');
is($c->{body}{image}{width}, 300, 'width');
is($c->{body}{image}{height}, 200, 'height');
ok($c->{body}{image}{thumb}{width}, 'thumbnail');
is($c->{body}{preview}, '[image]', 'preview [image]');
my ($st) = api(GET => "/files/$img_fid", undef, token => $carol->{token});
is($st, 200, 'the receiver downloads the image');
($st) = api(GET => "/files/$img_fid/thumb", undef, token => $carol->{token});
is($st, 200, 'and its thumbnail');
($st) = api(GET => "/files/$img_fid", undef, token => $alice->{token});
is($st, 404, 'somebody who did not receive it cannot');

send_ok('file', $app, { msgType => 'file', file => { media_id => $doc_mid } });
$c = last_card();
is_deeply([@{ $c->{body}{file} }{qw(media_id file_id name size mime)}],
          [$doc_mid, $doc_fid, 'report.txt', 180, 'text/plain'], 'file card: media, file, name, size, mime');
is($c->{body}{preview}, '[file] report.txt', 'preview names the file');
($st) = api(GET => "/files/$doc_fid", undef, token => $carol->{token});
is($st, 200, 'the receiver downloads the file');

send_ok('voice', $app, { msgType => 'voice', voice => { media_id => $voc_mid } });
is(last_card()->{body}{preview}, '[voice]', 'voice card');
send_ok('video', $app, { msgType => 'video', video => { media_id => $vid_mid } });
is(last_card()->{body}{video}{media_id}, $vid_mid, 'video card');

send_ok('mpnews (the key spelled mpNews, show_front)', $app, { msgType => 'mpnews', mpNews => [
    { title => 'News 1', media_id => $img_mid, content => '<p>body</p>', digest => 'short', show_front => 1 },
    { title => 'News 2', digest => 'd2', showFront => 0, url => 'http://x.example/2' } ] });
$c = last_card();
is($c->{body}{msgType}, 'mpnews', 'mpnews card');
is(scalar @{ $c->{body}{mpnews}{items} }, 2, 'two items');
is_deeply([@{ $c->{body}{mpnews}{items}[0] }{qw(title media_id file_id content digest showFront url)}],
          ['News 1', $img_mid, $img_fid, '<p>body</p>', 'short', 1, ''], 'item 1 normalised');
is_deeply([@{ $c->{body}{mpnews}{items}[1] }{qw(title media_id content digest showFront url)}],
          ['News 2', '', '', 'd2', 0, 'http://x.example/2'], 'item 2 normalised (no cover)');
is($c->{body}{preview}, 'News 1', 'preview: the first title');

send_ok('link', $app, { msgType => 'link', link => { title => 'Open me', url => 'http://a.example/x', action => 1 } });
is_deeply(last_card()->{body}{link}, { title => 'Open me', url => 'http://a.example/x', action => 1 }, 'link card');

send_ok('exlink with the Java fields', $app, { msgType => 'exlink', exlink => [
    { title => 'Ex', url => 'http://e.example', digest => 'dg', media_id => $img_mid, link_type => 2,
      subtitle => 'sub', link_desc => 'desc', date_hide => 1, tail_hide => 0 } ] });
$c = last_card()->{body}{exlink}{items}[0];
is_deeply([@$c{qw(title url digest media_id file_id link_type subtitle link_desc date_hide tail_hide)}],
          ['Ex', 'http://e.example', 'dg', $img_mid, $img_fid, 2, 'sub', 'desc', 1, 0], 'exlink item kept whole');

my $sys = cgi_app(name => 'Sys ' . uniq('s'), rights => 1 | 8);
cgi_ok('sysMsg', $sys, '/msg/send', { toUser => $carol->{account}, msgType => 'sysMsg',
    sysMsg => { title => 'Maintenance', popDuration => 30,
                msg => [ { text => { content => 'Tonight 22:00' } },
                         { link => { title => 'details', url => 'http://m.example', action => 0 } } ] } });
my (undef, $sm) = app_inbox($carol, $sys);
is_deeply($sm->[-1]{body}{sysMsg}, { title => 'Maintenance', popDuration => 30,
    msg => [ { text => { content => 'Tonight 22:00' } },
             { link => { title => 'details', url => 'http://m.example', action => 0 } } ] }, 'sysMsg card');
is($sm->[-1]{body}{preview}, 'Maintenance', 'preview: the title');
pushed_ok($cws, $sm->[-1]);

my $sms = cgi_app(name => 'Sms ' . uniq('s'), rights => 1 | 32);
cgi_ok('sms', $sms, '/msg/send', { toUser => $carol->{account}, msgType => 'sms',
                                   sms => { from => '13800000000', content => 'yes, ok' } });
my (undef, $smm) = app_inbox($carol, $sms);
is_deeply($smm->[-1]{body}{sms}, { from => '13800000000', content => 'yes, ok' }, 'sms card');
is($smm->[-1]{body}{preview}, '[SMS] 13800000000: yes, ok', 'sms preview');
pushed_ok($cws, $smm->[-1]);

my $mail = cgi_app(name => 'Mail ' . uniq('m'), rights => 1 | 16);
my $dave = mk_user(email => uniq('d') . '@corp.example');
my $dave_email = sql("SELECT email FROM users WHERE id = $dave->{id}");
my ($code, undef, $j) = cgi_call($mail, '/msg/send', { toUser => '', toEmail => "$dave_email|nobody\@x.example",
    msgType => 'mail', Mail => { action => 'new', subject => 'Hello', fromUser => 'Boss',
    fromEmail => 'boss@x.example', time => 1700000000123, link => 'http://mail.example/1', unreadCount => 3 } });
is($code, 200007, 'mail to toEmail (key spelled Mail, time in ms) with an unknown address: 200007');
like($j->{errmsg}, qr/nobody\@x\.example/, 'errmsg names the unknown address');
my (undef, $mm) = app_inbox($dave, $mail);
is_deeply($mm->[-1]{body}{mail}, { action => 'new', subject => 'Hello', fromUser => 'Boss',
    fromEmail => 'boss@x.example', time => 1700000000, link => 'http://mail.example/1', unreadCount => 3 },
    'the valid address got the mail card (time in seconds)');
cgi_ok('mail to toUser', $mail, '/msg/send', { toUser => $carol->{account}, msgType => 'mail',
    mail => { action => 'unread', unreadCount => 7, time => 1700000000 } });
my (undef, $mc) = app_inbox($carol, $mail);
is($mc->[-1]{body}{preview}, '[mail] 7 unread', 'unread mail preview');
pushed_ok($cws, $mc->[-1]);

# --- rights ---------------------------------------------------------------
my $before = card_count($app);
cgi_err('sysMsg without the right', 3, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'sysMsg', sysMsg => { title => 't', msg => [ { text => { content => 'x' } } ] } });
cgi_err('mail without the right', 3, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'mail', mail => { subject => 's' } });
cgi_err('sms without the right', 3, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'sms', sms => { from => '1', content => 'c' } });
my $nomsg = cgi_app(rights => 2);
cgi_err('an app without the message right', 3, $nomsg, '/msg/send',
        { toUser => $carol->{account}, msgType => 'text', text => { content => 'x' } });
is(card_count($app), $before, 'nothing stored');

# --- media of this app only -----------------------------------------------
my $other = cgi_app();
my ($other_mid) = app_media_row($other, $bob, 'o.png', $png, 'image');
my $state = msg_state();
cgi_err('unknown media id', 200010, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'image', image => { media_id => 'f' x 32 } });
cgi_err("another app's media id", 200010, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'file', file => { media_id => $other_mid } });
cgi_err("another app's media id as an mpnews cover", 200010, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'mpnews', mpnews => [ { title => 't', media_id => $other_mid } ] });
cgi_err('a file sent as an image', 200009, $app, '/msg/send',
        { toUser => $carol->{account}, msgType => 'image', image => { media_id => $doc_mid } });
is(msg_state(), $state, 'nothing stored for media errors');

# --- bad input: a clear code and nothing stored --------------------------------
my $long = 'x' x 601;
my @bad = (
    [ 'text of 601 characters', 100003, { msgType => 'text', text => { content => $long } } ],
    [ 'text of 601 CJK characters', 100003, { msgType => 'text', text => { content => '字' x 601 } } ],
    [ 'no msgType', 100003, { text => { content => 'x' } } ],
    [ 'msgType a number', 100003, { msgType => 5, text => { content => 'x' } } ],
    [ 'unknown msgType', 100003, { msgType => 'fax', fax => {} } ],
    [ 'body missing', 100003, { msgType => 'text' } ],
    [ 'text a string', 100003, { msgType => 'text', text => 'hello' } ],
    [ 'text.content a number', 100003, { msgType => 'text', text => { content => 5 } } ],
    [ 'text.content empty', 100003, { msgType => 'text', text => { content => '' } } ],
    [ 'image.media_id a number', 100003, { msgType => 'image', image => { media_id => 5 } } ],
    [ 'image without media_id', 100003, { msgType => 'image', image => {} } ],
    [ 'mpnews empty', 100003, { msgType => 'mpnews', mpnews => [] } ],
    [ 'mpnews of 6 items', 100003, { msgType => 'mpnews', mpnews => [ map { { title => "t$_" } } 1 .. 6 ] } ],
    [ 'mpnews item a string', 100003, { msgType => 'mpnews', mpnews => [ 'x' ] } ],
    [ 'mpnews without title', 100003, { msgType => 'mpnews', mpnews => [ { digest => 'd' } ] } ],
    [ 'mpnews showFront a string', 100003, { msgType => 'mpnews', mpnews => [ { title => 't', showFront => 'yes' } ] } ],
    [ 'mpnews showFront 2', 100003, { msgType => 'mpnews', mpnews => [ { title => 't', showFront => 2 } ] } ],
    [ 'link without url', 100003, { msgType => 'link', link => { title => 't' } } ],
    [ 'link action 5', 100003, { msgType => 'link', link => { title => 't', url => 'u', action => 5 } } ],
    [ 'link title an array', 100003, { msgType => 'link', link => { title => [], url => 'u' } } ],
    [ 'exlink link_type a string', 100003, { msgType => 'exlink', exlink => [ { title => 't', url => 'u', link_type => 'a' } ] } ],
    [ 'exlink an array of numbers', 100003, { msgType => 'exlink', exlink => [ 1 ] } ],
    [ 'toUser a number', 200007, { toUser => 5, msgType => 'text', text => { content => 'x' } } ],
    [ 'toUser an object', 200007, { toUser => {}, msgType => 'text', text => { content => 'x' } } ],
    [ 'toDept not ids', 200007, { toUser => '', toDept => 'sales', msgType => 'text', text => { content => 'x' } } ],
    [ 'toDept an object', 200007, { toUser => '', toDept => { a => 1 }, msgType => 'text', text => { content => 'x' } } ],
    [ 'toGid not ids', 200007, { toUser => '', toGid => 'abc', msgType => 'text', text => { content => 'x' } } ],
    [ 'no receivers', 200007, { toUser => '', toDept => '', msgType => 'text', text => { content => 'x' } } ],
    [ 'null receivers', 200007, { toUser => undef, toDept => undef, msgType => 'text', text => { content => 'x' } } ],
    [ 'toAll without the system message type', 200007, { toUser => '', toAll => { onlyOnline => JSON::PP::false }, msgType => 'text', text => { content => 'x' } } ],
    [ 'toAll a string', 200007, { toUser => $carol->{account}, toAll => 'yes', msgType => 'text', text => { content => 'x' } } ],
);
$state = msg_state();
for my $b (@bad) {
    my ($name, $want, $p) = @$b;
    $p = { toUser => $carol->{account}, %$p } unless exists $p->{toUser};
    my $j = cgi_err($name, $want, $app, '/msg/send', $p);
    ok(length($j->{errmsg} // '') > 10, "$name: errmsg says what is wrong") or diag explain $j;
}
my $sysbad = cgi_err('sysMsg.msg an object', 100003, $sys, '/msg/send',
                     { toUser => $carol->{account}, msgType => 'sysMsg', sysMsg => { title => 't', msg => {} } });
cgi_err('sysMsg.msg item unknown', 100003, $sys, '/msg/send',
        { toUser => $carol->{account}, msgType => 'sysMsg', sysMsg => { title => 't', msg => [ { image => {} } ] } });
cgi_err('sysMsg popDuration a string', 100003, $sys, '/msg/send',
        { toUser => $carol->{account}, msgType => 'sysMsg', sysMsg => { popDuration => 'long', msg => [ { text => { content => 'x' } } ] } });
cgi_err('toAll.onlyOnline a string', 200007, $sys, '/msg/send',
        { toAll => { onlyOnline => 'x' }, msgType => 'sysMsg', sysMsg => { msg => [ { text => { content => 'x' } } ] } });
cgi_err('mail action bad', 100003, $mail, '/msg/send',
        { toUser => $carol->{account}, msgType => 'mail', mail => { action => 'deleted' } });
cgi_err('mail time a string', 100003, $mail, '/msg/send',
        { toUser => $carol->{account}, msgType => 'mail', mail => { time => 'now' } });
cgi_err('sms without from', 100003, $sms, '/msg/send',
        { toUser => $carol->{account}, msgType => 'sms', sms => { content => 'x' } });
is(msg_state(), $state, 'no bad request stored anything');
cgi_ok('text of exactly 600 characters (emoji count as one)', $app, '/msg/send',
       { toUser => $carol->{account}, msgType => 'text', text => { content => ('😀' x 300) . ('字' x 300) } });
is(last_card()->{body}{text}{content}, ('😀' x 300) . ('字' x 300), 'stored whole');

# --- too many receivers -----------------------------------------------------
$state = msg_state();
cgi_err('1001 accounts', 200001, $app, '/msg/send',
        { toUser => join('|', map { "u$_" } 1 .. 1001), msgType => 'text', text => { content => 'x' } });
cgi_err('101 departments', 200001, $app, '/msg/send',
        { toUser => '', toDept => join('|', 1 .. 101), msgType => 'text', text => { content => 'x' } });
cgi_err('1001 accounts as an array', 200001, $app, '/msg/send',
        { toUser => [ map { "u$_" } 1 .. 1001 ], msgType => 'text', text => { content => 'x' } });
is(msg_state(), $state, 'nothing stored');
my $n0 = card_count($app);
my $j = cgi_err('exactly 1000 accounts (999 unknown, a trailing "|")', 200007, $app, '/msg/send',
                { toUser => join('|', (map { "nobody$_" } 1 .. 999), $carol->{account}) . '|',
                  msgType => 'text', text => { content => 'the thousandth' } });
like($j->{errmsg}, qr/nobody1\|nobody2\|.*\|\.\.\.; delivered to the 1 valid receiver/, 'lists the first unknown ones');
is(card_count($app), $n0 + 1, 'the one valid receiver got it');
is(last_card()->{body}{text}{content}, 'the thousandth', 'carol');

done_testing();
