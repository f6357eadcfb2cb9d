#!/usr/bin/perl
# Event-loop stalls during cold org snapshots, against a running stack with
# one worker (YOUDU_WORKERS=1 ./build.sh run), by hand:
#   perl bench/snapshot_stall.pl [URL] [ADMIN_PASSWORD] [ROUNDS]
# Each round creates a department (a new version: the cached snapshot is
# cold), sends GET /org/snapshot as the admin and, until it is answered,
# times GET /ping one after another on a keep-alive connection.  Prints the
# cold snapshot time and the slowest ping.  Load the org first with
# bench/import_bench.pl (100,000 users).
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);

my $url = shift // 'http://127.0.0.1:8080';
my $pw = shift // $ENV{YOUDU_ADMIN_PASSWORD} // die "admin password needed\n";
my $rounds = shift // 5;
my ($host, $port) = $url =~ m{^http://([^:/]+):(\d+)} or die "bad URL\n";
my $http = HTTP::Tiny->new(timeout => 600);
my $json = JSON::PP->new->utf8;

sub call {
    my ($m, $p, $body, $tok) = @_;
    my %h = ('Content-Type' => 'application/json');
    $h{Authorization} = "Bearer $tok" if $tok;
    my $r = $http->request($m, "$url/api/v1$p",
        { headers => \%h, (defined $body ? (content => $json->encode($body)) : ()) });
    return eval { $json->decode($r->{content}) };
}

my $j = call(POST => '/auth/login', { account => 'admin', password => $pw, device_type => 'api' });
my $tok = $j && $j->{access_token} or die "admin login failed\n";

# pings on one keep-alive connection (renewed before nginx's keepalive_requests)
my ($ps, $pn);
sub ping {
    if (!$ps || ++$pn > 500) {
        $ps = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
            or die "connect: $!\n";
        setsockopt($ps, IPPROTO_TCP, TCP_NODELAY, 1);
        $pn = 1;
    }
    my $t0 = time;
    print $ps "GET /api/v1/ping HTTP/1.1\r\nHost: $host\r\n\r\n";
    my $buf = '';
    while (1) {
        sysread($ps, my $c, 4096) or die "ping: connection closed\n";
        $buf .= $c;
        my ($hd, $bd) = split /\r\n\r\n/, $buf, 2;
        last if defined $bd && $hd =~ /Content-Length: (\d+)/i && length($bd) >= $1;
    }
    return (time - $t0) * 1000;
}

ping() for 1 .. 5;
my (@cold, @stall);

for my $r (1 .. $rounds) {
    call(POST => '/admin/departments', { name => 'bench' . int(rand(1e9)), parent_id => 0 }, $tok);
    sleep 0.05;

    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
        or die "connect: $!\n";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    my $t0 = time;
    print $s "GET /api/v1/org/snapshot HTTP/1.1\r\nHost: $host\r\n"
             . "Authorization: Bearer $tok\r\nConnection: close\r\n\r\n";
    $s->blocking(0);
    my $sel = IO::Select->new($s);
    my ($len, $done, $max, $n) = (0, 0, 0, 0);

    while (!$done) {
        my $ms = ping();
        $n++;
        $max = $ms if $ms > $max;
        while ($sel->can_read(0)) {
            my $k = sysread($s, my $c, 1 << 20);
            last if !defined $k;
            if ($k == 0) { $done = time; last }
            $len += $k;
        }
        sleep 0.002 unless $done;
    }

    push @cold, ($done - $t0) * 1000;
    push @stall, $max;
    printf "round %d: cold snapshot %.1f ms (%d bytes), %d pings meanwhile, slowest %.1f ms\n",
           $r, $cold[-1], $len, $n, $max;
}

my @c = sort { $a <=> $b } @cold;
my @s = sort { $a <=> $b } @stall;
printf "median cold snapshot %.1f ms; slowest ping: median %.1f ms, max %.1f ms\n",
       $c[@c / 2], $s[@s / 2], $s[-1];
