
/*
 * youdu HTTP module: files and images: upload (raw body, spooled to disk
 * by nginx), download and thumbnail for those who may read them, signed
 * download URLs for <img src>.
 */


#include "ngx_http_youdu_files.h"


typedef struct {
    ngx_str_t                 name;
    ngx_str_t                 mime;
    yd_file_job_t            *job;
} yd_file_up_t;


/*
 * multipart/form-data; boundary=...: the boundary into job->boundary;
 * NGX_DECLINED another type, NGX_ERROR no usable boundary
 */

ngx_int_t
yd_file_boundary(ngx_http_request_t *r, ngx_str_t *mime, yd_file_job_t *job)
{
    u_char     *p, *end, *b;
    size_t      n;
    ngx_str_t  *ct;

    if (mime->len != 19
        || ngx_strncmp(mime->data, "multipart/form-data", 19) != 0)
    {
        return NGX_DECLINED;
    }

    ct = &r->headers_in.content_type->value;
    end = ct->data + ct->len;

    p = ngx_strlcasestrn(ct->data, end, (u_char *) "boundary=", 9 - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p += 9;

    if (p < end && *p == '"') {
        b = ++p;
        while (p < end && *p != '"') {
            p++;
        }

    } else {
        b = p;
        while (p < end && *p != ';' && *p != ' ' && *p != '\t') {
            p++;
        }
    }

    n = p - b;

    /* RFC 2046: 1..70 characters */
    if (n == 0 || n > 70) {
        return NGX_ERROR;
    }

    for (p = b; p < b + n; p++) {
        if (*p < 0x20 || *p >= 0x7f) {
            return NGX_ERROR;
        }
    }

    ngx_memcpy(job->boundary, b, n);
    job->boundary[n] = '\0';

    return NGX_OK;
}


static void
yd_file_thread(void *data, ngx_log_t *log)
{
    yd_file_store(data);
}


static void
yd_file_thread_done(ngx_event_t *ev)
{
    yd_resume(ev->data);
}


static ngx_int_t
yd_file_post_job(ngx_http_youdu_ctx_t *ctx, yd_file_job_t *job)
{
    return yd_file_post_task(ctx, yd_file_thread, job);
}


/* a task of the upload kind: the handler resumes at its next stage */

ngx_int_t
yd_file_post_task(ngx_http_youdu_ctx_t *ctx, yd_file_task_pt handler,
    void *data)
{
    ngx_thread_task_t      *task;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    task = ngx_thread_task_alloc(ctx->pool, 0);
    if (task == NULL) {
        return NGX_ERROR;
    }

    task->ctx = data;
    task->handler = handler;
    task->event.handler = yd_file_thread_done;
    task->event.data = ctx;
    task->event.log = ctx->r->connection->log;

    if (ycf->kdf_pool == NULL
        || ngx_thread_task_post(ycf->kdf_pool, task) != NGX_OK)
    {
        return yd_error(ctx, NGX_HTTP_TOO_MANY_REQUESTS, YD_ERR_TOO_MANY,
                        "the server is busy, please retry the upload");
    }

    return NGX_AGAIN;
}


/* POST /files?name=N, the file's bytes as the body */

static ngx_int_t
ngx_http_youdu_file_upload(ngx_http_youdu_ctx_t *ctx)
{
    u_char                     *p;
    json_t                     *obj;
    ngx_int_t                   rc;
    yd_file_up_t               *up;
    yd_file_job_t              *job;
    ngx_http_request_body_t    *rb;
    ngx_youdu_core_conf_t      *ycf;
    ngx_http_youdu_loc_conf_t  *ylcf;
    ngx_youdu_db_result_t      *res = ctx->res;

    up = ctx->data;

    switch (ctx->stage) {

    case 0:
        up = ngx_pcalloc(ctx->pool, sizeof(yd_file_up_t));
        job = ngx_pcalloc(ctx->pool, sizeof(yd_file_job_t));
        if (up == NULL || job == NULL) {
            return NGX_ERROR;
        }

        ctx->data = up;
        up->job = job;

        if (yd_query_str(ctx, "name", YD_FILE_NAME_MAX, &up->name) != NGX_OK) {
            return NGX_DONE;
        }

        yd_file_request_mime(ctx->r, &up->mime);

        /* a form: the name and type come from its file part */
        rc = yd_file_boundary(ctx->r, &up->mime, job);

        if (rc == NGX_ERROR) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_CONTENT_TYPE,
                            "multipart/form-data needs a boundary of 1..70 "
                            "characters");
        }

        if (up->name.data == NULL && rc != NGX_OK) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                            "query parameter \"name\" (the file name) is "
                            "required");
        }

        if (up->name.data && yd_file_clean_name(&up->name) != NGX_OK) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "\"name\" is not a usable file name");
        }

        rb = ctx->r->request_body;

        if (ctx->body_size == 0 || rb == NULL || rb->temp_file == NULL) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_EMPTY_FILE,
                            "the file is empty: send its bytes as the "
                            "request body");
        }

        ycf = ngx_youdu_core_conf(ngx_cycle);
        ylcf = ngx_http_get_module_loc_conf(ctx->r, ngx_http_youdu_module);

        job->dir = ngx_pnalloc(ctx->pool, ycf->files_path.len + 1);
        if (job->dir == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(job->dir, ycf->files_path.data, ycf->files_path.len);
        *p = '\0';

        job->src = (char *) rb->temp_file->file.name.data;
        job->size = ctx->body_size;
        job->want = yd_file_image_type(&up->mime);
        job->max_pixels = ylcf->image_max_pixels;
        job->image_max = ylcf->image_max;

        return yd_file_post_job(ctx, job);

    case 1:
        job = up->job;

        if (job->status) {
            return yd_error(ctx, job->status, job->errcode, "%s", job->err);
        }

        if (job->boundary[0]) {
            if (up->name.data == NULL) {
                up->name.data = job->name;
                up->name.len = job->name_len;
            }

            up->mime.data = job->mime;
            up->mime.len = job->mime_len;

            if (job->mime_len == 0) {
                ngx_str_set(&up->mime, "application/octet-stream");
            }
        }

        return yd_sql(ctx,
            "INSERT INTO files (uploader_id, name, size, mime, sha256, "
            "is_image, width, height, has_thumb, thumb_width, thumb_height, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "UTC_TIMESTAMP(3))",
            "isiszinninn", ctx->me.uid, &up->name, (int64_t) job->size,
            &up->mime, (char *) job->sha, (int64_t) (job->want != 0),
            job->want ? yd_int_str(ctx->pool, job->width) : NULL,
            job->want ? yd_int_str(ctx->pool, job->height) : NULL,
            (int64_t) job->has_thumb,
            job->has_thumb ? yd_int_str(ctx->pool, job->thumb_width) : NULL,
            job->has_thumb ? yd_int_str(ctx->pool, job->thumb_height) : NULL);

    case 2:
        return yd_sql(ctx, "SELECT " YD_FILE_COLS " FROM files f WHERE f.id = ?",
                      "i", (int64_t) res->insert_id);

    default:
        if (res->nrows == 0) {
            return NGX_ERROR;
        }

        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "file", yd_file_json(res, 0));

        return yd_ok_status(ctx, NGX_HTTP_CREATED, obj);
    }
}


/* stage 0 of the reads: the file as the caller may see it */

static ngx_int_t
yd_file_lookup(ngx_http_youdu_ctx_t *ctx, int64_t *id)
{
    if (yd_arg_int(ctx, 0, id) != NGX_OK) {
        return NGX_DONE;
    }

    return yd_file_access_sql(ctx, ctx->me.uid, *id);
}


static ngx_int_t
yd_file_found(ngx_http_youdu_ctx_t *ctx)
{
    int64_t  id;

    if (ctx->res->nrows) {
        return NGX_OK;
    }

    /* never uploaded, or not for this user: the same answer */
    (void) yd_arg_int(ctx, 0, &id);

    return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                    "no file with id %L", id);
}


/* GET /files/:id and /files/:id/thumb */

static ngx_int_t
yd_file_download(ngx_http_youdu_ctx_t *ctx, ngx_uint_t thumb)
{
    int64_t  id;

    if (ctx->stage == 0) {
        return yd_file_lookup(ctx, &id);
    }

    if (yd_file_found(ctx) != NGX_OK) {
        return NGX_DONE;
    }

    return yd_file_send(ctx, ctx->res, thumb);
}


static ngx_int_t
ngx_http_youdu_file_get(ngx_http_youdu_ctx_t *ctx)
{
    return yd_file_download(ctx, 0);
}


static ngx_int_t
ngx_http_youdu_file_thumb(ngx_http_youdu_ctx_t *ctx)
{
    return yd_file_download(ctx, 1);
}


/* GET /files/:id/url: short-lived links for <img src> and <a href> */

static ngx_int_t
ngx_http_youdu_file_url(ngx_http_youdu_ctx_t *ctx)
{
    u_char                     *p;
    time_t                      exp;
    json_t                     *obj;
    int64_t                     id;
    ngx_str_t                   q;
    ngx_http_youdu_loc_conf_t  *ylcf;

    if (ctx->stage == 0) {
        return yd_file_lookup(ctx, &id);
    }

    if (yd_file_found(ctx) != NGX_OK) {
        return NGX_DONE;
    }

    id = yd_int(ctx->res, 0, 0);
    exp = ngx_time() + YD_FILE_URL_TTL;

    if (yd_file_sign(ctx, id, ctx->me.uid, exp, &q) != NGX_OK) {
        return NGX_ERROR;
    }

    ylcf = ngx_http_get_module_loc_conf(ctx->r, ngx_http_youdu_module);

    p = ngx_pnalloc(ctx->pool, 2 * (ylcf->prefix.len + q.len + 64));
    if (p == NULL) {
        return NGX_ERROR;
    }

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "url", json_stringn((char *) p,
        ngx_sprintf(p, "%V/files/%L?%V", &ylcf->prefix, id, &q) - p));

    if (yd_int(ctx->res, 0, 5)) {
        p += ylcf->prefix.len + q.len + 64;
        json_object_set_new(obj, "thumb_url", json_stringn((char *) p,
            ngx_sprintf(p, "%V/files/%L/thumb?%V", &ylcf->prefix, id, &q)
            - p));

    } else {
        json_object_set_new(obj, "thumb_url", json_null());
    }

    json_object_set_new(obj, "expires", json_integer(exp));
    json_object_set_new(obj, "file", yd_file_json(ctx->res, 0));

    return yd_ok(ctx, obj);
}


const ngx_http_youdu_route_t  ngx_http_youdu_file_routes[] = {
    { NGX_HTTP_POST, "/files", ngx_http_youdu_file_upload, YD_AUTH_USER, 0,
      YD_ROUTE_FILE_BODY },
    { NGX_HTTP_GET, "/files/:id", ngx_http_youdu_file_get, YD_AUTH_USER, 0,
      YD_ROUTE_SIGNED },
    { NGX_HTTP_GET, "/files/:id/thumb", ngx_http_youdu_file_thumb,
      YD_AUTH_USER, 0, YD_ROUTE_SIGNED },
    { NGX_HTTP_GET, "/files/:id/url", ngx_http_youdu_file_url, YD_AUTH_USER,
      0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
