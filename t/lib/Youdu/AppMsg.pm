package Youdu::AppMsg;

# Helpers for the app message tests (/cgi/msg/send and friends): users in
# departments, the app conversation as the user sees it over REST, media
# rows of an app, the ENV_NOTICE envelope ({"app_id","msg_encrypt"}).

use strict;
use warnings;
use utf8;
use Exporter 'import';
use JSON::PP;
use Compress::Zlib ();
use Crypt::PRNG qw(random_bytes);
use Youdu::Test;
use Youdu::Cgi;

our @EXPORT = qw(mk_user app_inbox app_conv_of png_bytes app_media_row notice_call
                 card_count);

my $J = JSON::PP->new->utf8->canonical;

# an enabled, signed-in employee in the given departments
sub mk_user {
    my (%f) = @_;
    my $depts = delete $f{depts} // [0];
    my $name = $f{name} // uniq('Am');
    my ($id, $acc, $pw) = create_user(name => $name,
        departments => [map { { dept_id => $_ } } @$depts], %f);
    return { id => $id, account => $acc, name => $name, password => $pw,
             token => scalar login_as($acc, $pw) };
}

# the user's app conversation of $app (from GET /conversations) or undef
sub app_conv_of {
    my ($user, $app) = @_;
    my ($st, $j) = api(GET => '/conversations?limit=500', undef, token => $user->{token});
    die "GET /conversations: $st" unless $st == 200;
    my @c = grep { $_->{kind} eq 'app' && $_->{name} eq $app->{name} } @{ $j->{conversations} };
    return $c[0];
}

# (conversation, messages) of the user's app conversation via REST
sub app_inbox {
    my ($user, $app) = @_;
    my $conv = app_conv_of($user, $app) or return (undef, []);
    my ($st, $j) = api(GET => "/conversations/$conv->{id}/messages?limit=500", undef,
                       token => $user->{token});
    die "GET messages: $st" unless $st == 200;
    return ($conv, $j->{messages});
}

# the cards of an app in the database (every user)
sub card_count {
    my ($app) = @_;
    return sql("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conv_id "
             . "WHERE c.app_pk = $app->{pk} AND m.kind = 4");
}

sub _chunk { my ($type, $data) = @_; my $c = $type . $data;
             return pack('N', length $data) . $c . pack('N', Compress::Zlib::crc32($c)) }

# a small RGB PNG
sub png_bytes {
    my ($w, $h) = @_;
    my $rows = '';
    for my $y (0 .. $h - 1) {
        $rows .= "\0" . join('', map { pack('C3', $_ * 7 % 256, $y * 5 % 256, 90) } 0 .. $w - 1);
    }
    return "\x89PNG\r\n\x1a\n" . _chunk('IHDR', pack('NNC5', $w, $h, 8, 2, 0, 0, 0))
         . _chunk('IDAT', Compress::Zlib::compress($rows)) . _chunk('IEND', '');
}

# a file uploaded by $user (REST) made a media of $app (by SQL, as
# /cgi/media/upload would): returns (media_id, file_id)
sub app_media_row {
    my ($app, $user, $name, $bytes, $type) = @_;
    my ($st, $j, $raw) = api(POST => "/files?name=$name", undef, token => $user->{token},
                             raw => $bytes,
                             type => $name =~ /\.png$/ ? 'image/png'
                                   : $name =~ /\.txt$/ ? 'text/plain' : 'application/octet-stream');
    die "upload failed: $st $raw" unless $st == 201;
    my $fid = $j->{file}{id};
    my $mid = unpack('H*', random_bytes(16));
    sql("INSERT INTO app_media (media_id, app_pk, file_id, type) VALUES ('$mid', $app->{pk}, $fid, '$type')");
    return ($mid, $fid);
}

# a call with the notice envelope {"app_id","msg_encrypt"}, no token
# -> (errcode, json)
sub notice_call {
    my ($app, $path, $payload, %o) = @_;
    my $enc = cgi_encrypt($app->{key}, $app->{app_id}, $J->encode($payload));
    my $body = { ($o{key_name} // 'app_id') => $app->{app_id}, msg_encrypt => $enc };
    $body = { form_params => $body } if $o{form_params};
    my ($st, $j, $raw) = cgi_raw(POST => $path, $J->encode($body));
    die "HTTP $st from $path: $raw" unless $st == 200 && ref $j eq 'HASH';
    return ($j->{errcode}, $j);
}

1;
