
/*
 * youdu HTTP module: an upload sent as multipart/form-data (an HTML form,
 * FormData), run in the thread pool: the first part with a filename is
 * copied out of nginx's temp file into a file of its own, beside the
 * storage, and becomes the upload; its filename and Content-Type are the
 * name and type.
 */


#include "ngx_http_youdu_files.h"


#define YD_PART_HEAD_MAX      16384
#define YD_SCAN_CHUNK         (256 * 1024)


static ngx_int_t yd_part_file(yd_file_job_t *job, void *data, int fd,
    u_char *h, size_t len, off_t start, off_t stop);
static ngx_int_t yd_part_headers(yd_file_job_t *job, u_char *h, size_t len);
static off_t yd_part_find(int fd, off_t from, off_t size, u_char *delim,
    size_t dlen);
static ngx_int_t yd_part_copy(yd_file_job_t *job, int fd, off_t from,
    off_t to);
static void yd_part_fail(yd_file_job_t *job, ngx_uint_t status,
    ngx_int_t errcode, const char *msg);


/*
 * NGX_OK: job->src is the part's file (job->part_path), job->size,
 * job->want, job->name and job->mime are the part's; NGX_ERROR: failed
 */

ngx_int_t
yd_file_multipart(yd_file_job_t *job)
{
    ngx_int_t  rc;

    rc = yd_file_parts(job, yd_part_file, NULL);

    if (rc == NGX_DONE) {
        yd_part_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_EMPTY_FILE,
                     "the form holds no file (a part with a filename)");
        return NGX_ERROR;
    }

    return rc;
}


/* the first part with a filename is the upload */

static ngx_int_t
yd_part_file(yd_file_job_t *job, void *data, int fd, u_char *h, size_t len,
    off_t start, off_t stop)
{
    ngx_int_t  rc;

    rc = yd_part_headers(job, h, len);

    if (rc == NGX_OK) {
        return yd_part_copy(job, fd, start, stop);
    }

    return rc;
}


/*
 * calls handler for each part of the form in job->src until it returns
 * NGX_OK or NGX_ERROR (NGX_DECLINED: the next part).  NGX_DONE: the form
 * ended; NGX_ERROR: malformed (job->status set) or the handler's error
 */

ngx_int_t
yd_file_parts(yd_file_job_t *job, yd_file_part_pt handler, void *data)
{
    int       fd;
    u_char    delim[80], *h, *p, *end;
    off_t     pos, start, stop;
    size_t    dlen;
    ssize_t   n;
    ngx_int_t rc;

    /* "\r\n--" boundary: the first delimiter may also open the body */
    dlen = ngx_sprintf(delim, "\r\n--%s", job->boundary) - delim;

    fd = open(job->src, O_RDONLY);
    if (fd == -1) {
        yd_part_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot open the upload");
        return NGX_ERROR;
    }

    h = malloc(YD_PART_HEAD_MAX);
    if (h == NULL) {
        close(fd);
        yd_part_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "out of memory");
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (job->size >= (off_t) dlen - 2
        && pread(fd, h, dlen - 2, 0) == (ssize_t) dlen - 2
        && ngx_memcmp(h, delim + 2, dlen - 2) == 0)
    {
        pos = dlen - 2;

    } else {
        pos = yd_part_find(fd, 0, job->size, delim, dlen);
        if (pos < 0) {
            goto malformed;
        }

        pos += dlen;
    }

    /* pos: just after a delimiter */

    for ( ;; ) {
        n = pread(fd, h, YD_PART_HEAD_MAX, pos);
        if (n < 2) {
            goto malformed;
        }

        if (h[0] == '-' && h[1] == '-') {
            rc = NGX_DONE;
            goto done;
        }

        /* transport padding, then CRLF */
        for (p = h; p < h + n && (*p == ' ' || *p == '\t'); p++) { /* void */ }

        if (p + 2 > h + n || p[0] != '\r' || p[1] != '\n') {
            goto malformed;
        }

        p += 2;

        end = ngx_strlcasestrn(p, h + n, (u_char *) "\r\n\r\n", 4 - 1);

        if (p + 2 <= h + n && p[0] == '\r' && p[1] == '\n') {
            end = p - 2;   /* no headers at all */
        }

        if (end == NULL) {
            yd_part_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_REQUEST,
                         "a form part has no end of its headers (or more "
                         "than 16 KB of them)");
            goto done;
        }

        start = pos + (end + 4 - h);

        stop = yd_part_find(fd, start, job->size, delim, dlen);
        if (stop < 0) {
            goto malformed;
        }

        rc = handler(job, data, fd, p, end + 2 - p, start, stop);

        if (rc != NGX_DECLINED) {
            goto done;
        }

        pos = stop + dlen;
    }

malformed:

    yd_part_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_REQUEST,
                 "malformed multipart/form-data body");
    rc = NGX_ERROR;

done:

    free(h);
    close(fd);
    return rc;
}


/* the value of header "name" among a part's headers, or NGX_DECLINED */

ngx_int_t
yd_file_part_header(u_char *h, size_t len, const char *name, ngx_str_t *value)
{
    u_char  *line, *eol, *end, *colon, *v;
    size_t   nlen;

    nlen = ngx_strlen(name);
    end = h + len;

    for (line = h; line < end; line = eol + 2) {
        eol = ngx_strlcasestrn(line, end, (u_char *) "\r\n", 2 - 1);
        if (eol == NULL) {
            break;
        }

        colon = ngx_strlchr(line, eol, ':');

        if (colon == NULL || (size_t) (colon - line) != nlen
            || ngx_strncasecmp(line, (u_char *) name, nlen) != 0)
        {
            continue;
        }

        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
            /* void */
        }

        value->data = v;
        value->len = eol - v;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * the headers of a part (h..h+len, each line ending in CRLF): NGX_OK a
 * file part (job->name, job->mime, job->want set), NGX_DECLINED another
 * field, NGX_ERROR refused
 */

static ngx_int_t
yd_part_headers(yd_file_job_t *job, u_char *h, size_t len)
{
    u_char     *line, *eol, *end, *colon, *v;
    ngx_str_t   name, name_ext, mime;
    ngx_int_t   rc;

    u_char      ext[YD_FILE_NAME_MAX * 4 + 1], *dst, *src;

    ngx_str_null(&name);
    ngx_str_null(&name_ext);
    ngx_str_null(&mime);

    end = h + len;

    for (line = h; line < end; line = eol + 2) {
        eol = ngx_strlcasestrn(line, end, (u_char *) "\r\n", 2 - 1);
        if (eol == NULL) {
            break;
        }

        colon = ngx_strlchr(line, eol, ':');
        if (colon == NULL) {
            continue;
        }

        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
            /* void */
        }

        if (colon - line == 19
            && ngx_strncasecmp(line, (u_char *) "Content-Disposition", 19)
               == 0)
        {
            yd_file_part_param(v, eol, "filename", &name, job->name,
                               sizeof(job->name));
            yd_file_part_param(v, eol, "filename*", &name_ext, ext,
                               sizeof(ext));

        } else if (colon - line == 12
                   && ngx_strncasecmp(line, (u_char *) "Content-Type", 12)
                      == 0)
        {
            mime.data = v;
            mime.len = eol - v;
        }
    }

    /* RFC 5987 filename*=UTF-8''%E6%8A%A5... wins over filename= */
    if (name_ext.len > 7
        && ngx_strncasecmp(name_ext.data, (u_char *) "UTF-8''", 7) == 0)
    {
        src = name_ext.data + 7;
        dst = job->name;
        ngx_unescape_uri(&dst, &src, name_ext.len - 7, 0);
        name.data = job->name;
        name.len = dst - job->name;

    } else if (name.data == NULL) {
        return NGX_DECLINED;
    }

    rc = yd_valid_text(&name, YD_FILE_NAME_MAX, 0);

    if (rc != NGX_OK) {
        yd_part_fail(job, NGX_HTTP_BAD_REQUEST,
                     rc == YD_ERR_TOO_LONG ? YD_ERR_TOO_LONG
                                           : YD_ERR_BAD_VALUE,
                     "the file name is longer than 255 characters or has "
                     "invalid characters");
        return NGX_ERROR;
    }

    if (yd_file_clean_name(&name) != NGX_OK) {
        yd_part_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "the file name is not a usable file name");
        return NGX_ERROR;
    }

    ngx_memmove(job->name, name.data, name.len);
    job->name_len = name.len;

    job->mime_len = mime.len ? yd_file_mime_clean(mime.data, mime.len,
                                                  job->mime)
                             : 0;

    mime.data = job->mime;
    mime.len = job->mime_len;
    job->want = yd_file_image_type(&mime);

    return NGX_OK;
}


/* key="quoted value" (backslash escapes) or key=token, into buf */

void
yd_file_part_param(u_char *h, u_char *end, const char *key, ngx_str_t *out,
    u_char *buf, size_t size)
{
    u_char  *p, *q;
    size_t   klen, n;

    klen = ngx_strlen(key);

    for (p = h; p + klen + 1 <= end; p++) {
        /* at a parameter start: after ';' and blanks */
        if (p != h && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t') {
            continue;
        }

        if (ngx_strncasecmp(p, (u_char *) key, klen) != 0 || p[klen] != '=') {
            continue;
        }

        q = p + klen + 1;
        n = 0;

        if (q < end && *q == '"') {
            for (q++; q < end && *q != '"'; q++) {
                if (*q == '\\' && q + 1 < end) {
                    q++;
                }

                if (n + 1 < size) {
                    buf[n++] = *q;
                }
            }

        } else {
            for ( /* void */ ; q < end && *q != ';' && *q != ' '; q++) {
                if (n + 1 < size) {
                    buf[n++] = *q;
                }
            }
        }

        buf[n] = '\0';
        out->data = buf;
        out->len = n;
        return;
    }
}


/* the offset of delim at or after from, or -1 */

static off_t
yd_part_find(int fd, off_t from, off_t size, u_char *delim, size_t dlen)
{
    u_char   *buf, *p;
    off_t     off, found;
    ssize_t   n;

    buf = malloc(YD_SCAN_CHUNK);
    if (buf == NULL) {
        return -1;
    }

    found = -1;

    /* chunks overlap by dlen - 1 so that no delimiter falls between */
    for (off = from; off < size; off += n - (ssize_t) (dlen - 1)) {
        n = pread(fd, buf, YD_SCAN_CHUNK, off);

        if (n < (ssize_t) dlen) {
            break;
        }

        p = ngx_strlcasestrn(buf, buf + n, delim, dlen - 1);

        /* a case-blind search: confirm the exact bytes */
        while (p && ngx_memcmp(p, delim, dlen) != 0) {
            p = ngx_strlcasestrn(p + 1, buf + n, delim, dlen - 1);
        }

        if (p) {
            found = off + (p - buf);
            break;
        }

        if (off + n >= size) {
            break;
        }
    }

    free(buf);
    return found;
}


/* the part's bytes into a file of their own, beside the storage */

static ngx_int_t
yd_part_copy(yd_file_job_t *job, int fd, off_t from, off_t to)
{
    int       out;
    u_char   *buf;
    off_t     off;
    ssize_t   n, w;

    if (to == from) {
        yd_part_fail(job, NGX_HTTP_BAD_REQUEST, YD_ERR_EMPTY_FILE,
                     "the file is empty");
        return NGX_ERROR;
    }

    if (job->want != YD_IMG_NONE && to - from > job->image_max) {
        yd_part_fail(job, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, YD_ERR_TOO_LARGE,
                     "the image is larger than youdu_image_max_size");
        return NGX_ERROR;
    }

    buf = malloc(YD_SCAN_CHUNK);
    if (buf == NULL) {
        yd_part_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "out of memory");
        return NGX_ERROR;
    }

    out = -1;

    if (snprintf(job->part_path, sizeof(job->part_path), "%s/.part-XXXXXX",
                 job->dir) < (int) sizeof(job->part_path))
    {
        out = mkstemp(job->part_path);
    }

    if (out == -1) {
        free(buf);
        job->part_path[0] = '\0';
        yd_part_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot write the upload");
        return NGX_ERROR;
    }

    for (off = from; off < to; off += n) {
        n = pread(fd, buf, ngx_min((off_t) YD_SCAN_CHUNK, to - off), off);
        if (n <= 0) {
            break;
        }

        for (w = 0; w < n; ) {
            ssize_t  k = write(out, buf + w, n - w);

            if (k <= 0) {
                break;
            }

            w += k;
        }

        if (w < n) {
            break;
        }
    }

    free(buf);

    if (close(out) == -1 || off < to) {
        yd_part_fail(job, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                     "cannot write the upload");
        return NGX_ERROR;
    }

    job->src = job->part_path;
    job->size = to - from;

    return NGX_OK;
}


static void
yd_part_fail(yd_file_job_t *job, ngx_uint_t status, ngx_int_t errcode,
    const char *msg)
{
    ngx_cpystrn((u_char *) job->err, (u_char *) msg, sizeof(job->err));
    job->status = status;
    job->errcode = errcode;
}
