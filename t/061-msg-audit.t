#!/usr/bin/perl
# Message audit (PROTOCOL.md section 5.3, the built-in app sysMsgMonitor):
# while the app is enabled with a key and a callback URL, every message a
# user stores is queued as a callback to it in the same transaction, with
# the section 5.3 shapes; its files become media of the app.  Off: nothing.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use Youdu::Test;
use Youdu::Msg;
use Youdu::Cgi;

my $J = JSON::PP->new->utf8->canonical;
my ($ua, $ub, $uc) = map { new_user() } 1 .. 3;
my $dm = new_conv($ua, kind => 'direct', user_id => $ub->{id});
my $grp = new_conv($ua, kind => 'group', name => 'Audited', user_ids => [$ub->{id}, $uc->{id}]);

sub audit_rows {
    my ($since) = @_;
    return map { $J->decode($_->[0]) } sql_rows(
        "SELECT c.payload FROM app_callbacks c JOIN apps a ON a.id = c.app_pk "
        . "WHERE a.app_id = 'sysMsgMonitor' AND c.id > $since ORDER BY c.id");
}
sub last_id { sql("SELECT COALESCE(MAX(id), 0) FROM app_callbacks") }

# off (no key): nothing is queued
sql("UPDATE apps SET aes_key = NULL, callback_url = '' WHERE app_id = 'sysMsgMonitor'");
my $mark = last_id();
my ($st) = send_text($ua, $dm, 'not audited');
is($st, 201, 'a message while auditing is off');
is(scalar(audit_rows($mark)), 0, 'nothing is queued for the monitor');

# on: refused port, so rows stay in the queue where the test reads them
my $mon = cgi_builtin_app('sysMsgMonitor', callback_url => 'http://127.0.0.1:9/audit');
sleep 5.5;   # each worker re-reads the monitor's set-up every 5 s
$mark = last_id();
($st) = send_text($ua, $dm, 'hello B');
is($st, 201, 'a 1:1 message');
($st) = send_text($ub, $grp, 'hello group');
is($st, 201, 'a group message');
my ($fst, $fj) = api(POST => '/files?name=plan.txt', undef, token => $uc->{token},
                     raw => 'the plan', type => 'text/plain');
is($fst, 201, 'a file uploaded');
my ($mst) = api(POST => "/conversations/$grp/messages",
                { client_msg_id => uniq('af'), kind => 'file', file_id => $fj->{file}{id} },
                token => $uc->{token});
is($mst, 201, 'a file message');

my @rows = audit_rows($mark);
is(scalar(@rows), 3, 'three copies queued, one per message');
my ($d, $g, $f) = @rows;
is($d->{msgType}, 'text', '1:1: msgType text');
is($d->{text}{content}, 'hello B', '1:1: the content');
is($d->{fromUser}, $ua->{account}, '1:1: fromUser is the sender account');
is($d->{receiver}, $ub->{account}, '1:1: receiver is the other member');
like($d->{createTime}, qr/^\d{10}$/, 'createTime in Unix seconds');
like($d->{msgId}, qr/^\d+$/, 'msgId an integer');
is($g->{sessionId}, "$grp", 'group: sessionId is the conversation id, a string');
ok(!exists $g->{receiver}, 'group: no receiver');
is($g->{fromUser}, $ub->{account}, 'group: fromUser');
is($g->{text}{content}, 'hello group', 'group: the content');
is($f->{msgType}, 'file', 'file: msgType file');
is($f->{file}{name}, 'plan.txt', 'file: the name');
is($f->{file}{size}, 8, 'file: the size');
like($f->{file}{media_id}, qr/^[0-9a-f]{32}$/, 'file: a media id');
is(sql("SELECT COUNT(*) FROM app_media WHERE media_id = '$f->{file}{media_id}' AND app_pk = $mon->{pk}"), 1,
   'the media id belongs to the monitor');
my ($code, $data) = cgi_call($mon, '/media/search', { mediaId => $f->{file}{media_id} });
is($code, 0, 'the monitor may look its media up (no message right needed)');
is_deeply($data, { name => 'plan.txt', size => 8 }, 'name and size');
($code) = cgi_call($mon, '/msg/send', { toUser => $ua->{account}, msgType => 'text', text => { content => 'x' } });
is($code, 3, 'but it may not send messages');

# a resend (same client id) is not a second message, nor a second copy
$mark = last_id();
my $cid = uniq('dup');
send_text($ua, $dm, 'once', client_msg_id => $cid);
send_text($ua, $dm, 'once', client_msg_id => $cid);
is(scalar(audit_rows($mark)), 1, 'a resend is audited once');

# disabled again: nothing (after the workers' 5 s re-read)
sql("UPDATE apps SET enabled = 0 WHERE app_id = 'sysMsgMonitor'");
sleep 5.5;
$mark = last_id();
send_text($ua, $grp, 'after the monitor was switched off');
is(scalar(audit_rows($mark)), 0, 'a disabled monitor gets nothing');
sql("UPDATE apps SET enabled = 1, aes_key = NULL, callback_url = '' WHERE app_id = 'sysMsgMonitor'");

done_testing();
