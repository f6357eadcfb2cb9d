
/*
 * youdu: the thread pool side of media and avatars: read the form, decrypt
 * its metadata and (streaming) its file part into a temp file beside the
 * storage, check what it must be, square an avatar, then store it as any
 * upload (yd_file_store()).  Downloads: the stored file as base64
 * ciphertext in an unlinked temp file.  Nothing here touches the request.
 */


#include "ngx_http_youdu_cgi_media.h"


static ngx_int_t yd_media_part(yd_file_job_t *f, void *data, int fd,
    u_char *h, size_t len, off_t start, off_t stop);
static ngx_int_t yd_media_field(int fd, off_t start, off_t stop, size_t max,
    u_char **out, size_t *len);
static ngx_int_t yd_media_meta(yd_media_job_t *job);
static ngx_int_t yd_media_decrypt_part(yd_media_job_t *job);
static ngx_int_t yd_media_sniff(yd_file_job_t *f);
static void yd_media_fail(yd_media_job_t *job, ngx_int_t errcode,
    const char *fmt, ...);
static void yd_media_file_fail(yd_file_job_t *f, ngx_uint_t status,
    ngx_int_t errcode, const char *msg);


static const char  *yd_media_types[] = {
    NULL, "file", "image", "voice", "video"
};


void
yd_media_upload_thread(void *data, ngx_log_t *log)
{
    yd_media_job_t  *job = data;
    yd_file_job_t   *f = &job->file;

    f->src = job->form;
    f->size = job->form_size;

    if (yd_file_parts(f, yd_media_part, job) == NGX_ERROR) {
        if (job->errcode == 0 && f->status < NGX_HTTP_INTERNAL_SERVER_ERROR) {
            job->errcode = YD_CGI_INVALID_MULTIPART;
        }

        goto failed;
    }

    /* the form is read: what is stored is the decrypted part */
    f->status = 0;
    f->boundary[0] = '\0';

    if (yd_media_meta(job) != NGX_OK || yd_media_decrypt_part(job) != NGX_OK) {
        goto failed;
    }

    if (job->type == YD_MEDIA_IMAGE || job->avatar) {
        if (yd_media_sniff(f) != NGX_OK) {
            goto failed;
        }
    }

    if (job->avatar) {
        f->thumb_side = YD_AVATAR_SMALL;

        if (yd_file_square(f, YD_AVATAR_LARGE) != NGX_OK) {
            goto failed;
        }
    }

    /* hash, image checks and thumbnail, rename into the storage; on
     * failure it deletes f->part_path */
    yd_file_store(f);

    yd_media_job_free(job);
    return;

failed:

    if (f->part_path[0]) {
        unlink(f->part_path);
        f->part_path[0] = '\0';
    }

    if (f->status == 0) {
        f->status = NGX_HTTP_BAD_REQUEST;
    }

    yd_media_job_free(job);
}


void
yd_media_job_free(yd_media_job_t *job)
{
    free(job->encrypt);
    free(job->form_app);
    job->encrypt = NULL;
    job->form_app = NULL;
}


/* the parts we know; the others (buin, ...) are skipped */

static ngx_int_t
yd_media_part(yd_file_job_t *f, void *data, int fd, u_char *h, size_t len,
    off_t start, off_t stop)
{
    u_char           nbuf[64], fbuf[YD_FILE_NAME_MAX * 4 + 1];
    ngx_str_t        disp, name, fname;
    yd_media_job_t  *job = data;

    if (yd_file_part_header(h, len, "Content-Disposition", &disp) != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_str_null(&name);
    ngx_str_null(&fname);

    yd_file_part_param(disp.data, disp.data + disp.len, "name", &name, nbuf,
                       sizeof(nbuf));
    yd_file_part_param(disp.data, disp.data + disp.len, "filename", &fname,
                       fbuf, sizeof(fbuf));

#define yd_is(s, lit)                                                        \
    ((s).len == sizeof(lit) - 1                                              \
     && ngx_strncasecmp((s).data, (u_char *) lit, sizeof(lit) - 1) == 0)

    if (yd_is(name, "encrypt")) {
        if (yd_media_field(fd, start, stop, YD_MEDIA_FIELD_MAX, &job->encrypt,
                           &job->encrypt_len)
            != NGX_OK)
        {
            yd_media_fail(job, YD_CGI_INVALID_MULTIPART,
                          "the form field \"encrypt\" is larger than 64 KB "
                          "or cannot be read");
            return NGX_ERROR;
        }

    } else if (yd_is(name, "appId")) {
        if (yd_media_field(fd, start, stop, 64, &job->form_app,
                           &job->form_app_len)
            != NGX_OK)
        {
            yd_media_fail(job, YD_CGI_INVALID_FORMAT_APPID,
                          "the form field \"appId\" is longer than 64 "
                          "characters");
            return NGX_ERROR;
        }

    } else if (yd_is(name, "userId") && job->avatar) {
        if (stop - start >= (off_t) sizeof(job->user)
            || pread(fd, job->user, stop - start, start) != stop - start)
        {
            yd_media_fail(job, YD_CGI_INVALID_FORMAT_USERID,
                          "the form field \"userId\" is too long");
            return NGX_ERROR;
        }

        job->user_len = stop - start;

    } else if ((yd_is(name, "file") && job->has_part < 2)
               || (fname.data && job->has_part == 0))
    {
        /* the part named "file", else the first other one with a
         * filename; the part's filename and Content-Type are not the
         * file's (Java sends "file" and text/plain) */
        job->part_start = start;
        job->part_stop = stop;
        job->has_part = yd_is(name, "file") ? 2 : 1;

        if (fname.len && fname.len < sizeof(f->name)) {
            ngx_memcpy(f->name, fname.data, fname.len);
            f->name_len = fname.len;
        }
    }

#undef yd_is

    return NGX_DECLINED;
}


static ngx_int_t
yd_media_field(int fd, off_t start, off_t stop, size_t max, u_char **out,
    size_t *len)
{
    size_t  n;

    n = (size_t) (stop - start);

    if (n > max) {
        return NGX_ERROR;
    }

    free(*out);

    *out = malloc(n + 1);
    if (*out == NULL) {
        return NGX_ERROR;
    }

    if (n && pread(fd, *out, n, start) != (ssize_t) n) {
        return NGX_ERROR;
    }

    (*out)[n] = '\0';
    *len = n;

    return NGX_OK;
}


/* the form's "encrypt": {"type"|"fileType","name"} */

static ngx_int_t
yd_media_meta(yd_media_job_t *job)
{
    json_t                   *meta, *v;
    ngx_str_t                 enc, payload, name;
    ngx_uint_t                i;
    ngx_youdu_cgi_crypt_rc_e  rc;
    yd_file_job_t            *f = &job->file;

    if (job->form_app_len
        && (job->form_app_len != job->app_id.len
            || ngx_memcmp(job->form_app, job->app_id.data, job->app_id.len)
               != 0))
    {
        yd_media_fail(job, YD_CGI_INVALID_APPID,
                      "the form's appId is not the accessToken's app");
        return NGX_ERROR;
    }

    if (job->encrypt == NULL || job->encrypt_len == 0) {
        yd_media_fail(job, YD_CGI_MISS_ENCRYPT,
                      "the form has no field \"encrypt\" (the ciphertext of "
                      "{\"type\",\"name\"})");
        return NGX_ERROR;
    }

    if (job->has_part == 0) {
        yd_media_fail(job, YD_CGI_INVALID_MULTIPART,
                      "the form has no part named \"file\"");
        return NGX_ERROR;
    }

    enc.data = job->encrypt;
    enc.len = job->encrypt_len;

    rc = ngx_youdu_cgi_decrypt(NULL, job->key, &enc, &job->app_id, &payload,
                               NULL);

    if (rc == YD_CGI_CRYPT_BAD_APPID) {
        yd_media_fail(job, YD_CGI_INVALID_APPID,
                      "the field \"encrypt\" was made for another appId");
        return NGX_ERROR;
    }

    if (rc == YD_CGI_CRYPT_ERROR) {
        yd_media_fail(job, YD_CGI_INTERNALERR, "out of memory");
        return NGX_ERROR;
    }

    if (rc != YD_CGI_CRYPT_OK) {
        yd_media_fail(job, YD_CGI_INVALID_ENCRYPT,
                      "the field \"encrypt\" does not decrypt with this "
                      "app's EncodingAESKey");
        return NGX_ERROR;
    }

    meta = json_loadb((char *) payload.data, payload.len, 0, NULL);
    free(payload.data);

    if (!json_is_object(meta)) {
        json_decref(meta);
        yd_media_fail(job, YD_CGI_INVALID_FORMAT_JSON,
                      "the field \"encrypt\" must hold a JSON object "
                      "{\"type\",\"name\"}");
        return NGX_ERROR;
    }

    v = yd_cgi_obj_get(meta, "type");

    if (v == NULL || (json_is_string(v) && json_string_length(v) == 0)) {
        v = yd_cgi_obj_get(meta, "fileType");
    }

    job->type = 0;

    for (i = 1; json_is_string(v) && i <= YD_MEDIA_VIDEO; i++) {
        if (ngx_strcmp(json_string_value(v), yd_media_types[i]) == 0) {
            job->type = i;
        }
    }

    if (job->avatar) {
        /* {"name"}, or {"type":"image","name"} (HDJ) */
        if ((v && !(json_is_string(v) && json_string_length(v) == 0)
             && job->type != YD_MEDIA_IMAGE))
        {
            json_decref(meta);
            yd_media_fail(job, YD_CGI_INVALID_FILETYPE,
                          "an avatar is an image: type must be \"image\" "
                          "or absent");
            return NGX_ERROR;
        }

        job->type = YD_MEDIA_IMAGE;

    } else if (job->type == 0) {
        json_decref(meta);
        yd_media_fail(job, YD_CGI_INVALID_FILETYPE,
                      "type must be \"file\", \"image\", \"voice\" or "
                      "\"video\"");
        return NGX_ERROR;
    }

    v = yd_cgi_obj_get(meta, "name");

    if (json_is_string(v) && json_string_length(v) > 0
        && json_string_length(v) < sizeof(f->name))
    {
        ngx_memcpy(f->name, json_string_value(v), json_string_length(v));
        f->name_len = json_string_length(v);
    }

    json_decref(meta);

    name.data = f->name;
    name.len = f->name_len;

    if (name.len
        && (yd_valid_text(&name, YD_FILE_NAME_MAX, 0) != NGX_OK
            || yd_file_clean_name(&name) != NGX_OK))
    {
        name.len = 0;
    }

    if (name.len == 0) {
        /* no usable name: a neutral one */
        ngx_str_set(&name, "file");
    }

    ngx_memmove(f->name, name.data, name.len);
    f->name_len = name.len;

    return NGX_OK;
}


/* the file part, base64 ciphertext, into a temp file beside the storage */

static ngx_int_t
yd_media_decrypt_part(yd_media_job_t *job)
{
    int             in, out;
    off_t           max, size;
    yd_stream_rc_e  rc;
    yd_file_job_t  *f = &job->file;

    max = (job->type == YD_MEDIA_IMAGE) ? f->image_max : job->upload_max;

    out = -1;

    if (snprintf(f->part_path, sizeof(f->part_path), "%s/.part-XXXXXX",
                 f->dir) < (int) sizeof(f->part_path))
    {
        out = mkstemp(f->part_path);
    }

    if (out == -1) {
        f->part_path[0] = '\0';
        yd_media_fail(job, YD_CGI_INTERNALERR, "cannot write the upload");
        return NGX_ERROR;
    }

    in = open(job->form, O_RDONLY);
    if (in == -1) {
        close(out);
        yd_media_fail(job, YD_CGI_INTERNALERR, "cannot read the upload");
        return NGX_ERROR;
    }

    size = 0;
    rc = yd_cgi_stream_decrypt(job->key, &job->app_id, in, job->part_start,
                               job->part_stop, out, max, &size);
    close(in);

    if (close(out) == -1 && rc == YD_STREAM_OK) {
        rc = YD_STREAM_IO;
    }

    switch (rc) {

    case YD_STREAM_OK:
        break;

    case YD_STREAM_TOO_LARGE:
        yd_media_fail(job, YD_CGI_INVALID_REQUEST2,
                      "the file has %O bytes, more than the %s limit of %O",
                      size, job->type == YD_MEDIA_IMAGE
                            ? "youdu_image_max_size" : "youdu_upload_max_size",
                      max);
        return NGX_ERROR;

    case YD_STREAM_APPID:
        yd_media_fail(job, YD_CGI_INVALID_APPID,
                      "the file's ciphertext was made for another appId");
        return NGX_ERROR;

    case YD_STREAM_IO:
        yd_media_fail(job, YD_CGI_INTERNALERR, "cannot store the upload");
        return NGX_ERROR;

    default:
        yd_media_fail(job, YD_CGI_INVALID_ENCRYPT,
                      "the file part is not base64 ciphertext made with this "
                      "app's EncodingAESKey");
        return NGX_ERROR;
    }

    if (size == 0) {
        yd_media_fail(job, YD_CGI_INVALID_MULTIPART, "the file is empty");
        return NGX_ERROR;
    }

    f->src = f->part_path;
    f->size = size;

    return NGX_OK;
}


/* an image of a kind we read, whatever was declared */

static ngx_int_t
yd_media_sniff(yd_file_job_t *f)
{
    int      fd;
    u_char   head[64];
    ssize_t  n;

    fd = open(f->src, O_RDONLY);
    if (fd == -1) {
        yd_media_file_fail(f, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                           "cannot read the upload");
        return NGX_ERROR;
    }

    n = pread(fd, head, sizeof(head), 0);
    close(fd);

    if (f->size > f->image_max) {
        yd_media_file_fail(f, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                           YD_ERR_TOO_LARGE,
                           "the image is larger than youdu_image_max_size");
        return NGX_ERROR;
    }

    f->want = (n > 0) ? yd_file_magic(head, n) : YD_IMG_NONE;

    if (f->want == YD_IMG_NONE) {
        yd_media_file_fail(f, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                           YD_ERR_BAD_CONTENT_TYPE,
                           "the file is not an image (PNG, JPEG, GIF or "
                           "WebP)");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* PUT /me/avatar: the body is the image, or a form holding it */

void
yd_avatar_rest_thread(void *data, ngx_log_t *log)
{
    yd_file_job_t  *f = data;

    if (f->boundary[0]) {
        if (yd_file_multipart(f) != NGX_OK) {
            goto failed;
        }

        f->boundary[0] = '\0';
    }

    f->thumb_side = YD_AVATAR_SMALL;

    if (yd_media_sniff(f) != NGX_OK
        || yd_file_square(f, YD_AVATAR_LARGE) != NGX_OK)
    {
        goto failed;
    }

    yd_file_store(f);
    return;

failed:

    if (f->part_path[0]) {
        unlink(f->part_path);
    }
}


/* a stored file as base64 ciphertext for the app */

void
yd_media_download_thread(void *data, ngx_log_t *log)
{
    int             in, out;
    char            tmp[NGX_MAX_PATH];
    struct stat     st;
    yd_media_dl_t  *dl = data;

    dl->fd = -1;

    in = open(dl->path, O_RDONLY);
    if (in == -1) {
        dl->missing = (errno == ENOENT);
        dl->failed = 1;
        return;
    }

    out = -1;

    if (fstat(in, &st) == 0
        && snprintf(tmp, sizeof(tmp), "%s/.get-XXXXXX", dl->dir)
           < (int) sizeof(tmp))
    {
        out = mkstemp(tmp);
    }

    if (out == -1) {
        close(in);
        dl->failed = 1;
        return;
    }

    /* gone from the folder at once: nothing to clean up after a crash,
     * the reply reads the open descriptor */
    unlink(tmp);

    dl->size = st.st_size;

    if (yd_cgi_stream_encrypt(dl->key, &dl->app_id, in, st.st_size, out,
                              &dl->len)
        != NGX_OK)
    {
        close(in);
        close(out);
        dl->failed = 1;
        return;
    }

    close(in);
    dl->fd = out;
}


static void
yd_media_fail(yd_media_job_t *job, ngx_int_t errcode, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf((u_char *) job->file.err,
                      (u_char *) job->file.err + sizeof(job->file.err) - 1,
                      fmt, args);
    va_end(args);
    *p = '\0';

    job->errcode = errcode;
    job->file.status = (errcode == YD_CGI_INTERNALERR)
                       ? NGX_HTTP_INTERNAL_SERVER_ERROR : NGX_HTTP_BAD_REQUEST;
}


static void
yd_media_file_fail(yd_file_job_t *f, ngx_uint_t status, ngx_int_t errcode,
    const char *msg)
{
    ngx_cpystrn((u_char *) f->err, (u_char *) msg, sizeof(f->err));
    f->status = status;
    f->errcode = errcode;
}
