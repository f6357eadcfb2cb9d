# Conversations: create (direct, multi, group), list, details, rename,
# members, admins, dissolve, settings; roles and membership checks; every
# refused change leaves the messaging tables untouched.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Youdu::Test;
use Youdu::Msg;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my ($ua, $ub, $uc, $ud, $ue) = map { new_user() } 1 .. 5;
my ($st, $j, $before);

sub unchanged { my ($b4, $name) = @_; is(msg_state(), $b4, "$name: nothing was written") }

# --- direct: created once, then the same one (idempotent both ways)
$j = json_ok('direct: create', POST => '/conversations', { kind => 'direct', user_id => $ub->{id} },
             token => $ua->{token});
my $dm = $j->{conversation};
is($dm->{kind}, 'direct', 'direct: kind');
is($dm->{name}, $ub->{name}, 'direct: name is the other user');
is($dm->{peer}{id}, $ub->{id}, 'direct: peer id');
is($dm->{member_count}, 2, 'direct: 2 members');
is($dm->{last_seq}, 0, 'direct: no message yet');
($st, $j) = api(POST => '/conversations', { kind => 'direct', user_id => $ub->{id} }, token => $ua->{token});
is($st, 200, 'direct again: 200');
is($j->{conversation}{id}, $dm->{id}, 'direct again: same conversation');
($st, $j) = api(POST => '/conversations', { kind => 'direct', user_id => $ua->{id} }, token => $ub->{token});
is($j->{conversation}{id}, $dm->{id}, 'direct from the other side: same conversation');
is($j->{conversation}{name}, $ua->{name}, 'direct from the other side: named after the peer');
is(db("SELECT COUNT(*) FROM conversations WHERE direct_key = '" . join(':', sort { $a <=> $b } $ua->{id}, $ub->{id}) . "'"),
   1, 'direct: one row');

# --- bad input, nothing written
$before = msg_state();
json_err('no token', 401, 40100, POST => '/conversations', { kind => 'direct', user_id => $ub->{id} });
json_err('bad token', 401, 40101, POST => '/conversations', { kind => 'direct', user_id => $ub->{id} },
         token => 'x.y.z');
json_err('malformed JSON', 400, 40001, POST => '/conversations', undef, raw => '{"kind":', token => $ua->{token});
json_err('bad UTF-8', 400, 40002, POST => '/conversations', undef,
         raw => qq({"kind":"group","name":"\xff\xfe","user_ids":[$ub->{id}]}), token => $ua->{token});
json_err('kind missing', 400, 40004, POST => '/conversations', { user_id => $ub->{id} }, token => $ua->{token});
json_err('kind wrong type', 400, 40003, POST => '/conversations', { kind => 1 }, token => $ua->{token});
json_err('kind unknown', 400, 40006, POST => '/conversations', { kind => 'channel' }, token => $ua->{token});
json_err('direct: user_id missing', 400, 40004, POST => '/conversations', { kind => 'direct' }, token => $ua->{token});
json_err('direct: user_id string', 400, 40003, POST => '/conversations', { kind => 'direct', user_id => "$ub->{id}" },
         token => $ua->{token});
json_err('direct: self', 400, 40006, POST => '/conversations', { kind => 'direct', user_id => $ua->{id} },
         token => $ua->{token});
json_err('direct: no such user', 404, 40403, POST => '/conversations', { kind => 'direct', user_id => 999999999 },
         token => $ua->{token});
json_err('group: name missing', 400, 40004, POST => '/conversations', { kind => 'group', user_ids => [$ub->{id}] },
         token => $ua->{token});
json_err('group: name too long', 400, 40005, POST => '/conversations',
         { kind => 'group', name => 'x' x 65, user_ids => [$ub->{id}] }, token => $ua->{token});
json_err('group: name with control char', 400, 40006, POST => '/conversations',
         { kind => 'group', name => "a\x01", user_ids => [$ub->{id}] }, token => $ua->{token});
json_err('group: user_ids missing', 400, 40004, POST => '/conversations', { kind => 'group', name => 'g' },
         token => $ua->{token});
json_err('group: user_ids not an array', 400, 40003, POST => '/conversations',
         { kind => 'group', name => 'g', user_ids => $ub->{id} }, token => $ua->{token});
json_err('group: user_ids of strings', 400, 40003, POST => '/conversations',
         { kind => 'group', name => 'g', user_ids => ["$ub->{id}"] }, token => $ua->{token});
json_err('group: user id 0', 400, 40006, POST => '/conversations',
         { kind => 'group', name => 'g', user_ids => [0] }, token => $ua->{token});
json_err('group: unknown user', 404, 40403, POST => '/conversations',
         { kind => 'group', name => 'g', user_ids => [$ub->{id}, 999999999] }, token => $ua->{token});
json_err('group: over 5000 members', 400, 40006, POST => '/conversations',
         { kind => 'group', name => 'g', user_ids => [1 .. 5001] }, token => $ua->{token});
json_err('multi: only the creator', 400, 40006, POST => '/conversations',
         { kind => 'multi', user_ids => [$ua->{id}] }, token => $ua->{token});
json_err('multi: over 200 members', 400, 40006, POST => '/conversations',
         { kind => 'multi', user_ids => [1 .. 201] }, token => $ua->{token});
# a disabled user cannot be added
my $off = new_user();
api(PATCH => "/admin/users/$off->{id}", { enable_state => -1 }, token => admin_token());
json_err('group: disabled user', 404, 40403, POST => '/conversations',
         { kind => 'group', name => 'g', user_ids => [$ub->{id}, $off->{id}] }, token => $ua->{token});
json_err('direct: disabled user', 404, 40403, POST => '/conversations', { kind => 'direct', user_id => $off->{id} },
         token => $ua->{token});
unchanged($before, 'refused creations');

# --- group: the creator is owner; a system message is seq 1
my $gname = Youdu::Test::uniq('群');
($st, $j) = api(POST => '/conversations',
    { kind => 'group', name => $gname, user_ids => [$ub->{id}, $uc->{id}, $ub->{id}, $ua->{id}] }, token => $ua->{token});
is($st, 201, 'group: 201');
my $g = $j->{conversation};
is($g->{kind}, 'group', 'group: kind');
is($g->{name}, $gname, 'group: name');
is($g->{owner_id}, $ua->{id}, 'group: owner');
is($g->{my_role}, 2, 'group: my role is owner');
is($g->{member_count}, 3, 'group: duplicates and the creator counted once');
is($g->{last_seq}, 1, 'group: seq 1 written');
is($j->{message}{seq}, 1, 'group: the creation event is returned');
is($j->{message}{kind}, 6, 'group: a system event');
is($j->{message}{body}{event}, 'created', 'group: "created"');
is($j->{message}{body}{by}, $ua->{id}, 'group: by the creator');
is($j->{message}{body}{by_name}, $ua->{name}, 'group: by_name');
is_deeply([sort { $a <=> $b } @{ $j->{message}{body}{user_ids} }], [sort { $a <=> $b } $ub->{id}, $uc->{id}],
          'group: the members added');
is(db("SELECT GROUP_CONCAT(user_id, ':', role ORDER BY role DESC, user_id) FROM conversation_members WHERE conv_id = $g->{id}"),
   join(',', "$ua->{id}:2", map { "$_:0" } sort { $a <=> $b } $ub->{id}, $uc->{id}), 'group: roles stored');

# --- multi: an ad hoc chat without name
($st, $j) = api(POST => '/conversations', { kind => 'multi', user_ids => [$ub->{id}, $ud->{id}] }, token => $ua->{token});
is($st, 201, 'multi: 201');
my $m = $j->{conversation};
is($m->{kind}, 'multi', 'multi: kind');
is($m->{name}, '', 'multi: no name');
is($m->{member_count}, 3, 'multi: 3 members');
is($j->{message}{body}{event}, 'created', 'multi: created event');

# --- list: pinned first, then by last activity; unread counts
$j = json_ok('list', GET => '/conversations', undef, token => $ub->{token});
my @ids = map { $_->{id} } @{ $j->{conversations} };
is_deeply([@ids[0 .. 2]], [$m->{id}, $g->{id}, $dm->{id}], 'list: by last activity');
my ($lg) = grep { $_->{id} == $g->{id} } @{ $j->{conversations} };
is($lg->{unread}, 1, 'list: the creation event is unread');
is($lg->{member_count}, 3, 'list: member_count');
is($lg->{last_message}{seq}, 1, 'list: last message seq');
is($lg->{last_message}{kind}, 6, 'list: last message kind');
ok(defined $lg->{last_message}{created_at}, 'list: last message time');
my ($ld) = grep { $_->{id} == $dm->{id} } @{ $j->{conversations} };
is($ld->{name}, $ua->{name}, 'list: direct named after the peer');
is($ld->{peer}{id}, $ua->{id}, 'list: direct peer id');
is($ld->{last_message}, undef, 'list: direct without message');
json_ok('settings: pin', PUT => "/conversations/$dm->{id}/settings", { pinned => JSON::PP::true }, token => $ub->{token});
$j = json_ok('list after pin', GET => '/conversations', undef, token => $ub->{token});
is($j->{conversations}[0]{id}, $dm->{id}, 'list: pinned first');
ok($j->{conversations}[0]{pinned}, 'list: pinned flag');
$j = json_ok('list page', GET => '/conversations?offset=1&limit=1', undef, token => $ub->{token});
is(scalar @{ $j->{conversations} }, 1, 'list: limit');
is($j->{conversations}[0]{id}, $m->{id}, 'list: offset');
ok($j->{has_more}, 'list: has_more');
json_err('list: bad limit', 400, 40008, GET => '/conversations?limit=0', undef, token => $ub->{token});
json_err('list: no token', 401, 40100, GET => '/conversations');
$j = json_ok('list of an outsider', GET => '/conversations', undef, token => $ue->{token});
is(scalar @{ $j->{conversations} }, 0, 'list: an outsider has none');

# --- settings
$before = msg_state();
json_err('settings: empty', 400, 40004, PUT => "/conversations/$g->{id}/settings", {}, token => $ub->{token});
json_err('settings: wrong type', 400, 40003, PUT => "/conversations/$g->{id}/settings", { muted => 1 },
         token => $ub->{token});
json_err('settings: not a member', 404, 40401, PUT => "/conversations/$g->{id}/settings",
         { muted => JSON::PP::true }, token => $ue->{token});
json_err('settings: no such conversation', 404, 40401, PUT => "/conversations/999999999/settings",
         { muted => JSON::PP::true }, token => $ub->{token});
json_err('settings: bad id', 404, 40401, PUT => "/conversations/abc/settings",
         { muted => JSON::PP::true }, token => $ub->{token});
unchanged($before, 'refused settings');
$j = json_ok('settings: mute', PUT => "/conversations/$g->{id}/settings", { muted => JSON::PP::true },
             token => $ub->{token});
ok($j->{conversation}{muted}, 'settings: muted');
ok(!$j->{conversation}{pinned}, 'settings: pinned untouched');
is(db("SELECT CONCAT(muted, pinned) FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $ub->{id}"), '10',
   'settings: stored for that member only');
is(db("SELECT CONCAT(muted, pinned) FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $ua->{id}"), '00',
   'settings: others untouched');

# --- details
$j = json_ok('details', GET => "/conversations/$g->{id}", undef, token => $uc->{token});
is($j->{conversation}{id}, $g->{id}, 'details: id');
is($j->{conversation}{my_role}, 0, 'details: my role');
is(scalar @{ $j->{members} }, 3, 'details: members');
is($j->{members}[0]{user_id}, $ua->{id}, 'details: owner first');
is($j->{members}[0]{role}, 2, 'details: owner role');
is($j->{members}[0]{name}, $ua->{name}, 'details: member names');
$j = json_ok('details paged', GET => "/conversations/$g->{id}?offset=1&limit=1", undef, token => $uc->{token});
is(scalar @{ $j->{members} }, 1, 'details: member page');
json_err('details: outsider', 404, 40401, GET => "/conversations/$g->{id}", undef, token => $ue->{token});
json_err('details: bad limit', 400, 40008, GET => "/conversations/$g->{id}?limit=x", undef, token => $uc->{token});

# --- rename: group owner and admins only
$before = msg_state();
json_err('rename: member', 403, 40300, PATCH => "/conversations/$g->{id}", { name => 'x' }, token => $uc->{token});
json_err('rename: outsider', 404, 40401, PATCH => "/conversations/$g->{id}", { name => 'x' }, token => $ue->{token});
json_err('rename: empty group name', 400, 40004, PATCH => "/conversations/$g->{id}", { name => '' },
         token => $ua->{token});
json_err('rename: name missing', 400, 40004, PATCH => "/conversations/$g->{id}", {}, token => $ua->{token});
json_err('rename: too long', 400, 40005, PATCH => "/conversations/$g->{id}", { name => 'n' x 65 },
         token => $ua->{token});
json_err('rename: wrong type', 400, 40003, PATCH => "/conversations/$g->{id}", { name => 5 }, token => $ua->{token});
json_err('rename: malformed', 400, 40001, PATCH => "/conversations/$g->{id}", undef, raw => '[', token => $ua->{token});
json_err('rename: direct', 403, 40300, PATCH => "/conversations/$dm->{id}", { name => 'x' }, token => $ua->{token});
json_err('rename: multi by a non-creator', 403, 40300, PATCH => "/conversations/$m->{id}", { name => 'x' },
         token => $ub->{token});
unchanged($before, 'refused renames');
$j = json_ok('rename: owner', PATCH => "/conversations/$g->{id}", { name => "$gname-2" }, token => $ua->{token});
is($j->{conversation}{name}, "$gname-2", 'rename: new name');
is($j->{message}{seq}, 2, 'rename: event seq 2');
is($j->{message}{body}{event}, 'renamed', 'rename: event');
is($j->{message}{body}{name}, "$gname-2", 'rename: event carries the name');
$j = json_ok('rename multi: creator', PATCH => "/conversations/$m->{id}", { name => 'Lunch' }, token => $ua->{token});
is($j->{conversation}{name}, 'Lunch', 'rename multi');

# --- admins: owner only
$before = msg_state();
json_err('admin: by a member', 403, 40300, POST => "/conversations/$g->{id}/admins", { user_id => $uc->{id} },
         token => $ub->{token});
json_err('admin: not a member', 404, 40403, POST => "/conversations/$g->{id}/admins", { user_id => $ue->{id} },
         token => $ua->{token});
json_err('admin: the owner', 409, 40900, POST => "/conversations/$g->{id}/admins", { user_id => $ua->{id} },
         token => $ua->{token});
json_err('admin: user_id missing', 400, 40004, POST => "/conversations/$g->{id}/admins", {}, token => $ua->{token});
json_err('admin: user_id string', 400, 40003, POST => "/conversations/$g->{id}/admins", { user_id => 'b' },
         token => $ua->{token});
json_err('admin: multi has none', 403, 40300, POST => "/conversations/$m->{id}/admins", { user_id => $ub->{id} },
         token => $ua->{token});
json_err('admin remove: not an admin', 404, 40401, DELETE => "/conversations/$g->{id}/admins/$uc->{id}",
         undef, token => $ua->{token});
unchanged($before, 'refused admin changes');
$j = json_ok('admin: add', POST => "/conversations/$g->{id}/admins", { user_id => $ub->{id} }, token => $ua->{token});
is($j->{message}{body}{event}, 'admin_added', 'admin: event');
is(db("SELECT role FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $ub->{id}"), 1, 'admin: stored');
json_err('admin: already', 409, 40900, POST => "/conversations/$g->{id}/admins", { user_id => $ub->{id} },
         token => $ua->{token});

# an admin renames and adds members, but does not manage admins
json_ok('rename: admin', PATCH => "/conversations/$g->{id}", { name => "$gname-3" }, token => $ub->{token});
json_err('admin by an admin', 403, 40300, POST => "/conversations/$g->{id}/admins", { user_id => $uc->{id} },
         token => $ub->{token});

# --- members: add
$before = msg_state();
json_err('add: by a member', 403, 40300, POST => "/conversations/$g->{id}/members", { user_ids => [$ud->{id}] },
         token => $uc->{token});
json_err('add: outsider', 404, 40401, POST => "/conversations/$g->{id}/members", { user_ids => [$ud->{id}] },
         token => $ue->{token});
json_err('add: empty', 400, 40006, POST => "/conversations/$g->{id}/members", { user_ids => [] },
         token => $ua->{token});
json_err('add: missing', 400, 40004, POST => "/conversations/$g->{id}/members", {}, token => $ua->{token});
json_err('add: wrong type', 400, 40003, POST => "/conversations/$g->{id}/members", { user_ids => 'x' },
         token => $ua->{token});
json_err('add: unknown user', 404, 40403, POST => "/conversations/$g->{id}/members",
         { user_ids => [999999999] }, token => $ua->{token});
json_err('add: already members', 409, 40900, POST => "/conversations/$g->{id}/members",
         { user_ids => [$uc->{id}] }, token => $ua->{token});
json_err('add: direct', 403, 40300, POST => "/conversations/$dm->{id}/members", { user_ids => [$uc->{id}] },
         token => $ua->{token});
json_err('add: multi by a non-creator', 403, 40300, POST => "/conversations/$m->{id}/members",
         { user_ids => [$uc->{id}] }, token => $ub->{token});
unchanged($before, 'refused member additions');
my $seq = db("SELECT last_seq FROM conversations WHERE id = $g->{id}");
$j = json_ok('add: by an admin', POST => "/conversations/$g->{id}/members", { user_ids => [$ud->{id}, $uc->{id}] },
             token => $ub->{token});
is($j->{message}{seq}, $seq + 1, 'add: event on the sequence');
is($j->{message}{body}{event}, 'member_added', 'add: member_added');
is_deeply($j->{message}{body}{user_ids}, [$ud->{id}], 'add: only the new member listed');
is($j->{conversation}{member_count}, 4, 'add: member_count');
is(db("SELECT joined_seq FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $ud->{id}"), $seq + 1,
   'add: joined_seq is the event seq');

# --- members: kick and leave
$before = msg_state();
json_err('kick: by a member', 403, 40300, DELETE => "/conversations/$g->{id}/members/$ud->{id}", undef,
         token => $uc->{token});
json_err('kick: admin kicks the owner', 403, 40300, DELETE => "/conversations/$g->{id}/members/$ua->{id}", undef,
         token => $ub->{token});
json_err('kick: not a member', 404, 40403, DELETE => "/conversations/$g->{id}/members/$ue->{id}", undef,
         token => $ua->{token});
json_err('kick: bad uid', 404, 40401, DELETE => "/conversations/$g->{id}/members/x", undef, token => $ua->{token});
json_err('leave: the owner', 409, 40900, DELETE => "/conversations/$g->{id}/members/$ua->{id}", undef,
         token => $ua->{token});
json_err('leave: direct', 403, 40300, DELETE => "/conversations/$dm->{id}/members/$ua->{id}", undef,
         token => $ua->{token});
unchanged($before, 'refused removals');
$j = json_ok('kick: by an admin', DELETE => "/conversations/$g->{id}/members/$ud->{id}", undef, token => $ub->{token});
is($j->{message}{body}{event}, 'member_removed', 'kick: event');
is(db("SELECT left_seq FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $ud->{id}"), $j->{message}{seq},
   'kick: left at the event seq');
is(db("SELECT member_count FROM conversations WHERE id = $g->{id}"), 3, 'kick: member_count');
json_err('kicked: no details', 403, 40300, GET => "/conversations/$g->{id}", undef, token => $ud->{token});
$j = json_ok('kicked: list', GET => '/conversations', undef, token => $ud->{token});
ok(!grep({ $_->{id} == $g->{id} } @{ $j->{conversations} }), 'kicked: gone from the list');
$j = json_ok('leave', DELETE => "/conversations/$g->{id}/members/$uc->{id}", undef, token => $uc->{token});
is($j->{message}{body}{event}, 'member_left', 'leave: event');
json_err('leave twice', 403, 40300, DELETE => "/conversations/$g->{id}/members/$uc->{id}", undef,
         token => $uc->{token});
# an admin is removed by the owner only; re-adding a leaver
json_ok('owner removes admin role', DELETE => "/conversations/$g->{id}/admins/$ub->{id}", undef, token => $ua->{token});
is(db("SELECT role FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $ub->{id}"), 0, 'admin removed');
$j = json_ok('re-add a leaver', POST => "/conversations/$g->{id}/members", { user_ids => [$uc->{id}] },
             token => $ua->{token});
is(db("SELECT CONCAT(joined_seq, ':', left_at IS NULL) FROM conversation_members WHERE conv_id = $g->{id} AND user_id = $uc->{id}"),
   "$j->{message}{seq}:1", 'rejoined: reads from the new event on');

# --- dissolve: group owner only
$before = msg_state();
json_err('dissolve: member', 403, 40300, DELETE => "/conversations/$g->{id}", undef, token => $ub->{token});
json_err('dissolve: multi', 403, 40300, DELETE => "/conversations/$m->{id}", undef, token => $ua->{token});
json_err('dissolve: direct', 403, 40300, DELETE => "/conversations/$dm->{id}", undef, token => $ua->{token});
json_err('dissolve: outsider', 404, 40401, DELETE => "/conversations/$g->{id}", undef, token => $ue->{token});
unchanged($before, 'refused dissolves');
$j = json_ok('dissolve', DELETE => "/conversations/$g->{id}", undef, token => $ua->{token});
is($j->{message}{body}{event}, 'dissolved', 'dissolve: event');
ok(db("SELECT dissolved_at IS NOT NULL FROM conversations WHERE id = $g->{id}"), 'dissolve: stored');
json_err('dissolved: no details', 404, 40401, GET => "/conversations/$g->{id}", undef, token => $ua->{token});
json_err('dissolved: no rename', 404, 40401, PATCH => "/conversations/$g->{id}", { name => 'x' },
         token => $ua->{token});
$j = json_ok('dissolved: list', GET => '/conversations', undef, token => $ub->{token});
ok(!grep({ $_->{id} == $g->{id} } @{ $j->{conversations} }), 'dissolved: gone from the list');
$j = json_ok('dissolved: history still readable', GET => "/conversations/$g->{id}/messages", undef,
             token => $ub->{token});
is($j->{messages}[-1]{body}{event}, 'dissolved', 'dissolved: the last event');

# --- multi: the creator manages it; he cannot leave, the others can
my $mm = new_conv($ua, kind => 'multi', user_ids => [$ub->{id}, $uc->{id}, $ud->{id}]);
$j = json_ok('multi: rename to no name', PATCH => "/conversations/$mm", { name => '' }, token => $ua->{token});
is($j->{conversation}{name}, '', 'multi: name cleared');
json_err('multi: a member cannot kick', 403, 40300, DELETE => "/conversations/$mm/members/$uc->{id}", undef,
         token => $ub->{token});
json_ok('multi: the creator kicks', DELETE => "/conversations/$mm/members/$uc->{id}", undef, token => $ua->{token});
json_ok('multi: a member leaves', DELETE => "/conversations/$mm/members/$ub->{id}", undef, token => $ub->{token});
json_err('multi: the creator cannot leave', 409, 40900, DELETE => "/conversations/$mm/members/$ua->{id}", undef,
         token => $ua->{token});
is(db("SELECT member_count FROM conversations WHERE id = $mm"), 2, 'multi: member_count after kick and leave');
json_ok('multi: the creator adds back', POST => "/conversations/$mm/members", { user_ids => [$ub->{id}] },
        token => $ua->{token});
is(db("SELECT member_count FROM conversations WHERE id = $mm"), 3, 'multi: member_count after re-adding');

# --- the 5,000 member limit (users inserted directly: creating them through
# the API would hash 5,000 passwords)
my $tag = "bulk$$" . int(rand(1e6));
sql("INSERT INTO users (account, name) SELECT CONCAT('$tag-', seq), CONCAT('Bulk ', seq) FROM seq_1_to_5000");
my @bulk = map { $_->[0] + 0 } sql_rows("SELECT id FROM users WHERE account LIKE '$tag-%' ORDER BY id");
is(scalar @bulk, 5000, 'bulk users');
my $l = push_listen();
($st, $j) = api(POST => '/conversations', { kind => 'group', name => 'big', user_ids => [@bulk[0 .. 4998]] },
                token => $ua->{token});
is($st, 201, 'group of 5,000: created');
is($j->{conversation}{member_count}, 5000, 'group of 5,000: member_count');
my $big = $j->{conversation}{id};
my ($n) = grep { $_->{conv} == $big } push_collect($l, wait => 2);
is(scalar @{ $n->{to} || [] }, 5000, 'group of 5,000: the notice lists 5,000 members');
$before = msg_state();
json_err('group: a 5,001st member', 400, 40006, POST => "/conversations/$big/members",
         { user_ids => [$bulk[4999]] }, token => $ua->{token});
json_err('group: created with 5,001', 400, 40006, POST => '/conversations',
         { kind => 'group', name => 'too big', user_ids => \@bulk }, token => $ua->{token});
unchanged($before, 'over the member limit');
($st, $j) = send_text($ua, $big, 'to everyone');
is($st, 201, 'group of 5,000: send');
$j = json_ok('group of 5,000: details page', GET => "/conversations/$big?limit=500&offset=4500", undef,
             token => $ua->{token});
is(scalar @{ $j->{members} }, 500, 'group of 5,000: last member page');
# the bulk users bypassed the org write protocol: remove them again
sql("DELETE FROM conversations WHERE id = $big");
sql("DELETE FROM users WHERE account LIKE '$tag-%'");

# --- method and route checks
json_err('unknown method', 405, 40500, PUT => "/conversations/$g->{id}", { name => 'x' }, token => $ua->{token});

done_testing();
