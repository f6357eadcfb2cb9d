# User list and search: name, account, mobile, pinyin, initials; department
# scope (direct or subtree); relevance; paging; disabled users.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $admin = admin_token();

my $top = create_dept(name => uniq('搜索'));
my $sub = create_dept(parent_id => $top);
my $deep = create_dept(parent_id => $sub);

my $tag = sprintf('%05d', $$ % 100000);
my ($zs) = create_user(name => '张三', account => "zhangsan$tag", mobile => "1555$tag" . '01',
                       departments => [{ dept_id => $sub }]);
my ($ls) = create_user(name => '李四', account => "lisi$tag", departments => [{ dept_id => $top }]);
my ($zw) = create_user(name => '张伟', account => "zw$tag", departments => [{ dept_id => $deep }]);
my ($off) = create_user(name => '张关', account => "zgoff$tag", enable_state => -1,
                        departments => [{ dept_id => $sub }]);
my ($eid, $eacc, $epw) = create_user(departments => [{ dept_id => 0 }]);
my $emp = login_as($eacc, $epw);

sub ids {
    my ($query, $token) = @_;
    my $j = json_ok("search $query", GET => "/org/users?$query", undef, token => $token // $emp);
    return [map { $_->{id} } @{ $j->{users} || [] }];
}
sub has { my ($list, $id) = @_; return scalar grep { $_ == $id } @$list }

my $scope = "dept=$top&recursive=1";

ok(has(ids("q=zhangsan&$scope"), $zs), 'full pinyin finds 张三');
ok(has(ids("q=zs&$scope"), $zs), 'initials find 张三');
ok(has(ids("q=zhang&$scope"), $zs), 'pinyin prefix finds 张三');
ok(has(ids("q=ZHANG&$scope"), $zs), 'case-insensitive');
ok(!has(ids("q=zhang&$scope"), $ls), 'pinyin prefix does not find 李四');
ok(has(ids("q=%E4%B8%89&$scope"), $zs), 'name substring 三 finds 张三');
is_deeply([sort { $a <=> $b } @{ ids("q=%E5%BC%A0&$scope") }], [sort { $a <=> $b } $zs, $zw], 'name substring 张: both enabled 张');
ok(has(ids("q=lisi$tag&$scope"), $ls), 'account prefix');
ok(!has(ids("q=isi$tag&$scope"), $ls), 'account matches by prefix only');
ok(has(ids("q=1555$tag&$scope"), $zs), 'mobile prefix (not confidential)');
is_deeply(ids("q=%25&$scope"), [], 'a % in q is a literal, not a wildcard');
is_deeply(ids("q=_&$scope"), [], 'an _ in q is a literal');

# relevance: the exact account first, then by pinyin
my $j = json_ok('relevance', GET => "/org/users?q=zw$tag&$scope", undef, token => $emp);
is($j->{users}[0]{id}, $zw, 'exact account first');
$j = json_ok('ordered by pinyin', GET => "/org/users?$scope", undef, token => $emp);
is_deeply([map { $_->{id} } @{ $j->{users} }], [$ls, $zs, $zw], 'no q: everyone in scope ordered by pinyin (lisi, zhangsan, zhangwei)');
is($j->{total}, 3, 'total');

# department scope
is_deeply(ids("dept=$sub"), [$zs], 'direct members only');
is_deeply(ids("dept=$top"), [$ls], 'direct members of the top');
is_deeply(ids("dept=$sub&recursive=1"), [$zs, $zw], 'subtree of sub');
is_deeply(ids("dept=$sub&recursive=0"), [$zs], 'recursive=0 is direct');

# paging
$j = json_ok('page', GET => "/org/users?$scope&offset=1&limit=1", undef, token => $emp);
is_deeply([map { $_->{id} } @{ $j->{users} }], [$zs], 'second of three');
is($j->{total}, 3, 'total with paging');
is($j->{offset}, 1, 'offset echoed');
is($j->{limit}, 1, 'limit echoed');

# disabled users: hidden from employees, shown to admins
ok(!has(ids("q=zgoff$tag&$scope"), $off), 'employee does not find a disabled user');
ok(has(ids("q=zgoff$tag&$scope", $admin), $off), 'admin finds a disabled user');
ok(has(ids("dept=$sub", $admin), $off), 'admin dept listing includes disabled users');
json_err('employee cannot read a disabled user', 404, 40403, GET => "/org/users/$off", undef, token => $emp);
json_ok('admin reads a disabled user', GET => "/org/users/$off", undef, token => $admin);

# the whole company, unscoped
$j = json_ok('list everyone', GET => '/org/users?limit=500', undef, token => $emp);
ok($j->{total} >= 4, 'unscoped total');
ok(has(ids("q=zhangsan$tag"), $zs), 'unscoped search finds 张三');

# bad input
json_err('limit 0', 400, 40008, GET => '/org/users?limit=0', undef, token => $emp);
json_err('limit too big', 400, 40008, GET => '/org/users?limit=501', undef, token => $emp);
json_err('offset negative', 400, 40008, GET => '/org/users?offset=-1', undef, token => $emp);
json_err('dept not a number', 400, 40008, GET => '/org/users?dept=abc', undef, token => $emp);
json_err('recursive not 0/1', 400, 40008, GET => "/org/users?dept=$top&recursive=2", undef, token => $emp);
json_err('q too long', 400, 40008, GET => '/org/users?q=' . ('a' x 65), undef, token => $emp);
json_err('q bad UTF-8', 400, 40008, GET => '/org/users?q=%FF%FE', undef, token => $emp);
json_err('dept not found', 404, 40402, GET => '/org/users?dept=2147483000', undef, token => $emp);
json_err('no token', 401, 40100, GET => '/org/users');

done_testing;
