#!/usr/bin/perl
# /cgi/session/... (PROTOCOL.md 4.8): multi-person sessions are our
# conversations of kind 2; session/send writes as the named user through
# the REST send path (seq, push), into sessions, groups and 1:1 chats.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Encode;
use Compress::Zlib;
use Digest::SHA;
use Youdu::Test;
use Youdu::Msg;
use Youdu::Cgi;

my $LOG_MARK = error_log_mark();   # earlier files SIGKILL workers on purpose
use Youdu::WS;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $app = cgi_builtin_app('sysOrgAssistant');
my $tok = cgi_token($app);
my ($ua, $ub, $uc, $ud, $ue) = map { new_user() } 1 .. 5;

sub call { my ($path, $payload, %o) = @_; return cgi_call($app, $path, $payload, token => $tok, %o) }
sub ok_call { my ($name, @a) = @_; return cgi_ok($name, $app, @a, token => $tok) }
sub err_call { my ($name, $code, @a) = @_; return cgi_err($name, $code, $app, @a, token => $tok) }
sub plain { my ($j) = @_; return (cgi_decrypt($app->{key}, $j->{encrypt}))[0] }

sub ws_msg {
    my ($c, $conv, $kind) = @_;
    while (my $e = ws_json($c, 5)) {
        return $e if ($e->{type} // '') eq 'message' && $e->{conv_id} == $conv && $e->{kind} == $kind;
    }
    return undef;
}

sub messages {
    my ($user, $conv) = @_;
    my ($st, $j) = api(GET => "/conversations/$conv/messages", undef, token => $user->{token});
    return $st == 200 ? @{ $j->{messages} } : ();
}

my @acc = map { $_->{account} } $ua, $ub, $uc;

# --- create -------------------------------------------------------------------
my $before = msg_state();
err_call('create without creator', 300201, '/session/create', { title => 't', member => \@acc });
err_call('create with an unknown creator', 300001, '/session/create',
         { title => 't', creator => 'nobody-' . $$, member => \@acc });
err_call('create with an unknown member', 500007, '/session/create',
         { title => 't', creator => $ua->{account}, member => [@acc, 'nobody-' . $$] });
err_call('create with 2 members', 300212, '/session/create',
         { title => 't', creator => $ua->{account}, member => [$ua->{account}, $ub->{account}] });
err_call('create with the same member twice is still 2', 300212, '/session/create',
         { title => 't', creator => $ua->{account}, member => [$ub->{account}, $ub->{account}] });
err_call('create with member not an array', 300212, '/session/create',
         { title => 't', creator => $ua->{account}, member => $ub->{account} });
err_call('create with a 65-character title', 500003, '/session/create',
         { title => 'x' x 65, creator => $ua->{account}, member => \@acc });
err_call('create with type single', 100003, '/session/create',
         { title => 't', creator => $ua->{account}, type => 'single', member => \@acc });
is(msg_state(), $before, 'failed creates wrote nothing');

my $wb = ws_auth($ub->{token});
my ($code, $s, $j) = call('/session/create',
    { title => '周会', creator => $ua->{account}, type => 'multi', member => [$ub->{account}, $uc->{account}] });
is($code, 0, 'create (creator not listed: he is added)');
my $text = plain($j);
like($text, qr/"sessionId":"[1-9][0-9]*"/, 'sessionId is a JSON string');
like($text, qr/"version":[0-9]+[,}]/, 'version is a JSON integer');
is($s->{title}, '周会', 'title');
is($s->{owner}, $ua->{account}, 'owner is the creator');
is($s->{type}, 'multi', 'type multi');
is_deeply([sort @{ $s->{member} }], [sort @acc], 'member: the three accounts');
my $sid = $s->{sessionId};
is(db("SELECT CONCAT(kind, '/', owner_id, '/', member_count) FROM conversations WHERE id = $sid"),
   "2/$ua->{id}/3", 'a multi conversation owned by the creator');
is(db("SELECT COUNT(*) FROM audit_log WHERE action = 'cgi.session.create' AND target = '$sid' AND actor_id IS NULL"),
   1, 'audited');
my $e = ws_msg($wb, $sid, 6);
ok($e, 'b gets the created event at once');
is($e->{body}{event}, 'created', 'created') if $e;
is($e->{body}{by}, $ua->{id}, 'made by the creator') if $e;
my ($st, $rj) = api(GET => "/conversations/$sid", undef, token => $uc->{token});
is($st, 200, 'c sees the session over REST');
is($rj->{conversation}{kind}, 'multi', 'as a multi conversation');

ok_call('create with type null and the creator listed', '/session/create',
        { title => undef, creator => $ua->{account}, type => undef, member => \@acc });

# --- get ------------------------------------------------------------------------
($code, my $g, $j) = call('/session/get', undef, query => { sessionId => $sid });
is($code, 0, 'get');
is_deeply($g, $s, 'the same session object');
err_call('get without sessionId', 100003, '/session/get', undef);
err_call('get of an unknown session', 500004, '/session/get', undef, query => { sessionId => '99999999' });
err_call('get of a GUID-like id', 500004, '/session/get', undef,
         query => { sessionId => '{B80349F7-F68C-44EB-A0E0-7EF2BA5087AB}' });

# --- update --------------------------------------------------------------------
err_call('update by a non-member', 500005, '/session/update',
         { sessionId => $sid, opUser => $ud->{account}, title => 'x' });
err_call('update by an unknown opUser', 300001, '/session/update',
         { sessionId => $sid, opUser => 'nobody-' . $$, title => 'x' });
err_call('update without opUser', 300201, '/session/update', { sessionId => $sid, title => 'x' });
err_call('update removing the owner', 500005, '/session/update',
         { sessionId => $sid, opUser => $ub->{account}, delMember => [$ua->{account}] });
err_call('update adding an unknown account', 500007, '/session/update',
         { sessionId => $sid, opUser => $ub->{account}, addMember => ['nobody-' . $$] });
err_call('update of an unknown session', 500004, '/session/update',
         { sessionId => '99999999', opUser => $ub->{account}, title => 'x' });

my $v0 = $s->{version};
($code, my $u, $j) = call('/session/update', { sessionId => $sid, opUser => $ub->{account}, title => 'Weekly',
                                               addMember => [$ud->{account}], delMember => [$uc->{account}] });
is($code, 0, 'update title, add d, remove c');
ok(plain($j), 'the reply carries encrypt (Java needs it)');
is($u->{title}, 'Weekly', 'new title');
is_deeply([sort @{ $u->{member} }], [sort $ua->{account}, $ub->{account}, $ud->{account}], 'new members');
is($u->{version}, $v0 + 3, 'version moved by the three events');
my @m = messages($ua, $sid);
is_deeply([map { $_->{body}{event} } @m[-3 .. -1]], ['renamed', 'member_added', 'member_removed'],
          'three events in order');
is($m[-1]{body}{by}, $ub->{id}, 'made by opUser');
($st, $rj) = api(GET => "/conversations/$sid", undef, token => $ud->{token});
is($st, 200, 'd now sees the session');
($code, $u) = call('/session/update', { sessionId => $sid, opUser => $ub->{account} });
is($code, 0, 'update with nothing to change');
is($u->{version}, $v0 + 3, 'changes nothing');

# --- send: text into the session ---------------------------------------------
my $wa = ws_auth($ua->{token});
my $last = db("SELECT last_seq FROM conversations WHERE id = $sid");
($code, my $d, $j) = call('/session/send', { sender => $ub->{account}, sessionId => $sid, msgType => 'text',
                                             text => { content => "hello\nteam" } });
is($code, 0, 'send text');
ok(!exists $j->{encrypt}, 'a global reply');
$e = ws_msg($wa, $sid, 1);
ok($e, 'a gets the message pushed');
if ($e) {
    is($e->{seq}, $last + 1, 'with the next seq');
    is($e->{sender_id}, $ub->{id}, 'from the sender');
    is($e->{body}{text}, "hello\nteam", 'the text');
}
@m = messages($ud, $sid);
is($m[-1]{kind}, 1, 'd reads it over REST');
is($m[-1]{sender_id}, $ub->{id}, 'sent by b');
is_deeply($m[-1]{body}{mentions}, [], 'with the body of a REST text');

err_call('send by a removed member', 500005, '/session/send',
         { sender => $uc->{account}, sessionId => $sid, msgType => 'text', text => { content => 'x' } });
err_call('send by an unknown sender', 300001, '/session/send',
         { sender => 'nobody-' . $$, sessionId => $sid, msgType => 'text', text => { content => 'x' } });
err_call('send without sender', 300201, '/session/send',
         { sessionId => $sid, msgType => 'text', text => { content => 'x' } });
err_call('send without sessionId or receiver', 100003, '/session/send',
         { sender => $ub->{account}, msgType => 'text', text => { content => 'x' } });
err_call('send with both', 100003, '/session/send',
         { sender => $ub->{account}, sessionId => $sid, receiver => $ua->{account}, msgType => 'text', text => { content => 'x' } });
err_call('send with an unknown msgType', 100003, '/session/send',
         { sender => $ub->{account}, sessionId => $sid, msgType => 'mpnews', mpnews => {} });
err_call('send text without content', 100003, '/session/send',
         { sender => $ub->{account}, sessionId => $sid, msgType => 'text', text => {} });
err_call('send text of 5001 characters', 100003, '/session/send',
         { sender => $ub->{account}, sessionId => $sid, msgType => 'text', text => { content => 'x' x 5001 } });
err_call('send into an unknown session', 500004, '/session/send',
         { sender => $ub->{account}, sessionId => '99999999', msgType => 'text', text => { content => 'x' } });

# --- send: 1:1 by receiver ------------------------------------------------------
my $we = ws_auth($ue->{token});
ok_call('send 1:1 to a receiver without a conversation yet', '/session/send',
        { sender => $ua->{account}, receiver => $ue->{account}, msgType => 'text', text => { content => 'hi e' } });
my $key = $ua->{id} < $ue->{id} ? "$ua->{id}:$ue->{id}" : "$ue->{id}:$ua->{id}";
my $dm = db("SELECT id FROM conversations WHERE direct_key = '$key'");
ok($dm, 'the direct conversation was made');
$e = ws_msg($we, $dm, 1);
is($e && $e->{body}{text}, 'hi e', 'e gets it pushed');
($st, $rj) = api(GET => '/conversations', undef, token => $ue->{token});
my ($c) = grep { $_->{id} == $dm } @{ $rj->{conversations} || [] };
is($c && $c->{kind}, 'direct', 'e lists the direct conversation');
ok_call('a second 1:1 send', '/session/send',
        { sender => $ua->{account}, receiver => $ue->{account}, msgType => 'text', text => { content => 'again' } });
is(db("SELECT COUNT(*) FROM conversations WHERE direct_key = '$key'"), 1, 'into the same conversation');
is(db("SELECT last_seq FROM conversations WHERE id = $dm"), 2, 'seq 2');
($st, $rj) = api(POST => '/conversations', { kind => 'direct', user_id => $ua->{id} }, token => $ue->{token});
is($rj->{conversation}{id}, $dm, 'the REST direct endpoint finds the same one');
err_call('send 1:1 to an unknown receiver', 300001, '/session/send',
         { sender => $ua->{account}, receiver => 'nobody-' . $$, msgType => 'text', text => { content => 'x' } });
err_call('send 1:1 to oneself', 300001, '/session/send',
         { sender => $ua->{account}, receiver => $ua->{account}, msgType => 'text', text => { content => 'x' } });

# concurrent first sends to a new peer: one conversation, every message once
my $uf = new_user();
my @kids;
for my $i (1 .. 6) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my ($c) = eval { cgi_call($app, '/session/send', { sender => $uc->{account}, receiver => $uf->{account},
                                                           msgType => 'text', text => { content => "race $i" } }, token => $tok) };
        exit(defined $c && $c == 0 ? 0 : 1);
    }
    push @kids, $pid;
}
my $kid_fail = 0;
for (@kids) { waitpid($_, 0); $kid_fail++ if $? }
is($kid_fail, 0, 'six concurrent 1:1 sends all succeed');
my $rkey = $uc->{id} < $uf->{id} ? "$uc->{id}:$uf->{id}" : "$uf->{id}:$uc->{id}";
is(db("SELECT COUNT(*) FROM conversations WHERE direct_key = '$rkey'"), 1, 'into one direct conversation');
my $rc = db("SELECT id FROM conversations WHERE direct_key = '$rkey'");
is(db("SELECT CONCAT(COUNT(*), '/', MIN(seq), '/', MAX(seq), '/', COUNT(DISTINCT body)) FROM messages WHERE conv_id = $rc"),
   '6/1/6/6', 'six messages, seq 1..6 without gaps');
is(db("SELECT COUNT(*) FROM conversation_members WHERE conv_id = $rc"), 2, 'two members');

# --- send into a group (a group id is a session id) ----------------------------------
my $gid = (call('/group/create', { name => 'G' }))[1]{id};
ok_call('add a and b to a group', '/group/addmember', { id => $gid, userList => [$ua->{account}, $ub->{account}] });
ok_call('send into the group', '/session/send',
        { sender => $ua->{account}, sessionId => $gid, msgType => 'text', text => { content => 'to the group' } });
@m = messages($ub, $gid);
is($m[-1]{body}{text}, 'to the group', 'b reads it in the group');
err_call('a non-member cannot send into the group', 500005, '/session/send',
         { sender => $uc->{account}, sessionId => $gid, msgType => 'text', text => { content => 'x' } });

# --- media: app uploads (app_media rows) --------------------------------------
sub chunk { my ($t, $d) = @_; my $c = $t . $d; return pack('N', length $d) . $c . pack('N', Compress::Zlib::crc32($c)) }
my $rows = join '', map { "\0" . ("\x10\x20\x30" x 4) } 1 .. 4;
my $png = "\x89PNG\r\n\x1a\n" . chunk('IHDR', pack('NNC5', 4, 4, 8, 2, 0, 0, 0))
        . chunk('IDAT', Compress::Zlib::compress($rows)) . chunk('IEND', '');
my $uploader = new_user();
sub upload {
    my ($name, $bytes, $type) = @_;
    my ($st, $j) = api(POST => "/files?name=$name", undef, token => $uploader->{token}, raw => $bytes, type => $type);
    die "upload failed: $st" unless $st == 201;
    return $j->{file}{id};
}
my %media;
my @mt = ([image => 'p.png', $png, 'image/png'], [file => 'r.pdf', '%PDF-1.4 report', 'application/pdf'],
          [voice => 'v.amr', "#!AMR\n" . ('v' x 50), 'audio/amr'], [video => 'm.mp4', 'mp4data' x 10, 'video/mp4']);
for (@mt) {
    my ($type, $name, $bytes, $mime) = @$_;
    my $fid = upload($name, $bytes, $mime);
    my $mid = substr(Digest::SHA::sha1_hex("$type$$" . rand), 0, 32);
    sql("INSERT INTO app_media (media_id, app_pk, file_id, type) VALUES ('$mid', $app->{pk}, $fid, '$type')");
    $media{$type} = { id => $mid, file => $fid };
}
my %want_kind = (image => 2, file => 3, voice => 3, video => 3);
for my $type (qw(image file voice video)) {
    my $seq = db("SELECT last_seq FROM conversations WHERE id = $sid") + 1;
    my $body = { media_id => $media{$type}{id} };
    $body->{name} = 'Q3 report.pdf' if $type eq 'file';
    ok_call("send $type", '/session/send', { sender => $ud->{account}, sessionId => $sid, msgType => $type, $type => $body });
    my ($msg) = grep { $_->{seq} == $seq } messages($ub, $sid);
    ok($msg, "$type: b reads it at seq $seq") or next;
    is($msg->{kind}, $want_kind{$type}, "$type: kind $want_kind{$type}");
    is($msg->{sender_id}, $ud->{id}, "$type: sent by d");
    is($msg->{body}{file_id}, $media{$type}{file}, "$type: the uploaded file");
    is($msg->{body}{media_type}, $type, "$type: media type noted") if $type eq 'voice' || $type eq 'video';
    is($msg->{body}{name}, 'Q3 report.pdf', 'file: the given name') if $type eq 'file';
    is($msg->{body}{width}, 4, 'image: its width') if $type eq 'image';
    my ($fst, undef, $bytes) = api(GET => "/files/$media{$type}{file}", undef, token => $ub->{token});
    is($fst, 200, "$type: b may download the file");
}
my ($fst) = api(GET => "/files/$media{file}{file}", undef, token => $ue->{token});
is($fst, 404, 'a user outside the session may not');

err_call('image with a media that is not an image', 200009, '/session/send',
         { sender => $ud->{account}, sessionId => $sid, msgType => 'image', image => { media_id => $media{file}{id} } });
err_call('an unknown media_id', 200010, '/session/send',
         { sender => $ud->{account}, sessionId => $sid, msgType => 'file', file => { media_id => 'f' x 32 } });
err_call('no media_id', 200010, '/session/send',
         { sender => $ud->{account}, sessionId => $sid, msgType => 'file', file => {} });
my $other = cgi_app(rights => 7);
my ($ost) = cgi_call($other, '/session/send',
         { sender => $ud->{account}, sessionId => $sid, msgType => 'file', file => { media_id => $media{file}{id} } });
is($ost, 200010, "another app cannot send this app's media");

# --- rights ------------------------------------------------------------------------
my $custom = cgi_app(rights => 1);
cgi_err('a custom app cannot send', 3, $custom, '/session/send',
        { sender => $ua->{account}, sessionId => $sid, msgType => 'text', text => { content => 'x' } });
cgi_err('nor get', 3, $custom, '/session/get', undef, query => { sessionId => $sid });

unlike(error_log_since($LOG_MARK), qr/\[alert\]|AddressSanitizer/, 'no alert in the error log');

done_testing();
