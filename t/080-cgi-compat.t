#!/usr/bin/perl
# /cgi: access tokens in use (sections 1, 3 and checklist item 11) — several
# live tokens per app, expiry with grace, expired vs unknown, a key rotation,
# tokens kept across an nginx restart — and the transport quirks of the
# SDKs (section 7 item 10) on a token route.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Youdu::Test;
use Youdu::Cgi;

my $J = JSON::PP->new->utf8->canonical;
my $org = cgi_builtin_app('sysOrgAssistant');
my $list = sub { my ($tok, %o) = @_; cgi_call($org, '/dept/list', undef, token => $tok, query => { id => 0 }, %o) };

# several client objects, each with its own token, all valid at once
my @toks = map { cgi_token($org) } 1 .. 5;
for my $i (0 .. $#toks) {
    my ($code, $data) = $list->($toks[$i]);
    is($code, 0, "token $i of 5 works");
    is(ref $data->{deptList}, 'ARRAY', "token $i: deptList is an array");
}

# no token, unknown token, a token of another app
my ($code, $data, $j) = $list->('');
is($code, 100000, 'no accessToken: 100000');
like($j->{errmsg}, qr/gettoken/, 'errmsg says where to get one');
($code) = $list->('x' . $toks[0]);
is($code, 100001, 'unknown token: 100001');
my $other = cgi_app(rights => 1);
($code, $data, $j) = cgi_call($org, '/dept/list', { id => 0 }, token => cgi_token($other), query => { id => 0 });
is($code, 100005, "another app's token with this app's envelope: 100005");
($code) = cgi_call($other, '/dept/list', undef, query => { id => 0 });
is($code, 3, 'a custom app on an org API: 3 (no right)');

# expiry: a minute of grace, then "expired" for a day, then "unknown"
my $t = cgi_token($org);
sql("UPDATE app_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 30 SECOND WHERE token_hash = SHA2('$t', 256)");
($code) = $list->($t);
is($code, 0, 'a token 30 s past its expiry still works (grace for late refreshers)');
sql("UPDATE app_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 2 HOUR WHERE token_hash = SHA2('$t', 256)");
($code, $data, $j) = $list->($t);
is($code, 100002, 'an expired token: 100002');
like($j->{errmsg}, qr/expired/, 'errmsg says expired');
($code) = $list->($toks[1]);
is($code, 0, 'the other tokens are unaffected');
sql("UPDATE app_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 2 DAY WHERE token_hash = SHA2('$t', 256)");
cgi_token($org);   # issuing purges tokens expired for over a day
is(sql("SELECT COUNT(*) FROM app_tokens WHERE token_hash = SHA2('$t', 256)"), 0, 'tokens expired for a day are purged');
($code) = $list->($t);
is($code, 100001, 'and then answer 100001');

# a disabled app's tokens stop working at once
sql("UPDATE apps SET enabled = 0 WHERE id = $org->{pk}");
($code) = $list->($toks[2]);
is($code, 100005, 'tokens of a disabled app: 100005');
sql("UPDATE apps SET enabled = 1 WHERE id = $org->{pk}");

# tokens are rows: an nginx restart keeps them
for my $action (qw(stop start)) {
    local $ENV{YOUDU_SERVICE_MODE} = 'test';
    is(system("$ENV{TEST_YOUDU_ROOT}/build.sh", 'service', $action, 'nginx',
              $ENV{TEST_YOUDU_ASAN} ? ('--asan') : ()), 0, "nginx $action");
}
($code) = $list->($toks[3]);
is($code, 0, 'a token issued before an nginx restart works after it');

# the SDKs' transport quirks on a token route
my $q = "accessToken=$toks[4]&id=0";
my ($st, $jj) = cgi_raw(GET => "/DEPT/List?$q");
is($jj->{errcode}, 0, 'case-insensitive path');
($st, $jj) = cgi_raw(GET => "/dept/list/?$q");
is($jj->{errcode}, 0, 'trailing slash');
($st, $jj) = cgi_raw(POST => "/dept/list?$q", '', 'Content-Type' => 'application/x-www-form-urlencoded');
is($jj->{errcode}, 0, 'POST with an empty body (ADD) takes the query');
($st, $jj) = cgi_raw(POST => "/dept/list?accessToken=$toks[4]",
    $J->encode({ buin => 1, appId => $org->{app_id}, encrypt => cgi_encrypt($org->{key}, $org->{app_id}, '{"id":0}') }));
is($jj->{errcode}, 0, 'a GET route posted with an envelope (OrgAppSdkPHP) reads the payload');
my ($plain, $trailer) = cgi_decrypt($org->{key}, $jj->{encrypt});
is($trailer, $org->{app_id}, 'its reply ends with the appId');
($st, $jj) = cgi_raw(POST => "/dept/list?$q",
    $J->encode({ buin => 1, appId => $org->{app_id}, encrypt => cgi_encrypt($org->{key}, $org->{app_id}, '{"id":null,"x":""}', iv => 'random') }));
is($jj->{errcode}, 0, 'nulls in the payload count as not given (the query supplies id), random IV (Python/Go)');
($st, $jj) = cgi_raw(GET => "/dept/list?$q", undef, 'Accept-Encoding' => 'gzip,deflate', 'Content-Encoding' => 'UTF-8');
is($jj->{errcode}, 0, 'Java headers: the reply is plain JSON, not gzip');

done_testing();
