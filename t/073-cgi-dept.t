#!/usr/bin/perl
# /cgi/dept/* (PROTOCOL.md 4.4): every endpoint with the built-in org app,
# each section 6 code, the SDKs' request shapes, and the org write protocol
# (version, change feed, REST view, audit) behind every write.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Youdu::Test;
use Youdu::Cgi;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $J = JSON::PP->new->utf8->canonical;
my $org = cgi_builtin_app('sysOrgAssistant');
my $tok = cgi_token($org);
my $admin = admin_token();

sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }
sub ver { db("SELECT version FROM org_state WHERE id = 1") }
sub ok_ { my ($n, $p, $pl, %o) = @_; cgi_ok($n, $org, $p, $pl, token => $tok, %o) }
sub err_ { my ($n, $c, $p, $pl, %o) = @_; cgi_err($n, $c, $org, $p, $pl, token => $tok, %o) }
# the decrypted plaintext of a reply, to check JSON types
sub plain { my ($j) = @_; (cgi_decrypt($org->{key}, $j->{encrypt}))[0] }

# --- rights: a custom app without the org right gets 3 ----------------------
my $custom = cgi_app(rights => 1);
my $v0 = ver();
cgi_err('custom app: dept/create', 3, $custom, '/dept/create', { name => 'x', parentId => 0 });
cgi_err('custom app: dept/list', 3, $custom, '/dept/list', undef, query => { id => 0 });
is(ver(), $v0, 'nothing written for the custom app');

# --- create -----------------------------------------------------------------
my $name = 'Dept ' . uniq('c');
my $j = cgi_call($org, '/dept/create', { name => $name, parentId => 0 }, token => $tok);
my ($code, $d, $raw) = cgi_call($org, '/dept/create', { name => "$name-b", parentId => 0 }, token => $tok);
is($code, 0, 'create without id');
like(plain($raw), qr/^\{"id":\d+\}$/, 'reply enc{"id":int}');
my $a_id = $d->{id};
ok($a_id > 0, 'an id was chosen');
is(db("SELECT name FROM departments WHERE id = $a_id"), "$name-b", 'the row exists');
is(db("SELECT parent_id FROM departments WHERE id = $a_id"), 0, 'under the root');

my $v1 = ver();
ok($v1 > $v0, 'org version bumped');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = $v1 AND kind = 1 AND target_id = $a_id AND op = 1"), 1,
   'an org_changes row');
my $audit = db("SELECT CONCAT(IFNULL(actor_id, 'NULL'), ' ', action, ' ', target) FROM audit_log ORDER BY id DESC LIMIT 1");
is($audit, "NULL cgi.dept.create $a_id", 'audit: actor NULL, action cgi.dept.create');
like(db("SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1"), qr/"app_id":"sysOrgAssistant"/, 'audit detail names the app');

# visible in the REST org API and the change feed
my ($eid, $eacc, $epw) = create_user();
my $emp = login_as($eacc, $epw);
my $r = json_ok('REST sees it', GET => "/org/departments/$a_id", undef, token => $emp);
is($r->{department}{name}, "$name-b", 'REST department name');
$r = json_ok('change feed', GET => '/org/changes?since=' . ($v1 - 1), undef, token => $emp);
ok((grep { $_->{id} == $a_id } @{ $r->{departments} }), 'the change feed lists the new department');
ok($r->{version} >= $v1, 'the feed is at the new version');

# explicit id, alias, sortId (Java shape)
my $b_id = $a_id + 1000;
($code, $d) = cgi_call($org, '/dept/create',
    { id => $b_id, name => 'Child B', parentId => $a_id, sortId => 5, alias => "al-$b_id" }, token => $tok);
is($code, 0, 'create with id, sortId, alias');
is($d->{id}, $b_id, 'the given id is kept');
is(db("SELECT CONCAT(sort_id, ' ', alias) FROM departments WHERE id = $b_id"), "5 al-$b_id", 'sortId and alias stored');

# ADD shape: every field with its zero value -> auto id and sortId
($code, $d) = cgi_call($org, '/dept/create',
    { id => 0, name => 'Child C', parentId => $a_id, sortId => 0, alias => '' }, token => $tok);
is($code, 0, 'ADD-shaped create');
my $c_id = $d->{id};
ok($c_id && $c_id != $b_id, 'an id was chosen');
is(db("SELECT sort_id FROM departments WHERE id = $c_id"), 6, 'sortId 0: after the last sibling');
is(db("SELECT alias IS NULL FROM departments WHERE id = $c_id"), 1, 'alias "" is no alias');

# a grandchild for the subtree reads
($code, $d) = cgi_call($org, '/dept/create', { name => 'Grandchild', parentId => $b_id }, token => $tok);
my $g_id = $d->{id};

# errors: each code, nothing changed
my $vb = ver();
my $ndept = db("SELECT COUNT(*) FROM departments");
my @bad = (
    [ 'name missing', 300110, { parentId => 0 } ],
    [ 'name empty', 300110, { name => '', parentId => 0 } ],
    [ 'name a number', 300103, { name => 12, parentId => 0 } ],
    [ 'name an array', 300103, { name => ['x'], parentId => 0 } ],
    [ 'name 33 chars', 300117, { name => 'x' x 33, parentId => 0 } ],
    [ 'name with /', 300107, { name => 'a/b', parentId => 0 } ],
    [ 'parentId missing', 300111, { name => 'x' } ],
    [ 'parentId a word', 300105, { name => 'x', parentId => 'abc' } ],
    [ 'parentId an object', 300105, { name => 'x', parentId => {} } ],
    [ 'parentId negative', 300105, { name => 'x', parentId => -3 } ],
    [ 'parentId unknown', 300308, { name => 'x', parentId => 2147480001 } ],
    [ 'id a word', 300102, { id => 'abc', name => 'x', parentId => 0 } ],
    [ 'id a float', 300102, { id => 1.5, name => 'x', parentId => 0 } ],
    [ 'id true', 300102, { id => JSON::PP::true, name => 'x', parentId => 0 } ],
    [ 'id exists', 300112, { id => $b_id, name => 'x', parentId => 0 } ],
    [ 'sortId a word', 300104, { name => 'x', parentId => $a_id, sortId => 'z' } ],
    [ 'sortId taken', 300113, { name => 'x', parentId => $a_id, sortId => 5 } ],
    [ 'alias taken', 300119, { name => 'x', parentId => 0, alias => "al-$b_id" } ],
    [ 'alias a number', 300119, { name => 'x', parentId => 0, alias => 5 } ],
);
for my $b (@bad) {
    err_("create: $b->[0]", $b->[1], '/dept/create', $b->[2]);
}
is(db("SELECT COUNT(*) FROM departments"), $ndept, 'no department was created by a bad request');
my $vafter = ver();
# a rejected write may have bumped inside its rolled-back transaction: never committed
is($vafter, $vb, 'org version unchanged by bad requests');

# --- get, list, listchildren, alllistchildren -------------------------------
($code, $d, $raw) = cgi_call($org, '/dept/get', undef, query => { id => $b_id }, token => $tok);
is($code, 0, 'get');
is_deeply($d, { id => $b_id, name => 'Child B', parentId => $a_id, sortId => 5, alias => "al-$b_id" }, 'get: the object');
like(plain($raw), qr/"id":$b_id\b.*"parentId":$a_id\b.*"sortId":5\b/, 'ids are JSON integers');
err_('get unknown', 300114, '/dept/get', undef, query => { id => 2147480001 });
err_('get without id', 300109, '/dept/get', undef);

$d = ok_('list of the root (GET with query)', '/dept/list', undef, query => { id => 0 });
is(ref $d->{deptList}, 'ARRAY', 'deptList is an array');
is($d->{deptList}[0]{id}, 0, 'the root first');
is($d->{deptList}[0]{parentId}, -1, 'the root has parentId -1');
ok((grep { $_->{id} == $a_id } @{ $d->{deptList} }), 'its children follow');
ok(!(grep { $_->{id} == $b_id } @{ $d->{deptList} }), 'not the grandchildren');

$d = ok_('list (ORGPHP: POST with envelope)', '/dept/list', { id => $a_id });
is_deeply([map { $_->{id} } @{ $d->{deptList} }], [$a_id, $b_id, $c_id], 'itself and its children, by sortId');
$d = ok_('list, case-insensitive path', '/Dept/List', undef, query => { id => $a_id });
is(scalar @{ $d->{deptList} }, 3, 'same answer');
err_('list without id', 300109, '/dept/list', undef);
err_('list unknown', 300114, '/dept/list', undef, query => { id => 2147480001 });
err_('list id a word', 300102, '/dept/list', undef, query => { id => 'x' });

$d = ok_('listchildren', '/dept/listchildren', undef, query => { id => $a_id });
is_deeply([map { $_->{id} } @{ $d->{deptList} }], [$b_id, $c_id], 'direct children only');
$d = ok_('listchildren of a leaf', '/dept/listchildren', undef, query => { id => $g_id });
is_deeply($d->{deptList}, [], 'an empty array, not null');
$d = ok_('alllistchildren', '/dept/alllistchildren', undef, query => { id => $a_id });
is_deeply([sort { $a <=> $b } map { $_->{id} } @{ $d->{deptList} }], [sort { $a <=> $b } $b_id, $c_id, $g_id],
          'every descendant, not itself');
$d = ok_('alllistchildren of the root', '/dept/alllistchildren', undef, query => { id => 0 });
ok((grep { $_->{id} == $g_id } @{ $d->{deptList} }), 'the whole tree');

# --- getid ------------------------------------------------------------------
$d = ok_('getid with alias', '/dept/getid', undef, query => { alias => "al-$b_id" });
is_deeply($d, { id => $b_id }, 'enc{"id"}');
$d = ok_('ORGPHP: /dept/getId with id=<alias>, POST', '/dept/getId', { id => "al-$b_id" }, query => { id => "al-$b_id" });
is($d->{id}, $b_id, 'found');
$d = ok_('getid without alias', '/dept/getid', undef);
is(ref $d->{aliasList}, 'ARRAY', 'aliasList is an array');
ok((grep { $_->{id} == $b_id && $_->{alias} eq "al-$b_id" } @{ $d->{aliasList} }), 'lists ours');
err_('getid unknown alias', 300114, '/dept/getid', undef, query => { alias => 'no-such-alias' });
$d = ok_('HDJ: dept/list?alias=', '/dept/list', undef, query => { alias => "al-$b_id" });
is($d->{id}, $b_id, 'enc{"id"} as getid');
is($d->{deptList}[0]{id}, $b_id, 'and the list of that department');
err_('dept/list with an unknown alias', 300114, '/dept/list', undef, query => { alias => 'no-such-alias' });

# --- update -----------------------------------------------------------------
my $vu = ver();
ok_('update: rename', '/dept/update', { id => $c_id, name => 'Child C2' });
is(db("SELECT name FROM departments WHERE id = $c_id"), 'Child C2', 'renamed');
ok(ver() > $vu, 'version bumped');
is(db("SELECT version FROM departments WHERE id = $c_id"), ver(), 'the row carries the version');
# ADD shape: zero values change nothing
ok_('update ADD-shaped', '/dept/update', { id => $c_id, name => '', parentId => $a_id, sortId => 0, alias => '' });
is(db("SELECT CONCAT(name, ' ', parent_id, ' ', sort_id) FROM departments WHERE id = $c_id"), "Child C2 $a_id 6",
   'zero values leave the fields alone');
# move B (with its grandchild) under the root
ok_('update: move', '/dept/update', { id => $b_id, parentId => 0 });
is(db("SELECT path FROM departments WHERE id = $g_id"), "/0/$b_id/$g_id/", 'the subtree moved');
$r = json_ok('REST sees the move', GET => "/org/departments/$b_id", undef, token => $emp);
is($r->{department}{parent_id}, 0, 'REST parent_id');
ok_('update: move back', '/dept/update', { id => $b_id, parentId => $a_id });

$vb = ver();
err_('update root', 300101, '/dept/update', { id => 0, name => 'Root' });
err_('update without id', 300109, '/dept/update', { name => 'x' });
err_('update unknown', 300114, '/dept/update', { id => 2147480001, name => 'x' });
err_('update under own descendant', 300108, '/dept/update', { id => $a_id, parentId => $g_id });
err_('update under itself', 300108, '/dept/update', { id => $a_id, parentId => $a_id });
err_('update unknown parent', 300308, '/dept/update', { id => $c_id, parentId => 2147480001 });
err_('update sortId taken', 300113, '/dept/update', { id => $c_id, sortId => 5 });
err_('update alias taken', 300119, '/dept/update', { id => $c_id, alias => "al-$b_id" });
err_('update name a number', 300103, '/dept/update', { id => $c_id, name => 7 });
err_('update sortId a word', 300104, '/dept/update', { id => $c_id, sortId => 'x' });
err_('update parentId a word', 300105, '/dept/update', { id => $c_id, parentId => 'x' });
err_('update name too long', 300117, '/dept/update', { id => $c_id, name => 'y' x 40 });
is(ver(), $vb, 'bad updates changed nothing');
is(db("SELECT CONCAT(name, ' ', parent_id) FROM departments WHERE id = $c_id"), "Child C2 $a_id", 'C unchanged');

# --- sort -------------------------------------------------------------------
($code, $d, $raw) = cgi_call($org, '/dept/sort', { id => $c_id, behindDeptId => 0 }, token => $tok);
is($code, 0, 'sort: C first');
ok(defined $raw->{encrypt} && length $raw->{encrypt}, 'sort replies with an encrypt (Java needs it)');
$d = ok_('listchildren after sort', '/dept/listchildren', undef, query => { id => $a_id });
is_deeply([map { $_->{id} } @{ $d->{deptList} }], [$c_id, $b_id], 'C before B');
ok_('sort: C behind B', '/dept/sort', { id => $c_id, behindDeptId => $b_id });
$d = ok_('listchildren', '/dept/listchildren', undef, query => { id => $a_id });
is_deeply([map { $_->{id} } @{ $d->{deptList} }], [$b_id, $c_id], 'B before C');
my @sorts = map { $_->{sortId} } @{ $d->{deptList} };
ok($sorts[0] < $sorts[1], 'sortIds renumbered in order');
err_('sort behind a non-sibling', 300106, '/dept/sort', { id => $c_id, behindDeptId => $g_id });
err_('sort unknown', 300114, '/dept/sort', { id => 2147480001, behindDeptId => 0 });
err_('sort the root', 300101, '/dept/sort', { id => 0, behindDeptId => 0 });
err_('sort without id', 300109, '/dept/sort', { behindDeptId => 0 });
err_('sort behindDeptId a word', 300102, '/dept/sort', { id => $c_id, behindDeptId => 'x' });

# --- expand/invisible -------------------------------------------------------
my ($uid) = create_user(departments => [{ dept_id => $c_id, position => 'Boss' }]);
my $uacc = db("SELECT account FROM users WHERE id = $uid");
$d = ok_('expand/invisible', '/dept/expand/invisible', undef, query => { userId => $eacc, deptId => $a_id });
is_deeply([map { $_->{id} } @{ $d->{deptList} }], [$b_id, $c_id], 'deptList: the sub-departments');
is_deeply($d->{userList}, [], 'userList: an empty array');
$d = ok_('expand/invisible of C', '/dept/expand/invisible', undef, query => { userId => $eacc, deptId => $c_id });
is(scalar @{ $d->{userList} }, 1, 'one member');
is($d->{userList}[0]{userId}, $uacc, 'the member');
is(ref $d->{userList}[0]{$_}, 'ARRAY', "member $_ is an array") for qw(dept deptDetail attrs);
is($d->{userList}[0]{deptDetail}[0]{position}, 'Boss', 'with the position');
err_('expand: unknown user', 300225, '/dept/expand/invisible', undef, query => { userId => 'nobody-here', deptId => 0 });
err_('expand: unknown dept', 300114, '/dept/expand/invisible', undef, query => { userId => $eacc, deptId => 2147480001 });
err_('expand: no userId', 300201, '/dept/expand/invisible', undef, query => { deptId => 0 });

# --- delete -----------------------------------------------------------------
$vb = ver();
err_('delete with sub-departments', 300115, '/dept/delete', undef, query => { id => $b_id });
err_('delete with members', 300116, '/dept/delete', undef, query => { id => $c_id });
err_('delete root', 300101, '/dept/delete', undef, query => { id => 0 });
err_('delete unknown', 300114, '/dept/delete', undef, query => { id => 2147480001 });
err_('delete without id', 300109, '/dept/delete', undef);
err_('delete id a word', 300102, '/dept/delete', undef, query => { id => 'x' });
is(ver(), $vb, 'refused deletes changed nothing');

my $vd = ver();
ok_('delete (GET ?id=)', '/dept/delete', undef, query => { id => $g_id });
is(db("SELECT COUNT(*) FROM departments WHERE id = $g_id"), 0, 'gone');
my $vd2 = ver();
ok($vd2 > $vd, 'version bumped');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = $vd2 AND kind = 1 AND target_id = $g_id AND op = 2"), 1,
   'a delete change');
$r = json_ok('change feed', GET => "/org/changes?since=$vd", undef, token => $emp);
ok((grep { $_ == $g_id } @{ $r->{deleted_departments} }), 'the feed reports the deletion');
ok_('delete (ORGPHP: POST with envelope)', '/dept/delete', { id => $b_id });
is(db("SELECT COUNT(*) FROM departments WHERE id = $b_id"), 0, 'B gone');

# the REST admin view of departments is unaffected by /cgi conventions
json_ok('REST admin still works', PATCH => "/admin/departments/$c_id", { name => 'Via REST' }, token => $admin);
$d = ok_('cgi sees the REST change', '/dept/get', undef, query => { id => $c_id });
is($d->{name}, 'Via REST', 'same tables');

done_testing();
