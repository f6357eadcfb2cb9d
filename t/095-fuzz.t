# Robustness: every REST route, as the super admin and as an employee, with
# malformed and hostile bodies, path ids, query strings and headers.  Every
# answer must come within 5 s, below 500, and every error must be the API's
# JSON ({errcode, errmsg}); afterwards nginx still answers, its error log
# shows no crash, and the org changed only by the requests that succeeded.
# Deterministic (fixed seed) and bounded (a few thousand requests).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Youdu::Test;
use Youdu::Accounts qw(reset_login_limit);
use Youdu::Fuzz;

srand(20261124);
my $T0 = time;
my $API = "$URL/api/v1";
my ($HOST, $PORT) = $URL =~ m{^https?://([^:/]+):(\d+)} or die "cannot parse $URL";
my $LIMIT = 5;         # seconds per request
my $NOWHERE = 2147480001;   # a valid id that names nothing

# the list fuzzed is the route tables' (a new route must be added to
# t/lib/Youdu/Fuzz.pm with the fields its handler reads)
my %tables;
for my $f (glob(($ENV{TEST_YOUDU_ROOT} // '.') . '/ngx_youdu_module/src/ngx_http_youdu_*.c')) {
    open my $fh, '<', $f or die "$f: $!";
    my $text = do { local $/; <$fh> };
    $tables{"$1 $2 " . lc $3} = 1
        while $text =~ /\{\s*NGX_HTTP_(\w+),\s*"([^"]+)",\s*\w+,\s*YD_AUTH_(\w+)/g;
}
is_deeply([sort map { "$_->{method} $_->{pattern} $_->{auth}" } fuzz_routes()], [sort keys %tables],
          'every route of the route tables is fuzzed, with its auth level');

my $mark = error_log_mark();
my %asan_before = map { $_ => 1 } glob(run_dir() . '/log/asan/*');
my $admin = admin_token();

# the callers; self-service routes that change the caller's own account
# (wrong old passwords lock it, logout revokes it) use second accounts so
# the shared super admin stays usable for the test files that follow, and
# logout and the header variants get sessions of their own
my ($emp_id, $emp_acc, $emp_pw) = create_user();
my $emp = login_as($emp_acc, $emp_pw);
my ($emp2_id, $emp2_acc, $emp2_pw) = create_user();
my $emp2 = login_as($emp2_acc, $emp2_pw);
my $emp2_out = login_as($emp2_acc, $emp2_pw);
my $hdr = login_as($emp2_acc, $emp2_pw);
my ($adm2_id, $adm2_acc, $adm2_pw) = create_user(role => 2);
my $adm2 = login_as($adm2_acc, $adm2_pw);
my $adm2_out = login_as($adm2_acc, $adm2_pw);
my ($gone_id, $gone_acc, $gone_pw) = create_user();
my $gone = login_as($gone_acc, $gone_pw);
json_ok('the user whose token is replayed is deleted',
        DELETE => "/admin/users/$gone_id", undef, token => $admin);
reset_login_limit();

# targets the fuzzed writes may change
my ($victim) = create_user();
my $vdept = create_dept();

my %TOKEN  = (admin => $admin, user => $emp);
my %SELF   = (admin => $adm2, user => $emp2);
my %LOGOUT = (admin => $adm2_out, user => $emp2_out);
my %self_route = map { $_ => 1 } ('/auth/password', '/auth/sessions/:id');

# query parameters a route needs to get past its first check
my %BASEQ = ('/debug/sleep' => 'ms=0', '/org/changes' => 'since=0');

sub org_counts {
    my ($v, $u, $d) = split /\t/, sql('SELECT (SELECT version FROM org_state WHERE id = 1), '
        . '(SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM departments)');
    return { version => $v, users => $u, depts => $d };
}
my $before = org_counts();
my %made = (version => 0, users => 0, depts => 0);

# ---------------------------------------------------------------- checking

my (%fail, %count, %stats, $total);

sub check {
    my ($group, $route, $method, $path, $headers, $content) = @_;
    # fuzzed sign-ins use up the address's budget: keep them reaching the checks
    our $logins;
    reset_login_limit() if $path eq '/auth/login' && ++$logins % 25 == 0;
    my ($st, $body, $secs, $ct) = timed_request($method, "$API$path", $headers, $content);
    $total++;
    $count{$group}++;
    $stats{$group}{$st}++;
    $stats{$group}{secs} += $secs;
    my $why;
    if ($st >= 500) {
        $why = "status $st";
    } elsif ($secs >= $LIMIT) {
        $why = sprintf('took %.1f s', $secs);
    } elsif ($method ne 'HEAD' && !leaves_api("/api/v1$path")) {
        my $j = $ct =~ m{application/json} ? eval { decode_json($body) } : undef;
        if (!$j || ref $j ne 'HASH') {
            $why = "status $st without a JSON object ($ct)";
        } elsif ($st >= 300 && (!defined $j->{errcode} || ref $j->{errcode}
                                || $body !~ /"errcode":-?\d+[,}]/)) {
            $why = "status $st: errcode is not an integer";
        } elsif ($st >= 200 && $st < 300) {
            # (the snapshot is a bare document: no errcode)
            $why = "status $st with errcode $j->{errcode}"
                if defined $j->{errcode} && $j->{errcode} != 0;
        } elsif (ref \$j->{errmsg} ne 'SCALAR' || !defined $j->{errmsg} || !length $j->{errmsg}) {
            $why = "status $st: errmsg is missing or empty";
        } elsif ($j->{errcode} == 0) {
            $why = "status $st with errcode 0";
        }
    }
    $why //= "status $st (cleanup must succeed)" if $group eq 'cleanup' && $st != 200;
    if ($why) {
        my $show = defined $content ? substr($content, 0, 80) : '';
        $show =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
        push @{ $fail{$group} }, sprintf('%s %s [%s] -> %s: %s', $method,
            substr($path, 0, 100), $show, $why, substr($body, 0, 200));
    }
    account($path, $method) if $st >= 200 && $st < 300;
    if ($ENV{FUZZ_TRACE} && $method ne 'GET') {
        my $c = org_counts();
        our $last //= $c;
        diag("TRACE $method $path [" . substr($content // '', 0, 300) . "] -> $st $body")
            if $c->{version} - $last->{version} != $made{version} - ($last->{made} // 0);
        $last = { %$c, made => $made{version} };
    }
    return $st;
}

# what a successful request legitimately changed in the org
sub account {
    my ($path, $method) = @_;
    # as nginx resolved it: /users/6/sessions/..%2f is /users/6/
    my $p = normal_path("/api/v1$path");
    return unless $p =~ m{^/api/v1/admin/(departments|users)(/[^/]+)?/?$};
    my $kind = $1 eq 'users' ? 'users' : 'depts';
    $made{version}++;
    $made{$kind}++ if $method eq 'POST';
    $made{$kind}-- if $method eq 'DELETE';
}

sub report {
    my ($group) = @_;
    diag(sprintf('%s: %.1f s, ', $group, delete $stats{$group}{secs} // 0)
         . join ' ', map { "$_ x$stats{$group}{$_}" } sort keys %{ $stats{$group} })
        if $ENV{FUZZ_STATS};
    my $f = $fail{$group} || [];
    ok(!@$f, sprintf('%s: %d requests answered in time, below 500, with JSON errors',
                     $group, $count{$group} // 0))
        or diag(join "\n", @$f[0 .. ($#$f < 9 ? $#$f : 9)], @$f > 10 ? ('... ' . @$f . ' in all') : ());
}

# ---------------------------------------------------------------- requests

sub real_path {
    my ($route, $id, $sid) = @_;
    my $p = $route->{pattern};
    if (!defined $id) {
        $id = $p =~ m{^/(admin|org)/users/} ? $victim
            : $p =~ m{^/(admin|org)/departments/:id$} && $route->{method} ne 'DELETE' ? $vdept
            : $NOWHERE;
        $id = $NOWHERE if $p eq '/admin/users/:id' && $route->{method} eq 'DELETE';
    }
    $p =~ s{:id}{$id};
    $sid //= $NOWHERE;
    $p =~ s{:sid}{$sid};
    # (the debug route sleeps a second unless told not to)
    $p .= "?$BASEQ{$p}" if $BASEQ{$p};
    return $p;
}

my $n = 0;
sub base_body {
    my ($route) = @_;
    my $p = $route->{pattern};
    $n++;
    return { account => "fuzz-nobody-$n", password => 'Wrong-Passw0rd-1',
             device_type => 'web', device_name => 'fuzz' } if $p eq '/auth/login';
    return { refresh_token => 'abc', device_type => 'web' } if $p eq '/auth/refresh';
    return { old_password => 'Wrong-Old-Passw0rd-1', new_password => 'New-Passw0rd-2' }
        if $p eq '/auth/password';
    return { name => uniq('fz'), parent_id => 0, sort_id => 0, alias => '' }
        if $p eq '/admin/departments';
    return { name => uniq('fz') } if $p eq '/admin/departments/:id';
    return { account => uniq('fz'), name => 'Fuzz', departments => [{ dept_id => 0 }] }
        if $p eq '/admin/users';
    return { name => 'Fuzz again' } if $p eq '/admin/users/:id';
    return { name => uniq('fz') } if $p eq '/admin/apps' || $p eq '/admin/apps/:id';
    return { password => 'Fuzz-Passw0rd-9', must_change => JSON::PP::true }
        if $p eq '/admin/users/:id/password';
    return {};
}

sub headers_for {
    my ($route, $role, %h) = @_;
    my $tok = $route->{pattern} eq '/auth/logout' ? $LOGOUT{$role}
            : $self_route{ $route->{pattern} } ? $SELF{$role} : $TOKEN{$role};
    return { Authorization => "Bearer $tok", %h };
}

my $JSONH = { 'Content-Type' => 'application/json' };
my @malformed = malformed_bodies();
my @ids = path_ids();
my @queries = query_strings();

for my $route (fuzz_routes()) {
    my $m = $route->{method};
    my $has_fields = %{ $route->{fields} };

    for my $role (qw(admin user)) {
        my $group = "$m $route->{pattern} as $role";
        # (a GET writes nothing; the totals at the end still cover it)
        my $writes = $m ne 'GET';
        my %made0 = %made;
        my $c0 = $writes ? org_counts() : undef;
        my $h = headers_for($route, $role, %$JSONH);
        my $path = real_path($route);

        check($group, $route, $m, $path, headers_for($route, $role), undef);

        # bodies
        my @bodies = $has_fields ? @malformed : grep { rand() < 0.3 } @malformed;
        check($group, $route, $m, $path, $h, $_) for @bodies;
        if ($has_fields) {
            # fewer where a well-formed body costs a password hash
            my $sample = $role ne 'admin' ? 0.15
                       : $route->{pattern} =~ m{^/auth/(login|password)} ? 0.4
                       : $route->{pattern} =~ m{^/admin/users} ? 0.6 : 1;
            check($group, $route, $m, $path, $h, $_)
                for field_bodies($route->{fields}, sub { base_body($route) }, $sample);
        }

        # path ids
        if ($route->{pattern} =~ /:id/) {
            for my $id (@ids) {
                check($group, $route, $m, real_path($route, $id), $h,
                      $has_fields ? encode_json(base_body($route)) : undef);
            }
        }
        if ($route->{pattern} =~ /:sid/) {
            check($group, $route, $m, real_path($route, undef, $_), $h) for @ids;
        }

        # query strings
        my @qs = @{ $route->{query} } ? @queries : grep { rand() < 0.15 } @queries;
        for my $q (@qs) {
            my $p = real_path($route);
            # the route's own base parameter goes when it is the one fuzzed
            $p =~ s{\?(\w+)=0$}{} if $q =~ /^(\w+)=/ && $p =~ /\?$1=0$/;
            check($group, $route, $m, $p . ($p =~ /\?/ ? '&' : '?') . $q, $h,
                  $has_fields ? encode_json(base_body($route)) : undef);
        }
        report($group);
        next unless $writes;
        my $c1 = org_counts();
        my @diff = grep { $c1->{$_} - $c0->{$_} != $made{$_} - $made0{$_} } sort keys %made;
        ok(!@diff, "$group: the org changed only by the successful requests")
            or diag(join ', ', map { "$_ moved by " . ($c1->{$_} - $c0->{$_})
                                     . ', successes account for ' . ($made{$_} - $made0{$_}) } @diff);
    }

    # headers, whoever the caller
    my $group = "$m $route->{pattern} headers";
    my $path = real_path($route);
    my $body = $has_fields ? encode_json(base_body($route)) : '{}';
    for my $auth (undef, 'Bearer', 'Bearer ', 'Bearer ' . ('A' x 20000), "Bearer $gone",
                  'Basic YWRtaW46eA==', 'Bearer a.b.c', 'Bearer ' . ('x' x 3000) . '.y.z',
                  "bearer $hdr", "Bearer  $hdr", "Bearer $hdr x", "Bearer \x{7f}") {
        check($group, $route, $m, $path,
              { 'Content-Type' => 'application/json', (defined $auth ? (Authorization => $auth) : ()) },
              $body);
    }
    for my $ct ('text/plain', 'application/jsonp', 'application/x-www-form-urlencoded',
                'application/json; charset=utf-8', 'APPLICATION/JSON', '', 'application/json-seq',
                'multipart/form-data; boundary=x') {
        check($group, $route, $m, $path, headers_for($route, 'admin', 'Content-Type' => $ct), $body);
    }
    # other methods on the same path (HEAD: a header without a body)
    for my $other (qw(HEAD PUT OPTIONS TRACE PROPFIND)) {
        check($group, $route, $other, $path, headers_for($route, 'admin', %$JSONH),
              $other eq 'HEAD' ? undef : $body);
    }
    my ($ok, $what) = raw_short_body($HOST, $PORT, $m, "/api/v1$path", $admin, $LIMIT);
    $total++;
    $count{$group}++;
    push @{ $fail{$group} }, "Content-Length larger than the body: $what" unless $ok;
    report($group);
}

# the login attempts above used up this address's sign-in budget
reset_login_limit();

# leave the org usable for the test files that follow: a department at the
# id limit leaves "the server picks MAX(id)+1" no id (it must go, so its
# members move to the root first), and extra super admins would change
# what "the last super admin" means
my $top = 2147483647;
my @sub = map { $_->[0] } sql_rows("SELECT id FROM departments WHERE path LIKE '%/$top/%' "
                                   . 'ORDER BY depth DESC');
if (@sub) {
    my $in = join ',', @sub;
    for my $uid (map { $_->[0] } sql_rows("SELECT DISTINCT user_id FROM user_depts WHERE dept_id IN ($in)")) {
        check('cleanup', undef, PATCH => "/admin/users/$uid", headers_for({ pattern => '' }, 'admin', %$JSONH),
              encode_json({ departments => [{ dept_id => 0 }] }));
    }
    check('cleanup', undef, DELETE => "/admin/departments/$_", headers_for({ pattern => '' }, 'admin'))
        for @sub;
}
for my $uid (map { $_->[0] } sql_rows("SELECT id FROM users WHERE role = 2 AND id >= $adm2_id")) {
    check('cleanup', undef, PATCH => "/admin/users/$uid", headers_for({ pattern => '' }, 'admin', %$JSONH),
          encode_json({ role => 0 }));
}
report('cleanup');
is(sql("SELECT COUNT(*) FROM departments WHERE id = $top OR path LIKE '%/$top/%'"), 0,
   'no department is left at the id limit');
is(sql("SELECT COUNT(*) FROM users WHERE role = 2 AND id >= $adm2_id"), 0,
   'no super admin is left from the fuzzing');

# ---------------------------------------------------------------- afterwards

my ($st, $pj) = api(GET => '/ping');
is($st, 200, 'nginx still answers /ping');
my $log = error_log_since($mark);
my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal|AddressSanitizer/ } split /\n/, $log;
ok(!@bad, 'the error log shows no crash or alert') or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
my @asan = grep { !$asan_before{$_} } glob(run_dir() . '/log/asan/*');
ok(!@asan, 'AddressSanitizer reported nothing') or diag(`head -40 @asan`);

my $after = org_counts();
is($after->{version} - $before->{version}, $made{version},
   'the org version moved once per successful write');
is($after->{users} - $before->{users}, $made{users},
   'users were added or removed only by successful requests');
is($after->{depts} - $before->{depts}, $made{depts},
   'departments were added or removed only by successful requests');

my $secs = time - $T0;
diag(sprintf('%d requests in %.1f s', $total, $secs));
ok($total > 2000 && $total < 20000, "a bounded number of requests ($total)");

done_testing();
