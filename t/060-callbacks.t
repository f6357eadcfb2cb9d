#!/usr/bin/perl
# Callbacks from the server to apps (PROTOCOL.md section 5): the queue's
# delivery, acknowledgement forms, retries, giving up, bounds per app, a
# worker killed mid-delivery, the admin endpoints, third-party login and
# the password_md5 upgrade.  The app is a small HTTP server forked here
# that decrypts and checks signatures with its own crypto.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use IO::Socket::INET;
use IO::Socket::SSL;
use Crypt::Mode::CBC;
use Digest::SHA qw(sha1_hex);
use Digest::MD5 qw(md5_hex);
use MIME::Base64 qw(encode_base64 decode_base64);
use Fcntl qw(:flock);
use POSIX ();
use Time::HiRes qw(time sleep);

my $RUN = run_dir();
my $DIR = "$RUN/tmp/cbtest.$$";
mkdir $DIR or die "$DIR: $!";
my $LOG = "$DIR/requests.log";
my $APPS = "$DIR/apps.json";
my $BUIN = 707070;          # youdu_buin of the test stack (build.sh)

# ---------------------------------------------------------------- crypto

my $cbc = Crypt::Mode::CBC->new('AES', 0);   # no library padding

sub yd_encrypt {
    my ($key_b64, $payload, $appid) = @_;
    my $key = decode_base64($key_b64);
    my $buf = join('', map { chr(int(rand(256))) } 1 .. 16)
              . pack('N', length $payload) . $payload . $appid;
    my $n = 32 - (length($buf) % 32);
    $buf .= chr($n) x $n;
    my $iv = substr($key, 0, 16);
    return encode_base64($cbc->encrypt($buf, $key, $iv), '');
}

# -> (payload, appId trailer) or () if it does not decrypt
sub yd_decrypt {
    my ($key_b64, $b64) = @_;
    my $key = decode_base64($key_b64);
    my $ct = decode_base64($b64);
    return () if !length($ct) || length($ct) % 32;
    my $iv = substr($key, 0, 16);
    my $pt = $cbc->decrypt($ct, $key, $iv);
    my $pad = ord(substr($pt, -1));
    return () if $pad < 1 || $pad > 32 || substr($pt, -$pad) ne chr($pad) x $pad;
    $pt = substr($pt, 0, length($pt) - $pad);
    my $len = unpack('N', substr($pt, 16, 4));
    return () if 20 + $len > length $pt;
    return (substr($pt, 20, $len), substr($pt, 20 + $len));
}

sub yd_signature { return sha1_hex(join '', sort @_) }

# ---------------------------------------------------------------- the app

sub new_key { return encode_base64(join('', map { chr(int(rand(256))) } 1 .. 32), '') }

my %apps;      # app_id -> { key, token, pk }

sub save_apps {
    open my $f, '>', "$APPS.tmp" or die; print $f $JSON->encode(\%apps); close $f;
    rename "$APPS.tmp", $APPS or die;
}

sub create_app {
    my ($url) = @_;
    my $app_id = 'yd' . uc(join '', map { sprintf '%02x', int(rand(256)) } 1 .. 16);
    my $key = new_key();
    my $token = join '', map { ('a' .. 'z', 0 .. 9)[int(rand(36))] } 1 .. 16;
    sql("INSERT INTO apps (app_id, name, aes_key, callback_url, callback_token) "
        . "VALUES ('$app_id', 'cb test', '$key', '$url', '$token')");
    my $pk = sql("SELECT id FROM apps WHERE app_id = '$app_id'");
    $apps{$app_id} = { key => $key, token => $token, pk => $pk };
    save_apps();
    return ($pk, $app_id);
}

sub record {
    my ($r) = @_;
    open my $f, '>>', $LOG or die;
    flock $f, LOCK_EX;
    print $f $JSON->encode($r), "\n";
    close $f;
}

sub requests {
    my ($filter) = @_;
    open my $f, '<', $LOG or return ();
    local $/ = "\n";
    my @all = map { $JSON->decode($_) } grep { /\S/ } <$f>;
    return grep { $filter->($_) } @all;
}

sub reply {
    my ($c, $status, $body, %o) = @_;
    my $msg = $status == 200 ? 'OK' : 'Error';
    if ($o{chunked}) {
        my $half = int(length($body) / 2);
        print $c "HTTP/1.1 $status $msg\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            . sprintf('%x', $half) . "\r\n" . substr($body, 0, $half) . "\r\n"
            . sprintf('%x', length($body) - $half) . ";ext=1\r\n" . substr($body, $half) . "\r\n0\r\n\r\n";
    } else {
        print $c "HTTP/1.1 $status $msg\r\nContent-Type: text/plain\r\nContent-Length: "
            . length($body) . "\r\nConnection: close\r\n\r\n$body";
    }
}

sub handle {
    my ($c) = @_;
    local $/ = "\r\n";
    my $line = <$c> // return;
    my ($method, $target) = $line =~ m{^(\S+) (\S+) HTTP/1\.1\r\n$} or return;
    my %h;
    while (my $l = <$c>) {
        last if $l eq "\r\n";
        $h{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*?)\r\n$/;
    }
    my $body = '';
    read($c, $body, $h{'content-length'} // 0);
    my ($path, $qs) = split /\?/, $target, 2;
    my %q = map { split /=/, $_, 2 } split /&/, $qs // '';
    open my $af, '<', $APPS or die; my $all = $JSON->decode(do { local $/; <$af> });

    my $env = eval { $JSON->decode($body) } || {};
    my $app = $all->{ $env->{toApp} // '' };
    my %r = (path => $path, method => $method, t => time, query => \%q, host => $h{host},
             to_app => $env->{toApp}, buin_is_int => ($body =~ /"toBuin":(\d+)[,}]/ ? $1 + 0 : undef));
    if ($app && defined $env->{encrypt}) {
        $r{sig_ok} = (yd_signature($app->{token}, $q{timestamp} // '', $q{nonce} // '',
                                   $env->{encrypt}) eq ($q{msg_signature} // '')) ? 1 : 0;
        my ($plain, $trailer) = yd_decrypt($app->{key}, $env->{encrypt});
        $r{trailer} = $trailer;
        $r{plain} = $plain;
        $r{payload} = eval { $JSON->decode($plain // '') };
        $r{pkg_is_string} = (($plain // '') =~ /"packageId":"[^"]*"/) ? 1 : 0;
        $r{ctime_is_int} = (($plain // '') =~ /"createTime":\d+[,}]/) ? 1 : 0;
    }
    record(\%r);

    my $pkg = $r{payload} ? $r{payload}{packageId} // '' : '';
    my $seen = () = requests(sub { ($_[0]{payload} ? $_[0]{payload}{packageId} // '' : '') eq $pkg });

    if ($path eq '/ok')        { return reply($c, 200, 'ok') }
    if ($path eq '/OK')        { return reply($c, 200, "OK\n") }
    if ($path eq '/pkg')       { return reply($c, 200, $pkg) }
    if ($path eq '/json')      { return reply($c, 200, '{"errcode":0,"errmsg":"ok"}') }
    if ($path eq '/chunked')   { return reply($c, 200, '{"errcode": 0, "errmsg": "fine"}', chunked => 1) }
    if ($path eq '/pkgwrong')  { return reply($c, 200, "x$pkg") }
    if ($path =~ m{^/flaky500/(\d+)$})   { return $seen <= $1 ? reply($c, 500, 'ok') : reply($c, 200, 'ok') }
    if ($path =~ m{^/flakybody/(\d+)$})  { return $seen <= $1 ? reply($c, 200, 'received') : reply($c, 200, 'ok') }
    if ($path =~ m{^/flakyjson/(\d+)$})  { return $seen <= $1 ? reply($c, 200, '{"errcode":1}') : reply($c, 200, 'ok') }
    if ($path =~ m{^/flakyslow/(\d+)$})  { sleep 3.5 if $seen <= $1; return reply($c, 200, 'ok') }
    if ($path eq '/sleep')     { sleep 3.5; return reply($c, 200, 'ok') }
    if ($path eq '/hang')      { sleep 30; return }
    if ($path eq '/huge')      { return reply($c, 200, 'x' x 100_000) }
    if ($path eq '/killonce')  { sleep 20 if $seen <= 1; return reply($c, 200, 'ok') }
    if ($path eq '/auth') {
        my $p = $r{payload} || {};
        my $pw = $p->{passwd} // '';
        sleep 3.5 if $pw eq 'Slow-Pass-1';
        my $enc = yd_encrypt($app->{key}, '{"note":"checked"}', $env->{toApp});
        return reply($c, 200, $JSON->encode({ errcode => 0, errmsg => 'ok', encrypt => $enc }))
            if $pw eq 'Right-Pass-1' || $pw eq 'Slow-Pass-1';
        return reply($c, 200, '{"errcode":300001,"errmsg":"no such account","encrypt":""}')
            if ($p->{fromUser} // '') =~ /^ghost/;
        return reply($c, 200, '{"errcode":-1,"errmsg":"internal","encrypt":""}') if $pw eq 'Boom-Pass-1';
        return reply($c, 200, '{"errcode":0,"errmsg":"ok","encrypt":"bm90IHJlYWxseQ=="}') if $pw eq 'BadEnc-Pass-1';
        return reply($c, 200, '{"errcode":300002,"errmsg":"wrong password","encrypt":""}');
    }
    return reply($c, 404, 'no');
}

my @servers;

sub start_app_server {
    my (%o) = @_;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 128,
                                    ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
    my $port = $srv->sockport;
    my $pid = fork // die;
    if (!$pid) {
        $SIG{CHLD} = 'IGNORE';
        while (1) {
            my $c = $srv->accept or next;
            my $k = fork;
            if (defined $k && !$k) {
                close $srv;
                if ($o{tls}) {
                    IO::Socket::SSL->start_SSL($c, SSL_server => 1,
                        SSL_cert_file => "$RUN/secrets/tls.crt",
                        SSL_key_file => "$RUN/secrets/tls.key") or POSIX::_exit(0);
                }
                eval { handle($c); 1 } or do {
                    open my $e, '>>', "$DIR/errors"; print $e "$@\n"; close $e;
                };
                close $c;
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $srv;
    push @servers, $pid;
    return $port;
}

# a port where nothing listens
sub dead_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die;
    my $p = $s->sockport; close $s; return $p;
}

sub enqueue {
    my ($pk, $payload, $url, %o) = @_;
    my $p = $JSON->encode($payload) =~ s/'/''/gr =~ s/\\/\\\\/gr;
    my $u = defined $url ? "'$url'" : 'NULL';
    my $id = sql("INSERT INTO app_callbacks (app_pk, payload, url) VALUES ($pk, '$p', $u); "
                 . "SELECT LAST_INSERT_ID()");
    redis_cli('PUBLISH', 'yd:callback', $id) unless $o{no_publish};
    return $id;
}

sub row {
    my ($id) = @_;
    my ($r) = sql_rows("SELECT state, attempts, last_error, delivered_at IS NOT NULL "
                       . "FROM app_callbacks WHERE id = $id");
    return { state => $r->[0], attempts => $r->[1], last_error => $r->[2] // '', delivered => $r->[3] };
}

sub wait_until {
    my ($secs, $cond) = @_;
    my $end = time + $secs;
    while (time < $end) { return 1 if $cond->(); sleep 0.1 }
    return $cond->() ? 1 : 0;
}

sub reqs_for { my ($id) = @_; return requests(sub { $_[0]{payload} && ($_[0]{payload}{packageId} // '') eq "$id" }) }

END { kill 'KILL', @servers if @servers }

my $mark = error_log_mark();
my $port = start_app_server();
my $base = "http://127.0.0.1:$port";

# ---------------------------------------------------------------- crypto self-check

is(yd_signature('u7upckpiy635znb5', '1700000000', 'abc123', 'ENCRYPTED'),
   'd57a176f7e8bad8b6de7e908fa8323dfeb8c78c1', 'section 2.7 worked signature example');
{
    my ($p, $a) = yd_decrypt('AY2O92Lpyr4M2IOXT05NQG3eaXd72FlS/QZ1l4vGKsQ=',
        'v6805vKW2awcnEiXuLdBsJgkPWEbi0SmjoVvQjI6IxVkJU1Wtd31Rwr+8HORL4ZTqcNSzK7yunGfkaLyJ57LkS8dgAzQ+nF8RQd+ufQ/+0ZAjzGZQfBGOFbarxDFMhcp');
    is($p, '1700000000', 'the test\'s own AES decrypts the section 2.6 example');
    is($a, 'yd37D192E9F20E448192827A001A84D443', '... with its appId trailer');
}

# ---------------------------------------------------------------- acknowledgements

my ($pk, $app_id) = create_app("$base/ok");
my %ack;
for my $mode (qw(ok OK pkg json chunked)) {
    $ack{$mode} = enqueue($pk, { msgType => 'text', fromUser => 'alice', text => { content => "hi $mode" } },
                          $mode eq 'ok' ? undef : "$base/$mode");
}
my $own = enqueue($pk, { msgType => 'text', packageId => 'own-77', createTime => 1700000000,
                         text => { content => 'own id' } }, "$base/pkg");

ok(wait_until(10, sub { !grep { row($_)->{state} != 1 } values(%ack), $own }),
   'every acknowledgement form is accepted (ok, OK, packageId echo, errcode 0, chunked JSON)')
    or diag(explain({ map { $_ => row($ack{$_}) } keys %ack }));

for my $mode (sort keys %ack) {
    my $id = $ack{$mode};
    my @r = reqs_for($id);
    is(scalar @r, 1, "$mode: delivered once");
    my $r = $r[0] or next;
    ok($r->{sig_ok}, "$mode: msg_signature matches the section 2.7 rule with the app's token");
    is($r->{buin_is_int}, $BUIN, "$mode: toBuin is the int youdu_buin");
    is($r->{to_app}, $app_id, "$mode: toApp is the app");
    is($r->{trailer}, $app_id, "$mode: the plaintext ends with the app's id");
    ok($r->{pkg_is_string} && $r->{payload}{packageId} eq "$id", "$mode: packageId is the row id as a JSON string");
    ok($r->{ctime_is_int} && abs($r->{payload}{createTime} - time) < 60, "$mode: createTime is an int, now");
    like($r->{query}{timestamp}, qr/^\d{10}$/, "$mode: timestamp is unix seconds");
    like($r->{query}{nonce}, qr/^[a-z0-9]{8,}$/, "$mode: a nonce");
    is($r->{payload}{text}{content}, "hi $mode", "$mode: the producer's payload arrives");
    is($r->{host}, "127.0.0.1:$port", "$mode: Host header");
}
{
    my @r = requests(sub { $_[0]{payload} && ($_[0]{payload}{packageId} // '') eq 'own-77' });
    is(scalar @r, 1, "a producer's own packageId is kept, its echo acknowledges");
    is($r[0]{payload}{createTime}, 1700000000, "... and its own createTime");
}
sleep 2.5;   # two polls more
is(scalar(reqs_for($ack{$_})), 1, "$_: no second delivery after the ack") for sort keys %ack;

# ---------------------------------------------------------------- retries

# one app each, so that their attempts do not share the per-app bound
sub own_app { my ($p) = create_app("$base/ok"); return $p }
my %flaky = (flaky500 => enqueue(own_app(), { msgType => 'text' }, "$base/flaky500/3"),
             flakybody => enqueue(own_app(), { msgType => 'text' }, "$base/flakybody/1"),
             flakyjson => enqueue(own_app(), { msgType => 'text' }, "$base/flakyjson/1"),
             flakyslow => enqueue(own_app(), { msgType => 'text' }, "$base/flakyslow/1"),
             pkgwrong => enqueue(own_app(), { msgType => 'text' }, "$base/pkgwrong"));
my $refused = enqueue($pk, { msgType => 'text' }, 'http://127.0.0.1:' . dead_port() . '/x');
my $timeout = enqueue(own_app(), { msgType => 'text' }, "$base/sleep");

ok(wait_until(15, sub { !grep { row($flaky{$_})->{state} != 1 } qw(flaky500 flakybody flakyjson flakyslow) }),
   'a 500, a wrong body, a JSON errcode other than 0 and a timeout are retried until acknowledged')
    or diag(explain({ map { $_ => row($flaky{$_}) } keys %flaky }));
{
    my @r = reqs_for($flaky{flaky500});
    is(scalar @r, 4, 'flaky500: three failures, then the ack, then nothing more');
    is(row($flaky{flaky500})->{attempts}, 4, 'flaky500: four attempts counted');
    if (@r == 4) {
        my @gap = map { $r[$_]{t} - $r[$_ - 1]{t} } 1 .. 3;
        ok($gap[0] >= 0.9 && $gap[0] < 2.5, "first retry after about 1 s ($gap[0])");
        ok($gap[1] >= 1.9 && $gap[1] < 3.5, "second after about 2 s ($gap[1])");
        ok($gap[2] >= 3.9 && $gap[2] < 5.5, "third after about 4 s: the backoff doubles ($gap[2])");
    }
    is(scalar(reqs_for($flaky{flakybody})), 2, 'a 200 without an acknowledgement body is retried once here');
    is(scalar(reqs_for($flaky{flakyslow})), 2, 'a timed-out attempt is retried');
}

ok(wait_until(20, sub { row($refused)->{state} == 2 && row($timeout)->{state} == 2
                        && row($flaky{pkgwrong})->{state} == 2 }),
   'given up (state 2) after youdu_callback_retry_total')
    or diag(explain([row($refused), row($timeout), row($flaky{pkgwrong})]));
like(row($refused)->{last_error}, qr/refused/i, 'connection refused: last_error says so');
cmp_ok(row($refused)->{attempts}, '>=', 3, 'connection refused: retried before giving up');
like(row($timeout)->{last_error}, qr/timed out/, 'timeout: last_error says so');
cmp_ok(scalar(reqs_for($timeout)), '>=', 2, 'timeout: the app saw several attempts');
like(row($flaky{pkgwrong})->{last_error}, qr/HTTP 200: not an acknowledgement/, 'a wrong echo: last_error');
{
    my ($age) = sql("SELECT TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP()) FROM app_callbacks WHERE id = $refused");
    cmp_ok($age, '<=', 16, 'given up within the retry window plus one attempt');
}

# ---------------------------------------------------------------- a dead app does not hold back another

my ($pk_a) = create_app("$base/hang");
my ($pk_b, $app_b) = create_app("$base/ok");
my @hung = map { enqueue($pk_a, { msgType => 'text', n => $_ }, undef) } 1 .. 5;
ok(wait_until(5, sub { scalar(requests(sub { $_[0]{path} eq '/hang' && grep { $_[0]{payload}{packageId} eq $_ } @hung })) >= 2 }),
   'app A\'s hanging URL receives its first deliveries');
my $t0 = time;
my $bid = enqueue($pk_b, { msgType => 'text' }, undef);
ok(wait_until(4, sub { row($bid)->{state} == 1 }), 'app B is delivered while A hangs');
cmp_ok(time - $t0, '<', 3, 'promptly (' . sprintf('%.2f', time - $t0) . ' s)');
{
    # each attempt on A lasts the 2 s timeout: three starts within less
    # than that would be three in flight at once
    my @t = sort { $a <=> $b } map { $_->{t} }
            requests(sub { $_[0]{path} eq '/hang' && grep { $_[0]{payload}{packageId} eq $_ } @hung });
    my $over = grep { $t[$_ + 2] - $t[$_] < 1.8 } 0 .. $#t - 2;
    ok(@t >= 2 && !$over, 'app A never has more than youdu_callback_app_concurrency (2) deliveries in flight')
        or diag(explain(\@t));
}
sql("UPDATE app_callbacks SET state = 2, last_error = 'test cleanup' WHERE app_pk = $pk_a");

# ---------------------------------------------------------------- admin endpoints

{
    my $t = admin_token();
    my $j = json_ok('admin lists an app\'s callbacks', GET => "/admin/apps/$pk/callbacks?limit=100", undef, token => $t);
    my $n = sql("SELECT COUNT(*) FROM app_callbacks WHERE app_pk = $pk");
    is($j->{total}, $n, 'total counts every row');
    my ($e) = grep { $_->{id} == $refused } @{ $j->{callbacks} || [] };
    ok($e && $e->{state} == 2 && $e->{last_error} =~ /refused/i && $e->{attempts} >= 3
       && $e->{url} =~ m{^http://127\.0\.0\.1:\d+/x$} && $e->{payload}{msgType} eq 'text'
       && $e->{created_at} =~ /Z$/ && !defined $e->{delivered_at}, 'a given-up row: state, error, attempts, url, payload, times')
        or diag(explain($e));
    my ($d) = grep { $_->{id} == $ack{ok} } @{ $j->{callbacks} || [] };
    ok($d && $d->{state} == 1 && $d->{delivered_at} =~ /Z$/ && !defined $d->{url}, 'a delivered row');

    $j = json_ok('state filter', GET => "/admin/apps/$pk/callbacks?state=2", undef, token => $t);
    ok(@{ $j->{callbacks} } && !grep({ $_->{state} != 2 } @{ $j->{callbacks} }), 'only given-up rows');
    is($j->{total}, sql("SELECT COUNT(*) FROM app_callbacks WHERE app_pk = $pk AND state = 2"), 'filtered total');
    $j = json_ok('paging', GET => "/admin/apps/$pk/callbacks?limit=2&offset=1", undef, token => $t);
    is(scalar @{ $j->{callbacks} }, 2, 'limit applies');
    json_err('bad state filter', 400, 40008, GET => "/admin/apps/$pk/callbacks?state=7", undef, token => $t);
    json_err('unknown app', 404, 40401, GET => "/admin/apps/999999/callbacks", undef, token => $t);

    my ($uid, $acct, $pw) = create_user();
    my $ut = login_as($acct, $pw);
    json_err('an employee may not list callbacks', 403, 40300, GET => "/admin/apps/$pk/callbacks", undef, token => $ut);
    json_err('nor retry them', 403, 40300, POST => "/admin/apps/$pk/callbacks/$refused/retry", undef, token => $ut);
    json_err('no token', 401, 40100, GET => "/admin/apps/$pk/callbacks", undef);

    json_err('a delivered row is not retried', 409, 40900, POST => "/admin/apps/$pk/callbacks/$ack{ok}/retry", undef, token => $t);
    my $pending = enqueue($pk, { msgType => 'text' }, 'http://127.0.0.1:' . dead_port() . '/y');
    wait_until(3, sub { row($pending)->{attempts} >= 1 });
    json_err('a pending row is not retried (it may be in flight)', 409, 40900,
             POST => "/admin/apps/$pk/callbacks/$pending/retry", undef, token => $t);
    json_err('unknown callback', 404, 40401, POST => "/admin/apps/$pk/callbacks/99999999/retry", undef, token => $t);
    json_err('a callback of another app', 404, 40401, POST => "/admin/apps/$pk_b/callbacks/$refused/retry", undef, token => $t);

    sql("UPDATE app_callbacks SET url = '$base/ok' WHERE id = $refused");
    $j = json_ok('retry a given-up row', POST => "/admin/apps/$pk/callbacks/$refused/retry", undef, token => $t);
    is($j->{state}, 0, 'it is pending again');
    ok(wait_until(4, sub { row($refused)->{state} == 1 }), 'and delivered at once');
    is(scalar(reqs_for($refused)), 1, 'exactly once');
    is(sql("SELECT COUNT(*) FROM audit_log WHERE action = 'callback.retry' AND target = '$refused'"), 1, 'audited');
    sql("UPDATE app_callbacks SET state = 2 WHERE id = $pending");
}

# ---------------------------------------------------------------- https

{
    my $tport = start_app_server(tls => 1);
    my $ok = enqueue($pk, { msgType => 'text' }, "https://localhost:$tport/ok");
    ok(wait_until(6, sub { row($ok)->{state} == 1 }), 'https: delivered (name looked up, certificate checked)')
        or diag(explain(row($ok)));
    my @r = reqs_for($ok);
    ok(@r == 1 && $r[0]{sig_ok}, 'https: the app got it once, signed');
    my $bad = enqueue($pk, { msgType => 'text' }, "https://127.0.0.1:$tport/ok");
    ok(wait_until(6, sub { row($bad)->{attempts} >= 1 && row($bad)->{last_error} ne '' }), 'https by address: an attempt');
    like(row($bad)->{last_error}, qr/certificate does not match/, 'a certificate for another name is refused');
    sql("UPDATE app_callbacks SET state = 2 WHERE id = $bad");
    my $huge = enqueue($pk, { msgType => 'text' }, "$base/huge");
    ok(wait_until(6, sub { row($huge)->{last_error} ne '' }), 'a huge reply: an attempt');
    like(row($huge)->{last_error}, qr/response too large/, 'the reply is capped at 64 KiB');
    sql("UPDATE app_callbacks SET state = 2 WHERE id = $huge");
    my $noname = enqueue($pk, { msgType => 'text' }, "http://no-such-host.invalid:$port/ok");
    ok(wait_until(8, sub { row($noname)->{last_error} ne '' }), 'an unknown host name: an attempt');
    like(row($noname)->{last_error}, qr/cannot resolve/, 'last_error says the name does not resolve');
    sql("UPDATE app_callbacks SET state = 2 WHERE id = $noname");
}

# ---------------------------------------------------------------- third-party login

{
    my $org_key = new_key();
    my $org_token = 'orgtoken12345678';
    sql("UPDATE apps SET aes_key = '$org_key', callback_url = '$base/auth', callback_token = '$org_token' "
        . "WHERE app_id = 'sysOrgAssistant'");
    $apps{sysOrgAssistant} = { key => $org_key, token => $org_token };
    save_apps();

    my ($uid, $acct) = create_user();
    sql("UPDATE users SET auth_type = 2 WHERE id = $uid");

    my ($st, $j) = api(POST => '/auth/login', { account => $acct, password => 'Right-Pass-1' });
    ok($st == 200 && $j->{access_token}, 'third-party login: the org app accepts (errcode 0)');
    my @r = requests(sub { $_[0]{path} eq '/auth' && $_[0]{payload} && ($_[0]{payload}{fromUser} // '') eq $acct });
    is(scalar @r, 1, 'one auth callback');
    my $p = $r[0]{payload} || {};
    ok($r[0]{sig_ok} && $r[0]{trailer} eq 'sysOrgAssistant' && $r[0]{to_app} eq 'sysOrgAssistant'
       && $r[0]{buin_is_int} == $BUIN, 'to the org app, signed, encrypted with its key');
    is_deeply([$p->{msgType}, $p->{passwd}], ['auth', 'Right-Pass-1'], 'msgType auth with the plain password');
    ok($r[0]{pkg_is_string} && $r[0]{ctime_is_int}, 'packageId string, createTime int');

    json_err('300002: wrong password refused', 401, 40104,
             POST => '/auth/login', { account => $acct, password => 'Wrong-Pass-1' });
    is(sql("SELECT failed_logins FROM users WHERE id = $uid"), 1, 'the failure counts toward the lockout');
    my $e = json_err('timeout: a clear error', 503, 50302,
                     POST => '/auth/login', { account => $acct, password => 'Slow-Pass-1' });
    like($e->{errmsg}, qr/authentication service.*in time/, 'the message says the service did not answer');
    $e = json_err('another errcode: unavailable', 503, 50302,
                  POST => '/auth/login', { account => $acct, password => 'Boom-Pass-1' });
    like($e->{errmsg}, qr/errcode -1/, '... with the code the service gave');
    $e = json_err('a reply whose encrypt does not decrypt: unavailable', 503, 50302,
                  POST => '/auth/login', { account => $acct, password => 'BadEnc-Pass-1' });
    like($e->{errmsg}, qr/does not decrypt/, '... and says so');

    my ($gid, $ghost) = create_user(account => uniq('ghost'));
    sql("UPDATE users SET auth_type = 2 WHERE id = $gid");
    json_err('300001: no such account there, refused', 401, 40104,
             POST => '/auth/login', { account => $ghost, password => 'Right-Pass-2' });

    # lockout still applies: 5 attempts in the test stack
    json_err("wrong again", 401, 40104, POST => '/auth/login', { account => $acct, password => 'Wrong-Pass-1' })
        for 1 .. 3;
    json_err('locked after the budget', 401, 40105, POST => '/auth/login', { account => $acct, password => 'Wrong-Pass-1' });
    my $before = scalar(requests(sub { $_[0]{path} eq '/auth' }));
    json_err('a locked account is refused without asking the app', 401, 40105,
             POST => '/auth/login', { account => $acct, password => 'Right-Pass-1' });
    is(scalar(requests(sub { $_[0]{path} eq '/auth' })), $before, 'no callback for a locked account');

    my ($nid, $nacct) = create_user();
    sql("UPDATE users SET auth_type = 2 WHERE id = $nid");
    sql("UPDATE apps SET callback_url = '' WHERE app_id = 'sysOrgAssistant'");
    $e = json_err('no callback URL configured: a clear error', 503, 50302,
                  POST => '/auth/login', { account => $nacct, password => 'Right-Pass-1' });
    like($e->{errmsg}, qr/no callback URL/, 'the message says why');
    sql("UPDATE apps SET callback_url = 'http://127.0.0.1:" . dead_port() . "/auth' WHERE app_id = 'sysOrgAssistant'");
    json_err('the service is down: a clear error', 503, 50302,
             POST => '/auth/login', { account => $nacct, password => 'Right-Pass-1' });
    is(sql("SELECT failed_logins FROM users WHERE id = $nid"), 0, 'an unavailable service is not a wrong password');
    # the built-in app as it came (other tests expect it without a key)
    sql("UPDATE apps SET aes_key = NULL, callback_url = '', callback_token = '' WHERE app_id = 'sysOrgAssistant'");
}

# ---------------------------------------------------------------- password_md5 upgrade

{
    my ($uid, $acct) = create_user();
    my $pw = 'Md5-Pass-9x';
    sql("UPDATE users SET password_hash = NULL, password_md5 = '" . md5_hex($pw) . "' WHERE id = $uid");
    json_err('md5 account: a wrong password is refused', 401, 40104,
             POST => '/auth/login', { account => $acct, password => 'not-it' });
    my ($st, $j) = api(POST => '/auth/login', { account => $acct, password => $pw });
    ok($st == 200 && $j->{access_token}, 'a password matching password_md5 signs in');
    my ($hash, $md5) = @{ (sql_rows("SELECT password_hash, IFNULL(password_md5, 'NULL') FROM users WHERE id = $uid"))[0] };
    like($hash, qr/^\$argon2id\$/, 'it is now stored as Argon2id');
    is($md5, 'NULL', 'and password_md5 is cleared');
    ($st, $j) = api(POST => '/auth/login', { account => $acct, password => $pw });
    ok($st == 200 && $j->{access_token}, 'the next sign-in uses the new hash');
    my ($uid2, $acct2) = create_user();
    sql("UPDATE users SET password_hash = NULL, password_md5 = '" . uc(md5_hex('Upper-Case-1')) . "' WHERE id = $uid2");
    ($st) = api(POST => '/auth/login', { account => $acct2, password => 'Upper-Case-1' });
    is($st, 200, 'an upper-case hex MD5 matches too');
}

# ---------------------------------------------------------------- a worker killed mid-delivery

{
    my ($kpk) = create_app("$base/killonce");
    my $id = enqueue($kpk, { msgType => 'text', note => 'kill' }, undef);
    ok(wait_until(5, sub { scalar(reqs_for($id)) >= 1 }), 'the first attempt reaches the app (which stalls)');
    my $ss = `ss -tnpH state established '( dport = :$port )'`;
    my ($wpid) = $ss =~ /"nginx",pid=(\d+)/;
    ok($wpid, "the delivering worker is found ($wpid)") or diag($ss);
    kill 'KILL', $wpid if $wpid;
    ok(wait_until(20, sub { row($id)->{state} == 1 }), 'after the lease expires the row is delivered anyway')
        or diag(explain(row($id)));
    cmp_ok(scalar(reqs_for($id)), '>=', 2, 'at least once: the app saw it again');
    ok(wait_until(10, sub { (api(GET => '/ping'))[0] == 200 }), 'nginx serves again');
}

# ---------------------------------------------------------------- after a reload

{
    is(nginx_cmd('-s', 'reload'), 0, 'nginx reloads');
    sleep 1.5;
    my $tport = start_app_server(tls => 1);
    my ($rpk) = create_app("$base/ok");
    my @ids = (enqueue($rpk, { msgType => 'text' }, undef),
               enqueue($rpk, { msgType => 'text' }, "https://localhost:$tport/json"));
    ok(wait_until(10, sub { !grep { row($_)->{state} != 1 } @ids }),
       'after a reload the new workers deliver, over http and https')
        or diag(explain([map { row($_) } @ids]));
    is(scalar(reqs_for($_)), 1, "callback $_: once") for @ids;
}

is(-s "$DIR/errors" ? do { open my $e, '<', "$DIR/errors"; local $/; <$e> } : '', '',
   'the test app had no trouble with any request');

my $log = error_log_since($mark);
like($log, qr/\[warn\].*callback $timeout to app "yd\w+" given up after \d+ attempts: timed out/,
     'giving up is logged as a warning');
my @alerts = grep { !/exited on signal 9/ } ($log =~ /^.*\[(?:alert|crit|emerg)\].*$/mg);
is(scalar @alerts, 0, 'no alert in the error log (but the killed worker)') or diag(join "\n", @alerts);
opendir my $ad, "$RUN/log/asan"; my @asan = grep { !/^\./ } readdir $ad;
is(scalar @asan, 0, 'no AddressSanitizer report');

done_testing();
