#!/usr/bin/perl
# /cgi throughput and latency on the private stack (bench/RESULTS.md, "Open platform"):
#
#   YOUDU_TEST_PORT_BASE=23600 ./build.sh test --no-asan bench/cgi_bench.pl
#   CLIENTS=4 REQUESTS=2000 ... (per client)
#
# CLIENTS processes with keep-alive connections each run REQUESTS calls of: gettoken, dept/list
# (token lookup + decrypt + one read + encrypted reply), msg/send of a text card to one user
# (token, decrypt, receivers, scope, one app-conversation append, push notice). Prints calls/s
# and p50/p99 per call. TAP output so build.sh can run it; the figures are not asserted.
# Each request is one write with TCP_NODELAY: a client that writes headers and body apart
# (HTTP::Tiny) meets Nagle and delayed ACKs and measures 40 ms per POST.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use JSON::PP;
use Time::HiRes qw(time);
use Youdu::Test;
use Youdu::Cgi;

my $CLIENTS = $ENV{CLIENTS} // 4;
my $N = $ENV{REQUESTS} // 2000;
my $J = JSON::PP->new->utf8->canonical;
my $app = cgi_app(rights => 127);
my (undef, $acc) = create_user();

sub run_calls {
    my ($what) = @_;
    my $token = cgi_token($app);
    my ($host, $port) = $URL =~ m{//([^:/]+):(\d+)} or die $URL;
    my $sock;
    my @lat;
    for my $i (1 .. $N) {
        # nginx closes a keep-alive connection after keepalive_requests (1000)
        if (($i - 1) % 500 == 0) {
            $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port) or die "connect: $!";
            setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
        }
        my ($url, $payload);
        if ($what eq 'gettoken') {
            $url = "$CGI_URL/gettoken";
            $payload = '' . int(time);
        } elsif ($what eq 'dept/list') {
            $url = "$CGI_URL/dept/list?accessToken=$token&id=0";
        } else {
            $url = "$CGI_URL/msg/send?accessToken=$token";
            $payload = $J->encode({ toUser => $acc, msgType => 'text', text => { content => "bench $$ $i" } });
        }
        my $body = defined $payload
            ? $J->encode({ buin => 1, appId => $app->{app_id},
                           encrypt => cgi_encrypt($app->{key}, $app->{app_id}, $payload) })
            : '';
        my ($path) = $url =~ m{^https?://[^/]+(/.*)$};
        my $req = (length $body ? 'POST' : 'GET') . " $path HTTP/1.1\r\nHost: $host\r\n"
                . (length $body ? "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n" : '')
                . "\r\n$body";
        my $t0 = time;
        syswrite($sock, $req) == length $req or die "write: $!";
        my $resp = '';
        my $need;
        while (1) {
            sysread($sock, $resp, 65536, length $resp) or die "read: $!";
            if (!defined $need && $resp =~ /\r\n\r\n/) {
                my ($head) = $resp =~ /^(.*?\r\n\r\n)/s;
                my ($cl) = $head =~ /Content-Length:\s*(\d+)/i or die "no length: $head";
                $need = length($head) + $cl;
            }
            last if defined $need && length $resp >= $need;
        }
        push @lat, time - $t0;
        die "$what: $resp" unless $resp =~ m{^HTTP/1\.1 200} && $resp =~ /"errcode":0[,}]/;
    }
    return @lat;
}

for my $what ('gettoken', 'dept/list', 'msg/send') {
    my @pipes;
    my $t0 = time;
    for (1 .. $CLIENTS) {
        pipe(my $r, my $w) or die;
        my $pid = fork // die;
        if (!$pid) { close $r; print $w join("\n", run_calls($what)); close $w; exit 0 }
        close $w;
        push @pipes, $r;
    }
    my @lat = sort { $a <=> $b } map { local $/; split /\n/, <$_> } @pipes;
    1 while wait() > 0;
    my $secs = time - $t0;
    is(scalar(@lat), $CLIENTS * $N, "$what: every call answered errcode 0");
    diag(sprintf('%-10s %d clients x %d: %.0f calls/s, p50 %.1f ms, p99 %.1f ms', $what, $CLIENTS, $N,
                 @lat / $secs, 1000 * $lat[int(@lat * 0.5)], 1000 * $lat[int(@lat * 0.99)]));
}

done_testing();
