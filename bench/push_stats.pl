#!/usr/bin/perl
# Figures from push_load receiver files (lines "<tag>-<n> <latency us>").
#
#   push_stats.pl lat TAG SENT FILE...
#       every receipt of TAG's messages: count, messages seen (of SENT), p50/p99/max ms
#   push_stats.pl fanout TAG EXPECT FILE...
#       per message: receivers reached (EXPECT wanted) and the time until the last one had it;
#       p50/max of that time over the messages, and p50/p99 over all receipts
use strict;
use warnings;

my ($mode, $tag, $n, @files) = @ARGV;
die "usage: push_stats.pl lat|fanout TAG N FILE...\n" unless $mode && defined $n && @files;

my (@all, %cnt, %max);
for my $f (@files) {
    open my $fh, '<', $f or next;
    while (<$fh>) {
        my ($id, $us) = split;
        next unless defined $us && index($id, "$tag-") == 0;
        push @all, $us;
        $cnt{$id}++;
        $max{$id} = $us if !defined $max{$id} || $us > $max{$id};
    }
}
sub pct {
    my ($p, @v) = @_;
    return 0 unless @v;
    return $v[int($p * $#v + 0.5)];
}
@all = sort { $a <=> $b } @all;
my $ms = sub { sprintf '%.1f', $_[0] / 1000 };

if ($mode eq 'lat') {
    printf "receipts=%d messages_seen=%d/%d p50_ms=%s p99_ms=%s max_ms=%s\n",
        scalar @all, scalar keys %cnt, $n, $ms->(pct(0.5, @all)), $ms->(pct(0.99, @all)),
        $ms->($all[-1] // 0);
} else {
    my @ids = sort { ($a =~ /(\d+)$/)[0] <=> ($b =~ /(\d+)$/)[0] } keys %cnt;
    my $complete = grep { $cnt{$_} == $n } @ids;
    my @last = sort { $a <=> $b } map { $max{$_} } @ids;
    print "  per message (receivers, ms until the last one had it): ",
        join(' ', map { "$cnt{$_}/" . $ms->($max{$_}) } @ids), "\n";
    printf "messages=%d complete=%d all_have_it_p50_ms=%s all_have_it_max_ms=%s "
        . "receipt_p50_ms=%s receipt_p99_ms=%s\n", scalar @ids, $complete,
        $ms->(pct(0.5, @last)), $ms->($last[-1] // 0), $ms->(pct(0.5, @all)),
        $ms->(pct(0.99, @all));
}
