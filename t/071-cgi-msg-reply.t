#!/usr/bin/perl
# The user's side of app conversations: replies (text, image, file) are
# stored and queued as app callbacks (PROTOCOL.md 5.3) in the same
# transaction, "enter" events (rate-limited); the badge of
# /cgi/set.ent.notice, /cgi/popwindow (/cgi/popwin) and /cgi/event/publish
# as push events.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Youdu::Test;
use Youdu::Cgi;
use Youdu::Msg;
use Youdu::WS;
use Youdu::AppMsg;

my $J = JSON::PP->new->utf8->canonical;

# a subscriber of yd:callback (the callback worker's wake-up channel)
sub cb_listen {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ENV{TEST_YOUDU_REDIS_PORT})
        or die "redis: $!";
    print $s "*2\r\n\$9\r\nSUBSCRIBE\r\n\$11\r\nyd:callback\r\n";
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $t0 = time;
    sysread($s, $buf, 4096, length $buf) while $buf !~ /:1\r\n/ && time - $t0 < 5 && $sel->can_read(0.1);
    return $s;
}

sub cb_ids {
    my ($s, $wait) = @_;
    my ($buf, $sel, $t0) = ('', IO::Select->new($s), time);
    while (time - $t0 < $wait) {
        sysread($s, $buf, 65536, length $buf) if $sel->can_read(0.05);
    }
    close $s;
    return $buf =~ /yd:callback\r\n\$\d+\r\n(\d+)\r\n/g;
}

sub callbacks { my ($app) = @_; return map { $_->[0] } sql_rows("SELECT id FROM app_callbacks WHERE app_pk = $app->{pk} ORDER BY id") }
sub payload { my ($id) = @_; return $J->decode(sql("SELECT payload FROM app_callbacks WHERE id = $id")) }

my $app = cgi_app(name => 'Helpdesk ' . uniq('h'), callback_url => 'http://127.0.0.1:9/cb');
my $silent = cgi_app(name => 'Silent ' . uniq('s'));
my $u = mk_user();
my $other = mk_user();

cgi_ok('the app writes first', $app, '/msg/send', { toUser => $u->{account}, msgType => 'text', text => { content => 'How can I help?' } });
my $conv = app_conv_of($u, $app);
ok($conv, 'the app conversation exists');

# --- a text reply --------------------------------------------------------------
my $l = cb_listen();
my $t0 = time;
my ($st, $j) = send_text($u, $conv->{id}, 'My laptop is broken');
is($st, 201, 'the user replies in the app conversation (REST send)');
my @cb = callbacks($app);
is(scalar @cb, 1, 'one callback queued');
my $p = payload($cb[0]);
ok(delete($p->{createTime}) >= int($t0) - 1, 'createTime: the Unix time (an integer)');
is_deeply($p, { fromUser => $u->{account}, msgType => 'text', text => { content => 'My laptop is broken' } },
          'the payload of section 5.3');
like(sql("SELECT payload FROM app_callbacks WHERE id = $cb[0]"), qr/"createTime":\d+[,}]/, 'createTime is a JSON integer');
is(sql("SELECT state FROM app_callbacks WHERE id = $cb[0]"), 0, 'pending');
is_deeply([cb_ids($l, 0.5)], [$cb[0]], 'PUBLISH yd:callback <id> after the commit');
my (undef, $m) = app_inbox($u, $app);
is($m->[-1]{sender_id}, $u->{id}, 'the reply is stored like any message');
is($m->[-1]{body}{text}, 'My laptop is broken', 'with its text');

# a resend (same client_msg_id) queues nothing more
($st, $j) = send_text($u, $conv->{id}, 'again', client_msg_id => 'dup-1');
is($st, 201, 'a reply with an id');
($st, $j) = send_text($u, $conv->{id}, 'again', client_msg_id => 'dup-1');
is($j->{duplicate}, JSON::PP::true, 'its resend is a duplicate');
is(scalar(callbacks($app)), 2, 'one callback for both');

# --- image and file replies ------------------------------------------------------
my $png = png_bytes(64, 48);
($st, $j) = api(POST => '/files?name=shot.png', undef, token => $u->{token}, raw => $png, type => 'image/png');
my $img = $j->{file}{id};
($st, $j) = api(POST => '/files?name=log.txt', undef, token => $u->{token}, raw => "error\n" x 20, type => 'text/plain');
my $doc = $j->{file}{id};
($st) = api(POST => "/conversations/$conv->{id}/messages", { client_msg_id => uniq('i'), kind => 'image', file_id => $img },
            token => $u->{token});
is($st, 201, 'an image reply');
($st) = api(POST => "/conversations/$conv->{id}/messages", { client_msg_id => uniq('f'), kind => 'file', file_id => $doc },
            token => $u->{token});
is($st, 201, 'a file reply');
@cb = callbacks($app);
my $pi = payload($cb[-2]);
my $pf = payload($cb[-1]);
is($pi->{msgType}, 'image', 'image callback');
like($pi->{image}{media_id}, qr/^[0-9a-f]{32}$/, 'with a media id');
is_deeply([sort keys %{ $pi->{image} }], ['media_id'], 'image {"media_id"}');
is(sql("SELECT CONCAT(app_pk, ':', file_id, ':', type) FROM app_media WHERE media_id = '$pi->{image}{media_id}'"),
   "$app->{pk}:$img:image", 'the media id is the app\'s, for the user\'s file (media/get can fetch it)');
is_deeply($pf->{file}, { media_id => $pf->{file}{media_id}, name => 'log.txt', size => 120 },
          'file {"media_id","name","size"}');
is(sql("SELECT CONCAT(app_pk, ':', file_id, ':', type) FROM app_media WHERE media_id = '$pf->{file}{media_id}'"),
   "$app->{pk}:$doc:file", 'the file is a media of the app');

# --- an app without a callback URL, other conversations ------------------------------
cgi_ok('the silent app writes', $silent, '/msg/send', { toUser => $u->{account}, msgType => 'text', text => { content => 'hi' } });
my $sconv = app_conv_of($u, $silent);
($st) = send_text($u, $sconv->{id}, 'hello silent');
is($st, 201, 'a reply to an app without a callback URL is stored');
is(scalar(callbacks($silent)), 0, 'and queues nothing');
my $direct = new_conv($u, kind => 'direct', user_id => $other->{id});
my $n = sql("SELECT COUNT(*) FROM app_callbacks");
send_text($u, $direct, 'hi colleague');
is(sql("SELECT COUNT(*) FROM app_callbacks"), $n, 'a direct message queues no callback');

# --- what an app conversation does not allow -------------------------------------
json_err('leaving an app conversation', 403, 40300, DELETE => "/conversations/$conv->{id}/members/$u->{id}", undef, token => $u->{token});
json_err('adding members', 403, 40300, POST => "/conversations/$conv->{id}/members", { user_ids => [$other->{id}] }, token => $u->{token});
json_err('renaming', 403, 40300, PATCH => "/conversations/$conv->{id}", { name => 'mine' }, token => $u->{token});
json_err('forwarding into it', 403, 40300, POST => "/conversations/$conv->{id}/forward",
         { client_msg_id => uniq('fw'), from_conv_id => $direct, seqs => [1] }, token => $u->{token});
($st) = send_text($other, $conv->{id}, 'intruder');
is($st, 404, 'a non-member cannot write into somebody\'s app conversation');

# --- "enter" events ------------------------------------------------------------------
$n = scalar callbacks($app);
$j = json_ok('enter', POST => "/conversations/$conv->{id}/enter", {}, token => $u->{token});
is($j->{notified}, JSON::PP::true, 'the app is notified');
@cb = callbacks($app);
is(scalar @cb, $n + 1, 'one callback');
$p = payload($cb[-1]);
delete $p->{createTime};
is_deeply($p, { fromUser => $u->{account}, msgType => 'event', event => { appId => $app->{app_id}, operation => 'enter' } },
          'event {"appId","operation":"enter"}');
$j = json_ok('enter again at once', POST => "/conversations/$conv->{id}/enter", {}, token => $u->{token});
is($j->{notified}, JSON::PP::false, 'rate-limited: not notified');
is(scalar(callbacks($app)), $n + 1, 'no second callback');
$j = json_ok('enter an app without callback URL', POST => "/conversations/$sconv->{id}/enter", {}, token => $u->{token});
is($j->{notified}, JSON::PP::false, 'nothing to notify');
json_err('enter a direct conversation', 400, 40006, POST => "/conversations/$direct/enter", {}, token => $u->{token});
json_err('enter somebody else\'s', 404, 40401, POST => "/conversations/$conv->{id}/enter", {}, token => $other->{token});

# --- set.ent.notice: badges --------------------------------------------------------
my $ws = ws_auth($u->{token});
my ($code, $nj) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => 3, tip => 'three tasks' });
is($code, 0, 'set.ent.notice') or diag explain $nj;
my $e;
while ($e = ws_json($ws, 5)) { last if $e->{type} eq 'app_notice' }
is_deeply($e, { type => 'app_notice', app_id => $app->{app_id}, app_name => $app->{name}, count => 3,
                tip => 'three tasks', pop_wind => undef }, 'pushed as app_notice');
$j = json_ok('GET /apps/notices', GET => '/apps/notices', undef, token => $u->{token});
is_deeply([map { [@$_{qw(app_id app_name count tip)}] } @{ $j->{notices} }],
          [[$app->{app_id}, $app->{name}, 3, 'three tasks']], 'the badge over REST');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => 5, tip => '',
    pop_wind => { title => 'New', width => 300, height => 200, content => 'c', popMode => 1 } },
    key_name => 'app_Id', form_params => 1);
is($code, 0, 'app_Id spelling, form_params nesting, pop_wind');
while ($e = ws_json($ws, 5)) { last if $e->{type} eq 'app_notice' }
is($e->{count}, 5, 'new count pushed');
is($e->{pop_wind}{title}, 'New', 'with pop_wind');
$j = json_ok('GET /apps/notices again', GET => '/apps/notices', undef, token => $u->{token});
is($j->{notices}[0]{count}, 5, 'updated');
is($j->{notices}[0]{pop_wind}{width}, 300, 'pop_wind kept');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => 0 });
is($code, 0, 'count 0');
while ($e = ws_json($ws, 5)) { last if $e->{type} eq 'app_notice' }
is($e->{count}, 0, 'pushed: cleared');
$j = json_ok('GET /apps/notices after clearing', GET => '/apps/notices', undef, token => $u->{token});
is_deeply($j->{notices}, [], 'no badge left');
is(sql("SELECT COUNT(*) FROM app_notices WHERE user_id = $u->{id}"), 0, 'row deleted');
$n = sql("SELECT COUNT(*) FROM app_notices");
($code) = notice_call($app, '/set.ent.notice', { account => 'ghost-x', count => 1 });
is($code, 300001, 'unknown account: 300001');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => -1 });
is($code, 100003, 'negative count: 100003');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => 'many' });
is($code, 100003, 'count a word: 100003');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account} });
is($code, 100003, 'no count: 100003');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => 1, tip => [] });
is($code, 100003, 'tip an array: 100003');
($code) = notice_call($app, '/set.ent.notice', { account => $u->{account}, count => 1, pop_wind => 'x' });
is($code, 100003, 'pop_wind a string: 100003');
is(sql("SELECT COUNT(*) FROM app_notices"), $n, 'nothing stored for bad input');
my $bad_key = { %$app, key => cgi_key() };
($code) = notice_call($bad_key, '/set.ent.notice', { account => $u->{account}, count => 1 });
is($code, 100006, 'a wrong key: 100006');

# --- popwindow / popwin -------------------------------------------------------------
my $ws2 = ws_auth($other->{token});
($code, $nj) = notice_call($app, '/popwindow', { toUser => "$u->{account}|ghost-p", toDept => '',
    popWindow => { url => 'http://p.example', title => 'Look', width => 400, height => 300,
                   duration => -1, position => 3, notice_id => 'n1', pop_mode => 2 } });
is($code, 200007, 'popwindow with an unknown receiver: 200007');
like($nj->{errmsg}, qr/ghost-p/, 'listing it');
while ($e = ws_json($ws, 5)) { last if $e->{type} eq 'popup' }
is_deeply($e, { type => 'popup', app_id => $app->{app_id}, app_name => $app->{name},
                popWindow => { url => 'http://p.example', tip => '', title => 'Look', width => 400, height => 300,
                               duration => -1, position => 3, notice_id => 'n1', pop_mode => 2 } },
          'the valid receiver gets the popup event');
ok(ws_expect_nothing($ws2, 0.5), 'somebody else gets nothing');
($code) = notice_call($app, '/popwin', { toUser => $other->{account}, popWindow => { tip => 'hello' } });
is($code, 0, '/cgi/popwin (the old path)');
while ($e = ws_json($ws2, 5)) { last if $e->{type} eq 'popup' }
is($e->{popWindow}{tip}, 'hello', 'popup pushed');
is($e->{popWindow}{duration}, 5, 'duration defaults to 5 s');
($code) = notice_call($app, '/popwindow', { toUser => $other->{account}, popWindow => { title => 'no url' } });
is($code, 100003, 'neither url nor tip: 100003');
($code) = notice_call($app, '/popwindow', { toUser => $other->{account}, popWindow => { tip => 't', position => 9 } });
is($code, 100003, 'position 9: 100003');
($code) = notice_call($app, '/popwindow', { toUser => $other->{account}, popWindow => 'x' });
is($code, 100003, 'popWindow a string: 100003');
($code) = notice_call($app, '/popwindow', { popWindow => { tip => 't' } });
is($code, 200007, 'no receivers: 200007');
ok(ws_expect_nothing($ws2, 0.3), 'no popup for bad requests');

# --- event/publish -------------------------------------------------------------------
cgi_ok('event/publish (PopWindowEvent)', $app, '/event/publish', { eventId => 1234567890123, eventType => 'popWindow',
    toGid => [$other->{id}], toUser => '', toDept => '',
    popWindow => { tips => 'call', action => 1, timestamp => 1700000000000, windowType => 'voip',
                   windowInfo => { title => 'Call', width => 200 } } });
while ($e = ws_json($ws2, 5)) { last if $e->{type} eq 'app_event' }
is_deeply($e, { type => 'app_event', app_id => $app->{app_id}, app_name => $app->{name}, eventId => '1234567890123',
                eventType => 'popWindow', popWindow => { tips => 'call', action => 1, timestamp => 1700000000000,
                windowType => 'voip', windowInfo => { title => 'Call', width => 200 } } }, 'pushed as app_event');
cgi_err('event/publish action 3', 100003, $app, '/event/publish',
        { toUser => $other->{account}, popWindow => { action => 3 } });
cgi_err('event/publish windowInfo a string', 100003, $app, '/event/publish',
        { toUser => $other->{account}, popWindow => { windowInfo => 'x' } });
cgi_err('event/publish without a token', 100000, $app, '/event/publish',
        { toUser => $other->{account}, popWindow => {} }, token => '');
ok(ws_expect_nothing($ws2, 0.3), 'nothing pushed for bad requests');

done_testing();
