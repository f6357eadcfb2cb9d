# Departments: create, read (flat list, one department), move subtrees,
# delete; every refused write leaves the database untouched.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $admin = admin_token();

# db() keeps the trailing newline (chomp under local $/ = undef)
sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }

# what a refused write must not change
sub state_row {
    return db("SELECT (SELECT version FROM org_state WHERE id = 1), "
             . "(SELECT COUNT(*) FROM departments), (SELECT COUNT(*) FROM users), "
             . "(SELECT COUNT(*) FROM user_depts), (SELECT COUNT(*) FROM org_changes), "
             . "(SELECT COUNT(*) FROM audit_log), "
             . "(SELECT GROUP_CONCAT(id, path, name, IFNULL(alias, '') ORDER BY id) FROM departments)");
}
sub unchanged {
    my ($before, $name) = @_;
    is(state_row(), $before, "$name: nothing was written");
}

# employee
my ($eid, $eacc, $epw) = create_user();
my $emp = login_as($eacc, $epw);

# --- auth
json_err('no token: 401', 401, 40100, GET => '/org/departments');
json_err('no token on admin: 401', 401, 40100, POST => '/admin/departments', { name => 'x', parent_id => 0 });
json_err('bad token: 401', 401, 40101, GET => '/org/departments', undef, token => 'abc.def.ghi');
{
    # an access token signed with the server key whose time is up
    open my $kf, '<', run_dir() . '/secrets/jwt.key' or die "jwt.key: $!";
    my $key = do { local $/; <$kf> };
    $key =~ s/\s+\z//;
    my $sid = db("SELECT MAX(id) FROM sessions WHERE user_id = $eid");
    my $h = encode_base64url('{"alg":"HS256","typ":"JWT"}');
    my $p = encode_base64url($JSON->encode({ sub => $eid + 0, sid => $sid + 0, role => 0,
                                             iat => time - 1000, exp => time - 100, typ => 'access' }));
    my $expired = "$h.$p." . encode_base64url(hmac_sha256("$h.$p", $key));
    json_err('expired token: 401', 401, 40102, GET => '/org/departments', undef, token => $expired);
    json_err('expired token on admin: 401', 401, 40102, POST => '/admin/departments',
             { name => 'x', parent_id => 0 }, token => $expired);
}
{
    my $b = state_row();
    json_err('employee cannot create', 403, 40300, POST => '/admin/departments',
             { name => uniq('d'), parent_id => 0 }, token => $emp);
    json_err('employee cannot patch', 403, 40300, PATCH => '/admin/departments/1',
             { name => 'x' }, token => $emp);
    json_err('employee cannot delete', 403, 40300, DELETE => '/admin/departments/1', undef, token => $emp);
    unchanged($b, 'employee writes');
}

# --- create
my $v0 = db("SELECT version FROM org_state WHERE id = 1");
my $na = uniq('部门A');
my $j = json_ok('create A under root', POST => '/admin/departments',
                { name => $na, parent_id => 0, sort_id => 5 }, token => $admin);
my $a = $j->{department}{id};
ok($a > 0, 'server picked an id');
is($j->{department}{name}, $na, 'name returned');
is($j->{department}{parent_id}, 0, 'parent returned');
is($j->{department}{sort_id}, 5, 'sort_id returned');
is($j->{department}{alias}, '', 'empty alias');
my ($st, $j2) = api(POST => '/admin/departments', { name => uniq('d'), parent_id => $a }, token => $admin);
is($st, 201, 'create answers 201');
my $a1 = $j2->{department}{id};
is(db("SELECT version FROM org_state WHERE id = 1"), $v0 + 2, 'each create bumps the version');
is(db("SELECT path, depth, version FROM departments WHERE id = $a"), "/0/$a/\t1\t" . ($v0 + 1), 'path, depth, version stored');
is(db("SELECT kind, op FROM org_changes WHERE version = " . ($v0 + 1)), "1\t1", 'org_changes row');
like(db("SELECT action, target FROM audit_log WHERE action = 'dept.create' AND target = '$a'"), qr/dept.create/, 'audit row');

my $bid = 1_000_000 + ($$ % 100000) * 10;
my $alias = uniq('alias');
$j = json_ok('create B with id and alias', POST => '/admin/departments',
             { id => $bid, name => uniq('B'), parent_id => $a, alias => $alias }, token => $admin);
is($j->{department}{id}, $bid, 'explicit id kept');
is($j->{department}{alias}, $alias, 'alias kept');
my $c = create_dept(parent_id => $bid, name => uniq('C'));
my $d = create_dept(parent_id => $c, name => uniq('D'));
is(db("SELECT path FROM departments WHERE id = $d"), "/0/$a/$bid/$c/$d/", 'deep path');
is(db("SELECT depth FROM departments WHERE id = $d"), 4, 'deep depth');

# --- refused creates
{
    my $b = state_row();
    json_err('malformed JSON', 400, 40001, POST => '/admin/departments', undef, raw => '{"name":', token => $admin);
    json_err('body not an object', 400, 40001, POST => '/admin/departments', undef, raw => '[1]', token => $admin);
    json_err('bad UTF-8', 400, 40002, POST => '/admin/departments', undef,
             raw => "{\"name\":\"\xff\xfe\",\"parent_id\":0}", token => $admin);
    json_err('name wrong type', 400, 40003, POST => '/admin/departments', { name => 5, parent_id => 0 }, token => $admin);
    json_err('parent wrong type', 400, 40003, POST => '/admin/departments', { name => 'x', parent_id => '0' }, token => $admin);
    json_err('name missing', 400, 40004, POST => '/admin/departments', { parent_id => 0 }, token => $admin);
    json_err('name empty', 400, 40004, POST => '/admin/departments', { name => '', parent_id => 0 }, token => $admin);
    json_err('parent missing', 400, 40004, POST => '/admin/departments', { name => 'x' }, token => $admin);
    json_err('name too long', 400, 40005, POST => '/admin/departments', { name => '部' x 33, parent_id => 0 }, token => $admin);
    json_err('alias too long', 400, 40005, POST => '/admin/departments', { name => 'x', alias => 'a' x 65, parent_id => 0 }, token => $admin);
    json_err('name with slash', 400, 40006, POST => '/admin/departments', { name => 'a/b', parent_id => 0 }, token => $admin);
    json_err('name with control char', 400, 40006, POST => '/admin/departments', { name => "a\x01b", parent_id => 0 }, token => $admin);
    json_err('id out of range', 400, 40006, POST => '/admin/departments', { id => 0, name => 'x', parent_id => 0 }, token => $admin);
    json_err('parent not found', 404, 40404, POST => '/admin/departments', { name => 'x', parent_id => 2147483000 }, token => $admin);
    json_err('id taken', 409, 40902, POST => '/admin/departments', { id => $bid, name => 'x', parent_id => 0 }, token => $admin);
    json_err('alias taken', 409, 40902, POST => '/admin/departments', { name => 'x', alias => $alias, parent_id => 0 }, token => $admin);
    unchanged($b, 'refused creates');
}

# --- reads
$j = json_ok('employee lists departments', GET => '/org/departments', undef, token => $emp);
ok($j->{version} >= $v0 + 5, 'list carries the version');
my %pos; my $i = 0;
$pos{$_->{id}} = $i++ for @{ $j->{departments} };
ok(defined $pos{$_}, "department $_ listed") for ($a, $bid, $c, $d);
ok($pos{0} < $pos{$a} && $pos{$a} < $pos{$bid} && $pos{$bid} < $pos{$c} && $pos{$c} < $pos{$d}, 'ordered by depth');
my ($da) = grep { $_->{id} == $a } @{ $j->{departments} };
is($da->{name}, $na, 'name in list');
is($da->{member_count}, 0, 'member count');

my ($u1) = create_user(name => uniq('Zed'), departments => [{ dept_id => $a, sort_id => 2, position => 'Lead' }]);
my ($u2) = create_user(name => uniq('Amy'), departments => [{ dept_id => $a, sort_id => 1 }]);
my ($u3) = create_user(name => uniq('Bob'), departments => [{ dept_id => $a, sort_id => 1 }]);
$j = json_ok('list after members', GET => '/org/departments', undef, token => $emp);
($da) = grep { $_->{id} == $a } @{ $j->{departments} };
is($da->{member_count}, 3, 'member count counts direct members');

$j = json_ok('one department', GET => "/org/departments/$a", undef, token => $emp);
is($j->{department}{id}, $a, 'department itself');
is_deeply([map { $_->{id} } @{ $j->{children} }], [$a1, $bid], 'direct children only, by sort_id then id');
is_deeply([map { $_->{id} } @{ $j->{members} }], [$u2, $u3, $u1], 'members by sort_id then name');
is($j->{total}, 3, 'member total');
is($j->{members}[2]{position}, 'Lead', 'membership position');
$j = json_ok('members paged', GET => "/org/departments/$a?offset=1&limit=1", undef, token => $emp);
is_deeply([map { $_->{id} } @{ $j->{members} }], [$u3], 'page 2 of size 1');
is($j->{total}, 3, 'total with paging');
$j = json_ok('paged past the end', GET => "/org/departments/$a?offset=10", undef, token => $emp);
is(scalar @{ $j->{members} }, 0, 'no members past the end');
is($j->{total}, 3, 'total past the end');
json_err('department not found', 404, 40402, GET => '/org/departments/2147483000', undef, token => $emp);
json_err('department id not a number', 404, 40401, GET => '/org/departments/abc', undef, token => $emp);
json_err('bad limit', 400, 40008, GET => "/org/departments/$a?limit=0", undef, token => $emp);
json_err('no token on one department', 401, 40100, GET => "/org/departments/$a");

# --- update and move
my $v = db("SELECT version FROM org_state WHERE id = 1");
$j = json_ok('rename', PATCH => "/admin/departments/$c", { name => 'Renamed', sort_id => 9 }, token => $admin);
is($j->{department}{name}, 'Renamed', 'new name returned');
is($j->{department}{sort_id}, 9, 'new sort_id returned');
is($j->{department}{alias}, '', 'alias untouched');
is(db("SELECT version FROM org_state WHERE id = 1"), $v + 1, 'rename bumps version');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v + 1)), 1, 'rename: one change row');

# move B (with C, D below) directly under root
$j = json_ok('move subtree', PATCH => "/admin/departments/$bid", { parent_id => 0 }, token => $admin);
is($j->{department}{parent_id}, 0, 'moved under root');
is(db("SELECT path, depth FROM departments WHERE id = $bid"), "/0/$bid/\t1", 'moved department path');
is(db("SELECT path, depth FROM departments WHERE id = $c"), "/0/$bid/$c/\t2", 'child path updated');
is(db("SELECT path, depth FROM departments WHERE id = $d"), "/0/$bid/$c/$d/\t3", 'grandchild path updated');
is(db("SELECT path FROM departments WHERE id = $a"), "/0/$a/", 'former parent untouched');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v + 2)), 3, 'move: a change row per subtree department');

# move it back deeper: under A
json_ok('move under A again', PATCH => "/admin/departments/$bid", { parent_id => $a }, token => $admin);
is(db("SELECT path, depth FROM departments WHERE id = $d"), "/0/$a/$bid/$c/$d/\t4", 'grandchild path after second move');

{
    my $b = state_row();
    json_err('move under itself', 409, 40905, PATCH => "/admin/departments/$bid", { parent_id => $bid }, token => $admin);
    json_err('move under a descendant', 409, 40905, PATCH => "/admin/departments/$a", { parent_id => $d }, token => $admin);
    json_err('root cannot change', 409, 40907, PATCH => '/admin/departments/0', { name => 'x' }, token => $admin);
    json_err('patch missing department', 404, 40402, PATCH => '/admin/departments/2147483000', { name => 'x' }, token => $admin);
    json_err('patch to missing parent', 404, 40404, PATCH => "/admin/departments/$c", { parent_id => 2147483000 }, token => $admin);
    json_err('patch alias taken', 409, 40902, PATCH => "/admin/departments/$c", { alias => $alias }, token => $admin);
    json_err('patch with nothing', 400, 40004, PATCH => "/admin/departments/$c", { }, token => $admin);
    json_err('patch bad name', 400, 40006, PATCH => "/admin/departments/$c", { name => 'a/b' }, token => $admin);
    json_err('patch name type', 400, 40003, PATCH => "/admin/departments/$c", { name => [] }, token => $admin);
    json_err('patch malformed', 400, 40001, PATCH => "/admin/departments/$c", undef, raw => '{', token => $admin);
    unchanged($b, 'refused updates');
}
json_ok('alias can be cleared', PATCH => "/admin/departments/$bid", { alias => '' }, token => $admin);
is(db("SELECT alias IS NULL FROM departments WHERE id = $bid"), 1, 'empty alias stored as NULL');
json_ok('alias can be reused after clearing', PATCH => "/admin/departments/$c", { alias => $alias }, token => $admin);

# --- delete
{
    my $b = state_row();
    json_err('delete root', 409, 40907, DELETE => '/admin/departments/0', undef, token => $admin);
    json_err('delete with children', 409, 40903, DELETE => "/admin/departments/$c", undef, token => $admin);
    json_err('delete missing', 404, 40402, DELETE => '/admin/departments/2147483000', undef, token => $admin);
    unchanged($b, 'refused deletes');
}
my $e = create_dept(parent_id => $d);
create_user(departments => [{ dept_id => $e }]);
{
    my $b = state_row();
    json_err('delete with members', 409, 40904, DELETE => "/admin/departments/$e", undef, token => $admin);
    unchanged($b, 'refused delete with members');
}
my $f = create_dept(parent_id => $d);
$v = db("SELECT version FROM org_state WHERE id = 1");
$j = json_ok('delete a leaf', DELETE => "/admin/departments/$f", undef, token => $admin);
is($j->{id}, $f, 'deleted id');
is($j->{version}, $v + 1, 'delete version');
is(db("SELECT COUNT(*) FROM departments WHERE id = $f"), 0, 'row gone');
is(db("SELECT op FROM org_changes WHERE version = " . ($v + 1)), 2, 'delete change row');
json_err('gone afterwards', 404, 40402, GET => "/org/departments/$f", undef, token => $emp);

json_err('unknown method', 405, 40500, PUT => "/admin/departments/$a", { name => 'x' }, token => $admin);

done_testing;
