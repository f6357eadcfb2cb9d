# Bad requests across the framework: each gets its own JSON error code, none
# writes anything, none disturbs nginx.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Accounts;

my $admin = admin_token();
my ($uid, $acc, $pw) = db_user();
my $emp = signin($acc, $pw);
my $mark = error_log_mark();

my @tables = qw(users sessions login_log audit_log);
my %before = map { $_ => count_rows($_) } @tables;
reset_login_limit();

my %ok = (account => $acc, password => $pw);
sub login_err { my ($name, $st, $code, @rest) = @_; json_err($name, $st, $code, POST => '/auth/login', @rest) }

# ---------------------------------------------------------------- JSON syntax

login_err('malformed JSON', 400, 40001, undef, raw => '{"account": "x", ');
login_err('not JSON at all', 400, 40001, undef, raw => 'account=x&password=y');
login_err('trailing garbage', 400, 40001, undef, raw => '{"account":"x"} extra');
login_err('duplicate keys', 400, 40001, undef,
          raw => qq({"account":"$acc","account":"other","password":"$pw"}));
login_err('raw control character in a string', 400, 40001, undef,
          raw => qq({"account":"a\tb","password":"x"}));
login_err('escaped NUL', 400, 40001, undef, raw => '{"account":"a\u0000b","password":"x"}');
login_err('lone surrogate escape', 400, 40001, undef,
          raw => '{"account":"\ud800","password":"x"}');
login_err('integer beyond 64 bits', 400, 40001, undef,
          raw => '{"account":99999999999999999999999,"password":"x"}');
login_err('real overflow', 400, 40001, undef, raw => '{"account":1e999,"password":"x"}');
login_err('deep nesting', 400, 40001, undef, raw => '[' x 5000);
login_err('empty body', 400, 40001, undef, raw => '');
for my $doc ('[]', '[{"account":"x"}]', '"text"', '42', 'true', 'null') {
    login_err("JSON that is not an object: $doc", 400, 40001, undef, raw => $doc);
}

# ---------------------------------------------------------------- UTF-8

for my $c (['invalid sequence', "\xc3\x28"], ['overlong slash', "\xc0\xaf"],
           ['UTF-16 surrogate', "\xed\xa0\x80"], ['truncated', "\xe2\x82"],
           ['byte FF', "\xff"], ['beyond U+10FFFF', "\xf4\x90\x80\x80"])
{
    login_err("bad UTF-8 in a value: $c->[0]", 400, 40002, undef,
              raw => qq({"account":"a$c->[1]b","password":"x"}));
}
login_err('bad UTF-8 in a key', 400, 40002, undef,
          raw => qq({"acc\xffount":"a","password":"x"}));

# ---------------------------------------------------------------- fields

login_err('account is a number', 400, 40003, { %ok, account => 17 });
login_err('account is an array', 400, 40003, { %ok, account => [$acc] });
login_err('account is an object', 400, 40003, { %ok, account => { a => 1 } });
login_err('account is a boolean', 400, 40003, { %ok, account => JSON::PP::true });
login_err('password is a number', 400, 40003, { %ok, password => 1.5 });
login_err('device_name is a number', 400, 40003, { %ok, device_name => 3 });
login_err('account missing', 400, 40004, { password => $pw });
login_err('password missing', 400, 40004, { account => $acc });
login_err('both missing', 400, 40004, {});
login_err('account null', 400, 40004, { %ok, account => undef });
login_err('account too long', 400, 40005, { %ok, account => 'a' x 65 });
login_err('device_name of 65 CJK characters', 400, 40005,
          { %ok, device_name => '设' x 65 });
login_err('control character in device_name', 400, 40006,
          { %ok, device_name => "Work\x{7}PC" });
login_err('DEL in device_name', 400, 40006, { %ok, device_name => "Work\x{7f}PC" });
login_err('newline in account', 400, 40006, { %ok, account => "a\nb" });
login_err('unknown device_type', 400, 40006, { %ok, device_type => 'fridge' });

# ---------------------------------------------------------------- content type

login_err('text/plain', 415, 40007, undef, raw => $JSON->encode(\%ok), type => 'text/plain');
login_err('form encoding', 415, 40007, undef, raw => $JSON->encode(\%ok),
          type => 'application/x-www-form-urlencoded');
login_err('application/jsonp is not JSON', 415, 40007, undef, raw => $JSON->encode(\%ok),
          type => 'application/jsonp');
login_err('multipart', 415, 40007, undef, raw => $JSON->encode(\%ok),
          type => 'multipart/form-data; boundary=x');

# ---------------------------------------------------------------- sizes

login_err('body over the route limit (Content-Length)', 413, 41300,
          { %ok, pad => 'x' x 17000 });
my $sent = 0;
login_err('body over the route limit (chunked)', 413, 41300, undef,
          raw => sub { return undef if $sent >= 20; $sent++; return 'x' x 1000 });
ok($sent >= 17, 'the chunked body was streamed');
$sent = 0;
json_err('body over the default limit (chunked, spooled to disk)', 413, 41300,
         DELETE => "/admin/users/$uid/sessions", undef, token => $admin,
         raw => sub { return undef if $sent >= 1100; $sent++; return 'y' x 1024 });
{
    my ($st, $body) = raw_http("POST /api/v1/auth/login HTTP/1.0\r\n"
                               . "Content-Type: application/json\r\n"
                               . "Content-Length: 100000000\r\n\r\n");
    is($st, 413, 'over nginx\'s own body limit: 413');
    like($body, qr/"errcode":41300/, 'with the JSON error');
}

# ---------------------------------------------------------------- routes

json_err('unknown route', 404, 40400, GET => '/no/such/route');
json_err('unknown route under /auth', 404, 40400, GET => '/auth/whatever', undef, token => $emp);
json_err('extra segment', 404, 40400, GET => '/auth/me/extra', undef, token => $emp);
json_err('routes are case-sensitive', 404, 40400, GET => '/AUTH/ME', undef, token => $emp);
json_err('empty path', 404, 40400, GET => '/');
json_err('GET on a POST route', 405, 40500, GET => '/auth/login');
json_err('PUT on a POST route', 405, 40500, PUT => '/auth/login', \%ok);
json_err('DELETE on a GET route', 405, 40500, DELETE => '/auth/me', undef, token => $emp);
json_err('POST on a GET route', 405, 40500, POST => '/auth/sessions', {}, token => $emp);
json_err('PATCH on an admin route', 405, 40500, PATCH => '/admin/login-log', {},
         token => $admin);
{
    my ($st, undef, $raw) = api(HEAD => '/ping');
    is($st, 200, 'HEAD is served as GET');
    is($raw // '', '', 'without a body');
}
json_ok('a trailing slash is tolerated', GET => '/auth/me/', undef, token => $emp);

# ---------------------------------------------------------------- roles

for my $c ([GET => '/admin/status', undef], [GET => '/admin/login-log', undef],
           [GET => '/admin/audit-log', undef], [GET => "/admin/users/$uid/sessions", undef],
           [DELETE => "/admin/users/$uid/sessions", undef],
           [DELETE => "/admin/users/$uid/sessions/1", undef],
           [POST => "/admin/users/$uid/unlock", undef],
           [POST => "/admin/users/$uid/password", { password => 'Whatever-1' }])
{
    json_err("employee: $c->[0] $c->[1]", 403, 40300, @$c, token => $emp);
    json_err("no token: $c->[0] $c->[1]", 401, 40100, @$c);
}

# ---------------------------------------------------------------- queries

json_err('query: limit not a number', 400, 40008, GET => '/auth/login-log?limit=x', undef,
         token => $emp);
json_err('query: offset too large', 400, 40008, GET => '/auth/login-log?offset=999999999999',
         undef, token => $emp);
json_err('query: bad UTF-8', 400, 40008, GET => '/auth/login-log?result=%C3%28', undef,
         token => $emp);
json_err('query: control character', 400, 40008, GET => '/auth/login-log?result=a%0Ab',
         undef, token => $emp);

# ---------------------------------------------------------------- nothing written

is(count_rows($_), $before{$_}, "nothing written to $_") for @tables;
is(redis_cli('GET', $IP_KEY), '', 'no login attempt counted');

# ---------------------------------------------------------------- still fine

reset_login_limit();
json_ok('a correct login still works', POST => '/auth/login', { %ok, device_name => '设' x 64 });
json_ok('charset parameter accepted', POST => '/auth/login', undef,
        raw => $JSON->encode(\%ok), type => 'application/json; charset=utf-8');
json_ok('media type in capitals accepted', POST => '/auth/login', undef,
        raw => $JSON->encode(\%ok), type => 'Application/JSON');
json_ok('nginx answers', GET => '/ping');
my $log = error_log_since($mark);
unlike($log, qr/\[(alert|crit|emerg)\]|exited on signal|segfault/, 'no alert or crash logged');

reset_login_limit();
done_testing;
