package Youdu::Msg;

# Helpers for the messaging tests: signed-in users, conversations, a
# database fingerprint of the messaging tables ("nothing was written"),
# concurrent POSTs and a yd:push subscriber.

use strict;
use warnings;
use utf8;
use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Youdu::Test;

our @EXPORT = qw(new_user new_conv send_text msg_state db concurrent_post
                 push_listen push_collect);

sub db { my $s = sql(@_); $s =~ s/\n\z//; return $s }

# a fresh enabled employee, signed in: {id, account, name, token}
sub new_user {
    my (%f) = @_;
    my $name = $f{name} // Youdu::Test::uniq('Msg');
    my ($id, $acc, $pw) = create_user(name => $name);
    return { id => $id, account => $acc, name => $name, token => scalar login_as($acc, $pw) };
}

# creates a conversation as $owner; returns its id
sub new_conv {
    my ($owner, %body) = @_;
    my ($st, $j, $raw) = api(POST => '/conversations', \%body, token => $owner->{token});
    die "create conversation failed: $st $raw" unless $st == 200 || $st == 201;
    return $j->{conversation}{id};
}

my $cmid = 0;
# sends a text; returns (status, json)
sub send_text {
    my ($user, $conv, $text, %opt) = @_;
    my ($st, $j) = api(POST => "/conversations/$conv/messages",
        { client_msg_id => $opt{client_msg_id} // "c$$-" . ++$cmid . '-' . int(rand(1e9)),
          kind => 'text', text => $text, %{ $opt{extra} || {} } },
        token => $user->{token});
    return ($st, $j);
}

# a fingerprint of every messaging table
sub msg_state {
    return db("SELECT (SELECT COUNT(*) FROM conversations), "
            . "(SELECT MD5(GROUP_CONCAT(id, kind, name, IFNULL(owner_id, ''), last_seq, member_count, "
            . "IFNULL(dissolved_at, '') ORDER BY id)) FROM conversations), "
            . "(SELECT COUNT(*) FROM conversation_members), "
            . "(SELECT MD5(GROUP_CONCAT(conv_id, user_id, role, joined_seq, last_read_seq, muted, pinned, "
            . "IFNULL(left_seq, '') ORDER BY conv_id, user_id)) FROM conversation_members), "
            . "(SELECT COUNT(*) FROM messages), "
            . "(SELECT MD5(GROUP_CONCAT(conv_id, seq, recalled ORDER BY conv_id, seq)) FROM messages)");
}

# concurrent_post(PATH, [[token, body], ...]) -> list of {status, json}
sub concurrent_post {
    my ($path, $reqs, %opt) = @_;
    my ($host, $port) = $URL =~ m{^https?://([^:/]+):(\d+)} or die "bad URL $URL";
    my $timeout = $opt{timeout} // 20;
    my $sel = IO::Select->new;
    my (%req, @out);
    for my $i (0 .. $#$reqs) {
        my ($token, $body) = @{ $reqs->[$i] };
        my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        my $content = $JSON->encode($body);
        print $s "POST /api/v1$path HTTP/1.1\r\nHost: $host\r\nAuthorization: Bearer $token\r\n"
               . "Content-Type: application/json\r\nContent-Length: " . length($content)
               . "\r\nConnection: close\r\n\r\n$content";
        $s->blocking(0);
        $req{fileno $s} = { i => $i, sock => $s, buf => '' };
        $sel->add($s);
    }
    my $t0 = time;
    while ($sel->count && time - $t0 < $timeout) {
        for my $s ($sel->can_read(0.05)) {
            my $r = $req{fileno $s};
            my $n = sysread($s, my $chunk, 65536);
            if (defined $n && $n > 0) { $r->{buf} .= $chunk; next }
            next if !defined $n && $!{EAGAIN};
            my ($status) = $r->{buf} =~ m{^HTTP/1\.[01] (\d+)};
            my (undef, $body) = split /\r\n\r\n/, $r->{buf}, 2;
            $out[$r->{i}] = { status => $status // 0, json => eval { $JSON->decode($body // '') } };
            $sel->remove($s);
            close $s;
        }
    }
    $out[$_] //= { status => 0, json => undef } for 0 .. $#$reqs;
    return @out;
}

# a Redis subscriber on yd:push (a plain RESP socket kept by the caller)
sub push_listen {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_YOUDU_REDIS_PORT}, Proto => 'tcp')
        or die "redis connect: $!";
    print $s "*2\r\n\$9\r\nSUBSCRIBE\r\n\$7\r\nyd:push\r\n";
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $t0 = time;
    while ($buf !~ /subscribe\r\n.*:1\r\n/s && time - $t0 < 5) {
        sysread($s, $buf, 65536, length $buf) if $sel->can_read(0.1);
    }
    die "SUBSCRIBE yd:push failed" unless $buf =~ /:1\r\n/;
    return { sock => $s };
}

# the notices received within `wait` seconds (decoded); closes the socket
sub push_collect {
    my ($l, %opt) = @_;
    my $s = $l->{sock};
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $t0 = time;
    while (time - $t0 < ($opt{wait} // 1)) {
        next unless $sel->can_read(0.05);
        my $n = sysread($s, $buf, 1 << 20, length $buf);
        last unless $n;
    }
    close $s;
    my @msgs;
    # *3 $7 message $7 yd:push $N payload
    while ($buf =~ /\*3\r\n\$7\r\nmessage\r\n\$7\r\nyd:push\r\n\$(\d+)\r\n/g) {
        my $payload = substr($buf, pos($buf), $1);
        my $d = eval { $JSON->decode($payload) };
        push @msgs, $d if $d;
    }
    return @msgs;
}

1;
