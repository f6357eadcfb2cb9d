
/*
 * youdu HTTP module: conversation membership: add, kick or leave, admins,
 * dissolve.  Each change appends a system event in the same transaction.
 */


#include "ngx_http_youdu_conv.h"


/* a system body with a user id list: {"user_ids": [...], extra...} */

ngx_int_t
yd_conv_ids_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, const char *event,
    json_t *extra)
{
    json_t      *list;
    ngx_uint_t   i;

    if (extra == NULL) {
        extra = json_object();
    }

    list = json_array();
    if (extra == NULL || list == NULL) {
        json_decref(extra);
        json_decref(list);
        return NGX_ERROR;
    }

    for (i = 0; i < c->nids; i++) {
        json_array_append_new(list, json_integer(c->ids[i]));
    }

    json_object_set_new(extra, "user_ids", list);

    return yd_conv_system_body(ctx, event, extra);
}


/* POST /conversations/:id/members {"user_ids"}: (re)joined members read
 * from the seq of this event on */

ngx_int_t
yd_conv_add_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    u_char                *sql, *p;
    ngx_uint_t             i, n;
    ngx_youdu_db_param_t  *prm;

    switch (step) {

    case 0:
        sql = ngx_pnalloc(ctx->pool, 400 + 20 * c->nids);
        prm = ngx_pcalloc(ctx->pool,
                          (4 * c->nids + 1) * sizeof(ngx_youdu_db_param_t));
        if (sql == NULL || prm == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(sql, "INSERT INTO conversation_members (conv_id, "
                        "user_id, role, joined_seq, last_read_seq) VALUES ");
        n = 0;

        for (i = 0; i < c->nids; i++) {
            p = ngx_sprintf(p, "%s(?, ?, 0, ?, ?)", i ? ", " : "");
            if (yd_conv_param(ctx->pool, &prm[n++], c->conv_id) != NGX_OK) {
                return NGX_ERROR;
            }
            if (yd_conv_param(ctx->pool, &prm[n++], c->ids[i]) != NGX_OK) {
                return NGX_ERROR;
            }
            if (yd_conv_param(ctx->pool, &prm[n++], c->seq) != NGX_OK) {
                return NGX_ERROR;
            }
            if (yd_conv_param(ctx->pool, &prm[n++], c->seq - 1) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        p = ngx_sprintf(p, " ON DUPLICATE KEY UPDATE role = 0, "
                        "joined_seq = VALUES(joined_seq), "
                        "last_read_seq = VALUES(last_read_seq), muted = 0, "
                        "pinned = 0, left_at = NULL, left_seq = NULL");
        *p = '\0';

        return yd_sql_params(ctx, (char *) sql, prm, n, 0);

    case 1:
        return yd_sql(ctx,
            "UPDATE conversations SET member_count = (SELECT COUNT(*) "
            "FROM conversation_members WHERE conv_id = ? AND left_at IS NULL) "
            "WHERE id = ?", "ii", c->conv_id, c->conv_id);

    default:
        return NGX_OK;
    }
}


ngx_int_t
ngx_http_youdu_conv_add_members(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                 max;
    ngx_int_t               rc;
    ngx_uint_t              i, j;
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
        if (yd_require_body(ctx) != NGX_OK
            || yd_conv_ids(ctx, ctx->body, "user_ids", 1, YD_GROUP_MAX)
               != NGX_OK)
        {
            return NGX_DONE;
        }

        if (c->nids == 0) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "\"user_ids\" must not be empty");
        }

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load_check(ctx, c, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_conv_in_sql(ctx,
            "SELECT u.id, m.user_id IS NOT NULL AND m.left_at IS NULL "
            "FROM users u LEFT JOIN conversation_members m "
            "ON m.conv_id = ? AND m.user_id = u.id "
            "WHERE u.enable_state = 1 AND u.id IN (", &c->conv_id, 1, ")");

    default:
        if (res->nrows != c->nids) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "\"user_ids\" lists a user that does not exist "
                            "or is disabled");
        }

        /* already current members are left alone */
        for (i = 0, j = 0; i < res->nrows; i++) {
            if (!yd_int(res, i, 1)) {
                c->ids[j++] = yd_int(res, i, 0);
            }
        }

        c->nids = j;

        if (c->nids == 0) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "these users are already members");
        }

        max = (c->kind == YD_CONV_GROUP) ? YD_GROUP_MAX : YD_MULTI_MAX;

        if (c->member_count + (int64_t) c->nids > max) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "at most %L members are allowed", max);
        }

        if (yd_conv_ids_body(ctx, c, "member_added", NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_conv_start(ctx, NULL, yd_conv_add_write, NGX_HTTP_OK, 1);
    }
}


/* DELETE /conversations/:id/members/:uid: kick, or leave (uid = self) */

static ngx_int_t
yd_conv_remove_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step)
{
    switch (step) {

    case 0:
        return yd_sql(ctx,
            "UPDATE conversation_members SET left_at = UTC_TIMESTAMP(3), "
            "left_seq = ?, role = 0 "
            "WHERE conv_id = ? AND user_id = ? AND left_at IS NULL",
            "iii", c->seq, c->conv_id, c->target);

    case 1:
        if (ctx->res->affected == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "user %L is not a member", c->target);
        }

        return yd_sql(ctx,
            "UPDATE conversations SET member_count = member_count - 1 "
            "WHERE id = ?", "i", c->conv_id);

    default:
        return NGX_OK;
    }
}


ngx_int_t
ngx_http_youdu_conv_remove_member(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                 role;
    ngx_int_t               rc;
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
        rc = yd_conv_load_check(ctx, c, c->target != ctx->me.uid);
        if (rc != NGX_OK) {
            return rc;
        }

        c->nids = 1;
        c->ids = &c->target;

        if (c->target == ctx->me.uid) {
            if (c->kind == YD_CONV_DIRECT || c->kind == YD_CONV_APP) {
                return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                                c->kind == YD_CONV_APP
                                ? "an app's conversation cannot be left"
                                : "a direct conversation cannot be left");
            }

            if (c->role == YD_MEMBER_OWNER) {
                return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                                "the owner cannot leave; %s",
                                c->kind == YD_CONV_GROUP
                                ? "dissolve the group instead"
                                : "remove the other members instead");
            }

            if (yd_conv_ids_body(ctx, c, "member_left", NULL) != NGX_OK) {
                return NGX_ERROR;
            }

            return yd_conv_start(ctx, NULL, yd_conv_remove_write,
                                 NGX_HTTP_OK, 0);
        }

        return yd_sql(ctx,
            "SELECT role FROM conversation_members "
            "WHERE conv_id = ? AND user_id = ? AND left_at IS NULL",
            "ii", c->conv_id, c->target);

    default:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "user %L is not a member", c->target);
        }

        role = yd_int(res, 0, 0);

        /* admins remove members; only the owner removes admins */
        if (role >= c->role) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "you may not remove this member");
        }

        if (yd_conv_ids_body(ctx, c, "member_removed", NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_conv_start(ctx, NULL, yd_conv_remove_write, NGX_HTTP_OK, 0);
    }
}


/* POST /conversations/:id/admins {"user_id"}, DELETE .../admins/:uid */

static ngx_int_t
yd_conv_admin_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    if (step == 0) {
        return yd_sql(ctx,
            "UPDATE conversation_members SET role = ? "
            "WHERE conv_id = ? AND user_id = ? AND left_at IS NULL",
            "iii", (int64_t) c->flag, c->conv_id, c->target);
    }

    if (step == 1 && ctx->res->affected == 0) {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                        "user %L is not a member", c->target);
    }

    return NGX_OK;
}


static ngx_int_t
yd_conv_admin_change(ngx_http_youdu_ctx_t *ctx, ngx_uint_t add)
{
    ngx_int_t               rc;
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
        if (add) {
            if (yd_require_body(ctx) != NGX_OK
                || yd_json_int(ctx, ctx->body, "user_id", 1, 1, INT64_MAX,
                               &c->target, NULL) != NGX_OK)
            {
                return NGX_DONE;
            }

        } else if (yd_arg_int(ctx, 1, &c->target) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load_check(ctx, c, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (c->kind != YD_CONV_GROUP || c->role != YD_MEMBER_OWNER) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "only the owner of a group may change admins");
        }

        return yd_sql(ctx,
            "SELECT role FROM conversation_members "
            "WHERE conv_id = ? AND user_id = ? AND left_at IS NULL",
            "ii", c->conv_id, c->target);

    default:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "user %L is not a member", c->target);
        }

        if (add && yd_int(res, 0, 0) != YD_MEMBER) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "user %L is already an admin or the owner",
                            c->target);
        }

        if (!add && yd_int(res, 0, 0) != YD_MEMBER_ADMIN) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "user %L is not an admin", c->target);
        }

        c->flag = add ? YD_MEMBER_ADMIN : YD_MEMBER;
        c->nids = 1;
        c->ids = &c->target;

        if (yd_conv_ids_body(ctx, c, add ? "admin_added" : "admin_removed",
                             NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return yd_conv_start(ctx, NULL, yd_conv_admin_write, NGX_HTTP_OK, 0);
    }
}


ngx_int_t
ngx_http_youdu_conv_add_admin(ngx_http_youdu_ctx_t *ctx)
{
    return yd_conv_admin_change(ctx, 1);
}


ngx_int_t
ngx_http_youdu_conv_remove_admin(ngx_http_youdu_ctx_t *ctx)
{
    return yd_conv_admin_change(ctx, 0);
}


/* DELETE /conversations/:id: the group owner dissolves the group */

static ngx_int_t
yd_conv_dissolve_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step)
{
    if (step == 0) {
        return yd_sql(ctx,
            "UPDATE conversations SET dissolved_at = UTC_TIMESTAMP(3) "
            "WHERE id = ?", "i", c->conv_id);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_youdu_conv_dissolve(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t   rc;
    yd_conv_t  *c;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    switch (ctx->stage) {

    case 0:
        return yd_conv_load(ctx, 0, 0);

    default:
        rc = yd_conv_load_check(ctx, c, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (c->kind != YD_CONV_GROUP || c->role != YD_MEMBER_OWNER) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "only the owner of a group may dissolve it");
        }

        if (yd_conv_system_body(ctx, "dissolved", NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_conv_start(ctx, NULL, yd_conv_dissolve_write, NGX_HTTP_OK,
                             0);
    }
}
