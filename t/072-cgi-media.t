#!/usr/bin/perl
# /cgi media and avatars (PROTOCOL.md 4.3, 4.5 items 15-16) and the REST
# avatar routes: multipart forms of the Java and the Go/PHP shape, the file
# as base64 ciphertext both ways, the raw "Encrypt" header, every failure
# leaving nothing stored, a 5 MB upload beside a responsive event loop.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use MIME::Base64;
use IO::Socket::INET;
use Compress::Zlib ();
use Digest::SHA qw(sha256_hex);
use Crypt::PRNG qw(random_bytes);
use POSIX ();
use Time::HiRes qw(sleep);
use Youdu::Test;
use Youdu::Cgi;

my $J = JSON::PP->new->utf8->canonical;
my $mark = error_log_mark();

# --- helpers ---------------------------------------------------------------

sub chunk { my ($type, $data) = @_; my $c = $type . $data;
            return pack('N', length $data) . $c . pack('N', Compress::Zlib::crc32($c)) }

sub png {
    my ($w, $h) = @_;
    my $rows = '';
    for my $y (0 .. $h - 1) {
        $rows .= "\0" . join('', map { pack('C3', $_ % 256, $y % 256, ($_ * $y) % 256) } 0 .. $w - 1);
    }
    return "\x89PNG\r\n\x1a\n" . chunk('IHDR', pack('NNC5', $w, $h, 8, 2, 0, 0, 0))
         . chunk('IDAT', Compress::Zlib::compress($rows)) . chunk('IEND', '');
}

sub png_size { my ($b) = @_; return unpack('NN', substr($b, 16, 8)) }

# a raw HTTP exchange: (status, raw header block, body)
sub raw_http {
    my ($method, $path, $body, %h) = @_;
    my ($host, $port) = $URL =~ m{//([^:/]+):(\d+)} or die "bad URL $URL";
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 60)
        or die "connect: $!";
    my $req = "$method $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n";
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    $req .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;
    print $s $req, "\r\n", $body // '';
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($head, $content) = split /\r\n\r\n/, $resp, 2;
    my ($st) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
    return ($st // 0, $head // '', $content // '');
}

sub envelope {
    my ($app, $payload) = @_;
    return $J->encode({ buin => 1000, appId => $app->{app_id},
                        encrypt => cgi_encrypt($app->{key}, $app->{app_id}, $J->encode($payload)) });
}

# a multipart body: shape java (text parts with charset and 8bit, file part
# filename="file" text/plain, last) or go (plain fields, the file part
# first, with its real name)
sub form {
    my (%o) = @_;
    my $b = $o{boundary} // ('----' . unpack('H*', random_bytes(12)));
    my (@parts, $filepart);
    for my $f (@{ $o{fields} }) {
        my ($name, $value) = @$f;
        push @parts, $o{shape} eq 'java'
            ? "Content-Disposition: form-data; name=\"$name\"\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
              . "Content-Transfer-Encoding: 8bit\r\n\r\n$value"
            : "Content-Disposition: form-data; name=\"$name\"\r\n\r\n$value";
    }
    if (defined $o{file}) {
        $filepart = $o{shape} eq 'java'
            ? "Content-Disposition: form-data; name=\"file\"; filename=\"file\"\r\nContent-Type: text/plain\r\n"
              . "Content-Transfer-Encoding: binary\r\n\r\n$o{file}"
            : "Content-Disposition: form-data; name=\"file\"; filename=\"$o{filename}\"\r\n"
              . "Content-Type: application/octet-stream\r\n\r\n$o{file}";
        if ($o{shape} eq 'java') { push @parts, $filepart } else { unshift @parts, $filepart }
    }
    my $body = join('', map { "--$b\r\n$_\r\n" } @parts) . "--$b--\r\n";
    return ($body, "multipart/form-data; boundary=$b");
}

my $tokens = {};
sub token_of { my ($app) = @_; return $tokens->{$app->{app_id}} //= cgi_token($app) }

# upload_request(app, path, meta, bytes, %o) -> (path?query, body, content type)
# o: shape, query, file_b64 (instead of encrypting bytes), trailer, extra fields, no_file
sub upload_request {
    my ($app, $path, $meta, $bytes, %o) = @_;
    my $shape = $o{shape} // 'java';
    my $enc_meta = cgi_encrypt($app->{key}, $app->{app_id}, $J->encode($meta));
    my $file = $o{file_b64} // cgi_encrypt($app->{key}, $o{trailer} // $app->{app_id}, $bytes);
    my @fields = (['buin', 1000], ['appId', $app->{app_id}], ['encrypt', $enc_meta], @{ $o{fields} || [] });
    my ($body, $ct) = form(shape => $shape, fields => \@fields, file => $o{no_file} ? undef : $file,
                           filename => $meta->{name} // 'upload.bin');
    $ct = $o{content_type} if defined $o{content_type};
    $body = $o{body} if defined $o{body};
    my %q = (accessToken => token_of($app), %{ $o{query} || {} });
    my $qs = join '&', map { "$_=$q{$_}" } sort keys %q;
    return ("$path?$qs", $body, $ct);
}

# upload(same) -> (errcode, data, json)
sub upload { return upload_send($_[0], upload_request(@_)) }

sub upload_send {
    my ($app, $pq, $body, $ct) = @_;
    my ($st, $j) = cgi_raw(POST => $pq, $body, 'Content-Type' => $ct);
    die "HTTP $st" unless $st == 200;
    my $data;
    if ($j->{encrypt}) {
        my ($plain, $trailer) = cgi_decrypt($app->{key}, $j->{encrypt});
        $data = $J->decode($plain);
    }
    return ($j->{errcode}, $data, $j);
}

# get(app, mediaId) -> (status, header block, Encrypt plaintext hash or undef, body bytes or undef, json)
sub media_get {
    my ($app, $id) = @_;
    my ($st, $head, $body) = raw_http(POST => "/cgi/media/get?accessToken=" . token_of($app),
                                      envelope($app, { mediaId => $id }),
                                      'Content-Type' => 'application/json');
    my ($enc) = $head =~ /^Encrypt: (\S+)\r?$/m;
    return ($st, $head, undef, undef, eval { $J->decode($body) }) unless $enc;
    my ($meta) = cgi_decrypt($app->{key}, $enc);
    my ($bytes, $trailer) = cgi_decrypt($app->{key}, $body);
    die "download made for $trailer" unless $trailer eq $app->{app_id};
    return ($st, $head, $J->decode($meta), $bytes, undef);
}

sub counts { return sql("SELECT (SELECT COUNT(*) FROM files), (SELECT COUNT(*) FROM app_media)") }

my $app = cgi_app(rights => 1);
my $other = cgi_app(rights => 1);

# --- upload and get: file, image, voice, video ----------------------------
my $doc = join('', map { chr($_ % 256) } 0 .. 70_000) . "end\n";
my ($code, $data, $j) = upload($app, '/media/upload', { type => 'file', name => "report \x{4e2d}.pdf" }, $doc);
is($code, 0, 'upload a file (Java multipart shape)') or diag explain $j;
my $id = $data->{mediaId};
like($id, qr/^[0-9a-f]{32}$/, 'mediaId: 32 hex characters');
like($j->{encrypt} ? (cgi_decrypt($app->{key}, $j->{encrypt}))[0] : '', qr/"mediaId":"/, 'mediaId is a JSON string');
is(sql("SELECT CONCAT(m.type, ' ', IFNULL(f.uploader_id, 'NULL'), ' ', f.size) FROM app_media m "
       . "JOIN files f ON f.id = m.file_id WHERE m.media_id = '$id' AND m.app_pk = $app->{pk}"),
   'file NULL ' . length($doc), 'an app_media row and a files row without uploader');

my ($st, $head, $meta, $bytes) = media_get($app, $id);
is($st, 200, 'media/get: HTTP 200');
like($head, qr/^Encrypt: /m, 'the header is spelled exactly "Encrypt"');
ok(defined $bytes && $bytes eq $doc, 'the body decrypts to the exact bytes');
my $name = "report \x{4e2d}.pdf"; utf8::encode($name);
$name = Encode::decode_utf8($name) if 0;
is($meta->{size}, length($doc), 'Encrypt header: size');
is($meta->{name}, "report \x{4e2d}.pdf", 'Encrypt header: name');

my $s = cgi_ok('media/search', $app, '/media/search', { mediaId => $id });
is_deeply($s, { name => "report \x{4e2d}.pdf", size => length($doc) }, 'search: name and size');

my $img = png(600, 300);
($code, $data, $j) = upload($app, '/media/upload', { fileType => 'image', name => 'chart.png' }, $img, shape => 'go');
is($code, 0, 'upload an image (Go shape, file part first, fileType)') or diag explain $j;
my $img_id = $data->{mediaId};
is(sql("SELECT CONCAT(f.is_image, f.width, 'x', f.height, ' ', f.has_thumb, ' ', f.mime) FROM app_media m "
       . "JOIN files f ON f.id = m.file_id WHERE m.media_id = '$img_id'"),
   '1600x300 1 image/png', 'the image is checked, measured, and has a thumbnail');
($st, $head, $meta, $bytes) = media_get($app, $img_id);
ok($bytes && $bytes eq $img, 'the image comes back byte for byte');

for my $t (qw(voice video)) {
    my $b = random_bytes(3000 + length $t);
    ($code, $data) = upload($app, '/media/upload', { type => $t, name => "clip.$t" }, $b,
                            shape => $t eq 'voice' ? 'java' : 'go');
    is($code, 0, "upload $t");
    (undef, undef, $meta, $bytes) = media_get($app, $data->{mediaId});
    ok($bytes && $bytes eq $b, "$t comes back exactly");
    is(sql("SELECT type FROM app_media WHERE media_id = '$data->{mediaId}'"), $t, "stored as type $t");
}

# sizes around the AES blocks, the padding and the server's 256 KB reading
# chunks (196608 bytes of ciphertext), as one line and wrapped as MIME
# writers do (whitespace is skipped)
for my $n (1, 11, 12, 13, 31, 32, 33, 196_575, 196_576, 196_608, 196_609, 400_000) {
    my $b = random_bytes($n);
    for my $wrap (0, 1) {
        my $c = cgi_encrypt($app->{key}, $app->{app_id}, $b);
        $c =~ s/(.{76})/$1\r\n/g if $wrap;
        ($code, $data) = upload($app, '/media/upload', { type => 'file', name => "n$n" }, undef, file_b64 => $c);
        (undef, undef, $meta, $bytes) = $code ? () : media_get($app, $data->{mediaId});
        ok(!$code && $bytes && $bytes eq $b && $meta->{size} == $n,
           "$n bytes" . ($wrap ? ', base64 wrapped at 76' : '') . ': stored and read back exactly');
    }
}

# --- failures store nothing -------------------------------------------------
my $before = counts();
sub fails {
    my ($name, $want, @args) = @_;
    my ($c, undef, $jj) = upload(@args);
    is($c, $want, "$name: errcode $want") or diag explain $jj;
    like($jj->{errmsg} // '', qr/\S/, "$name: an errmsg");
}
fails('a text file declared as image', 200009, $app, '/media/upload', { type => 'image', name => 'x.png' }, "not an image at all");
fails('an unknown type', 200009, $app, '/media/upload', { type => 'doc', name => 'x' }, "abc");
fails('no type', 200009, $app, '/media/upload', { name => 'x' }, "abc");
fails('a damaged PNG', 200009, $app, '/media/upload', { type => 'image', name => 'x.png' }, substr($img, 0, 60));
fails('no file part', 200008, $app, '/media/upload', { type => 'file', name => 'x' }, 'abc', no_file => 1);
fails('a body that is no form', 200008, $app, '/media/upload', { type => 'file', name => 'x' }, 'abc',
      body => 'just some bytes', );
fails('not multipart at all', 200008, $app, '/media/upload', { type => 'file', name => 'x' }, 'abc',
      content_type => 'application/json');
fails('a form without its closing delimiter', 200008, $app, '/media/upload', { type => 'file', name => 'x' }, 'abc',
      body => "--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc", content_type => 'multipart/form-data; boundary=zz');

my $ct = cgi_encrypt($app->{key}, $app->{app_id}, $doc);
my $raw = decode_base64($ct);
# flipping a bit of the next-to-last block flips the same bit of the padding
substr($raw, -17, 1) = chr(ord(substr($raw, -17, 1)) ^ 0x80);
fails('tampered ciphertext (padding)', 100006, $app, '/media/upload', { type => 'file', name => 'x' }, undef,
      file_b64 => encode_base64($raw, ''));
$raw = decode_base64($ct);
# the first block's bit flips reach the length field (bytes 16..19)
substr($raw, 0, 1) = chr(ord(substr($raw, 0, 1)) ^ 0x40);
fails('tampered ciphertext (length)', 100006, $app, '/media/upload', { type => 'file', name => 'x' }, undef,
      file_b64 => encode_base64($raw, ''));
fails('truncated ciphertext', 100006, $app, '/media/upload', { type => 'file', name => 'x' }, undef,
      file_b64 => substr($ct, 0, length($ct) - 8));
fails('not base64', 100006, $app, '/media/upload', { type => 'file', name => 'x' }, undef,
      file_b64 => '!!!!' . $ct);
fails('the file made for another appId', 100005, $app, '/media/upload', { type => 'file', name => 'x' }, 'abc',
      trailer => $other->{app_id});
fails('the form names another appId', 100005, $app, '/media/upload', { type => 'file', name => 'x' }, 'abc',
      fields => [['appId', $other->{app_id}]]);
($code, undef, $j) = upload($app, '/media/upload', { type => 'file', name => 'big' }, 'a' x (8 * 1024 * 1024 + 1000));
is($code, 100003, 'the file is larger than youdu_upload_max_size (8m in tests): 100003');
like($j->{errmsg}, qr/more than the youdu_upload_max_size limit of 8388608/, 'the errmsg names the limit');
($code, undef, $j) = upload($app, '/media/upload', { type => 'image', name => 'big.png' },
                            substr($img, 0, 100) . ('b' x (2 * 1024 * 1024 + 10)));
is($code, 100003, 'an image larger than youdu_image_max_size (2m in tests): 100003');
like($j->{errmsg}, qr/youdu_image_max_size/, 'the errmsg names that limit');
{
    my ($pq) = upload_request($app, '/media/upload', { type => 'file', name => 'x' }, 'abc');
    my ($st2, $j2) = cgi_raw(POST => $pq, 'x' x 11_400_000, 'Content-Type' => 'multipart/form-data; boundary=zz');
    is($j2->{errcode}, 5, 'a body over 4/3 of the limit by its Content-Length: 5, refused unread');
    like($j2->{errmsg}, qr/too large/, 'request body too large');
}
is(counts(), $before, 'no files or app_media row from any failure');
ok(-d run_dir() . '/files', 'the storage folder exists');
is(scalar(() = glob(run_dir() . '/files/.part-*')), 0, 'no temp file left in the storage');

# --- whose media ------------------------------------------------------------
($st, $head, $meta, $bytes, $j) = media_get($other, $id);
is($j && $j->{errcode}, 200010, "another app's mediaId: 200010");
is($st, 200, 'as HTTP 200');
unlike($head, qr/^Encrypt:/mi, 'and no Encrypt header');
cgi_err("search of another app's media", 200010, $other, '/media/search', { mediaId => $id });
cgi_err('an unknown mediaId', 200010, $app, '/media/get', { mediaId => 'f' x 32 });
cgi_err('a mediaId of the wrong shape', 200010, $app, '/media/search', { mediaId => '../../etc/passwd' });
cgi_err('no mediaId', 100003, $app, '/media/search', { foo => 1 });
my $norights = cgi_app(rights => 2);
cgi_err('an app without the message right reads only its own media', 200010, $norights, '/media/search', { mediaId => $id });
cgi_err('and may not upload', 3, $norights, '/media/upload', undef);

# media created for the app (a user sent it a file): readable
my $fid = sql("SELECT file_id FROM app_media WHERE media_id = '$img_id'");
sql("INSERT INTO app_media (media_id, app_pk, file_id, type) VALUES ('" . ('a' x 32) . "', $other->{pk}, $fid, 'image')");
(undef, undef, $meta, $bytes) = media_get($other, 'a' x 32);
ok($bytes && $bytes eq $img, 'media given to the app by a row of its own is readable');

# --- 5 MB while the event loop serves others ---------------------------------
# the request is made first: while the child sends it, only the server works
my $big = random_bytes(5 * 1024 * 1024);
my @big_req = upload_request($app, '/media/upload', { type => 'file', name => 'big.bin' }, $big);
my $t0 = Time::HiRes::time();
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    my ($c, $d) = upload_send($app, @big_req);
    open my $f, '>', run_dir() . "/072-big.id" or POSIX::_exit(2);
    print $f ($d->{mediaId} // '');
    close $f;
    POSIX::_exit($c == 0 ? 0 : 1);
}
my ($pings, $during) = (0, 0);
my $http = HTTP::Tiny->new(timeout => 10);
my $done = 0;
while (!$done) {
    my $r = $http->get("$URL/api/v1/ping");
    # a ping counts when the upload was still running once it was answered
    $done = waitpid($pid, POSIX::WNOHANG()) == $pid;
    if ($r->{status} == 200) { $pings++; $during++ unless $done }
    sleep 0.01 unless $done;
}
is($? >> 8, 0, 'a 5 MB upload succeeds');
diag(sprintf('5 MB upload (6.7 MB form): %.2f s, %d pings answered meanwhile', Time::HiRes::time() - $t0, $pings));
ok($during > 0, "the event loop answered /api/v1/ping during it ($during times)");
my $big_id = do { open my $f, '<', run_dir() . "/072-big.id" or die; local $/; <$f> };
$t0 = Time::HiRes::time();
(undef, undef, $meta, $bytes) = media_get($app, $big_id);
diag(sprintf('5 MB media/get: %.2f s', Time::HiRes::time() - $t0));
is($meta->{size}, length $big, 'the 5 MB file: size');
ok($bytes && sha256_hex($bytes) eq sha256_hex($big), 'the 5 MB file comes back exactly');

# --- avatars through /cgi -----------------------------------------------------
my $org = cgi_app(rights => 2);
my ($uid, $acc) = create_user();
my ($uid2, $acc2) = create_user();
my $v0 = sql("SELECT version FROM org_state WHERE id = 1");
($code, $data, $j) = upload($org, '/avatar/set', { name => 'me.png' }, png(300, 200), query => { userId => $acc });
is($code, 0, 'avatar/set (Java shape, userId in the query)') or diag explain $j;
ok(!exists $j->{encrypt}, 'a global reply');
ok(sql("SELECT version FROM org_state WHERE id = 1") > $v0, 'the org version moved');
is(sql("SELECT version FROM users WHERE id = $uid"), sql("SELECT version FROM org_state WHERE id = 1"),
   "the user's row carries it");
is(sql("SELECT COUNT(*) FROM org_changes WHERE target_id = $uid AND kind = 2 AND version = (SELECT version FROM org_state)"),
   1, 'an org change for the user');
is(sql("SELECT COUNT(*) FROM audit_log WHERE action = 'cgi.avatar.set' AND actor_id IS NULL AND target = '$uid' "
       . "AND detail LIKE '%$org->{app_id}%'"), 1, 'audited with the app as actor');
is(sql("SELECT CONCAT(f.width, 'x', f.height, ' ', f.thumb_width, 'x', f.thumb_height, ' ', f.mime) FROM users u "
       . "JOIN files f ON f.id = u.avatar_file_id WHERE u.id = $uid"),
   '200x200 96x96 image/png', 'cropped square (200) with a small version (96)');

sub avatar_get {
    my ($a, $q) = @_;
    my ($st2, $h2, $body2) = raw_http(GET => "/cgi/avatar/get?accessToken=" . token_of($a) . "&$q");
    my ($enc) = $h2 =~ /^Encrypt: (\S+)\r?$/m;
    return (undef, undef, eval { $J->decode($body2) }) unless $enc;
    my ($m) = cgi_decrypt($a->{key}, $enc);
    my ($b) = cgi_decrypt($a->{key}, $body2);
    return ($J->decode($m), $b, undef);
}
my ($m, $large) = avatar_get($org, "userId=$acc&size=0");
is_deeply([png_size($large // '')], [200, 200], 'size=0: the large avatar');
is($m->{name}, "${acc}_large.png", 'named <userId>_large.png');
is($m->{size}, length $large, 'size is the bytes sent');
my ($m2, $small) = avatar_get($org, "userId=$acc");
is_deeply([png_size($small // '')], [96, 96], 'default: the small avatar');
is($m2->{name}, "${acc}_small.png", 'named <userId>_small.png');
isnt(length $small, length $large, 'large and small differ');

($code, undef, $j) = upload($org, '/avatar/set', { type => 'image', name => 'x.jpg' }, png(1000, 800),
                            shape => 'go', fields => [['userId', $acc2]]);
is($code, 0, 'avatar/set HDJ style: userId as a form field, type image') or diag explain $j;
($m, $large) = avatar_get($org, "userId=$acc2&size=0");
is_deeply([png_size($large // '')], [480, 480], 'a large photo becomes 480 x 480');

$before = counts();
my $uv = sql("SELECT version FROM users WHERE id = $uid");
($code) = upload($org, '/avatar/set', { name => 'x' }, 'plain text', query => { userId => $acc });
is($code, 200009, 'an avatar that is no image: 200009');
($code) = upload($org, '/avatar/set', { type => 'file', name => 'x' }, png(20, 20), query => { userId => $acc });
is($code, 200009, 'an avatar of type file: 200009');
($code) = upload($org, '/avatar/set', { name => 'x' }, png(20, 20), query => { userId => 'nobody-' . $$ });
is($code, 300225, 'an unknown userId: 300225');
($code) = upload($org, '/avatar/set', { name => 'x' }, png(20, 20));
is($code, 300201, 'no userId: 300201');
($code) = upload($app, '/avatar/set', { name => 'x' }, png(20, 20), query => { userId => $acc });
is($code, 3, 'an app without the org right: 3');
is(counts(), $before, 'failed avatar sets store nothing');
is(sql("SELECT version FROM users WHERE id = $uid"), $uv, 'and change no user');

my ($uid3, $acc3, $pw3) = create_user();
(undef, undef, $j) = avatar_get($org, "userId=$acc3");
is($j->{errcode}, 200010, 'a user without avatar: 200010');
(undef, undef, $j) = avatar_get($org, "userId=nobody-$$");
is($j->{errcode}, 300225, 'an unknown user: 300225');
(undef, undef, $j) = avatar_get($org, "userId=$acc&size=7");
is($j->{errcode}, 100003, 'size 7: 100003');

# --- REST ------------------------------------------------------------------------
my $tok3 = login_as($acc3, $pw3);
my ($rst, $rj) = api(GET => "/org/users/$uid3/avatar", undef, token => $tok3);
is($rst, 404, 'REST: no avatar is a 404');
is($rj->{errcode}, 40401, 'with a JSON error');
my ($gst, undef, $gbody, $gh) = api(GET => "/org/users/$uid/avatar", undef, token => $tok3);
is($gst, 200, 'REST: another user\'s avatar');
is($gh->{'content-type'}, 'image/png', 'as image/png');
ok($gh->{etag}, 'with an ETag');
like($gh->{'cache-control'} // '', qr/no-cache/, 'and a Cache-Control');
is_deeply([png_size($gbody)], [96, 96], 'small by default');
($gst, undef, $gbody) = api(GET => "/org/users/$uid/avatar?size=large", undef, token => $tok3);
is_deeply([png_size($gbody)], [200, 200], 'size=large');
($gst) = api(GET => "/org/users/$uid/avatar?size=huge", undef, token => $tok3);
is($gst, 400, 'size=huge: 400');
($gst) = api(GET => "/org/users/$uid/avatar");
is($gst, 401, 'anonymous: 401');

$v0 = sql("SELECT version FROM org_state WHERE id = 1");
($rst, $rj) = api(PUT => '/me/avatar', undef, token => $tok3, raw => png(64, 40), type => 'image/png');
is($rst, 200, 'PUT /me/avatar with the image as the body') or diag explain $rj;
ok(sql("SELECT version FROM org_state WHERE id = 1") > $v0, 'an org write');
($gst, undef, $gbody) = api(GET => "/org/users/$uid3/avatar?size=large", undef, token => $tok3);
is_deeply([png_size($gbody)], [40, 40], 'now served: 40 x 40 (never enlarged)');
my ($fb, $fct) = form(shape => 'go', fields => [], file => png(100, 100), filename => 'a.png');
($rst) = api(POST => '/me/avatar', undef, token => $tok3, raw => $fb, type => $fct);
is($rst, 200, 'POST /me/avatar with a form');
($rst, $rj) = api(PUT => '/me/avatar', undef, token => $tok3, raw => 'hello', type => 'image/png');
is($rst, 415, 'not an image: 415');
($rst) = api(PUT => "/admin/users/$uid2/avatar", undef, token => $tok3, raw => png(10, 10), type => 'image/png');
is($rst, 403, 'an employee may not set another user\'s');
($rst) = api(PUT => "/admin/users/$uid2/avatar", undef, token => admin_token(), raw => png(10, 10), type => 'image/png');
is($rst, 200, 'an admin may');
($rst) = api(PUT => "/admin/users/2147480001/avatar", undef, token => admin_token(), raw => png(10, 10), type => 'image/png');
is($rst, 404, 'of a user who does not exist: 404');

# --- face recognition settings ----------------------------------------------------
my $face = cgi_ok('face/conf.get', $app, '/face/conf.get', undef);
is_deeply($face, { key => '', secret => '' }, 'empty strings when not configured');

is(scalar(() = glob(run_dir() . '/files/.{part,get}-*')), 0, 'no temp file of uploads or downloads is left');

my $log = error_log_since($mark);
unlike($log, qr/\[alert\]|\[emerg\]|AddressSanitizer/, 'no alerts in the error log');

done_testing();
