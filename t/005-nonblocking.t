# Database work never blocks the event loop: while one request sits in a
# 2-second SELECT SLEEP(), 50 other database-backed requests complete at once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Concurrent;

my ($host, $port) = $URL =~ m{^http://([^:/]+):(\d+)};
my $token = admin_token();

# warm the pools so connection set-up is not what we measure
json_ok('warm-up', GET => '/admin/status', undef, token => $token) for 1 .. 4;

my @paths = ('/api/v1/debug/sleep?ms=2000', ('/api/v1/auth/me') x 50);
my @r = concurrent_get($host, $port, \@paths, token => $token, timeout => 15);

my $slow = shift @r;
is($slow->{status}, 200, 'the slow request completes');
cmp_ok($slow->{ms}, '>=', 1900, 'and it really waited ~2 s in the database');

my @ok = grep { $_->{status} == 200 && $_->{body} =~ /"account":"admin"/ } @r;
is(scalar @ok, 50, 'all 50 other requests answered correctly');

my ($max) = sort { $b <=> $a } map { $_->{ms} } @r;
cmp_ok($max, '<', 1000, "the 50 finished within 1 s while the slow one still ran (slowest ${\ int $max} ms)");
cmp_ok($max, '<', $slow->{ms} - 500, 'and well before the slow one');

# a statement cannot hold the loop either when every pool connection is busy:
# 20 sleepers at once (more than a worker's pool of 16) still all complete
my @many = concurrent_get($host, $port, [('/api/v1/debug/sleep?ms=300') x 20], timeout => 15);
is(scalar(grep { $_->{status} == 200 } @many), 20, '20 concurrent sleepers all complete (queued for connections)');

json_err('sleep parameter is validated', 400, 40008, GET => '/debug/sleep?ms=abc');
json_err('sleep is bounded', 400, 40008, GET => '/debug/sleep?ms=999999');

done_testing;
