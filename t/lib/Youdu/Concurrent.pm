package Youdu::Concurrent;

# Many HTTP requests in flight at once over plain sockets (one process,
# select loop), with per-request completion times.

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);

our @EXPORT = qw(concurrent_get);

# concurrent_get(HOST, PORT, [PATHS], %opt) -> list of {status, head, body, ms}
# in the order of PATHS.  opt: token, timeout (seconds, default 10).
sub concurrent_get {
    my ($host, $port, $paths, %opt) = @_;
    my $timeout = $opt{timeout} // 10;
    my $sel = IO::Select->new;
    my (%req, @out);
    my $t0 = time;
    for my $i (0 .. $#$paths) {
        my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        my $auth = defined $opt{token} ? "Authorization: Bearer $opt{token}\r\n" : '';
        print $s "GET $paths->[$i] HTTP/1.1\r\nHost: $host\r\n${auth}Connection: close\r\n\r\n";
        $s->blocking(0);
        $req{fileno $s} = { i => $i, sock => $s, buf => '' };
        $sel->add($s);
    }
    while ($sel->count && time - $t0 < $timeout) {
        for my $s ($sel->can_read(0.05)) {
            my $r = $req{fileno $s};
            my $n = sysread($s, my $chunk, 65536);
            if (defined $n && $n > 0) { $r->{buf} .= $chunk; next }
            next if !defined $n && $!{EAGAIN};
            my ($status) = $r->{buf} =~ m{^HTTP/1\.[01] (\d+)};
            my ($head, $body) = split /\r\n\r\n/, $r->{buf}, 2;
            $out[$r->{i}] = { status => $status // 0, head => $head // '', body => $body // '',
                              ms => (time - $t0) * 1000 };
            $sel->remove($s);
            close $s;
        }
    }
    for my $i (0 .. $#$paths) {
        $out[$i] //= { status => 0, head => '', body => '', ms => $timeout * 1000 };
    }
    return @out;
}

1;
