package Youdu::WS;

# A minimal WebSocket client for the push tests: the handshake by hand over
# IO::Socket::INET, client frames built with Protocol::WebSocket::Frame,
# server frames decoded here (so close frames and odd sizes are visible).

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use IO::Socket::SSL;
use IO::Select;
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(sha1_base64);
use Protocol::WebSocket::Frame;
use Time::HiRes qw(time);
use Youdu::Test;

our @EXPORT = qw(ws_open ws_send ws_raw ws_recv ws_json ws_close_code
                 ws_auth ws_expect_nothing);

sub _addr {
    my $url = $_[0] ? $ENV{TEST_YOUDU_HTTPS_URL} : $URL;
    $url =~ m{^https?://([^:/]+):(\d+)} or die "bad URL $url";
    return ($1, $2);
}

# ws_open(key => ..., method => ..., headers => "...", tls => 1) ->
#   { sock, status, head, accept_ok }
sub ws_open {
    my (%o) = @_;
    my ($host, $port) = _addr($o{tls});
    my $s = $o{tls}
        ? IO::Socket::SSL->new(PeerAddr => $host, PeerPort => $port, Timeout => 5,
                               SSL_verify_mode => 0)
        : IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 5);
    die "connect: $! $@" unless $s;
    binmode $s;
    my $key = exists $o{key} ? $o{key}
            : encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $req = ($o{method} // 'GET') . " /push/ws HTTP/1.1\r\nHost: $host\r\n"
            . ($o{no_upgrade} ? '' : "Upgrade: websocket\r\nConnection: Upgrade\r\n")
            . (defined $key ? "Sec-WebSocket-Key: $key\r\n" : '')
            . "Sec-WebSocket-Version: " . ($o{version} // 13) . "\r\n"
            . ($o{headers} // '') . "\r\n";
    syswrite($s, $req);
    my $buf = '';
    my $sel = IO::Select->new($s);
    while ($buf !~ /\r\n\r\n/) {
        last unless _pending($s) || $sel->can_read(5);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    $head //= '';
    my ($status) = $head =~ m{^HTTP/1\.1 (\d{3})};
    my ($acc) = $head =~ m{^Sec-WebSocket-Accept: *(\S+)}mi;
    my $want = defined $key ? sha1_base64($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=' : '';
    return { sock => $s, status => $status // 0, head => $head, buf => $rest // '',
             accept_ok => (defined $acc && $acc eq $want) ? 1 : 0 };
}

sub _pending { my ($s) = @_; return $s->isa('IO::Socket::SSL') && $s->pending }

sub ws_raw {
    my ($c, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    while (length $bytes) {
        my $n = syswrite($c->{sock}, $bytes);
        return 0 unless defined $n;
        substr($bytes, 0, $n) = '';
    }
    return 1;
}

# ws_send(c, data, type => 'text', masked => 1, fin => 1)
sub ws_send {
    my ($c, $data, %o) = @_;
    my $f = Protocol::WebSocket::Frame->new(buffer => $data, type => $o{type} // 'text',
                                            masked => $o{masked} // 1, fin => $o{fin} // 1,
                                            max_payload_size => 0);
    return ws_raw($c, $f->to_bytes);
}

# next server frame: { op, fin, data, masked } or { eof => 1 } or undef (timeout)
sub ws_recv {
    my ($c, $t) = @_;
    my $deadline = time + ($t // 5);
    my $sel = IO::Select->new($c->{sock});
    while (1) {
        my $b = \$c->{buf};
        if (length $$b >= 2) {
            my ($b0, $b1) = unpack 'CC', $$b;
            my ($len, $off) = ($b1 & 0x7f, 2);
            if ($len == 126) {
                ($len, $off) = length $$b >= 4 ? (unpack('n', substr($$b, 2, 2)), 4) : (undef, 0);
            } elsif ($len == 127) {
                ($len, $off) = length $$b >= 10 ? (unpack('Q>', substr($$b, 2, 8)), 10) : (undef, 0);
            }
            if (defined $len && length $$b >= $off + $len) {
                my $data = substr($$b, $off, $len);
                substr($$b, 0, $off + $len) = '';
                return { op => $b0 & 0x0f, fin => $b0 >> 7, data => $data, masked => $b1 >> 7 };
            }
        }
        my $left = $deadline - time;
        return undef if $left <= 0;
        return undef unless _pending($c->{sock}) || $sel->can_read($left);
        my $n = sysread($c->{sock}, $$b, 262144, length $$b);
        return { eof => 1 } unless $n;
    }
}

# next text frame decoded as JSON (pings skipped); undef on timeout/close
sub ws_json {
    my ($c, $t) = @_;
    while (my $f = ws_recv($c, $t)) {
        return undef if $f->{eof};
        next if $f->{op} == 9 || $f->{op} == 10;
        if ($f->{op} == 8) { $c->{close} = $f; return undef }
        return $JSON->decode($f->{data}) if $f->{op} == 1;
    }
    return undef;
}

# reads until the close frame; returns (code, reason) or () when none came
sub ws_close_code {
    my ($c, $t) = @_;
    if (my $f = delete $c->{close}) {
        return (unpack('n', $f->{data}), substr($f->{data}, 2));
    }
    while (my $f = ws_recv($c, $t)) {
        return () if $f->{eof};
        next unless $f->{op} == 8;
        return (length $f->{data} >= 2 ? unpack('n', $f->{data}) : 1005, substr($f->{data}, 2));
    }
    return ();
}

# authenticated connection or die; returns (c, auth_ok)
sub ws_auth {
    my ($token, %o) = @_;
    my $c = ws_open(%o);
    die "handshake failed: $c->{head}" unless $c->{status} == 101;
    ws_send($c, $JSON->encode({ type => 'auth', token => $token }));
    my $j = ws_json($c);
    die "auth failed: " . ($j ? $JSON->encode($j) : 'no reply') unless $j && $j->{type} eq 'auth_ok';
    return wantarray ? ($c, $j) : $c;
}

# true when no text frame arrives within t seconds
sub ws_expect_nothing {
    my ($c, $t) = @_;
    my $deadline = time + $t;
    while ((my $left = $deadline - time) > 0) {
        my $f = ws_recv($c, $left) or return 1;
        if ($f->{eof} || $f->{op} == 1 || $f->{op} == 8) {
            Test::More::diag('unexpected: ' . ($f->{eof} ? 'EOF' : "op $f->{op} $f->{data}"));
            return 0;
        }
    }
    return 1;
}

1;
