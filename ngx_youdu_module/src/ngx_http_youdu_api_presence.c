
/*
 * youdu API: presence of users (docs/api.md "Presence"), read from the
 * Redis hashes the push module maintains (ngx_youdu_presence.h), all ids
 * in one script run.
 */


#include "ngx_http_youdu_module.h"
#include "ngx_youdu_presence.h"


#define YD_PRES_MAX_IDS  1000


static ngx_int_t ngx_http_youdu_presence_get(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_presence_query(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_route_t  ngx_http_youdu_presence_routes[] = {
    { NGX_HTTP_GET, "/presence", ngx_http_youdu_presence_get, YD_AUTH_USER,
      0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};


static ngx_int_t
ngx_http_youdu_presence_get(ngx_http_youdu_ctx_t *ctx)
{
    json_t        *list, *obj;
    json_error_t   err;

    if (ctx->stage == 0) {
        return ngx_http_youdu_presence_query(ctx);
    }

    list = NULL;

    if (ctx->redis_ok && ctx->redis_type == REDIS_REPLY_STRING) {
        list = json_loadb((const char *) ctx->redis_str.data,
                          ctx->redis_str.len, 0, &err);
    }

    if (!json_is_array(list)) {
        json_decref(list);
        return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                        YD_ERR_REDIS_UNAVAILABLE, "presence is unavailable "
                        "right now: try again in a few seconds");
    }

    obj = json_object();
    if (obj == NULL || json_object_set_new(obj, "presence", list) != 0) {
        json_decref(obj);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return yd_ok(ctx, obj);
}


/* ?user_ids=1,2,3: 1..1000 positive integers, in the order given */

static ngx_int_t
ngx_http_youdu_presence_query(ngx_http_youdu_ctx_t *ctx)
{
    u_char       *p, *s, *end, *buf;
    size_t       *argvlen, n, i;
    int64_t       id, ids[YD_PRES_MAX_IDS];
    ngx_str_t     q;
    ngx_int_t     rc;
    const char  **argv;

    rc = yd_query_str(ctx, "user_ids", YD_PRES_MAX_IDS * 21, &q);
    if (rc != NGX_OK) {
        return rc == NGX_DONE ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;
    s = q.data;
    end = q.data + q.len;

    while (q.len) {
        p = ngx_strlchr(s, end, ',');
        if (p == NULL) {
            p = end;
        }

        id = (p - s > 0 && p - s <= 16) ? ngx_atoof(s, p - s) : NGX_ERROR;

        if (id < 1 || n == YD_PRES_MAX_IDS) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                            "\"user_ids\" must be 1 to %d positive integer "
                            "user ids separated by commas",
                            YD_PRES_MAX_IDS);
        }

        ids[n++] = id;

        if (p == end) {
            break;
        }

        s = p + 1;
    }

    if (n == 0) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                        "\"user_ids\" is required: 1 to %d user ids "
                        "separated by commas", YD_PRES_MAX_IDS);
    }

    argv = ngx_palloc(ctx->pool, (4 + 2 * n) * sizeof(char *));
    argvlen = ngx_palloc(ctx->pool, (4 + 2 * n) * sizeof(size_t));
    buf = ngx_pnalloc(ctx->pool,
                      n * (sizeof(YD_PRES_KEY_PREFIX) + 2 * NGX_INT64_LEN)
                      + 2 * NGX_INT64_LEN);

    if (argv == NULL || argvlen == NULL || buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = buf;

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = YD_PRES_LUA_READ;
    argvlen[1] = sizeof(YD_PRES_LUA_READ) - 1;
    argv[2] = (char *) p;
    argvlen[2] = ngx_sprintf(p, "%uz", n) - p;
    p += argvlen[2];
    argv[3 + n] = (char *) p;
    argvlen[3 + n] = ngx_sprintf(p, "%T", ngx_time()) - p;
    p += argvlen[3 + n];

    for (i = 0; i < n; i++) {
        argv[3 + i] = (char *) p;
        argvlen[3 + i] = ngx_sprintf(p, YD_PRES_KEY_PREFIX "%L", ids[i]) - p;
        p += argvlen[3 + i];
        argv[4 + n + i] = (char *) p;
        argvlen[4 + n + i] = ngx_sprintf(p, "%L", ids[i]) - p;
        p += argvlen[4 + n + i];
    }

    if (yd_redis(ctx, (int) (4 + 2 * n), argv, argvlen) == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                    YD_ERR_REDIS_UNAVAILABLE, "presence is unavailable "
                    "right now: try again in a few seconds");
}
