#!/usr/bin/env perl
# The web client in a real browser: runs t/browser/*.test.mjs (node's test
# runner, TAP output) with Debian's chromium driven by playwright-core.
# Screenshots go to run/test/screenshots/.
use strict;
use warnings;
use FindBin;

my $dir = "$FindBin::Bin/browser";
my @files = @ARGV ? @ARGV : sort glob("$dir/*.test.mjs");
exec 'node', '--test', "--test-reporter=$dir/lib/tap.mjs", '--test-concurrency=1',
     '--test-timeout=180000', @files
    or die "node: $!";
