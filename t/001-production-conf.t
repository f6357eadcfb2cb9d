#!/usr/bin/perl
# conf/youdu-production.conf is accepted by nginx (-t) with the module as
# built: every youdu directive in it parses (youdu_api, youdu_cgi, push,
# stream), with only its file paths pointed at this run's secrets, and it
# keeps TLS 1.2+ on every listener.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Youdu::Test;

my $root = $ENV{TEST_YOUDU_ROOT} or BAIL_OUT('TEST_YOUDU_ROOT not set');
my $so = $ENV{TEST_YOUDU_MODULE_SO} or BAIL_OUT('TEST_YOUDU_MODULE_SO not set');
my $sec = run_dir() . '/secrets';
my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/$_" for qw(logs tmp files);

open my $in, '<', "$root/conf/youdu-production.conf" or die $!;
my $conf = do { local $/; <$in> };
close $in;

# TLS everywhere a client connects: no plain listener other than the redirect
my @plain = grep { !/\bssl\b/ && !/\b80\b/ } $conf =~ /^\s*listen\s+([^;]+);/mg;
is_deeply(\@plain, [], 'every listener but the port-80 redirect is TLS');
like($conf, qr/ssl_protocols\s+TLSv1\.2 TLSv1\.3;/, 'TLS 1.2 and 1.3 only');
like($conf, qr/location \/cgi\/ \{\s*youdu_cgi;/, 'the open platform API is served');

$conf =~ s{/usr/lib/nginx/modules/ngx_youdu_module\.so}{$so};
$conf =~ s{/etc/youdu/db_password}{$sec/db_password}g;
$conf =~ s{/etc/youdu/redis_password}{$sec/db_password}g;
$conf =~ s{/etc/youdu/jwt\.key}{$sec/jwt.key}g;
$conf =~ s{/etc/youdu/tls/[\w.]*(chain|cert)[\w.]*\.pem}{$sec/tls.crt}g;
$conf =~ s{/etc/youdu/tls/[\w.]*key[\w.]*\.pem}{$sec/tls.key}g;
$conf =~ s{/var/log/youdu}{$dir/logs}g;
$conf =~ s{/var/lib/youdu/tmp/body}{$dir/tmp}g;
$conf =~ s{/var/lib/youdu/files}{$dir/files}g;
$conf =~ s{^\s*user\s+[^;]+;}{}m;
$conf =~ s{/run/youdu-nginx\.pid}{$dir/nginx.pid};
unlike($conf, qr{/etc/youdu|/var/(log|lib)/youdu}, 'every site path was pointed at the test');

open my $out, '>', "$dir/nginx.conf" or die $!;
print $out $conf;
close $out;

my @pre = $ENV{TEST_YOUDU_ASAN}
    ? ('env', 'LD_PRELOAD=' . `gcc -print-file-name=libasan.so` =~ s/\s+$//r, 'ASAN_OPTIONS=detect_leaks=0')
    : ();
my $outp = `@pre /usr/sbin/nginx -t -p $dir -c $dir/nginx.conf -e $dir/logs/error.log 2>&1`;
is($?, 0, 'nginx -t accepts the production configuration') or diag $outp;
like($outp, qr/test is successful/, 'nginx says the test is successful');

done_testing();
