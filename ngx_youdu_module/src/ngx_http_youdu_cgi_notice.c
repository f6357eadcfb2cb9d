
/*
 * youdu: an app's badge, popups and events (PROTOCOL.md 4.2).
 *
 *   POST /cgi/set.ent.notice   {"account","count","tip","pop_wind"?}: the
 *        user's badge of the app (app_notices; count 0 clears it), pushed
 *        as {"type":"app_notice",...}
 *   POST /cgi/popwindow, /cgi/popwin   {"toUser","toDept","popWindow"}:
 *        pushed as {"type":"popup",...} to the receivers' connections;
 *        nothing is stored (a popup for somebody offline is gone)
 *   POST /cgi/event/publish    the Java SDK's PopWindowEvent, pushed as
 *        {"type":"app_event",...}, not stored either
 */


#include "ngx_http_youdu_cgi_msg.h"


#define YD_CGI_TIP_MAX        255
#define YD_CGI_POP_MAX        (16 * 1024)    /* bytes of a popup as JSON */


typedef struct {
    yd_cgi_recv_t             rv;
    json_t                   *ev;
    int64_t                   uid;
    int64_t                   count;
    ngx_str_t                 tip;
    ngx_str_t                 pop;          /* pop_wind as JSON text */
} yd_cgi_notice_t;


static ngx_int_t ngx_http_youdu_cgi_set_notice(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_popwindow(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_event_publish(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_notice_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/set.ent.notice",
        ngx_http_youdu_cgi_set_notice, YD_AUTH_NONE, 0, YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NOTICE, YD_APP_RIGHT_MSG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/popwindow",
        ngx_http_youdu_cgi_popwindow, YD_AUTH_NONE, 0, YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NOTICE, YD_APP_RIGHT_MSG },

    /* the older SDK copy (rtxsysmsg) */
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/popwin",
        ngx_http_youdu_cgi_popwindow, YD_AUTH_NONE, 0, YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NOTICE, YD_APP_RIGHT_MSG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/event/publish",
        ngx_http_youdu_cgi_event_publish, YD_AUTH_NONE, 0,
        YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_MSG },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


static void
yd_cgi_notice_cleanup(void *data)
{
    yd_cgi_notice_t  *n = data;

    json_decref(n->ev);
}


static yd_cgi_notice_t *
yd_cgi_notice_state(ngx_http_youdu_ctx_t *ctx)
{
    yd_cgi_notice_t     *n;
    ngx_pool_cleanup_t  *cln;

    if (ctx->data) {
        return ctx->data;
    }

    n = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_notice_t));
    cln = ngx_pool_cleanup_add(ctx->pool, 0);
    if (n == NULL || cln == NULL) {
        return NULL;
    }

    cln->handler = yd_cgi_notice_cleanup;
    cln->data = n;
    ctx->data = n;

    return n;
}


/* the event's common part: {"type", "app_id", "app_name"} */

static json_t *
yd_cgi_notice_event(ngx_http_youdu_ctx_t *ctx, const char *type)
{
    json_t  *ev;

    ev = json_object();
    if (ev == NULL) {
        return NULL;
    }

    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "app_id", yd_jstr(&ctx->cgi->app_id));
    json_object_set_new(ev, "app_name", yd_jstr(&ctx->cgi->app_name));

    return ev;
}


/* an optional object field, at most YD_CGI_POP_MAX bytes as JSON */

static ngx_int_t
yd_cgi_notice_obj(ngx_http_youdu_ctx_t *ctx, json_t *in, const char *key,
    json_t **out)
{
    char    *s;
    size_t   len;
    json_t  *v;

    v = yd_cgi_obj_get(in, key);
    *out = NULL;

    if (v == NULL) {
        return NGX_DECLINED;
    }

    if (!json_is_object(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s must be an object", key);
    }

    s = json_dumps(v, JSON_COMPACT);
    len = s ? ngx_strlen(s) : 0;
    free(s);

    if (len > YD_CGI_POP_MAX) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s is too large (at most %d bytes as JSON)",
                           key, YD_CGI_POP_MAX);
    }

    *out = v;
    return NGX_OK;
}


/* POST /cgi/set.ent.notice */

static ngx_int_t
ngx_http_youdu_cgi_set_notice(ngx_http_youdu_ctx_t *ctx)
{
    char                   *text;
    json_t                 *pop;
    ngx_int_t               rc;
    ngx_str_t               account;
    yd_cgi_notice_t        *n;
    ngx_youdu_db_result_t  *res = ctx->res;

    n = yd_cgi_notice_state(ctx);
    if (n == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        rc = yd_cgi_get_str(ctx, ctx->cgi->data, "", "account", 1, 64,
                            &account);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = yd_cgi_get_int(ctx, ctx->cgi->data, "", "count", 0, INT32_MAX,
                            &n->count);
        if (rc == NGX_DECLINED) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "count is required (0 clears the badge)");
        }
        if (rc != NGX_OK) {
            return rc;
        }

        rc = yd_cgi_get_str(ctx, ctx->cgi->data, "", "tip", 0,
                            YD_CGI_TIP_MAX, &n->tip);
        if (rc == NGX_DECLINED) {
            ngx_str_set(&n->tip, "");

        } else if (rc != NGX_OK) {
            return rc;
        }

        rc = yd_cgi_notice_obj(ctx, ctx->cgi->data, "pop_wind", &pop);
        if (rc != NGX_OK && rc != NGX_DECLINED) {
            return rc;
        }

        n->ev = yd_cgi_notice_event(ctx, "app_notice");
        if (n->ev == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(n->ev, "count", json_integer(n->count));
        json_object_set_new(n->ev, "tip", yd_jstr(&n->tip));
        json_object_set(n->ev, "pop_wind", pop ? pop : json_null());

        if (pop) {
            text = json_dumps(pop, JSON_COMPACT);
            if (text == NULL) {
                return NGX_ERROR;
            }

            n->pop.len = ngx_strlen(text);
            n->pop.data = ngx_pnalloc(ctx->pool, n->pop.len);
            if (n->pop.data == NULL) {
                free(text);
                return NGX_ERROR;
            }

            ngx_memcpy(n->pop.data, text, n->pop.len);
            free(text);
        }

        return yd_sql(ctx,
            "SELECT u.id FROM users u WHERE u.account = ? "
            "AND u.enable_state = 1 AND " YD_CGI_SCOPE_SQL,
            "si", &account, ctx->cgi->app_pk);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_ACCOUNT_NOTEXIST,
                               "no enabled user with this account in the "
                               "app's visibility scope");
        }

        n->uid = yd_int(res, 0, 0);

        if (n->count == 0) {
            return yd_sql(ctx,
                "DELETE FROM app_notices WHERE user_id = ? AND app_pk = ?",
                "ii", n->uid, ctx->cgi->app_pk);
        }

        return yd_sql(ctx,
            "INSERT INTO app_notices (user_id, app_pk, count, tip, "
            "pop_wind, updated_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3)) "
            "ON DUPLICATE KEY UPDATE count = VALUES(count), "
            "tip = VALUES(tip), pop_wind = VALUES(pop_wind), "
            "updated_at = VALUES(updated_at)",
            "iiisn", n->uid, ctx->cgi->app_pk, n->count, &n->tip,
            n->pop.len ? &n->pop : NULL);

    case 2:
        rc = yd_cgi_push(ctx, "app_notice", &n->uid, 1, n->ev);
        n->ev = NULL;

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        return yd_cgi_ok(ctx, NULL);
    }
}


/*
 * popWindow {"url","tip","title","width","height","duration","position",
 * "notice_id","pop_mode"}: url or tip; the numbers checked, defaults as
 * the seed product (duration 5 s, centre)
 */

static ngx_int_t
yd_cgi_popwindow_parse(ngx_http_youdu_ctx_t *ctx, json_t *in, json_t *out)
{
    int64_t     v;
    ngx_int_t   rc;
    ngx_str_t   s;
    ngx_uint_t  i;

    static const struct {
        const char  *key;
        int64_t      min;
        int64_t      max;
        int64_t      def;
    } nums[] = {
        { "width", 0, 10000, 0 },
        { "height", 0, 10000, 0 },
        { "duration", -1, 86400, 5 },
        { "position", 0, 4, 0 },
        { "pop_mode", 0, 2, 1 },
        { NULL, 0, 0, 0 }
    };

    static const struct {
        const char  *key;
        size_t       max;
    } strs[] = {
        { "url", 2048 },
        { "tip", 2000 },
        { "title", 128 },
        { "notice_id", 128 },
        { NULL, 0 }
    };

    if (!json_is_object(in)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "popWindow must be an object {\"url\"|\"tip\", "
                           "...}");
    }

    for (i = 0; strs[i].key; i++) {
        rc = yd_cgi_get_str(ctx, in, "popWindow", strs[i].key, 0,
                            strs[i].max, &s);

        if (rc == NGX_DECLINED) {
            ngx_str_set(&s, "");

        } else if (rc != NGX_OK) {
            return rc;
        }

        json_object_set_new(out, strs[i].key,
                            json_stringn((char *) s.data, s.len));
    }

    if (json_string_length(json_object_get(out, "url")) == 0
        && json_string_length(json_object_get(out, "tip")) == 0)
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "popWindow needs a url or a tip");
    }

    for (i = 0; nums[i].key; i++) {
        v = nums[i].def;
        rc = yd_cgi_get_int(ctx, in, "popWindow", nums[i].key, nums[i].min,
                            nums[i].max, &v);

        if (rc != NGX_OK && rc != NGX_DECLINED) {
            return rc;
        }

        /* 0 or unset: the default */
        if (v == 0 && ngx_strcmp(nums[i].key, "duration") == 0) {
            v = 5;
        }

        json_object_set_new(out, nums[i].key, json_integer(v));
    }

    return NGX_OK;
}


/* resolve the receivers, push n->ev to them, reply */

static ngx_int_t
yd_cgi_notice_fanout(ngx_http_youdu_ctx_t *ctx, yd_cgi_notice_t *n,
    const char *type)
{
    ngx_int_t  rc;

    if (n->ev) {
        rc = yd_cgi_recv_resolve(ctx, &n->rv);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = NGX_DECLINED;

        if (n->rv.nuids) {
            rc = yd_cgi_push(ctx, type, n->rv.uids, n->rv.nuids, n->ev);

        } else {
            json_decref(n->ev);
        }

        n->ev = NULL;

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }
    }

    return yd_cgi_recv_reply(ctx, &n->rv);
}


/* POST /cgi/popwindow, /cgi/popwin */

static ngx_int_t
ngx_http_youdu_cgi_popwindow(ngx_http_youdu_ctx_t *ctx)
{
    json_t           *pop;
    ngx_int_t         rc;
    yd_cgi_notice_t  *n;

    n = yd_cgi_notice_state(ctx);
    if (n == NULL) {
        return NGX_ERROR;
    }

    if (ctx->stage == 0) {
        n->ev = yd_cgi_notice_event(ctx, "popup");
        pop = json_object();
        if (n->ev == NULL || pop == NULL) {
            json_decref(pop);
            return NGX_ERROR;
        }

        json_object_set_new(n->ev, "popWindow", pop);

        rc = yd_cgi_popwindow_parse(ctx,
                                    yd_cgi_field(ctx, "popWindow"), pop);
        if (rc == NGX_OK) {
            rc = yd_cgi_recv_parse(ctx, &n->rv, 0, 0);
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    return yd_cgi_notice_fanout(ctx, n, "popup");
}


/*
 * POST /cgi/event/publish {"eventId","eventType":"popWindow","toGid",
 * "toUser","toDept","popWindow":{"tips","action":1|2,"timestamp",
 * "windowType","windowInfo":{...}}}
 */

static ngx_int_t
ngx_http_youdu_cgi_event_publish(ngx_http_youdu_ctx_t *ctx)
{
    json_t           *pop, *in, *info;
    int64_t           v;
    ngx_int_t         rc;
    ngx_str_t         s;
    yd_cgi_notice_t  *n;

    n = yd_cgi_notice_state(ctx);
    if (n == NULL) {
        return NGX_ERROR;
    }

    if (ctx->stage != 0) {
        return yd_cgi_notice_fanout(ctx, n, "app_event");
    }

    n->ev = yd_cgi_notice_event(ctx, "app_event");
    pop = json_object();
    if (n->ev == NULL || pop == NULL) {
        json_decref(pop);
        return NGX_ERROR;
    }

    /* eventId is a Java long: a string here, as ids are on the wire */
    rc = yd_cgi_str(ctx, "eventId", &s);
    if (rc == NGX_DECLINED) {
        ngx_str_set(&s, "");

    } else if (rc != NGX_OK || s.len > 64) {
        json_decref(pop);
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "eventId must be a number");
    }

    json_object_set_new(n->ev, "eventId", yd_jstr(&s));

    rc = yd_cgi_get_str(ctx, ctx->cgi->data, "", "eventType", 0, 32, &s);
    if (rc == NGX_DECLINED) {
        ngx_str_set(&s, "popWindow");

    } else if (rc != NGX_OK) {
        json_decref(pop);
        return rc;
    }

    json_object_set_new(n->ev, "eventType", yd_jstr(&s));
    json_object_set_new(n->ev, "popWindow", pop);

    in = yd_cgi_field(ctx, "popWindow");

    if (!json_is_object(in)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "popWindow must be an object {\"tips\","
                           "\"action\",\"timestamp\",\"windowType\","
                           "\"windowInfo\"}");
    }

    rc = yd_cgi_get_str(ctx, in, "popWindow", "tips", 0, 2000, &s);
    if (rc == NGX_DECLINED) {
        ngx_str_set(&s, "");

    } else if (rc != NGX_OK) {
        return rc;
    }

    json_object_set_new(pop, "tips", yd_jstr(&s));

    /* 1 start, 2 cancel */
    v = 1;
    rc = yd_cgi_get_int(ctx, in, "popWindow", "action", 1, 2, &v);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    json_object_set_new(pop, "action", json_integer(v));

    v = 0;
    rc = yd_cgi_get_int(ctx, in, "popWindow", "timestamp", 0, INT64_MAX / 2,
                        &v);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    json_object_set_new(pop, "timestamp", json_integer(v));

    rc = yd_cgi_get_str(ctx, in, "popWindow", "windowType", 0, 32, &s);
    if (rc == NGX_DECLINED) {
        ngx_str_set(&s, "");

    } else if (rc != NGX_OK) {
        return rc;
    }

    json_object_set_new(pop, "windowType", yd_jstr(&s));

    /* the pop_wind fields, passed on as given */
    rc = yd_cgi_notice_obj(ctx, in, "windowInfo", &info);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    json_object_set(pop, "windowInfo", info ? info : json_null());

    rc = yd_cgi_recv_parse(ctx, &n->rv, 0, 0);
    if (rc != NGX_OK) {
        return rc;
    }

    return yd_cgi_notice_fanout(ctx, n, "app_event");
}
