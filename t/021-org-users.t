# Users: create, read, change, delete through the admin API; roles, the last
# super admin, memberships; every refused write leaves the database untouched.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $admin = admin_token();

# sql() keeps the trailing newline (chomp under local $/ = undef)
sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }

sub state_row {
    return db("SELECT (SELECT version FROM org_state WHERE id = 1), "
            . "(SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM user_depts), "
            . "(SELECT COUNT(*) FROM org_changes), (SELECT COUNT(*) FROM audit_log), "
            . "(SELECT COUNT(*) FROM sessions), "
            . "(SELECT MD5(GROUP_CONCAT(id, account, name, IFNULL(mobile, ''), phone, email, title, "
            . "enable_state, role, confidential ORDER BY id)) FROM users), "
            . "(SELECT MD5(GROUP_CONCAT(user_id, dept_id, position ORDER BY user_id, dept_id)) FROM user_depts)");
}
sub unchanged {
    my ($before, $name) = @_;
    is(state_row(), $before, "$name: nothing was written");
}

my $d1 = create_dept();
my $d2 = create_dept(parent_id => $d1);
my ($eid, $eacc, $epw) = create_user(departments => [{ dept_id => $d1 }]);
my $emp = login_as($eacc, $epw);

# --- create with every field
my $acc = uniq('full');
my $mobile = '+86-138' . sprintf('%07d', $$ % 10000000);
my $v = db("SELECT version FROM org_state WHERE id = 1");
my ($st, $j) = api(POST => '/admin/users',
    { account => $acc, name => '王小明', gender => 1, mobile => $mobile, phone => '010-1234',
      email => "$acc\@example.com", title => 'Engineer', enable_state => 1, role => 0,
      confidential => ['phone'], password => 'Secret-Pass-1',
      departments => [{ dept_id => $d1, position => 'Dev', weight => 3, sort_id => 7 },
                      { dept_id => $d2 }] },
    token => $admin);
is($st, 201, 'create: 201');
my $u = $j->{user};
my $uid = $u->{id};
ok($uid, 'create: id');
is($u->{account}, $acc, 'account');
is($u->{name}, '王小明', 'name');
is($u->{name_pinyin}, 'wangxiaoming', 'pinyin computed');
is($u->{name_initials}, 'wxm', 'initials computed');
is($u->{gender}, 1, 'gender');
is($u->{mobile}, $mobile, 'mobile');
is($u->{phone}, '010-1234', 'phone (admin sees it)');
is($u->{email}, "$acc\@example.com", 'email');
is($u->{title}, 'Engineer', 'title');
is($u->{enable_state}, 1, 'enable_state');
is($u->{role}, 0, 'role');
is_deeply($u->{confidential}, ['phone'], 'confidential');
is($u->{version}, $v + 1, 'user version');
is(scalar @{ $u->{departments} }, 2, 'two memberships');
my ($m1) = grep { $_->{dept_id} == $d1 } @{ $u->{departments} };
is($m1->{position}, 'Dev', 'membership position');
is($m1->{weight}, 3, 'membership weight');
is($m1->{sort_id}, 7, 'membership sort_id');
ok(length $m1->{dept_name}, 'membership dept_name');
ok(!exists $u->{password_hash}, 'no hash in replies');
like(db("SELECT password_hash FROM users WHERE id = $uid"), qr/^\$argon2id\$/, 'password hashed');
is(db("SELECT version FROM org_state WHERE id = 1"), $v + 1, 'create bumps version once');
is(db("SELECT CONCAT(kind, op, target_id) FROM org_changes WHERE version = " . ($v + 1)), "21$uid", 'change row');
is(db("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND target = '$uid'"), 1, 'audit row');
ok(login_as($acc, 'Secret-Pass-1'), 'the new user can sign in');

# without a password: the user exists but cannot sign in yet
$j = json_ok('create without password', POST => '/admin/users',
             { account => uniq('nopw'), name => 'No Pw', departments => [{ dept_id => 0 }] }, token => $admin);
is(db("SELECT password_hash IS NULL FROM users WHERE id = $j->{user}{id}"), 1, 'no password stored');
is($j->{user}{mobile}, '', 'no mobile: empty string');
is(db("SELECT mobile IS NULL FROM users WHERE id = $j->{user}{id}"), 1, 'no mobile: NULL');

# --- read
$j = json_ok('employee reads a user', GET => "/org/users/$uid", undef, token => $emp);
is($j->{user}{account}, $acc, 'read: account');
is($j->{user}{phone}, '***', 'read: confidential phone masked for employees');
is($j->{user}{mobile}, $mobile, 'read: non-confidential mobile shown');
is(scalar @{ $j->{user}{departments} }, 2, 'read: memberships');
json_err('read missing user', 404, 40403, GET => '/org/users/999999999', undef, token => $emp);
json_err('read bad id', 404, 40401, GET => '/org/users/x1', undef, token => $emp);
json_err('read without token', 401, 40100, GET => "/org/users/$uid");

# --- refused creates
my $base = { account => uniq('bad'), name => 'Bad', departments => [{ dept_id => 0 }] };
sub with { my %h = (%$base, @_); delete $h{$_} for grep { !defined $h{$_} } keys %h; return \%h }
{
    my $b = state_row();
    json_err('malformed JSON', 400, 40001, POST => '/admin/users', undef, raw => '{"account"', token => $admin);
    json_err('bad UTF-8', 400, 40002, POST => '/admin/users', undef,
             raw => "{\"account\":\"x1\",\"name\":\"\xc3\x28\",\"departments\":[{\"dept_id\":0}]}", token => $admin);
    json_err('account missing', 400, 40004, POST => '/admin/users', with(account => undef), token => $admin);
    json_err('name missing', 400, 40004, POST => '/admin/users', with(name => undef), token => $admin);
    json_err('departments missing', 400, 40004, POST => '/admin/users', with(departments => undef), token => $admin);
    json_err('account wrong type', 400, 40003, POST => '/admin/users', with(account => 12), token => $admin);
    json_err('gender wrong type', 400, 40003, POST => '/admin/users', with(gender => 'f'), token => $admin);
    json_err('departments wrong type', 400, 40003, POST => '/admin/users', with(departments => { dept_id => 0 }), token => $admin);
    json_err('membership wrong type', 400, 40003, POST => '/admin/users', with(departments => [5]), token => $admin);
    json_err('confidential wrong type', 400, 40003, POST => '/admin/users', with(confidential => 'mobile'), token => $admin);
    json_err('account too long', 400, 40005, POST => '/admin/users', with(account => 'a' x 65), token => $admin);
    json_err('name too long', 400, 40005, POST => '/admin/users', with(name => '名' x 65), token => $admin);
    json_err('title too long', 400, 40005, POST => '/admin/users', with(title => 't' x 65), token => $admin);
    json_err('account bad chars', 400, 40006, POST => '/admin/users', with(account => 'a b'), token => $admin);
    json_err('account non-ascii', 400, 40006, POST => '/admin/users', with(account => '张三'), token => $admin);
    json_err('mobile letters', 400, 40006, POST => '/admin/users', with(mobile => '12ab5678'), token => $admin);
    json_err('mobile too short', 400, 40006, POST => '/admin/users', with(mobile => '1234'), token => $admin);
    json_err('email without @', 400, 40006, POST => '/admin/users', with(email => 'nobody'), token => $admin);
    json_err('email @ at the end', 400, 40006, POST => '/admin/users', with(email => 'nobody@'), token => $admin);
    json_err('gender out of range', 400, 40006, POST => '/admin/users', with(gender => 2), token => $admin);
    json_err('enable_state out of range', 400, 40006, POST => '/admin/users', with(enable_state => 2), token => $admin);
    json_err('role out of range', 400, 40006, POST => '/admin/users', with(role => 3), token => $admin);
    json_err('confidential unknown name', 400, 40006, POST => '/admin/users', with(confidential => ['salary']), token => $admin);
    json_err('no departments', 400, 40006, POST => '/admin/users', with(departments => []), token => $admin);
    json_err('21 departments', 400, 40006, POST => '/admin/users',
             with(departments => [map { { dept_id => $_ } } 1 .. 21]), token => $admin);
    json_err('duplicate department', 400, 40006, POST => '/admin/users',
             with(departments => [{ dept_id => 0 }, { dept_id => 0 }]), token => $admin);
    json_err('weak password', 400, 40006, POST => '/admin/users', with(password => 'short'), token => $admin);
    json_err('department not found', 404, 40402, POST => '/admin/users',
             with(departments => [{ dept_id => 0 }, { dept_id => 2147483000 }]), token => $admin);
    json_err('account taken', 409, 40901, POST => '/admin/users', with(account => $acc), token => $admin);
    json_err('account taken, other case', 409, 40901, POST => '/admin/users', with(account => uc $acc), token => $admin);
    json_err('mobile taken', 409, 40906, POST => '/admin/users', with(mobile => $mobile), token => $admin);
    json_err('employee cannot create', 403, 40300, POST => '/admin/users', $base, token => $emp);
    json_err('no token', 401, 40100, POST => '/admin/users', $base);
    unchanged($b, 'refused creates');
}

# an admin (role 1) manages employees but not roles or administrators
my ($aid, $aacc, $apw) = create_user(role => 1);
my $adm = login_as($aacc, $apw);
{
    my $b = state_row();
    json_err('admin cannot grant roles', 403, 40300, POST => '/admin/users', with(role => 1), token => $adm);
    json_err('admin cannot change a role', 403, 40300, PATCH => "/admin/users/$eid", { role => 1 }, token => $adm);
    json_err('admin cannot edit the super admin', 403, 40300, PATCH => "/admin/users/" . db("SELECT id FROM users WHERE account = 'admin'"),
             { title => 'x' }, token => $adm);
    unchanged($b, 'refused admin writes');
}
$j = json_ok('admin creates an employee', POST => '/admin/users', with(account => uniq('byadm')), token => $adm);
is($j->{user}{role}, 0, 'employee role');

# --- update
$v = db("SELECT version FROM org_state WHERE id = 1");
$j = json_ok('update some fields', PATCH => "/admin/users/$uid",
             { name => '李雷', title => '', confidential => ['mobile', 'email'] }, token => $admin);
is($j->{user}{name}, '李雷', 'new name');
is($j->{user}{name_pinyin}, 'lilei', 'pinyin follows the name');
is($j->{user}{title}, '', 'title cleared');
is_deeply($j->{user}{confidential}, ['mobile', 'email'], 'confidential replaced');
is($j->{user}{phone}, '010-1234', 'untouched field kept');
is(scalar @{ $j->{user}{departments} }, 2, 'memberships kept when not sent');
is($j->{user}{version}, $v + 1, 'version stamped');
is(db("SELECT COUNT(*) FROM audit_log WHERE action = 'user.update' AND target = '$uid'"), 1, 'update audited');

$j = json_ok('replace memberships', PATCH => "/admin/users/$uid",
             { departments => [{ dept_id => $d2, position => 'Boss' }] }, token => $admin);
is(scalar @{ $j->{user}{departments} }, 1, 'one membership now');
is($j->{user}{departments}[0]{dept_id}, $d2, 'the new membership');
is(db("SELECT GROUP_CONCAT(dept_id) FROM user_depts WHERE user_id = $uid"), $d2, 'memberships replaced in the DB');

my $acc2 = uniq('renamed');
$j = json_ok('change account', PATCH => "/admin/users/$uid", { account => $acc2, mobile => '' }, token => $admin);
is($j->{user}{account}, $acc2, 'account changed');
is($j->{user}{mobile}, '', 'mobile cleared');
is(db("SELECT mobile IS NULL FROM users WHERE id = $uid"), 1, 'cleared mobile is NULL');
json_ok('same account again is fine', PATCH => "/admin/users/$uid", { account => $acc2 }, token => $admin);

{
    my $b = state_row();
    json_err('patch to a taken account', 409, 40901, PATCH => "/admin/users/$uid", { account => $eacc }, token => $admin);
    json_err('patch password refused', 400, 40006, PATCH => "/admin/users/$uid", { password => 'Another-Pass-1' }, token => $admin);
    json_err('patch missing user', 404, 40403, PATCH => '/admin/users/999999999', { name => 'x' }, token => $admin);
    json_err('patch unknown dept', 404, 40402, PATCH => "/admin/users/$uid", { departments => [{ dept_id => 2147483000 }] }, token => $admin);
    json_err('patch bad gender', 400, 40006, PATCH => "/admin/users/$uid", { gender => 9 }, token => $admin);
    json_err('patch bad type', 400, 40003, PATCH => "/admin/users/$uid", { title => 5 }, token => $admin);
    json_err('patch malformed', 400, 40001, PATCH => "/admin/users/$uid", undef, raw => 'nope', token => $admin);
    json_err('patch with nothing', 400, 40004, PATCH => "/admin/users/$uid", {}, token => $admin);
    json_err('patch empty name', 400, 40004, PATCH => "/admin/users/$uid", { name => '' }, token => $admin);
    json_err('employee cannot patch', 403, 40300, PATCH => "/admin/users/$uid", { name => 'x' }, token => $emp);
    unchanged($b, 'refused updates');
}
my $mob2 = '139' . sprintf('%08d', $$ % 100000000);
json_ok('set a mobile', PATCH => "/admin/users/$uid", { mobile => $mob2 }, token => $admin);
{
    my $b = state_row();
    json_err('patch to a taken mobile', 409, 40906, PATCH => "/admin/users/$eid", { mobile => $mob2 }, token => $admin);
    unchanged($b, 'refused mobile');
}

# --- the last super admin
my $super = db("SELECT id FROM users WHERE account = 'admin'");
my @others = split /\n/, db("SELECT id FROM users WHERE role = 2 AND id <> $super");
db("UPDATE users SET role = 1 WHERE id IN (" . join(',', @others) . ")") if @others;
{
    my $b = state_row();
    json_err('last super cannot be demoted', 409, 40908, PATCH => "/admin/users/$super", { role => 1 }, token => $admin);
    json_err('last super cannot be disabled', 409, 40908, PATCH => "/admin/users/$super", { enable_state => -1 }, token => $admin);
    json_err('nobody deletes himself', 403, 40300, DELETE => "/admin/users/$super", undef, token => $admin);
    unchanged($b, 'refused super changes');
}
my ($s2id, $s2acc, $s2pw) = create_user(role => 2);
{
    my $b = state_row();
    json_err('admin cannot delete an admin', 403, 40300, DELETE => "/admin/users/$s2id", undef, token => $adm);
    unchanged($b, 'admin deleting a super');
}
json_ok('super demotes a second super', PATCH => "/admin/users/$s2id", { role => 0 }, token => $admin);
db("UPDATE users SET role = 2 WHERE id IN (" . join(',', @others) . ")") if @others;

# --- delete
my ($xid, $xacc, $xpw) = create_user(departments => [{ dept_id => $d1 }, { dept_id => $d2 }]);
login_as($xacc, $xpw);
is(db("SELECT COUNT(*) FROM sessions WHERE user_id = $xid"), 1, 'session exists before delete');
$v = db("SELECT version FROM org_state WHERE id = 1");
$j = json_ok('delete a user', DELETE => "/admin/users/$xid", undef, token => $admin);
is($j->{id}, $xid, 'deleted id');
is($j->{version}, $v + 1, 'delete version');
is(db("SELECT COUNT(*) FROM users WHERE id = $xid"), 0, 'user row gone');
is(db("SELECT COUNT(*) FROM user_depts WHERE user_id = $xid"), 0, 'memberships gone');
is(db("SELECT COUNT(*) FROM sessions WHERE user_id = $xid"), 0, 'sessions gone');
is(db("SELECT CONCAT(kind, op) FROM org_changes WHERE version = " . ($v + 1)), '22', 'delete change row');
is(db("SELECT COUNT(*) FROM audit_log WHERE action = 'user.delete' AND target = '$xid'"), 1, 'delete audited');
{
    my $b = state_row();
    json_err('delete again', 404, 40403, DELETE => "/admin/users/$xid", undef, token => $admin);
    json_err('employee cannot delete', 403, 40300, DELETE => "/admin/users/$uid", undef, token => $emp);
    json_err('delete without token', 401, 40100, DELETE => "/admin/users/$uid");
    unchanged($b, 'refused deletes');
}

done_testing;
