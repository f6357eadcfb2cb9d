package Youdu::Senders;

# Concurrent senders for the guarantee tests: each one a forked process that
# sends N texts and, like a real client, resends a message with the SAME
# client_msg_id after a connection error or a 5xx until it is acknowledged
# (201, or 200 "duplicate" for a resend of a stored one).  Results go to a
# file per sender, read by the parent when they are done.

use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(time sleep);
use Youdu::Test;

our @EXPORT = qw(start_senders senders_done sender_results);

my $dir;

# start_senders([{user, conv, n, tag, url?}, ...], pace => secs) -> handle
sub start_senders {
    my ($list, %o) = @_;
    $dir //= do { my $d = run_dir() . "/tmp/senders$$"; mkdir $d; $d };
    my @kids;
    for my $s (@$list) {
        my $file = "$dir/$s->{tag}.out";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            _sender($s, $file, $o{pace} // 0);
            POSIX::_exit(0);
        }
        push @kids, { pid => $pid, file => $file, done => 0 };
    }
    return \@kids;
}

sub _sender {
    my ($s, $file, $pace) = @_;
    my $http = HTTP::Tiny->new(timeout => 15, keep_alive => 0);
    my $base = $s->{url} // $URL;
    open my $out, '>', $file or return;
    $out->autoflush(1);
    for my $i (1 .. $s->{n}) {
        my $cmid = "$s->{tag}-$i";
        my $body = $JSON->encode({ client_msg_id => $cmid, kind => 'text', text => "$s->{tag} $i" });
        my ($t0, $tries, %bad) = (time, 0);
        while (1) {
            $tries++;
            my $res = $http->request(POST => "$base/api/v1/conversations/$s->{conv}/messages",
                { headers => { Authorization => "Bearer $s->{user}{token}",
                               'Content-Type' => 'application/json' }, content => $body });
            my $st = $res->{status};
            my $j = eval { $JSON->decode($res->{content}) };
            if (($st == 201 || $st == 200) && $j && $j->{message}) {
                print $out join("\t", 'ACK', $cmid, $j->{message}{seq}, $st, $tries,
                                join(',', map { "$_:$bad{$_}" } sort keys %bad)), "\n";
                last;
            }
            if ($st == 599 || $st >= 500) {
                $bad{$st}++;
                $bad{"e$j->{errcode}"}++ if $j && $j->{errcode};
                if (time - $t0 > 45) { print $out "FAIL\t$cmid\tgave up after $st\n"; last }
                sleep 0.1;
                next;
            }
            print $out "FAIL\t$cmid\t$st " . substr($res->{content} // '', 0, 200) . "\n";
            last;
        }
        sleep $pace if $pace;
    }
    close $out;
}

# true when every sender has exited
sub senders_done {
    my ($kids) = @_;
    for my $k (@$kids) {
        next if $k->{done};
        $k->{done} = 1 if waitpid($k->{pid}, POSIX::WNOHANG()) == $k->{pid};
    }
    return !grep { !$_->{done} } @$kids;
}

# { acked => {cmid => seq}, fails => [...], dups => n (200 duplicate),
#   retried => n (messages that needed more than one try), bad => {status => n} }
sub sender_results {
    my ($kids) = @_;
    my %r = (acked => {}, fails => [], dups => 0, retried => 0, bad => {});
    for my $k (@$kids) {
        open my $f, '<', $k->{file} or do { push @{ $r{fails} }, "no output from $k->{pid}"; next };
        while (my $l = <$f>) {
            chomp $l;
            my ($what, $cmid, $seq, $st, $tries, $bad) = split /\t/, $l;
            if ($what ne 'ACK') { push @{ $r{fails} }, $l; next }
            push @{ $r{fails} }, "$cmid acknowledged twice" if exists $r{acked}{$cmid};
            $r{acked}{$cmid} = $seq;
            $r{dups}++ if $st == 200;
            $r{retried}++ if $tries > 1;
            for (split /,/, $bad // '') { my ($k2, $v) = split /:/; $r{bad}{$k2} += $v }
        }
    }
    return \%r;
}

1;
