
/*
 * youdu HTTP module: who may read a stored file, the file object, sending
 * a stored file (sendfile, ranges, ETag) and signed download URLs.
 */


#include "ngx_http_youdu_files.h"
#include "ngx_http_youdu_apps.h"

#include <openssl/hmac.h>
#include <openssl/crypto.h>


static ngx_int_t yd_file_header(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len, ngx_table_elt_t **out);
static ngx_int_t yd_file_disposition(ngx_http_youdu_ctx_t *ctx,
    ngx_str_t *name, ngx_uint_t inline_, ngx_str_t *out);
static ngx_int_t yd_file_mac(ngx_str_t *id, int64_t uid, time_t exp,
    u_char *hex);


/*
 * the file as uid may read it: his own upload, or attached to a message he
 * may read (joined_seq .. left_seq, as the message list), not recalled, or
 * the logo of an app in his portal
 */

ngx_int_t
yd_file_access_sql(ngx_http_youdu_ctx_t *ctx, int64_t uid, int64_t file_id)
{
    return yd_sql(ctx,
        "SELECT " YD_FILE_COLS " FROM files f "
        "JOIN users u ON u.id = ? AND u.enable_state = 1 "
        "WHERE f.id = ? AND (f.uploader_id = u.id OR EXISTS ("
        "SELECT 1 FROM message_files mf "
        "JOIN messages m ON m.conv_id = mf.conv_id AND m.seq = mf.seq "
        "AND m.recalled = 0 "
        "JOIN conversation_members cm ON cm.conv_id = mf.conv_id "
        "AND cm.user_id = u.id "
        "WHERE mf.file_id = f.id AND mf.seq >= cm.joined_seq "
        "AND (cm.left_at IS NULL OR mf.seq <= cm.left_seq)) "
        "OR EXISTS (SELECT 1 FROM apps la WHERE la.logo_file_id = f.id AND "
        YD_APP_VISIBLE_COND("u.id", "la.id") "))",
        "ii", uid, file_id);
}


/* inside the transaction that stores message (conv_id, seq): from then
 * on the message gives its readers access to the file */

ngx_int_t
yd_file_link_sql(ngx_http_youdu_ctx_t *ctx, int64_t file_id, int64_t conv_id,
    int64_t seq)
{
    return yd_sql(ctx,
        "INSERT INTO message_files (file_id, conv_id, seq) VALUES (?, ?, ?)",
        "iii", file_id, conv_id, seq);
}


/* one row of YD_FILE_COLS as the API returns it */

json_t *
yd_file_json(ngx_youdu_db_result_t *res, ngx_uint_t row)
{
    json_t      *obj, *thumb;
    ngx_uint_t   image;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    image = yd_int(res, row, 5);
    thumb = json_null();

    if (yd_int(res, row, 8)) {
        thumb = json_object();
        if (thumb) {
            json_object_set_new(thumb, "width", yd_json_cell_int(res, row, 9));
            json_object_set_new(thumb, "height",
                                yd_json_cell_int(res, row, 10));
        }
    }

    json_object_set_new(obj, "id", yd_json_cell_int(res, row, 0));
    json_object_set_new(obj, "name", yd_json_cell(res, row, 1));
    json_object_set_new(obj, "size", yd_json_cell_int(res, row, 2));
    json_object_set_new(obj, "mime", yd_json_cell(res, row, 3));
    json_object_set_new(obj, "sha256", yd_json_cell(res, row, 4));
    json_object_set_new(obj, "is_image", json_boolean(image));
    json_object_set_new(obj, "width",
                        image ? yd_json_cell_int(res, row, 6) : json_null());
    json_object_set_new(obj, "height",
                        image ? yd_json_cell_int(res, row, 7) : json_null());
    json_object_set_new(obj, "thumb", thumb ? thumb : json_null());
    json_object_set_new(obj, "created_at", yd_json_cell(res, row, 11));
    json_object_set_new(obj, "uploader_id", yd_json_cell_int(res, row, 12));

    return obj;
}


ngx_int_t
yd_file_path(ngx_pool_t *pool, ngx_str_t *sha, ngx_uint_t thumb,
    ngx_str_t *path)
{
    u_char                 *p;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    if (sha->len != 64) {
        return NGX_ERROR;
    }

    path->data = ngx_pnalloc(pool, ycf->files_path.len + sizeof("/xx/.thumb")
                                   + 64);
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(path->data, "%V/%c%c/%V%s", &ycf->files_path,
                    sha->data[0], sha->data[1], sha,
                    thumb ? ".thumb" : "");
    path->len = p - path->data;
    *p = '\0';

    return NGX_OK;
}


/*
 * replies with the file of row 0 of YD_FILE_COLS (or its thumbnail; an
 * image without one, small enough already, is its own thumbnail)
 */

ngx_int_t
yd_file_send(ngx_http_youdu_ctx_t *ctx, ngx_youdu_db_result_t *res,
    ngx_uint_t thumb)
{
    u_char                   *p;
    ngx_fd_t                  fd;
    ngx_int_t                 rc;
    ngx_str_t                 path, *sha, *mime, disp;
    ngx_buf_t                *b;
    ngx_uint_t                image;
    ngx_chain_t               out;
    ngx_file_info_t           fi;
    ngx_table_elt_t          *h;
    ngx_pool_cleanup_t       *cln;
    ngx_http_request_t       *r = ctx->r;
    ngx_pool_cleanup_file_t  *clnf;

    sha = yd_cell(res, 0, 4);
    mime = yd_cell(res, 0, 3);
    image = yd_int(res, 0, 5);

    if (thumb && !image) {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                        "file %V is not an image and has no thumbnail",
                        yd_cell(res, 0, 0));
    }

    thumb = thumb && yd_int(res, 0, 8);

    if (thumb && !(mime->len == 10
                   && ngx_strncmp(mime->data, "image/jpeg", 10) == 0))
    {
        mime = yd_pstr(ctx->pool, "image/png");
        if (mime == NULL) {
            return NGX_ERROR;
        }
    }

    if (yd_file_path(ctx->pool, sha, thumb, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      YD_LOG_TAG "stored file \"%V\" is missing", &path);
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                        "file %V is no longer stored", yd_cell(res, 0, 0));
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = path.data;
    clnf->log = r->connection->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return NGX_ERROR;
    }

    if (yd_file_disposition(ctx, yd_cell(res, 0, 1), image, &disp)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* from here on the reply is ours, not yd_send_raw()'s */
    ctx->finished = 1;
    yd_release(ctx);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = *mime;
    r->headers_out.content_type_len = mime->len;
    r->headers_out.content_length_n = ngx_file_size(&fi);
    r->allow_ranges = 1;

    p = ngx_pnalloc(r->pool, 64 + 5);
    if (p == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    rc = NGX_ERROR;

    /* immutable content, but access may end: the browser revalidates
     * (If-None-Match -> 304 from nginx's not_modified filter) */
    if (yd_file_header(r, "ETag", p,
                       ngx_sprintf(p, "\"%V%s\"", sha, thumb ? "-t" : "")
                       - p, &r->headers_out.etag) != NGX_OK
        || yd_file_header(r, "Content-Disposition", disp.data, disp.len,
                          NULL) != NGX_OK
        || yd_file_header(r, "X-Content-Type-Options", (u_char *) "nosniff",
                          7, NULL) != NGX_OK
        || yd_file_header(r, "Cache-Control", (u_char *) "private, no-cache",
                          17, NULL) != NGX_OK
        || yd_file_header(r, "Content-Security-Policy",
                          (u_char *) "default-src 'none'; sandbox", 27,
                          &h) != NGX_OK)
    {
        goto done;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        goto done;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        goto done;
    }

    b->file_pos = 0;
    b->file_last = ngx_file_size(&fi);
    b->in_file = b->file_last ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    b->sync = b->in_file ? 0 : 1;

    b->file->fd = fd;
    b->file->name = path;
    b->file->log = r->connection->log;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        goto done;
    }

    rc = ngx_http_output_filter(r, &out);

done:

    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}


static ngx_int_t
yd_file_header(ngx_http_request_t *r, const char *key, u_char *value,
    size_t len, ngx_table_elt_t **out)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;

    if (out) {
        *out = h;
    }

    return NGX_OK;
}


/*
 * inline for images, attachment otherwise; filename= an ASCII stand-in,
 * filename*= the UTF-8 name (RFC 5987/6266)
 */

static ngx_int_t
yd_file_disposition(ngx_http_youdu_ctx_t *ctx, ngx_str_t *name,
    ngx_uint_t inline_, ngx_str_t *out)
{
    u_char      *p, c;
    size_t       i;
    const char  *type;

    static u_char  hex[] = "0123456789ABCDEF";

    type = inline_ ? "inline" : "attachment";

    out->data = ngx_pnalloc(ctx->pool, 64 + 4 * name->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(out->data, "%s; filename=\"", type);

    for (i = 0; i < name->len; i++) {
        c = name->data[i];
        *p++ = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%')
               ? '_' : c;
    }

    p = ngx_cpymem(p, "\"; filename*=UTF-8''", 20);

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || (c && ngx_strchr("!#$&+-.^_`|~", c)))
        {
            *p++ = c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* signed URLs: ?uid=U&exp=E&sig=HMAC-SHA256(key, "youdu-file:id:U:E") */

static ngx_int_t
yd_file_mac(ngx_str_t *id, int64_t uid, time_t exp, u_char *hex)
{
    u_char                  msg[128], md[EVP_MAX_MD_SIZE], *p;
    unsigned int            mdlen;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    p = ngx_snprintf(msg, sizeof(msg), "youdu-file:%V:%L:%T", id, uid, exp);

    if (HMAC(EVP_sha256(), ycf->jwt_key.data, (int) ycf->jwt_key.len, msg,
             p - msg, md, &mdlen) == NULL)
    {
        return NGX_ERROR;
    }

    *ngx_hex_dump(hex, md, mdlen) = '\0';

    return NGX_OK;
}


ngx_int_t
yd_file_sign(ngx_http_youdu_ctx_t *ctx, int64_t file_id, int64_t uid,
    time_t exp, ngx_str_t *query)
{
    u_char     hex[2 * EVP_MAX_MD_SIZE + 1], idbuf[NGX_INT64_LEN];
    ngx_str_t  id;

    id.data = idbuf;
    id.len = ngx_sprintf(idbuf, "%L", file_id) - idbuf;

    if (yd_file_mac(&id, uid, exp, hex) != NGX_OK) {
        return NGX_ERROR;
    }

    query->data = ngx_pnalloc(ctx->pool, 128 + sizeof(hex));
    if (query->data == NULL) {
        return NGX_ERROR;
    }

    query->len = ngx_sprintf(query->data, "uid=%L&exp=%T&sig=%s", uid, exp,
                             hex)
                 - query->data;

    return NGX_OK;
}


/*
 * before authentication on YD_ROUTE_SIGNED routes: NGX_DECLINED no
 * signature (use the token), NGX_OK ctx->me.uid set, NGX_DONE replied
 */

ngx_int_t
ngx_http_youdu_file_url_auth(ngx_http_youdu_ctx_t *ctx)
{
    u_char      hex[2 * EVP_MAX_MD_SIZE + 1];
    time_t      exp;
    ngx_int_t   uid;
    ngx_str_t   sig, suid, sexp;

    if (ngx_http_arg(ctx->r, (u_char *) "sig", 3, &sig) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ctx->nargs == 0
        || ngx_http_arg(ctx->r, (u_char *) "uid", 3, &suid) != NGX_OK
        || ngx_http_arg(ctx->r, (u_char *) "exp", 3, &sexp) != NGX_OK
        || suid.len > 18 || sexp.len > 18
        || (uid = ngx_atoi(suid.data, suid.len)) == NGX_ERROR || uid == 0
        || (exp = ngx_atotm(sexp.data, sexp.len)) == NGX_ERROR
        || yd_file_mac(&ctx->args[0], uid, exp, hex) != NGX_OK
        || sig.len != ngx_strlen(hex)
        || CRYPTO_memcmp(sig.data, hex, sig.len) != 0)
    {
        yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_BAD_LINK,
                 "this download link is not valid");
        return NGX_DONE;
    }

    if (exp < ngx_time()) {
        yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_LINK_EXPIRED,
                 "this download link has expired: ask for a new one");
        return NGX_DONE;
    }

    /* the handler checks what this user may read (and that he is enabled) */
    ctx->me.uid = uid;
    ctx->me.sid = 0;

    return NGX_OK;
}


/* the declared type of an upload (see yd_file_mime_clean()) */

void
yd_file_request_mime(ngx_http_request_t *r, ngx_str_t *out)
{
    u_char     *p;
    size_t      n;
    ngx_str_t  *ct;

    ngx_str_set(out, "application/octet-stream");

    if (r->headers_in.content_type == NULL) {
        return;
    }

    ct = &r->headers_in.content_type->value;

    p = ngx_pnalloc(r->pool, YD_MIME_MAX + 1);
    if (p == NULL) {
        return;
    }

    n = yd_file_mime_clean(ct->data, ct->len, p);

    if (n) {
        out->data = p;
        out->len = n;
    }
}


/* the body limit of an upload: images have their own */

off_t
ngx_http_youdu_upload_limit(ngx_http_request_t *r,
    ngx_http_youdu_loc_conf_t *ylcf)
{
    ngx_str_t  mime;

    yd_file_request_mime(r, &mime);

    return (yd_file_image_type(&mime) != YD_IMG_NONE) ? ylcf->image_max
                                                      : ylcf->upload_max;
}
