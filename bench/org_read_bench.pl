#!/usr/bin/perl
# Org read benchmarks against a running stack (./build.sh run), by hand:
#   perl bench/org_read_bench.pl [URL] [ADMIN_PASSWORD]
# - full snapshot (GET /org/snapshot, gzip): cold (first build after a change)
#   and warm (cached per worker), as an employee and as an admin;
# - one change seen through the change feed: PATCH a user, then GET
#   /org/changes?since=<version before>; time from the write's start until the
#   feed shows it.
# Load the org first with bench/import_bench.pl (100,000 users).
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use JSON::PP;
use Time::HiRes qw(time);

my $url = shift // 'http://127.0.0.1:8080';
my $pw = shift // $ENV{YOUDU_ADMIN_PASSWORD} // die "admin password needed\n";
my $json = JSON::PP->new->utf8;

# One keep-alive connection with TCP_NODELAY, each request written in one
# piece: HTTP::Tiny writes headers and body separately, and Nagle plus the
# server's delayed ACK then add ~40 ms to every request with a body.
my $sock;
sub call {
    my ($m, $p, $body, $tok, %h) = @_;
    my ($host, $port) = $url =~ m{^http://([^:/]+):(\d+)};
    if (!$sock) {
        $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
            or die "connect: $!\n";
        setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    }
    my $content = $body ? $json->encode($body) : '';
    my $req = "$m /api/v1$p HTTP/1.1\r\nHost: $host\r\n"
            . ($tok ? "Authorization: Bearer $tok\r\n" : '')
            . ($body ? "Content-Type: application/json\r\n" : '')
            . join('', map { "$_: $h{$_}\r\n" } keys %h)
            . "Content-Length: " . length($content) . "\r\n\r\n$content";
    print $sock $req;
    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        sysread($sock, $head, 65536, length $head) or die "connection closed\n";
    }
    my ($hdr, $rest) = split /\r\n\r\n/, $head, 2;
    my ($status) = $hdr =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = $hdr =~ m{\r\nContent-Length: (\d+)}i;
    $len //= 0;
    while (length $rest < $len) {
        sysread($sock, $rest, $len - length $rest, length $rest) or die "short body\n";
    }
    return { status => $status, success => $status >= 200 && $status < 300, content => $rest };
}

sub median { my @s = sort { $a <=> $b } @_; return $s[int(@s / 2)] }

my $r = call(POST => '/auth/login', { account => 'admin', password => $pw, device_type => 'api' });
die "login failed: $r->{content}\n" unless $r->{success};
my $admin = $json->decode($r->{content})->{access_token};

# an employee to read as (masked view)
my $acct = "bench_reader_$$";
$r = call(POST => '/admin/users', { account => $acct, name => '读者', password => 'Bench-pass-1',
                                    departments => [{ dept_id => 0 }] }, $admin);
die "create reader: $r->{content}\n" unless $r->{success};
my $reader_id = $json->decode($r->{content})->{user}{id};
$r = call(POST => '/auth/login', { account => $acct, password => 'Bench-pass-1' });
my $emp = $json->decode($r->{content})->{access_token};

my $ver = $json->decode(call(GET => '/org/version', undef, $emp)->{content})->{version};
my $n = $json->decode(call(GET => '/org/users?limit=1', undef, $admin)->{content})->{total};
printf "org: version %d, %d users\n", $ver, $n;

for my $who (['employee', $emp], ['admin', $admin]) {
    my (@cold, @warm, $size);
    for my $i (1 .. 5) {
        # a change invalidates the cached snapshot: the next one is cold
        call(PATCH => "/admin/users/$reader_id", { title => "t$i" }, $admin);
        my $t0 = time;
        my $s = call(GET => '/org/snapshot', undef, $who->[1], 'Accept-Encoding' => 'gzip');
        push @cold, (time - $t0) * 1000;
        die "snapshot failed: $s->{status}\n" unless $s->{success};
        $size = length $s->{content};
        for (1 .. 3) {
            $t0 = time;
            call(GET => '/org/snapshot', undef, $who->[1], 'Accept-Encoding' => 'gzip');
            push @warm, (time - $t0) * 1000;
        }
    }
    printf "snapshot as %-8s: %d bytes gzip; cold median %.1f ms (max %.1f), warm median %.1f ms\n",
        $who->[0], $size, median(@cold), (sort { $b <=> $a } @cold)[0], median(@warm);
}

my (@lat, @write, @seen);
for my $i (1 .. 50) {
    my $before = $json->decode(call(GET => '/org/version', undef, $emp)->{content})->{version};
    my $t0 = time;
    my $w = call(PATCH => "/admin/users/$reader_id", { title => "feed $i" }, $admin);
    die "patch: $w->{content}\n" unless $w->{success};
    my $t1 = time;
    my $seen = 0;
    while (!$seen) {
        my $c = $json->decode(call(GET => "/org/changes?since=$before", undef, $emp)->{content});
        $seen = grep { $_->{id} == $reader_id && $_->{title} eq "feed $i" } @{ $c->{users} || [] };
    }
    my $t2 = time;
    push @lat, ($t2 - $t0) * 1000;
    push @write, ($t1 - $t0) * 1000;
    push @seen, ($t2 - $t1) * 1000;
}
printf "change feed, 50 changes to one user:\n";
printf "  acknowledged write -> visible in /org/changes: median %.1f ms, max %.1f ms\n",
    median(@seen), (sort { $b <=> $a } @seen)[0];
printf "  the write itself (PATCH, durable commit):      median %.1f ms, max %.1f ms\n",
    median(@write), (sort { $b <=> $a } @write)[0];
printf "  write start -> visible:                        median %.1f ms, max %.1f ms\n",
    median(@lat), (sort { $b <=> $a } @lat)[0];

call(DELETE => "/admin/users/$reader_id", undef, $admin);
