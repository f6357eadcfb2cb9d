# "has_avatar" in the user shape: false until the user has an avatar, then
# true wherever users are returned (one user, the list and search, a
# department's members, the change feed, the snapshot), for employees and
# admins; setting an avatar moves the user into the change feed.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Compress::Zlib ();
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP;

sub chunk { my ($t, $d) = @_; return pack('N', length $d) . $t . $d . pack('N', Compress::Zlib::crc32($t . $d)) }

sub png {
    my ($w, $h) = @_;
    my $rows = '';
    for my $y (0 .. $h - 1) {
        $rows .= "\0" . join('', map { pack('C3', ($_ * 7) % 256, ($y * 5) % 256, 90) } 0 .. $w - 1);
    }
    return "\x89PNG\r\n\x1a\n" . chunk('IHDR', pack('NNC5', $w, $h, 8, 2, 0, 0, 0))
         . chunk('IDAT', Compress::Zlib::compress($rows)) . chunk('IEND', '');
}

sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }

sub snapshot_users {
    my ($token) = @_;
    my ($st, undef, $gz) = api(GET => '/org/snapshot', undef, token => $token);
    is($st, 200, 'snapshot') or return {};
    my $plain;
    gunzip(\$gz => \$plain) or do { diag("gunzip: $GunzipError"); return {} };
    my $doc = JSON::PP->new->utf8->decode($plain);
    return { map { $_->{id} => $_ } @{ $doc->{users} } };
}

my $admin = admin_token();
my $p = uniq('avf');
my $dept = create_dept(name => "头像 $p");
my ($uid, $acc, $pw) = create_user(name => "有头像 $p", departments => [{ dept_id => $dept }]);
my ($oid, $oacc, $opw) = create_user(name => "无头像 $p", departments => [{ dept_id => $dept }]);
my $emp = login_as($oacc, $opw);

# ------------------------------------------------ before: false everywhere

my $j = json_ok('GET /org/users/:id', GET => "/org/users/$uid", undef, token => $emp);
ok(exists $j->{user}{has_avatar}, 'the field is there');
ok(JSON::PP::is_bool($j->{user}{has_avatar}) && !$j->{user}{has_avatar}, 'a JSON false before any avatar');

my $v0 = db("SELECT version FROM org_state WHERE id = 1");
my $users = snapshot_users($emp);
ok(JSON::PP::is_bool($users->{$uid}{has_avatar}) && !$users->{$uid}{has_avatar}, 'snapshot: false before');

# ------------------------------------------------ the user sets one

my $tok = login_as($acc, $pw);
my ($st, $r) = api(PUT => '/me/avatar', undef, token => $tok, raw => png(120, 80), type => 'image/png');
is($st, 200, 'PUT /me/avatar') or diag explain $r;

for my $who ([employee => $emp], [admin => $admin], [himself => $tok]) {
    my ($class, $token) = @$who;

    $j = json_ok("$class: GET /org/users/:id", GET => "/org/users/$uid", undef, token => $token);
    ok(JSON::PP::is_bool($j->{user}{has_avatar}) && $j->{user}{has_avatar}, "$class: one user: true");

    $j = json_ok("$class: GET /org/users?dept", GET => "/org/users?dept=$dept&limit=10", undef, token => $token);
    my %by = map { $_->{id} => $_ } @{ $j->{users} };
    ok($by{$uid}{has_avatar}, "$class: list: true for the user with an avatar");
    ok(JSON::PP::is_bool($by{$oid}{has_avatar}) && !$by{$oid}{has_avatar}, "$class: list: false for the other");

    $j = json_ok("$class: search by name", GET => "/org/users?q=$p", undef, token => $token);
    %by = map { $_->{id} => $_ } @{ $j->{users} };
    ok($by{$uid} && $by{$uid}{has_avatar}, "$class: search result: true");

    $j = json_ok("$class: GET /org/departments/:id", GET => "/org/departments/$dept", undef, token => $token);
    %by = map { $_->{id} => $_ } @{ $j->{members} };
    ok($by{$uid}{has_avatar}, "$class: members: true");
    ok(!$by{$oid}{has_avatar}, "$class: members: false for the other");
    is($by{$uid}{position}, '', "$class: members keep their position column after the new field");

    $j = json_ok("$class: changes", GET => "/org/changes?since=$v0", undef, token => $token);
    %by = map { $_->{id} => $_ } @{ $j->{users} };
    ok($by{$uid} && $by{$uid}{has_avatar}, "$class: the avatar put the user in the change feed, with true");
    is_deeply($by{$uid}{departments}, [{ dept_id => $dept, position => '', weight => 0, sort_id => 0 }],
              "$class: change feed memberships unchanged");

    $users = snapshot_users($token);
    ok(JSON::PP::is_bool($users->{$uid}{has_avatar}) && $users->{$uid}{has_avatar}, "$class: snapshot: true");
    ok(JSON::PP::is_bool($users->{$oid}{has_avatar}) && !$users->{$oid}{has_avatar}, "$class: snapshot: false for the other");
    is($users->{$uid}{name}, "有头像 $p", "$class: snapshot: the columns before the flag are intact");
    is_deeply($users->{$uid}{departments}, [{ dept_id => $dept, position => '', weight => 0, sort_id => 0 }],
              "$class: snapshot: and the memberships after it");
}

# the admin's writes return the shape too
$j = json_ok('PATCH /admin/users/:id', PATCH => "/admin/users/$uid", { title => 'T' }, token => $admin);
ok($j->{user}{has_avatar}, 'admin write reply: true');

# ------------------------------------------------ the file goes: false again

sql("UPDATE users SET avatar_file_id = NULL WHERE id = $uid");
create_dept(name => uniq('bump'));      # a new version: the snapshot is rebuilt
$users = snapshot_users($emp);
ok(!$users->{$uid}{has_avatar}, 'snapshot: false once the avatar is gone');
$j = json_ok('GET /org/users/:id after', GET => "/org/users/$uid", undef, token => $emp);
ok(!$j->{user}{has_avatar}, 'one user: false once the avatar is gone');

done_testing();
