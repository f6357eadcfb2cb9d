package Youdu::Accounts;

# Fixtures for the account tests: users written straight into the database
# (independent of the user-management API), and sign-ins that do not run
# into the per-IP login limit shared by every test on 127.0.0.1.

use strict;
use warnings;
use Exporter 'import';
use MIME::Base64 qw(encode_base64url);
use Digest::SHA qw(hmac_sha256);
use IO::Socket::INET;
use Youdu::Test;

our @EXPORT = qw(db_user hash_password signin reset_login_limit forge_jwt
                 count_rows raw_http $IP_KEY);

our $IP_KEY = 'yd:login:ip:127.0.0.1';

sub reset_login_limit { redis_cli('DEL', $IP_KEY) }

# an Argon2id hash with the server's parameters, made by the argon2 CLI
sub hash_password {
    my ($pw) = @_;
    my $salt = join '', map { ('a'..'z', 0..9)[rand 36] } 1..16;
    open(my $fh, '-|', 'sh', '-c',
         'printf "%s" "$1" | argon2 "$2" -id -t 2 -k 19456 -p 1 -e',
         'sh', $pw, $salt) or die "argon2: $!";
    my $h = <$fh>;
    close $fh or die "argon2 failed";
    chomp $h;
    return $h;
}

# db_user(role => 0, password => '...', enable_state => 1, must_change => 0)
# -> (id, account, password); password undef in opts: a random one
sub db_user {
    my (%o) = @_;
    my $account = $o{account} // uniq('acct');
    my $pw = exists $o{password} ? $o{password} : "Pw-$account-9";
    my $hash = defined $pw ? "'" . hash_password($pw) . "'" : 'NULL';
    my $role = $o{role} // 0;
    my $state = $o{enable_state} // 1;
    my $mc = $o{must_change} ? 1 : 0;
    sql("INSERT INTO users (account, name, role, enable_state, password_hash, "
        . "must_change_password) VALUES ('$account', 'Name $account', $role, "
        . "$state, $hash, $mc)");
    my $id = sql("SELECT id FROM users WHERE account = '$account'");
    sql("INSERT INTO user_depts (user_id, dept_id) VALUES ($id, 0)");
    return ($id, $account, $pw);
}

# a successful sign-in, the IP budget reset first; returns (token, reply)
sub signin {
    my ($account, $pw, %o) = @_;
    reset_login_limit();
    my ($st, $j, $raw) = api(POST => '/auth/login',
        { account => $account, password => $pw,
          (exists $o{device_type} && !defined $o{device_type}
           ? () : (device_type => $o{device_type} // 'web')),
          (defined $o{device_name} ? (device_name => $o{device_name}) : ()) },
        headers => $o{headers} || {});
    die "login $account failed: $st $raw" unless $st == 200 && $j->{access_token};
    return wantarray ? ($j->{access_token}, $j) : $j->{access_token};
}

# an HS256 JWT signed with the server's key (or another one)
sub forge_jwt {
    my ($claims, %o) = @_;
    my $key = $o{key};
    if (!defined $key) {
        open my $f, '<', run_dir() . '/secrets/jwt.key' or die "jwt.key: $!";
        local $/;
        $key = <$f>;
        $key =~ s{\s+\z}{};
    }
    my $hdr = $o{header} // { alg => 'HS256', typ => 'JWT' };
    my $h = encode_base64url($JSON->encode($hdr));
    my $p = encode_base64url($JSON->encode($claims));
    my $sig = ($hdr->{alg} // '') eq 'none' ? ''
              : encode_base64url(hmac_sha256("$h.$p", $key));
    return "$h.$p.$sig";
}

sub count_rows {
    my ($table, $where) = @_;
    return sql("SELECT COUNT(*) FROM $table" . (defined $where ? " WHERE $where" : ''));
}

# raw_http(BYTES) -> (status, body): for requests HTTP::Tiny refuses to send
sub raw_http {
    my ($req) = @_;
    my ($host, $port) = $URL =~ m{^http://([^:/]+):(\d+)} or die "bad URL $URL";
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 10)
        or die "connect: $!";
    binmode $s;
    print $s $req;
    local $/;
    my $res = <$s> // '';
    close $s;
    my ($status) = $res =~ m{^HTTP/1\.\d (\d{3})};
    my ($body) = $res =~ m{\r\n\r\n(.*)\z}s;
    return ($status // 0, $body // '');
}

1;
