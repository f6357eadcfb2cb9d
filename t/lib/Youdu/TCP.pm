package Youdu::TCP;

# A minimal client of the raw TCP push channel (docs/push.md "Raw TCP"):
# each frame is a 4-byte big-endian length and a JSON object.  Like a real
# client it answers the server's {"type":"ping"} with {"type":"pong"}
# (unless the connection has no_pong set); frames are decoded here so odd
# sizes and the final close frame are visible.

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use IO::Socket::SSL;
use IO::Select;
use Time::HiRes qw(time);
use Youdu::Test;

our @EXPORT = qw(tcp_open tcp_send tcp_raw tcp_recv tcp_json tcp_close_code
                 tcp_eof tcp_auth tcp_expect_nothing);

# tcp_open(tls => 1, no_pong => 1) -> { sock, buf }
sub tcp_open {
    my (%o) = @_;
    my $port = $o{tls} ? $ENV{TEST_YOUDU_TCPS_PORT} : $ENV{TEST_YOUDU_TCP_PORT};
    die "TEST_YOUDU_TCP_PORT / TEST_YOUDU_TCPS_PORT not set" unless $port;
    my %a = (PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5);
    my $s = $o{tls}
        ? IO::Socket::SSL->new(%a, SSL_verify_mode => 0,
                               ($o{ssl_version} ? (SSL_version => $o{ssl_version}) : ()))
        : IO::Socket::INET->new(%a);
    return undef if !$s && $o{may_fail};
    die "connect: $! $@" unless $s;
    binmode $s;
    return { sock => $s, buf => '', no_pong => $o{no_pong} };
}

sub _pending { my ($s) = @_; return $s->isa('IO::Socket::SSL') && $s->pending }

sub tcp_raw {
    my ($c, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    while (length $bytes) {
        my $n = syswrite($c->{sock}, $bytes);
        return 0 unless defined $n;
        substr($bytes, 0, $n) = '';
    }
    return 1;
}

# one frame: a Perl structure (sent as JSON) or bytes as they are
sub tcp_send {
    my ($c, $data) = @_;
    $data = $JSON->encode($data) if ref $data;
    return tcp_raw($c, pack('N', length $data) . $data);
}

# next server frame: { data, len } or { eof => 1 } or undef (timeout)
sub tcp_recv {
    my ($c, $t) = @_;
    my $deadline = time + ($t // 5);
    my $sel = IO::Select->new($c->{sock});
    while (1) {
        my $b = \$c->{buf};
        if (length $$b >= 4) {
            my $len = unpack 'N', $$b;
            if (length $$b >= 4 + $len) {
                my $data = substr($$b, 4, $len);
                substr($$b, 0, 4 + $len) = '';
                return { data => $data, len => $len };
            }
        }
        my $left = $deadline - time;
        return undef if $left <= 0;
        return undef unless _pending($c->{sock}) || $sel->can_read($left);
        my $n = sysread($c->{sock}, $$b, 262144, length $$b);
        return { eof => 1 } unless $n;
    }
}

# next frame decoded as JSON, server pings answered and skipped (counted in
# $c->{pings}); undef on timeout or EOF ($c->{eof} set)
sub tcp_json {
    my ($c, $t) = @_;
    my $deadline = time + ($t // 5);
    while ((my $left = $deadline - time) > 0) {
        my $f = tcp_recv($c, $left) or return undef;
        if ($f->{eof}) { $c->{eof} = 1; return undef }
        my $j = eval { $JSON->decode($f->{data}) };
        die "server frame is not JSON: $f->{data}" unless ref $j eq 'HASH';
        if (($j->{type} // '') eq 'ping') {
            $c->{pings}++;
            tcp_send($c, { type => 'pong' }) unless $c->{no_pong};
            next;
        }
        return $j;
    }
    return undef;
}

# reads until the close frame: (code, reason, [frames before it]) or () when
# the connection ended (or t passed) without one
sub tcp_close_code {
    my ($c, $t) = @_;
    my @before;
    while (my $j = tcp_json($c, $t)) {
        return ($j->{code}, $j->{reason}, \@before) if $j->{type} eq 'close';
        push @before, $j;
    }
    return ();
}

# true when the server closes (EOF) within t seconds; frames are skipped
sub tcp_eof {
    my ($c, $t) = @_;
    my $deadline = time + $t;
    return 1 if $c->{eof};
    while ((my $left = $deadline - time) > 0) {
        my $f = tcp_recv($c, $left) or return 0;
        return 1 if $f->{eof};
    }
    return 0;
}

# authenticated connection or die; returns (c, auth_ok)
sub tcp_auth {
    my ($token, %o) = @_;
    my $c = tcp_open(%o);
    tcp_send($c, { type => 'auth', token => $token });
    my $j = tcp_json($c);
    die "auth failed: " . ($j ? $JSON->encode($j) : 'no reply') unless $j && $j->{type} eq 'auth_ok';
    return wantarray ? ($c, $j) : $c;
}

# true when no frame but pings arrives within t seconds
sub tcp_expect_nothing {
    my ($c, $t) = @_;
    my $j = tcp_json($c, $t);
    return 1 if !$j && !$c->{eof};
    Test::More::diag('unexpected: ' . ($j ? $JSON->encode($j) : 'EOF'));
    return 0;
}

1;
