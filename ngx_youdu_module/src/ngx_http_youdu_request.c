
/*
 * youdu HTTP module: running a route handler's stages, the database and
 * Redis wrappers that resume it, and JSON replies.
 */


#include "ngx_http_youdu_module.h"


static void ngx_http_youdu_db_acquired(void *data, ngx_youdu_db_conn_t *dc);
static void ngx_http_youdu_db_done(void *data, ngx_youdu_db_result_t *res);
static void ngx_http_youdu_db_fail_event(ngx_event_t *ev);
static void ngx_http_youdu_redis_done(void *data, redisReply *reply);
static void ngx_http_youdu_release_db(ngx_http_youdu_ctx_t *ctx);
static void ngx_http_youdu_push_rechecked(void *data, redisReply *reply);
static ngx_int_t ngx_http_youdu_send(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t status, json_t *obj);

void ngx_http_youdu_auth_resume(ngx_http_youdu_ctx_t *ctx);


static ngx_str_t  yd_json_type = ngx_string("application/json");


/* runs the next stage of the current handler */

void
yd_resume(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->finished) {
        return;
    }

    if (ctx->auth_stage) {
        ngx_http_youdu_auth_resume(ctx);
        return;
    }

    if (ctx->cgi && ctx->cgi_phase) {
        ngx_http_youdu_cgi_resume(ctx);
        return;
    }

    ctx->stage++;

    rc = ctx->route->handler(ctx);

    if (rc == NGX_AGAIN || rc == NGX_DONE) {
        return;
    }

    yd_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
             "internal error");
}


/* database */


ngx_int_t
yd_sql_params(ngx_http_youdu_ctx_t *ctx, const char *sql,
    ngx_youdu_db_param_t *params, ngx_uint_t n, ngx_uint_t allow_error)
{
    ctx->sql = sql;
    ctx->params = params;
    ctx->nparams = n;
    ctx->allow_db_error = allow_error;
    ctx->res = NULL;

    if (ctx->db) {
        ngx_youdu_db_exec(ctx->db, sql, params, n, ctx->pool,
                          yd_log(ctx), ngx_http_youdu_db_done,
                          ctx);
        return NGX_AGAIN;
    }

    ngx_youdu_db_acquire(&ctx->waiter, yd_log(ctx),
                         ngx_http_youdu_db_acquired, ctx);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_youdu_vsql(ngx_http_youdu_ctx_t *ctx, const char *sql,
    ngx_uint_t allow_error, const char *fmt, va_list args)
{
    size_t                 n, i;
    int64_t                iv;
    ngx_str_t             *s;
    const char            *z;
    ngx_youdu_db_param_t  *p;

    n = ngx_strlen(fmt);
    p = NULL;

    if (n) {
        p = ngx_pcalloc(ctx->pool, n * sizeof(ngx_youdu_db_param_t));
        if (p == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        switch (fmt[i]) {

        case 's':
        case 'b':
            s = va_arg(args, ngx_str_t *);
            p[i].value = *s;
            p[i].binary = (fmt[i] == 'b');
            break;

        case 'n':
            s = va_arg(args, ngx_str_t *);
            if (s == NULL || s->data == NULL) {
                p[i].is_null = 1;
            } else {
                p[i].value = *s;
            }
            break;

        case 'z':
            z = va_arg(args, const char *);
            if (z == NULL) {
                p[i].is_null = 1;
            } else {
                p[i].value.data = (u_char *) z;
                p[i].value.len = ngx_strlen(z);
            }
            break;

        case 'i':
            iv = va_arg(args, int64_t);
            p[i].value.data = ngx_pnalloc(ctx->pool, NGX_INT64_LEN);
            if (p[i].value.data == NULL) {
                return NGX_ERROR;
            }
            p[i].value.len = ngx_sprintf(p[i].value.data, "%L", iv)
                             - p[i].value.data;
            break;

        default:
            ngx_log_error(NGX_LOG_ALERT, yd_log(ctx), 0,
                          YD_LOG_TAG "bad parameter format \"%s\"", fmt);
            return NGX_ERROR;
        }
    }

    return yd_sql_params(ctx, sql, p, n, allow_error);
}


ngx_int_t
yd_sql(ngx_http_youdu_ctx_t *ctx, const char *sql, const char *fmt, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, fmt);
    rc = ngx_http_youdu_vsql(ctx, sql, 0, fmt, args);
    va_end(args);

    return rc;
}


ngx_int_t
yd_sql_try(ngx_http_youdu_ctx_t *ctx, const char *sql, const char *fmt, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, fmt);
    rc = ngx_http_youdu_vsql(ctx, sql, 1, fmt, args);
    va_end(args);

    return rc;
}


ngx_int_t
yd_begin(ngx_http_youdu_ctx_t *ctx)
{
    ctx->held = 1;
    return yd_sql(ctx, "START TRANSACTION", "");
}


ngx_int_t
yd_commit(ngx_http_youdu_ctx_t *ctx)
{
    /* the connection goes back to the pool once COMMIT completes */
    ctx->held = 0;
    return yd_sql(ctx, "COMMIT", "");
}


/*
 * ends a read-only transaction without waiting: the connection is rolled
 * back and returned; the results already fetched stay valid (request pool)
 */

void
yd_release(ngx_http_youdu_ctx_t *ctx)
{
    ngx_http_youdu_release_db(ctx);
}


static void
ngx_http_youdu_db_acquired(void *data, ngx_youdu_db_conn_t *dc)
{
    ngx_http_youdu_ctx_t  *ctx = data;

    if (dc == NULL) {
        /* may run inside the handler that asked: report from the loop */
        ngx_memzero(&ctx->fail_ev, sizeof(ngx_event_t));
        ctx->fail_ev.handler = ngx_http_youdu_db_fail_event;
        ctx->fail_ev.data = ctx;
        ctx->fail_ev.log = yd_log(ctx);
        ngx_post_event(&ctx->fail_ev, &ngx_posted_events);
        return;
    }

    ctx->db = dc;

    ngx_youdu_db_exec(dc, ctx->sql, ctx->params, ctx->nparams, ctx->pool,
                      yd_log(ctx), ngx_http_youdu_db_done, ctx);
}


static void
ngx_http_youdu_db_fail_event(ngx_event_t *ev)
{
    ngx_http_youdu_ctx_t  *ctx = ev->data;

    ctx->res = ngx_pcalloc(ctx->pool, sizeof(ngx_youdu_db_result_t));
    if (ctx->res) {
        ctx->res->err_no = YD_DB_ERR_UNAVAILABLE;
    }

    yd_db_failed(ctx);
}


static void
ngx_http_youdu_db_done(void *data, ngx_youdu_db_result_t *res)
{
    ngx_http_youdu_ctx_t  *ctx = data;

    ctx->res = res;

    if (!ctx->held || res->err_no == YD_DB_ERR_TIMEOUT) {
        ngx_http_youdu_release_db(ctx);
    }

    if (res->err_no && !ctx->allow_db_error) {
        yd_db_failed(ctx);
        return;
    }

    yd_resume(ctx);
}


static void
ngx_http_youdu_release_db(ngx_http_youdu_ctx_t *ctx)
{
    ngx_youdu_db_conn_t  *dc = ctx->db;

    if (dc) {
        ctx->db = NULL;
        ctx->held = 0;
        ngx_youdu_db_release(dc);
    }
}


ngx_int_t
yd_db_failed(ngx_http_youdu_ctx_t *ctx)
{
    ngx_uint_t  err = ctx->res ? ctx->res->err_no : YD_DB_ERR_CLIENT;

    switch (err) {

    case YD_DB_ERR_UNAVAILABLE:
        return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                        YD_ERR_DB_UNAVAILABLE,
                        "database unavailable, please retry shortly");

    case YD_DB_ERR_TIMEOUT:
        return yd_error(ctx, NGX_HTTP_GATEWAY_TIME_OUT, YD_ERR_TIMEOUT,
                        "database did not answer in time, please retry");

    case YD_DB_ER_LOCK_DEADLOCK:
        return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                        YD_ERR_DB_UNAVAILABLE,
                        "concurrent update, please retry");

    default:
        if (err >= 2000 && err < 3000) {
            return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                            YD_ERR_DB_UNAVAILABLE,
                            "database connection lost, please retry");
        }

        return yd_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                        "internal error");
    }
}


/* Redis */


ngx_int_t
yd_redis(ngx_http_youdu_ctx_t *ctx, int argc, const char **argv,
    const size_t *argvlen)
{
    ngx_int_t  rc;

    ctx->redis_ok = 0;
    ctx->redis_type = 0;
    ctx->redis_int = 0;
    ngx_str_null(&ctx->redis_str);

    rc = ngx_youdu_redis_command(ngx_http_youdu_redis_done, ctx, argc, argv,
                                 argvlen);

    return (rc == NGX_OK) ? NGX_AGAIN : NGX_DECLINED;
}


static void
ngx_http_youdu_redis_done(void *data, redisReply *reply)
{
    ngx_http_youdu_ctx_t  *ctx = data;

    if (reply && reply->type != REDIS_REPLY_ERROR) {
        ctx->redis_ok = 1;
        ctx->redis_type = reply->type;
        ctx->redis_int = reply->integer;

        if (reply->type == REDIS_REPLY_STRING
            || reply->type == REDIS_REPLY_STATUS)
        {
            ctx->redis_str.data = ngx_pnalloc(ctx->pool, reply->len + 1);
            if (ctx->redis_str.data) {
                ngx_memcpy(ctx->redis_str.data, reply->str, reply->len);
                ctx->redis_str.data[reply->len] = '\0';
                ctx->redis_str.len = reply->len;
            }
        }
    }

    yd_resume(ctx);
}


/* replies */


ngx_int_t
yd_ok(ngx_http_youdu_ctx_t *ctx, json_t *obj)
{
    return yd_ok_status(ctx, NGX_HTTP_OK, obj);
}


ngx_int_t
yd_ok_status(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status, json_t *obj)
{
    if (obj == NULL) {
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }
    }

    json_object_set_new(obj, "errcode", json_integer(0));
    json_object_set_new(obj, "errmsg", json_string("ok"));

    return ngx_http_youdu_send(ctx, status, obj);
}


ngx_int_t
yd_error(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status, ngx_int_t errcode,
    const char *fmt, ...)
{
    u_char     buf[512], *p;
    va_list    args;
    json_t    *obj, *msg;
    ngx_str_t  text;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    if (ctx->cgi) {
        /* the open platform speaks its own codes, always with HTTP 200 */
        text.data = buf;
        text.len = p - buf;
        return yd_cgi_from_rest(ctx, status, errcode, &text);
    }

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "errcode", json_integer(errcode));

    /* messages may quote input: never emit invalid UTF-8 */
    msg = json_stringn((char *) buf, p - buf);
    json_object_set_new(obj, "errmsg", msg ? msg : json_string("invalid input"));

    if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_log_error(NGX_LOG_WARN, yd_log(ctx), 0,
                      YD_LOG_TAG "replied %ui/%i: %s", status, errcode, buf);
    }

    return ngx_http_youdu_send(ctx, status, obj);
}


/*
 * Fire and forget: the push module re-reads the sessions of the user's
 * connections and kicks the revoked ones at once (without this they would
 * notice at the next periodic re-check).  The notice carries no verdict,
 * so a lost or a spurious one is harmless.
 */

void
ngx_http_youdu_push_recheck(int64_t uid)
{
    u_char       msg[64];
    size_t       argvlen[3];
    const char  *argv[3];

    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = "yd:push";
    argvlen[1] = 7;
    argv[2] = (char *) msg;
    argvlen[2] = ngx_sprintf(msg, "{\"t\":\"recheck\",\"user_id\":%L}", uid)
                 - msg;

    (void) ngx_youdu_redis_command(ngx_http_youdu_push_rechecked, NULL, 3,
                                   argv, argvlen);
}


static void
ngx_http_youdu_push_rechecked(void *data, redisReply *reply)
{
    /* best effort: the periodic re-check covers a lost notice */
}


static ngx_int_t
ngx_http_youdu_send(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    json_t *obj)
{
    char       *s;
    size_t      len;
    ngx_int_t   rc;

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        s = strdup("{\"errcode\":50000,\"errmsg\":\"internal error\"}");
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        if (s == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto finalize;
        }
    }

    len = ngx_strlen(s);

    rc = yd_send_raw(ctx, status, &yd_json_type, NULL, NULL, (u_char *) s,
                     len);
    free(s);

    return rc;

finalize:

    ctx->finished = 1;
    ngx_http_youdu_release_db(ctx);

    if (ctx->r == NULL) {
        ctx->detached_done(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL, 0);
        return NGX_DONE;
    }

    ngx_http_finalize_request(ctx->r, rc);
    return NGX_DONE;
}


ngx_int_t
yd_send_raw(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    ngx_str_t *content_type, ngx_str_t *hname, ngx_str_t *hvalue,
    u_char *data, size_t len)
{
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_chain_t          out;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r = ctx->r;

    if (ctx->finished) {
        return NGX_DONE;
    }

    ctx->finished = 1;

    if (ctx->recheck_uid) {
        ngx_http_youdu_push_recheck(ctx->recheck_uid);
    }

    /* a held connection (open transaction) is rolled back and returned */
    ngx_http_youdu_release_db(ctx);

    if (r == NULL) {
        /* a job: its owner reads the reply */
        ctx->detached_done(ctx, status, data, len);
        return NGX_DONE;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = *content_type;
    r->headers_out.content_type_len = content_type->len;
    r->headers_out.content_length_n = len;

    if (hname) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            rc = NGX_ERROR;
            goto done;
        }

        h->hash = 1;
        h->key = *hname;
        h->value = *hvalue;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h) {
        h->hash = 1;
        ngx_str_set(&h->key, "Cache-Control");
        ngx_str_set(&h->value, "no-store");
    }

    b = ngx_create_temp_buf(r->pool, len ? len : 1);
    if (b == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    b->last = ngx_cpymem(b->pos, data, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        goto done;
    }

    rc = ngx_http_output_filter(r, &out);

done:

    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}
