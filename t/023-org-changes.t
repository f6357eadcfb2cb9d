# Keeping a copy in step: /org/version, /org/changes (collapsed, deletions,
# paging with has_more, gone versions) and /org/snapshot (gzip, ETag, 304).
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Time::HiRes ();

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $admin = admin_token();

sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }

my ($eid, $eacc, $epw) = create_user();
my $emp = login_as($eacc, $epw);

# --- version
my $j = json_ok('version', GET => '/org/version', undef, token => $emp);
my $v0 = $j->{version};
is($v0, db("SELECT version FROM org_state WHERE id = 1"), 'version is the stored one');
json_err('version without token', 401, 40100, GET => '/org/version');

# nothing new
$j = json_ok('no changes yet', GET => "/org/changes?since=$v0", undef, token => $emp);
is($j->{version}, $v0, 'version stays');
ok(!$j->{has_more}, 'no more');
is_deeply([$j->{departments}, $j->{users}, $j->{deleted_departments}, $j->{deleted_users}],
          [[], [], [], []], 'empty lists');

# --- a series of writes
my $d1 = create_dept(name => uniq('chg'));                          # v0+1
my ($u1) = create_user(departments => [{ dept_id => $d1, position => 'P1' }]); # v0+2
json_ok('update u1', PATCH => "/admin/users/$u1", { title => 'T1' }, token => $admin);  # v0+3
json_ok('update u1 again', PATCH => "/admin/users/$u1", { title => 'T2' }, token => $admin); # v0+4
my $d2name = uniq('gone');
my $d2 = create_dept(parent_id => $d1, name => $d2name);             # v0+5
json_ok('delete d2', DELETE => "/admin/departments/$d2", undef, token => $admin); # v0+6
my ($u2) = create_user();                                            # v0+7
json_ok('delete u2', DELETE => "/admin/users/$u2", undef, token => $admin);     # v0+8
my $v8 = $v0 + 8;
is(db("SELECT version FROM org_state WHERE id = 1"), $v8, 'eight writes, eight versions');

$j = json_ok('changes since v0', GET => "/org/changes?since=$v0", undef, token => $emp);
is($j->{version}, $v8, 'newest version included');
ok(!$j->{has_more}, 'all in one page');
is_deeply([map { $_->{id} } @{ $j->{departments} }], [$d1], 'created department listed');
is_deeply($j->{deleted_departments}, [$d2], 'deleted department listed as deleted');
is_deeply([map { $_->{id} } @{ $j->{users} }], [$u1], 'updated user once (collapsed)');
is($j->{users}[0]{title}, 'T2', 'the current state');
is_deeply($j->{users}[0]{departments}, [{ dept_id => $d1, position => 'P1', weight => 0, sort_id => 0 }],
          'user with memberships');
is_deeply($j->{deleted_users}, [$u2], 'deleted user listed as deleted');

$j = json_ok('changes since v0+3', GET => "/org/changes?since=" . ($v0 + 3), undef, token => $emp);
is_deeply([map { $_->{id} } @{ $j->{users} }], [$u1], 'change after v0+3 seen');
is_deeply($j->{departments}, [], 'department created before v0+3 not repeated');
$j = json_ok('changes since v0+4', GET => "/org/changes?since=" . ($v0 + 4), undef, token => $emp);
is_deeply($j->{users}, [], 'nothing about u1 after v0+4');
is_deeply($j->{deleted_departments}, [$d2], 'but the deletion');

# --- paging
my (@seen, $since, $pages, $more);
$since = $v0; $pages = 0;
do {
    $j = json_ok("page from $since", GET => "/org/changes?since=$since&limit=1", undef, token => $emp);
    $more = $j->{has_more};
    ok($j->{version} > $since, 'each page advances') or last;
    push @seen, map { "d$_->{id}" } @{ $j->{departments} };
    push @seen, map { "u$_->{id}" } @{ $j->{users} };
    push @seen, map { "-d$_" } @{ $j->{deleted_departments} };
    push @seen, map { "-u$_" } @{ $j->{deleted_users} };
    $since = $j->{version};
    $pages++;
} while ($more && $pages < 20);
is($pages, 8, 'limit=1: one version per page');
is($since, $v8, 'paging ends at the newest version');
# an entity deleted since is reported as deleted, whatever the page
is_deeply(\@seen, ["d$d1", "u$u1", "u$u1", "u$u1", "-d$d2", "-d$d2", "-u$u2", "-u$u2"], 'every change seen in order');

# a version touching several rows is never split
my $p = create_dept();
my $q = create_dept(parent_id => $p);
create_dept(parent_id => $q);
my $mv = db("SELECT version FROM org_state WHERE id = 1");
json_ok('move a 3-department subtree', PATCH => "/admin/departments/$p", { parent_id => $d1 }, token => $admin);
$j = json_ok('limit 2 over a 3-row version', GET => "/org/changes?since=$mv&limit=2", undef, token => $emp);
is(scalar @{ $j->{departments} }, 3, 'the whole version is delivered');
is($j->{version}, $mv + 1, 'its version');
ok(!$j->{has_more}, 'nothing after it');
$j = json_ok('limit 2 over versions 1 + 3 rows', GET => "/org/changes?since=" . ($mv - 1) . "&limit=2", undef, token => $emp);
is($j->{version}, $mv, 'stops before the version it would split');
ok($j->{has_more}, 'has_more tells to call again');

# --- refused
my $cur = db("SELECT version FROM org_state WHERE id = 1");
json_err('since in the future', 409, 40909, GET => "/org/changes?since=" . ($cur + 1), undef, token => $emp);
json_err('negative since', 409, 40909, GET => '/org/changes?since=-1', undef, token => $emp);
json_err('since missing', 400, 40008, GET => '/org/changes', undef, token => $emp);
json_err('since not a number', 400, 40008, GET => '/org/changes?since=abc', undef, token => $emp);
json_err('limit 0', 400, 40008, GET => "/org/changes?since=$v0&limit=0", undef, token => $emp);
json_err('limit over 5000', 400, 40008, GET => "/org/changes?since=$v0&limit=5001", undef, token => $emp);
json_err('changes without token', 401, 40100, GET => "/org/changes?since=$v0");

# disabled users leave an employee's copy; admins keep them
my $dv = db("SELECT version FROM org_state WHERE id = 1");
json_ok('disable u1', PATCH => "/admin/users/$u1", { enable_state => -1 }, token => $admin);
$j = json_ok('employee sees the disabled user as deleted', GET => "/org/changes?since=$dv", undef, token => $emp);
is_deeply($j->{deleted_users}, [$u1], 'disabled: deleted for employees');
$j = json_ok('admin sees the disabled user', GET => "/org/changes?since=$dv", undef, token => $admin);
is($j->{users}[0]{enable_state}, -1, 'disabled: upsert for admins');
json_ok('enable u1', PATCH => "/admin/users/$u1", { enable_state => 1 }, token => $admin);

# --- snapshot
sub snapshot {
    my ($token, %h) = @_;
    my ($st, undef, $raw, $hdr) = api(GET => '/org/snapshot', undef, token => $token, headers => \%h);
    my $doc;
    if ($st == 200) {
        my $plain;
        gunzip(\$raw => \$plain) or diag("gunzip: $GunzipError");
        $doc = eval { JSON::PP->new->utf8->decode($plain) };
    }
    return ($st, $doc, $hdr);
}

my ($st, $doc, $hdr) = snapshot($emp);
is($st, 200, 'snapshot: 200');
is($hdr->{'content-encoding'}, 'gzip', 'snapshot: gzip encoded');
like($hdr->{'content-type'}, qr{application/json}, 'snapshot: JSON');
$cur = db("SELECT version FROM org_state WHERE id = 1");
is($doc->{version}, $cur, 'snapshot: current version');
is($hdr->{etag}, "\"v$cur-employee\"", 'snapshot: ETag names version and class');
my %depts = map { $_->{id} => $_ } @{ $doc->{departments} };
ok($depts{$d1}, 'snapshot: created department');
# (ids are MAX(id) + 1, so a later department may reuse the number)
ok(!(grep { $_->{name} eq $d2name } values %depts), 'snapshot: deleted department absent');
is($depts{0}{parent_id}, undef, 'snapshot: root has no parent');
is($doc->{departments}[0]{id}, 0, 'snapshot: root first');
my %users = map { $_->{id} => $_ } @{ $doc->{users} };
ok($users{$u1}, 'snapshot: user');
ok(!$users{$u2}, 'snapshot: deleted user absent');
is_deeply($users{$u1}{departments}, [{ dept_id => $d1, position => 'P1', weight => 0, sort_id => 0 }],
          'snapshot: memberships');
is($users{$u1}{title}, 'T2', 'snapshot: fields');
is(scalar(keys %users), db("SELECT COUNT(*) FROM users WHERE enable_state <> -1"), 'snapshot: all enabled users');

($st) = snapshot($emp, 'If-None-Match' => "\"v$cur-employee\"");
is($st, 304, 'snapshot: 304 for the same ETag');
($st) = snapshot($emp, 'If-None-Match' => "\"v$cur-admin\"");
is($st, 200, 'snapshot: other class ETag does not match');
($st, my $doc2) = snapshot($emp);
is_deeply($doc2, $doc, 'snapshot: repeated (cached) answer is identical');

my ($ast, $adoc, $ahdr) = snapshot($admin);
is($ahdr->{etag}, "\"v$cur-admin\"", 'snapshot: admin class ETag');
($st) = snapshot($admin, 'If-None-Match' => "\"v$cur-admin\"");
is($st, 304, 'snapshot: admin 304');

my $nd = create_dept(name => uniq('新部门'));
($st, $doc, $hdr) = snapshot($emp, 'If-None-Match' => "\"v$cur-employee\"");
is($st, 200, 'snapshot: rebuilt after a write');
is($doc->{version}, $cur + 1, 'snapshot: new version');
ok((grep { $_->{id} == $nd } @{ $doc->{departments} }), 'snapshot: new department present');
is($hdr->{etag}, '"v' . ($cur + 1) . '-employee"', 'snapshot: new ETag');

# every write is announced on Redis for the push module
{
    my $port = $ENV{TEST_YOUDU_REDIS_PORT} or die "TEST_YOUDU_REDIS_PORT not set";
    open(my $sub, '-|', 'timeout', '2', 'redis-cli', '-p', $port, 'SUBSCRIBE', 'yd:org')
        or die "redis-cli: $!";
    Time::HiRes::sleep(0.5);
    create_dept();
    my $pv = db("SELECT version FROM org_state WHERE id = 1");
    my $out = do { local $/; <$sub> } // '';
    close $sub;
    like($out, qr/message\s+yd:org\s+$pv\b/, 'PUBLISH yd:org <version> after the write');
}

($st) = api(GET => '/org/snapshot');
is($st, 401, 'snapshot without token: 401');

done_testing;
