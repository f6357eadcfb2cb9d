
/*
 * youdu HTTP module: the typing indicator.  Nothing is stored: a notice on
 * yd:push reaches the other members' devices, at most one per user and
 * conversation every YD_TYPING_INTERVAL ms (a Redis SET NX PX key).
 */


#include "ngx_http_youdu_conv.h"


#define YD_TYPING_INTERVAL     3000     /* ms */
/* bigger groups get no typing notices: the fan-out is not worth it */
#define YD_TYPING_MAX_MEMBERS  100


static ngx_int_t yd_typing_reply(ngx_http_youdu_ctx_t *ctx, ngx_uint_t sent);
static ngx_int_t yd_typing_redis_down(ngx_http_youdu_ctx_t *ctx);


/* POST /conversations/:id/typing: {"sent": false} when rate limited */

ngx_int_t
ngx_http_youdu_msg_typing(ngx_http_youdu_ctx_t *ctx)
{
    u_char                 *p, key[64];
    size_t                  argvlen[6];
    ngx_int_t               rc;
    yd_conv_t              *c;
    const char             *argv[6];
    ngx_youdu_db_result_t  *res = ctx->res;

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

        if (c->member_count > YD_TYPING_MAX_MEMBERS) {
            return yd_typing_reply(ctx, 0);
        }

        p = ngx_sprintf(key, "yd:typing:%L:%L", c->conv_id, ctx->me.uid);

        argv[0] = "SET";
        argv[1] = (const char *) key;
        argv[2] = "1";
        argv[3] = "NX";
        argv[4] = "PX";
        argv[5] = ngx_value(YD_TYPING_INTERVAL);

        argvlen[0] = 3;
        argvlen[1] = p - key;
        argvlen[2] = 1;
        argvlen[3] = 2;
        argvlen[4] = 2;
        argvlen[5] = ngx_strlen(argv[5]);

        if (yd_redis(ctx, 6, argv, argvlen) != NGX_AGAIN) {
            return yd_typing_redis_down(ctx);
        }

        return NGX_AGAIN;

    case 2:
        if (!ctx->redis_ok) {
            return yd_typing_redis_down(ctx);
        }

        /* nil: the key exists, a notice went out less than 3 s ago */
        if (ctx->redis_type == REDIS_REPLY_NIL) {
            return yd_typing_reply(ctx, 0);
        }

        /* the other current members; never the typist's own devices */
        return yd_sql(ctx,
            "SELECT user_id FROM conversation_members "
            "WHERE conv_id = ? AND left_at IS NULL AND user_id <> ? "
            "ORDER BY user_id", "ii", c->conv_id, ctx->me.uid);

    case 3:
        if (res->nrows == 0) {
            return yd_typing_reply(ctx, 0);
        }

        c->to = res;

        c->event = json_pack("{sssIsI}", "type", "typing",
                             "conv_id", (json_int_t) c->conv_id,
                             "user_id", (json_int_t) ctx->me.uid);
        if (c->event == NULL) {
            return NGX_ERROR;
        }

        if (yd_conv_publish(ctx, "typing", c->event) != NGX_AGAIN) {
            return yd_typing_redis_down(ctx);
        }

        return NGX_AGAIN;

    default:
        if (!ctx->redis_ok) {
            return yd_typing_redis_down(ctx);
        }

        return yd_typing_reply(ctx, 1);
    }
}


static ngx_int_t
yd_typing_reply(ngx_http_youdu_ctx_t *ctx, ngx_uint_t sent)
{
    json_t  *obj;

    obj = json_pack("{sb}", "sent", (int) sent);
    if (obj == NULL) {
        return NGX_ERROR;
    }

    return yd_ok(ctx, obj);
}


static ngx_int_t
yd_typing_redis_down(ngx_http_youdu_ctx_t *ctx)
{
    return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                    YD_ERR_REDIS_UNAVAILABLE, "the typing indicator is "
                    "unavailable right now (Redis): try again later");
}
