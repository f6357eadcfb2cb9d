
/*
 * youdu HTTP module: conversations: create (direct, ad hoc multi, group),
 * list, details, rename, per member settings (membership changes are in
 * ngx_http_youdu_msg_members.c).
 * Every change appends a system event (kind 6) to the conversation's
 * sequence in the same transaction (yd_conv_drive()).
 */


#include "ngx_http_youdu_conv.h"
#include "ngx_http_youdu_cgi_msg.h"      /* yd_cgi_push() */


/* POST /conversations */

static ngx_int_t
ngx_http_youdu_conv_create(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *extra;
    int64_t                 peer, a, b;
    ngx_str_t               kind, key;
    ngx_uint_t              i, j, present;
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
            || yd_json_str(ctx, ctx->body, "kind", 1, 16, &kind, NULL)
               != NGX_OK)
        {
            return NGX_DONE;
        }

        if (ngx_strcmp(kind.data, "direct") == 0) {
            c->kind = YD_CONV_DIRECT;

            if (yd_json_int(ctx, ctx->body, "user_id", 1, 1, INT64_MAX,
                            &peer, NULL) != NGX_OK)
            {
                return NGX_DONE;
            }

            if (peer == ctx->me.uid) {
                return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                                "\"user_id\" must be another user");
            }

            c->target = peer;

            return yd_sql(ctx,
                "SELECT id FROM users WHERE id = ? AND enable_state = 1",
                "i", peer);
        }

        if (ngx_strcmp(kind.data, "multi") == 0) {
            c->kind = YD_CONV_MULTI;

        } else if (ngx_strcmp(kind.data, "group") == 0) {
            c->kind = YD_CONV_GROUP;

        } else {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "\"kind\" must be \"direct\", \"multi\" or "
                            "\"group\"");
        }

        if (yd_json_str(ctx, ctx->body, "name", c->kind == YD_CONV_GROUP, 64,
                        &c->name, &present) != NGX_OK
            || yd_conv_ids(ctx, ctx->body, "user_ids", 1, YD_GROUP_MAX)
               != NGX_OK)
        {
            return NGX_DONE;
        }

        if (!present) {
            ngx_str_set(&c->name, "");
        }

        /* the creator is a member anyway */
        for (i = 0, j = 0; i < c->nids; i++) {
            if (c->ids[i] != ctx->me.uid) {
                c->ids[j++] = c->ids[i];
            }
        }

        c->nids = j;

        if (c->kind == YD_CONV_MULTI
            && (c->nids < 1 || c->nids + 1 > YD_MULTI_MAX))
        {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "a multi-person chat has 2 to %d members",
                            YD_MULTI_MAX);
        }

        if (c->nids + 1 > YD_GROUP_MAX) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "a group has at most %d members", YD_GROUP_MAX);
        }

        return yd_conv_in_sql(ctx,
            "SELECT COUNT(*) FROM users WHERE enable_state = 1 AND id IN (",
            NULL, 0, ")");

    case 1:
        if (c->kind != YD_CONV_DIRECT) {
            if ((ngx_uint_t) yd_int(res, 0, 0) != c->nids) {
                return yd_error(ctx, NGX_HTTP_NOT_FOUND,
                                YD_ERR_USER_NOT_FOUND,
                                "\"user_ids\" lists a user that does not "
                                "exist or is disabled");
            }

            extra = json_object();
            if (extra == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(extra, "name", yd_jstr(&c->name));

            if (yd_conv_ids_body(ctx, c, "created", extra) != NGX_OK) {
                return NGX_ERROR;
            }

            return yd_conv_start(ctx, yd_conv_create_pre, NULL,
                                 NGX_HTTP_CREATED, 1);
        }

        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "no enabled user with id %L", c->target);
        }

        a = ngx_min(ctx->me.uid, c->target);
        b = ngx_max(ctx->me.uid, c->target);

        key.data = ngx_pnalloc(ctx->pool, 48);
        if (key.data == NULL) {
            return NGX_ERROR;
        }

        key.len = ngx_sprintf(key.data, "%L:%L", a, b) - key.data;
        c->name = key;
        c->status = NGX_HTTP_OK;

        return yd_sql(ctx,
            "SELECT id FROM conversations WHERE direct_key = ? "
            "LOCK IN SHARE MODE", "s", &c->name);

    case 2:
        if (res->nrows) {
            /* it exists already: idempotent */
            c->conv_id = yd_int(res, 0, 0);
            ctx->stage = 9;
            return yd_conv_obj_sql(ctx);
        }

        return yd_begin(ctx);

    case 3:
        return yd_sql_try(ctx,
            "INSERT INTO conversations (kind, direct_key, member_count, "
            "created_at, last_msg_at) VALUES (1, ?, 2, UTC_TIMESTAMP(3), "
            "UTC_TIMESTAMP(3))", "s", &c->name);

    case 4:
        if (res->err_no == YD_DB_ER_DUP_ENTRY) {
            /* created concurrently: answer with that one */
            ctx->stage = 1;
            return yd_sql(ctx,
                "SELECT id FROM conversations WHERE direct_key = ? "
                "LOCK IN SHARE MODE", "s", &c->name);
        }

        if (res->err_no) {
            return yd_db_failed(ctx);
        }

        c->conv_id = res->insert_id;

        return yd_sql(ctx,
            "INSERT INTO conversation_members (conv_id, user_id, role, "
            "joined_seq) VALUES (?, ?, 0, 1), (?, ?, 0, 1)",
            "iiii", c->conv_id, ctx->me.uid, c->conv_id, c->target);

    case 5:
        return yd_commit(ctx);

    case 6:
        c->status = NGX_HTTP_CREATED;
        ctx->stage = 9;
        return yd_conv_obj_sql(ctx);

    default:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "conversation", yd_conv_obj(res, 0));

        return yd_ok_status(ctx, c->status, obj);
    }
}


/* the conversation row and the members (creator first, as owner) */

ngx_int_t
yd_conv_create_pre(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    u_char                *sql, *p;
    ngx_uint_t             i, n;
    ngx_youdu_db_param_t  *prm;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "INSERT INTO conversations (kind, name, owner_id, member_count, "
            "created_at, last_msg_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3), "
            "UTC_TIMESTAMP(3))",
            "isii", c->kind, &c->name, ctx->me.uid, (int64_t) c->nids + 1);

    case 1:
        c->conv_id = ctx->res->insert_id;

        sql = ngx_pnalloc(ctx->pool, 200 + 16 * c->nids);
        prm = ngx_pcalloc(ctx->pool,
                          (2 + 2 * c->nids) * sizeof(ngx_youdu_db_param_t));
        if (sql == NULL || prm == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(sql, "INSERT INTO conversation_members (conv_id, "
                        "user_id, role, joined_seq) VALUES (?, ?, 2, 1)");

        n = 0;
        if (yd_conv_param(ctx->pool, &prm[n++], c->conv_id) != NGX_OK) {
            return NGX_ERROR;
        }
        if (yd_conv_param(ctx->pool, &prm[n++], ctx->me.uid) != NGX_OK) {
            return NGX_ERROR;
        }

        for (i = 0; i < c->nids; i++) {
            p = ngx_sprintf(p, ", (?, ?, 0, 1)");
            prm[n++].value = prm[0].value;
            if (yd_conv_param(ctx->pool, &prm[n++], c->ids[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        *p = '\0';

        return yd_sql_params(ctx, (char *) sql, prm, n, 0);

    default:
        c->role = YD_MEMBER_OWNER;
        return NGX_OK;
    }
}


/* GET /conversations: mine, pinned first, then by last activity */

static ngx_int_t
ngx_http_youdu_conv_list(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *e, *peer, *last;
    int64_t                 offset, limit;
    ngx_uint_t              i, n;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        if (yd_page(ctx, &offset, &limit) != NGX_OK) {
            return NGX_DONE;
        }

        ctx->data = ngx_palloc(ctx->pool, sizeof(int64_t));
        if (ctx->data == NULL) {
            return NGX_ERROR;
        }

        *(int64_t *) ctx->data = limit;

        return yd_sql(ctx,
            "SELECT c.id, c.kind, c.name, c.member_count, c.last_seq, "
            "yd_iso(c.last_msg_at), "
            "GREATEST(0, CAST(c.last_seq AS SIGNED) - GREATEST("
            "CAST(m.last_read_seq AS SIGNED), "
            "CAST(m.joined_seq AS SIGNED) - 1)), "
            "m.muted, m.pinned, pu.id, pu.name, "
            "lm.seq, lm.sender_id, lm.kind, "
            "IF(lm.recalled, '', LEFT(" YD_MSG_PREVIEW("lm.body") ", 60)), "
            "yd_iso(lm.created_at), lm.recalled, c.owner_id, "
            "m.role, m.last_read_seq "
            "FROM conversation_members m "
            "JOIN conversations c ON c.id = m.conv_id "
            "LEFT JOIN conversation_members pm ON c.kind = 1 "
            "AND pm.conv_id = c.id AND pm.user_id <> m.user_id "
            "LEFT JOIN users pu ON pu.id = pm.user_id "
            "LEFT JOIN messages lm ON lm.conv_id = c.id "
            "AND lm.seq = c.last_seq AND c.last_seq >= m.joined_seq "
            "WHERE m.user_id = ? AND m.left_at IS NULL "
            "AND c.dissolved_at IS NULL "
            "ORDER BY m.pinned DESC, c.last_msg_at DESC, c.id DESC "
            "LIMIT ? OFFSET ?",
            "iii", ctx->me.uid, limit + 1, offset);

    default:
        limit = *(int64_t *) ctx->data;

        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            json_decref(obj);
            json_decref(list);
            return NGX_ERROR;
        }

        n = ngx_min(res->nrows, (ngx_uint_t) limit);

        for (i = 0; i < n; i++) {
            e = json_object();
            if (e == NULL) {
                json_decref(obj);
                json_decref(list);
                return NGX_ERROR;
            }

            json_object_set_new(e, "id", yd_json_cell_int(res, i, 0));
            json_object_set_new(e, "kind",
                json_string(yd_conv_kind_name(yd_int(res, i, 1))));

            if (yd_int(res, i, 1) == YD_CONV_DIRECT) {
                peer = json_object();
                if (peer) {
                    json_object_set_new(peer, "id",
                                        yd_json_cell_int(res, i, 9));
                    json_object_set_new(peer, "name",
                                        yd_json_cell(res, i, 10));
                    json_object_set_new(e, "peer", peer);
                }

                json_object_set_new(e, "name", yd_json_cell(res, i, 10));

            } else {
                json_object_set_new(e, "name", yd_json_cell(res, i, 2));
            }

            json_object_set_new(e, "owner_id", yd_json_cell_int(res, i, 17));
            json_object_set_new(e, "my_role", yd_json_cell_int(res, i, 18));
            json_object_set_new(e, "member_count",
                                yd_json_cell_int(res, i, 3));
            json_object_set_new(e, "last_seq", yd_json_cell_int(res, i, 4));
            json_object_set_new(e, "last_read_seq",
                                yd_json_cell_int(res, i, 19));
            json_object_set_new(e, "last_activity_at",
                                yd_json_cell(res, i, 5));
            json_object_set_new(e, "unread", yd_json_cell_int(res, i, 6));
            json_object_set_new(e, "muted", json_boolean(yd_int(res, i, 7)));
            json_object_set_new(e, "pinned", json_boolean(yd_int(res, i, 8)));

            if (yd_cell(res, i, 11)->data) {
                last = json_object();
                if (last) {
                    json_object_set_new(last, "seq",
                                        yd_json_cell_int(res, i, 11));
                    json_object_set_new(last, "sender_id",
                                        yd_json_cell_int(res, i, 12));
                    json_object_set_new(last, "kind",
                                        yd_json_cell_int(res, i, 13));
                    json_object_set_new(last, "preview",
                                        yd_json_cell(res, i, 14));
                    json_object_set_new(last, "created_at",
                                        yd_json_cell(res, i, 15));
                    json_object_set_new(last, "recalled",
                                        json_boolean(yd_int(res, i, 16)));
                }

                json_object_set_new(e, "last_message",
                                    last ? last : json_null());

            } else {
                json_object_set_new(e, "last_message", json_null());
            }

            json_array_append_new(list, e);
        }

        json_object_set_new(obj, "conversations", list);
        json_object_set_new(obj, "has_more",
                            json_boolean(res->nrows > (ngx_uint_t) limit));

        return yd_ok(ctx, obj);
    }
}


/* GET /conversations/:id: details and a page of current members */

static ngx_int_t
ngx_http_youdu_conv_get(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *e;
    int64_t                 offset, limit;
    ngx_int_t               rc;
    ngx_uint_t              i;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        if (yd_page(ctx, &offset, &limit) != NGX_OK) {
            return NGX_DONE;
        }

        c->target = offset;
        c->seq = limit;

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load(ctx, 1, 0);
        if (rc != NGX_OK || yd_conv_require(ctx, c, 1) != NGX_OK) {
            return (rc == NGX_OK) ? NGX_DONE : rc;
        }

        return yd_conv_obj_sql(ctx);

    case 2:
        c->saved = res;

        return yd_sql(ctx,
            "SELECT m.user_id, u.name, m.role FROM conversation_members m "
            "JOIN users u ON u.id = m.user_id "
            "WHERE m.conv_id = ? AND m.left_at IS NULL "
            "ORDER BY m.role DESC, m.user_id LIMIT ? OFFSET ?",
            "iii", c->conv_id, c->seq, c->target);

    default:
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
                json_decref(obj);
                json_decref(list);
                return NGX_ERROR;
            }

            json_object_set_new(e, "user_id", yd_json_cell_int(res, i, 0));
            json_object_set_new(e, "name", yd_json_cell(res, i, 1));
            json_object_set_new(e, "role", yd_json_cell_int(res, i, 2));
            json_array_append_new(list, e);
        }

        json_object_set_new(obj, "conversation", yd_conv_obj(c->saved, 0));
        json_object_set_new(obj, "members", list);
        json_object_set_new(obj, "offset", json_integer(c->target));
        json_object_set_new(obj, "limit", json_integer(c->seq));

        return yd_ok(ctx, obj);
    }
}


/* load + membership + (optionally) the manager role: NGX_OK to go on */

ngx_int_t
yd_conv_load_check(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t manager)
{
    ngx_int_t  rc;

    rc = yd_conv_load(ctx, 1, 0);
    if (rc != NGX_OK) {
        return rc;
    }

    if (yd_conv_require(ctx, c, 1) != NGX_OK) {
        return NGX_DONE;
    }

    if (manager && !yd_conv_manager(c)) {
        return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                        c->kind == YD_CONV_DIRECT
                        ? "a direct conversation cannot be changed"
                        : "only the owner%s may do this",
                        c->kind == YD_CONV_GROUP ? " and admins" : "");
    }

    return NGX_OK;
}


/* PATCH /conversations/:id {"name"} */

static ngx_int_t
yd_conv_rename_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    if (step == 0) {
        return yd_sql(ctx, "UPDATE conversations SET name = ? WHERE id = ?",
                      "si", &c->name, c->conv_id);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_conv_patch(ngx_http_youdu_ctx_t *ctx)
{
    json_t      *extra;
    ngx_int_t    rc;
    ngx_uint_t   present;
    yd_conv_t   *c;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_conv_load(ctx, 0, 0);

    default:
        rc = yd_conv_load_check(ctx, c, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        /* a group needs a name; an ad hoc chat may have none */
        if (yd_json_str(ctx, ctx->body, "name", c->kind == YD_CONV_GROUP, 64,
                        &c->name, &present) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (!present) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                            "field \"name\" is required");
        }

        extra = json_object();
        if (extra == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(extra, "name", yd_jstr(&c->name));

        if (yd_conv_system_body(ctx, "renamed", extra) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_conv_start(ctx, NULL, yd_conv_rename_write, NGX_HTTP_OK, 1);
    }
}


/* PUT /conversations/:id/settings {"muted"?, "pinned"?} (the caller's) */

static ngx_int_t
ngx_http_youdu_conv_settings(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *ev;
    ngx_int_t               rc;
    ngx_uint_t              muted, pinned, has_muted, has_pinned;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK
            || yd_json_bool(ctx, ctx->body, "muted", 0, &muted, &has_muted)
               != NGX_OK
            || yd_json_bool(ctx, ctx->body, "pinned", 0, &pinned, &has_pinned)
               != NGX_OK)
        {
            return NGX_DONE;
        }

        if (!has_muted && !has_pinned) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                            "\"muted\" or \"pinned\" is required");
        }

        /* 2: unchanged */
        c->flag = has_muted ? muted : 2;
        c->target = has_pinned ? (int64_t) pinned : 2;

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load_check(ctx, c, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx,
            "UPDATE conversation_members SET muted = IF(? = 2, muted, ?), "
            "pinned = IF(? = 2, pinned, ?) WHERE conv_id = ? AND user_id = ?",
            "iiiiii", (int64_t) c->flag, (int64_t) c->flag, c->target,
            c->target, c->conv_id, ctx->me.uid);

    case 2:
        /* the user's other devices re-sort their lists (best effort: a
         * device that misses it reads the list when it reconnects) */
        ev = json_pack("{s:s,s:I}", "type", "conv_settings",
                       "conv_id", (json_int_t) c->conv_id);
        if (ev != NULL && c->flag != 2) {
            json_object_set_new(ev, "muted", json_boolean(c->flag));
        }
        if (ev != NULL && c->target != 2) {
            json_object_set_new(ev, "pinned", json_boolean(c->target));
        }

        if (yd_cgi_push(ctx, "conv_settings", &ctx->me.uid, 1, ev)
            == NGX_AGAIN)
        {
            return NGX_AGAIN;
        }

        ctx->stage = 3;
        /* fall through */

    case 3:
        return yd_conv_obj_sql(ctx);

    default:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "conversation", yd_conv_obj(res, 0));

        return yd_ok(ctx, obj);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_conv_routes[] = {
    { NGX_HTTP_POST, "/conversations", ngx_http_youdu_conv_create,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/conversations", ngx_http_youdu_conv_list,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/conversations/:id", ngx_http_youdu_conv_get,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_PATCH, "/conversations/:id", ngx_http_youdu_conv_patch,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_DELETE, "/conversations/:id", ngx_http_youdu_conv_dissolve,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_POST, "/conversations/:id/members",
      ngx_http_youdu_conv_add_members, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_DELETE, "/conversations/:id/members/:uid",
      ngx_http_youdu_conv_remove_member, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_POST, "/conversations/:id/admins",
      ngx_http_youdu_conv_add_admin, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_DELETE, "/conversations/:id/admins/:uid",
      ngx_http_youdu_conv_remove_admin, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_PUT, "/conversations/:id/settings",
      ngx_http_youdu_conv_settings, YD_AUTH_USER, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
