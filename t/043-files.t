# Files and images: upload (limits, names, magic bytes, corrupt images and
# decompression bombs), download (bytes, headers, Range, ETag), thumbnails,
# image/file messages seen through sync and push, who may download (members
# within joined_seq..left_seq, not after a recall, never a stranger), signed
# URLs, concurrent uploads.  The test stack runs with youdu_upload_max_size
# 8m and youdu_image_max_size 2m (build.sh).
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode ();
use Compress::Zlib ();
use Digest::SHA qw(sha256_hex hmac_sha256_hex);
use File::Find ();
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep);
use Youdu::Test;
use Youdu::Msg;

binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);

my ($ua, $ub, $uc, $ud, $ue, $uf) = map { new_user() } 1 .. 6;
my ($st, $j, $raw, $h);

# --- helpers

sub esc {
    my $s = Encode::encode_utf8(shift);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub chunk { my ($type, $data) = @_; my $c = $type . $data;
            return pack('N', length $data) . $c . pack('N', Compress::Zlib::crc32($c)) }

# an RGB PNG of w x h (a gradient), or with a forged IHDR / damaged pixels
sub png {
    my ($w, $hh, %o) = @_;
    my $rows = '';
    for my $y (0 .. $hh - 1) {
        $rows .= "\0" . join('', map { pack('C3', $_ % 256, $y % 256, ($_ + $y) % 256) } 0 .. $w - 1);
    }
    my $idat = $o{bad_pixels} ? substr(Compress::Zlib::compress($rows), 0, 40) . ('x' x 40)
                              : Compress::Zlib::compress($rows);
    my ($iw, $ih) = ($o{claim_w} // $w, $o{claim_h} // $hh);
    return "\x89PNG\r\n\x1a\n" . chunk('IHDR', pack('NNC5', $iw, $ih, 8, 2, 0, 0, 0))
         . chunk('IDAT', $idat) . chunk('IEND', '');
}

sub png_size { my ($b) = @_; return unpack('NN', substr($b, 16, 8)) }

my $gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
        . ",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

sub upload {
    my ($user, $name, $bytes, $type, %o) = @_;
    my $q = defined $name ? '?name=' . esc($name) : '';
    return api(POST => "/files$q", undef, token => $user->{token}, raw => $bytes,
               type => $type // 'application/octet-stream', %o);
}

sub get_file {
    my ($user, $path, %hdr) = @_;
    return api(GET => $path, undef, ($user ? (token => $user->{token}) : ()), headers => \%hdr);
}

my $FILES = run_dir() . '/files';
my $BODY_TMP = run_dir() . '/tmp/body';
sub count_files { my ($dir) = @_; my $n = 0;
                  File::Find::find(sub { $n++ if -f $_ }, $dir) if -d $dir; return $n }
sub files_rows { my ($u) = @_; return db("SELECT COUNT(*) FROM files WHERE uploader_id = $u->{id}") }

# --- upload and download round trip, Chinese name
my $doc = join('', map { chr(int(rand(256))) } 1 .. 300_000);
my $name = '季度报告 2026.pdf';
($st, $j) = upload($ua, $name, $doc, 'application/pdf');
is($st, 201, 'upload: 201');
my $f1 = $j->{file};
is($f1->{name}, $name, 'upload: the Chinese name kept');
is($f1->{size}, length $doc, 'upload: size');
is($f1->{mime}, 'application/pdf', 'upload: mime from Content-Type');
is($f1->{sha256}, sha256_hex($doc), 'upload: sha256 of the bytes');
ok(!$f1->{is_image}, 'upload: a PDF is no image');
is($f1->{thumb}, undef, 'upload: no thumbnail');
is($f1->{uploader_id}, $ua->{id}, 'upload: uploader');
ok(-f "$FILES/" . substr($f1->{sha256}, 0, 2) . "/$f1->{sha256}", 'upload: stored by content hash');

($st, $j, $raw, $h) = get_file($ua, "/files/$f1->{id}");
is($st, 200, 'download: 200 for the uploader');
ok($raw eq $doc, 'download: the same bytes');
is(sha256_hex($raw), $f1->{sha256}, 'download: same sha256');
is($h->{'content-type'}, 'application/pdf', 'download: Content-Type');
is($h->{'content-length'}, length $doc, 'download: Content-Length');
is($h->{'x-content-type-options'}, 'nosniff', 'download: nosniff');
is($h->{'content-disposition'},
   q{attachment; filename="} . ('_' x 12) . q{ 2026.pdf"; filename*=UTF-8''}
   . '%E5%AD%A3%E5%BA%A6%E6%8A%A5%E5%91%8A%202026.pdf', 'download: RFC 5987 Content-Disposition');
my $etag = $h->{etag};
is($etag, qq{"$f1->{sha256}"}, 'download: ETag');
is($h->{'accept-ranges'}, 'bytes', 'download: Accept-Ranges');

($st, $j, $raw, $h) = get_file($ua, "/files/$f1->{id}", 'If-None-Match' => $etag);
is($st, 304, 'ETag: 304 Not Modified');
is($raw // '', '', 'ETag: no body');

($st, $j, $raw, $h) = get_file($ua, "/files/$f1->{id}", Range => 'bytes=1000-1999');
is($st, 206, 'Range: 206');
ok($raw eq substr($doc, 1000, 1000), 'Range: the requested bytes');
is($h->{'content-range'}, 'bytes 1000-1999/' . length($doc), 'Range: Content-Range');

($st, $j, $raw, $h) = api(HEAD => "/files/$f1->{id}", undef, token => $ua->{token});
is($st, 200, 'HEAD: 200');
is($h->{'content-length'}, length $doc, 'HEAD: Content-Length');
is($raw // '', '', 'HEAD: no body');

# --- names and bodies refused or cleaned
my $rows_before = files_rows($ua);
my $stored_before = count_files($FILES);
json_err('no name', 400, 40004, POST => '/files', undef, token => $ua->{token}, raw => 'abc',
         type => 'text/plain');
json_err('empty body', 400, 40011, POST => '/files?name=a.txt', undef, token => $ua->{token},
         raw => '', type => 'text/plain');
json_err('a name that is only dots', 400, 40006, POST => '/files?name=..', undef,
         token => $ua->{token}, raw => 'abc', type => 'text/plain');
json_err('a name with a control character', 400, 40008, POST => '/files?name=a%0Ab', undef,
         token => $ua->{token}, raw => 'abc', type => 'text/plain');
json_err('no token', 401, 40100, POST => '/files?name=a.txt', undef, raw => 'abc', type => 'text/plain');
is(files_rows($ua), $rows_before, 'refused uploads: no row');

($st, $j) = upload($ua, '../../etc/pass<w>d', 'root:x', 'weird<type>');
is($st, 201, 'path in the name: stored');
is($j->{file}{name}, 'pass_w_d', 'path in the name: only the last part, unsafe characters replaced');
is($j->{file}{mime}, 'application/octet-stream', 'a malformed Content-Type: application/octet-stream');

# --- size limits: 413 and nothing stored (rows, storage, spooled temp files)
$rows_before = files_rows($ua);
$stored_before = count_files($FILES);
my $big = 'z' x (8 * 1024 * 1024 + 1);
json_err('over youdu_upload_max_size (Content-Length)', 413, 41300,
         POST => '/files?name=big.bin', undef, token => $ua->{token}, raw => $big,
         type => 'application/octet-stream');
my $sent = 0;
json_err('over youdu_upload_max_size (chunked, no length)', 413, 41300,
         POST => '/files?name=big.bin', undef, token => $ua->{token},
         raw => sub { return undef if $sent >= 9 * 1024 * 1024; $sent += 65536; return 'y' x 65536 },
         type => 'application/octet-stream');
json_err('image over youdu_image_max_size', 413, 41300,
         POST => '/files?name=big.png', undef, token => $ua->{token},
         raw => "\x89PNG\r\n\x1a\n" . ('p' x (2 * 1024 * 1024)), type => 'image/png');
$sent = 0;
json_err('image over youdu_image_max_size (chunked)', 413, 41300,
         POST => '/files?name=big.png', undef, token => $ua->{token},
         raw => sub { return undef if $sent >= 3 * 1024 * 1024; $sent += 65536; return 'q' x 65536 },
         type => 'image/png');
# the refusal comes while the chunked body is still arriving, not after it
{
    my ($host, $port) = $URL =~ m{^http://([^:/]+):(\d+)} or die "cannot parse $URL";
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp') or die "connect: $!";
    print $s "POST /api/v1/files?name=c.bin HTTP/1.1\r\nHost: $host\r\nAuthorization: Bearer $ua->{token}\r\n"
           . "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    my $chunk = sprintf("%x\r\n", 65536) . ('w' x 65536) . "\r\n";
    print $s $chunk for 1 .. 8 * 16 + 4;   # 8.25 MB, never finished
    my $sel = IO::Select->new($s);
    my $resp = '';
    while ($sel->can_read(5)) { my $n = sysread($s, $resp, 65536, length $resp); last unless $n; last if $resp =~ /\}\z/ }
    like($resp, qr{^HTTP/1\.1 413 .*"errcode":41300}s, 'chunked upload: 413 JSON before the body ends');
    close $s;
}
sleep 0.3;
is(files_rows($ua), $rows_before, 'too large: no row');
is(count_files($FILES), $stored_before, 'too large: nothing in the storage');
is(count_files($BODY_TMP), 0, 'too large: no temp file left behind');
# a 3 MB file that is not an image is fine under the 8 MB limit
($st, $j) = upload($ua, 'data.bin', 'd' x (3 * 1024 * 1024), 'application/octet-stream');
is($st, 201, 'a 3 MB file under youdu_upload_max_size');

# --- images: type by magic bytes, corrupt, bombs
$rows_before = files_rows($ua);
$stored_before = count_files($FILES);
json_err('PNG bytes sent as image/jpeg', 415, 40007, POST => '/files?name=a.jpg', undef,
         token => $ua->{token}, raw => png(10, 10), type => 'image/jpeg');
json_err('text sent as image/png', 415, 40007, POST => '/files?name=a.png', undef,
         token => $ua->{token}, raw => 'just some text', type => 'image/png');
my $e = json_err('corrupt PNG', 400, 40010, POST => '/files?name=broken.png', undef,
                 token => $ua->{token}, raw => png(50, 50, bad_pixels => 1), type => 'image/png');
like($e->{errmsg}, qr/damaged/, 'corrupt PNG: says it is damaged');
json_err('PNG cut short', 400, 40010, POST => '/files?name=short.png', undef,
         token => $ua->{token}, raw => substr(png(50, 50), 0, 20), type => 'image/png');
json_err('truncated JPEG header', 400, 40010, POST => '/files?name=x.jpg', undef,
         token => $ua->{token}, raw => "\xff\xd8\xff\xe0\x00\x10JFIF\x00", type => 'image/jpeg');
$e = json_err('decompression bomb (50000 x 50000 claimed)', 413, 41300, POST => '/files?name=bomb.png',
              undef, token => $ua->{token}, raw => png(4, 4, claim_w => 50000, claim_h => 50000),
              type => 'image/png');
like($e->{errmsg}, qr/50000x50000 pixels/, 'bomb: the pixel count in the message');
is(files_rows($ua), $rows_before, 'refused images: no row');
is(count_files($FILES), $stored_before, 'refused images: nothing stored');

my $wide = png(600, 300);
($st, $j) = upload($ua, '风景.png', $wide, 'image/png');
is($st, 201, 'image upload: 201');
my $img = $j->{file};
ok($img->{is_image}, 'image: is_image');
is("$img->{width}x$img->{height}", '600x300', 'image: width and height');
is_deeply($img->{thumb}, { width => 240, height => 120 }, 'image: thumbnail 240 px long side, aspect kept');

($st, $j, $raw, $h) = get_file($ua, "/files/$img->{id}/thumb");
is($st, 200, 'thumb: 200');
is($h->{'content-type'}, 'image/png', 'thumb: PNG');
is(join('x', png_size($raw)), '240x120', 'thumb: really 240x120');
ok(length($raw) < length($wide), 'thumb: smaller than the original');
like($h->{'content-disposition'}, qr/^inline; /, 'image: shown inline');
isnt($h->{etag}, qq{"$img->{sha256}"}, 'thumb: its own ETag');

($st, $j) = upload($ua, 'tall.png', png(300, 900), 'image/png');
is_deeply($j->{file}{thumb}, { width => 80, height => 240 }, 'portrait image: 80x240 thumbnail');

($st, $j) = upload($ua, 'dot.gif', $gif, 'image/gif');
is($st, 201, 'GIF upload');
is("$j->{file}{width}x$j->{file}{height}", '1x1', 'GIF: size');
is($j->{file}{thumb}, undef, 'small image: no thumbnail');
my $small = $j->{file};
($st, $j, $raw, $h) = get_file($ua, "/files/$small->{id}/thumb");
is($st, 200, 'small image: /thumb serves the image itself');
ok($raw eq $gif, 'small image: same bytes');
is($h->{'content-type'}, 'image/gif', 'small image: its own type');
json_err('no thumbnail of a PDF', 404, 40401, GET => "/files/$f1->{id}/thumb", undef, token => $ua->{token});

# JPEG and WebP, written by libgd through a small helper
my $tmp = run_dir() . '/tmp/t043';
mkdir $tmp;
is(system('gcc', '-o', "$tmp/mkimage", ($ENV{TEST_YOUDU_ROOT} // '.') . '/t/lib/tools/mkimage.c', '-lgd'),
   0, 'mkimage helper builds');
sub mkimage {
    my ($type, $w, $hh) = @_;
    system("$tmp/mkimage", $type, $w, $hh, "$tmp/img") == 0 or return '';
    open(my $fh, '<:raw', "$tmp/img") or return '';
    local $/; my $b = <$fh>; close $fh; return $b;
}
sub jpeg_size {
    my ($b) = @_; my $o = 2;
    while ($o + 9 <= length $b) {
        my ($ff, $m, $len) = unpack('CCn', substr($b, $o, 4));
        return unless $ff == 0xff;
        if ($m >= 0xc0 && $m <= 0xcf && $m != 0xc4 && $m != 0xc8 && $m != 0xcc) {
            my ($hh, $w) = unpack('nn', substr($b, $o + 5, 4)); return ($w, $hh);
        }
        $o += 2 + $len;
    }
    return;
}
my $jpeg = mkimage('jpeg', 800, 600);
($st, $j) = upload($ua, 'photo.jpg', $jpeg, 'image/jpeg');
is($st, 201, 'JPEG upload');
is("$j->{file}{width}x$j->{file}{height}", '800x600', 'JPEG: size');
is_deeply($j->{file}{thumb}, { width => 240, height => 180 }, 'JPEG: 240x180 thumbnail');
($st, undef, $raw, $h) = get_file($ua, "/files/$j->{file}{id}/thumb");
is($h->{'content-type'}, 'image/jpeg', 'JPEG thumb: a JPEG');
is(join('x', jpeg_size($raw)), '240x180', 'JPEG thumb: really 240x180');
json_err('JPEG cut in half', 400, 40010, POST => '/files?name=half.jpg', undef, token => $ua->{token},
         raw => substr($jpeg, 0, int(length($jpeg) / 2)), type => 'image/jpeg');
json_err('JPEG sent as image/png', 415, 40007, POST => '/files?name=x.png', undef, token => $ua->{token},
         raw => $jpeg, type => 'image/png');
# a phone's portrait photo: stored 800x600 with EXIF orientation 6 (turn 90 degrees clockwise)
my $exif = "Exif\0\0" . "MM\0\x2a" . pack('N', 8) . pack('n', 1) . pack('nnNnn', 0x0112, 3, 1, 6, 0) . pack('N', 0);
my $rotated = "\xff\xd8" . "\xff\xe1" . pack('n', 2 + length $exif) . $exif . substr($jpeg, 2);
($st, $j) = upload($ua, 'portrait.jpg', $rotated, 'image/jpeg');
is($st, 201, 'EXIF-rotated JPEG upload');
is("$j->{file}{width}x$j->{file}{height}", '600x800', 'EXIF orientation 6: size as displayed');
is_deeply($j->{file}{thumb}, { width => 180, height => 240 }, 'EXIF orientation 6: upright thumbnail size');
($st, undef, $raw) = get_file($ua, "/files/$j->{file}{id}/thumb");
is(join('x', jpeg_size($raw)), '180x240', 'EXIF orientation 6: the thumbnail is really turned');
my $webp = mkimage('webp', 500, 1000);
($st, $j) = upload($ua, 'pic.webp', $webp, 'image/webp');
is($st, 201, 'WebP upload');
is("$j->{file}{width}x$j->{file}{height}", '500x1000', 'WebP: size');
is_deeply($j->{file}{thumb}, { width => 120, height => 240 }, 'WebP: 120x240 thumbnail');
($st, undef, $raw, $h) = get_file($ua, "/files/$j->{file}{id}/thumb");
is(join('x', png_size($raw)), '120x240', 'WebP thumb: a 120x240 PNG');
($st, $j) = upload($ua, 'g.gif', mkimage('gif', 480, 480), 'image/gif');
is_deeply($j->{file}{thumb}, { width => 240, height => 240 }, 'GIF: 240x240 thumbnail');
json_err('WebP bytes cut short', 400, 40010, POST => '/files?name=x.webp', undef, token => $ua->{token},
         raw => substr($webp, 0, 100), type => 'image/webp');

# --- multipart/form-data (HTML forms, FormData)
sub form {
    my ($boundary, @parts) = @_;
    my $b = '';
    for my $p (@parts) {
        $b .= "--$boundary\r\n" . join('', map { "$_\r\n" } @{ $p->{h} }) . "\r\n" . $p->{data} . "\r\n";
    }
    return $b . "--$boundary--\r\n";
}
my $bd = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
my $mp = 'multipart/form-data; boundary=' . $bd;
$rows_before = files_rows($ua);
$stored_before = count_files($FILES);
($st, $j) = api(POST => '/files', undef, token => $ua->{token}, type => $mp,
    raw => form($bd, { h => ['Content-Disposition: form-data; name="note"'], data => "--$bd-ish text" },
                     { h => ['Content-Disposition: form-data; name="file"; filename="' . Encode::encode_utf8('截图 1.png') . '"',
                             'Content-Type: image/png'], data => $wide }));
is($st, 201, 'form upload: 201');
is($j->{file}{name}, '截图 1.png', 'form: the part\'s filename');
is($j->{file}{mime}, 'image/png', 'form: the part\'s Content-Type');
is($j->{file}{sha256}, sha256_hex($wide), 'form: exactly the part\'s bytes');
is_deeply($j->{file}{thumb}, { width => 240, height => 120 }, 'form: an image with its thumbnail');
($st, $j) = api(POST => '/files?name=' . esc('override.txt'), undef, token => $ua->{token},
    type => "multipart/form-data; boundary=\"x y\"",
    raw => form('x y', { h => ["Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"; filename*=UTF-8''%E6%96%87.txt"],
                         data => "line1\r\nline2" }));
is($st, 201, 'form with a quoted boundary');
is($j->{file}{name}, 'override.txt', 'form: the query name wins');
is($j->{file}{mime}, 'application/octet-stream', 'form: no part Content-Type');
is($j->{file}{size}, 12, 'form: CRLF inside the data kept');
($st, $j) = api(POST => '/files', undef, token => $ua->{token}, type => $mp,
    raw => form($bd, { h => ["Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%E6%96%87.txt"], data => 'x' }));
is($j->{file}{name}, '文.txt', 'form: RFC 5987 filename*');
my $rows_ok = files_rows($ua);
my $stored_ok = count_files($FILES);
json_err('form without a file part', 400, 40011, POST => '/files', undef, token => $ua->{token}, type => $mp,
         raw => form($bd, { h => ['Content-Disposition: form-data; name="note"'], data => 'hi' }));
json_err('form without a closing delimiter', 400, 40000, POST => '/files', undef, token => $ua->{token},
         type => $mp, raw => "--$bd\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nabc");
json_err('form without a boundary', 400, 40007, POST => '/files', undef, token => $ua->{token},
         type => 'multipart/form-data', raw => 'abc');
json_err('form: an image part over youdu_image_max_size', 413, 41300, POST => '/files', undef,
         token => $ua->{token}, type => $mp,
         raw => form($bd, { h => ['Content-Disposition: form-data; name="f"; filename="big.png"',
                                  'Content-Type: image/png'], data => "\x89PNG\r\n\x1a\n" . ('p' x (2 * 1024 * 1024)) }));
json_err('form: a corrupt image part', 400, 40010, POST => '/files', undef, token => $ua->{token}, type => $mp,
         raw => form($bd, { h => ['Content-Disposition: form-data; name="f"; filename="b.png"',
                                  'Content-Type: image/png'], data => png(30, 30, bad_pixels => 1) }));
json_err('form: an empty file part', 400, 40011, POST => '/files', undef, token => $ua->{token}, type => $mp,
         raw => form($bd, { h => ['Content-Disposition: form-data; name="f"; filename="e.txt"'], data => '' }));
is(files_rows($ua), $rows_ok, 'refused forms: no row');
is(count_files($FILES), $stored_ok, 'refused forms: no part file left in the storage');

# --- image and file messages: sync and push
my $g = new_conv($ua, kind => 'group', name => Youdu::Test::uniq('fg'),
                 user_ids => [$ub->{id}, $ud->{id}, $ue->{id}]);
# ud leaves before anything is shared, ue stays until after the first image
json_ok('ud removed', DELETE => "/conversations/$g/members/$ud->{id}", undef, token => $ua->{token});

# no access before the file is shared
json_err('member before the message: 404', 404, 40401, GET => "/files/$img->{id}", undef, token => $ub->{token});

my $l = push_listen();
($st, $j) = api(POST => "/conversations/$g/messages",
                { client_msg_id => Youdu::Test::uniq('im'), kind => 'image', file_id => $img->{id} },
                token => $ua->{token});
is($st, 201, 'image message: 201');
my $im = $j->{message};
is($im->{kind}, 2, 'image message: kind 2');
my $want = { file_id => $img->{id}, name => '风景.png', size => length $wide, mime => 'image/png',
             width => 600, height => 300, thumb => { width => 240, height => 120 },
             preview => '[image]', quote => undef };
is_deeply($im->{body}, $want, 'image message: body carries the file');
my @n = grep { $_->{t} eq 'msg' && $_->{conv} == $g && $_->{seq} == $im->{seq} } push_collect($l, wait => 1);
is(scalar @n, 1, 'image message: one push notice');
is_deeply($n[0]{ev}{body}, $want, 'push: the same body') if @n;
ok((grep { $_ == $ub->{id} } @{ $n[0]{to} || [] }), 'push: to the other member') if @n;

($st, $j) = api(GET => "/conversations/$g/messages?after=" . ($im->{seq} - 1), undef, token => $ub->{token});
my ($seen) = grep { $_->{seq} == $im->{seq} } @{ $j->{messages} || [] };
is_deeply($seen && $seen->{body}, $want, 'sync: another member sees the image body');
is($seen && $seen->{kind}, 2, 'sync: kind 2');

($st, $j, $raw) = get_file($ub, "/files/$img->{id}");
is($st, 200, 'member downloads the image');
ok($raw eq $wide, 'member: same bytes');
($st) = get_file($ub, "/files/$img->{id}/thumb");
is($st, 200, 'member downloads the thumbnail');
json_err('stranger: 404', 404, 40401, GET => "/files/$img->{id}", undef, token => $uc->{token});
json_err('stranger thumb: 404', 404, 40401, GET => "/files/$img->{id}/thumb", undef, token => $uc->{token});
json_err('removed before the message: 404', 404, 40401, GET => "/files/$img->{id}", undef, token => $ud->{token});
json_err('no such file: the same 404', 404, 40401, GET => '/files/999999999', undef, token => $ub->{token});
json_err('not an id', 404, 40401, GET => '/files/abc', undef, token => $ub->{token});

json_ok('ue removed after the image', DELETE => "/conversations/$g/members/$ue->{id}", undef, token => $ua->{token});
($st) = get_file($ue, "/files/$img->{id}");
is($st, 200, 'left after the message: still readable');
json_ok('uf added after the image', POST => "/conversations/$g/members", { user_ids => [$uf->{id}] },
        token => $ua->{token});
json_err('joined after the message: 404', 404, 40401, GET => "/files/$img->{id}", undef, token => $uf->{token});

# a file message, the conversation list preview
($st, $j) = api(POST => "/conversations/$g/messages",
                { client_msg_id => Youdu::Test::uniq('fm'), kind => 'file', file_id => $f1->{id} },
                token => $ua->{token});
is($st, 201, 'file message: 201');
is($j->{message}{kind}, 3, 'file message: kind 3');
is_deeply($j->{message}{body}, { file_id => $f1->{id}, name => $name, size => length $doc,
                                 mime => 'application/pdf', preview => "[file] $name", quote => undef },
          'file message: body');
my $fmseq = $j->{message}{seq};
($st, $j) = api(GET => '/conversations', undef, token => $ub->{token});
my ($cv) = grep { $_->{id} == $g } @{ $j->{conversations} || [] };
is($cv && $cv->{last_message}{preview}, "[file] $name", 'conversation list: file preview');
is($cv && $cv->{last_message}{kind}, 3, 'conversation list: kind 3');
($st, $j) = api(POST => "/conversations/$g/messages",
                { client_msg_id => Youdu::Test::uniq('q'), kind => 'text', text => 'nice', quote_seq => $im->{seq} },
                token => $ub->{token});
is($j->{message}{body}{quote}{preview}, '[image]', 'quote of an image: [image]');

# sends that are refused
my $before = msg_state();
json_err('image kind with a PDF', 400, 40006, POST => "/conversations/$g/messages",
         { client_msg_id => Youdu::Test::uniq('x'), kind => 'image', file_id => $f1->{id} }, token => $ua->{token});
($st, $j) = upload($uc, 'private.txt', 'secret', 'text/plain');
my $cfile = $j->{file}{id};
json_err("someone else's file", 404, 40401, POST => "/conversations/$g/messages",
         { client_msg_id => Youdu::Test::uniq('x'), kind => 'file', file_id => $cfile }, token => $ua->{token});
json_err('no file_id', 400, 40004, POST => "/conversations/$g/messages",
         { client_msg_id => Youdu::Test::uniq('x'), kind => 'file' }, token => $ua->{token});
json_err('file_id not a number', 400, 40003, POST => "/conversations/$g/messages",
         { client_msg_id => Youdu::Test::uniq('x'), kind => 'file', file_id => 'x' }, token => $ua->{token});
json_err('unknown kind', 400, 40006, POST => "/conversations/$g/messages",
         { client_msg_id => Youdu::Test::uniq('x'), kind => 'video', file_id => 1 }, token => $ua->{token});
is(msg_state(), $before, 'refused sends: nothing written');

# forwarding: a member who may read the file sends it elsewhere
my $dm = new_conv($ub, kind => 'direct', user_id => $uc->{id});
($st, $j) = api(POST => "/conversations/$dm/messages",
                { client_msg_id => Youdu::Test::uniq('fw'), kind => 'image', file_id => $img->{id} },
                token => $ub->{token});
is($st, 201, 'forward an image one may read');
($st) = get_file($uc, "/files/$img->{id}");
is($st, 200, 'the receiver of the forward may download it');

# --- recall ends the access the message gave
($st, $j) = upload($ua, 'r.png', png(20, 10), 'image/png');
my $rimg = $j->{file};
($st, $j) = api(POST => "/conversations/$g/messages",
                { client_msg_id => Youdu::Test::uniq('rc'), kind => 'image', file_id => $rimg->{id} },
                token => $ua->{token});
my $rseq = $j->{message}{seq};
($st) = get_file($ub, "/files/$rimg->{id}");
is($st, 200, 'before the recall: readable');
json_ok('recall the image', POST => "/conversations/$g/messages/$rseq/recall", undef, token => $ua->{token});
json_err('recalled: 404 for the member', 404, 40401, GET => "/files/$rimg->{id}", undef, token => $ub->{token});
($st) = get_file($ua, "/files/$rimg->{id}");
is($st, 200, 'recalled: the uploader still has his file');

# --- signed URLs
$j = json_ok('signed URL', GET => "/files/$img->{id}/url", undef, token => $ub->{token});
like($j->{url}, qr{^/api/v1/files/$img->{id}\?uid=$ub->{id}&exp=\d+&sig=[0-9a-f]{64}$}, 'url: shape');
like($j->{thumb_url}, qr{^/api/v1/files/$img->{id}/thumb\?}, 'url: thumb_url');
ok($j->{expires} > time && $j->{expires} <= time + 3700, 'url: expires within the hour');
my $url = $j->{url};
($st, undef, $raw) = get_file(undef, "$URL$url");
is($st, 200, 'signed URL without a token: 200');
ok($raw eq $wide, 'signed URL: the bytes');
($st, undef, $raw, $h) = get_file(undef, "$URL$j->{thumb_url}");
is($st, 200, 'signed thumb URL: 200');
is(join('x', png_size($raw)), '240x120', 'signed thumb URL: the thumbnail');

(my $tampered = $url) =~ s/sig=(.)/'sig=' . ($1 eq 'a' ? 'b' : 'a')/e;
json_err('tampered signature', 403, 40304, GET => "$URL$tampered", undef);
(my $other = $url) =~ s/uid=\d+/uid=$uc->{id}/;
json_err('signed for another user', 403, 40304, GET => "$URL$other", undef);
(my $other_file = $url) =~ s{files/\d+}{files/$f1->{id}};
json_err('signature of another file', 403, 40304, GET => "$URL$other_file", undef);

open(my $kf, '<', run_dir() . '/secrets/jwt.key') or die "jwt.key: $!";
my $key = <$kf>; close $kf; $key =~ s/\s+\z//;
my $past = time - 10;
my $sig = hmac_sha256_hex("youdu-file:$img->{id}:$ub->{id}:$past", $key);
json_err('expired URL', 403, 40303, GET => "$URL/api/v1/files/$img->{id}?uid=$ub->{id}&exp=$past&sig=$sig", undef);
# a valid signature gives only what the user may read now
my $exp = time + 100;
$sig = hmac_sha256_hex("youdu-file:$img->{id}:$uf->{id}:$exp", $key);
json_err('signed for a user who may not read it: 404', 404, 40401,
         GET => "$URL/api/v1/files/$img->{id}?uid=$uf->{id}&exp=$exp&sig=$sig", undef);
my $admin = admin_token();
json_ok('disable ub', PATCH => "/admin/users/$ub->{id}", { enable_state => -1 }, token => $admin);
json_err('signed URL of a disabled account: 404', 404, 40401, GET => "$URL$url", undef);
json_ok('enable ub again', PATCH => "/admin/users/$ub->{id}", { enable_state => 1 }, token => $admin);
($st) = get_file(undef, "$URL$url");
is($st, 200, 'signed URL works again once enabled');
json_err('url for a file one may not read: 404', 404, 40401, GET => "/files/$img->{id}/url", undef,
         token => $uf->{token});
json_err('url needs a token', 401, 40100, GET => "/files/$img->{id}/url", undef);
json_err('download without token or signature', 401, 40100, GET => "/files/$img->{id}", undef);

# --- concurrent uploads: distinct and identical contents at once
my @bodies = ((map { "content $_ " . ('c' x (200_000 + $_)) } 1 .. 6), ('same' x 50_000) x 2);
my @pids;
for my $i (0 .. $#bodies) {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        my ($s, $jj) = upload($ua, "c$i.txt", $bodies[$i], 'text/plain');
        my $ok = $s == 201 && $jj->{file}{sha256} eq sha256_hex($bodies[$i]);
        if ($ok) {
            my ($s2, undef, $r2) = get_file($ua, "/files/$jj->{file}{id}");
            $ok = $s2 == 200 && $r2 eq $bodies[$i];
        }
        exit($ok ? 0 : 1);
    }
    push @pids, $pid;
}
my $okc = 0;
for my $pid (@pids) { waitpid($pid, 0); $okc++ if $? == 0 }
is($okc, scalar @bodies, 'concurrent uploads: all stored and read back intact');
is(db("SELECT COUNT(DISTINCT sha256) FROM files WHERE uploader_id = $ua->{id} AND name LIKE 'c_.txt'"), 7,
   'concurrent uploads: identical content stored once, two rows');

done_testing();
