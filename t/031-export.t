# Export of the whole org: JSON that re-imports with no change, CSV for
# spreadsheets (BOM, formula guard, attachment name).
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode qw(encode_utf8 decode_utf8);
use Youdu::Test;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

sub db {
    my ($q) = @_;
    my $r = sql(utf8::is_utf8($q) ? encode_utf8($q) : $q);
    $r =~ s/\n\z//;
    return decode_utf8($r);
}

my $t = admin_token();
my $B = 60_000_000 + ($$ % 50_000) * 1000;
my $p = uniq('exp');

my ($st, $j, $raw) = api(POST => '/admin/import', {
    departments => [ { id => $B + 1, name => '市场部', parent_id => 0, alias => "$p-mkt", sort_id => 7 },
                     { id => $B + 2, name => '=SUM(A1)', parent_id => $B + 1 } ],
    users => [ { account => "$p.a", name => '周九', title => '=cmd|/C calc', mobile => '13512345678',
                 email => 'a@b.c', phone => '+1-555', gender => 1, enable_state => 0,
                 departments => [ { dept_id => $B + 1, position => '经理, "总"', weight => 3, sort_id => 9 },
                                  { dept_id => $B + 2 } ] },
               { account => "$p.b", name => 'Plain Name', dept_ids => [ 0 ] } ],
}, token => $t);
is($st, 200, 'org imported for the export') or diag($raw);

# JSON
my $h;
($st, undef, $raw, $h) = api(GET => '/admin/export', undef, token => $t);
is($st, 200, 'JSON export');
like($h->{'content-type'}, qr{application/json}, 'JSON content type');
my $org = $JSON->decode($raw);
is($org->{errcode}, 0, 'errcode 0');
is($org->{version}, db('SELECT version FROM org_state WHERE id = 1'), 'export carries the org version');
my ($d) = grep { $_->{id} == $B + 1 } @{ $org->{departments} };
is_deeply($d, { id => $B + 1, name => '市场部', parent_id => 0, alias => "$p-mkt", sort_id => 7 }, 'department exported');
my ($u) = grep { $_->{account} eq "$p.a" } @{ $org->{users} };
is_deeply($u, { account => "$p.a", name => '周九', gender => 1, mobile => '13512345678', phone => '+1-555',
                email => 'a@b.c', title => '=cmd|/C calc', enable_state => 0,
                departments => [ { dept_id => $B + 1, position => '经理, "总"', weight => 3, sort_id => 9 },
                                 { dept_id => $B + 2, position => '', weight => 0, sort_id => 0 } ] },
          'user exported with memberships');
is(scalar @{ $org->{users} }, db('SELECT COUNT(*) FROM users'), 'every user exported');
is(scalar @{ $org->{departments} }, db('SELECT COUNT(*) FROM departments') - 1, 'every department but the root exported');

# re-import: no change at all
my $v = db('SELECT version FROM org_state WHERE id = 1');
delete $org->{$_} for qw(errcode errmsg);
($st, $j, $raw) = api(POST => '/admin/import', $org, token => $t);
is($st, 200, 'the export re-imports') or diag(substr($raw, 0, 500));
is_deeply([ map { @{$j->{$_}}{qw(created updated deleted)} } qw(departments users) ], [ (0) x 6 ],
          'with zero changes');
is(db('SELECT version FROM org_state WHERE id = 1'), $v, 'and no version bump');
($st, $j) = api(POST => '/admin/import?mode=replace&dry_run=1', $org, token => $t);
is_deeply([ $st, map { @{$j->{$_}}{qw(created updated deleted)} } qw(departments users) ], [ 200, (0) x 6 ],
          'replace with the export changes nothing either');

# CSV
($st, undef, $raw, $h) = api(GET => '/admin/export?format=csv', undef, token => $t);
is($st, 200, 'CSV export');
like($h->{'content-type'}, qr{^text/csv}, 'CSV content type');
is($h->{'content-disposition'}, "attachment; filename=\"org-$v.csv\"", 'attachment named after the version');
is(substr($raw, 0, 3), "\xEF\xBB\xBF", 'starts with a UTF-8 BOM');
my $text = decode_utf8(substr($raw, 3));
my @lines = split /\r\n/, $text;
is($lines[0], 'account,name,gender,mobile,phone,email,title,enable_state,departments', 'import header');
my ($line) = grep { /^\Q$p.a,\E/ } @lines;
is($line, "$p.a,周九,1,13512345678,\"'+1-555\",a\@b.c,\"'=cmd|/C calc\",0," . ($B + 1) . '|' . ($B + 2),
   'fields escaped, formulas guarded, departments as ids');
is(scalar(@lines) - 1, db('SELECT COUNT(*) FROM users'), 'one row per user');

# the CSV export reads back as an import (ids of existing departments)
my $csv_user = join("\r\n", $lines[0], grep { /^\Q$p.b,\E/ || /^\Q$p.a,\E/ } @lines) . "\r\n";
($st, $j, $raw) = api(POST => '/admin/import', undef, token => $t, type => 'text/csv', raw => "\xEF\xBB\xBF" . encode_utf8($csv_user));
is_deeply([ $st, $j->{users}{updated}, $j->{users}{created} ], [ 200, 0, 0 ], 'CSV export rows re-import unchanged (memberships keep position and weight)') or diag($raw);

($st, $j, $raw) = api(POST => '/admin/import', undef, token => $t, type => 'text/csv',
                      raw => "account,name,phone,departments\n$p.c,C,\"'+1-999\",0\n");
is(db("SELECT phone FROM users WHERE account = '$p.c'"), '+1-999', 'a guarded field from the export reads back unguarded');

# errors
json_err('bad format', 400, 40008, GET => '/admin/export?format=xml', undef, token => $t);
json_err('no token', 401, 40100, GET => '/admin/export');
sql("UPDATE users SET password_hash = (SELECT h FROM (SELECT password_hash AS h FROM users WHERE account = 'admin') a), must_change_password = 0 WHERE account = '$p.b'");
my $emp = login_as("$p.b", 'Admin-Pass-2026');
json_err('employees may not export', 403, 40300, GET => '/admin/export', undef, token => $emp);

done_testing;
