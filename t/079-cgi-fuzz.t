#!/usr/bin/perl
# Robustness of /cgi: every route of the cgi route tables, with malformed
# bodies, hostile envelopes, payloads whose fields have every wrong type,
# garbage query strings and tokens.  Every answer must come within 5 s as
# HTTP 200 with an integer errcode and a string errmsg (identify: its own
# status object); afterwards nginx answers and its log shows no crash.
# Deterministic (fixed seed) and bounded.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Youdu::Test;
use Youdu::Cgi;
use Youdu::Fuzz qw(malformed_bodies field_values encode_body query_strings timed_request);

srand(20261202);
my $LIMIT = 5;
my $J = JSON::PP->new->utf8->canonical;

# the routes, as the tables declare them
my @routes;
for my $f (glob(($ENV{TEST_YOUDU_ROOT} // '.') . '/ngx_youdu_module/src/ngx_http_youdu_cgi*.c')) {
    open my $fh, '<', $f or die "$f: $!";
    my $text = do { local $/; <$fh> };
    push @routes, $1 while $text =~ /\{\s*\{\s*NGX_HTTP_GET\|NGX_HTTP_POST,\s*"([^"]+)"/g;
}
ok(scalar(grep { $_ eq '/gettoken' } @routes), 'the route tables were read (' . scalar(@routes) . ' routes)');

my $mark = error_log_mark();
my %asan_before = map { $_ => 1 } glob(run_dir() . '/log/asan/*');

# one app with every right reaches every handler
my $app = cgi_app(rights => 127);
my $token = cgi_token($app);

# fields the handlers read (PROTOCOL.md section 4), fuzzed with every awkward
# value; ids that could name the first admin (gid 1) are left out so the
# files that follow keep their admin
my @FIELDS = qw(userId id deptId name parentId sortId alias toUser toDept msgType text
                content mediaId media_id dept gender mobile phone email enableState attrs
                delList userIdList accList account sessionId title member creator opUser
                addMember delMember sender receiver userList groupId keyword type fileType
                behindDeptId position weight count tip popWindow pop_wind deptList jobId
                fileId version authType passwd key value image file mpnews link exlink sysMsg
                toAll mail sms deptDetail shortCode url action eventId);
# whole-org writes are fuzzed only with broken envelopes (a valid empty list
# would legitimately empty the org)
my %no_payload = map { $_ => 1 } qw(/org/replaceall /org/xmlsync);

my (%fail, $total);

sub check {
    my ($group, $path, $method, $qs, $content) = @_;
    my %h = defined $content ? ('Content-Type' => 'application/json') : ();
    my ($st, $body, $secs) = timed_request($method, "$CGI_URL$path" . (length $qs ? "?$qs" : ''),
                                           \%h, $content);
    $total++;
    my $why;
    my $j = eval { decode_json($body) };
    if ($secs >= $LIMIT) {
        $why = sprintf('took %.1f s', $secs);
    } elsif ($st != 200) {
        $why = "HTTP $st";
    } elsif (!$j || ref $j ne 'HASH') {
        $why = 'not a JSON object';
    } elsif ($path eq '/identify') {
        $why = 'identify: no integer status.code'
            unless ref $j->{status} eq 'HASH' && $body =~ /"code":-?\d+[,}]/;
    } elsif (!defined $j->{errcode} || $body !~ /"errcode":-?\d+[,}]/) {
        $why = 'errcode is not an integer';
    } elsif (!defined $j->{errmsg} || ref $j->{errmsg}) {
        $why = 'errmsg is not a string';
    }
    if ($why) {
        my $show = substr($content // '', 0, 80);
        $show =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
        push @{ $fail{$group} }, "$method $path?" . substr($qs, 0, 60) . " [$show] -> $why: " . substr($body, 0, 160);
    }
}

sub envelope { my ($text) = @_; $J->encode({ buin => 1, appId => $app->{app_id}, encrypt => cgi_encrypt($app->{key}, $app->{app_id}, $text) }) }

for my $path (@routes) {
    my $q = "accessToken=$token";
    # bodies that are not an envelope
    check('malformed', $path, 'POST', $q, $_) for malformed_bodies();
    # envelopes that are broken
    for my $env ({ buin => 1 }, { buin => 1, appId => $app->{app_id} },
                 { buin => 1, appId => $app->{app_id}, encrypt => 'AAAA' },
                 { buin => 1, appId => $app->{app_id}, encrypt => cgi_encrypt(cgi_key(), $app->{app_id}, '{}') },
                 { buin => 1, appId => 'ydother', encrypt => cgi_encrypt($app->{key}, $app->{app_id}, '{}') },
                 { app_id => $app->{app_id}, msg_encrypt => 'garbage' },
                 { app_id => [], msg_encrypt => {} },
                 { form_params => { app_id => $app->{app_id}, msg_encrypt => cgi_encrypt($app->{key}, $app->{app_id}, '[]') } }) {
        check('envelope', $path, 'POST', $q, $J->encode($env));
    }
    # payloads that are valid JSON but not objects, or not UTF-8
    check('payload', $path, 'POST', $q, envelope($_)) for ('[]', '"x"', '1', 'null', "{\"a\":\"\xff\"}", '{"a":1,"a":2}', '', '{');
    # tokens and query strings
    check('token', $path, 'GET', $_, undef) for ('', 'accessToken=', 'accessToken=%ff%fe', 'accessToken=' . ('x' x 5000),
        'accessToken=' . substr($token, 0, 10), "accessToken=$token%00", 'accessToken=a&accessToken=b');
    # (a request line past nginx's header buffers is refused before any
    # location is chosen, and so is one with a raw space: the server's JSON
    # 414/400, not ours)
    check('query', $path, 'GET', "$q&$_", undef) for grep { length $_ < 2000 && !/\s/ } query_strings();
    check('query', $path, 'GET', "$q&$_=%ff", undef) for qw(userId id deptId alias sessionId jobId fileId token keyword gids mediaId);
    next if $no_payload{$path};
    # objects whose fields have every awkward value
    my @vals = field_values('str');
    for (1 .. 60) {
        my %obj;
        for (1 .. 1 + int(rand(4))) {
            $obj{ $FIELDS[int rand @FIELDS] } = $vals[int rand @vals];
        }
        check('fields', $path, 'POST', $q, envelope(encode_body(\%obj)));
    }
}

for my $group (sort keys %fail) {
    my @f = @{ $fail{$group} };
    diag("$group: " . scalar(@f) . " failures, first ones:\n  " . join("\n  ", @f[0 .. ($#f < 9 ? $#f : 9)]));
}
is(scalar(map { @$_ } values %fail), 0, "every one of $total requests answered within ${LIMIT}s with HTTP 200 and errcode/errmsg");

my ($code) = cgi_call($app, '/gettoken', undef, token => '');
ok(defined $code, 'nginx still answers');
is_deeply([grep { /\[(alert|emerg|crit)\]|signal \d+|AddressSanitizer/ } split /\n/, error_log_since($mark)], [],
          'no alert, crash or sanitizer report in the error log');
is_deeply([grep { !$asan_before{$_} } glob(run_dir() . '/log/asan/*')], [], 'no new sanitizer log');

done_testing();
