
/*
 * youdu HTTP module: recalling a message.
 */


#include "ngx_http_youdu_conv.h"


/*
 * POST /conversations/:id/messages/:seq/recall: the sender within
 * youdu_recall_window, group owner and admins any time.  Appends a
 * kind 7 event {"recall_seq"} and marks the original recalled.
 */

static ngx_int_t
yd_msg_recall_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    switch (step) {

    case 0:
        return yd_sql(ctx,
            "UPDATE messages SET recalled = 1 "
            "WHERE conv_id = ? AND seq = ? AND recalled = 0",
            "ii", c->conv_id, c->target);

    case 1:
        if (ctx->res->affected == 0) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "message %L was already recalled", c->target);
        }

        /* fall through */

    default:
        return NGX_OK;
    }
}


ngx_int_t
ngx_http_youdu_msg_recall(ngx_http_youdu_ctx_t *ctx)
{
    char                   *s;
    ngx_int_t               rc;
    ngx_uint_t              manager, own;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    switch (ctx->stage) {

    case 0:
        if (yd_arg_int(ctx, 1, &c->target) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load(ctx, 1, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (yd_conv_require(ctx, c, 1) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "SELECT IFNULL(sender_id, 0), recalled, "
            "created_at >= UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
            "FROM messages WHERE conv_id = ? AND seq = ? AND seq >= ? "
            "AND " YD_MSG_USER_KINDS,
            "iiii", (int64_t) ngx_youdu_core_conf(ngx_cycle)->recall_window,
            c->conv_id, c->target, c->joined_seq);

    default:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no message %L to recall in this conversation",
                            c->target);
        }

        if (yd_int(res, 0, 1)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "message %L was already recalled", c->target);
        }

        manager = (c->kind == YD_CONV_GROUP && c->role >= YD_MEMBER_ADMIN);
        own = (yd_int(res, 0, 0) == ctx->me.uid);

        if (!manager && !own) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "only the sender or a group admin may recall "
                            "this message");
        }

        if (!manager && !yd_int(res, 0, 2)) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "messages can only be recalled within %T "
                            "seconds of sending",
                            ngx_youdu_core_conf(ngx_cycle)->recall_window);
        }

        c->body.data = ngx_pnalloc(ctx->pool, 64);
        if (c->body.data == NULL) {
            return NGX_ERROR;
        }

        s = (char *) c->body.data;
        c->body.len = ngx_sprintf(c->body.data, "{\"recall_seq\":%L}",
                                  c->target)
                      - c->body.data;
        s[c->body.len] = '\0';

        c->sender_id = ctx->me.uid;
        c->client_msg_id = NULL;
        c->ev_kind = YD_MSG_RECALL;

        return yd_conv_start(ctx, NULL, yd_msg_recall_write, NGX_HTTP_OK, 0);
    }
}
