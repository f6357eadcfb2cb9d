#!/usr/bin/perl
# /cgi full sync (PROTOCOL.md section 4.6): org/replaceall and org/xmlsync
# jobs, getjobresult, the completion callback, one job at a time, the
# lease of a job whose worker died, RTX XML (section 9) in GB2312, XXE.

use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use Encode qw(encode decode_utf8 encode_utf8);
use JSON::PP;
use Time::HiRes qw(sleep time);
use Youdu::Test;
use Youdu::Cgi;

my $J = JSON::PP->new->utf8->canonical;
my $app = cgi_builtin_app('sysOrgAssistant');
my $admin = admin_token();
my $B = 3_000_000 + ($$ % 50_000) * 1000;    # department ids of this run
my $p = uniq('sy');                          # account prefix of this run

sub db { my $r = sql(encode_utf8($_[0])); $r =~ s/\n\z//; decode_utf8($r) }
sub version { db('SELECT version FROM org_state WHERE id = 1') }

# the org as the REST API shows it (administrators aside: a sync keeps them)
sub org_state {
    my (undef, $dj) = api(GET => '/org/departments', undef, token => $admin);
    my %d = map { $_->{id} => "$_->{name}|" . ($_->{parent_id} // 'root') . "|$_->{sort_id}|$_->{alias}" }
            grep { $_->{id} != 0 } @{ $dj->{departments} };
    my %u;
    my %quit = map { $_ => 1 } split /\n/, db('SELECT account FROM users WHERE quit_at IS NOT NULL');
    my $off = 0;
    while (1) {
        my (undef, $uj) = api(GET => "/org/users?limit=500&offset=$off", undef, token => $admin);
        for my $x (@{ $uj->{users} }) {
            next if $x->{role} >= 1 || $quit{$x->{account}};
            $u{$x->{account}} = $x;
        }
        $off += 500;
        last if $off >= $uj->{total};
    }
    return (\%d, \%u);
}

sub fingerprint {
    db("SELECT CONCAT(COUNT(*), ':', IFNULL(SUM(CRC32(CONCAT_WS('|', id, account, name, gender, "
       . "IFNULL(mobile,''), email, enable_state))), 0)) FROM users") . '/'
    . db("SELECT CONCAT(COUNT(*), ':', IFNULL(SUM(CRC32(CONCAT_WS('|', id, parent_id, name, sort_id))), 0)) "
         . "FROM departments") . '/'
    . db("SELECT CONCAT(COUNT(*), ':', IFNULL(SUM(CRC32(CONCAT_WS('|', user_id, dept_id, position, weight, "
         . "sort_id))), 0)) FROM user_depts") . '/' . version();
}

sub job_result {
    my ($id, %o) = @_;
    return cgi_call($app, '/getjobresult', undef, query => { jobId => $id }, %o);
}

# polls until the job is no longer running; returns the result object
sub wait_job {
    my ($id, $secs) = @_;
    return undef unless defined $id;
    my $tok = cgi_token($app);
    my $until = time + ($secs // 120);
    my $r;
    while (time < $until) {
        (undef, $r) = job_result($id, token => $tok);
        return $r if $r && $r->{result} != 1;
        sleep 0.2;
    }
    return $r;
}

sub replaceall {
    my ($payload, %o) = @_;
    my ($code, $data, $j) = cgi_call($app, '/org/replaceall', $payload, %o);
    return ($code, $data && $data->{jobId}, $j);
}

sub run_ok {
    my ($name, $payload) = @_;
    my ($code, $id, $j) = replaceall($payload);
    is($code, 0, "$name: accepted") or diag explain $j;
    like($id // '', qr/^[0-9a-f]{32}$/, "$name: jobId is a 32-hex string");
    my $r = wait_job($id);
    is($r->{result}, 3, "$name: job done (3)") or diag explain $r;
    return ($id, $r);
}

sub run_fails {
    my ($name, $payload, $desc_re) = @_;
    my $before = fingerprint();
    my ($code, $id, $j) = replaceall($payload);
    is($code, 0, "$name: accepted (the job judges the rows)") or diag explain $j;
    my $r = wait_job($id);
    is($r->{result}, 4, "$name: job failed (4)") or diag explain $r;
    like($r->{desc} // '', $desc_re, "$name: desc says why");
    is(fingerprint(), $before, "$name: the org is unchanged");
    return $r;
}

# ------------------------------------------------ a small org, replaced

# before: a department and a user that the sync removes, a user it changes
my $gone_dept = create_dept(name => uniq('gone'));
my ($gone_uid) = create_user(account => "$p.gone", departments => [{ dept_id => $gone_dept }]);
my ($chg_uid) = create_user(account => "$p.chg", name => 'Before', departments => [{ dept_id => $gone_dept }]);
my ($quit_uid) = create_user(account => "$p.quit", departments => [{ dept_id => $gone_dept }]);
cgi_ok('a user resigns (/cgi/user/quit)', $app, '/user/quit', { accList => [ "$p.quit" ] });
my $v0 = version();
my $nu0 = db('SELECT COUNT(*) FROM users WHERE role = 0 AND quit_at IS NULL');  # all go but one
my $nd0 = db('SELECT COUNT(*) FROM departments WHERE id <> 0'); # all go

my $alias = uniq('al');
my $small = {
    deptList => [
        { id => $B + 1, name => '研发部', parentId => 0, sortId => 1 },
        { id => $B + 2, name => 'Backend', parentId => $B + 1, sortId => 1, alias => $alias },
        { id => $B + 3, name => 'Sales', parentId => 0, sortId => 2 },
    ],
    userList => [
        { userId => "$p.zs", name => '张三', gender => 1, mobile => '13800001111', email => 'zs@example.com',
          phone => '010-1234', dept => [ $B + 2, $B + 3 ], authType => 2,
          passwd => 'E10ADC3949BA59ABBE56E057F20F883E',
          deptDetail => [ { deptId => $B + 2, position => '组长', weight => 5, sortId => 2 } ] },
        { userId => "$p.chg", name => 'After', gender => 0, dept => [ $B + 1 ], enableState => -1 },
        { userId => "$p.ls", name => '李四', gender => 0, deptDetail => [ { deptId => $B + 3, position => 'Rep' } ] },
    ],
    callback => { url => 'http://127.0.0.1:9/sync-done', token => 'cbTok123' },
};
my ($job1) = run_ok('small org', $small);

my ($d, $u) = org_state();
is_deeply($d, { $B + 1 => "研发部|0|1|", $B + 2 => "Backend|" . ($B + 1) . "|1|$alias",
                $B + 3 => "Sales|0|2|" },
          'REST: exactly the requested departments (the old one removed)');
is_deeply([sort keys %$u], [sort "$p.zs", "$p.chg", "$p.ls"], 'REST: exactly the requested users');
is($u->{"$p.zs"}{name}, '张三', 'Chinese name');
is($u->{"$p.zs"}{gender}, 1, 'gender');
is($u->{"$p.zs"}{mobile}, '13800001111', 'mobile');
is($u->{"$p.chg"}{name}, 'After', 'an existing user (matched by userId) is changed');
is($u->{"$p.chg"}{id}, $chg_uid, 'and keeps its gid');
is($u->{"$p.chg"}{enable_state}, -1, 'enableState');
my (undef, $zj) = api(GET => "/org/users/$u->{\"$p.zs\"}{id}", undef, token => $admin);
is_deeply([ map { "$_->{dept_id}|$_->{position}|$_->{weight}|$_->{sort_id}" }
            sort { $a->{dept_id} <=> $b->{dept_id} } @{ $zj->{user}{departments} } ],
          [ ($B + 2) . "|组长|5|2", ($B + 3) . "||0|0" ],
          'multi-department membership with the position of deptDetail');
my (undef, $lj) = api(GET => "/org/users/$u->{\"$p.ls\"}{id}", undef, token => $admin);
is_deeply([ map { "$_->{dept_id}|$_->{position}" } @{ $lj->{user}{departments} } ], [ ($B + 3) . "|Rep" ],
          'deptDetail alone places a user too');
is(db("SELECT CONCAT(quit_at IS NOT NULL, ' ', (SELECT COUNT(*) FROM user_depts WHERE user_id = $quit_uid)) "
      . "FROM users WHERE id = $quit_uid"), '1 0', 'a resigned user is kept as resigned (row and history stay)');
my ($gst) = api(GET => "/org/users/$gone_uid", undef, token => $admin);
is($gst, 404, 'the user not listed is gone');
my $v1 = version();
is($v1, $v0 + 1, 'one version bump for the whole sync');
my (undef, $cj) = api(GET => "/org/changes?since=$v0", undef, token => $admin);
ok((grep { $_ == $gone_uid } @{ $cj->{deleted_users} }), 'change feed: the removed user');
ok((grep { $_ == $gone_dept } @{ $cj->{deleted_departments} }), 'change feed: the removed department');
ok((grep { $_->{account} eq "$p.zs" } @{ $cj->{users} }), 'change feed: the new user');
is(db("SELECT COUNT(*) FROM audit_log WHERE action = 'cgi.org.replaceall' AND actor_id IS NULL "
      . "AND detail LIKE '%\"app\":\"sysOrgAssistant\"%'"), 1, 'audit_log: the app, no actor');

is(db("SELECT CONCAT(auth_type, ' ', password_md5) FROM users WHERE account = '$p.zs'"),
   '2 e10adc3949ba59abbe56e057f20f883e', 'authType and passwd (MD5, lower-cased) stored');
is(db("SELECT CONCAT(auth_type, ' ', IFNULL(password_md5, 'none')) FROM users WHERE account = '$p.ls'"),
   '0 none', 'users without them keep the defaults');

my ($code, $res) = job_result($job1);
is($code, 0, 'getjobresult');
is($res->{type}, 'org_replace_all', 'type');
is($res->{result}, 3, 'result 3');
like($res->{desc}, qr/departments 3 created, 0 updated, $nd0 removed; users 2 created, 1 updated, @{[$nu0 - 1]} removed/,
     'desc has the counts');

# the completion notice, queued for the callback worker
my ($cb) = sql_rows("SELECT payload, IFNULL(url,'NULL'), IFNULL(token,'NULL') FROM app_callbacks "
                    . "WHERE app_pk = $app->{pk} ORDER BY id DESC LIMIT 1");
is_deeply($J->decode($cb->[0]),
          { fromUser => 'sysOrgAssistant', msgType => 'event',
            event => { type => 'org_replace_all', jobId => $job1, errcode => 0, errmsg => 'ok' } },
          'callback payload');
is($cb->[1], 'http://127.0.0.1:9/sync-done', 'callback url from the request');
is($cb->[2], 'cbTok123', 'callback token from the request');

# the same request again: nothing to change, still done
run_ok('same org again', { %$small, callback => undef });
my ($cb2) = sql_rows("SELECT IFNULL(url,'NULL'), IFNULL(token,'NULL') FROM app_callbacks "
                     . "WHERE app_pk = $app->{pk} ORDER BY id DESC LIMIT 1");
is_deeply($cb2, ['NULL', 'NULL'], "without callback: the app's own url and token (NULL)");

# ------------------------------------------------ bad requests

cgi_err('userList missing', 300204, $app, '/org/replaceall', { deptList => [] });
cgi_err('userList not an array', 300212, $app, '/org/replaceall', { userList => { a => 1 } });
cgi_err('deptList not an array', 300301, $app, '/org/replaceall', { userList => [], deptList => 'x' });
cgi_err('callback not an object', 100003, $app, '/org/replaceall', { userList => [], callback => 'x' });
cgi_err('callback url not http', 100003, $app, '/org/replaceall',
        { userList => [], callback => { url => 'ftp://x' } });
my $plain = cgi_app(rights => 1);
cgi_err('an app without the org right', 3, $plain, '/org/replaceall', { userList => [] });

my @depts = @{ $small->{deptList} };
my $u1 = { userId => "$p.a1", name => 'A1', gender => 0, dept => [ $B + 1 ] };
run_fails('duplicate userId', { deptList => \@depts, userList => [ $u1, { %$u1, name => 'A2' } ] },
          qr/userList\[1\]\.userId: .*appears twice/);
run_fails('unknown parent', { deptList => [ @depts, { id => $B + 9, name => 'X', parentId => $B + 99 } ],
                              userList => [ $u1 ] },
          qr/deptList\[3\]\.parentId: parent department/);
run_fails('sibling sortId clash', { deptList => [ @depts, { id => $B + 9, name => 'X', parentId => 0, sortId => 2 } ],
                                    userList => [ $u1 ] },
          qr/deptList\[3\]\.sortId: sortId 2 is also used by deptList\[2\].*sibling sortIds must differ/);
run_fails('wrong type', { deptList => \@depts, userList => [ { %$u1, gender => 'x' } ] },
          qr/userList\[0\]\.gender: gender must be an integer/);
run_fails('a resigned user listed', { deptList => \@depts, userList => [ $u1, { %$u1, userId => "$p.quit" } ] },
          qr/userList\[1\]\.userId: account "\Q$p\E\.quit" has resigned: restore it first/);
run_fails('bad passwd', { deptList => \@depts, userList => [ { %$u1, passwd => 'xyz' } ] },
          qr/userList\[0\]\.passwd: passwd must be the 32 hex digits/);
run_fails('bad authType', { deptList => \@depts, userList => [ { %$u1, authType => 7 } ] },
          qr/userList\[0\]\.authType: authType must be 0/);
run_fails('unknown department', { deptList => \@depts, userList => [ { %$u1, dept => [ $B + 77 ] } ] },
          qr/department \d+ does not exist/);
my ($cbf) = sql_rows("SELECT payload FROM app_callbacks WHERE app_pk = $app->{pk} ORDER BY id DESC LIMIT 1");
my $ev = $J->decode($cbf->[0])->{event};
is($ev->{errcode}, 300303, 'a failed job notifies with an errcode');
like($ev->{errmsg}, qr/does not exist/, 'and the reason');

# ------------------------------------------------ getjobresult

cgi_err('unknown jobId', 300311, $app, '/getjobresult', undef, query => { jobId => 'f' x 32 });
cgi_err('malformed jobId', 300311, $app, '/getjobresult', undef, query => { jobId => 'nope' });
cgi_err('no jobId', 300311, $app, '/getjobresult', undef);
my $other = cgi_app(rights => 2);
cgi_err("another app's job", 300311, $other, '/getjobresult', undef, query => { jobId => $job1 });

# ------------------------------------------------ one job at a time, leases

my $fake = 'a' x 31 . 'b';
sql("INSERT INTO org_jobs (id, app_pk, type, description) VALUES ('$fake', $app->{pk}, 'org_replace_all', 'running: x')");
cgi_err('a job is running (another worker, live heartbeat)', 300312, $app, '/org/replaceall', $small);
my (undef, $fr) = job_result($fake);
is($fr->{result}, 1, 'that job reads as running');
sql("UPDATE org_jobs SET heartbeat_at = UTC_TIMESTAMP(3) - INTERVAL 60 SECOND WHERE id = '$fake'");
(undef, $fr) = job_result($fake);
is($fr->{result}, 4, 'a job whose heartbeat stopped reads as failed');
like($fr->{desc}, qr/stopped.*send the sync again/, 'desc says what happened');
run_ok('a sync after the dead job', $small);

# the client goes away at once: the job goes on
{
    require IO::Socket::INET;
    my ($host, $port) = $URL =~ m{^https?://([^:/]+):(\d+)};
    my $body = $J->encode(Youdu::Cgi::_envelope($app, { %$small, userList => [ @{ $small->{userList} },
        { userId => "$p.gone2", name => 'Gone client', gender => 0, dept => [ $B + 1 ] } ] }));
    my $t = cgi_token($app);
    my $n0 = db("SELECT COUNT(*) FROM org_jobs");
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port) or die "connect: $!";
    print $s "POST /cgi/org/replaceall?accessToken=$t HTTP/1.1\r\nHost: $host\r\n"
           . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
    close $s;
    my $jid;
    for (1 .. 100) {
        last if ($jid = db("SELECT id FROM org_jobs ORDER BY created_at DESC LIMIT 1")) && db("SELECT COUNT(*) FROM org_jobs") > $n0;
        sleep 0.1;
    }
    my $r = wait_job($jid);
    is($r->{result}, 3, 'a client that hung up at once: its job still completes');
    is(db("SELECT name FROM users WHERE account = '$p.gone2'"), 'Gone client', 'and wrote the org');
}

# ------------------------------------------------ 2,000 users

my @bdepts = map { { id => $B + 100 + $_, name => "部门$_", parentId => $_ < 5 ? 0 : $B + 100 + $_ % 5,
                     sortId => $_ + 1 } } 0 .. 19;
sub big_users {
    my ($tag) = @_;
    return [ map { { userId => "$p.b$_", name => "${tag}用户$_", gender => $_ % 2,
                     mobile => sprintf('139%08d', $$ % 1000 * 10000 + $_),
                     dept => [ $B + 100 + $_ % 20, ($_ % 7 == 0 ? ($B + 100 + ($_ + 1) % 20) : ()) ],
                     deptDetail => [ { deptId => $B + 100 + $_ % 20, position => "P$_", weight => $_ % 10 } ] } }
             1 .. 2000 ];
}
my $big = { deptList => \@bdepts, userList => big_users('甲') };
my $tok = cgi_token($app);
my $t0 = time;
my ($bc, $bid) = replaceall($big, token => $tok);
is($bc, 0, '2,000 users: accepted');
my ($c2) = replaceall($small, token => $tok);
is($c2, 300312, 'a second replaceall while one runs: 300312');
my (undef, $mid) = job_result($bid, token => $tok);
ok($mid->{result} == 1 && $mid->{desc} =~ /^running: / || $mid->{result} == 3,
   "progress is visible while it runs ($mid->{desc})");
my $br = wait_job($bid, 300);
is($br->{result}, 3, '2,000 users: done') or diag explain $br;
diag(sprintf('2,000-user replaceall took %.1f s', time - $t0));
is(db("SELECT COUNT(*) FROM users WHERE role = 0 AND quit_at IS NULL"), 2000, '2,000 users stored (no others)');
is(db("SELECT COUNT(*) FROM users WHERE role = 0 AND account LIKE '$p.b%' AND name LIKE '甲用户%'"), 2000,
   'all of them the requested ones');
is(db("SELECT COUNT(*) FROM user_depts ud JOIN users u ON u.id = ud.user_id WHERE u.role = 0"),
   2000 + scalar(grep { $_ % 7 == 0 } 1 .. 2000), 'every membership');
is(db("SELECT COUNT(*) FROM departments WHERE id <> 0"), 20, 'exactly the 20 departments');
my (undef, $uj) = api(GET => "/org/users?dept=" . ($B + 107) . "&limit=500", undef, token => $admin);
is($uj->{total}, 100 + scalar(grep { $_ % 20 == 6 && $_ % 7 == 0 } 1 .. 2000), 'REST: a department\'s members');
my ($b7) = grep { $_->{account} eq "$p.b7" } @{ $uj->{users} };
is($b7 && $b7->{name}, '甲用户7', 'REST: a user of it');

# ------------------------------------------------ SIGKILL during a job

# another session holds the org lock, so the job is surely mid-way (its
# transaction waits) when its worker is killed
open(my $lock, '|-', 'mariadb', '--no-defaults', '-uroot', "--socket=$ENV{TEST_YOUDU_DB_SOCK}", 'youdu')
    or die "mariadb: $!";
{ my $old = select $lock; $| = 1; select $old; }
print $lock "BEGIN; SELECT version FROM org_state WHERE id = 1 FOR UPDATE;\n";
sleep 0.5;
my $before = fingerprint();
my $kbig = { deptList => \@bdepts, userList => big_users('乙') };
my ($kc, $kid) = replaceall($kbig, token => $tok);
is($kc, 0, 'kill test: accepted');
my $kr0;
for (1 .. 50) {
    (undef, $kr0) = job_result($kid, token => $tok);
    last if $kr0->{desc} =~ /reading the current/;
    sleep 0.1;
}
is($kr0->{result}, 1, "the job is running ($kr0->{desc})");
my $pid = db("SELECT owner_pid FROM org_jobs WHERE id = '$kid'");
ok($pid > 0 && kill('KILL', $pid), "the worker $pid running the job is killed with SIGKILL");
close $lock;    # ends the other session: its lock goes
my $t1 = time;
my $kr = wait_job($kid, 90);
is($kr && $kr->{result}, 4, 'the job ends as failed, not stuck running') or diag explain $kr;
like($kr->{desc}, qr/stopped .*Last progress: running: /, 'desc says the server stopped, and where');
diag(sprintf('the dead job read as failed after %.1f s', time - $t1));
is(db("SELECT COUNT(*) FROM users WHERE name LIKE '乙用户%'"), 0, 'nothing of it was applied');
is(fingerprint(), $before, 'the org is as before');
my ($after_kill) = replaceall($small, token => cgi_token($app));
is($after_kill, 0, 'a new sync is accepted after the dead one');
my $last = wait_job(db("SELECT id FROM org_jobs ORDER BY created_at DESC LIMIT 1"));
is($last->{result}, 3, 'and completes');

# ------------------------------------------------ RTX XML, GB2312

my $root = 'RTX2005OrLater_Exported_Data_9D373D5B-AA39-42e7-A819-BF5F7A8961FC';
my $X = $B + 500;
my $xml = <<"XML";
<?xml version="1.0" encoding="GB2312"?>
<$root>
  <Database>
    <Sys_User>
      <Item ID="11" UserName="$p.wang" Name="王五" Gender="1" Mobile="13700001111" Email="wang\@example.com" Phone="021-555" AccountState="0"/>
      <Item ID="12" UserName="$p.zhao" Name="赵六" Gender="0" AccountState="1"/>
      <Item ID="13" UserName="$p.zs" Name="张三丰" Gender="0"/>
    </Sys_User>
    <RTX_Dept>
      <Item DeptID="$X" DeptName="市场部" PDeptID="0" SortID="1"/>
      <Item DeptID="@{[$X + 1]}" DeptName="华东区" PDeptID="$X" SortID="1"/>
    </RTX_Dept>
    <RTX_DeptUser>
      <Item DeptID="$X" UserID="11"/>
      <Item DeptID="@{[$X + 1]}" UserID="11"/>
      <Item DeptID="@{[$X + 1]}" UserID="12"/>
    </RTX_DeptUser>
    <RTX_UserDetail>
      <Item ID="11" Position="经理"/>
    </RTX_UserDetail>
  </Database>
</$root>
XML
my $zs_gid = db("SELECT id FROM users WHERE account = '$p.zs'");

sub xmlsync {
    my ($bytes) = @_;
    my $t = cgi_token($app);
    my ($st, $j) = cgi_raw(POST => "/org/xmlsync?accessToken=$t", $bytes);
    my $data = $j && $j->{encrypt} ? $J->decode((cgi_decrypt($app->{key}, $j->{encrypt}))[0]) : undef;
    return ($st, $j, $data);
}

my ($xst, $xj, $xd) = xmlsync(encode('gb2312', $xml));
is($xst, 200, 'xmlsync: HTTP 200');
is($xj->{errcode}, 0, 'xmlsync: accepted') or diag explain $xj;
like($xd->{jobId} // '', qr/^[0-9a-f]{32}$/, 'xmlsync: jobId');
my $xr = wait_job($xd->{jobId});
is($xr->{result}, 3, 'xmlsync: done') or diag explain $xr;
(undef, $res) = job_result($xd->{jobId});
is($res->{type}, 'org_xml_sync', 'xmlsync job type');
($d, $u) = org_state();
is_deeply($d, { $X => "市场部|0|1|", $X + 1 => "华东区|$X|1|" }, 'xmlsync: the RTX departments, names round-trip');
is_deeply([sort keys %$u], [sort "$p.wang", "$p.zhao", "$p.zs"], 'xmlsync: exactly the RTX users');
is($u->{"$p.wang"}{name}, '王五', 'GB2312 name decoded');
is($u->{"$p.wang"}{gender}, 1, 'gender');
is($u->{"$p.wang"}{title}, '经理', 'position from RTX_UserDetail');
is($u->{"$p.wang"}{email}, 'wang@example.com', 'email');
is($u->{"$p.zhao"}{enable_state}, -1, 'AccountState 1: disabled');
is($u->{"$p.zs"}{id}, $zs_gid, 'RTX has no gids: the user is matched by account and keeps its gid');
is($u->{"$p.zs"}{name}, '张三丰', 'and is updated');
my (undef, $wj) = api(GET => "/org/users/$u->{\"$p.wang\"}{id}", undef, token => $admin);
is_deeply([ sort map { "$_->{dept_id}|$_->{position}" } @{ $wj->{user}{departments} } ],
          [ "$X|经理", ($X + 1) . "|经理" ], 'multi-department from RTX_DeptUser');
my (undef, $sj) = api(GET => "/org/users/$zs_gid", undef, token => $admin);
is_deeply([ map { $_->{dept_id} } @{ $sj->{user}{departments} } ], [ 0 ], 'a user in no department: the root');

# hostile XML: refused, nothing changes
my $fp = fingerprint();
my %bad = (
    'XXE' => qq{<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n}
             . qq{<$root><Database><Sys_User><Item ID="1" UserName="$p.x" Name="&x;"/></Sys_User></Database></$root>},
    'billion laughs' => qq{<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">}
             . join('', map { my $n = $_; "<!ENTITY lol$n \"" . ("&lol" . ($n - 1 || '') . ";") x 10 . "\">" } 1 .. 9)
             . qq{]>\n<$root><Database><Sys_User><Item ID="1" UserName="$p.x" Name="&lol9;"/></Sys_User></Database></$root>},
    'malformed' => qq{<?xml version="1.0"?><$root><Database><Sys_User><Item ID="1"</Database>},
    'not RTX' => qq{<?xml version="1.0"?><html><body/></html>},
);
for my $name (sort keys %bad) {
    my ($st, $j, $data) = xmlsync($bad{$name});
    my $r = $data ? wait_job($data->{jobId}) : undef;
    is($r && $r->{result}, 4, "$name: the job fails") or diag explain [$j, $r];
    like($r && $r->{desc}, $name =~ /XXE|laughs/ ? qr/document type declaration/
                            : $name eq 'malformed' ? qr/not well-formed/ : qr/not an RTX/,
         "$name: desc says why");
}
is(fingerprint(), $fp, 'hostile XML: the org is unchanged');
my (undef, $ej) = cgi_raw(POST => "/org/xmlsync?accessToken=" . cgi_token($app), '');
is($ej->{errcode}, 100003, 'xmlsync without a body: 100003');
my (undef, $nj) = cgi_raw(POST => "/org/xmlsync", encode('gb2312', $xml));
is($nj->{errcode}, 100000, 'xmlsync without a token: 100000');
is(db("SELECT COUNT(*) FROM org_jobs WHERE state = 1"), 0, 'no job is left running');

# ------------------------------------------------ the org as an SQLite file

my $ver = version();
my $q = cgi_ok('sqlitefile/query', $app, '/org/sqlitefile/query', undef, query => { userId => "$p.wang", version => 0 });
like($q->{fileId} // '', qr/^org-v\d+$/, 'a fileId');
is($q->{version}, $ver, 'of the current org version');
ok(JSON::PP::is_bool($q->{generatingNew}) && !$q->{generatingNew}, 'generatingNew: false (a JSON boolean)');
my $q2 = cgi_ok('sqlitefile/query again (cached)', $app, '/org/sqlitefile/query', undef);
is($q2->{fileId}, $q->{fileId}, 'the same file for the same version');
cgi_err('sqlitefile/query for an unknown user', 300225, $app, '/org/sqlitefile/query', undef,
        query => { userId => "$p.nobody" });

sub download {
    my ($id) = @_;
    my $t = cgi_token($app);
    return cgi_raw(GET => "/org/sqlitefile/download?accessToken=$t&fileId=" . ($id =~ s/([^\w-])/sprintf('%%%02X', ord $1)/ger));
}
my ($dst, undef, $draw, $dh) = download($q->{fileId});
is($dst, 200, 'download: HTTP 200');
is($dh->{fileid}, $q->{fileId}, 'download: the fileId header');
my ($gz, $trail) = cgi_decrypt($app->{key}, $draw);
is($trail, $app->{app_id}, 'download: encrypted for the app');
require IO::Uncompress::Gunzip;
my $dbbytes;
ok(IO::Uncompress::Gunzip::gunzip(\$gz => \$dbbytes), 'the body is a gzip');
my $dbfile = run_dir() . "/org-$$.db";
open my $dbf, '>:raw', $dbfile or die; print $dbf $dbbytes; close $dbf;
sub lite { my $r = `sqlite3 -separator '|' $dbfile "$_[0]"`; chomp $r; decode_utf8($r) }
is(lite('SELECT value FROM meta WHERE key = \'version\''), $ver, 'sqlite: meta version');
is(lite('SELECT COUNT(*) FROM user'), db('SELECT COUNT(*) FROM users WHERE quit_at IS NULL'),
   'sqlite: every user (not the resigned)');
is(lite("SELECT name || '|' || gender || '|' || email || '|' || enableState FROM user WHERE userId = '$p.wang'"),
   '王五|1|wang@example.com|1', 'sqlite: a user with its fields');
is(lite("SELECT gid FROM user WHERE userId = '$p.zs'"), $zs_gid, 'sqlite: gid');
is(lite("SELECT id || '|' || name || '|' || parentId || '|' || sortId FROM dept ORDER BY id"),
   "$X|市场部|0|1\n" . ($X + 1) . "|华东区|$X|1", 'sqlite: the departments');
is(lite("SELECT deptId || '|' || position FROM dept_user du JOIN user u ON u.gid = du.gid "
        . "WHERE u.userId = '$p.wang' ORDER BY deptId"),
   "$X|经理\n" . ($X + 1) . "|经理", 'sqlite: memberships with positions');
unlink $dbfile;

my (undef, $bj) = download('org-v999999999');
is($bj->{errcode}, 200010, 'download of an unknown fileId: 200010');
(undef, $bj) = download('../../etc/passwd');
is($bj->{errcode}, 200010, 'download of a path: 200010');
run_ok('an org change', { %$small, callback => undef });
my $q3 = cgi_ok('sqlitefile/query after the change', $app, '/org/sqlitefile/query', undef);
isnt($q3->{fileId}, $q->{fileId}, 'a new file for the new version');
(undef, $bj) = download($q->{fileId});
is($bj->{errcode}, 200010, 'the old file is gone');

done_testing();
