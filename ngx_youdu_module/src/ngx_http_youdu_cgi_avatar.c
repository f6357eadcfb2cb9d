
/*
 * youdu: avatars.  /cgi/avatar/set and /cgi/avatar/get (PROTOCOL.md 4.5
 * items 15-16) for apps with the org right, and the REST routes of the web
 * client: GET /org/users/:id/avatar, PUT|POST /me/avatar and
 * /admin/users/:id/avatar.
 *
 * An avatar is one files row: the file is the image cropped to its centre
 * square, YD_AVATAR_LARGE pixels at most (PNG), its thumbnail the small
 * YD_AVATAR_SMALL one.  Setting it is an org write: the user's version
 * moves and yd:org is published, so clients refresh him.
 */


#include "ngx_http_youdu_cgi_media.h"
#include "ngx_http_youdu_org.h"


typedef struct {
    yd_media_job_t           *job;       /* /cgi: the form's upload */
    yd_file_job_t            *file;      /* the stored avatar */
    ngx_str_t                 account;   /* /cgi: userId */
    int64_t                   uid;       /* REST: the user */
    int64_t                   version;
    int64_t                   file_id;
    ngx_uint_t                base;      /* the stage yd_avatar_save()
                                            starts at */
} yd_avatar_t;


static ngx_int_t ngx_http_youdu_cgi_avatar_set(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_avatar_get(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_avatar_get(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_avatar_set_me(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_avatar_set_user(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t yd_avatar_rest_set(ngx_http_youdu_ctx_t *ctx, int64_t uid);
static ngx_int_t yd_avatar_save(ngx_http_youdu_ctx_t *ctx, yd_avatar_t *av);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_avatar_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/avatar/set",
        ngx_http_youdu_cgi_avatar_set, YD_AUTH_NONE, 0, YD_ROUTE_FILE_BODY },
      YD_CGI_ENV_NONE, YD_APP_RIGHT_ORG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/avatar/get",
        ngx_http_youdu_cgi_avatar_get, YD_AUTH_NONE, 64 * 1024, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


const ngx_http_youdu_route_t  ngx_http_youdu_avatar_routes[] = {
    { NGX_HTTP_GET, "/org/users/:id/avatar", ngx_http_youdu_avatar_get,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_PUT, "/me/avatar", ngx_http_youdu_avatar_set_me,
      YD_AUTH_USER, 0, YD_ROUTE_FILE_BODY },
    { NGX_HTTP_POST, "/me/avatar", ngx_http_youdu_avatar_set_me,
      YD_AUTH_USER, 0, YD_ROUTE_FILE_BODY },
    { NGX_HTTP_PUT, "/admin/users/:id/avatar", ngx_http_youdu_avatar_set_user,
      YD_AUTH_ADMIN, 0, YD_ROUTE_FILE_BODY },
    { NGX_HTTP_POST, "/admin/users/:id/avatar",
      ngx_http_youdu_avatar_set_user, YD_AUTH_ADMIN, 0, YD_ROUTE_FILE_BODY },
    { 0, NULL, NULL, 0, 0, 0 }
};


static ngx_str_t  yd_avatar_name = ngx_string("avatar.png");


/* POST /cgi/avatar/set?accessToken=&userId= (multipart like media) */

static ngx_int_t
ngx_http_youdu_cgi_avatar_set(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t        rc;
    yd_avatar_t     *av;
    yd_media_job_t  *job;

    switch (ctx->stage) {

    case 0:
        return yd_media_upload_start(ctx, 1);

    case 1:
        job = ctx->data;

        if (job->file.status) {
            return yd_media_upload_failed(ctx, job);
        }

        av = ngx_pcalloc(ctx->pool, sizeof(yd_avatar_t));
        if (av == NULL) {
            return NGX_ERROR;
        }

        av->job = job;
        av->file = &job->file;
        av->base = 1;
        ctx->data = av;

        /* the query's userId, else the form's (HDJ) */
        rc = yd_cgi_str(ctx, "userId", &av->account);

        if (rc == NGX_DECLINED && job->user_len) {
            av->account.data = job->user;
            av->account.len = job->user_len;
            rc = NGX_OK;
        }

        if (rc == NGX_DECLINED) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_USERID, "userId is missing");
        }

        if (rc != NGX_OK || av->account.len > 64) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERID,
                               "userId is not a valid account");
        }

        /* fall through */

    default:
        return yd_avatar_save(ctx, ctx->data);
    }
}


/*
 * the stored avatar becomes the user's, as an org write; then the reply.
 * The steps count from av->base.
 */

static ngx_int_t
yd_avatar_save(ngx_http_youdu_ctx_t *ctx, yd_avatar_t *av)
{
    char                   *s;
    json_t                 *obj, *detail;
    ngx_str_t              *d;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage - av->base) {

    case 0:
        return yd_begin(ctx);

    case 1:
        return yd_org_bump(ctx);

    case 2:
        return yd_org_read_version(ctx, NULL);

    case 3:
        if (yd_org_read_version(ctx, &av->version) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->cgi) {
            return yd_sql(ctx, "SELECT id FROM users WHERE account = ?", "s",
                          &av->account);
        }

        return yd_sql(ctx, "SELECT id FROM users WHERE id = ?", "i", av->uid);

    case 4:
        if (res->nrows == 0) {
            if (ctx->cgi) {
                return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                                   "no user \"%V\"", &av->account);
            }

            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "no user %L", av->uid);
        }

        av->uid = yd_int(res, 0, 0);

        return yd_media_insert_file(ctx, av->file,
                                    ctx->cgi ? 0 : ctx->me.uid,
                                    &yd_avatar_name);

    case 5:
        av->file_id = (int64_t) res->insert_id;

        return yd_sql(ctx,
            "UPDATE users SET avatar_file_id = ?, version = ?, "
            "updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "iii", av->file_id, av->version, av->uid);

    case 6:
        return yd_org_change(ctx, av->version, YD_ORG_KIND_USER, av->uid,
                             YD_ORG_OP_UPSERT);

    case 7:
        if (ctx->cgi == NULL) {
            detail = json_pack("{s:I}", "file_id", (json_int_t) av->file_id);
            return yd_org_audit(ctx, "user.avatar", av->uid, detail);
        }

        /* an app is the actor: no user, the app's id in the detail */
        detail = json_pack("{s:s%,s:I}", "app_id", ctx->cgi->app_id.data,
                           ctx->cgi->app_id.len, "file_id",
                           (json_int_t) av->file_id);

        s = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
        json_decref(detail);

        /* jansson's string copied into the request pool */
        d = s ? yd_pstr(ctx->pool, s) : NULL;

        if (d) {
            d->data = ngx_pstrdup(ctx->pool, d);
        }

        free(s);

        if (d && d->data == NULL) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
            "VALUES (NULL, 'cgi.avatar.set', ?, ?, ?)",
            "sns", yd_int_str(ctx->pool, av->uid), d, &ctx->client_ip);

    case 8:
        return yd_commit(ctx);

    case 9:
        if (yd_org_publish(ctx, av->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        if (ctx->cgi) {
            return yd_cgi_ok(ctx, NULL);
        }

        obj = json_pack("{s:I,s:{s:I,s:i,s:i,s:i}}",
                        "user_id", (json_int_t) av->uid,
                        "avatar", "file_id", (json_int_t) av->file_id,
                        "size", (int) av->file->width,
                        "small", (int) (av->file->has_thumb
                                        ? av->file->thumb_width
                                        : av->file->width),
                        "version", (int) av->version);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        return yd_ok(ctx, obj);
    }
}


/* GET /cgi/avatar/get?userId=&size=0|1 (0 large, 1 small, the default) */

static ngx_int_t
ngx_http_youdu_cgi_avatar_get(ngx_http_youdu_ctx_t *ctx)
{
    u_char     *p;
    int64_t     size;
    ngx_int_t   rc;
    ngx_str_t   account, name;

    rc = yd_cgi_str(ctx, "userId", &account);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERID, "userId is missing");
    }

    if (rc != NGX_OK || account.len > 64) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERID,
                           "userId is not a valid account");
    }

    rc = yd_cgi_int(ctx, "size", &size);

    if (rc == NGX_DECLINED) {
        size = 1;

    } else if (rc != NGX_OK || (size != 0 && size != 1)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "size must be 0 (large) or 1 (small)");
    }

    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx,
            "SELECT u.id, f.sha256, f.has_thumb FROM users u "
            "LEFT JOIN files f ON f.id = u.avatar_file_id "
            "WHERE u.account = ?", "s", &account);

    case 1:
        if (ctx->res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST, "no user \"%V\"",
                               &account);
        }

        if (yd_cell(ctx->res, 0, 1)->data == NULL) {
            return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                               "the user \"%V\" has no avatar", &account);
        }

        /* Java's SDK would invent the same names */
        p = ngx_pnalloc(ctx->pool, account.len + sizeof("_large.png"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        name.data = p;
        name.len = ngx_sprintf(p, "%V_%s.png", &account,
                               size ? "small" : "large") - p;

        return yd_media_download_start(ctx, yd_cell(ctx->res, 0, 1),
                                       size && yd_int(ctx->res, 0, 2),
                                       &name);

    default:
        return yd_media_download_send(ctx);
    }
}


/* GET /org/users/:id/avatar?size=small|large (small by default) */

static ngx_int_t
ngx_http_youdu_avatar_get(ngx_http_youdu_ctx_t *ctx)
{
    int64_t    id;
    ngx_str_t  size;

    if (yd_arg_int(ctx, 0, &id) != NGX_OK) {
        return NGX_DONE;
    }

    if (yd_query_str(ctx, "size", 5, &size) != NGX_OK) {
        return NGX_DONE;
    }

    if (size.data && !(size.len == 5
                       && (ngx_strncmp(size.data, "small", 5) == 0
                           || ngx_strncmp(size.data, "large", 5) == 0)))
    {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                        "size must be \"small\" or \"large\"");
    }

    if (ctx->stage == 0) {
        return yd_sql(ctx,
            "SELECT " YD_FILE_COLS " FROM users u "
            "JOIN files f ON f.id = u.avatar_file_id WHERE u.id = ?",
            "i", id);
    }

    if (ctx->res->nrows == 0) {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                        "user %L has no avatar", id);
    }

    return yd_file_send(ctx, ctx->res,
                        size.data == NULL || size.data[0] == 's');
}


/* PUT|POST /me/avatar and /admin/users/:id/avatar: the image as the
 * body (Content-Type image/...) or in a multipart form, as POST /files */

static ngx_int_t
ngx_http_youdu_avatar_set_me(ngx_http_youdu_ctx_t *ctx)
{
    return yd_avatar_rest_set(ctx, ctx->me.uid);
}


static ngx_int_t
ngx_http_youdu_avatar_set_user(ngx_http_youdu_ctx_t *ctx)
{
    int64_t  id;

    if (yd_arg_int(ctx, 0, &id) != NGX_OK) {
        return NGX_DONE;
    }

    return yd_avatar_rest_set(ctx, id);
}


static ngx_int_t
yd_avatar_rest_set(ngx_http_youdu_ctx_t *ctx, int64_t uid)
{
    u_char                     *p;
    ngx_str_t                   mime;
    yd_avatar_t                *av;
    yd_file_job_t              *f;
    ngx_http_request_body_t    *rb;
    ngx_youdu_core_conf_t      *ycf;
    ngx_http_youdu_loc_conf_t  *ylcf;

    if (ctx->stage > 1) {
        return yd_avatar_save(ctx, ctx->data);
    }

    if (ctx->stage == 1) {
        av = ctx->data;

        if (av->file->status) {
            return yd_error(ctx, av->file->status, av->file->errcode, "%s",
                            av->file->err);
        }

        return yd_avatar_save(ctx, av);
    }

    av = ngx_pcalloc(ctx->pool, sizeof(yd_avatar_t));
    f = ngx_pcalloc(ctx->pool, sizeof(yd_file_job_t));
    if (av == NULL || f == NULL) {
        return NGX_ERROR;
    }

    av->file = f;
    av->uid = uid;
    av->base = 1;
    ctx->data = av;

    rb = ctx->r->request_body;

    if (ctx->body_size == 0 || rb == NULL || rb->temp_file == NULL) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_EMPTY_FILE,
                        "send the image as the request body");
    }

    yd_file_request_mime(ctx->r, &mime);

    if (yd_file_boundary(ctx->r, &mime, f) == NGX_ERROR) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_CONTENT_TYPE,
                        "multipart/form-data needs a boundary of 1..70 "
                        "characters");
    }

    ycf = ngx_youdu_core_conf(ngx_cycle);
    ylcf = ngx_http_get_module_loc_conf(ctx->r, ngx_http_youdu_module);

    f->dir = ngx_pnalloc(ctx->pool, ycf->files_path.len + 1);
    if (f->dir == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(f->dir, ycf->files_path.data, ycf->files_path.len);
    *p = '\0';

    f->src = (char *) rb->temp_file->file.name.data;
    f->size = ctx->body_size;
    f->max_pixels = ylcf->image_max_pixels;
    f->image_max = ylcf->image_max;

    return yd_file_post_task(ctx, yd_avatar_rest_thread, f);
}
