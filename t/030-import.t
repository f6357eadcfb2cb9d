# Bulk import of the org chart: JSON and CSV, validation of every row,
# nothing written on error, one version bump, replace mode.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use Encode qw(encode_utf8 decode_utf8);
use Youdu::Test;

# db() with UTF-8 both ways and without the trailing newline
sub db {
    my ($q) = @_;
    my $r = Youdu::Test::sql(utf8::is_utf8($q) ? encode_utf8($q) : $q);
    $r =~ s/\n\z//;
    return decode_utf8($r);
}

my $t = admin_token();
my $B = 1_000_000 + ($$ % 50_000) * 1000;     # department ids of this run
my $p = uniq('imp');                          # account prefix of this run

sub version { db('SELECT version FROM org_state WHERE id = 1') }
sub q_ { my $s = shift; $s =~ s/'/''/g; "'$s'" }

sub import_json {
    my ($body, $query, %o) = @_;
    return api(POST => '/admin/import' . ($query // ''), $body, token => $o{token} // $t);
}

sub import_csv {
    my ($text, $query) = @_;
    return api(POST => '/admin/import' . ($query // ''), undef, token => $t,
               raw => (utf8::is_utf8($text) ? encode_utf8($text) : $text), type => 'text/csv');
}

# ------------------------------------------------------------- JSON upsert

my $v0 = version();
my $alias = uniq('al');
my $body = {
    departments => [
        { id => $B + 1, name => '研发部', parent_id => 0, sort_id => 3 },
        { id => $B + 2, name => 'Backend', parent_id => $B + 1, alias => $alias },
    ],
    users => [
        { account => "$p.zs", name => '张三', gender => 1, mobile => '+86-13800001111',
          email => 'zs@example.com', title => 'Engineer', phone => '010-1234',
          departments => [ { dept_id => $B + 2, position => 'Lead', weight => 5, sort_id => 2 },
                           { dept_id => $B + 1 } ] },
        { account => "$p.ls", name => '李四', dept_ids => [ $B + 1 ] },
    ],
};
my ($st, $j, $raw) = import_json($body);
is($st, 200, 'JSON import succeeds') or diag($raw);
is($j->{version}, $v0 + 1, 'reply carries the new version');
is(version(), $v0 + 1, 'the version was bumped exactly once');
is_deeply($j->{departments}, { created => 2, updated => 0, deleted => 0 }, 'department counts');
is_deeply($j->{users}, { created => 2, updated => 0, deleted => 0 }, 'user counts');
ok(defined $j->{elapsed_ms}, 'elapsed_ms reported');

is(db("SELECT CONCAT_WS('|', parent_id, name, sort_id, IFNULL(alias,'-'), path, depth, version) FROM departments WHERE id IN ($B+1, $B+2) ORDER BY id"),
   join("\n", "0|研发部|3|-|/0/" . ($B + 1) . "/|1|" . ($v0 + 1),
              ($B + 1) . "|Backend|0|$alias|/0/" . ($B + 1) . "/" . ($B + 2) . "/|2|" . ($v0 + 1)),
   'departments stored with path, depth and version');
is(db("SELECT CONCAT_WS('|', name, name_pinyin, name_initials, gender, mobile, phone, email, title, enable_state, role, IFNULL(password_hash,'NULL'), version) FROM users WHERE account = '$p.zs'"),
   "张三|zhangsan|zs|1|+86-13800001111|010-1234|zs\@example.com|Engineer|1|0|NULL|" . ($v0 + 1),
   'user stored with pinyin, no password, the version');
is(db("SELECT CONCAT_WS('|', IFNULL(mobile,'NULL'), gender, name_pinyin) FROM users WHERE account = '$p.ls'"),
   'NULL|0|lisi', 'empty mobile stored as NULL, defaults applied');
is(db("SELECT GROUP_CONCAT(CONCAT_WS(':', ud.dept_id, ud.position, ud.weight, ud.sort_id) ORDER BY ud.dept_id) FROM user_depts ud JOIN users u ON u.id = ud.user_id WHERE u.account = '$p.zs'"),
   ($B + 1) . "::0:0," . ($B + 2) . ":Lead:5:2", 'department memberships stored');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v0 + 1)), 4, 'one org_changes row per touched entity');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v0 + 1) . " AND kind = 1 AND target_id IN ($B+1, $B+2) AND op = 1"), 2,
   'org_changes rows for the departments');
like(db("SELECT detail FROM audit_log WHERE action = 'org.import' ORDER BY id DESC LIMIT 1"),
     qr/"users":\{"created":2/, 'audit log row written');

# same again: nothing changes, no version
($st, $j) = import_json($body);
is($st, 200, 'the same import again succeeds');
is_deeply([$j->{departments}{updated}, $j->{users}{updated}, $j->{users}{created}], [0, 0, 0], 'and changes nothing');
is(version(), $v0 + 1, 'no version bump without changes');

# an update: one user's title
$body->{users}[1]{title} = 'Manager';
($st, $j) = import_json($body);
is_deeply([$st, $j->{users}{updated}, $j->{users}{created}, $j->{departments}{updated}], [200, 1, 0, 0], 'upsert updates one user');
is(version(), $v0 + 2, 'one more version');
is(db("SELECT title FROM users WHERE account = '$p.ls'"), 'Manager', 'title updated');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v0 + 2)), 1, 'one org_changes row for the update');

# mobiles swapped between two users in one import pass the unique key
$body->{users}[1]{mobile} = '+86-13800001111';
$body->{users}[0]{mobile} = '13900002222';
($st, $j, $raw) = import_json($body);
is($st, 200, 'mobile swap between users imports') or diag($raw);
is(db("SELECT mobile FROM users WHERE account = '$p.ls'"), '+86-13800001111', 'mobile moved');

# ------------------------------------------------------------- one bad row among many

my $v1 = version();
my @many = map { { account => "$p.m$_", name => "用户$_", mobile => sprintf('1370000%04d', $_),
                   dept_ids => [ $B + 1 ] } } 1 .. 50;
$many[36]{mobile} = '12ab';
($st, $j) = import_json({ users => \@many });
is($st, 422, 'one bad row: 422');
is($j->{errcode}, 40009, 'errcode YD_ERR_IMPORT_INVALID');
is($j->{error_count}, 1, 'exactly one error');
is_deeply([$j->{errors}[0]{row}, $j->{errors}[0]{field}], [37, 'mobile'], 'the row and field are named');
like($j->{errors}[0]{message}, qr/mobile/, 'with a message');
is(db("SELECT COUNT(*) FROM users WHERE account LIKE '$p.m%'"), 0, 'nothing was written');
is(version(), $v1, 'no version bump');

# ------------------------------------------------------------- each rule fails alone

my $d1 = $B + 1;
my @cases = (
    [ 'account with bad characters', { users => [ { account => 'a b', name => 'x', dept_ids => [0] } ] }, 'account', qr/letters, digits/ ],
    [ 'empty account', { users => [ { account => '', name => 'x', dept_ids => [0] } ] }, 'account', qr/1 to 64/ ],
    [ 'name too long', { users => [ { account => "$p.n1", name => 'x' x 65, dept_ids => [0] } ] }, 'name', qr/1 to 64/ ],
    [ 'name with a control character', { users => [ { account => "$p.n2", name => "a\tb", dept_ids => [0] } ] }, 'name', qr/control/ ],
    [ 'gender out of range', { users => [ { account => "$p.n3", name => 'x', gender => 2, dept_ids => [0] } ] }, 'gender', qr/between 0 and 1/ ],
    [ 'gender of the wrong type', { users => [ { account => "$p.n3", name => 'x', gender => 'x', dept_ids => [0] } ] }, 'gender', qr/integer/ ],
    [ 'mobile too short', { users => [ { account => "$p.n4", name => 'x', mobile => '123', dept_ids => [0] } ] }, 'mobile', qr/5 to 20/ ],
    [ 'mobile ending with -', { users => [ { account => "$p.n4", name => 'x', mobile => '12345-', dept_ids => [0] } ] }, 'mobile', qr/5 to 20/ ],
    [ 'phone too long', { users => [ { account => "$p.n5", name => 'x', phone => '1' x 33, dept_ids => [0] } ] }, 'phone', qr/at most 32/ ],
    [ 'email without @', { users => [ { account => "$p.n6", name => 'x', email => 'nobody', dept_ids => [0] } ] }, 'email', qr/name\@domain/ ],
    [ 'email with nothing after @', { users => [ { account => "$p.n6", name => 'x', email => 'a@', dept_ids => [0] } ] }, 'email', qr/name\@domain/ ],
    [ 'title too long', { users => [ { account => "$p.n7", name => 'x', title => 't' x 65, dept_ids => [0] } ] }, 'title', qr/at most 64/ ],
    [ 'enable_state out of range', { users => [ { account => "$p.n8", name => 'x', enable_state => 2, dept_ids => [0] } ] }, 'enable_state', qr/between -1 and 1/ ],
    [ 'no department', { users => [ { account => "$p.n9", name => 'x', dept_ids => [] } ] }, 'departments', qr/1 to 20/ ],
    [ '21 departments', { users => [ { account => "$p.n9", name => 'x', dept_ids => [ 0 .. 20 ] } ] }, 'departments', qr/1 to 20/ ],
    [ 'department listed twice', { users => [ { account => "$p.n9", name => 'x', dept_ids => [ $d1, $d1 ] } ] }, 'departments', qr/listed twice/ ],
    [ 'unknown department', { users => [ { account => "$p.n9", name => 'x', dept_ids => [ $B + 999 ] } ] }, 'departments', qr/does not exist/ ],
    [ 'position too long', { users => [ { account => "$p.n9", name => 'x', departments => [ { dept_id => 0, position => 'p' x 65 } ] } ] }, 'position', qr/at most 64/ ],
    [ 'account twice in the file (any case)', { users => [ { account => "$p.dup", name => 'x', dept_ids => [0] }, { account => uc("$p.dup"), name => 'y', dept_ids => [0] } ] }, 'account', qr/twice.*row 1/, 2 ],
    [ 'mobile twice in the file', { users => [ { account => "$p.d1", name => 'x', mobile => '15500001111', dept_ids => [0] }, { account => "$p.d2", name => 'y', mobile => '15500001111', dept_ids => [0] } ] }, 'mobile', qr/twice/, 2 ],
    [ 'mobile of another stored user', { users => [ { account => "$p.d3", name => 'x', mobile => '+86-13800001111', dept_ids => [0] } ] }, 'mobile', qr/already used by account "\Q\L$p.ls\E"/ ],
    [ 'department id 0', { departments => [ { id => 0, name => 'x', parent_id => 0 } ] }, 'id', qr/between 1 and/ ],
    [ 'department name with /', { departments => [ { id => $B + 50, name => 'a/b', parent_id => 0 } ] }, 'name', qr/'\/'/ ],
    [ 'department name too long', { departments => [ { id => $B + 50, name => 'n' x 33, parent_id => 0 } ] }, 'name', qr/1 to 32/ ],
    [ 'department without parent_id', { departments => [ { id => $B + 50, name => 'x' } ] }, 'parent_id', qr/required/ ],
    [ 'unknown parent', { departments => [ { id => $B + 50, name => 'x', parent_id => $B + 998 } ] }, 'parent_id', qr/does not exist/ ],
    [ 'parent cycle in the file', { departments => [ { id => $B + 50, name => 'x', parent_id => $B + 51 }, { id => $B + 51, name => 'y', parent_id => $B + 50 } ] }, 'parent_id', qr/cycle/, 2 ],
    [ 'moving a stored department under its child', { departments => [ { id => $B + 1, name => '研发部', parent_id => $B + 2 } ] }, 'parent_id', qr/cycle/ ],
    [ 'department id twice', { departments => [ { id => $B + 50, name => 'x', parent_id => 0 }, { id => $B + 50, name => 'y', parent_id => 0 } ] }, 'id', qr/twice/, 2 ],
    [ 'alias twice in the file', { departments => [ { id => $B + 50, name => 'x', parent_id => 0, alias => "$p-a" }, { id => $B + 51, name => 'y', parent_id => 0, alias => "$p-a" } ] }, 'alias', qr/already used/, 2 ],
    [ 'alias of a stored department', { departments => [ { id => $B + 50, name => 'x', parent_id => 0, alias => $alias } ] }, 'alias', qr/already used by department/ ],
    [ 'alias too long', { departments => [ { id => $B + 50, name => 'x', parent_id => 0, alias => 'a' x 65 } ] }, 'alias', qr/at most 64/ ],
);
my $vc = version();
my $nu = db('SELECT COUNT(*) FROM users');
my $nd = db('SELECT COUNT(*) FROM departments');
for my $c (@cases) {
    my ($name, $b, $field, $re, $row) = @$c;
    ($st, $j, $raw) = import_json($b);
    my $e = ($j && $j->{errors}) ? $j->{errors}[0] : {};
    ok($st == 422 && $j->{errcode} == 40009 && $e->{field} eq $field && $e->{row} == ($row // 1)
       && $e->{message} =~ $re, "rejected: $name") or diag($raw);
}
is(version(), $vc, 'rejected imports bump no version');
is(db('SELECT COUNT(*) FROM users'), $nu, 'rejected imports write no user');
is(db('SELECT COUNT(*) FROM departments'), $nd, 'rejected imports write no department');

# ------------------------------------------------------------- request errors

json_err('malformed JSON', 400, 40001, POST => '/admin/import', undef, token => $t, raw => '{"users":[');
json_err('users must be an array', 400, 40003, POST => '/admin/import', { users => {} }, token => $t);
json_err('bad UTF-8 in JSON', 400, 40002, POST => '/admin/import', undef, token => $t,
         raw => qq({"users":[{"account":"x","name":"\xff\xfe","dept_ids":[0]}]}));
json_err('bad UTF-8 in CSV', 400, 40002, POST => '/admin/import', undef, token => $t,
         raw => "account,name,departments\nx,\xc3\x28,0\n", type => 'text/csv');
json_err('other content types', 415, 40007, POST => '/admin/import', undef, token => $t, raw => 'x', type => 'text/plain');
json_err('empty body', 400, 40004, POST => '/admin/import', undef, token => $t);
json_err('bad mode', 400, 40008, POST => '/admin/import?mode=merge', { users => [] }, token => $t);
json_err('no token', 401, 40100, POST => '/admin/import', { users => [] });
($st, $j, $raw) = api(POST => '/admin/import', undef, token => $t, type => 'text/csv',
                      raw => 'a' x (64 * 1024 * 1024 + 1));
ok($st == 413 && $j && $j->{errcode} == 41300, 'a body over 64 MiB: 413 41300') or diag("$st " . substr($raw // '', 0, 200));

# an employee: give an imported user the admin's password hash to sign in
db("UPDATE users SET password_hash = (SELECT h FROM (SELECT password_hash AS h FROM users WHERE account = 'admin') a), must_change_password = 0 WHERE account = '$p.ls'");
my $emp = login_as("$p.ls", 'Admin-Pass-2026');
json_err('employees may not import', 403, 40300, POST => '/admin/import', { users => [] }, token => $emp);

# ------------------------------------------------------------- dry run

my $v2 = version();
($st, $j) = import_json({ departments => [ { id => $B + 60, name => 'Dry', parent_id => 0 } ],
                          users => [ { account => "$p.dry", name => 'Dry Run', dept_ids => [ $B + 60 ] } ] }, '?dry_run=1');
is($st, 200, 'dry run validates');
ok($j->{dry_run}, 'reply says dry run');
is_deeply([$j->{departments}{created}, $j->{users}{created}], [1, 1], 'dry run reports the counts');
is(db("SELECT COUNT(*) FROM users WHERE account = '$p.dry'") + db("SELECT COUNT(*) FROM departments WHERE id = $B + 60"), 0,
   'dry run writes nothing');
is(version(), $v2, 'dry run bumps no version');
($st, $j) = import_json({ users => [ { account => "$p.dry", name => 'x', dept_ids => [ $B + 61 ] } ] }, '?dry_run=1');
is($st, 422, 'dry run reports invalid rows too');

# ------------------------------------------------------------- CSV

my $sales = uniq('销售');
my $csv = "\x{FEFF}account,name,gender,mobile,phone,email,title,enable_state,departments\r\n"
        . "$p.c1,王五,女,13600000001,,w5\@example.com,\"Sales, East\",1,$sales/华东\r\n"
        . "$p.c2,\"Zhao \"\"Six\"\"\",male,,,,\"two, \"\"lines\"\"\",0,$sales/华东|" . ($B + 1) . "\r\n"
        . "$p.c3,钱七,1,,,,,-1,$sales\r\n";
my $v3 = version();
($st, $j, $raw) = import_csv($csv);
is($st, 200, 'CSV import with BOM, CRLF, quotes and department paths') or diag($raw);
is_deeply([$j->{users}{created}, $j->{departments}{created}], [3, 2], 'CSV: 3 users, 2 departments made from paths');
is(version(), $v3 + 1, 'CSV: one version bump');
my $sid = db("SELECT id FROM departments WHERE name = '$sales' AND parent_id = 0");
ok($sid, 'path department created under the root');
my $eid = db("SELECT id FROM departments WHERE name = '华东' AND parent_id = '$sid'");
is(db("SELECT CONCAT(path, '|', depth) FROM departments WHERE id = '$eid'"), "/0/$sid/$eid/|2", 'nested path department with path and depth');
is(db("SELECT CONCAT_WS('|', name, gender, mobile, title, name_pinyin) FROM users WHERE account = '$p.c1'"),
   "王五|1|13600000001|Sales, East|wangwu", 'CSV: quoted comma, Chinese gender');
is(db("SELECT CONCAT_WS('|', name, gender, enable_state, title) FROM users WHERE account = '$p.c2'"),
   'Zhao "Six"|0|0|two, "lines"', 'CSV: doubled quotes');
($st, $j) = import_csv("account,name,title,departments\r\n$p.c9,x,ok,0\r\n$p.c9b,y,\"a\r\nb\",0\r\n$p.c9c,z,\"=1\",0\r\n$p.c9d,w,,2147483000\r\n");
is_deeply([ map { "$_->{row}:$_->{field}" } @{ $j->{errors} || [] } ], [ '3:title', '6:departments' ],
          'a quoted line break is read, rejected as a control character, and later rows keep their file line');
is(db("SELECT GROUP_CONCAT(dept_id ORDER BY dept_id) FROM user_depts ud JOIN users u ON u.id = ud.user_id WHERE u.account = '$p.c2'"),
   join(',', sort { $a <=> $b } ($B + 1, $eid)), 'CSV: a path and an id in one cell');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v3 + 1)), 5, 'CSV: org_changes rows');

my $zh = "账号,姓名,性别,手机,电话,邮箱,职务,状态,部门\n$p.c4,孙八,男,,,,,1,$sales/华东\n";
($st, $j, $raw) = import_csv($zh);
is_deeply([$st, $j->{users}{created}, $j->{departments}{created}], [200, 1, 0], 'Chinese headers; existing path reused') or diag($raw);
is(db("SELECT dept_id FROM user_depts ud JOIN users u ON u.id = ud.user_id WHERE u.account = '$p.c4'"), $eid, 'path resolved to the same department');

($st, $j) = import_csv("account,name,departments,shoe_size\n$p.c5,x,0,42\n");
ok($st == 400 && $j->{errcode} == 40006 && $j->{errmsg} =~ /unknown CSV column "shoe_size"/, 'unknown CSV column: 400');
($st, $j) = import_csv("account,name,departments\n$p.c5,x,0\n$p.c6,\"broken,0\n$p.c7,y,0\n");
ok($st == 400 && $j->{errmsg} =~ /line 3.*unterminated/, 'unterminated quote: 400 with the line') or diag($j->{errmsg});
($st, $j) = import_csv("account,name,departments\n$p.c5,x,0\n$p.c6,y\n$p.c7,z,0,9\n$p.c8,w,$sales/a\x01b\n");
is($st, 422, 'CSV row errors: 422');
is_deeply([ map { "$_->{row}:$_->{field}" } @{ $j->{errors} } ], [ '3:', '4:', '5:departments' ], 'CSV errors carry the file line numbers');
is(db("SELECT COUNT(*) FROM users WHERE account = '$p.c5'"), 0, 'nothing written from an invalid CSV');
($st, $j) = import_csv("account,name,gender,departments\n$p.c5,x,maybe,0\n");
ok($st == 422 && $j->{errors}[0]{field} eq 'gender' && $j->{errors}[0]{row} == 2, 'CSV: bad gender');

# ------------------------------------------------------------- replace

my ($est, undef, $eraw) = api(GET => '/admin/export?format=json', undef, token => $t);
my $org = $JSON->decode($eraw);
delete $org->{$_} for qw(version errcode errmsg);
my $keep_n = @{ $org->{users} };
$org->{users} = [ grep { $_->{account} ne "$p.c3" && $_->{account} ne 'admin' } @{ $org->{users} } ];
is(scalar @{ $org->{users} }, $keep_n - 2, 'export lists the users to keep');
$org->{departments} = [ grep { $_->{id} != $B + 2 } @{ $org->{departments} } ];
$_->{departments} = [ grep { $_->{dept_id} != $B + 2 } @{ $_->{departments} } ] for @{ $org->{users} };
my $v4 = version();
($st, $j, $raw) = import_json($org, '?mode=replace');
is($st, 200, 'replace import succeeds') or diag($raw);
is_deeply([$j->{users}{deleted}, $j->{departments}{deleted}], [1, 1], 'replace deletes the absent user and department');
is(db("SELECT COUNT(*) FROM users WHERE account = '$p.c3'"), 0, 'absent user deleted');
is(db("SELECT COUNT(*) FROM users WHERE account = 'admin'"), 1, 'the caller is never deleted');
is(db("SELECT COUNT(*) FROM departments WHERE id = $B + 2"), 0, 'absent department deleted');
is(db("SELECT COUNT(*) FROM departments WHERE id = 0"), 1, 'the root stays');
is(db("SELECT COUNT(*) FROM org_changes WHERE version = " . ($v4 + 1) . " AND op = 2"), 2, 'org_changes delete rows');
is(version(), $v4 + 1, 'replace: one version bump');


# an admin (role 1) replacing without the super admin: the last super admin stays
# (other test files may have made more super admins: make 'admin' the last one)
db("UPDATE users SET role = 0 WHERE role = 2 AND account <> 'admin'");
my $adm = "$p.adm";
($st, $j) = import_json({ users => [ { account => $adm, name => 'Admin Two', dept_ids => [0] } ] });
db("UPDATE users SET role = 1, password_hash = (SELECT h FROM (SELECT password_hash AS h FROM users WHERE account = 'admin') a), must_change_password = 0 WHERE account = '$adm'");
my $adm_t = login_as($adm, 'Admin-Pass-2026');
($st, undef, $eraw) = api(GET => '/admin/export', undef, token => $t);
$org = $JSON->decode($eraw);
delete $org->{$_} for qw(version errcode errmsg);
$org->{users} = [ grep { $_->{account} ne 'admin' && $_->{account} ne $adm } @{ $org->{users} } ];
($st, $j, $raw) = import_json($org, '?mode=replace', token => $adm_t);
is($st, 200, 'an admin replaces the org') or diag($raw);
is($j->{users}{deleted}, 0, 'neither the caller nor the last super admin is deleted');
is(db("SELECT COUNT(*) FROM users WHERE account IN ('admin', '$adm')"), 2, 'both still there');

# an admin (role 1) may not change administrators by import (as with PATCH)
my $admin_name = db("SELECT name FROM users WHERE account = 'admin'");
($st, $j) = import_json({ users => [ { account => 'admin', name => 'Renamed by import', dept_ids => [0] } ] },
                        '', token => $adm_t);
is($st, 422, 'an admin cannot rename the super admin by import');
is($j->{errors}[0]{field}, 'account', 'the row is reported on its account');
like($j->{errors}[0]{message}, qr/only a super admin/, 'with the reason');
is(db("SELECT name FROM users WHERE account = 'admin'"), $admin_name, 'nothing written');
my $sup = "$p.sup";
($st) = import_json({ users => [ { account => $sup, name => 'Second Super', dept_ids => [0] } ] });
db("UPDATE users SET role = 2 WHERE account = '$sup'");
($st, undef, $eraw) = api(GET => '/admin/export', undef, token => $t);
$org = $JSON->decode($eraw);
delete $org->{$_} for qw(version errcode errmsg);
$org->{users} = [ grep { $_->{account} ne $sup } @{ $org->{users} } ];
($st, $j, $raw) = import_json($org, '?mode=replace', token => $adm_t);
is($st, 200, 'an admin replaces the org without the second super admin') or diag($raw);
is(db("SELECT COUNT(*) FROM users WHERE account = '$sup'"), 1, 'administrators stay when an admin replaces');

# the error list is capped at 1000 entries, the count is not
my @bad = map { { account => "bad $_", name => 'x', dept_ids => [0] } } 1 .. 1005;
($st, $j) = import_json({ users => \@bad });
is_deeply([ $st, $j->{error_count}, scalar @{ $j->{errors} } ], [ 422, 1005, 1000 ], 'errors capped at 1000, error_count complete');

done_testing;
