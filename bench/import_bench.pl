#!/usr/bin/perl
# Bulk import benchmark against a running stack (./build.sh run), by hand:
#   perl bench/import_bench.pl [URL] [ADMIN_PASSWORD] [USERS] [DEPARTMENTS]
# (URL defaults to $YOUDU_URL or http://127.0.0.1:8080, the password to
# $YOUDU_ADMIN_PASSWORD.)  Generates the org with bench/gen_org.pl, imports it
# (all created), imports it again (no change), changes 1% of the users and
# imports again, then exports it; prints the time of each step.
use strict;
use warnings;
use FindBin;
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time);

my $url = shift // $ENV{YOUDU_URL} // 'http://127.0.0.1:8080';
my $pw = shift // $ENV{YOUDU_ADMIN_PASSWORD} // die "admin password needed\n";
my $nu = shift // 100_000;
my $nd = shift // 5_000;

my $http = HTTP::Tiny->new(timeout => 600, keep_alive => 1);
my $json = JSON::PP->new->utf8->canonical;

my $r = $http->request(POST => "$url/api/v1/auth/login", {
    headers => { 'Content-Type' => 'application/json' },
    content => $json->encode({ account => 'admin', password => $pw, device_type => 'api' }) });
die "login failed: $r->{content}\n" unless $r->{success};
my $tok = $json->decode($r->{content})->{access_token};

my $t0 = time;
my $body = `perl $FindBin::Bin/gen_org.pl $nu $nd 100000`;
die "gen_org failed\n" if $?;
printf "generated %d users in %d departments: %.1f MiB JSON (%.1f s)\n",
    $nu, $nd, length($body) / 1048576, time - $t0;

sub import_org {
    my ($what, $content) = @_;
    my $t = time;
    my $res = $http->request(POST => "$url/api/v1/admin/import", {
        headers => { Authorization => "Bearer $tok", 'Content-Type' => 'application/json' },
        content => $content });
    my $s = time - $t;
    die "$what failed: $res->{status} " . substr($res->{content}, 0, 500) . "\n" unless $res->{success};
    my $j = $json->decode($res->{content});
    printf "%-28s %6.2f s  (server %d ms; thread pool: parse %d, check %d, plan %d ms)  version %d  departments %d/%d/%d  users %d/%d/%d (created/updated/deleted)\n",
        $what, $s, $j->{elapsed_ms}, @{$j}{qw(parse_ms check_ms plan_ms)}, $j->{version},
        @{ $j->{departments} }{qw(created updated deleted)}, @{ $j->{users} }{qw(created updated deleted)};
    return $s;
}

# meanwhile: how long does GET /ping wait (is the event loop free?)
pipe(my $rd, my $wr) or die "pipe: $!";
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    close $rd;
    my $h = HTTP::Tiny->new(timeout => 60);
    my ($max, $n) = (0, 0);
    local $SIG{TERM} = sub { print $wr "$n $max\n"; close $wr; exit 0 };
    while (1) {
        my $t = time;
        $h->get("$url/api/v1/ping");
        my $ms = (time - $t) * 1000;
        $max = $ms if $ms > $max;
        $n++;
        select(undef, undef, undef, 0.02);
    }
}
close $wr;
my $first = import_org('import (all new)', $body);
kill TERM => $pid;
my ($pings, $max_ping) = split ' ', (<$rd> // '0 0');
waitpid $pid, 0;
printf "during the first import: %d GET /ping, slowest %.1f ms\n", $pings, $max_ping;
import_org('same import again (no change)', $body);

my $org = $json->decode($body);
$_->{title} = 'changed' for grep { $_->{account} =~ /^u\d*00$/ } @{ $org->{users} };
import_org('1% of users changed', $json->encode($org));

$t0 = time;
$r = $http->request(GET => "$url/api/v1/admin/export?format=csv", { headers => { Authorization => "Bearer $tok" } });
die "export failed: $r->{status}\n" unless $r->{success};
printf "%-28s %6.2f s  (%.1f MiB)\n", 'export CSV', time - $t0, length($r->{content}) / 1048576;
my $csv = $r->{content};
$t0 = time;
$r = $http->request(GET => "$url/api/v1/admin/export?format=json", { headers => { Authorization => "Bearer $tok" } });
die "export failed: $r->{status}\n" unless $r->{success};
printf "%-28s %6.2f s  (%.1f MiB)\n", 'export JSON', time - $t0, length($r->{content}) / 1048576;

# the CSV export imports back without a change
{
    my $t = time;
    my $res = $http->request(POST => "$url/api/v1/admin/import", {
        headers => { Authorization => "Bearer $tok", 'Content-Type' => 'text/csv' }, content => $csv });
    die "CSV import failed: $res->{status} " . substr($res->{content}, 0, 300) . "\n" unless $res->{success};
    my $j = $json->decode($res->{content});
    printf "%-28s %6.2f s  (server %d ms; thread pool: parse %d, check %d ms)  users %d/%d/%d\n",
        'import of the CSV export', time - $t, @{$j}{qw(elapsed_ms parse_ms check_ms)},
        @{ $j->{users} }{qw(created updated deleted)};
}

printf "target: first import of %d users under 60 s: %s\n", $nu, $first < 60 ? 'met' : 'NOT met';
