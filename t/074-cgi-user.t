#!/usr/bin/perl
# /cgi/user/* (PROTOCOL.md 4.5, avatars aside): writes with the SDKs'
# shapes (Java: attrs null, enableState 0; ADD: zero values), every
# section 6 code, the array and non-null guarantees of section 7, the org
# write protocol, sessions of disabled users, resignation and restore.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Digest::MD5 qw(md5_hex);
use Youdu::Test;
use Youdu::Cgi;
use Youdu::Msg qw(new_conv);
use Youdu::WS;
use Time::HiRes qw(time);

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $org = cgi_builtin_app('sysOrgAssistant');
my $admin = admin_token();
my $tok = cgi_token($org);

sub db { my $s = sql(@_); $s =~ s/\n\z//; utf8::decode($s); return $s }
sub ver { db("SELECT version FROM org_state WHERE id = 1") }
sub ok_ { my ($n, $p, $pl, %o) = @_; cgi_ok($n, $org, $p, $pl, token => $tok, %o) }
sub err_ { my ($n, $c, $p, $pl, %o) = @_; cgi_err($n, $c, $org, $p, $pl, token => $tok, %o) }
sub plain { my ($j) = @_; (cgi_decrypt($org->{key}, $j->{encrypt}))[0] }
sub users_state { db("SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(account, name, gender, IFNULL(mobile, ''), phone, "
                     . "email, enable_state, short_code, version ORDER BY id))) FROM users") }
sub str_ok { my ($v, $n) = @_; ok(defined $v && !ref $v, "$n is a non-null string") }

# a user object as Java reads it (section 7 items 4 and 5)
sub java_user_ok {
    my ($u, $n) = @_;
    ok($u->{gid} && $u->{gid} =~ /^\d+$/, "$n: gid");
    str_ok($u->{$_}, "$n: $_") for qw(userId name mobile phone email);
    ok(defined $u->{gender} && $u->{gender} =~ /^[01]$/, "$n: gender 0/1");
    is(ref $u->{$_}, 'ARRAY', "$n: $_ is an array") for qw(dept deptDetail attrs);
    for my $m (@{ $u->{deptDetail} || [] }) {
        ok(defined $m->{deptId} && defined $m->{weight} && defined $m->{position} && !ref $m->{position},
           "$n: deptDetail item has deptId, position, weight");
    }
}

# the checks of "the last super admin" need admin to be the only one:
# other tests' super admins are made admins meanwhile
my @supers = grep { length } split /\n/, db("SELECT id FROM users WHERE role = 2 AND account <> 'admin'");
sql("UPDATE users SET role = 1 WHERE id IN (" . join(',', @supers) . ")") if @supers;
END { sql("UPDATE users SET role = 2 WHERE id IN (" . join(',', @supers) . ")") if @supers }

my $dA = create_dept(name => uniq('ua'));
my $dB = create_dept(name => uniq('ub'), parent_id => $dA);
my $dC = create_dept(name => uniq('uc'));
my ($eid, $eacc, $epw) = create_user();
my $emp = login_as($eacc, $epw);

# --- rights ------------------------------------------------------------------
my $custom = cgi_app(rights => 1 | 4);
my $s0 = users_state();
cgi_err('custom app: user/create', 3, $custom, '/user/create', { userId => uniq('x'), name => 'X', dept => [0] });
cgi_err('custom app: user/get', 3, $custom, '/user/get', undef, query => { userId => $eacc });
is(users_state(), $s0, 'nothing written');

# --- create: Java shape --------------------------------------------------------
my $u1 = uniq('java');
my $v0 = ver();
my ($code, $d, $j) = cgi_call($org, '/user/create',
    { userId => $u1, name => '张三', gender => 1, mobile => '+86-13800000001', phone => '010-1',
      email => "$u1\@example.com", dept => [$dA], enableState => 0, attrs => undef, shortCode => '' },
    token => $tok);
is($code, 0, 'Java-shaped create');
ok(!exists $j->{encrypt}, 'global reply (no encrypt)');
my $gid1 = db("SELECT id FROM users WHERE account = '$u1'");
ok($gid1, 'the row exists');
is(db("SELECT CONCAT(name, ' ', gender, ' ', mobile, ' ', enable_state, ' ', name_pinyin) FROM users WHERE id = $gid1"),
   '张三 1 +86-13800000001 1 zhangsan', 'fields stored; enableState 0 means "not given" (enabled); pinyin');
my $v1 = ver();
ok($v1 > $v0, 'version bumped');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = $v1 AND kind = 2 AND target_id = $gid1"), 1, 'org_changes row');
is(db("SELECT CONCAT(IFNULL(actor_id, 'NULL'), ' ', action) FROM audit_log ORDER BY id DESC LIMIT 1"),
   'NULL cgi.user.create', 'audit: app actor');
my $r = json_ok('REST sees the user', GET => "/org/users/$gid1", undef, token => $emp);
is($r->{user}{account}, $u1, 'REST account');
is($r->{user}{departments}[0]{dept_id}, $dA, 'REST membership');
$r = json_ok('change feed', GET => '/org/changes?since=' . ($v1 - 1), undef, token => $emp);
ok((grep { $_->{id} == $gid1 } @{ $r->{users} }), 'the change feed lists the user');

# with attrs and deptDetail
my $u2 = uniq('attr');
ok_('create with attrs and deptDetail', '/user/create',
    { userId => $u2, name => 'Li Si', gender => 0, dept => [$dA],
      deptDetail => [{ deptId => $dB, position => 'Lead', weight => 3, sortId => 2 }],
      attrs => [{ name => 'Badge', value => '42' }, { name => 'Floor', value => '7' }] });
my $gid2 = db("SELECT id FROM users WHERE account = '$u2'");

# ADD shape: every field with its zero value
my $u3 = uniq('add');
ok_('ADD-shaped create', '/user/create',
    { userId => $u3, name => 'Wang', gender => 0, mobile => '', phone => '', email => '', dept => [$dC],
      enableState => 0, shortCode => '', attrs => [] });
my $gid3 = db("SELECT id FROM users WHERE account = '$u3'");
is(db("SELECT CONCAT(mobile IS NULL, ' ', enable_state) FROM users WHERE id = $gid3"), '1 1', 'no mobile, enabled');

# --- create errors: each code, nothing changed --------------------------------
my $s1 = users_state();
my $vb = ver();
my %base = (name => 'Err', dept => [$dA]);
my @bad = (
    [ 'userId missing', 300201, { %base } ],
    [ 'userId a number', 300205, { %base, userId => 12 } ],
    [ 'userId an object', 300205, { %base, userId => {} } ],
    [ 'userId 65 chars', 300218, { %base, userId => 'a' x 65 } ],
    [ 'userId with a space', 300223, { %base, userId => 'a b' } ],
    [ 'userId exists', 300224, { %base, userId => $u1 } ],
    [ 'name missing', 300202, { userId => uniq('e'), dept => [$dA] } ],
    [ 'name a number', 300206, { %base, userId => uniq('e'), name => 5 } ],
    [ 'name 65 chars', 300219, { %base, userId => uniq('e'), name => 'n' x 65 } ],
    [ 'gender 2', 300207, { %base, userId => uniq('e'), gender => 2 } ],
    [ 'gender a word', 300207, { %base, userId => uniq('e'), gender => 'f' } ],
    [ 'mobile letters', 300210, { %base, userId => uniq('e'), mobile => 'abcdef' } ],
    [ 'mobile a number', 300210, { %base, userId => uniq('e'), mobile => 13800000009 } ],
    [ 'mobile taken', 300210, { %base, userId => uniq('e'), mobile => '+86-13800000001' } ],
    [ 'phone a number', 300209, { %base, userId => uniq('e'), phone => 5 } ],
    [ 'email a number', 300208, { %base, userId => uniq('e'), email => 5 } ],
    [ 'email without @', 300208, { %base, userId => uniq('e'), email => 'nowhere' } ],
    [ 'email 65 chars', 300220, { %base, userId => uniq('e'), email => ('e' x 55) . '@x.example' } ],
    [ 'dept missing', 300203, { name => 'Err', userId => uniq('e') } ],
    [ 'dept empty', 300203, { name => 'Err', userId => uniq('e'), dept => [] } ],
    [ 'dept not an array', 300211, { name => 'Err', userId => uniq('e'), dept => $dA } ],
    [ 'dept of words', 300211, { name => 'Err', userId => uniq('e'), dept => ['a'] } ],
    [ 'dept of 21', 300221, { name => 'Err', userId => uniq('e'), dept => [1 .. 21] } ],
    [ 'dept unknown', 300307, { name => 'Err', userId => uniq('e'), dept => [$dA, 2147480001] } ],
    [ 'enableState 5', 300303, { %base, userId => uniq('e'), enableState => 5 } ],
    [ 'shortCode a number', 300303, { %base, userId => uniq('e'), shortCode => 5 } ],
    [ 'attrs an object', 300303, { %base, userId => uniq('e'), attrs => {} } ],
    [ 'attrs item without name', 300303, { %base, userId => uniq('e'), attrs => [{ value => 'x' }] } ],
    [ 'attrs value a number', 300303, { %base, userId => uniq('e'), attrs => [{ name => 'a', value => 1 }] } ],
    [ 'deptDetail an object', 300304, { %base, userId => uniq('e'), deptDetail => {} } ],
    [ 'deptDetail without deptId', 300304, { %base, userId => uniq('e'), deptDetail => [{ position => 'x' }] } ],
    [ 'deptDetail position a number', 300215, { %base, userId => uniq('e'), deptDetail => [{ deptId => $dA, position => 1 }] } ],
    [ 'deptDetail weight a word', 300216, { %base, userId => uniq('e'), deptDetail => [{ deptId => $dA, weight => 'w' }] } ],
    [ 'deptDetail sortId a word', 300217, { %base, userId => uniq('e'), deptDetail => [{ deptId => $dA, sortId => 's' }] } ],
);
err_("create: $_->[0]", $_->[1], '/user/create', $_->[2]) for @bad;
is(users_state(), $s1, 'no user written by a bad create');
is(ver(), $vb, 'org version unchanged');

# --- get -----------------------------------------------------------------------
($code, $d, $j) = cgi_call($org, '/user/get', undef, query => { userId => $u2 }, token => $tok);
is($code, 0, 'get (GET ?userId=)');
java_user_ok($d, 'get');
is($d->{gid}, $gid2, 'gid');
like(plain($j), qr/"gid":$gid2\b/, 'gid is a JSON integer');
is_deeply([sort { $a <=> $b } @{ $d->{dept} }], [sort { $a <=> $b } $dA, $dB], 'dept: both memberships');
my ($mB) = grep { $_->{deptId} == $dB } @{ $d->{deptDetail} };
is_deeply([$mB->{position}, $mB->{weight}, $mB->{sortId}], ['Lead', 3, 2], 'deptDetail of B');
is_deeply($d->{attrs}, [{ name => 'Badge', value => '42' }, { name => 'Floor', value => '7' }], 'attrs in order');
$d = ok_('get (ORGPHP: POST with envelope)', '/user/get', { userId => $u3 });
is_deeply($d->{attrs}, [], 'no attrs: an empty array');
is($d->{mobile}, '', 'no mobile: ""');
$d = ok_('get a REST-made user', '/User/Get', undef, query => { userId => $eacc });
java_user_ok($d, 'REST user');
err_('get unknown', 300225, '/user/get', undef, query => { userId => 'nobody-at-all' });
err_('get without userId', 300201, '/user/get', undef);

# --- update --------------------------------------------------------------------
ok_('update: name only', '/user/update', { userId => $u1, name => '张三丰' });
is(db("SELECT CONCAT(name, ' ', gender, ' ', mobile, ' ', email) FROM users WHERE id = $gid1"),
   "张三丰 1 +86-13800000001 $u1\@example.com", 'only the name changed');
is(db("SELECT version FROM users WHERE id = $gid1"), ver(), 'the row carries the version');
ok_('update: ADD zero values', '/user/update',
    { userId => $u1, name => '', gender => 1, mobile => '', phone => '', email => '', dept => [],
      enableState => 0, shortCode => '', attrs => undef });
is(db("SELECT CONCAT(name, ' ', mobile, ' ', phone, ' ', enable_state) FROM users WHERE id = $gid1"),
   '张三丰 +86-13800000001 010-1 1', 'zero values change nothing');
is(db("SELECT COUNT(*) FROM user_depts WHERE user_id = $gid1"), 1, 'memberships kept');

# dept replaces the membership; a kept department keeps its position
ok_('update: dept', '/user/update', { userId => $u2, dept => [$dB, $dC] });
is(db("SELECT COUNT(*) FROM user_depts WHERE user_id = $gid2 AND dept_id = $dA"), 0, 'A left');
is(db("SELECT position FROM user_depts WHERE user_id = $gid2 AND dept_id = $dB"), 'Lead', 'B kept its position');
ok_('update: attrs null leaves them', '/user/update', { userId => $u2, attrs => undef, phone => '123' });
is(db("SELECT COUNT(*) FROM user_attrs WHERE user_id = $gid2"), 2, 'attrs kept');
ok_('update: attrs [] clears them', '/user/update', { userId => $u2, attrs => [] });
is(db("SELECT COUNT(*) FROM user_attrs WHERE user_id = $gid2"), 0, 'attrs cleared');
ok_('update: new attrs', '/user/update', { userId => $u2, attrs => [{ name => 'Room', value => '9' }] });
$d = ok_('get after update', '/user/get', undef, query => { userId => $u2 });
is_deeply($d->{attrs}, [{ name => 'Room', value => '9' }], 'attrs replaced');
is($d->{phone}, '123', 'phone');
$r = json_ok('REST sees the update', GET => "/org/users/$gid2", undef, token => $emp);
is($r->{user}{phone}, '123', 'REST phone');

$s1 = users_state();
err_('update unknown', 300225, '/user/update', { userId => 'nobody-at-all', name => 'x' });
err_('update without userId', 300201, '/user/update', { name => 'x' });
err_('update mobile taken', 300210, '/user/update', { userId => $u2, mobile => '+86-13800000001' });
err_('update dept unknown', 300307, '/user/update', { userId => $u2, dept => [2147480001] });
err_('update name a number', 300206, '/user/update', { userId => $u2, name => 1 });
err_('update gender 3', 300207, '/user/update', { userId => $u2, gender => 3 });
err_('update email bad', 300208, '/user/update', { userId => $u2, email => 'x' });
err_('update the last super admin disabled', 300223, '/user/update', { userId => 'admin', enableState => -1 });
is(users_state(), $s1, 'bad updates changed nothing');

# --- positionupdate -------------------------------------------------------------
ok_('positionupdate', '/user/positionupdate', { userId => $u2, deptId => $dC, position => 'Chief', weight => 9 });
is(db("SELECT CONCAT(position, ' ', weight) FROM user_depts WHERE user_id = $gid2 AND dept_id = $dC"), 'Chief 9', 'set');
ok_('positionupdate: empty position clears', '/user/positionupdate', { userId => $u2, deptId => $dC, position => '' });
is(db("SELECT CONCAT('[', position, '] ', weight) FROM user_depts WHERE user_id = $gid2 AND dept_id = $dC"), '[] 9',
   'cleared, weight kept');
err_('positionupdate: not in dept', 300227, '/user/positionupdate', { userId => $u2, deptId => $dA, position => 'x' });
err_('positionupdate: unknown user', 300225, '/user/positionupdate', { userId => 'nobody-at-all', deptId => $dA });
err_('positionupdate: no deptId', 300109, '/user/positionupdate', { userId => $u2, position => 'x' });
err_('positionupdate: position a number', 300215, '/user/positionupdate', { userId => $u2, deptId => $dC, position => 4 });
err_('positionupdate: weight a word', 300216, '/user/positionupdate', { userId => $u2, deptId => $dC, weight => 'w' });
err_('positionupdate: sortId a word', 300217, '/user/positionupdate', { userId => $u2, deptId => $dC, sortId => 's' });

# --- lists ---------------------------------------------------------------------
$d = ok_('simplelist', '/user/simplelist', undef, query => { deptId => $dC });
is(ref $d->{userList}, 'ARRAY', 'userList is an array');
is_deeply([sort map { $_->{userId} } @{ $d->{userList} }], [sort $u2, $u3], 'the direct members');
is(ref $_->{dept}, 'ARRAY', 'simplelist: dept is an array') for @{ $d->{userList} };
($code, $d, $j) = cgi_call($org, '/user/list', undef, query => { deptId => $dC }, token => $tok);
is($code, 0, 'list');
java_user_ok($_, "list $_->{userId}") for @{ $d->{userList} };
unlike(plain($j), qr/:null\b/, 'no null anywhere in user/list');
$d = ok_('list (POST with envelope)', '/user/list', { deptId => $dA });
is_deeply([map { $_->{userId} } @{ $d->{userList} }], [$u1], 'members of A');
$d = ok_('list of an empty department', '/user/list', undef, query => { deptId => $dB + 0 });
is_deeply([map { $_->{userId} } @{ $d->{userList} }], [$u2], 'members of B');
err_('list unknown dept', 300114, '/user/list', undef, query => { deptId => 2147480001 });
err_('list without deptId', 300109, '/user/list', undef);
err_('list deptId a word', 300102, '/user/list', undef, query => { deptId => 'x' });

$d = ok_('dept/user/listall', '/dept/user/listall', undef, query => { deptId => $dA });
is_deeply([sort map { $_->{userId} } @{ $d->{userList} }], [sort $u1, $u2], 'the subtree (A and B)');
java_user_ok($_, "listall $_->{userId}") for @{ $d->{userList} };

$d = ok_('batchget', '/user/batchget', undef, query => { gids => "$gid1,$gid3" });
is_deeply([sort map { $_->{gid} } @{ $d->{userList} }], [sort { $a <=> $b } $gid1, $gid3], 'both');
$d = ok_('batchget unknown gid', '/user/batchget', undef, query => { gids => '2147480001' });
is_deeply($d->{userList}, [], 'nobody: an empty array');
err_('batchget words', 300212, '/user/batchget', undef, query => { gids => 'a,b' });
err_('batchget too many', 300222, '/user/batchget', undef, query => { gids => join(',', 1 .. 1001) });
err_('batchget missing', 300204, '/user/batchget', undef);

$d = ok_('search', '/user/search', undef, query => { keyword => '张三' });
ok((grep { $_->{userId} eq $u1 } @{ $d->{userList} }), 'by name');
$d = ok_('search by pinyin', '/user/search', undef, query => { keyword => 'zhangsan' });
ok((grep { $_->{userId} eq $u1 } @{ $d->{userList} }), 'by pinyin');
$d = ok_('search nothing', '/user/search', undef, query => { keyword => 'zzzz-none' });
is_deeply($d->{userList}, [], 'an empty array');
err_('search without keyword', 100003, '/user/search', undef);

# --- setauth, extend/update ----------------------------------------------------
my ($pid, $pacc, $ppw) = create_user();
my $md5 = uc md5_hex('Secret-123');
ok_('setauth', '/user/setauth', { userId => $pacc, authType => 2, passwd => $md5 });
is(db("SELECT CONCAT(auth_type, ' ', password_md5, ' ', password_hash IS NULL) FROM users WHERE id = $pid"),
   '2 ' . lc($md5) . ' 1', 'auth type, lower-case MD5, no password hash');
unlike(db("SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1"), qr/$md5/i, 'the MD5 is not in the audit log');
ok_('setauth: authType only', '/user/setauth', { userId => $pacc, authType => 0 });
is(db("SELECT CONCAT(auth_type, ' ', password_md5) FROM users WHERE id = $pid"), '0 ' . lc($md5), 'MD5 kept');
err_('setauth: passwd not hex', 300213, '/user/setauth', { userId => $pacc, passwd => 'x' x 32 });
err_('setauth: passwd doubly hexed', 300213, '/user/setauth', { userId => $pacc, passwd => unpack('H*', lc $md5) });
err_('setauth: passwd a number', 300213, '/user/setauth', { userId => $pacc, passwd => 5 });
err_('setauth: authType 3', 300214, '/user/setauth', { userId => $pacc, authType => 3 });
err_('setauth: authType a word', 300214, '/user/setauth', { userId => $pacc, authType => 'x' });
err_('setauth: nothing to set', 100003, '/user/setauth', { userId => $pacc });
err_('setauth: unknown user', 300225, '/user/setauth', { userId => 'nobody-at-all', authType => 1 });

ok_('extend/update needchangepwd 1', '/user/extend/update', { userId => $u1, key => 'needchangepwd', value => '1' });
is(db("SELECT must_change_password FROM users WHERE id = $gid1"), 1, 'must change the password');
ok_('extend/update needchangepwd 0', '/user/extend/update', { userId => $u1, key => 'needchangepwd', value => 0 });
is(db("SELECT must_change_password FROM users WHERE id = $gid1"), 0, 'no more');
err_('extend/update unknown key', 100003, '/user/extend/update', { userId => $u1, key => 'color', value => '1' });
err_('extend/update bad value', 100003, '/user/extend/update', { userId => $u1, key => 'needchangepwd', value => '7' });
err_('extend/update unknown user', 300225, '/user/extend/update', { userId => 'nobody-at-all', key => 'needchangepwd', value => '1' });

# --- enable state: disabling shuts the user out at once ------------------------
my ($kid, $kacc, $kpw) = create_user();
my $ktok = login_as($kacc, $kpw);
json_ok('the user works', GET => '/org/version', undef, token => $ktok);
($code, $d, $j) = cgi_call($org, '/user/enable/state', undef, query => { userId => $kacc }, token => $tok);
is($code, 0, 'enable/state');
like(plain($j), qr/^\{"enableState":1\}$/, 'enc{"enableState":1}');
ok_('stateupdate -1', '/user/enable/stateupdate', { userIdList => [$kacc, $u3], enableState => -1 });
is(db("SELECT GROUP_CONCAT(enable_state) FROM users WHERE id IN ($kid, $gid3)"), '-1,-1', 'both disabled');
json_err('a disabled user\'s token fails', 401, 40106, GET => '/org/version', undef, token => $ktok);
$d = ok_('enable/state after', '/user/enable/state', undef, query => { userId => $kacc });
is($d->{enableState}, -1, 'reads -1');
$r = json_ok('change feed', GET => '/org/changes?since=' . (ver() - 1), undef, token => $emp);
ok((grep { $_ == $kid } @{ $r->{deleted_users} }), 'employees see the disabled user leave');
ok_('stateupdate 1', '/user/enable/stateupdate', { userIdList => [$kacc, $u3], enableState => 1 });
ok(login_as($kacc, $kpw), 'enabled again: login works');
{
    my ($sid, $sacc) = create_user();
    sql("UPDATE users SET role = 2 WHERE id = $sid");
    ok_('another super admin may be disabled', '/user/enable/stateupdate', { userIdList => [$sacc], enableState => -1 });
    err_('but then not admin', 300223, '/user/enable/stateupdate', { userIdList => ['admin', $sacc], enableState => -1 });
    sql("UPDATE users SET role = 0 WHERE id = $sid");
}
$s1 = users_state();
err_('stateupdate unknown user', 300225, '/user/enable/stateupdate', { userIdList => [$kacc, 'nobody-at-all'], enableState => -1 });
err_('stateupdate no list', 300204, '/user/enable/stateupdate', { enableState => -1 });
err_('stateupdate list a string', 300212, '/user/enable/stateupdate', { userIdList => $kacc, enableState => -1 });
err_('stateupdate list of numbers', 300212, '/user/enable/stateupdate', { userIdList => [1], enableState => -1 });
err_('stateupdate list too long', 300222, '/user/enable/stateupdate',
     { userIdList => [map { "u$_" } 1 .. 1001], enableState => -1 });
err_('stateupdate state missing', 300303, '/user/enable/stateupdate', { userIdList => [$kacc] });
err_('stateupdate state 9', 300303, '/user/enable/stateupdate', { userIdList => [$kacc], enableState => 9 });
err_('stateupdate the last super admin', 300223, '/user/enable/stateupdate', { userIdList => ['admin'], enableState => -1 });
err_('enable/state unknown', 300225, '/user/enable/state', undef, query => { userId => 'nobody-at-all' });
is(users_state(), $s1, 'refused state updates changed nothing');

# their push connections are kicked at once, like an admin's disable
sub kicked_ok {
    my ($c, $n) = @_;
    my $t0 = time;
    my $k;
    1 while ($k = ws_json($c, 8)) && $k->{type} eq 'org';
    is_deeply($k, { type => 'kicked', reason => 'account disabled' }, "$n: kicked");
    ok(time - $t0 < 1.5, sprintf("$n: at once (took %.2fs)", time - $t0));
}
{
    my ($wid, $wacc, $wpw) = create_user();
    my $ws = ws_auth(scalar login_as($wacc, $wpw));
    ok_('stateupdate -1 of a connected user', '/user/enable/stateupdate', { userIdList => [$wacc], enableState => -1 });
    kicked_ok($ws, 'disabled');
    ok_('stateupdate 1', '/user/enable/stateupdate', { userIdList => [$wacc], enableState => 1 });
    $ws = ws_auth(scalar login_as($wacc, $wpw));
    ok_('update enableState -1 of a connected user', '/user/update', { userId => $wacc, enableState => -1 });
    kicked_ok($ws, 'disabled by update');
    ok_('update enableState 1', '/user/update', { userId => $wacc, enableState => 1 });
    $ws = ws_auth(scalar login_as($wacc, $wpw));
    ok_('quit of a connected user', '/user/quit', { accList => [$wacc] });
    kicked_ok($ws, 'quit');
}

# --- resignation ---------------------------------------------------------------
($code, $d, $j) = cgi_call($org, '/user/quit', { accList => [$u2], buin => 1 }, token => $tok);
is($code, 0, 'quit');
ok(defined $j->{encrypt} && length $j->{encrypt}, 'quit replies with an encrypt (Java)');
is(db("SELECT CONCAT(quit_at IS NOT NULL, ' ', enable_state) FROM users WHERE id = $gid2"), '1 -1', 'quit and disabled');
is(db("SELECT COUNT(*) FROM user_depts WHERE user_id = $gid2"), 0, 'left the org chart');
is(db("SELECT COUNT(*) FROM user_quit_depts WHERE user_id = $gid2"), 2, 'memberships kept aside');
$r = json_ok('change feed after quit', GET => '/org/changes?since=' . (ver() - 1), undef, token => $emp);
ok((grep { $_ == $gid2 } @{ $r->{deleted_users} }), 'employees see the user leave');
$r = json_ok('REST members of C', GET => "/org/departments/$dC", undef, token => $admin);
ok(!(grep { $_->{id} == $gid2 } @{ $r->{members} }), 'not a member of C any more (REST)');
err_('a user who quit is not found', 300225, '/user/get', undef, query => { userId => $u2 });
$d = ok_('nor listed', '/user/list', undef, query => { deptId => $dC });
ok(!(grep { $_->{userId} eq $u2 } @{ $d->{userList} }), 'not in user/list');
$d = ok_('quit/search all', '/user/quit/search', { account => '', buin => 1 });
my ($q) = grep { $_->{account} eq $u2 } @{ $d->{userList} };
ok($q, 'quit/search lists the user');
is_deeply([sort keys %$q], [sort qw(gid account chsName gender mobile phone email shortCode)], 'with the documented fields');
is($q->{gid}, $gid2, 'gid');
$d = ok_('quit/search by account (user.quit/search)', '/user.quit/search', { account => $u2 });
is(scalar @{ $d->{userList} }, 1, 'one match');
$d = ok_('quit/search no match', '/user/quit/search', { account => 'zzzz-none' });
is_deeply($d->{userList}, [], 'an empty array');
err_('create with the account of a user who quit', 300224, '/user/create', { userId => $u2, name => 'x', dept => [$dA] });
ok_('quit again is harmless (user.quit)', '/user.quit', { accList => [$u2] });
err_('quit unknown', 300225, '/user/quit', { accList => ['nobody-at-all'] });
err_('quit without list', 300204, '/user/quit', { buin => 1 });
err_('quit the last super admin', 300223, '/user/quit', { accList => ['admin'] });

($code, $d, $j) = cgi_call($org, '/user.restore', { gid => $gid2, account => '', buin => 1 }, token => $tok);
is($code, 0, 'restore (user.restore, by gid)');
ok(defined $j->{encrypt} && length $j->{encrypt}, 'restore replies with an encrypt');
is_deeply($d, { gid => $gid2, account => $u2 }, 'naming the user');
is(db("SELECT CONCAT(quit_at IS NULL, ' ', enable_state) FROM users WHERE id = $gid2"), '1 1', 'back and enabled');
is(db("SELECT GROUP_CONCAT(dept_id ORDER BY dept_id) FROM user_depts WHERE user_id = $gid2"),
   join(',', sort { $a <=> $b } $dB, $dC), 'memberships back');
is(db("SELECT position FROM user_depts WHERE user_id = $gid2 AND dept_id = $dB"), 'Lead', 'with positions');
$d = ok_('get after restore', '/user/get', undef, query => { userId => $u2 });
is_deeply($d->{attrs}, [{ name => 'Room', value => '9' }], 'attrs survived');
ok_('quit again', '/user/quit', { accList => [$u2] });
ok_('restore by account', '/user/restore', { account => $u2 });
err_('restore someone who has not quit', 300225, '/user/restore', { gid => $gid1 });
err_('restore without anything', 300201, '/user/restore', { buin => 1 });
err_('restore gid a word', 300205, '/user/restore', { gid => 'x' });

# --- delete --------------------------------------------------------------------
my $vd = ver();
ok_('delete (GET ?userId=)', '/user/delete', undef, query => { userId => $u3 });
is(db("SELECT COUNT(*) FROM users WHERE id = $gid3"), 0, 'gone');
my $vd2 = ver();
is(db("SELECT COUNT(*) FROM org_changes WHERE version = $vd2 AND kind = 2 AND target_id = $gid3 AND op = 2"), 1,
   'a delete change');
$r = json_ok('change feed', GET => "/org/changes?since=$vd", undef, token => $emp);
ok((grep { $_ == $gid3 } @{ $r->{deleted_users} }), 'the feed reports the deletion');
my ($x1) = create_user();
my $x1acc = db("SELECT account FROM users WHERE id = $x1");
ok_('delete (ADD: POST with the query only)', '/user/delete', undef, method => 'POST', query => { userId => $x1acc });
is(db("SELECT COUNT(*) FROM users WHERE id = $x1"), 0, 'gone');

my @b = map { (create_user())[1] } 1 .. 3;
$s1 = users_state();
err_('batchdelete with an unknown user', 300225, '/user/batchdelete', { delList => [@b, 'nobody-at-all'] });
err_('batchdelete too many', 300222, '/user/batchdelete', { delList => [map { "u$_" } 1 .. 201] });
err_('batchdelete no list', 300204, '/user/batchdelete', {});
err_('batchdelete not a list', 300212, '/user/batchdelete', { delList => 'x' });
err_('batchdelete the last super admin', 300223, '/user/batchdelete', { delList => ['admin'] });
my $talker = { id => $kid, token => scalar login_as($kacc, $kpw) };
my $conv = new_conv($talker, kind => 'direct', user_id => $eid);
err_('delete unknown', 300225, '/user/delete', undef, query => { userId => 'nobody-at-all' });
err_('delete without userId', 300201, '/user/delete', undef);
is(users_state(), $s1, 'refused deletes changed nothing');
ok_('batchdelete', '/user/batchdelete', { delList => \@b });
is(db("SELECT COUNT(*) FROM users WHERE account IN ('" . join("','", @b) . "')"), 0, 'all three gone');
ok_('delete a user with a conversation (as an admin delete does)', '/user/delete', { userId => $kacc });
is(db("SELECT COUNT(*) FROM conversations WHERE id = $conv"), 1, 'the conversation stays for the other member');

done_testing();
