
/*
 * youdu: /cgi media (PROTOCOL.md 4.3): upload (a multipart form, the file
 * as base64 ciphertext), get (the file as base64 ciphertext, its name and
 * size in the "Encrypt" header), search (name and size), and the face
 * recognition settings (4.10).  An app reads only the media of its own
 * app_media rows: what it uploaded, and what users sent to it.
 */


#include "ngx_http_youdu_cgi_media.h"

#include <openssl/rand.h>


static ngx_int_t ngx_http_youdu_cgi_media_upload(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_media_get(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_media_search(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_face_conf(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t yd_media_lookup(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_media_routes[] = {

    /* the framework's body limit for a form: 4/3 of youdu_upload_max_size
     * and 64 KB; the decrypted file is checked against the limits */
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/media/upload",
        ngx_http_youdu_cgi_media_upload, YD_AUTH_NONE, 0,
        YD_ROUTE_FILE_BODY },
      YD_CGI_ENV_NONE, YD_APP_RIGHT_MSG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/media/get",
        ngx_http_youdu_cgi_media_get, YD_AUTH_NONE, 64 * 1024, 0 },
      /* any app reads its own media: the audit monitor has no message
       * right but fetches the files of the messages it is sent */
      YD_CGI_ENV_NORMAL, 0 },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/media/search",
        ngx_http_youdu_cgi_media_search, YD_AUTH_NONE, 64 * 1024, 0 },
      /* any app reads its own media: the audit monitor has no message
       * right but fetches the files of the messages it is sent */
      YD_CGI_ENV_NORMAL, 0 },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/face/conf.get",
        ngx_http_youdu_cgi_face_conf, YD_AUTH_NONE, 64 * 1024, 0 },
      YD_CGI_ENV_NORMAL, 0 },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


static ngx_str_t  yd_media_octets = ngx_string("application/octet-stream");


/* shared by media and avatar uploads */

ngx_int_t
yd_media_upload_start(ngx_http_youdu_ctx_t *ctx, ngx_uint_t avatar)
{
    u_char                     *p;
    ngx_str_t                   mime;
    yd_media_job_t             *job;
    ngx_http_request_body_t    *rb;
    ngx_youdu_core_conf_t      *ycf;
    ngx_http_youdu_cgi_t       *cgi = ctx->cgi;
    ngx_http_youdu_loc_conf_t  *ylcf;

    job = ngx_pcalloc(ctx->pool, sizeof(yd_media_job_t));
    if (job == NULL) {
        return NGX_ERROR;
    }

    ctx->data = job;

    rb = ctx->r->request_body;

    if (ctx->body_size == 0 || rb == NULL || rb->temp_file == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_MULTIPART,
                           "send a multipart/form-data body with the fields "
                           "buin, appId, encrypt and a part named file");
    }

    yd_file_request_mime(ctx->r, &mime);

    if (yd_file_boundary(ctx->r, &mime, &job->file) != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_MULTIPART,
                           "the body must be multipart/form-data with a "
                           "boundary");
    }

    ycf = ngx_youdu_core_conf(ngx_cycle);
    ylcf = ngx_http_get_module_loc_conf(ctx->r, ngx_http_youdu_module);

    job->file.dir = ngx_pnalloc(ctx->pool, ycf->files_path.len + 1);
    if (job->file.dir == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(job->file.dir, ycf->files_path.data, ycf->files_path.len);
    *p = '\0';

    job->form = (char *) rb->temp_file->file.name.data;
    job->form_size = ctx->body_size;
    job->file.max_pixels = ylcf->image_max_pixels;
    job->file.image_max = ylcf->image_max;
    job->upload_max = ylcf->upload_max;
    job->avatar = avatar;
    job->app_id = cgi->app_id;
    ngx_memcpy(job->key, cgi->key, YD_CGI_KEY_LEN);

    return yd_file_post_task(ctx, yd_media_upload_thread, job);
}


/* the task's error as a section 6 code */

ngx_int_t
yd_media_upload_failed(ngx_http_youdu_ctx_t *ctx, yd_media_job_t *job)
{
    ngx_str_t       msg;
    yd_file_job_t  *f = &job->file;

    ngx_explicit_memzero(job->key, sizeof(job->key));

    if (job->errcode) {
        return yd_cgi_fail(ctx, job->errcode, "%s", f->err);
    }

    switch (f->errcode) {

    case YD_ERR_BAD_CONTENT_TYPE:
    case YD_ERR_BAD_IMAGE:
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FILETYPE, "%s", f->err);

    case YD_ERR_BAD_REQUEST:
    case YD_ERR_EMPTY_FILE:
        return yd_cgi_fail(ctx, YD_CGI_INVALID_MULTIPART, "%s", f->err);

    default:
        msg.data = (u_char *) f->err;
        msg.len = ngx_strlen(f->err);
        return yd_cgi_from_rest(ctx, f->status, f->errcode, &msg);
    }
}


const char *
yd_media_mime(yd_file_job_t *f)
{
    return f->want ? yd_file_image_mime(f->want) : "application/octet-stream";
}


/* the files row of a stored upload (uploader 0: none, an app's) */

ngx_int_t
yd_media_insert_file(ngx_http_youdu_ctx_t *ctx, yd_file_job_t *f,
    int64_t uploader, ngx_str_t *name)
{
    ngx_str_t  mime, fname;

    mime.data = (u_char *) yd_media_mime(f);
    mime.len = ngx_strlen(mime.data);

    if (name == NULL) {
        fname.data = f->name;
        fname.len = f->name_len;
        name = &fname;
    }

    return yd_sql(ctx,
        "INSERT INTO files (uploader_id, name, size, mime, sha256, "
        "is_image, width, height, has_thumb, thumb_width, thumb_height, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "UTC_TIMESTAMP(3))",
        "nsiszinninn", uploader ? yd_int_str(ctx->pool, uploader) : NULL,
        name, (int64_t) f->size, &mime, (char *) f->sha,
        (int64_t) (f->want != 0),
        f->want ? yd_int_str(ctx->pool, f->width) : NULL,
        f->want ? yd_int_str(ctx->pool, f->height) : NULL,
        (int64_t) f->has_thumb,
        f->has_thumb ? yd_int_str(ctx->pool, f->thumb_width) : NULL,
        f->has_thumb ? yd_int_str(ctx->pool, f->thumb_height) : NULL);
}


/* POST /cgi/media/upload?accessToken= (multipart) -> enc{"mediaId"} */

static ngx_int_t
ngx_http_youdu_cgi_media_upload(ngx_http_youdu_ctx_t *ctx)
{
    u_char           rnd[16];
    json_t          *data;
    ngx_str_t        type, id;
    yd_media_job_t  *job = ctx->data;

    static const char  *types[] = { "", "file", "image", "voice", "video" };

    switch (ctx->stage) {

    case 0:
        return yd_media_upload_start(ctx, 0);

    case 1:
        if (job->file.status) {
            return yd_media_upload_failed(ctx, job);
        }

        ngx_explicit_memzero(job->key, sizeof(job->key));

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return NGX_ERROR;
        }

        *ngx_hex_dump(job->media_id, rnd, sizeof(rnd)) = '\0';

        /* the two rows together or neither */
        return yd_begin(ctx);

    case 2:
        return yd_media_insert_file(ctx, &job->file, 0, NULL);

    case 3:
        job->file_id = (int64_t) ctx->res->insert_id;

        type.data = (u_char *) types[job->type];
        type.len = ngx_strlen(type.data);
        id.data = job->media_id;
        id.len = 32;

        return yd_sql(ctx,
            "INSERT INTO app_media (media_id, app_pk, file_id, type) "
            "VALUES (?, ?, ?, ?)",
            "siis", &id, ctx->cgi->app_pk, job->file_id, &type);

    case 4:
        return yd_commit(ctx);

    default:
        data = json_object();
        if (data == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(data, "mediaId",
                            json_string((char *) job->media_id));

        return yd_cgi_ok(ctx, data);
    }
}


/* stage 0 of get and search: the app's media by its id */

static ngx_int_t
yd_media_lookup(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  id;

    rc = yd_cgi_str(ctx, "mediaId", &id);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "mediaId is missing");
    }

    if (rc != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "mediaId must be a string");
    }

    if (id.len != 32) {
        return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                           "no media with this mediaId");
    }

    return yd_sql(ctx,
        "SELECT f.name, f.size, f.sha256 FROM app_media m "
        "JOIN files f ON f.id = m.file_id "
        "WHERE m.media_id = ? AND m.app_pk = ?",
        "si", &id, ctx->cgi->app_pk);
}


/* POST /cgi/media/get {"mediaId"} -> the file */

static ngx_int_t
ngx_http_youdu_cgi_media_get(ngx_http_youdu_ctx_t *ctx)
{
    switch (ctx->stage) {

    case 0:
        return yd_media_lookup(ctx);

    case 1:
        if (ctx->res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                               "no media with this mediaId");
        }

        return yd_media_download_start(ctx, yd_cell(ctx->res, 0, 2), 0,
                                       yd_cell(ctx->res, 0, 0));

    default:
        return yd_media_download_send(ctx);
    }
}


/* POST /cgi/media/search {"mediaId"} -> enc{"name","size"} */

static ngx_int_t
ngx_http_youdu_cgi_media_search(ngx_http_youdu_ctx_t *ctx)
{
    json_t  *data;

    if (ctx->stage == 0) {
        return yd_media_lookup(ctx);
    }

    if (ctx->res->nrows == 0) {
        return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                           "no media with this mediaId");
    }

    data = json_object();
    if (data == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(data, "name", yd_json_cell(ctx->res, 0, 0));
    json_object_set_new(data, "size", yd_json_cell_int(ctx->res, 0, 1));

    return yd_cgi_ok(ctx, data);
}


/* downloads, shared with the avatars */

ngx_int_t
yd_media_download_start(ngx_http_youdu_ctx_t *ctx, ngx_str_t *sha,
    ngx_uint_t thumb, ngx_str_t *name)
{
    u_char                 *p;
    ngx_str_t               path;
    yd_media_dl_t          *dl;
    ngx_youdu_core_conf_t  *ycf;
    ngx_http_youdu_cgi_t   *cgi = ctx->cgi;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    dl = ngx_pcalloc(ctx->pool, sizeof(yd_media_dl_t));
    if (dl == NULL || yd_file_path(ctx->pool, sha, thumb, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    dl->fd = -1;
    dl->path = (char *) path.data;

    dl->dir = ngx_pnalloc(ctx->pool, ycf->files_path.len + 1);
    dl->name.data = ngx_pnalloc(ctx->pool, name->len + 1);
    if (dl->dir == NULL || dl->name.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(dl->dir, ycf->files_path.data, ycf->files_path.len);
    *p = '\0';

    dl->name.len = ngx_cpymem(dl->name.data, name->data, name->len)
                   - dl->name.data;

    dl->app_id = cgi->app_id;
    ngx_memcpy(dl->key, cgi->key, YD_CGI_KEY_LEN);

    ctx->data = dl;

    return yd_file_post_task(ctx, yd_media_download_thread, dl);
}


/*
 * HTTP 200, header "Encrypt" = ciphertext of {"name","size"}, the body
 * the base64 text the task wrote (sendfile from its unlinked file)
 */

ngx_int_t
yd_media_download_send(ngx_http_youdu_ctx_t *ctx)
{
    char                     *s;
    json_t                   *meta;
    ngx_int_t                 rc;
    ngx_str_t                 enc;
    ngx_buf_t                *b;
    ngx_chain_t               out;
    yd_media_dl_t            *dl = ctx->data;
    ngx_table_elt_t          *h;
    ngx_pool_cleanup_t       *cln;
    ngx_http_request_t       *r = ctx->r;
    ngx_pool_cleanup_file_t  *clnf;

    ngx_explicit_memzero(dl->key, sizeof(dl->key));

    if (dl->fd == -1) {
        if (dl->missing) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                          YD_LOG_TAG "stored file \"%s\" is missing",
                          dl->path);
            return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                               "the file is no longer stored");
        }

        return yd_cgi_fail(ctx, YD_CGI_INTERNALERR,
                           "cannot read the file (temporary: retry later)");
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        close(dl->fd);
        return NGX_ERROR;
    }

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = dl->fd;
    clnf->name = (u_char *) dl->path;
    clnf->log = r->connection->log;

    meta = json_object();
    if (meta == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(meta, "name",
                        json_stringn((char *) dl->name.data, dl->name.len));
    json_object_set_new(meta, "size", json_integer(dl->size));

    s = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);

    if (s == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_youdu_cgi_encrypt(ctx->pool, ctx->cgi->key, &ctx->cgi->app_id,
                               (u_char *) s, ngx_strlen(s), &enc);
    free(s);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* from here on the reply is ours */
    ctx->finished = 1;
    yd_release(ctx);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = yd_media_octets;
    r->headers_out.content_type_len = yd_media_octets.len;
    r->headers_out.content_length_n = dl->len;

    rc = NGX_ERROR;

    /* PHP's SDK looks the header up by this exact spelling */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        goto done;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Encrypt");
    h->value = enc;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        goto done;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        goto done;
    }

    b->file_pos = 0;
    b->file_last = dl->len;
    b->in_file = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    b->file->fd = dl->fd;
    b->file->name.data = (u_char *) dl->path;
    b->file->name.len = ngx_strlen(dl->path);
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


/* GET /cgi/face/conf.get -> enc{"key","secret"} (youdu_face_key and
 * youdu_face_secret; empty strings when not configured) */

static ngx_int_t
ngx_http_youdu_cgi_face_conf(ngx_http_youdu_ctx_t *ctx)
{
    json_t                     *data;
    ngx_http_youdu_loc_conf_t  *ylcf;

    ylcf = ngx_http_get_module_loc_conf(ctx->r, ngx_http_youdu_module);

    data = json_object();
    if (data == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(data, "key", json_stringn((char *) ylcf->face_key.data,
                                                  ylcf->face_key.len));
    json_object_set_new(data, "secret",
                        json_stringn((char *) ylcf->face_secret.data,
                                     ylcf->face_secret.len));

    return yd_cgi_ok(ctx, data);
}
