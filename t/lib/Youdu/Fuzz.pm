package Youdu::Fuzz;

# Inputs for the robustness test (t/095-fuzz.t): the REST routes as the
# route tables in ngx_youdu_module/src/ngx_http_youdu_*.c declare them, the
# fields their handlers read (yd_json_* / yd_query_* calls), and generators
# of malformed bodies, path ids and query strings.  Deterministic: only
# srand()-seeded rand() chooses anything.

use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use Time::HiRes qw(time);
use IO::Socket::INET;
use JSON::PP;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

our @EXPORT = qw(fuzz_routes malformed_bodies field_bodies path_ids
                 query_strings timed_request raw_short_body leaves_api
                 normal_path);
our @EXPORT_OK = (@EXPORT, qw(field_values encode_body));

# method, pattern, auth (none/user/admin), body fields (name => kind),
# query names.  Kinds: str, int, bool, conf (array of names), depts.
my @ROUTES = (
    [GET    => '/debug/sleep',                   'none',  {}, [qw(ms)]],
    [GET    => '/ping',                          'none',  {}, []],
    [GET    => '/admin/status',                  'admin', {}, []],
    [POST   => '/auth/login',                    'none',
        { account => 'str', password => 'str', device_type => 'str', device_name => 'str' }, []],
    [POST   => '/auth/refresh',                  'none',
        { refresh_token => 'str', device_type => 'str', device_name => 'str' }, []],
    [POST   => '/auth/logout',                   'user',  {}, []],
    [GET    => '/auth/me',                       'user',  {}, []],
    [POST   => '/auth/password',                 'user',
        { old_password => 'str', new_password => 'str' }, []],
    [GET    => '/auth/sessions',                 'user',  {}, []],
    [DELETE => '/auth/sessions/:id',             'user',  {}, []],
    [POST   => '/auth/sessions/:id/wipe',        'user',  {}, []],
    [GET    => '/auth/login-log',                'user',  {}, [qw(offset limit account result)]],
    [GET    => '/org/departments',               'user',  {}, [qw(offset limit)]],
    [GET    => '/org/departments/:id',           'user',  {}, [qw(offset limit)]],
    [GET    => '/org/users',                     'user',  {}, [qw(offset limit q dept recursive)]],
    [GET    => '/org/users/:id',                 'user',  {}, []],
    [GET    => '/org/version',                   'user',  {}, []],
    [GET    => '/org/changes',                   'user',  {}, [qw(since limit)]],
    [GET    => '/org/snapshot',                  'user',  {}, []],
    [POST   => '/admin/departments',             'admin',
        { id => 'int', name => 'str', parent_id => 'int', sort_id => 'int', alias => 'str' }, []],
    [PATCH  => '/admin/departments/:id',         'admin',
        { id => 'int', name => 'str', parent_id => 'int', sort_id => 'int', alias => 'str' }, []],
    [DELETE => '/admin/departments/:id',         'admin', {}, []],
    [POST   => '/admin/users',                   'admin', { user_fields() }, []],
    [PATCH  => '/admin/users/:id',               'admin', { user_fields() }, []],
    [DELETE => '/admin/users/:id',               'admin', {}, []],
    [POST   => '/admin/users/:id/password',      'admin', { password => 'str', must_change => 'bool' }, []],
    [POST   => '/admin/users/:id/unlock',        'admin', {}, []],
    [GET    => '/admin/users/:id/sessions',      'admin', {}, []],
    [DELETE => '/admin/users/:id/sessions',      'admin', {}, []],
    [DELETE => '/admin/users/:id/sessions/:sid', 'admin', {}, []],
    [POST   => '/admin/users/:id/sessions/:sid/wipe', 'admin', {}, []],
    [POST   => '/admin/users/:id/wipe',          'admin', {}, []],
    # preferences: the groups are objects (the depts kind throws every shape)
    [GET    => '/me/preferences',                'user',  {}, []],
    [PUT    => '/me/preferences',                'user',
        { dnd => 'depts', notify => 'depts', language => 'str', lock => 'depts' }, []],
    [GET    => '/admin/login-log',               'admin', {}, [qw(offset limit account result)]],
    [GET    => '/admin/audit-log',               'admin', {}, [qw(offset limit actor action)]],
    # import: the rows are arrays of objects; "depts" fuzzes arrays of such
    [POST   => '/admin/import',                  'admin',
        { departments => 'depts', users => 'depts' }, [qw(mode dry_run)]],
    [GET    => '/admin/export',                  'admin', {}, [qw(format)]],
    # messaging (ids that match no conversation: the checks before the writes)
    [POST   => '/conversations',                 'user',
        { kind => 'str', user_id => 'int', user_ids => 'conf', name => 'str' }, []],
    [GET    => '/conversations',                 'user',  {}, [qw(offset limit)]],
    [GET    => '/conversations/:id',             'user',  {}, [qw(offset limit)]],
    [PATCH  => '/conversations/:id',             'user',  { name => 'str' }, []],
    [DELETE => '/conversations/:id',             'user',  {}, []],
    [POST   => '/conversations/:id/members',     'user',  { user_ids => 'conf' }, []],
    [DELETE => '/conversations/:id/members/:uid', 'user', {}, []],
    [POST   => '/conversations/:id/admins',      'user',  { user_id => 'int' }, []],
    [DELETE => '/conversations/:id/admins/:uid', 'user',  {}, []],
    [PUT    => '/conversations/:id/settings',    'user',  { muted => 'bool', pinned => 'bool' }, []],
    [POST   => '/conversations/:id/messages',    'user',
        { client_msg_id => 'str', kind => 'str', text => 'str', mentions => 'conf',
          mention_all => 'bool', quote_seq => 'int', file_id => 'int' }, []],
    [GET    => '/conversations/:id/messages',    'user',  {}, [qw(after before limit)]],
    [POST   => '/conversations/:id/read',        'user',  { seq => 'int' }, []],
    [GET    => '/conversations/:id/messages/:seq/reads', 'user', {}, []],
    [POST   => '/conversations/:id/messages/:seq/recall', 'user', {}, []],
    [POST   => '/conversations/:id/forward',     'user',
        { client_msg_id => 'str', from_conv_id => 'int', seqs => 'conf', title => 'str' }, []],
    [GET    => '/conversations/:id/messages/:seq/forward', 'user', {}, [qw(offset limit)]],
    [POST   => '/conversations/:id/typing',      'user',  {}, []],
    [POST   => '/conversations/:id/enter',       'user',  {}, []],
    [GET    => '/apps/notices',                  'user',  {}, []],
    [GET    => '/presence',                      'user',  {}, [qw(user_ids)]],
    # files: the body is the file itself (any bytes); downloads take a token
    # or a signed URL's query
    [POST   => '/files',                         'user',  {}, [qw(name)]],
    [GET    => '/files/:id',                     'user',  {}, [qw(uid exp sig)]],
    [GET    => '/files/:id/thumb',               'user',  {}, [qw(uid exp sig)]],
    [GET    => '/files/:id/url',                 'user',  {}, []],
    # avatars: the body is the image (any bytes)
    [GET    => '/org/users/:id/avatar',          'user',  {}, [qw(size)]],
    [PUT    => '/me/avatar',                     'user',  {}, []],
    [POST   => '/me/avatar',                     'user',  {}, []],
    [PUT    => '/admin/users/:id/avatar',        'admin', {}, []],
    [POST   => '/admin/users/:id/avatar',        'admin', {}, []],
    # open-platform apps ("scope" is an object: the depts kind throws arrays
    # and objects of every shape at it)
    [GET    => '/admin/apps',                    'admin', {}, [qw(offset limit q)]],
    [POST   => '/admin/apps',                    'admin', { app_fields() }, []],
    [GET    => '/admin/apps/:id',                'admin', {}, []],
    [PATCH  => '/admin/apps/:id',                'admin', { app_fields() }, []],
    [DELETE => '/admin/apps/:id',                'admin', {}, []],
    [POST   => '/admin/apps/:id/rotate-key',     'admin', {}, []],
    [POST   => '/admin/apps/:id/rotate-callback-token', 'admin', {}, []],
    [GET    => '/apps',                          'user',  {}, []],
    # the callback queue of an app (ids that match no app or row)
    [GET    => '/admin/apps/:id/callbacks',      'admin', {}, [qw(offset limit state)]],
    [POST   => '/admin/apps/:id/callbacks/:cbid/retry', 'admin', {}, []],
    # single sign-on tokens for the app portal
    [POST   => '/sso/token',                     'user',  { app_id => 'str' }, []],
);

sub app_fields {
    return (name => 'str', description => 'str', callback_url => 'str', home_url => 'str',
            logo_file_id => 'int', enabled => 'bool', scope => 'depts', rights => 'int');
}

sub user_fields {
    return (account => 'str', name => 'str', gender => 'int', mobile => 'str',
            phone => 'str', email => 'str', title => 'str', enable_state => 'int',
            role => 'int', confidential => 'conf', departments => 'depts',
            password => 'str');
}

sub fuzz_routes {
    return map { { method => $_->[0], pattern => $_->[1], auth => $_->[2],
                   fields => $_->[3], query => $_->[4] } } @ROUTES;
}

my $JSON = JSON::PP->new->utf8->canonical;

# whole bodies that are not a usable JSON object
sub malformed_bodies {
    my $deep_obj = ('{"a":' x 10000) . '1' . ('}' x 10000);
    my $deep_arr = ('[' x 10000) . (']' x 10000);
    return (
        '{"a":', '{"a":1}xyz', '{"a":1}{"b":2}', '{', '}', '{"a" 1}', "{'a':1}",
        '{"a":1,}', $deep_obj, $deep_arr, '{"n":1e400}', '{"n":-1e400}', '{"n":NaN}',
        '{"n":Infinity}', '{"n":-0}', '{"n":-0.0}', '{"a":1,"a":2}', '[]', '[{}]',
        '"str"', '42', 'null', 'true', ' ', "\xEF\xBB\xBF{}", "{\"a\":\"\xff\"}",
        "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", '{"a":"\ud800"}',
        "{\"a\":\"x\x00y\"}", "{}\x00", '{"a":"\u0000"}', "\x00", '{"a":"' . ('x' x 100) ,
        '{"' . ('k' x 10000) . '":1}',
    );
}

# values of every wrong type and every awkward shape for one field
sub field_values {
    my ($kind) = @_;
    my @common = ('s', 0, 1, -1, JSON::PP::true, JSON::PP::false, undef, [], {},
                  [1, 2], { a => 1 }, 1.5);
    my @str = ('', ' ', 'x' x 10000, "a\x01b", "a\nb", "a\x7fb", "\x{0}", "nul\x{0}in",
               "\x{1F600}\x{1F680}", "\x{FEFF}", 'x' x 65, "\x{4E2D}" x 70, '/', '***', '@',
               'a@', '@b', '+123-456', "\x{202E}rtl");
    my @int = (2147483647, 2147483648, -2147483648, -2147483649, '9223372036854775807',
               '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
               '1e400', '-0', '1.0', '100000000000000000000000');
    # raw JSON text (scalar refs): numbers beyond what Perl keeps, bytes
    # that are not UTF-8 inside a string
    my @raw = (@int, "\"\xff\xfe\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"a\x00b\"",
               "\"\xf4\x90\x80\x80\"", '"\ud83d"');
    return (@common, @str, map { my $t = $_; \$t } @raw);
}

# encodes a body, putting raw number text where a scalar ref stands
sub encode_body {
    my ($obj) = @_;
    my %raw;
    my $n = 0;
    my $walk;
    $walk = sub {
        my ($v) = @_;
        if (ref $v eq 'SCALAR') { my $k = "__RAW" . $n++ . "__"; $raw{$k} = $$v; return $k }
        if (ref $v eq 'HASH')  { return { map { $_ => $walk->($v->{$_}) } keys %$v } }
        if (ref $v eq 'ARRAY') { return [ map { $walk->($_) } @$v ] }
        return $v;
    };
    my $text = $JSON->encode($walk->($obj));
    $text =~ s/"(__RAW\d+__)"/$raw{$1}/g;
    return $text;
}

# bodies with one known field replaced by each awkward value; $base->() gives
# a fresh valid body so a mutation reaches the check of that field
sub field_bodies {
    my ($fields, $base, $sample) = @_;
    my @out;
    for my $f (sort keys %$fields) {
        my @vals = field_values($fields->{$f});
        if ($fields->{$f} eq 'conf') {
            push @vals, [''], ['mobile', 'mobile'], ['MOBILE'], [1], [undef], ["mobile\x{0}"];
        }
        if ($fields->{$f} eq 'depts') {
            push @vals, [], [ map { { dept_id => 0 } } 1 .. 21 ], [{ dept_id => 0 }, { dept_id => 0 }],
                        [{}], [[]], ['0'], [0];
            for my $sub (qw(dept_id position weight sort_id)) {
                push @vals, map { [{ dept_id => 0, $sub => $_ }] } field_values('int'), '', 'x' x 65;
            }
        }
        @vals = grep { rand() < $sample } @vals if $sample < 1;
        for my $v (@vals) {
            my $b = $base->();
            $b->{$f} = $v;
            push @out, encode_body($b);
        }
    }
    return @out;
}

sub path_ids {
    return ('0', '-1', '99999999999999999999', '9223372036854775807', '9223372036854775808',
            '2147483648', 'abc', '%00', '..%2f', '..%2F..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e',
            '1%20', '%20', '+1', '0x10', '1.5', '1e3', '%ff%fe', '%c0%af', '00000000000000000001',
            '1;2', '1%0a', 'x' x 4000, '9' x 4000, 'y' x 9000);   # the last: over nginx's 8 KB line
}

sub query_strings {
    my @q = ('offset=-1', 'offset=abc', 'offset=99999999999999999999', 'offset=100000001',
             'offset=', 'offset=-', 'offset=--1', 'offset=1e3', 'limit=0', 'limit=-5',
             'limit=100000', 'limit=1&limit=2', 'limit=%31', 'limit=+1', 'limit= 1',
             'q=%ff%fe', 'q=%c0%af', 'q=%ed%a0%80', 'q=%00', 'q=%', 'q=%zz', 'q=' . ('x' x 5000),
             'q=%25', 'q=a+b', 'q=%0a', 'q=%27%22%5c', 'q=%f0%9f%98%80', 'since=', 'since=-1',
             'since=abc', 'since=99999999999999999999', 'since=-99999999999999999999',
             'since=1000000000000000001', 'dept=-1', 'dept=abc', 'dept=2147483648',
             'recursive=2', 'recursive=-1', 'ms=-1', 'ms=10001', 'ms=abc', 'ms=99999999999999999999',
             'account=%ff', 'account=' . ('a' x 100), 'result=%00', 'actor=%c0%80',
             'action=%0a', 'mode=%ff', 'mode=REPLACE%00', 'dry_run=2', 'dry_run=-1',
             'format=xml', 'format=%00', '&&&', '=', '%', '%%%', 'offset', '=1&=2', 'a=%zz',
             join('&', map { "limit=$_" } 1 .. 200));
    return @q;
}

my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);

# one request; returns (status, body bytes, seconds, content-type).  What
# HTTP::Tiny refuses to send (raw spaces or control bytes in the request
# line or a header) goes over a plain socket.
sub timed_request {
    my ($method, $url, $headers, $content) = @_;
    my $t0 = time;
    my $res = $http->request($method, $url, { headers => $headers,
                                              (defined $content ? (content => $content) : ()) });
    if ($res->{status} == 599 && $res->{content} =~ /^Invalid/) {
        $res = raw_request($method, $url, $headers, $content, 10);
    }
    my $body = $res->{content} // '';
    if (($res->{headers}{'content-encoding'} // '') eq 'gzip') {
        my $plain;
        gunzip(\$body => \$plain) or $plain = "gunzip failed: $GunzipError";
        $body = $plain;
    }
    return ($res->{status}, $body, time - $t0, $res->{headers}{'content-type'} // '');
}

# an HTTP/1.1 request written byte for byte; the answer read until close
sub raw_request {
    my ($method, $url, $headers, $content, $timeout) = @_;
    my ($host, $port, $target) = $url =~ m{^https?://([^:/]+):(\d+)(/.*)$}s
        or return { status => 599, content => "bad url $url" };
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => $timeout)
        or return { status => 599, content => "connect: $!" };
    my $req = "$method $target HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n";
    $req .= "$_: $headers->{$_}\r\n" for sort keys %$headers;
    $req .= 'Content-Length: ' . length($content) . "\r\n" if defined $content;
    $req .= "\r\n" . ($content // '');
    print $s $req;
    my $got = '';
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $timeout;
        while (sysread($s, my $buf, 65536)) { $got .= $buf }
        alarm 0;
        1;
    };
    alarm 0;
    close $s;
    return { status => 599, content => 'no answer in time' } unless $ok;
    my ($head, $body) = split /\r\n\r\n/, $got, 2;
    my ($st) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})}
        or return { status => 599, content => 'no status line' };
    my %h;
    $h{lc $1} = $2 while $head =~ /^([^:\r\n]+):\s*([^\r\n]*)/mg;
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $plain = '';
        while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $plain .= substr($body, 0, $len, '');
            $body =~ s/^\r\n//;
        }
        $body = $plain;
    }
    return { status => $st, content => $body, headers => \%h };
}

# the path as nginx resolves it (undef: above the root)
sub normal_path {
    my ($path) = @_;
    my $p = $path =~ s/\?.*//sr;
    $p =~ s/%2f/\//gi;
    $p =~ s/%2e/./gi;
    my @out;
    my @segs = split m{/}, $p, -1;
    for my $i (0 .. $#segs) {
        my $seg = $segs[$i];
        if ($seg eq '..') { return undef if @out <= 1; pop @out; push @out, '' if $i == $#segs }
        elsif ($seg eq '.') { push @out, '' if $i == $#segs }
        else { push @out, $seg }
    }
    return join '/', @out;
}

# a path that nginx resolves to somewhere outside /api/v1/ (the static
# site answers it, not the API)
sub leaves_api {
    my $p = normal_path($_[0]);
    return !defined $p || "$p/" !~ m{^/api/v1/};
}

# Content-Length larger than the body, then the client stops sending: the
# server must answer or close within $timeout seconds.  Returns
# (ok, what happened).
sub raw_short_body {
    my ($host, $port, $method, $path, $token, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => $timeout)
        or return (0, "connect: $!");
    my $body = '{"a":1';
    my $req = "$method $path HTTP/1.1\r\nHost: $host\r\nContent-Type: application/json\r\n"
            . (defined $token ? "Authorization: Bearer $token\r\n" : '')
            . "Content-Length: 1000\r\n\r\n$body";
    print $s $req;
    shutdown($s, 1);
    my $t0 = time;
    my $got = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $timeout;
        while (1) {
            my $n = sysread($s, my $buf, 65536);
            last unless $n;
            $got .= $buf;
        }
        alarm 0;
    };
    alarm 0;
    close $s;
    return (0, sprintf('no answer or close within %ds', $timeout)) if $@;
    my ($st) = $got =~ m{^HTTP/1\.\d (\d{3})};
    return (0, "status $st") if $st && $st >= 500;
    return (1, $st ? "status $st" : 'closed');
}

1;
