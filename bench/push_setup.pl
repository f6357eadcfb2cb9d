#!/usr/bin/perl
# Data for bench/push_bench.sh, written straight into the run directory's MariaDB (signing in
# 50,000 times would run Argon2id 50,000 times): USERS users bench00001.. with DEVICES
# sessions each, an HS256 access token per session signed with the run dir's secrets/jwt.key
# (the claims ngx_youdu_token_verify checks: sub, sid, role, exp, typ=access), then through the
# REST API one group of GROUP members (owner bench00001) and PAIRS direct conversations.
#
#   perl bench/push_setup.pl RUN_DIR HTTP_PORT [USERS DEVICES GROUP PAIRS]
#
# Writes RUN_DIR/bench/: tokens.txt (line d*USERS + k-1: device d of user k, d from 0),
# group_plan.txt ("<path> <token>": the owner's device 1 posting to the group),
# direct_plan.txt (one line per pair: A_i's device 1 posting to conversation A_i-B_i),
# layout.txt (where the receivers are in tokens.txt). Re-running reuses what exists.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use JSON::PP;

my ($run, $port, $U, $D, $G, $P) = @ARGV;
die "usage: push_setup.pl RUN_DIR HTTP_PORT [USERS DEVICES GROUP PAIRS]\n" unless $run && $port;
$U //= 10000; $D //= 5; $G //= 5000; $P //= 2000;
die "need GROUP <= USERS and 2*PAIRS <= USERS\n" if $G > $U || 2 * $P > $U;
my $dir = "$run/bench";
mkdir $dir;
my $J = JSON::PP->new->canonical;

sub sql {
    my ($q) = @_;
    open my $fh, '-|', 'mariadb', '--no-defaults', '-uroot', "--socket=$run/mysql.sock",
        '-N', '-B', 'youdu', '-e', $q or die "mariadb: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh or die "query failed: $q\n";
    return $out;
}

my $t0 = time;
my $have = sql("SELECT COUNT(*) FROM users WHERE account LIKE 'bench%'") + 0;
if ($have < $U) {
    print "creating $U users x $D sessions\n";
    sql("INSERT IGNORE INTO users (account, name, name_pinyin, name_initials, enable_state)
         SELECT CONCAT('bench', LPAD(seq, 5, '0')), CONCAT('Bench ', seq), CONCAT('bench', seq), 'b', 1
         FROM seq_1_to_$U");
    sql("INSERT IGNORE INTO user_depts (user_id, dept_id) SELECT id, 0 FROM users WHERE account LIKE 'bench%'");
}
my $have_s = sql("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE u.account LIKE 'bench%' AND s.revoked_at IS NULL") + 0;
if ($have_s < $U * $D) {
    sql("DELETE s FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.account LIKE 'bench%'");
    sql("INSERT INTO sessions (user_id, device_type, device_name, refresh_hash, refresh_expires)
         SELECT u.id, ELT(d.seq, 'pc', 'android', 'ios', 'mac', 'web', 'linux', 'api'), 'bench',
                SHA2(CONCAT('bench-', u.id, '-', d.seq), 256), UTC_TIMESTAMP() + INTERVAL 30 DAY
         FROM users u JOIN seq_1_to_$D d WHERE u.account LIKE 'bench%'");
}

# session id per (user number, device)
my (%uid, %sid);
for (split /\n/, sql("SELECT CAST(SUBSTRING(u.account, 6) AS UNSIGNED), u.id, s.id, s.device_type
                      FROM sessions s JOIN users u ON u.id = s.user_id
                      WHERE u.account LIKE 'bench%' ORDER BY u.id, s.id")) {
    my ($k, $u, $s) = split /\t/;
    $uid{$k} = $u;
    push @{ $sid{$k} }, $s;
}

open my $kf, '<', "$run/secrets/jwt.key" or die "jwt.key: $!";
my $key = do { local $/; <$kf> };
$key =~ s/\s+\z//;
my $hdr = encode_base64url('{"alg":"HS256","typ":"JWT"}');
my $exp = time + 86400;
sub token {
    my ($k, $d) = @_;
    my $claims = sprintf '{"sub":%d,"sid":%d,"role":0,"iat":%d,"exp":%d,"typ":"access"}',
        $uid{$k}, $sid{$k}[$d], time, $exp;
    my $p = encode_base64url($claims);
    return "$hdr.$p." . encode_base64url(hmac_sha256("$hdr.$p", $key));
}
my @tok;
open my $tf, '>', "$dir/tokens.txt" or die;
for my $d (0 .. $D - 1) {
    for my $k (1 .. $U) {
        my $t = token($k, $d);
        push @tok, $t;
        print $tf "$t\n";
    }
}
close $tf;
sub tok { my ($k, $d) = @_; return $tok[$d * $U + $k - 1] }

# one keep-alive connection, each request in one write with TCP_NODELAY (HTTP::Tiny's two
# writes meet Nagle and delayed ACKs: ~40 ms per request)
my $sock;
sub post {
    my ($path, $t, $body) = @_;
    $sock //= IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die "connect: $!\n";
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    my $c = $J->encode($body);
    print $sock "POST /api/v1$path HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $t\r\n"
        . "Content-Type: application/json\r\nContent-Length: " . length($c) . "\r\n\r\n$c";
    my $buf = '';
    $buf .= getc($sock) // die "connection closed\n" until $buf =~ /\r\n\r\n\z/;
    my ($st) = $buf =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = $buf =~ /\r\nContent-Length: (\d+)/i;
    read($sock, my $res, $len // 0);
    undef $sock if $buf =~ /\r\nConnection: close/i;
    die "POST $path: $st $res\n" unless $st =~ /^20[01]$/;
    return $J->decode($res);
}

# state from an earlier run (the same users): reuse the conversations
my %state;
if (open my $sf, '<', "$dir/state.txt") {
    %state = map { chomp; split / /, $_, 2 } <$sf>;
}
if (!$state{group} || ($state{group_size} // 0) != $G) {
    my @members = map { $uid{$_} } 2 .. $G;
    my $r = post('/conversations', tok(1, 0), { kind => 'group', name => "bench $G", user_ids => \@members });
    $state{group} = $r->{conversation}{id};
    $state{group_size} = $r->{conversation}{member_count};
    die "group has $state{group_size} members, wanted $G\n" unless $state{group_size} == $G;
}
my @direct = $state{direct} ? split(/,/, $state{direct}) : ();
if (@direct != $P) {
    @direct = ();
    # A_i = user USERS-2*PAIRS+i writes to B_i = user USERS-PAIRS+i
    for my $i (1 .. $P) {
        my $r = post('/conversations', tok($U - 2 * $P + $i, 0), { kind => 'direct', user_id => $uid{$U - $P + $i} });
        push @direct, $r->{conversation}{id};
    }
    $state{direct} = join ',', @direct;
}
open my $sf, '>', "$dir/state.txt" or die;
print $sf "$_ $state{$_}\n" for sort keys %state;
close $sf;

# senders post from their device 1; receivers listen on device 0
open my $gp, '>', "$dir/group_plan.txt" or die;
print $gp "/api/v1/conversations/$state{group}/messages " . tok(1, 1) . "\n";
close $gp;
open my $dp, '>', "$dir/direct_plan.txt" or die;
for my $i (1 .. $P) {
    print $dp "/api/v1/conversations/$direct[$i - 1]/messages " . tok($U - 2 * $P + $i, 1) . "\n";
}
close $dp;
open my $lf, '>', "$dir/layout.txt" or die;
print $lf "users=$U devices=$D group=$state{group} group_size=$G group_from=0 pairs=$P direct_from="
    . ($U - $P) . "\n";
close $lf;
printf "setup: %d users, %d sessions, group %d (%d members), %d direct conversations (%d s)\n",
    scalar(keys %uid), $U * $D, $state{group}, $G, $P, time - $t0;
