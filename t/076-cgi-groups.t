#!/usr/bin/perl
# /cgi/group/... (PROTOCOL.md 4.7): groups are conversations of kind 3;
# members added by an app see the group over REST and get the push event.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Encode;
use Youdu::Test;
use Youdu::Msg;
use Youdu::Cgi;

my $LOG_MARK = error_log_mark();   # earlier files SIGKILL workers on purpose
use Youdu::WS;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $J = JSON::PP->new->utf8->canonical;
my $app = cgi_builtin_app('sysOrgAssistant');
my $tok = cgi_token($app);
my ($ua, $ub, $uc) = map { new_user() } 1 .. 3;

sub call { my ($path, $payload, %o) = @_; return cgi_call($app, $path, $payload, token => $tok, %o) }
sub ok_call { my ($name, @a) = @_; return cgi_ok($name, $app, @a, token => $tok) }
sub err_call { my ($name, $code, @a) = @_; return cgi_err($name, $code, $app, @a, token => $tok) }
# the decrypted reply as text (to see JSON types)
sub plain { my ($j) = @_; return (cgi_decrypt($app->{key}, $j->{encrypt}))[0] }

# events of a kind on a WebSocket connection within a few seconds
sub ws_events {
    my ($c, $n, $t) = @_;
    my @e;
    while (@e < $n and my $e = ws_json($c, $t // 5)) { push @e, $e if ($e->{type} // '') eq 'message' }
    return @e;
}

# the first system event "name" of conversation conv (others skipped)
sub ws_find {
    my ($c, $conv, $name) = @_;
    while (my $e = ws_json($c, 5)) {
        return $e if ($e->{type} // '') eq 'message' && $e->{conv_id} == $conv
                     && ($e->{body}{event} // '') eq $name;
    }
    return undef;
}

# --- create -----------------------------------------------------------------
my $before = msg_state();
err_call('create without a name', 500001, '/group/create', {});
err_call('create with an empty name', 500001, '/group/create', { name => '' });
err_call('create with a name that is not a string', 500002, '/group/create', { name => [1] });
err_call('create with a control character', 500002, '/group/create', { name => "a\nb" });
err_call('create with 33 characters', 500003, '/group/create', { name => 'é' x 33 });
is(msg_state(), $before, 'failed creates wrote nothing');

my ($code, $data, $j) = call('/group/create', { name => '项目组 Alpha' });
is($code, 0, 'create: errcode 0');
my $text = plain($j);
like($text, qr/^\{"id":"[1-9][0-9]*"\}$/, 'create: {"id": "<digits>"}, the id is a JSON string and alone');
my $gid = $data->{id};
is(Encode::decode_utf8(db("SELECT CONCAT(kind, '/', name, '/', IFNULL(owner_id, 'none'), '/', member_count) FROM conversations WHERE id = $gid")),
   '3/项目组 Alpha/none/0', 'a group conversation without owner or members');
is(db("SELECT COUNT(*) FROM audit_log WHERE action = 'cgi.group.create' AND target = '$gid' "
      . "AND actor_id IS NULL AND detail LIKE '%sysOrgAssistant%'"), 1, 'audited as the app');
is(db("SELECT CONCAT(kind, ' ', JSON_VALUE(body, '\$.event'), ' ', JSON_VALUE(body, '\$.by_app')) FROM messages WHERE conv_id = $gid AND seq = 1"),
   '6 created sysOrgAssistant', 'the created event names the app');
ok(db("SELECT JSON_VALUE(body, '\$.by') IS NULL FROM messages WHERE conv_id = $gid AND seq = 1"), 'by is null');

# --- list and info -----------------------------------------------------------
($code, $data, $j) = call('/group/list', undef);
is($code, 0, 'list without userId');
my ($item) = grep { $_->{id} eq $gid } @{ $data->{groupList} };
ok($item, 'the new group is listed');
is($item->{name}, '项目组 Alpha', 'with its name') if $item;
like(plain($j), qr/"id":"$gid"/, 'list ids are JSON strings');
unlike(plain($j), qr/"id":\d/, 'no list id is a number');

($code, $data, $j) = call('/group/info', undef, query => { id => $gid });
is($code, 0, 'info');
is($data->{id}, $gid, 'info id');
like(plain($j), qr/"id":"$gid"/, 'info id is a string');
is($data->{name}, '项目组 Alpha', 'info name');
is_deeply($data->{members}, [], 'no members yet: an empty array, not null');
like(plain($j), qr/"members":\[\]/, 'members is []');

err_call('info without id', 500006, '/group/info', undef);
err_call('info with a malformed id', 500008, '/group/info', undef, query => { id => 'abc' });
err_call('info of an unknown group', 500004, '/group/info', undef, query => { id => '99999999' });
my $direct = new_conv($ua, kind => 'direct', user_id => $ub->{id});
err_call('info of a conversation that is not a group', 500004, '/group/info', undef, query => { id => $direct });

# --- addmember: real-time for the new members --------------------------------
my $wa = ws_auth($ua->{token});
my $wb = ws_auth($ub->{token});

$before = msg_state();
err_call('addmember without userList', 300204, '/group/addmember', { id => $gid });
err_call('addmember with a userList that is not an array', 300212, '/group/addmember',
         { id => $gid, userList => $ua->{account} });
err_call('addmember with an unknown account', 500007, '/group/addmember',
         { id => $gid, userList => [$ua->{account}, 'nobody-' . $$] });
err_call('addmember without id', 500006, '/group/addmember', { userList => [$ua->{account}] });
err_call('addmember to an unknown group', 500004, '/group/addmember', { id => '99999999', userList => [$ua->{account}] });
is(msg_state(), $before, 'failed addmember wrote nothing');

ok_call('addmember a and b', '/group/addmember', { id => $gid, userList => [$ua->{account}, $ub->{account}, $ua->{account}] });
for ([$wa, 'a'], [$wb, 'b']) {
    my ($c, $who) = @$_;
    my ($e) = ws_events($c, 1);
    ok($e, "$who gets a push event") or next;
    is($e->{conv_id}, $gid, "$who: for the group");
    is($e->{kind}, 6, "$who: a system event");
    is($e->{body}{event}, 'member_added', "$who: member_added");
    is_deeply([sort @{ $e->{body}{user_ids} }], [sort { $a <=> $b } $ua->{id}, $ub->{id}], "$who: lists both, once each");
}
my ($st, $rj) = api(GET => '/conversations', undef, token => $ua->{token});
my ($conv) = grep { $_->{id} == $gid } @{ $rj->{conversations} || [] };
ok($conv, 'a sees the group in his conversation list');
is($conv->{kind}, 'group', 'as a group') if $conv;
is($conv->{name}, '项目组 Alpha', 'with its name') if $conv;
($st, $rj) = api(GET => "/conversations/$gid/messages", undef, token => $ub->{token});
is($st, 200, 'b reads the group');
is($rj->{messages}[-1]{body}{event}, 'member_added', 'from the event that added him');

ok_call('addmember again: nothing new is a success', '/group/addmember', { id => $gid, userList => [$ua->{account}] });
is(db("SELECT last_seq FROM conversations WHERE id = $gid"), 2, 'and appends no event');

($code, $data, $j) = call('/group/info', undef, query => { id => $gid });
is_deeply([sort map { $_->{account} } @{ $data->{members} }], [sort $ua->{account}, $ub->{account}], 'info lists the members');
ok(!grep({ !defined $_->{mobile} || ref $_->{mobile} } @{ $data->{members} }), 'mobile is always a string');
is(($data->{members}[0] || {})->{name}, ($data->{members}[0]{account} eq $ua->{account} ? $ua : $ub)->{name}, 'with names');

# --- ismember -----------------------------------------------------------------
($code, $data, $j) = call('/group/ismember', undef, query => { id => $gid, userId => $ua->{account} });
is($code, 0, 'ismember');
like(plain($j), qr/^\{"belong":true\}$/, 'a belongs: a JSON true');
($code, $data, $j) = call('/group/ismember', undef, query => { id => $gid, userId => $uc->{account} });
like(plain($j), qr/^\{"belong":false\}$/, 'c does not');
err_call('ismember of an unknown account', 500007, '/group/ismember', undef, query => { id => $gid, userId => 'nobody-' . $$ });
err_call('ismember without userId', 300201, '/group/ismember', undef, query => { id => $gid });
err_call('ismember of an unknown group', 500004, '/group/ismember', undef, query => { id => '99999999', userId => $ua->{account} });

# --- list by user ---------------------------------------------------------------
($code, $data) = call('/group/list', undef, query => { userId => $ua->{account} });
ok((grep { $_->{id} eq $gid } @{ $data->{groupList} }), 'list?userId=a has the group');
($code, $data, $j) = call('/group/list', undef, query => { userId => $uc->{account} });
is_deeply($data->{groupList}, [], 'list?userId=c: an empty array');
err_call('list of an unknown user', 500007, '/group/list', undef, query => { userId => 'nobody-' . $$ });

# --- update ---------------------------------------------------------------------
err_call('update without a name', 500001, '/group/update', { id => $gid });
err_call('update with 33 characters', 500003, '/group/update', { id => $gid, name => 'x' x 33 });
err_call('update of an unknown group', 500004, '/group/update', { id => '99999999', name => 'x' });
ok_call('update the name', '/group/update', { id => $gid, name => 'Beta' });
my ($e) = ws_events($wa, 1);
is($e && $e->{body}{event}, 'renamed', 'a gets the renamed event');
($st, $rj) = api(GET => "/conversations/$gid", undef, token => $ua->{token});
is($rj->{conversation}{name}, 'Beta', 'the REST conversation has the new name');
ws_events($wb, 1, 2);

# --- delmember --------------------------------------------------------------------
err_call('delmember with an unknown account', 500007, '/group/delmember', { id => $gid, userList => ['nobody-' . $$] });
ok_call('delmember b', '/group/delmember', { id => $gid, userList => [$ub->{account}] });
($e) = ws_events($wb, 1);
is($e && $e->{body}{event}, 'member_removed', 'b hears he was removed');
($code, $data, $j) = call('/group/ismember', undef, query => { id => $gid, userId => $ub->{account} });
like(plain($j), qr/"belong":false/, 'b no longer belongs');
($st, $rj) = send_text($ub, $gid, 'still here?');
is($st, 403, 'b cannot write any more');
ok_call('delmember of a non-member is a no-op', '/group/delmember', { id => $gid, userList => [$uc->{account}] });

# a group created by a user: its owner cannot be removed by the API
my $ugid = new_conv($ua, kind => 'group', name => 'Users group', user_ids => [$ub->{id}]);
err_call('the owner of a user group cannot be removed', 500005, '/group/delmember',
         { id => "$ugid", userList => [$ua->{account}] });
($code, $data) = call('/group/info', undef, query => { id => $ugid });
is($data->{master}, $ua->{id}, 'info of a user group: master is the owner');
is_deeply($data->{admins}, [$ua->{account}], 'admins lists the owner');

# --- delete: GET ?id=, HDJ ?groupId=, GP POST {"id"} ---------------------------
ok_call('delete with GET ?id=', '/group/delete', undef, query => { id => $gid });
ok(ws_find($wa, $gid, 'dissolved'), 'a hears the group was dissolved');
err_call('info after delete', 500004, '/group/info', undef, query => { id => $gid });
err_call('delete again', 500004, '/group/delete', undef, query => { id => $gid });
($st, $rj) = api(GET => '/conversations', undef, token => $ua->{token});
ok(!(grep { $_->{id} == $gid } @{ $rj->{conversations} || [] }), 'the group left a\'s list');
($code, $data) = call('/group/list', undef);
ok(!(grep { $_->{id} eq $gid } @{ $data->{groupList} }), 'and the group list');

my $g2 = (call('/group/create', { name => 'HDJ' }))[1]{id};
ok_call('delete with ?groupId= (HDJ)', '/group/delete', undef, query => { groupId => $g2 });
is(db("SELECT dissolved_at IS NOT NULL FROM conversations WHERE id = $g2"), 1, 'dissolved');
my $g3 = (call('/group/create', { name => 'GP' }))[1]{id};
ok_call('delete with a POST envelope {"id"} (GP)', '/group/delete', { id => $g3 });
is(db("SELECT dissolved_at IS NOT NULL FROM conversations WHERE id = $g3"), 1, 'dissolved');
my $g4 = (call('/group/create', { name => 'num' }))[1]{id};
ok_call('an id sent as a JSON number is accepted', '/group/update', { id => $g4 + 0, name => 'n2' });
ok_call('paths are case-insensitive', '/Group/Info', undef, query => { id => $g4 });
err_call('delete without an id', 500006, '/group/delete', undef);

# --- rights ------------------------------------------------------------------------
my $custom = cgi_app(rights => 1);
cgi_err('a custom app without the group right', 3, $custom, '/group/create', { name => 'x' });
cgi_err('nor list', 3, $custom, '/group/list', undef);
my $before_s = db("SELECT COUNT(*) FROM conversations");
cgi_err('nor session/create', 3, $custom, '/session/create',
        { title => 't', creator => $ua->{account}, member => [$ua->{account}, $ub->{account}, $uc->{account}] });
is(db("SELECT COUNT(*) FROM conversations"), $before_s, 'nothing created');

# --- hostile input: every field of every route with every JSON type ---------------
my $fg = (call('/group/create', { name => 'fuzz' }))[1]{id};
my %fields = (
    '/group/create' => [qw(name)], '/group/delete' => [qw(id groupId)],
    '/group/update' => [qw(id name)], '/group/info' => [qw(id)], '/group/list' => [qw(userId)],
    '/group/addmember' => [qw(id userList)], '/group/delmember' => [qw(id userList)],
    '/group/ismember' => [qw(id userId)],
    '/session/create' => [qw(title creator type member)], '/session/get' => [qw(sessionId)],
    '/session/update' => [qw(sessionId opUser title addMember delMember)],
    '/session/send' => [qw(sender sessionId receiver msgType text image file voice video)],
);
my @values = (undef, 0, -1, 9e18, 1.5, '', ' ', "\x{0}", 'x' x 70000, 'ÿ' x 40, [], [undef], [[]], [{}], [1, 2],
              ['nobody'], {}, { content => [] }, { media_id => {} }, JSON::PP::true, '{B80349F7-F68C}');
my $bad = 0;
my $n = 0;
for my $path (sort keys %fields) {
    for my $f (@{ $fields{$path} }) {
        for my $v (@values) {
            my %p = (id => $fg, name => 'ok', userList => [$ua->{account}], sender => $ua->{account},
                     msgType => 'text', text => { content => 'x' }, creator => $ua->{account},
                     member => [$ua->{account}, $ub->{account}, $uc->{account}], opUser => $ua->{account});
            $p{$f} = $v;
            $n++;
            my ($c, $d, $jj) = eval { call($path, \%p) };
            if (!defined $c || $c !~ /^-?\d+\z/ || $c == -1 || !defined $jj->{errmsg}) {
                $bad++;
                diag("$path $f: " . ($@ || JSON::PP->new->allow_nonref->encode($jj)));
            }
        }
    }
}
is($bad, 0, "$n hostile payloads: HTTP 200, an integer errcode (never -1) and an errmsg every time");

unlike(error_log_since($LOG_MARK), qr/\[alert\]|AddressSanitizer/, 'no alert in the error log');

done_testing();
