# A statement that outlives query_timeout (4 s in the test configuration)
# gets a clear 504 at the timeout; the worker keeps serving, and the pool
# recovers once the abandoned statement finishes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Youdu::Test;
use Youdu::Concurrent;

my ($host, $port) = $URL =~ m{^http://([^:/]+):(\d+)};
my $token = admin_token();
my $mark = error_log_mark();

# the slow statement and, meanwhile, ordinary requests
my @r = concurrent_get($host, $port,
    ['/api/v1/debug/sleep?ms=7000', ('/api/v1/auth/me') x 10], token => $token, timeout => 15);
my $slow = shift @r;
is($slow->{status}, 504, 'the statement past query_timeout gets 504');
like($slow->{body}, qr/"errcode":50400/, 'errcode 50400');
like($slow->{body}, qr/retry/, 'the message says to retry');
cmp_ok($slow->{ms}, '>=', 3800, 'not before the timeout');
cmp_ok($slow->{ms}, '<', 6000, 'and at the timeout, not when the statement ends');
is(scalar(grep { $_->{status} == 200 } @r), 10, 'the other requests were served meanwhile');

# wait until the abandoned statement is done, then the pool works normally
sleep 3.5;
my @after = concurrent_get($host, $port, [('/api/v1/auth/me') x 40], token => $token, timeout => 15);
is(scalar(grep { $_->{status} == 200 } @after), 40, 'the pool serves 40 concurrent requests afterwards');

my $s = json_ok('status after the timeout', GET => '/admin/status', undef, token => $token);
ok($s->{database}{ok}, 'database ok');
cmp_ok($s->{database}{connections}, '<=', 16, 'no connection leaked past the pool size');

my $log = error_log_since($mark);
like($log, qr/statement timed out/, 'the timeout is logged');
unlike($log, qr/\[alert\]|\[crit\]|exited on signal/, 'no alert or crash');

done_testing;
