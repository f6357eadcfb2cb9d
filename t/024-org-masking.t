# Confidential fields: employees see "***" for other users' confidential,
# non-empty fields everywhere (user, lists, search, changes, snapshot); the
# user himself and administrators see the values.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $admin = admin_token();

sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }

my $dept = create_dept(name => uniq('机密'));
my $tag = sprintf('%05d', $$ % 100000);
my $mobile = "1777$tag" . '11';
my $v0 = db("SELECT version FROM org_state WHERE id = 1");
my ($sid, $sacc, $spw) = create_user(name => '保密', mobile => $mobile, phone => '88-1234',
                                     email => "secret$tag\@example.com", title => '',
                                     confidential => ['mobile', 'email', 'title'],
                                     departments => [{ dept_id => $dept }]);
my ($oid, $oacc, $opw) = create_user(departments => [{ dept_id => $dept }]);
my $secret = login_as($sacc, $spw);
my $other = login_as($oacc, $opw);

# --- one user
my $j = json_ok('employee reads the confidential user', GET => "/org/users/$sid", undef, token => $other);
is($j->{user}{mobile}, '***', 'mobile masked');
is($j->{user}{email}, '***', 'email masked');
is($j->{user}{title}, '', 'an empty confidential field stays empty');
is($j->{user}{phone}, '88-1234', 'a field not marked confidential is shown');
is_deeply($j->{user}{confidential}, ['mobile', 'email', 'title'], 'which fields are confidential');

$j = json_ok('the user reads himself', GET => "/org/users/$sid", undef, token => $secret);
is($j->{user}{mobile}, $mobile, 'own mobile shown');
is($j->{user}{email}, "secret$tag\@example.com", 'own email shown');

$j = json_ok('admin reads the user', GET => "/org/users/$sid", undef, token => $admin);
is($j->{user}{mobile}, $mobile, 'admin sees the mobile');
is($j->{user}{email}, "secret$tag\@example.com", 'admin sees the email');

# --- lists
$j = json_ok('department members', GET => "/org/departments/$dept", undef, token => $other);
my ($m) = grep { $_->{id} == $sid } @{ $j->{members} };
is($m->{mobile}, '***', 'members list masks');
$j = json_ok('department members (admin)', GET => "/org/departments/$dept", undef, token => $admin);
($m) = grep { $_->{id} == $sid } @{ $j->{members} };
is($m->{mobile}, $mobile, 'members list for admins unmasked');

$j = json_ok('user list', GET => "/org/users?dept=$dept", undef, token => $other);
($m) = grep { $_->{id} == $sid } @{ $j->{users} };
is($m->{email}, '***', 'user list masks');

# --- search by a masked mobile
$j = json_ok('employee searches the masked mobile', GET => "/org/users?q=1777$tag", undef, token => $other);
is(scalar(grep { $_->{id} == $sid } @{ $j->{users} }), 0, 'a masked mobile is not searchable by employees');
$j = json_ok('admin searches the mobile', GET => "/org/users?q=1777$tag", undef, token => $admin);
is(scalar(grep { $_->{id} == $sid } @{ $j->{users} }), 1, 'admins find it');
$j = json_ok('the user searches his own mobile', GET => "/org/users?q=1777$tag", undef, token => $secret);
is(scalar(grep { $_->{id} == $sid } @{ $j->{users} }), 1, 'the user finds himself');
$j = json_ok('employee searches by name', GET => "/org/users?q=baomi&dept=$dept", undef, token => $other);
is(scalar(grep { $_->{id} == $sid } @{ $j->{users} }), 1, 'still found by name pinyin');
is($j->{users}[0]{mobile}, '***', 'and masked');

# --- change feed
$j = json_ok('changes for an employee', GET => "/org/changes?since=$v0", undef, token => $other);
($m) = grep { $_->{id} == $sid } @{ $j->{users} };
is($m->{mobile}, '***', 'changes mask for employees');
$j = json_ok('changes for the user', GET => "/org/changes?since=$v0", undef, token => $secret);
($m) = grep { $_->{id} == $sid } @{ $j->{users} };
is($m->{mobile}, $mobile, 'changes unmasked for the user himself');
$j = json_ok('changes for admins', GET => "/org/changes?since=$v0", undef, token => $admin);
($m) = grep { $_->{id} == $sid } @{ $j->{users} };
is($m->{mobile}, $mobile, 'changes unmasked for admins');

# --- snapshot (one cached copy per class: the employee copy masks everyone)
sub snap_user {
    my ($token, $id) = @_;
    my ($st, undef, $raw) = api(GET => '/org/snapshot', undef, token => $token);
    my $plain;
    gunzip(\$raw => \$plain) or diag("gunzip: $GunzipError");
    my $doc = JSON::PP->new->utf8->decode($plain);
    my ($u) = grep { $_->{id} == $id } @{ $doc->{users} };
    return $u;
}
my $su = snap_user($other, $sid);
is($su->{mobile}, '***', 'employee snapshot masks the mobile');
is($su->{email}, '***', 'employee snapshot masks the email');
is($su->{phone}, '88-1234', 'employee snapshot shows the phone');
$su = snap_user($admin, $sid);
is($su->{mobile}, $mobile, 'admin snapshot unmasked');
is($su->{email}, "secret$tag\@example.com", 'admin snapshot email');

# --- masking follows a change of the confidential set
json_ok('clear confidential', PATCH => "/admin/users/$sid", { confidential => [] }, token => $admin);
$j = json_ok('employee reads again', GET => "/org/users/$sid", undef, token => $other);
is($j->{user}{mobile}, $mobile, 'mobile visible once not confidential');
$su = snap_user($other, $sid);
is($su->{mobile}, $mobile, 'new snapshot shows it too');
$j = json_ok('now searchable', GET => "/org/users?q=1777$tag", undef, token => $other);
is(scalar(grep { $_->{id} == $sid } @{ $j->{users} }), 1, 'a visible mobile is searchable');

done_testing;
