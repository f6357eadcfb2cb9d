# The stack answers, the admin can sign in, errors have the documented shape.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;

my ($st, $j) = api(GET => '/ping');
is($st, 200, 'ping answers 200');
is($j->{errcode}, 0, 'ping errcode 0');
ok($j->{time} > 1_700_000_000, 'ping reports the server time');

json_err('unknown endpoint is a JSON 404', 404, 40400, GET => '/no/such/thing');
json_err('wrong method is a JSON 405', 405, 40500, DELETE => '/ping');

my $t = admin_token();
ok($t, 'super admin signs in with the one-time password, then a new one');

my $s = json_ok('status for admins', GET => '/admin/status', undef, token => $t);
ok($s->{database}{ok}, 'status: database ok');
ok($s->{redis}{ok}, 'status: redis ok');
ok($s->{org_version} >= 1, 'status: org version reported');

if ($ENV{TEST_YOUDU_ASAN}) {
    open my $maps, '<', "/proc/$s->{worker_pid}/maps" or die "maps: $!";
    my $m = do { local $/; <$maps> };
    like($m, qr/libasan/, 'the worker runs with AddressSanitizer loaded');
} else {
    pass('AddressSanitizer not requested (--no-asan)');
}

my ($hst, undef, $html) = api(GET => "$URL/");
is($hst, 200, 'static index served');
like($html, qr/youdu/, 'index page names the product');

done_testing;
