package Youdu::Test;

# Test harness: talks to the private stack that `./build.sh test` started
# (MariaDB, Redis, nginx with the module) over real sockets.  A missing
# server is a failure, never a skip.

use strict;
use warnings;
use utf8;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(api api_raw admin_token login_as sql sql_rows redis_cli
                 create_user create_dept uniq json_ok json_err
                 error_log_since error_log_mark nginx_cmd run_dir
                 $URL $JSON);

our $URL = $ENV{TEST_YOUDU_URL}
    or BAIL_OUT("TEST_YOUDU_URL is not set: run the tests through ./build.sh test");
our $JSON = JSON::PP->new->utf8->canonical;

my $RUN = $ENV{TEST_YOUDU_RUN_DIR} or BAIL_OUT("TEST_YOUDU_RUN_DIR is not set");
my $ADMIN_PASSWORD = 'Admin-Pass-2026';

sub run_dir { $RUN }

my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

# api(METHOD, PATH, BODY, %opt) -> (status, decoded JSON or undef, raw body, headers)
# BODY: a Perl structure (sent as JSON) or undef.  opt: token, raw (bytes to
# send as is), type (Content-Type), headers (hashref).
sub api {
    my ($method, $path, $body, %opt) = @_;
    my %h = %{ $opt{headers} || {} };
    $h{Authorization} = "Bearer $opt{token}" if defined $opt{token};
    my $content;
    if (defined $opt{raw}) {
        $content = $opt{raw};
        $h{'Content-Type'} = $opt{type} // 'application/json';
    } elsif (defined $body) {
        $content = $JSON->encode($body);
        $h{'Content-Type'} = $opt{type} // 'application/json';
    }
    my $url = $path =~ m{^https?://} ? $path : "$URL/api/v1$path";
    my $res = $http->request($method, $url,
                             { headers => \%h, (defined $content ? (content => $content) : ()) });
    my $json;
    if (($res->{headers}{'content-type'} // '') =~ m{application/json}) {
        $json = eval { $JSON->decode($res->{content}) };
    }
    return ($res->{status}, $json, $res->{content}, $res->{headers});
}

sub api_raw { api(@_) }

# a successful call: status 2xx and errcode 0; returns the JSON
sub json_ok {
    my ($name, @call) = @_;
    my ($st, $j, $raw) = api(@call);
    my $ok = $st >= 200 && $st < 300 && $j && $j->{errcode} == 0;
    ok($ok, $name) or diag("status $st: " . substr($raw // '', 0, 500));
    return $j || {};
}

# an error call: expected HTTP status and errcode, and an errmsg to read
sub json_err {
    my ($name, $status, $errcode, @call) = @_;
    my ($st, $j, $raw) = api(@call);
    my $ok = $st == $status && $j && $j->{errcode} == $errcode
             && defined $j->{errmsg} && length $j->{errmsg};
    ok($ok, $name) or diag("want $status/$errcode, got status $st: " . substr($raw // '', 0, 500));
    return $j || {};
}

sub login_as {
    my ($account, $password, %opt) = @_;
    my ($st, $j, $raw) = api(POST => '/auth/login',
        { account => $account, password => $password,
          device_type => $opt{device_type} // 'web',
          (defined $opt{device_name} ? (device_name => $opt{device_name}) : ()) });
    return $j if $opt{raw};
    die "login $account failed: $st $raw" unless $st == 200 && $j->{access_token};
    return wantarray ? ($j->{access_token}, $j) : $j->{access_token};
}

# the super admin's token; the first caller replaces the one-time password
my $admin_token;
sub admin_token {
    return $admin_token if $admin_token;
    my $j = login_as('admin', $ADMIN_PASSWORD, raw => 1);
    if (!$j || !$j->{access_token}) {
        my $first = $ENV{TEST_YOUDU_ADMIN_PASSWORD};
        if (!$first && open my $f, '<', "$RUN/secrets/admin_initial_password") {
            $first = <$f>; chomp $first;
        }
        my ($t) = login_as('admin', $first);
        my ($st, $r, $raw) = api(POST => '/auth/password',
            { old_password => $first, new_password => $ADMIN_PASSWORD }, token => $t);
        die "admin password change failed: $st $raw" unless $st == 200;
        $j = login_as('admin', $ADMIN_PASSWORD, raw => 1);
    }
    die "admin login failed" unless $j && $j->{access_token};
    return $admin_token = $j->{access_token};
}

my $uniq = 0;
sub uniq { my $p = shift // 'u'; return sprintf('%s%d%04d', $p, $$, ++$uniq) }

# creates an employee through the admin API; returns (id, account, password)
sub create_user {
    my (%f) = @_;
    my $account = $f{account} // uniq('user');
    my $password = delete $f{password} // 'Passw0rd-' . $account;
    my $j = api_ok_or_die(POST => '/admin/users',
        { account => $account, name => $f{name} // "Test $account",
          password => $password, departments => $f{departments} // [{ dept_id => 0 }],
          %f, account => $account }, token => admin_token());
    return ($j->{user}{id}, $account, $password);
}

sub create_dept {
    my (%f) = @_;
    my $j = api_ok_or_die(POST => '/admin/departments',
        { name => $f{name} // uniq('dept'), parent_id => $f{parent_id} // 0, %f },
        token => admin_token());
    return $j->{department}{id};
}

sub api_ok_or_die {
    my ($st, $j, $raw) = api(@_);
    die "$_[0] $_[1] failed: $st $raw" unless $st >= 200 && $st < 300 && $j && $j->{errcode} == 0;
    return $j;
}

# direct database access, to check what was (not) written
sub sql {
    my ($q) = @_;
    my $sock = $ENV{TEST_YOUDU_DB_SOCK} or die "TEST_YOUDU_DB_SOCK not set";
    open(my $fh, '-|', 'mariadb', '--no-defaults', '-uroot', "--socket=$sock",
         '-N', '-B', 'youdu', '-e', $q) or die "mariadb: $!";
    local $/;
    my $out = <$fh>;
    close $fh or die "query failed: $q";
    $out //= '';
    $out =~ s{\n\z}{};   # chomp is a no-op while $/ is undef
    return $out;
}

sub sql_rows {
    my $out = sql(@_);
    return map { [split /\t/] } grep { length } split /\n/, $out;
}

sub redis_cli {
    my $port = $ENV{TEST_YOUDU_REDIS_PORT} or die "TEST_YOUDU_REDIS_PORT not set";
    open(my $fh, '-|', 'redis-cli', '-p', $port, @_) or die "redis-cli: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s{\n\z}{};
    return $out;
}

# error log checks: remember the size now, read what was added later
sub error_log_mark { return -s "$RUN/log/error.log" // 0 }

sub error_log_since {
    my ($mark) = @_;
    open my $f, '<', "$RUN/log/error.log" or return '';
    seek $f, $mark, 0;
    local $/;
    return <$f> // '';
}

sub nginx_cmd {
    my @args = @_;
    my @pre = $ENV{TEST_YOUDU_ASAN}
        ? ('env', 'LD_PRELOAD=' . `gcc -print-file-name=libasan.so` =~ s/\s+$//r,
           "ASAN_OPTIONS=detect_leaks=0:log_path=$RUN/log/asan/asan")
        : ();
    return system(@pre, '/usr/sbin/nginx', '-p', $RUN, '-c', "$RUN/nginx.conf", @args);
}

1;
