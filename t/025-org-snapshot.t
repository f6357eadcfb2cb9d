# The org snapshot is built in the thread pool: concurrent cold requests all
# get the same gzip body (and ETag), the event loop keeps answering while a
# larger org is being built, and caching, 304 and masking stay as they were.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Concurrent;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP;

my ($host, $port) = $URL =~ m{^http://([^:/]+):(\d+)};
my $admin = admin_token();

sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }
sub version { db("SELECT version FROM org_state WHERE id = 1") }

sub header {
    my ($r, $name) = @_;
    return $r->{head} =~ /^\Q$name\E:\s*([^\r\n]*)/mi ? $1 : undef;
}

sub doc_of {
    my ($gz) = @_;
    my $plain;
    gunzip(\$gz => \$plain) or do { diag("gunzip: $GunzipError"); return undef };
    return eval { JSON::PP->new->utf8->decode($plain) };
}

# ------------------------------------------------ a larger org: 3,000 users

my $p = uniq('snap');
my @users = map { { account => "$p.$_", name => "快照 $_", dept_ids => [0] } } 1 .. 3000;
my ($st, $j, $raw) = api(POST => '/admin/import', { users => \@users }, token => $admin);
is($st, 200, 'import of 3,000 users') or diag($raw);
is($j->{users}{created}, 3000, 'all created');

# one confidential user, to see the masking in the snapshot
my ($cid, $cacc, $cpw) = create_user(mobile => '+86-139' . sprintf('%08d', $$ % 100000000),
                                     email => "$p\@example.com", confidential => ['mobile', 'email']);
my ($eid, $eacc, $epw) = create_user();
my $emp = login_as($eacc, $epw);

# ------------------------------------------------ concurrent cold requests

for my $who ([admin => $admin], [employee => $emp]) {
    my ($class, $token) = @$who;
    create_dept(name => uniq('cold'));       # a new version: every cache is cold
    my $v = version();

    my @r = concurrent_get($host, $port, [('/api/v1/org/snapshot') x 5], token => $token, timeout => 30);
    is(scalar(grep { $_->{status} == 200 } @r), 5, "$class: 5 concurrent cold snapshots all 200");
    is(scalar(grep { substr($_->{body}, 0, 2) eq "\x1f\x8b" } @r), 5, "$class: all gzip");
    is(scalar(grep { ($_->{head} =~ /^Content-Encoding:\s*gzip/mi) } @r), 5, "$class: Content-Encoding gzip");
    is(scalar(grep { (header($_, 'ETag') // '') eq "\"v$v-$class\"" } @r), 5, "$class: all with the current ETag");
    is(scalar(grep { $_->{body} eq $r[0]{body} } @r), 5, "$class: the same bytes, built once or in parallel");

    my $doc = doc_of($r[0]{body});
    ok($doc, "$class: the body is gzip JSON");
    is($doc->{version}, $v, "$class: current version");
    my $want = $class eq 'admin' ? db("SELECT COUNT(*) FROM users")
                                 : db("SELECT COUNT(*) FROM users WHERE enable_state <> -1");
    is(scalar @{ $doc->{users} }, $want, "$class: every user");
    is(scalar(grep { ($_->{account} // '') =~ /^\Q$p\E\.\d+$/ } @{ $doc->{users} }), 3000,
       "$class: the imported users");
    is($doc->{departments}[0]{id}, 0, "$class: root first");

    my ($cu) = grep { $_->{id} == $cid } @{ $doc->{users} };
    is_deeply($cu->{confidential}, ['mobile', 'email'], "$class: confidential list");
    if ($class eq 'admin') {
        like($cu->{mobile}, qr/^\+86-139/, 'admin: mobile shown');
        is($cu->{email}, "$p\@example.com", 'admin: email shown');
    } else {
        is($cu->{mobile}, '***', 'employee: mobile masked');
        is($cu->{email}, '***', 'employee: email masked');
    }

    # warm: the same bytes from the cache, and 304 for the ETag
    my @w = concurrent_get($host, $port, [('/api/v1/org/snapshot') x 4], token => $token, timeout => 30);
    is(scalar(grep { $_->{status} == 200 && $_->{body} eq $r[0]{body} } @w), 4, "$class: warm answers identical");
    my ($s304) = api(GET => '/org/snapshot', undef, token => $token,
                     headers => { 'If-None-Match' => "\"v$v-$class\"" });
    is($s304, 304, "$class: 304 for the current ETag");
}

# ------------------------------------------------ the loop stays responsive

# /ping sent just after a cold snapshot request is answered before it
for my $round (1 .. 3) {
    create_dept(name => uniq('cold'));
    my @r = concurrent_get($host, $port, ['/api/v1/org/snapshot', ('/api/v1/ping') x 3],
                           token => $admin, timeout => 30);
    my $snap = shift @r;
    is($snap->{status}, 200, "round $round: cold snapshot 200");
    is(scalar(grep { $_->{status} == 200 } @r), 3, "round $round: pings 200");
    my ($slowest) = sort { $b <=> $a } map { $_->{ms} } @r;
    cmp_ok($slowest, '<', $snap->{ms},
           sprintf('round %d: pings answered (%.1f ms) before the snapshot (%.1f ms)',
                   $round, $slowest, $snap->{ms}));
}

# a snapshot of a new version after all this is still right
my $nd = create_dept(name => uniq('新'));
my ($s2, undef, $raw2) = api(GET => '/org/snapshot', undef, token => $admin);
is($s2, 200, 'rebuilt after a write');
my $doc2 = doc_of($raw2);
is($doc2->{version}, version(), 'new version');
ok((grep { $_->{id} == $nd } @{ $doc2->{departments} }), 'new department present');

($st) = api(GET => '/org/snapshot');
is($st, 401, 'without token: 401');

done_testing;
