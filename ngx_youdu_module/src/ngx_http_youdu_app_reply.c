
/*
 * youdu HTTP module: the user's side of app conversations (kind 4).
 *
 * A message the user sends there (the ordinary REST send: text, image,
 * file) is stored like any other and, in the same transaction, queued as
 * an app callback (PROTOCOL.md 5.3) when the app has a callback URL; a
 * file the user sent gets an app_media row so the app can fetch it with
 * /cgi/media/get.  After COMMIT, PUBLISH yd:callback <id> wakes the
 * callback worker.  Also: POST /conversations/:id/enter (the "event"
 * callback: the user opened the conversation) and GET /apps/notices (the
 * badges of /cgi/set.ent.notice).
 */


#include <openssl/rand.h>

#include "ngx_http_youdu_conv.h"


#define YD_APP_ENTER_TTL      "30"      /* s between two "enter" events */


typedef struct {
    ngx_uint_t                base_done;
    ngx_uint_t                base_step;
    ngx_uint_t                step;
    int64_t                   app_pk;
    ngx_str_t                 app_id;
    ngx_str_t                 media_id;
    ngx_str_t                 payload;
} yd_app_reply_t;


static ngx_int_t ngx_http_youdu_app_enter(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_app_notices(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_route_t  ngx_http_youdu_app_conv_routes[] = {
    { NGX_HTTP_POST, "/conversations/:id/enter", ngx_http_youdu_app_enter,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/apps/notices", ngx_http_youdu_app_notices,
      YD_AUTH_USER, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};


/* the conversation's app, if it is enabled and has a callback URL */

static ngx_int_t
yd_app_conv_sql(ngx_http_youdu_ctx_t *ctx, int64_t conv_id)
{
    return yd_sql(ctx,
        "SELECT a.id, a.app_id FROM conversations c "
        "JOIN apps a ON a.id = c.app_pk "
        "WHERE c.id = ? AND a.enabled = 1 AND a.callback_url <> ''",
        "i", conv_id);
}


static ngx_int_t
yd_app_payload(ngx_http_youdu_ctx_t *ctx, json_t *obj, ngx_str_t *out)
{
    char  *s;

    s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);

    if (s == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_strlen(s);
    out->data = ngx_pnalloc(ctx->pool, out->len);
    if (out->data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s, out->len);
    free(s);

    return NGX_OK;
}


/*
 * {"fromUser","createTime","msgType":"text","text":{"content"}},
 * image {"media_id"}, file {"media_id","name","size"}: from the body
 * the send just built
 */

static ngx_int_t
yd_app_reply_payload(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    yd_app_reply_t *ar)
{
    json_t      *body, *obj, *part;
    const char  *type;

    body = json_loadb((char *) c->body.data, c->body.len, 0, NULL);
    obj = json_object();
    part = json_object();

    if (body == NULL || obj == NULL || part == NULL) {
        json_decref(body);
        json_decref(obj);
        json_decref(part);
        return NGX_ERROR;
    }

    if (c->ev_kind == YD_MSG_TEXT) {
        type = "text";
        json_object_set(part, "content", json_object_get(body, "text"));

    } else {
        type = (c->ev_kind == YD_MSG_IMAGE) ? "image" : "file";
        json_object_set_new(part, "media_id", yd_jstr(&ar->media_id));

        if (c->ev_kind == YD_MSG_FILE) {
            json_object_set(part, "name", json_object_get(body, "name"));
            json_object_set(part, "size", json_object_get(body, "size"));
        }
    }

    json_decref(body);

    json_object_set_new(obj, "fromUser", yd_jstr(&ctx->me.account));
    json_object_set_new(obj, "createTime", json_integer(ngx_time()));
    json_object_set_new(obj, "msgType", json_string(type));
    json_object_set_new(obj, type, part);

    return yd_app_payload(ctx, obj, &ar->payload);
}


/* the write step of a send into an app conversation: the ordinary one,
 * then the callback */

ngx_int_t
yd_app_reply_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    u_char           rnd[16];
    ngx_int_t        rc;
    yd_app_reply_t  *ar = c->app;

    if (ar == NULL) {
        ar = ngx_pcalloc(ctx->pool, sizeof(yd_app_reply_t));
        if (ar == NULL) {
            return NGX_ERROR;
        }

        c->app = ar;
    }

    if (!ar->base_done) {
        rc = yd_msg_send_write(ctx, c, ar->base_step++);
        if (rc != NGX_OK) {
            return rc;
        }

        ar->base_done = 1;
    }

    switch (ar->step++) {

    case 0:
        return yd_app_conv_sql(ctx, c->conv_id);

    case 1:
        if (ctx->res->nrows == 0) {
            /* no callback URL: stored only */
            return NGX_OK;
        }

        ar->app_pk = yd_int(ctx->res, 0, 0);
        ar->app_id = *yd_cell(ctx->res, 0, 1);

        if (c->ev_kind == YD_MSG_TEXT) {
            ar->step++;
            goto callback;
        }

        /* the user's file becomes a media id of the app */
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return NGX_ERROR;
        }

        ar->media_id.data = ngx_pnalloc(ctx->pool, 32);
        if (ar->media_id.data == NULL) {
            return NGX_ERROR;
        }

        ar->media_id.len = ngx_hex_dump(ar->media_id.data, rnd, sizeof(rnd))
                           - ar->media_id.data;

        return yd_sql(ctx,
            "INSERT INTO app_media (media_id, app_pk, file_id, type) "
            "SELECT ?, ?, CAST(JSON_VALUE(?, '$.file_id') AS UNSIGNED), ?",
            "sisz", &ar->media_id, ar->app_pk, &c->body,
            c->ev_kind == YD_MSG_IMAGE ? "image" : "file");

    case 2:
    callback:
        if (yd_app_reply_payload(ctx, c, ar) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "INSERT INTO app_callbacks (app_pk, payload) VALUES (?, ?)",
            "is", ar->app_pk, &ar->payload);

    default:
        /* yd_conv_finish() wakes the worker after COMMIT */
        c->callback_id = ctx->res->insert_id;
        return NGX_OK;
    }
}


/* after COMMIT: PUBLISH yd:callback <id> (best effort: the worker also
 * polls its queue) */

ngx_int_t
yd_app_callback_wake(ngx_http_youdu_ctx_t *ctx, int64_t id)
{
    size_t       argvlen[3];
    ngx_str_t   *s;
    const char  *argv[3];

    s = yd_int_str(ctx->pool, id);
    if (s == NULL) {
        return NGX_DECLINED;
    }

    argv[0] = "PUBLISH";
    argv[1] = "yd:callback";
    argv[2] = (const char *) s->data;
    argvlen[0] = 7;
    argvlen[1] = 11;
    argvlen[2] = s->len;

    return yd_redis(ctx, 3, argv, argvlen);
}


/*
 * POST /conversations/:id/enter: the user opened the app conversation ->
 * callback {"msgType":"event","event":{"appId","operation":"enter"}}, at
 * most once per 30 s per user and conversation
 */

static ngx_int_t
ngx_http_youdu_app_enter(ngx_http_youdu_ctx_t *ctx)
{
    json_t          *obj, *ev;
    ngx_int_t        rc;
    ngx_str_t        key, payload;
    yd_conv_t       *c;
    const char      *argv[7];
    size_t           argvlen[7];

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load(ctx, 1, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (yd_conv_require(ctx, c, 1) != NGX_OK) {
            return NGX_DONE;
        }

        if (c->kind != YD_CONV_APP) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "conversation %L is not an app conversation",
                            c->conv_id);
        }

        return yd_app_conv_sql(ctx, c->conv_id);

    case 2:
        if (ctx->res->nrows == 0) {
            goto not_sent;
        }

        c->saved = ctx->res;

        key.data = ngx_pnalloc(ctx->pool, 64);
        if (key.data == NULL) {
            return NGX_ERROR;
        }

        key.len = ngx_sprintf(key.data, "yd:appenter:%L:%L", c->conv_id,
                              ctx->me.uid) - key.data;

        argv[0] = "SET";
        argv[1] = (const char *) key.data;
        argv[2] = "1";
        argv[3] = "NX";
        argv[4] = "EX";
        argv[5] = YD_APP_ENTER_TTL;
        argvlen[0] = 3;
        argvlen[1] = key.len;
        argvlen[2] = 1;
        argvlen[3] = 2;
        argvlen[4] = 2;
        argvlen[5] = sizeof(YD_APP_ENTER_TTL) - 1;

        if (yd_redis(ctx, 6, argv, argvlen) != NGX_AGAIN) {
            /* no rate limit without Redis: no event either */
            goto not_sent;
        }

        return NGX_AGAIN;

    case 3:
        if (!ctx->redis_ok || ctx->redis_str.len == 0) {
            /* sent recently (nil reply) */
            goto not_sent;
        }

        obj = json_object();
        ev = json_object();
        if (obj == NULL || ev == NULL) {
            json_decref(obj);
            json_decref(ev);
            return NGX_ERROR;
        }

        json_object_set_new(ev, "appId", yd_json_cell(c->saved, 0, 1));
        json_object_set_new(ev, "operation", json_string("enter"));
        json_object_set_new(obj, "fromUser", yd_jstr(&ctx->me.account));
        json_object_set_new(obj, "createTime", json_integer(ngx_time()));
        json_object_set_new(obj, "msgType", json_string("event"));
        json_object_set_new(obj, "event", ev);

        if (yd_app_payload(ctx, obj, &payload) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "INSERT INTO app_callbacks (app_pk, payload) VALUES (?, ?)",
            "is", yd_int(c->saved, 0, 0), &payload);

    case 4:
        c->flag = 1;

        if (yd_app_callback_wake(ctx, ctx->res->insert_id) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        obj = json_pack("{sb}", "notified", 1);
        return obj ? yd_ok(ctx, obj) : NGX_ERROR;
    }

not_sent:

    obj = json_pack("{sb}", "notified", 0);
    return obj ? yd_ok(ctx, obj) : NGX_ERROR;
}


/* GET /apps/notices: the caller's badges, newest first */

static ngx_int_t
ngx_http_youdu_app_notices(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *e, *pop;
    ngx_str_t              *p;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (ctx->stage == 0) {
        return yd_sql(ctx,
            "SELECT a.app_id, a.name, n.count, n.tip, n.pop_wind, "
            "yd_iso(n.updated_at) FROM app_notices n "
            "JOIN apps a ON a.id = n.app_pk "
            "WHERE n.user_id = ? AND a.enabled = 1 "
            "ORDER BY n.updated_at DESC, a.id LIMIT 500",
            "i", ctx->me.uid);
    }

    obj = json_object();
    list = json_array();
    if (obj == NULL || list == NULL) {
        json_decref(obj);
        json_decref(list);
        return NGX_ERROR;
    }

    for (i = 0; i < res->nrows; i++) {
        e = json_object();
        if (e == NULL) {
            continue;
        }

        p = yd_cell(res, i, 4);
        pop = p->data ? json_loadb((char *) p->data, p->len, 0, NULL)
                      : NULL;

        json_object_set_new(e, "app_id", yd_json_cell(res, i, 0));
        json_object_set_new(e, "app_name", yd_json_cell(res, i, 1));
        json_object_set_new(e, "count", yd_json_cell_int(res, i, 2));
        json_object_set_new(e, "tip", yd_json_cell(res, i, 3));
        json_object_set_new(e, "pop_wind", pop ? pop : json_null());
        json_object_set_new(e, "updated_at", yd_json_cell(res, i, 5));
        json_array_append_new(list, e);
    }

    json_object_set_new(obj, "notices", list);

    return yd_ok(ctx, obj);
}
