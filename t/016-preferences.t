# User preferences synced across the user's devices (docs/api.md
# "Preferences"): defaults, partial updates merged key by key, validation,
# versions, the push event to every device of the user, and privacy.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Accounts;
use Youdu::WS;

my $mark = error_log_mark();
my $T = JSON::PP::true;
my $F = JSON::PP::false;

my %DEFAULTS = (
    dnd      => { enabled => $F, from => '22:00', to => '08:00' },
    notify   => { desktop => $T, preview => $T, sound => $T },
    language => 'zh-CN',
    lock     => { idle_minutes => 0 },
);

my ($uid, $acc, $pw) = db_user();
my ($tw) = signin($acc, $pw, device_type => 'web');
my ($tp) = signin($acc, $pw, device_type => 'android');

sub put { my ($name, $body, $tok) = @_; json_ok($name, PUT => '/me/preferences', $body, token => $tok // $tw) }
sub get { json_ok('read preferences', GET => '/me/preferences', undef, token => $_[0] // $tw) }

# ---------------------------------------------------------------- defaults

{
    my $j = get();
    is_deeply($j->{preferences}, \%DEFAULTS, 'a new user has the defaults');
    is($j->{version}, 0, 'version 0: nothing set yet');
    is(count_rows('user_preferences', "user_id = $uid"), 0, 'reading writes nothing');
    json_err('no token', 401, 40100, GET => '/me/preferences');
    json_err('no token for a change', 401, 40100, PUT => '/me/preferences', { language => 'en' });
    json_err('POST is not the method', 405, 40500, POST => '/me/preferences', { language => 'en' },
             token => $tw);
}

# ---------------------------------------------------------------- merge, push

{
    my $other = ws_auth($tp);          # the user's phone
    my $same = ws_auth($tw);           # and the browser making the change

    my $j = put('turn do-not-disturb on', { dnd => { enabled => $T } });
    is($j->{version}, 1, 'version 1');
    is_deeply($j->{preferences},
              { %DEFAULTS, dnd => { enabled => $T, from => '22:00', to => '08:00' } },
              'only dnd.enabled changed; from and to keep their defaults');

    my $ev = ws_json($other, 5);
    is_deeply($ev, { type => 'preferences', preferences => $j->{preferences}, version => 1 },
              'the other device gets the new preferences over the push channel');
    is_deeply(ws_json($same, 5), $ev, 'so does the device that made the change');

    $j = put('a window across midnight, a language, the idle lock',
             { dnd => { from => '23:30', to => '07:15' }, language => 'en',
               lock => { idle_minutes => 15 } }, $tp);
    is($j->{version}, 2, 'version 2');
    my %want = (%DEFAULTS, dnd => { enabled => $T, from => '23:30', to => '07:15' },
                language => 'en', lock => { idle_minutes => 15 });
    is_deeply($j->{preferences}, \%want, 'merged key by key into what was stored');
    is_deeply(ws_json($same, 5), { type => 'preferences', preferences => \%want, version => 2 },
              'the browser hears of the phone\'s change');
    is(ws_json($other, 5)->{version}, 2, 'and the phone itself');

    $j = put('notifications', { notify => { preview => $F, sound => $F } });
    $want{notify} = { desktop => $T, preview => $F, sound => $F };
    is_deeply($j->{preferences}, \%want, 'notify merged');
    is($j->{version}, 3, 'version 3');
    is(ws_json($other, 5)->{version}, 3, 'pushed');
    ws_json($same, 5);

    $j = get($tp);
    is_deeply($j, { errcode => 0, errmsg => 'ok', preferences => \%want, version => 3 },
              'the other device reads the same');

    $j = put('the same values again', { language => 'en', notify => { sound => $F } });
    is($j->{version}, 3, 'nothing changed: same version');
    is_deeply($j->{preferences}, \%want, 'same preferences');
    $j = put('an empty group changes nothing', { dnd => {} });
    is($j->{version}, 3, 'still version 3');
    ok(ws_expect_nothing($other, 1), 'no event when nothing changed');

    $j = put('a value equal to the default is kept as set', { dnd => { enabled => $F } });
    is($j->{version}, 4, 'version 4');
    is_deeply($j->{preferences}{dnd}, { enabled => $F, from => '23:30', to => '07:15' }, 'dnd');
    is(ws_json($other, 5)->{version}, 4, 'pushed');
    ws_json($same, 5);

    my $row = $JSON->decode(sql("SELECT prefs FROM user_preferences WHERE user_id = $uid"));
    is_deeply($row, { dnd => { enabled => $F, from => '23:30', to => '07:15' }, language => 'en',
                      lock => { idle_minutes => 15 }, notify => { preview => $F, sound => $F } },
              'the row keeps only what the user set');

    # edges of the ranges
    $j = put('00:00 and 23:59', { dnd => { from => '00:00', to => '23:59' } });
    is_deeply([@{ $j->{preferences}{dnd} }{qw(from to)}], ['00:00', '23:59'], 'accepted');
    $j = put('idle lock 1440', { lock => { idle_minutes => 1440 } });
    is($j->{preferences}{lock}{idle_minutes}, 1440, 'a day is the maximum');
    $j = put('back to zh-CN', { language => 'zh-CN' });
    is($j->{preferences}{language}, 'zh-CN', 'zh-CN');
    is($j->{version}, 7, 'version 7');
    ws_json($other, 5) for 1 .. 3;
    close $same->{sock};
    close $other->{sock};
}

# ---------------------------------------------------------------- validation

{
    my $before = get();
    my $p = '/me/preferences';
    my %t = (token => $tw);
    my @bad = (
        [ 'time 25:00', 40006, { dnd => { from => '25:00' } } ],
        [ 'time 24:00', 40006, { dnd => { to => '24:00' } } ],
        [ 'time 12:60', 40006, { dnd => { to => '12:60' } } ],
        [ 'time 7:00', 40006, { dnd => { from => '7:00' } } ],
        [ 'time 07:00:00', 40006, { dnd => { from => '07:00:00' } } ],
        [ 'time 07-00', 40006, { dnd => { from => '07-00' } } ],
        [ 'time empty', 40006, { dnd => { from => '' } } ],
        [ 'time as a number', 40003, { dnd => { from => 2200 } } ],
        [ 'language fr', 40006, { language => 'fr' } ],
        [ 'language zh-cn (case)', 40006, { language => 'zh-cn' } ],
        [ 'language empty', 40006, { language => '' } ],
        [ 'language as an object', 40003, { language => { code => 'en' } } ],
        [ 'language null', 40003, { language => undef } ],
        [ 'unknown key', 40006, { theme => 'dark' } ],
        [ 'unknown key next to a good one', 40006, { language => 'en', theme => 'dark' } ],
        [ 'unknown nested key', 40006, { dnd => { enabled => $T, days => [1, 2] } } ],
        [ 'the PIN never reaches the server', 40006, { lock => { pin => '1234' } } ],
        [ 'a nested key at the top', 40006, { enabled => $T } ],
        [ 'dnd not an object', 40003, { dnd => $T } ],
        [ 'notify as an array', 40003, { notify => [$T] } ],
        [ 'lock null', 40003, { lock => undef } ],
        [ 'dnd.enabled as a string', 40003, { dnd => { enabled => 'true' } } ],
        [ 'dnd.enabled as 1', 40003, { dnd => { enabled => 1 } } ],
        [ 'notify.sound null', 40003, { notify => { sound => undef } } ],
        [ 'idle_minutes as a string', 40003, { lock => { idle_minutes => '5' } } ],
        [ 'idle_minutes as a boolean', 40003, { lock => { idle_minutes => $T } } ],
        [ 'idle_minutes 1441', 40006, { lock => { idle_minutes => 1441 } } ],
        [ 'idle_minutes -1', 40006, { lock => { idle_minutes => -1 } } ],
        [ 'nothing to change', 40004, {} ],
    );
    for my $b (@bad) {
        my ($name, $code, $body) = @$b;
        json_err($name, 400, $code, PUT => $p, $body, %t);
    }
    json_err('idle_minutes 1.5', 400, 40003, PUT => $p, undef, raw => '{"lock":{"idle_minutes":1.5}}', %t);
    json_err('malformed JSON', 400, 40001, PUT => $p, undef, raw => '{"language": ', %t);
    json_err('an array', 400, 40001, PUT => $p, undef, raw => '[{"language":"en"}]', %t);
    json_err('a string', 400, 40001, PUT => $p, undef, raw => '"en"', %t);
    json_err('no body', 400, 40001, PUT => $p, undef, %t);
    json_err('duplicate keys', 400, 40001, PUT => $p, undef,
             raw => '{"language":"en","language":"zh-CN"}', %t);
    json_err('bad UTF-8', 400, 40002, PUT => $p, undef, raw => "{\"language\":\"e\xffn\"}", %t);
    json_err('wrong content type', 415, 40007, PUT => $p, undef, raw => '{"language":"en"}',
             type => 'text/plain', %t);
    json_err('body over 16 KiB', 413, 41300, PUT => $p, undef,
             raw => '{"language":"en","x":"' . ('x' x 17000) . '"}', %t);
    my $after = get();
    is_deeply($after, $before, 'no bad request changed anything');
}

# ---------------------------------------------------------------- privacy

{
    my ($oid, $oacc, $opw) = db_user();
    my ($to) = signin($oacc, $opw);
    my $ws_mine = ws_auth($tw);
    my $ws_theirs = ws_auth($to);

    my $j = get($to);
    is_deeply($j->{preferences}, \%DEFAULTS, 'another user sees his own (default) preferences');
    is($j->{version}, 0, 'at version 0');

    $j = put('he changes his', { language => 'en', dnd => { enabled => $T } }, $to);
    is($j->{version}, 1, 'his version 1');
    is(ws_json($ws_theirs, 5)->{version}, 1, 'his device is told');
    ok(ws_expect_nothing($ws_mine, 1), 'the first user\'s devices are not');
    my $mine = get();
    is($mine->{version}, 7, 'the first user\'s version did not move');
    is($mine->{preferences}{language}, 'zh-CN', 'nor his language');

    # the account is deleted: its preferences go with it
    json_ok('delete the other user', DELETE => "/admin/users/$oid", undef, token => admin_token());
    is(count_rows('user_preferences', "user_id = $oid"), 0, 'his row is gone');
}

# concurrent first changes of one user: one row, every change counted
{
    my ($cid, $cacc, $cpw) = db_user();
    my ($tc) = signin($cacc, $cpw);
    my @kids;
    for my $i (0 .. 5) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my ($st) = api(PUT => '/me/preferences', { lock => { idle_minutes => $i + 1 } },
                           token => $tc);
            exit($st == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $ok = 0;
    for (@kids) { waitpid($_, 0); $ok++ if $? == 0 }
    is($ok, 6, 'six concurrent first changes all succeed');
    my $j = get($tc);
    is($j->{version}, 6, 'each one is a version');
    ok($j->{preferences}{lock}{idle_minutes} >= 1 && $j->{preferences}{lock}{idle_minutes} <= 6,
       'the last one wins');
}

my @bad = grep { /\[(alert|crit|emerg)\]|AddressSanitizer/ } split /\n/, error_log_since($mark);
ok(!@bad, 'no alert or crash in the error log') or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

done_testing();
