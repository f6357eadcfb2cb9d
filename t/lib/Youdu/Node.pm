package Youdu::Node;

# A second nginx node beside the test stack, sharing its MariaDB and Redis:
# its configuration is the test stack's with other ports, its own pid file,
# logs and temp paths (the caller edits the text further as it needs).

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use Time::HiRes qw(sleep);
use Youdu::Test;

our @EXPORT = qw(free_ports node_conf node_start node_stop);

# n ports free now among from .. to
sub free_ports {
    my ($from, $to, $n) = @_;
    my @free;
    for my $p ($from .. $to) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p, Listen => 1,
                                      ReuseAddr => 1) or next;
        push @free, $p;
        last if @free == $n;
    }
    return @free;
}

# the test stack's nginx.conf for a node in $dir; %ports maps the stack's
# listen ports to the node's
sub node_conf {
    my ($dir, %ports) = @_;
    my $run = run_dir();
    mkdir $dir;
    mkdir "$dir/$_" for qw(log tmp tmp/body tmp/proxy tmp/fastcgi tmp/uwsgi tmp/scgi);
    system('chown', '-R', 'nobody:nogroup', "$dir/tmp");
    my $conf = do { open my $f, '<', "$run/nginx.conf" or die "nginx.conf: $!"; local $/; <$f> };
    for my $old (keys %ports) {
        $conf =~ s{listen 127\.0\.0\.1:$old( ssl)?;}{"listen 127.0.0.1:$ports{$old}" . ($1 // "") . ";"}ge;
    }
    $conf =~ s{^pid .*?;}{pid $dir/nginx.pid;}m;
    $conf =~ s{^error_log \S+}{error_log $dir/log/error.log}m;
    $conf =~ s{access_log \S+;}{access_log $dir/log/access.log;};
    $conf =~ s{(_temp_path) \Q$run\E/tmp/}{$1 $dir/tmp/}g;
    return $conf;
}

# writes the configuration and starts the node (under the sanitizer too
# when the stack runs under it); true once $ping_url answers
sub node_start {
    my ($dir, $conf, $ping_url) = @_;
    my $run = run_dir();
    open my $cf, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $cf $conf;
    close $cf;
    my @pre = $ENV{TEST_YOUDU_ASAN}
        ? ('env', 'LD_PRELOAD=' . `gcc -print-file-name=libasan.so` =~ s/\s+$//r,
           "ASAN_OPTIONS=detect_leaks=0:log_path=$run/log/asan/asan")
        : ();
    system(@pre, '/usr/sbin/nginx', '-p', $dir, '-c', "$dir/nginx.conf") == 0 or return 0;
    for (1 .. 50) { my ($st) = api(GET => $ping_url); return 1 if $st == 200; sleep 0.1 }
    return 0;
}

# graceful stop; returns (stopped, the node's error log)
sub node_stop {
    my ($dir) = @_;
    my $pid = do { open my $f, '<', "$dir/nginx.pid" or return (0, ''); local $/; <$f> =~ s/\s+//gr };
    kill 'QUIT', $pid;
    my $gone = 0;
    for (1 .. 100) { unless (kill 0, $pid) { $gone = 1; last } sleep 0.1 }
    my $log = do { open my $f, '<', "$dir/log/error.log"; local $/; <$f> // '' };
    return ($gone, $log);
}

1;
