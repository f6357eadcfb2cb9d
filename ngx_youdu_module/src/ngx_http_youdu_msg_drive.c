
/*
 * youdu HTTP module: a change to a conversation as one transaction that
 * appends one event (yd_conv_drive()), and the conversation object.
 */


#include "ngx_http_youdu_conv.h"


enum {
    YD_PH_BEGIN = 0,
    YD_PH_PRE,
    YD_PH_SEQ,
    YD_PH_WRITE,
    YD_PH_INSERT,
    YD_PH_AUDIT,
    YD_PH_OBJ,
    YD_PH_FINISH,
    YD_PH_DUP
};


/*
 * runs a change to a conversation as one transaction that appends one
 * event: the handler set c->pre/write (optional), c->status, and the event
 * body (in pre or write at the latest)
 */

ngx_int_t
yd_conv_drive(ngx_http_youdu_ctx_t *ctx)
{
    json_t     *obj;
    ngx_int_t   rc;
    yd_conv_t  *c = ctx->data;

    for ( ;; ) {

        switch (c->phase) {

        case YD_PH_BEGIN:
            c->phase = YD_PH_PRE;
            c->step = 0;
            return yd_begin(ctx);

        case YD_PH_PRE:
            rc = c->pre ? c->pre(ctx, c, c->step++) : NGX_OK;
            if (rc != NGX_OK) {
                return rc;
            }

            c->phase = YD_PH_SEQ;
            c->step = 0;
            break;

        case YD_PH_SEQ:
            rc = yd_conv_next_seq(ctx, c->step++);
            if (rc != NGX_OK) {
                return rc;
            }

            c->phase = YD_PH_WRITE;
            c->step = 0;
            break;

        case YD_PH_WRITE:
            rc = c->write ? c->write(ctx, c, c->step++) : NGX_OK;
            if (rc != NGX_OK) {
                return rc;
            }

            c->phase = YD_PH_INSERT;
            c->step = 0;
            break;

        case YD_PH_INSERT:
            rc = yd_conv_insert(ctx, c->step++);

            if (rc == NGX_DECLINED && c->dup) {
                c->phase = YD_PH_DUP;
                c->step = 0;
                break;
            }

            if (rc != NGX_OK) {
                return (rc == NGX_DECLINED) ? NGX_ERROR : rc;
            }

            c->phase = YD_PH_AUDIT;
            c->step = 0;
            break;

        case YD_PH_AUDIT:
            rc = yd_msg_audit(ctx, c->step++);
            if (rc != NGX_DONE) {
                return rc;
            }

            c->phase = c->want_obj ? YD_PH_OBJ : YD_PH_FINISH;
            c->step = 0;
            break;

        case YD_PH_OBJ:
            if (c->step++ == 0) {
                return yd_conv_obj_sql(ctx);
            }

            obj = yd_conv_obj(ctx->res, 0);
            if (obj == NULL) {
                return NGX_ERROR;
            }

            if (c->reply == NULL) {
                c->reply = json_object();
                if (c->reply == NULL) {
                    json_decref(obj);
                    return NGX_ERROR;
                }
            }

            json_object_set_new(c->reply, "conversation", obj);

            c->phase = YD_PH_FINISH;
            c->step = 0;
            break;

        case YD_PH_FINISH:
            return yd_conv_finish(ctx, c->step++, c->status);

        default: /* YD_PH_DUP */
            return c->dup(ctx, c, c->step++);
        }
    }
}


ngx_int_t
yd_conv_start(ngx_http_youdu_ctx_t *ctx, yd_conv_step_pt pre,
    yd_conv_step_pt write, ngx_uint_t status, ngx_uint_t want_obj)
{
    yd_conv_t  *c = ctx->data;

    c->driving = 1;
    c->phase = YD_PH_BEGIN;
    c->pre = pre;
    c->write = write;
    c->status = status;
    c->want_obj = want_obj;

    return yd_conv_drive(ctx);
}


/* may change members and the name: group owner and admins, the creator
 * (owner) of an ad hoc chat */

ngx_uint_t
yd_conv_manager(yd_conv_t *c)
{
    switch (c->kind) {
    case YD_CONV_GROUP:
        return c->role >= YD_MEMBER_ADMIN;
    case YD_CONV_MULTI:
        return c->role == YD_MEMBER_OWNER;
    default:
        return 0;
    }
}


/* the conversation as the caller sees it (he must have a member row) */

ngx_int_t
yd_conv_obj_sql(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t  *c = ctx->data;

    return yd_sql(ctx,
        "SELECT c.id, c.kind, c.name, c.owner_id, c.member_count, "
        "c.last_seq, yd_iso(c.created_at), m.role, m.muted, m.pinned, "
        "m.last_read_seq, m.joined_seq, pu.id, pu.name, "
        "c.dissolved_at IS NOT NULL, m.left_at IS NOT NULL "
        "FROM conversations c JOIN conversation_members m "
        "ON m.conv_id = c.id AND m.user_id = ? "
        "LEFT JOIN conversation_members pm ON c.kind = 1 "
        "AND pm.conv_id = c.id AND pm.user_id <> m.user_id "
        "LEFT JOIN users pu ON pu.id = pm.user_id "
        "WHERE c.id = ?", "ii", ctx->me.uid, c->conv_id);
}


json_t *
yd_conv_obj(ngx_youdu_db_result_t *res, ngx_uint_t row)
{
    json_t  *obj, *peer;

    if (row >= res->nrows) {
        return NULL;
    }

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    json_object_set_new(obj, "id", yd_json_cell_int(res, row, 0));
    json_object_set_new(obj, "kind",
                        json_string(yd_conv_kind_name(yd_int(res, row, 1))));

    if (yd_int(res, row, 1) == YD_CONV_DIRECT) {
        peer = json_object();
        if (peer == NULL) {
            json_decref(obj);
            return NULL;
        }

        json_object_set_new(peer, "id", yd_json_cell_int(res, row, 12));
        json_object_set_new(peer, "name", yd_json_cell(res, row, 13));
        json_object_set_new(obj, "name", yd_json_cell(res, row, 13));
        json_object_set_new(obj, "peer", peer);

    } else {
        json_object_set_new(obj, "name", yd_json_cell(res, row, 2));
    }

    json_object_set_new(obj, "owner_id", yd_json_cell_int(res, row, 3));
    json_object_set_new(obj, "member_count", yd_json_cell_int(res, row, 4));
    json_object_set_new(obj, "last_seq", yd_json_cell_int(res, row, 5));
    json_object_set_new(obj, "created_at", yd_json_cell(res, row, 6));
    json_object_set_new(obj, "my_role", yd_json_cell_int(res, row, 7));
    json_object_set_new(obj, "muted", json_boolean(yd_int(res, row, 8)));
    json_object_set_new(obj, "pinned", json_boolean(yd_int(res, row, 9)));
    json_object_set_new(obj, "last_read_seq", yd_json_cell_int(res, row, 10));
    json_object_set_new(obj, "joined_seq", yd_json_cell_int(res, row, 11));
    json_object_set_new(obj, "dissolved", json_boolean(yd_int(res, row, 14)));
    json_object_set_new(obj, "left", json_boolean(yd_int(res, row, 15)));

    return obj;
}
