
/*
 * youdu HTTP module: storing an upload, run in nginx's thread pool.
 *
 * Files are content-addressed: <youdu_files_path>/<sha[0..2]>/<sha256>,
 * a thumbnail beside it as <sha256>.thumb.  The user's file name is only
 * metadata (files.name), never part of a path.  Image dimensions come from
 * the file's header before anything is decoded, so a small file that
 * claims billions of pixels (a decompression bomb) is refused unread.
 */


#include "ngx_http_youdu_files.h"

#include <gd.h>
#include <openssl/evp.h>


#define YD_HASH_CHUNK         (256 * 1024)
#define YD_HEAD_LEN           64
#define YD_JPEG_SEGMENTS_MAX  4096


static void yd_file_store_file(yd_file_job_t *job);
static ngx_int_t yd_file_dims(int fd, off_t size, ngx_uint_t type, u_char *h,
    size_t n, ngx_uint_t *w, ngx_uint_t *ht, ngx_uint_t *orient);
static ngx_int_t yd_file_jpeg_dims(int fd, off_t size, ngx_uint_t *w,
    ngx_uint_t *ht, ngx_uint_t *orient);
static ngx_uint_t yd_file_exif_orientation(int fd, off_t off, size_t len);
static gdImagePtr yd_file_orient(gdImagePtr t, ngx_uint_t orient);
static ngx_int_t yd_file_hash(yd_file_job_t *job, int fd, u_char *head);
static ngx_int_t yd_file_image(yd_file_job_t *job, int fd, u_char *head);
static gdImagePtr yd_file_decode(yd_file_job_t *job, int fd, u_char *head,
    ngx_uint_t *type, ngx_uint_t *orient);
static ngx_int_t yd_file_thumb(yd_file_job_t *job, gdImagePtr im,
    ngx_uint_t type, ngx_uint_t w, ngx_uint_t h);
static ngx_int_t yd_file_write(yd_file_job_t *job, const char *final,
    void *data, int len);
static ngx_int_t yd_file_sync_dir(const char *path);
static void yd_file_fail(yd_file_job_t *job, ngx_uint_t status,
    ngx_int_t errcode, const char *fmt, ...);
static void yd_file_gd_silent(int priority, const char *format,
    va_list args);


/* set by libgd's error callback in the thread that decodes */
static __thread ngx_uint_t  yd_gd_truncated;


static const char  *yd_img_mimes[] = {
    NULL, "image/png", "image/jpeg", "image/gif", "image/webp"
};

static const char  *yd_img_names[] = {
    NULL, "PNG", "JPEG", "GIF", "WebP"
};


ngx_uint_t
yd_file_image_type(ngx_str_t *mime)
{
    ngx_uint_t  i;

    for (i = 1; i < sizeof(yd_img_mimes) / sizeof(yd_img_mimes[0]); i++) {
        if (mime->len == ngx_strlen(yd_img_mimes[i])
            && ngx_strncmp(mime->data, yd_img_mimes[i], mime->len) == 0)
        {
            return i;
        }
    }

    return YD_IMG_NONE;
}


const char *
yd_file_image_mime(ngx_uint_t type)
{
    return yd_img_mimes[type];
}


/*
 * a declared type: without parameters, lower case, a plain "type/subtype"
 * token; 0 (application/octet-stream) otherwise.  out: YD_MIME_MAX + 1.
 */

size_t
yd_file_mime_clean(const u_char *in, size_t len, u_char *out)
{
    size_t      i, n;
    ngx_uint_t  slash;

    for (n = 0; n < len && in[n] != ';' && in[n] != ' ' && in[n] != '\t';
         n++)
    {
        /* void */
    }

    if (n == 0 || n > YD_MIME_MAX) {
        return 0;
    }

    slash = 0;

    for (i = 0; i < n; i++) {
        if (in[i] == '/') {
            slash++;
            continue;
        }

        if (in[i] == '\0'
            || (!isalnum(in[i]) && !ngx_strchr("!#$&-^_.+", in[i])))
        {
            return 0;
        }
    }

    if (slash != 1 || in[0] == '/' || in[n - 1] == '/') {
        return 0;
    }

    for (i = 0; i < n; i++) {
        out[i] = ngx_tolower(in[i]);
    }

    out[n] = '\0';

    return n;
}


/*
 * the user's name is metadata only, yet it becomes a name on the
 * receiver's disk: no folders, no characters that other systems refuse,
 * no leading or trailing dots and spaces
 */

ngx_int_t
yd_file_clean_name(ngx_str_t *name)
{
    u_char  *p, *start, *end;

    start = name->data;
    end = name->data + name->len;

    for (p = start; p < end; p++) {
        if (*p == '/' || *p == '\\') {
            start = p + 1;

        } else if (*p == '\0' || ngx_strchr(":*?\"<>|", *p)) {
            *p = '_';
        }
    }

    while (start < end && (*start == ' ' || *start == '.')) {
        start++;
    }

    while (end > start && (end[-1] == ' ' || end[-1] == '.')) {
        end--;
    }

    name->data = start;
    name->len = end - start;

    return name->len ? NGX_OK : NGX_DECLINED;
}


/* the thread task: on return job->status is 0 (stored) or the error */

void
yd_file_store(yd_file_job_t *job)
{
    gdSetErrorMethod(yd_file_gd_silent);

    if (job->boundary[0] && yd_file_multipart(job) != NGX_OK) {
        goto failed;
    }

    yd_file_store_file(job);

failed:

    /* a part copied out and not stored; nginx deletes its own temp file */
    if (job->status && job->part_path[0]) {
        unlink(job->part_path);
    }
}


static void
yd_file_store_file(yd_file_job_t *job)
{
    int     fd;
    char    path[NGX_MAX_PATH];
    u_char  head[YD_HEAD_LEN];

    fd = open(job->src, O_RDONLY);
    if (fd == -1) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot open the upload: %s", strerror(errno));
        return;
    }

    if (yd_file_hash(job, fd, head) != NGX_OK) {
        close(fd);
        return;
    }

    snprintf(path, sizeof(path), "%s/%c%c", job->dir, job->sha[0],
             job->sha[1]);

    if (mkdir(path, 0755) == 0) {
        /* a new folder: its name in the storage root is durable too */
        yd_file_sync_dir(job->dir);

    } else if (errno != EEXIST) {
        close(fd);
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot create the storage folder: %s", strerror(errno));
        return;
    }

    if (job->want != YD_IMG_NONE && yd_file_image(job, fd, head) != NGX_OK) {
        close(fd);
        return;
    }

    /* the row that acknowledges the upload is durable once written: so
     * must the bytes be, and their name in the folder */
    if (fsync(fd) == -1) {
        close(fd);
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot flush the upload: %s", strerror(errno));
        return;
    }

    close(fd);

    snprintf(path, sizeof(path), "%s/%c%c/%s", job->dir, job->sha[0],
             job->sha[1], job->sha);

    /* same name, same bytes: a concurrent upload of the same content
     * replaces it atomically with an identical file */
    if (rename(job->src, path) == -1) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot store the file (client_body_temp_path and "
                     "youdu_files_path must be on one file system): %s",
                     strerror(errno));
        return;
    }

    snprintf(path, sizeof(path), "%s/%c%c", job->dir, job->sha[0],
             job->sha[1]);

    if (yd_file_sync_dir(path) != NGX_OK) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot flush the storage folder: %s", strerror(errno));
        return;
    }

    job->status = 0;
}


static ngx_int_t
yd_file_sync_dir(const char *path)
{
    int  fd, rc;

    fd = open(path, O_RDONLY|O_DIRECTORY);
    if (fd == -1) {
        return NGX_ERROR;
    }

    rc = fsync(fd);
    close(fd);

    return (rc == 0) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
yd_file_hash(yd_file_job_t *job, int fd, u_char *head)
{
    u_char         *buf, md[EVP_MAX_MD_SIZE];
    off_t           total;
    ssize_t         n;
    unsigned int    mdlen;
    EVP_MD_CTX     *h;

    buf = malloc(YD_HASH_CHUNK);
    h = EVP_MD_CTX_new();

    if (buf == NULL || h == NULL
        || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1)
    {
        free(buf);
        EVP_MD_CTX_free(h);
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "out of memory");
        return NGX_ERROR;
    }

    ngx_memzero(head, YD_HEAD_LEN);
    total = 0;

    for ( ;; ) {
        n = read(fd, buf, YD_HASH_CHUNK);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            break;
        }

        if (total < YD_HEAD_LEN) {
            ngx_memcpy(head + total, buf,
                       ngx_min((size_t) n, (size_t) (YD_HEAD_LEN - total)));
        }

        EVP_DigestUpdate(h, buf, n);
        total += n;
    }

    free(buf);

    if (n == -1 || total != job->size
        || EVP_DigestFinal_ex(h, md, &mdlen) != 1)
    {
        EVP_MD_CTX_free(h);
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot read the upload");
        return NGX_ERROR;
    }

    EVP_MD_CTX_free(h);

    *ngx_hex_dump(job->sha, md, mdlen) = '\0';

    return NGX_OK;
}


static ngx_int_t
yd_file_image(yd_file_job_t *job, int fd, u_char *head)
{
    ngx_int_t    rc;
    ngx_uint_t   type, w, h, orient, side;
    gdImagePtr   im;

    im = yd_file_decode(job, fd, head, &type, &orient);
    if (im == NULL) {
        return NGX_ERROR;
    }

    w = gdImageSX(im);
    h = gdImageSY(im);

    /* sizes as shown: a camera's portrait photo is stored landscape with
     * an EXIF orientation that browsers apply */
    job->orientation = orient;
    job->width = (orient >= 5) ? h : w;
    job->height = (orient >= 5) ? w : h;

    rc = NGX_OK;
    side = job->thumb_side ? job->thumb_side : YD_THUMB_SIDE;

    if (ngx_max(w, h) > side) {
        rc = yd_file_thumb(job, im, type, w, h);
    }

    gdImageDestroy(im);

    return rc;
}


/* the image of job->src, checked (type as declared, pixel limit) and
 * decoded; NULL: job->status set */

static gdImagePtr
yd_file_decode(yd_file_job_t *job, int fd, u_char *head, ngx_uint_t *type,
    ngx_uint_t *orient)
{
    FILE        *f;
    ngx_uint_t   w, h;
    gdImagePtr   im;

    *type = yd_file_magic(head, ngx_min((off_t) YD_HEAD_LEN, job->size));

    if (*type == YD_IMG_NONE) {
        yd_file_fail(job, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                     YD_ERR_BAD_CONTENT_TYPE,
                     "the file is not a %s image (Content-Type %s)",
                     yd_img_names[job->want], yd_img_mimes[job->want]);
        return NULL;
    }

    if (*type != job->want) {
        yd_file_fail(job, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                     YD_ERR_BAD_CONTENT_TYPE,
                     "Content-Type says %s but the file is a %s image",
                     yd_img_mimes[job->want], yd_img_names[*type]);
        return NULL;
    }

    if (yd_file_dims(fd, job->size, *type, head, YD_HEAD_LEN, &w, &h, orient)
        != NGX_OK)
    {
        yd_file_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_IMAGE,
                     "the %s image is damaged: its size cannot be read",
                     yd_img_names[*type]);
        return NULL;
    }

    if ((uint64_t) w * h > job->max_pixels) {
        yd_file_fail(job, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, YD_ERR_TOO_LARGE,
                     "the image has %lux%lu pixels, more than the limit of "
                     "%lu", (unsigned long) w, (unsigned long) h,
                     (unsigned long) job->max_pixels);
        return NULL;
    }

    f = fopen(job->src, "rb");
    if (f == NULL) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot open the upload: %s", strerror(errno));
        return NULL;
    }

    yd_gd_truncated = 0;

    switch (*type) {
    case YD_IMG_PNG:
        im = gdImageCreateFromPng(f);
        break;
    case YD_IMG_JPEG:
        /* libjpeg pads a truncated file with grey and only warns: the
         * warning reaches yd_file_gd_silent() */
        im = gdImageCreateFromJpegEx(f, 0);
        break;
    case YD_IMG_GIF:
        im = gdImageCreateFromGif(f);
        break;
    default:
        im = gdImageCreateFromWebp(f);
        break;
    }

    fclose(f);

    if (im && yd_gd_truncated) {
        gdImageDestroy(im);
        im = NULL;
    }

    if (im == NULL) {
        yd_file_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_IMAGE,
                     "the %s image is damaged or cannot be decoded",
                     yd_img_names[*type]);
    }

    return im;
}


ngx_int_t
yd_file_square(yd_file_job_t *job, ngx_uint_t side)
{
    int          fd, len;
    void        *data;
    u_char       head[YD_HEAD_LEN];
    ssize_t      n;
    ngx_int_t    rc;
    ngx_uint_t   type, orient, w, h, c;
    gdImagePtr   im, t;

    gdSetErrorMethod(yd_file_gd_silent);

    fd = open(job->src, O_RDONLY);
    if (fd == -1) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot open the upload: %s", strerror(errno));
        return NGX_ERROR;
    }

    ngx_memzero(head, sizeof(head));
    n = pread(fd, head, sizeof(head), 0);

    im = (n > 0) ? yd_file_decode(job, fd, head, &type, &orient) : NULL;
    close(fd);

    if (im == NULL) {
        if (job->status == 0) {
            yd_file_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_IMAGE,
                         "the image is empty");
        }
        return NGX_ERROR;
    }

    if (orient > 1) {
        im = yd_file_orient(im, orient);
        if (im == NULL) {
            yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                         "out of memory");
            return NGX_ERROR;
        }
    }

    w = gdImageSX(im);
    h = gdImageSY(im);
    c = ngx_min(w, h);
    side = ngx_min(side, c);

    t = gdImageCreateTrueColor(side, side);
    if (t == NULL) {
        gdImageDestroy(im);
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "out of memory");
        return NGX_ERROR;
    }

    gdImageAlphaBlending(t, 0);
    gdImageSaveAlpha(t, 1);
    gdImageCopyResampled(t, im, 0, 0, (w - c) / 2, (h - c) / 2, side, side,
                         c, c);
    gdImageDestroy(im);

    data = gdImagePngPtr(t, &len);
    gdImageDestroy(t);

    if (data == NULL) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot encode the image");
        return NGX_ERROR;
    }

    /* replaces the upload's temp file (written beside, renamed) */
    rc = yd_file_write(job, job->src, data, len);
    gdFree(data);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    job->size = len;
    job->want = YD_IMG_PNG;

    return NGX_OK;
}


/* at most YD_THUMB_SIDE on the long side, aspect ratio kept; JPEG stays
 * JPEG, the others become PNG (transparency) */

static ngx_int_t
yd_file_thumb(yd_file_job_t *job, gdImagePtr im, ngx_uint_t type,
    ngx_uint_t w, ngx_uint_t h)
{
    int         len;
    char        path[NGX_MAX_PATH];
    void       *data;
    ngx_int_t   rc;
    ngx_uint_t  tw, th, side;
    gdImagePtr  t;

    side = job->thumb_side ? job->thumb_side : YD_THUMB_SIDE;

    if (w >= h) {
        tw = side;
        th = ngx_max(1, (h * side + w / 2) / w);

    } else {
        th = side;
        tw = ngx_max(1, (w * side + h / 2) / h);
    }

    t = gdImageCreateTrueColor(tw, th);
    if (t == NULL) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "out of memory");
        return NGX_ERROR;
    }

    if (type != YD_IMG_JPEG) {
        gdImageAlphaBlending(t, 0);
        gdImageSaveAlpha(t, 1);
    }

    gdImageCopyResampled(t, im, 0, 0, 0, 0, tw, th, w, h);

    /* the thumbnail carries no EXIF: it is turned upright here */
    if (job->orientation > 1) {
        t = yd_file_orient(t, job->orientation);
        if (t == NULL) {
            yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                         "out of memory");
            return NGX_ERROR;
        }

        tw = gdImageSX(t);
        th = gdImageSY(t);
    }

    data = (type == YD_IMG_JPEG) ? gdImageJpegPtr(t, &len, 80)
                                 : gdImagePngPtr(t, &len);
    gdImageDestroy(t);

    if (data == NULL) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot encode the thumbnail");
        return NGX_ERROR;
    }

    snprintf(path, sizeof(path), "%s/%c%c/%s.thumb", job->dir, job->sha[0],
             job->sha[1], job->sha);

    rc = yd_file_write(job, path, data, len);
    gdFree(data);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    job->has_thumb = 1;
    job->thumb_width = tw;
    job->thumb_height = th;

    return NGX_OK;
}


/* written beside and renamed: a reader never sees half a file */

static ngx_int_t
yd_file_write(yd_file_job_t *job, const char *final, void *data, int len)
{
    int      fd;
    char     tmp[NGX_MAX_PATH];
    u_char  *p;
    ssize_t  n;

    fd = -1;

    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", final) < (int) sizeof(tmp)) {
        fd = mkstemp(tmp);
    }

    if (fd == -1) {
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot write the thumbnail: %s", strerror(errno));
        return NGX_ERROR;
    }

    for (p = data; len > 0; p += n, len -= n) {
        n = write(fd, p, len);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            break;
        }
    }

    if (close(fd) == -1 || len > 0 || rename(tmp, final) == -1) {
        unlink(tmp);
        yd_file_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot write the thumbnail");
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_uint_t
yd_file_magic(u_char *h, size_t n)
{
    if (n >= 8 && ngx_memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) {
        return YD_IMG_PNG;
    }

    if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff) {
        return YD_IMG_JPEG;
    }

    if (n >= 6 && (ngx_memcmp(h, "GIF87a", 6) == 0
                   || ngx_memcmp(h, "GIF89a", 6) == 0))
    {
        return YD_IMG_GIF;
    }

    if (n >= 12 && ngx_memcmp(h, "RIFF", 4) == 0
        && ngx_memcmp(h + 8, "WEBP", 4) == 0)
    {
        return YD_IMG_WEBP;
    }

    return YD_IMG_NONE;
}


#define yd_be16(p)  ((ngx_uint_t) (p)[0] << 8 | (p)[1])
#define yd_le16(p)  ((ngx_uint_t) (p)[1] << 8 | (p)[0])
#define yd_le24(p)  ((ngx_uint_t) (p)[2] << 16 | yd_le16(p))
#define yd_be32(p)  ((ngx_uint_t) (p)[0] << 24 | (ngx_uint_t) (p)[1] << 16  \
                     | yd_be16((p) + 2))


static ngx_int_t
yd_file_dims(int fd, off_t size, ngx_uint_t type, u_char *h, size_t n,
    ngx_uint_t *w, ngx_uint_t *ht, ngx_uint_t *orient)
{
    ngx_uint_t  bits;

    *w = 0;
    *ht = 0;
    *orient = 1;

    if (size < (off_t) n) {
        n = (size_t) size;
    }

    switch (type) {

    case YD_IMG_PNG:
        if (n >= 24 && ngx_memcmp(h + 12, "IHDR", 4) == 0) {
            *w = yd_be32(h + 16);
            *ht = yd_be32(h + 20);
        }
        break;

    case YD_IMG_GIF:
        if (n >= 10) {
            *w = yd_le16(h + 6);
            *ht = yd_le16(h + 8);
        }
        break;

    case YD_IMG_WEBP:
        if (n < 30) {
            break;
        }

        if (ngx_memcmp(h + 12, "VP8 ", 4) == 0) {
            *w = yd_le16(h + 26) & 0x3fff;
            *ht = yd_le16(h + 28) & 0x3fff;

        } else if (ngx_memcmp(h + 12, "VP8L", 4) == 0 && h[20] == 0x2f) {
            bits = yd_le24(h + 21) | (ngx_uint_t) h[24] << 24;
            *w = (bits & 0x3fff) + 1;
            *ht = ((bits >> 14) & 0x3fff) + 1;

        } else if (ngx_memcmp(h + 12, "VP8X", 4) == 0) {
            *w = yd_le24(h + 24) + 1;
            *ht = yd_le24(h + 27) + 1;
        }
        break;

    default: /* YD_IMG_JPEG */
        return yd_file_jpeg_dims(fd, size, w, ht, orient);
    }

    return (*w && *ht) ? NGX_OK : NGX_ERROR;
}


/* walks the JPEG segments up to the first SOFn marker (EXIF comes
 * before it) */

static ngx_int_t
yd_file_jpeg_dims(int fd, off_t size, ngx_uint_t *w, ngx_uint_t *ht,
    ngx_uint_t *orient)
{
    u_char      b[9];
    off_t       off;
    ngx_uint_t  i, m;

    off = 2;

    for (i = 0; i < YD_JPEG_SEGMENTS_MAX && off + 4 <= size; i++) {

        if (pread(fd, b, sizeof(b), off) < 4 || b[0] != 0xff) {
            return NGX_ERROR;
        }

        m = b[1];

        if (m == 0xff) {            /* fill byte */
            off++;
            continue;
        }

        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
            off += 2;
            continue;
        }

        if (m == 0xd9 || m == 0xda) {   /* end or scan before any frame */
            return NGX_ERROR;
        }

        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            if (off + 9 > size) {
                return NGX_ERROR;
            }

            *ht = yd_be16(b + 5);
            *w = yd_be16(b + 7);
            return (*w && *ht) ? NGX_OK : NGX_ERROR;
        }

        if (yd_be16(b + 2) < 2) {
            return NGX_ERROR;
        }

        if (m == 0xe1 && *orient == 1) {
            *orient = yd_file_exif_orientation(fd, off + 4,
                                               yd_be16(b + 2) - 2);
        }

        off += 2 + yd_be16(b + 2);
    }

    return NGX_ERROR;
}


/* APP1 "Exif\0\0" + TIFF: tag 0x0112 of IFD0; 1 when absent or odd */

static ngx_uint_t
yd_file_exif_orientation(int fd, off_t off, size_t len)
{
    u_char      *buf, *t, *e;
    size_t       tlen, ifd, i, n;
    ngx_uint_t   le, v;

#define yd_t16(p)  (le ? yd_le16(p) : yd_be16(p))
#define yd_t32(p)  (le ? (yd_le16(p) | yd_le16((p) + 2) << 16)              \
                       : yd_be32(p))

    if (len < 6 + 8) {
        return 1;
    }

    buf = malloc(len);
    if (buf == NULL) {
        return 1;
    }

    v = 1;

    if (pread(fd, buf, len, off) != (ssize_t) len
        || ngx_memcmp(buf, "Exif\0\0", 6) != 0)
    {
        goto done;
    }

    t = buf + 6;
    tlen = len - 6;

    if (ngx_memcmp(t, "II", 2) == 0) {
        le = 1;

    } else if (ngx_memcmp(t, "MM", 2) == 0) {
        le = 0;

    } else {
        goto done;
    }

    ifd = yd_t32(t + 4);

    if (ifd < 8 || ifd + 2 > tlen) {
        goto done;
    }

    n = yd_t16(t + ifd);

    for (i = 0; i < n && ifd + 2 + 12 * (i + 1) <= tlen; i++) {
        e = t + ifd + 2 + 12 * i;

        if (yd_t16(e) == 0x0112 && yd_t16(e + 2) == 3) {
            v = yd_t16(e + 8);
            if (v < 1 || v > 8) {
                v = 1;
            }
            break;
        }
    }

done:

    free(buf);
    return v;

#undef yd_t16
#undef yd_t32
}


/* a new image: t turned as EXIF orientation 2..8 says; t is freed */

static gdImagePtr
yd_file_orient(gdImagePtr t, ngx_uint_t orient)
{
    int         w, h, x, y, sx, sy;
    gdImagePtr  d;

    w = gdImageSX(t);
    h = gdImageSY(t);

    d = (orient >= 5) ? gdImageCreateTrueColor(h, w)
                      : gdImageCreateTrueColor(w, h);
    if (d == NULL) {
        gdImageDestroy(t);
        return NULL;
    }

    for (y = 0; y < gdImageSY(d); y++) {
        for (x = 0; x < gdImageSX(d); x++) {

            switch (orient) {
            case 2:  sx = w - 1 - x; sy = y;         break;
            case 3:  sx = w - 1 - x; sy = h - 1 - y; break;
            case 4:  sx = x;         sy = h - 1 - y; break;
            case 5:  sx = y;         sy = x;         break;
            case 6:  sx = y;         sy = h - 1 - x; break;
            case 7:  sx = w - 1 - y; sy = h - 1 - x; break;
            default: sx = w - 1 - y; sy = x;         break;   /* 8 */
            }

            gdImageSetPixel(d, x, y, gdImageGetTrueColorPixel(t, sx, sy));
        }
    }

    gdImageDestroy(t);
    return d;
}


static void
yd_file_fail(yd_file_job_t *job, ngx_uint_t status, ngx_int_t errcode,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(job->err, sizeof(job->err), fmt, args);
    va_end(args);

    job->status = status;
    job->errcode = errcode;
}


static void
yd_file_gd_silent(int priority, const char *format, va_list args)
{
    char  msg[256];

    /* decoder complaints become a clear API error instead of log noise;
     * a file that ends too early is damaged, not a picture half grey */
    vsnprintf(msg, sizeof(msg), format, args);

    if (strcasestr(msg, "premature end") != NULL) {
        yd_gd_truncated = 1;
    }
}
