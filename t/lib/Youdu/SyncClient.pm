package Youdu::SyncClient;

# One device of one member, following one conversation the way docs/push.md
# tells clients to: it keeps the highest seq it holds, drops pushes at or
# below it (duplicates), and calls sync (after=<highest>, paged) when a push
# skips a seq, after every (re)connect, and at the end.  What it hands to the
# "app" is in {delivered}; what each WebSocket connection brought, raw, is in
# {paths} (one list per connection), so tests can check both.

use strict;
use warnings;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);
use Youdu::Test;
use Youdu::WS;

# new(user, conv, url => base URL of the nginx instance to use)
sub new {
    my ($class, $user, $conv, %o) = @_;
    my $self = bless { user => $user, conv => $conv, url => $o{url} // $URL,
                       last => 0, delivered => [], paths => [], synced => 0, pushed => 0,
                       dups => 0, errors => [], c => undef, need_sync => 1,
                       next_try => 0, next_sync => 0 }, $class;
    return $self;
}

# runs code with the test helpers pointed at this client's instance
sub _at {
    my ($self, $code) = @_;
    my $save = $URL;
    $URL = $self->{url};
    my @r = eval { $code->() };
    my $err = $@;
    $URL = $save;
    die $err if $err;
    return @r;
}

sub connected { return $_[0]{c} ? 1 : 0 }

# (re)connects when disconnected and syncs when needed; rate limited
sub maintain {
    my ($self) = @_;
    my $now = time;
    if (!$self->{c} && $now >= $self->{next_try}) {
        my ($c) = eval { $self->_at(sub { ws_auth($self->{user}{token}) }) };
        if ($c) {
            $self->{c} = $c;
            push @{ $self->{paths} }, [];
            $self->{need_sync} = 1;
        } else {
            $self->{next_try} = $now + 0.3;
        }
    }
    if ($self->{need_sync} && time >= $self->{next_sync}) {
        $self->sync or $self->{next_sync} = time + 0.3;
    }
}

# GET .../messages?after=<last>, every page; 1 on success
sub sync {
    my ($self) = @_;
    while (1) {
        my ($st, $j) = $self->_at(sub {
            api(GET => "/conversations/$self->{conv}/messages?after=$self->{last}&limit=50",
                undef, token => $self->{user}{token}) });
        return 0 unless $st == 200 && $j && $j->{messages};
        for my $ev (@{ $j->{messages} }) {
            if ($ev->{seq} != $self->{last} + 1) {
                push @{ $self->{errors} }, "sync after $self->{last} returned seq $ev->{seq}";
                next if $ev->{seq} <= $self->{last};
            }
            $self->_deliver($ev);
            $self->{synced}++;
        }
        last unless $j->{has_more};
    }
    $self->{need_sync} = 0;
    return 1;
}

sub _deliver {
    my ($self, $ev) = @_;
    push @{ $self->{delivered} }, $ev->{seq};
    $self->{last} = $ev->{seq};
}

# a pushed event for our conversation
sub _pushed {
    my ($self, $ev) = @_;
    push @{ $self->{paths}[-1] }, $ev->{seq};
    if ($ev->{seq} <= $self->{last}) {
        $self->{dups}++;
    } elsif ($ev->{seq} == $self->{last} + 1 && !$self->{need_sync}) {
        $self->_deliver($ev);
        $self->{pushed}++;
    } else {
        # a gap: everything after our highest seq comes from sync
        $self->{need_sync} = 1;
        $self->sync;
    }
}

sub _drop { my ($self) = @_; $self->{c} = undef; $self->{next_try} = time + 0.1 }

# reads whatever is available now
sub read_frames {
    my ($self) = @_;
    while (my $c = $self->{c}) {
        my $f = ws_recv($c, 0.001) or return;
        if ($f->{eof} || $f->{op} == 8) {
            push @{ $self->{drops} }, $f->{eof} ? sprintf('EOF (%s) at %.1f', $!, time - $^T)
                : 'close ' . (length $f->{data} >= 2 ? unpack('n', $f->{data}) . ' ' . substr($f->{data}, 2) : '');
            $self->_drop;
            return;
        }
        if ($f->{op} == 9) { ws_send($c, $f->{data}, type => 'pong'); next }
        next unless $f->{op} == 1;
        my $ev = eval { $JSON->decode($f->{data}) } or next;
        $self->_pushed($ev)
            if ($ev->{type} // '') eq 'message' && ($ev->{conv_id} // 0) == $self->{conv};
    }
}

# cuts the connection abruptly: no close frame, RST
sub cut {
    my ($self) = @_;
    my $s = $self->{c}{sock};
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
    $self->_drop;
}

# pump([clients], secs, until => sub): serves every client until `until`
# is true or the time is up; returns the last value of `until` (or 1)
sub pump {
    my ($clients, $secs, %o) = @_;
    my $end = time + $secs;
    while (1) {
        my $done = $o{until} ? $o{until}->() : 0;
        return 1 if $done;
        last if time >= $end;
        my $sel = IO::Select->new;
        my %by;
        for my $cl (@$clients) {
            $cl->maintain;
            next unless $cl->{c};
            $cl->read_frames if length $cl->{c}{buf};
            next unless $cl->{c};
            $sel->add($cl->{c}{sock});
            $by{ fileno $cl->{c}{sock} } = $cl;
        }
        if ($sel->count) {
            $by{ fileno $_ }->read_frames for $sel->can_read(0.05);
        } else {
            sleep 0.05;
        }
    }
    return $o{until} ? 0 : 1;
}

# connected and synced, every one
sub settle {
    my ($clients, $secs) = @_;
    return pump($clients, $secs, until => sub {
        !grep { !$_->{c} || $_->{need_sync} } @$clients });
}

1;
