# Open-platform apps as administrators manage them (/admin/apps) and as
# employees find them (/apps): the built-in apps, creation with secrets shown
# once, list/search/paging, changes, key and callback-token rotation (old
# access tokens go), deletion, validation, who may call what, the audit log,
# and visibility by scope (users, departments and their subdepartments),
# also through the YD_APP_VISIBLE_SQL condition other handlers use.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64);
use Youdu::Test;
use Youdu::Accounts qw(count_rows);
use Youdu::Cgi;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my $admin = admin_token();
my $admin_id = sql("SELECT id FROM users WHERE account = 'admin'");
my ($eid, $eacc, $epw) = create_user();
my $emp = login_as($eacc, $epw);
my ($aid, $aacc, $apw) = create_user(role => 1);
my $adm = login_as($aacc, $apw);

sub audit_of {
    my ($action, $id) = @_;
    my ($r) = sql_rows("SELECT actor_id, detail, ip FROM audit_log WHERE action = '$action' "
                       . "AND target = 'app:$id' ORDER BY id DESC LIMIT 1");
    return $r || [];
}

sub create_app {
    my ($name, %f) = @_;
    my $j = json_ok("create $name", POST => '/admin/apps', { name => $name, %f }, token => $admin);
    return $j;
}

# ---------------------------------------------------------------- built-in apps

my %builtin = (sysOrgAssistant => 7, sysMsgAssistant => 9, sysExmailAssistant => 17,
               sysSmsAssistant => 33, sysMsgMonitor => 64);
my $j = json_ok('list as super admin', GET => '/admin/apps?limit=500', undef, token => $admin);
my %by = map { $_->{app_id} => $_ } @{ $j->{apps} };
for my $bn (sort keys %builtin) {
    ok($by{$bn}, "built-in $bn listed") or next;
    ok($by{$bn}{builtin}, "$bn is built-in");
    is($by{$bn}{rights}, $builtin{$bn}, "$bn rights");
    is($by{$bn}{has_key}, JSON::PP::false, "$bn has no key yet");
    is($by{$bn}{key_fingerprint}, undef, "$bn: no fingerprint");
}
is_deeply($by{sysOrgAssistant}{right_names}, [qw(msg org group)], 'rights as names');
is_deeply($by{sysMsgMonitor}{right_names}, ['audit'], 'audit right name');
is($j->{apps}[0]{builtin}, JSON::PP::true, 'built-in apps come first');
json_ok('an admin (role 1) may list', GET => '/admin/apps', undef, token => $adm);

# ---------------------------------------------------------------- who may call

my $org = $by{sysOrgAssistant}{id};
for my $c ([GET => '/admin/apps', undef], [GET => "/admin/apps/$org", undef],
           [POST => '/admin/apps', { name => 'x' }], [PATCH => "/admin/apps/$org", { name => 'x' }],
           [DELETE => "/admin/apps/$org", undef], [POST => "/admin/apps/$org/rotate-key", undef],
           [POST => "/admin/apps/$org/rotate-callback-token", undef]) {
    json_err("employee: $c->[0] $c->[1] is 403", 403, 40300, @$c, token => $emp);
    json_err("no token: $c->[0] $c->[1] is 401", 401, 40100, @$c);
}
json_err('/apps needs a token', 401, 40100, GET => '/apps');

# ---------------------------------------------------------------- create

my $napps = count_rows('apps');
my $naudit = count_rows('audit_log');
$j = json_ok('create a custom app', POST => '/admin/apps',
             { name => "报销 Expenses", description => 'Expense claims',
               callback_url => 'https://hooks.example.com/youdu?x=1',
               home_url => 'https://exp.example.com/?token=$TOKEN$' }, token => $admin);
my ($st) = api(POST => '/admin/apps', { name => 'status probe' }, token => $admin);
is($st, 201, 'creation answers 201');
my $app = $j->{app};
my $key = $j->{aes_key};
my $cbt = $j->{callback_token};
like($app->{app_id}, qr/^yd[0-9A-F]{32}$/, 'app_id is yd + 32 upper-case hex');
ok(defined $key && length $key == 44 && length(decode_base64($key)) == 32,
   'EncodingAESKey: 44 base64 characters, 32 bytes');
like($cbt // '', qr/^[a-z0-9]{16}$/, 'callback token: 16 lower-case alphanumerics');
is($app->{name}, "报销 Expenses", 'name');
is($app->{description}, 'Expense claims', 'description');
is($app->{callback_url}, 'https://hooks.example.com/youdu?x=1', 'callback_url');
is($app->{home_url}, 'https://exp.example.com/?token=$TOKEN$', 'home_url with $TOKEN$');
is($app->{rights}, 1, 'custom apps get right 1 (messages)');
is_deeply($app->{right_names}, ['msg'], 'right names');
is($app->{builtin}, JSON::PP::false, 'not built-in');
is($app->{enabled}, JSON::PP::true, 'enabled by default');
is_deeply($app->{scope}, { all => JSON::PP::true, depts => [], users => [] }, 'visible to all by default');
is($app->{has_key}, JSON::PP::true, 'has a key');
is($app->{has_callback_token}, JSON::PP::true, 'has a callback token');
is($app->{key_fingerprint}, substr(sha256_hex($key), 0, 8), 'fingerprint: sha256 of the key, 8 hex');
like($app->{key_rotated_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'key_rotated_at');
like($app->{created_at}, qr/Z$/, 'created_at');
is($app->{logo_file_id}, undef, 'no logo');
my $id = $app->{id};
is(sql("SELECT CONCAT(app_id, ' ', aes_key, ' ', callback_token, ' ', rights) FROM apps WHERE id = $id"),
   "$app->{app_id} $key $cbt 1", 'stored as shown');
is(count_rows('apps'), $napps + 2, 'two apps created');
my $au = audit_of('app.create', $id);
is($au->[0], $admin_id, 'audit: actor');
is($au->[2], '127.0.0.1', 'audit: ip');
is_deeply($JSON->decode($au->[1] // '{}'), { app_id => $app->{app_id}, name => "报销 Expenses" },
          'audit: detail');
is(count_rows('audit_log', "action = 'app.create' AND detail LIKE '%$key%'"), 0,
   'the key is not in the audit log');

# the secrets are shown only once
my ($gst, $g, $graw) = api(GET => "/admin/apps/$id", undef, token => $admin);
is($gst, 200, 'get by id');
is_deeply($g->{app}, $app, 'get gives the same app');
ok(!exists $g->{aes_key} && !exists $g->{callback_token}, 'get: no secrets');
unlike($graw, qr/\Q$key\E/, 'get: the key is nowhere in the reply');
unlike($graw, qr/\Q$cbt\E/, 'get: the callback token is nowhere in the reply');
my (undef, undef, $lraw) = api(GET => '/admin/apps?limit=500', undef, token => $admin);
unlike($lraw, qr/\Q$key\E|\Q$cbt\E/, 'list: no secrets');
my $seen_key_field = $lraw =~ /"aes_key"|"callback_token"/;
ok(!$seen_key_field, 'list: no secret fields');

# a second app has its own secrets
$j = create_app('Second', scope => { all => JSON::PP::false });
isnt($j->{app}{app_id}, $app->{app_id}, 'app ids differ');
isnt($j->{aes_key}, $key, 'keys differ');
my $id2 = $j->{app}{id};
is_deeply($j->{app}{scope}, { all => JSON::PP::false, depts => [], users => [] },
          'scope {all:false}: visible to nobody');

# ---------------------------------------------------------------- list, search, pages

my $tag = uniq('srch');
my @made = map { create_app("$tag app $_")->{app}{id} } 1 .. 5;
$j = json_ok('search by name', GET => "/admin/apps?q=$tag", undef, token => $admin);
is($j->{total}, 5, 'search: total');
is_deeply([map { $_->{id} } @{ $j->{apps} }], \@made, 'search: in id order');
$j = json_ok('page 2', GET => "/admin/apps?q=$tag&offset=2&limit=2", undef, token => $admin);
is_deeply([map { $_->{id} } @{ $j->{apps} }], [@made[2, 3]], 'page: offset 2 limit 2');
is($j->{total}, 5, 'page: total');
is($j->{offset}, 2, 'page: offset');
is($j->{limit}, 2, 'page: limit');
$j = json_ok('past the end', GET => "/admin/apps?q=$tag&offset=10", undef, token => $admin);
is_deeply($j->{apps}, [], 'past the end: empty');
is($j->{total}, 5, 'past the end: total still counted');
my $aid1 = sql("SELECT app_id FROM apps WHERE id = $made[0]");
$j = json_ok('search by app_id part', GET => '/admin/apps?q=' . substr($aid1, 5, 12), undef,
             token => $admin);
is_deeply([map { $_->{id} } @{ $j->{apps} }], [$made[0]], 'search: app_id substring');
$j = json_ok('search for a built-in', GET => '/admin/apps?q=sysSms', undef, token => $admin);
is_deeply([map { $_->{app_id} } @{ $j->{apps} }], ['sysSmsAssistant'], 'search: built-in app_id');
$j = json_ok('LIKE wildcards are literal', GET => '/admin/apps?q=%25', undef, token => $admin);
is($j->{total}, 0, 'q=% matches nothing');
json_err('bad limit', 400, 40008, GET => '/admin/apps?limit=0', undef, token => $admin);
json_err('bad q', 400, 40008, GET => '/admin/apps?q=%ff', undef, token => $admin);
json_err('unknown app', 404, 40401, GET => '/admin/apps/2147480001', undef, token => $admin);
json_err('non-numeric id', 404, 40401, GET => '/admin/apps/abc', undef, token => $admin);

# ---------------------------------------------------------------- logo files

my $gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
        . ",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
my (undef, $f) = api(POST => '/files?name=logo.gif', undef, token => $admin, raw => $gif,
                     type => 'image/gif');
my $logo = $f->{file}{id};
ok($logo, 'logo uploaded');
(undef, $f) = api(POST => '/files?name=notes.txt', undef, token => $admin, raw => 'plain text',
                  type => 'text/plain');
my $txt = $f->{file}{id};
ok($txt, 'text file uploaded');

# ---------------------------------------------------------------- patch

my ($d1, $d2) = (create_dept(), create_dept());
my ($u1) = create_user();
sleep 1;   # updated_at moves on
$naudit = count_rows('audit_log');
$j = json_ok('patch everything', PATCH => "/admin/apps/$id",
             { name => 'Expenses', description => '', callback_url => 'http://10.0.0.5:8080/cb',
               home_url => '', logo_file_id => $logo, enabled => JSON::PP::false,
               scope => { all => JSON::PP::false, depts => [$d2, $d1, $d1], users => [$u1] } },
             token => $admin);
my $p = $j->{app};
is($p->{name}, 'Expenses', 'patched name');
is($p->{description}, '', 'description cleared');
is($p->{callback_url}, 'http://10.0.0.5:8080/cb', 'patched callback_url');
is($p->{home_url}, '', 'home_url cleared');
is($p->{logo_file_id}, $logo, 'logo set');
is($p->{enabled}, JSON::PP::false, 'disabled');
is_deeply($p->{scope}, { all => JSON::PP::false, depts => [sort { $a <=> $b } $d1, $d2], users => [$u1] },
          'scope replaced (duplicates dropped)');
ok(!exists $j->{aes_key} && !exists $j->{callback_token}, 'patch: no secrets');
is($p->{key_fingerprint}, $app->{key_fingerprint}, 'key unchanged');
isnt($p->{updated_at}, $app->{updated_at}, 'updated_at moved');
is($p->{created_at}, $app->{created_at}, 'created_at kept');
is(count_rows('audit_log'), $naudit + 1, 'one audit row');
$au = audit_of('app.update', $id);
is($JSON->decode($au->[1] // '{}')->{name}, 'Expenses', 'audit detail: the change');
$j = json_ok('patch one field', PATCH => "/admin/apps/$id", { enabled => JSON::PP::true }, token => $admin);
is($j->{app}{name}, 'Expenses', 'other fields kept');
is_deeply($j->{app}{scope}{depts}, [sort { $a <=> $b } $d1, $d2], 'scope kept when not sent');
is($j->{app}{logo_file_id}, $logo, 'logo kept');
$j = json_ok('scope back to all', PATCH => "/admin/apps/$id", { scope => { all => JSON::PP::true } },
             token => $admin);
is_deeply($j->{app}{scope}, { all => JSON::PP::true, depts => [], users => [] }, 'scope replaced as a whole');
$j = json_ok('logo null clears', PATCH => "/admin/apps/$id", { logo_file_id => undef }, token => $admin);
is($j->{app}{logo_file_id}, undef, 'logo cleared');
json_err('patch unknown app', 404, 40401, PATCH => '/admin/apps/2147480001', { name => 'x' },
         token => $admin);
json_ok('unknown keys are ignored, also in the audit log', PATCH => "/admin/apps/$id",
        { description => 'big junk', junk => 'j' x 60000 }, token => $admin);
is_deeply($JSON->decode(audit_of('app.update', $id)->[1] // '{}'), { description => 'big junk' },
          'audit detail: only the fields read');
json_ok('an admin (role 1) may patch', PATCH => "/admin/apps/$id", { description => 'by admin' },
        token => $adm);

# ---------------------------------------------------------------- validation

my $before = sql('SELECT COUNT(*), MAX(updated_at), MD5(GROUP_CONCAT(name, description, callback_url, '
               . 'home_url, IFNULL(logo_file_id, 0), enabled, scope_all ORDER BY id)) FROM apps');
my $scope_before = sql('SELECT COUNT(*) FROM app_scope');
my @bad = (
    ['no name',               400, 40004, POST  => {}],
    ['empty name',            400, 40004, POST  => { name => '' }],
    ['empty name (patch)',    400, 40004, PATCH => { name => '' }],
    ['blank name',            400, 40004, POST  => { name => '   ' }],
    ['name not a string',     400, 40003, POST  => { name => 5 }],
    ['name too long',         400, 40005, POST  => { name => 'x' x 65 }],
    ['name 65 CJK characters', 400, 40005, POST => { name => "\x{4E2D}" x 65 }],
    ['name with a control',   400, 40006, POST  => { name => "a\x01b" }],
    ['name with a newline',   400, 40006, PATCH => { name => "a\nb" }],
    ['description too long',  400, 40005, POST  => { name => 'x', description => 'd' x 256 }],
    ['description type',      400, 40003, PATCH => { description => [] }],
    ['callback ftp',          400, 40006, POST  => { name => 'x', callback_url => 'ftp://h/x' }],
    ['callback no host',      400, 40006, POST  => { name => 'x', callback_url => 'http://' }],
    ['callback no host /',    400, 40006, POST  => { name => 'x', callback_url => 'https:///a' }],
    ['callback javascript',   400, 40006, PATCH => { callback_url => 'javascript:alert(1)' }],
    ['callback user info',    400, 40006, PATCH => { callback_url => 'http://u:p@evil.com/' }],
    ['callback with a space', 400, 40006, PATCH => { callback_url => 'http://h/a b' }],
    ['callback not ASCII',    400, 40006, PATCH => { callback_url => "http://h/\x{4E2D}" }],
    ['callback relative',     400, 40006, PATCH => { callback_url => '/cb' }],
    ['callback too long',     400, 40005, PATCH => { callback_url => 'http://h/' . ('a' x 1016) }],
    ['callback not a string', 400, 40003, PATCH => { callback_url => 1 }],
    ['home_url bad',          400, 40006, PATCH => { home_url => 'www.example.com' }],
    ['logo a string',         400, 40003, PATCH => { logo_file_id => "$logo" }],
    ['logo zero',             400, 40006, PATCH => { logo_file_id => 0 }],
    ['logo missing file',     404, 40401, PATCH => { logo_file_id => 2147480001 }],
    ['logo not an image',     400, 40006, PATCH => { logo_file_id => $txt }],
    ['enabled a string',      400, 40003, PATCH => { enabled => 'yes' }],
    ['enabled a number',      400, 40003, PATCH => { enabled => 1 }],
    ['scope an array',        400, 40003, PATCH => { scope => [1] }],
    ['scope a string',        400, 40003, PATCH => { scope => 'all' }],
    ['scope unknown key',     400, 40006, PATCH => { scope => { all => JSON::PP::true, dept => [1] } }],
    ['scope.all a number',    400, 40003, PATCH => { scope => { all => 1 } }],
    ['scope.depts an object', 400, 40003, PATCH => { scope => { depts => { a => 1 } } }],
    ['scope.depts strings',   400, 40003, PATCH => { scope => { depts => ['1'] } }],
    ['scope.depts floats',    400, 40003, PATCH => { scope => { depts => [1.5] } }],
    ['scope.users zero',      400, 40006, PATCH => { scope => { users => [0] } }],
    ['scope.depts negative',  400, 40006, PATCH => { scope => { depts => [-1] } }],
    ['scope too many users',  400, 40006, PATCH => { scope => { users => [1 .. 1001] } }],
    ['scope unknown dept',    404, 40402, PATCH => { scope => { depts => [$d1, 2147480001] } }],
    ['scope unknown user',    404, 40403, PATCH => { scope => { users => [$u1, 2147480001] } }],
    ['rights cannot be set',  400, 40006, POST  => { name => 'x', rights => 127 }],
    ['rights cannot be patched', 400, 40006, PATCH => { rights => 3 }],
    ['app_id cannot be set',  400, 40006, POST  => { name => 'x', app_id => 'ydX' }],
    ['aes_key cannot be set', 400, 40006, PATCH => { aes_key => 'k' x 43 . '=' }],
    ['builtin cannot be set', 400, 40006, PATCH => { builtin => JSON::PP::true }],
    ['empty patch',           400, 40004, PATCH => {}],
);
for my $b (@bad) {
    my ($name, $st, $code, $m, $body) = @$b;
    json_err($name, $st, $code, $m => $m eq 'POST' ? '/admin/apps' : "/admin/apps/$id", $body,
             token => $admin);
}
json_err('bad UTF-8', 400, 40002, POST => '/admin/apps', undef, token => $admin,
         raw => "{\"name\":\"a\xff\"}");
json_err('malformed JSON', 400, 40001, POST => '/admin/apps', undef, token => $admin,
         raw => '{"name":');
json_err('not an object', 400, 40001, PATCH => "/admin/apps/$id", undef, token => $admin,
         raw => '[1]');
json_err('no body', 400, 40001, POST => '/admin/apps', undef, token => $admin);
json_err('wrong content type', 415, 40007, POST => '/admin/apps', undef, token => $admin,
         raw => '{"name":"x"}', type => 'text/plain');
json_err('body over 64 KiB', 413, 41300, POST => '/admin/apps', undef, token => $admin,
         raw => $JSON->encode({ name => 'x', description => 'd' x 70000 }));
is(sql('SELECT COUNT(*), MAX(updated_at), MD5(GROUP_CONCAT(name, description, callback_url, '
     . 'home_url, IFNULL(logo_file_id, 0), enabled, scope_all ORDER BY id)) FROM apps'), $before,
   'nothing written by the bad requests');
is(sql('SELECT COUNT(*) FROM app_scope'), $scope_before, 'no scope rows written');
# what is allowed at the edges
$j = create_app('x' x 64, callback_url => 'HTTPS://[::1]:8443/cb#frag', description => 'd' x 255);
is($j->{app}{callback_url}, 'HTTPS://[::1]:8443/cb#frag', 'an IPv6 URL, upper-case scheme');
json_ok('1000 scope users are fine', PATCH => "/admin/apps/$j->{app}{id}",
        { scope => { users => [($u1) x 1000] } }, token => $admin);

# ---------------------------------------------------------------- built-in rules

my $sms = $by{sysSmsAssistant}{id};
$j = json_ok('rename a built-in', PATCH => "/admin/apps/$sms",
             { name => 'SMS', description => 'Replies', callback_url => 'http://sms.local/cb',
               enabled => JSON::PP::false }, token => $admin);
is($j->{app}{name}, 'SMS', 'built-in renamed');
is($j->{app}{enabled}, JSON::PP::false, 'built-in disabled');
is($j->{app}{rights}, 33, 'built-in rights unchanged');
for my $fld ([home_url => 'http://x/'], [logo_file_id => $logo], [scope => { all => JSON::PP::false }]) {
    json_err("built-in: $fld->[0] is fixed", 409, 40900, PATCH => "/admin/apps/$sms",
             { $fld->[0] => $fld->[1] }, token => $admin);
}
json_err('built-in apps cannot be deleted', 409, 40900, DELETE => "/admin/apps/$sms", undef,
         token => $admin);
is(sql("SELECT COUNT(*) FROM apps WHERE id = $sms"), 1, 'still there');
json_ok('restore the built-in', PATCH => "/admin/apps/$sms",
        { name => 'SMS gateway', description => 'Inbound SMS replies', callback_url => '',
          enabled => JSON::PP::true }, token => $admin);

# a built-in app gets its first key by rotation
$j = json_ok('first key of a built-in', POST => "/admin/apps/$org/rotate-key", undef, token => $admin);
ok(length($j->{aes_key} // '') == 44, 'built-in: key shown');
is($j->{app}{has_key}, JSON::PP::true, 'built-in: has a key now');
is($j->{app}{key_fingerprint}, substr(sha256_hex($j->{aes_key}), 0, 8), 'built-in: fingerprint');
is($j->{tokens_revoked}, 0, 'no tokens to revoke');

# ---------------------------------------------------------------- rotation

sub add_token {
    my ($app_pk, $n) = @_;
    sql("INSERT INTO app_tokens (token_hash, app_pk, expires_at) VALUES "
        . "(SHA2('tok-$app_pk-$n-$$', 256), $app_pk, UTC_TIMESTAMP() + INTERVAL 2 HOUR)");
}
add_token($id, 1);
add_token($id, 2);
add_token($id2, 1);
$naudit = count_rows('audit_log');
$j = json_ok('rotate the key', POST => "/admin/apps/$id/rotate-key", undef, token => $admin);
my $key2 = $j->{aes_key};
ok($key2 && length $key2 == 44 && length(decode_base64($key2)) == 32, 'new key shown');
isnt($key2, $key, 'the key changed');
is($j->{tokens_revoked}, 2, 'both tokens revoked');
is(count_rows('app_tokens', "app_pk = $id"), 0, "the app's tokens are gone");
is(count_rows('app_tokens', "app_pk = $id2"), 1, "another app's token stays");
is(sql("SELECT aes_key FROM apps WHERE id = $id"), $key2, 'new key stored');
is($j->{app}{key_fingerprint}, substr(sha256_hex($key2), 0, 8), 'new fingerprint');
ok(!exists $j->{callback_token}, 'rotate-key: the callback token is not shown');
$au = audit_of('app.rotate_key', $id);
is_deeply($JSON->decode($au->[1] // '{}'), { app_id => $app->{app_id}, tokens_revoked => 2 },
          'audit: rotate_key');
is(count_rows('audit_log'), $naudit + 1, 'one audit row');
(undef, undef, $graw) = api(GET => "/admin/apps/$id", undef, token => $admin);
unlike($graw, qr/\Q$key2\E/, 'the new key is not in a later get');

$j = json_ok('rotate the callback token', POST => "/admin/apps/$id/rotate-callback-token", undef,
             token => $admin);
my $cbt2 = $j->{callback_token};
like($cbt2 // '', qr/^[a-z0-9]{16}$/, 'new callback token');
isnt($cbt2, $cbt, 'token changed');
ok(!exists $j->{aes_key}, 'rotate-callback-token: the key is not shown');
is(sql("SELECT CONCAT(callback_token, ' ', aes_key) FROM apps WHERE id = $id"), "$cbt2 $key2",
   'token stored, key kept');
ok(audit_of('app.rotate_callback_token', $id)->[0], 'audit: rotate_callback_token');
json_err('rotate unknown', 404, 40401, POST => '/admin/apps/2147480001/rotate-key', undef,
         token => $admin);
json_err('rotate bad id', 404, 40401, POST => '/admin/apps/x1/rotate-callback-token', undef,
         token => $admin);

# ---------------------------------------------------------------- delete

json_ok('scope for the cascade', PATCH => "/admin/apps/$id2",
        { scope => { all => JSON::PP::false, users => [$u1], depts => [$d1] } }, token => $admin);
sql("INSERT INTO app_callbacks (app_pk, payload) VALUES ($id2, '{}')");
$j = json_ok('delete a custom app', DELETE => "/admin/apps/$id2", undef, token => $admin);
is($j->{id}, $id2, 'reply names it');
is(count_rows('apps', "id = $id2"), 0, 'app gone');
is(count_rows('app_tokens', "app_pk = $id2") + count_rows('app_scope', "app_pk = $id2")
   + count_rows('app_callbacks', "app_pk = $id2"), 0, 'tokens, scope and callbacks gone');
ok(audit_of('app.delete', $id2)->[0], 'audit: delete');
json_err('deleted: get is 404', 404, 40401, GET => "/admin/apps/$id2", undef, token => $admin);
json_err('deleted: delete again is 404', 404, 40401, DELETE => "/admin/apps/$id2", undef,
         token => $admin);

# ---------------------------------------------------------------- through /cgi

# what the admin API hands out is what an SDK needs: gettoken with the shown
# key works, the old key stops working at the rotation, a disabled or deleted
# app is refused
sub gettoken {
    my ($app_id, $key) = @_;
    my ($st, $r) = cgi_raw(POST => '/gettoken', $JSON->encode({ buin => 1, appId => $app_id,
                           encrypt => cgi_encrypt($key, $app_id, '' . time) }));
    return $r ? $r->{errcode} : "HTTP $st";
}
$j = create_app('Via cgi');
my $cg = { pk => $j->{app}{id}, app_id => $j->{app}{app_id}, key => $j->{aes_key} };
my $tok1 = eval { cgi_token($cg) };
ok($tok1, 'gettoken with the key from the creation reply') or diag($@);
is(count_rows('app_tokens', "app_pk = $cg->{pk}"), 1, 'the token is stored');
$j = json_ok('rotate the key of the cgi app', POST => "/admin/apps/$cg->{pk}/rotate-key", undef,
             token => $admin);
is($j->{tokens_revoked}, 1, 'its token revoked');
is(count_rows('app_tokens', "app_pk = $cg->{pk}"), 0, 'no token left for the old key');
isnt(gettoken($cg->{app_id}, $cg->{key}), 0, 'gettoken with the old key is refused');
is(gettoken($cg->{app_id}, $j->{aes_key}), 0, 'gettoken with the new key works');
json_ok('disable it', PATCH => "/admin/apps/$cg->{pk}", { enabled => JSON::PP::false }, token => $admin);
is(gettoken($cg->{app_id}, $j->{aes_key}), 100005, 'a disabled app: 100005');
json_ok('enable it', PATCH => "/admin/apps/$cg->{pk}", { enabled => JSON::PP::true }, token => $admin);
is(gettoken($cg->{app_id}, $j->{aes_key}), 0, 'enabled again: works');
json_ok('delete it', DELETE => "/admin/apps/$cg->{pk}", undef, token => $admin);
is(gettoken($cg->{app_id}, $j->{aes_key}), 100005, 'a deleted app: 100005');
is(count_rows('app_tokens', "app_pk = $cg->{pk}"), 0, 'its tokens went with it');
my $mon = $by{sysMsgMonitor}{id};
is(gettoken('sysMsgMonitor', cgi_key()), 100005, 'a built-in app without a key: 100005');
$j = json_ok('first key of sysMsgMonitor', POST => "/admin/apps/$mon/rotate-key", undef, token => $admin);
is(gettoken('sysMsgMonitor', $j->{aes_key}), 0, 'the built-in app works with its first key');

# ---------------------------------------------------------------- visibility

# Company > A > B, and C; users in A, B, C, the root, and one in both C and B
my $A = create_dept(name => uniq('A'));
my $B = create_dept(name => uniq('B'), parent_id => $A);
my $C = create_dept(name => uniq('C'));
my %u;
for my $w (['a', [$A]], ['b', [$B]], ['c', [$C]], ['r', [0]], ['cb', [$C, $B]]) {
    my ($uid, $acc, $pw) = create_user(departments => [map { +{ dept_id => $_ } } @{ $w->[1] }]);
    $u{ $w->[0] } = { id => $uid, token => scalar login_as($acc, $pw) };
}
my $vt = uniq('vis');
my %v;
$v{dept} = create_app("$vt dept", scope => { depts => [$A] }, home_url => 'https://a.example/',
                      logo_file_id => $logo, description => 'for A')->{app};
$v{user} = create_app("$vt user", scope => { users => [$u{c}{id}] })->{app};
$v{all} = create_app("$vt all")->{app};
$v{off} = create_app("$vt off", enabled => JSON::PP::false)->{app};
$v{none} = create_app("$vt none", scope => { all => JSON::PP::false })->{app};
$v{sub} = create_app("$vt sub", scope => { depts => [$B], users => [$u{r}{id}] })->{app};

my %expect = (a => [qw(all dept)], b => [qw(all dept sub)], c => [qw(all user)],
              r => [qw(all sub)], cb => [qw(all dept sub)]);
for my $who (sort keys %expect) {
    $j = json_ok("portal of $who", GET => '/apps', undef, token => $u{$who}{token});
    my @mine = sort map { $_->{name} =~ /^\Q$vt\E (\w+)$/ ? $1 : () } @{ $j->{apps} };
    is_deeply(\@mine, $expect{$who}, "user $who sees: @{ $expect{$who} }");
}
$j = json_ok('portal of a in A', GET => '/apps', undef, token => $u{a}{token});
my ($item) = grep { $_->{id} == $v{dept}{id} } @{ $j->{apps} };
is_deeply($item, { id => $v{dept}{id}, app_id => $v{dept}{app_id}, name => "$vt dept",
                   description => 'for A', home_url => 'https://a.example/', logo_file_id => $logo },
          'portal item: id, app_id, name, description, home_url, logo_file_id only');
ok((grep { $_->{app_id} eq 'sysMsgAssistant' } @{ $j->{apps} }), 'enabled built-ins are in the portal');

# the logo of an app in one's portal may be downloaded, others' not
my ($lst, undef, $lbody) = api(GET => "/files/$logo", undef, token => $u{b}{token});
is($lst, 200, 'a user who sees the app downloads its logo');
is($lbody, $gif, 'the logo bytes');
json_err('a user who does not see the app cannot', 404, 40401, GET => "/files/$logo", undef,
         token => $u{c}{token});

# moving a user moves what he sees
json_ok('move user a to C', PATCH => "/admin/users/$u{a}{id}", { departments => [{ dept_id => $C }] },
        token => $admin);
$j = json_ok('portal after the move', GET => '/apps', undef, token => $u{a}{token});
is_deeply([sort map { $_->{name} =~ /^\Q$vt\E (\w+)$/ ? $1 : () } @{ $j->{apps} }], ['all'],
          'user a, now in C, sees only the app for all');

# the same rule as an SQL condition for other handlers (YD_APP_VISIBLE_SQL,
# expanded by cpp from the header and run as a prepared statement)
my $root = $ENV{TEST_YOUDU_ROOT} // '.';
open(my $cpp, '-|', 'sh', '-c', "printf '#include \"ngx_http_youdu_apps.h\"\\nYD_APP_VISIBLE_SQL\\n' "
     . "| cpp -P -I '$root/ngx_youdu_module/src' -") or die "cpp: $!";
my $text = do { local $/; <$cpp> };
close $cpp;
my $cond = join '', $text =~ /"((?:[^"\\]|\\.)*)"/g;
like($cond, qr/\?.*\?/s, 'YD_APP_VISIBLE_SQL expands to SQL with two placeholders');
(my $q = $cond) =~ s/'/''/g;
sub visible {
    my ($uid, $app_pk) = @_;
    return sql("PREPARE yv FROM 'SELECT $q'; SET \@u = $uid, \@a = $app_pk; EXECUTE yv USING \@u, \@a");
}
my %bysql = (dept => [b => 1, cb => 1, c => 0, r => 0], user => [c => 1, b => 0],
             all => [r => 1], off => [r => 0, b => 0], none => [b => 0],
             sub => [r => 1, b => 1, cb => 1, a => 0]);
for my $app (sort keys %bysql) {
    my @pairs = @{ $bysql{$app} };
    while (my ($who, $want) = splice @pairs, 0, 2) {
        is(visible($u{$who}{id}, $v{$app}{id}), $want, "YD_APP_VISIBLE_SQL: $who / $app = $want");
    }
}
is(visible($u{r}{id}, 2147480001), 0, 'YD_APP_VISIBLE_SQL: no such app');

done_testing();
