#!/usr/bin/perl
# /cgi/msg/send receivers: toUser, toDept (with sub-departments), toGid,
# toAll and onlyOnline (only without explicit receivers), the app's
# visibility scope, disabled users, unknown names (200007 listing them,
# the valid receivers still get it).

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use Youdu::Test;
use Youdu::Cgi;
use Youdu::Msg;
use Youdu::WS;
use Youdu::AppMsg;

my $d1 = create_dept(name => uniq('Sales'));
my $d2 = create_dept(name => uniq('Sales-East'), parent_id => $d1);
my $d3 = create_dept(name => uniq('Ops'));
my $u1 = mk_user(depts => [$d1]);
my $u2 = mk_user(depts => [$d2]);
my $u3 = mk_user(depts => [$d3]);
my $u4 = mk_user(depts => [$d3]);
my $root = mk_user();

sub got { my ($u, $app) = @_; my (undef, $m) = app_inbox($u, $app); return scalar @$m }
sub text { my ($c) = @_; return (msgType => 'text', text => { content => $c }) }

# --- toUser, toDept with sub-departments, toGid -----------------------------
my $app = cgi_app(name => 'Recv ' . uniq('r'));
cgi_ok('toDept with a sub-department', $app, '/msg/send', { toUser => '', toDept => "$d1", text('d1') });
is(got($u1, $app), 1, 'a member of the department gets it');
is(got($u2, $app), 1, 'a member of its sub-department too');
is(got($u3, $app), 0, 'another department does not');
is(got($root, $app), 0, 'nor the root department\'s members');

cgi_ok('toGid (array) and toUser together', $app, '/msg/send',
       { toUser => $u4->{account}, toGid => [$u3->{id}], text('gid') });
is(got($u3, $app), 1, 'toGid reaches the user with that id');
is(got($u4, $app), 1, 'toUser too');
cgi_ok('toGid as "a|b" and a number toDept', $app, '/msg/send', { toGid => "$u3->{id}|$u4->{id}", toDept => $d2, text('gid2') });
is(got($u3, $app), 2, 'toGid "a|b"');
is(got($u2, $app), 2, 'toDept as a JSON number');
cgi_ok('the same user named twice gets one card', $app, '/msg/send',
       { toUser => "$u1->{account}|$u1->{account}", toDept => "$d1", toGid => "$u1->{id}", text('once') });
is(got($u1, $app), 2, 'one card for a user named three ways');

# --- unknown receivers -------------------------------------------------------
my $n0 = card_count($app);
my $j = cgi_err('unknown accounts', 200007, $app, '/msg/send',
                { toUser => "$u1->{account}|ghost-one|ghost-two", toDept => '999999', toGid => '888888888', text('partial') });
like($j->{errmsg}, qr/ghost-one\|ghost-two/, 'errmsg lists the unknown accounts');
like($j->{errmsg}, qr/dept:999999/, 'and the unknown department');
like($j->{errmsg}, qr/gid:888888888/, 'and the unknown gid');
like($j->{errmsg}, qr/delivered to the 1 valid receiver/, 'and says who got it');
is(got($u1, $app), 3, 'the valid receiver got it (documented choice)');
is(card_count($app), $n0 + 1, 'exactly one card stored');
$j = cgi_err('only unknown accounts', 200007, $app, '/msg/send', { toUser => 'ghost-three', text('none') });
like($j->{errmsg}, qr/ghost-three.*nothing sent/, 'nothing sent, and errmsg says so');
is(card_count($app), $n0 + 1, 'nothing stored');

# --- disabled users ----------------------------------------------------------
my $gone = mk_user(depts => [$d3]);
sql("UPDATE users SET enable_state = -1 WHERE id = $gone->{id}");
cgi_ok('a disabled user is skipped', $app, '/msg/send', { toUser => "$gone->{account}|$u3->{account}", text('dis') });
is(sql("SELECT COUNT(*) FROM conversations WHERE direct_key = 'app:$app->{pk}:$gone->{id}'"), 0,
   'no conversation for the disabled user');
is(got($u3, $app), 3, 'the enabled one got it');

# --- the app's visibility scope ------------------------------------------------
my $scoped = cgi_app(name => 'Scoped ' . uniq('s'));
sql("UPDATE apps SET scope_all = 0 WHERE id = $scoped->{pk}");
sql("INSERT INTO app_scope (app_pk, kind, target_id) VALUES ($scoped->{pk}, 1, $d1), ($scoped->{pk}, 2, $u3->{id})");
cgi_ok('toUser in and out of scope', $scoped, '/msg/send',
       { toUser => join('|', map { $_->{account} } $u1, $u2, $u3, $u4, $root), text('scope') });
is(got($u1, $scoped), 1, 'a user of a scope department gets it');
is(got($u2, $scoped), 1, 'a user of its subtree too');
is(got($u3, $scoped), 1, 'a user in the scope by name too');
is(got($u4, $scoped), 0, 'an outsider does not');
is(got($root, $scoped), 0, 'nor the root department\'s member');
cgi_ok('toDept "0" with a scope', $scoped, '/msg/send', { toUser => '', toDept => '0', text('all') });
is(card_count($scoped), 6, 'everybody means everybody in the scope (3 users)');

# --- toAll, onlyOnline (sysMsg) ------------------------------------------------
my $sys = cgi_app(name => 'SysAll ' . uniq('s'), rights => 1 | 8);
sql("UPDATE apps SET scope_all = 0 WHERE id = $sys->{pk}");
sql("INSERT INTO app_scope (app_pk, kind, target_id) VALUES ($sys->{pk}, 1, $d3)");
my %sysmsg = (msgType => 'sysMsg', sysMsg => { title => 'T', msg => [ { text => { content => 'x' } } ] });

my $ws3 = ws_auth($u3->{token});
my $online;
for (1 .. 50) {
    my (undef, $pj) = api(GET => "/presence?user_ids=$u3->{id}", undef, token => $u3->{token});
    $online = $pj && $pj->{presence} && $pj->{presence}[0]{online};
    last if $online;
    sleep 0.1;
}
ok($online, 'u3 is online (presence)');
cgi_ok('toAll onliyOnline (the doc\'s spelling): only online users', $sys, '/msg/send',
       { toUser => '', toDept => '', toAll => { onliyOnline => JSON::PP::true }, %sysmsg });
is(got($u3, $sys), 1, 'the online user got it');
is(got($u4, $sys), 0, 'the offline one did not');
my $e;
while ($e = ws_json($ws3, 5)) { last if $e->{type} eq 'message' }
is($e && $e->{body}{msgType}, 'sysMsg', 'pushed to the online user');

cgi_ok('toAll onlyOnline false: everybody in scope', $sys, '/msg/send',
       { toAll => { onlyOnline => JSON::PP::false }, %sysmsg });
is(got($u3, $sys), 2, 'u3');
is(got($u4, $sys), 1, 'u4 too');
is(sql("SELECT COUNT(*) FROM conversations WHERE direct_key = 'app:$sys->{pk}:$gone->{id}'"), 0,
   'the disabled user of the scope got nothing');

cgi_ok('toAll with explicit receivers (ADD always sends it): the receivers only', $sys, '/msg/send',
       { toUser => $u4->{account}, toAll => { onliyOnline => JSON::PP::false }, %sysmsg });
is(got($u4, $sys), 2, 'u4 got it');
is(got($u3, $sys), 2, 'u3 (not named) did not');
cgi_ok('toAll {"onlyOnline":true} with toDept', $sys, '/msg/send',
       { toDept => "$d3", toAll => { onlyOnline => JSON::PP::true }, %sysmsg });
is(got($u4, $sys), 3, 'the offline receiver of toDept still gets it: toAll is ignored');
cgi_ok('sysMsgAssistant (built-in) sends system messages', cgi_builtin_app('sysMsgAssistant'), '/msg/send',
       { toUser => $u4->{account}, %sysmsg });
my $sma = { name => sql("SELECT name FROM apps WHERE app_id = 'sysMsgAssistant'") };
is(got($u4, $sma), 1, 'the built-in app\'s conversation has its name');

done_testing();
