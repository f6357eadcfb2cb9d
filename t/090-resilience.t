# Restarts: data survives nginx restarts; with MariaDB or Redis down the
# server keeps answering (a clear temporary error where it must) and recovers
# by itself once they are back.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Youdu::Test;

sub service {
    my @asan = $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ();
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    my $rc = system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', @_, @asan);
    is($rc, 0, "service @_");
}

sub eventually {
    my ($secs, $check) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) {
        return 1 if $check->();
        sleep 0.2;
    }
    return 0;
}

my $admin = admin_token();
my ($tok, $login) = login_as('admin', 'Admin-Pass-2026', device_name => 'resilience');
my $sid = $login->{session_id};

# nginx restart: sessions, logs and tokens survive
service('stop', 'nginx');
my ($st) = api(GET => '/ping');
isnt($st, 200, 'nginx is really down');
service('start', 'nginx');
my $me = json_ok('the access token still works after an nginx restart', GET => '/auth/me', undef, token => $tok);
is($me->{session_id}, $sid, 'same session');
my $sess = json_ok('sessions listed after restart', GET => '/auth/sessions', undef, token => $tok);
ok((grep { $_->{id} == $sid && $_->{device_name} eq 'resilience' } @{ $sess->{sessions} }),
   'the session row survived');

# MariaDB down: a clear 503, nginx keeps serving what needs no database
service('stop', 'mariadb');
my $t0 = time;
my ($st2, $j2) = api(GET => '/auth/me', undef, token => $tok);
my $took = time - $t0;
is($st2, 503, 'database down: HTTP 503');
is($j2->{errcode}, 50300, 'errcode 50300 (database unavailable)');
like($j2->{errmsg} // '', qr/retry/, 'the message says to retry');
cmp_ok($took, '<', 8, 'the error comes within the wait timeout, no hang');
my ($pst) = api(GET => '/ping');
is($pst, 200, 'ping still answers while the database is down');

service('start', 'mariadb');
ok(eventually(15, sub { my ($s) = api(GET => '/auth/me', undef, token => $tok); $s == 200 }),
   'requests succeed again once MariaDB is back (reconnect with backoff)');
json_ok('and keep succeeding', GET => '/auth/sessions', undef, token => $tok) for 1 .. 5;

# Redis down: sign-in still works (the per-IP budget needs Redis, the
# account lockout does not); status reports Redis down, then up again
service('stop', 'redis');
ok(eventually(5, sub {
    my (undef, $s) = api(GET => '/admin/status', undef, token => $admin);
    $s && !$s->{redis}{ok} }), 'status shows Redis down');
my $j3 = login_as('admin', 'Admin-Pass-2026', raw => 1);
ok($j3 && $j3->{access_token}, 'sign-in works without Redis');
service('start', 'redis');
ok(eventually(15, sub {
    my (undef, $s) = api(GET => '/admin/status', undef, token => $admin);
    $s && $s->{redis}{ok} }), 'Redis reconnects by itself');

done_testing;
