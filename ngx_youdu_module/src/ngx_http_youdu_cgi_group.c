
/*
 * youdu: /cgi/group/... (PROTOCOL.md 4.7): groups are our conversations of
 * kind 3.  A group an app creates has no owner: it is managed through the
 * API (members may leave it; nobody can dissolve it from a client).  Group
 * ids are the conversation ids as decimal strings.
 */


#include "ngx_http_youdu_cgi_group.h"


static const char  *yd_cgi_gid_keys[] = { "id", "groupId", NULL };


/* POST /cgi/group/create {"name"} -> {"id"} */

static ngx_int_t
yd_cgi_group_insert(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    if (step == 0) {
        return yd_sql(ctx,
            "INSERT INTO conversations (kind, name, owner_id, member_count, "
            "created_at, last_msg_at) VALUES (3, ?, NULL, 0, "
            "UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", "s", &c->name);
    }

    if (step == 1) {
        c->conv_id = ctx->res->insert_id;
    }

    return NGX_OK;
}


static ngx_int_t
yd_cgi_group_created(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step)
{
    u_char   buf[NGX_INT64_LEN];
    json_t  *data;

    /* only strings: go-packagist/youdu reads it into map[string]string */
    data = json_object();
    if (data == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(data, "id",
        json_stringn((char *) buf, ngx_sprintf(buf, "%L", c->conv_id) - buf));

    return yd_cgi_ok(ctx, data);
}


static ngx_int_t
ngx_http_youdu_cgi_group_create(ngx_http_youdu_ctx_t *ctx)
{
    json_t        *extra;
    yd_conv_t     *c;
    yd_cgi_grp_t  *g;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    if (yd_cgi_name(ctx, "name", YD_CGI_GROUP_NAME_MAX, 1, &c->name)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    c->kind = YD_CONV_GROUP;
    c->nids = 0;

    extra = json_object();
    if (extra == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(extra, "name", yd_jstr(&c->name));

    if (yd_conv_ids_body(ctx, c, "created", extra) != NGX_OK) {
        return NGX_ERROR;
    }

    return yd_cgi_change(ctx, c, "cgi.group.create", yd_cgi_group_insert,
                         NULL, yd_cgi_group_created);
}


/* the group of "id" (or "groupId"): stage 0 starts the load, then
 * yd_cgi_conv_check() */

static ngx_int_t
yd_cgi_group_load(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c)
{
    if (yd_cgi_conv_id(ctx, yd_cgi_gid_keys, YD_CGI_MISS_GROUPID,
                       YD_CGI_INVALID_FORMAT_GROUPID, &c->conv_id)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    return yd_conv_load_id(ctx);
}


/* GET /cgi/group/delete?id= (also ?groupId=, or {"id"} in an envelope) */

static ngx_int_t
yd_cgi_group_dissolve_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step)
{
    if (step == 0) {
        return yd_sql(ctx,
            "UPDATE conversations SET dissolved_at = UTC_TIMESTAMP(3) "
            "WHERE id = ?", "i", c->conv_id);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_cgi_group_delete(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t     *c;
    yd_cgi_grp_t  *g;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    if (ctx->stage == 0) {
        return yd_cgi_group_load(ctx, c);
    }

    if (yd_cgi_conv_check(ctx, c, YD_CONV_GROUP, "group") != NGX_OK) {
        return NGX_DONE;
    }

    if (yd_conv_system_body(ctx, "dissolved", NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    return yd_cgi_change(ctx, c, "cgi.group.delete", NULL,
                         yd_cgi_group_dissolve_write, yd_cgi_done_global);
}


/* POST /cgi/group/update {"id","name"} */

static ngx_int_t
ngx_http_youdu_cgi_group_update(ngx_http_youdu_ctx_t *ctx)
{
    json_t        *extra;
    ngx_str_t      name;
    yd_conv_t     *c;
    yd_cgi_grp_t  *g;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    if (yd_cgi_name(ctx, "name", YD_CGI_GROUP_NAME_MAX, 1, &name) != NGX_OK) {
        return NGX_DONE;
    }

    if (ctx->stage == 0) {
        return yd_cgi_group_load(ctx, c);
    }

    if (yd_cgi_conv_check(ctx, c, YD_CONV_GROUP, "group") != NGX_OK) {
        return NGX_DONE;
    }

    c->name = name;

    extra = json_object();
    if (extra == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(extra, "name", yd_jstr(&c->name));

    if (yd_conv_system_body(ctx, "renamed", extra) != NGX_OK) {
        return NGX_ERROR;
    }

    return yd_cgi_change(ctx, c, "cgi.group.update", NULL,
                         yd_cgi_rename_write, yd_cgi_done_global);
}


/* GET /cgi/group/info?id= -> {"id","name","members":[...],...} */

static ngx_int_t
ngx_http_youdu_cgi_group_info(ngx_http_youdu_ctx_t *ctx)
{
    u_char                  buf[NGX_INT64_LEN];
    json_t                 *data, *members, *admins, *m;
    int64_t                 master;
    ngx_uint_t              i;
    yd_conv_t              *c;
    yd_cgi_grp_t           *g;
    ngx_youdu_db_result_t  *res = ctx->res;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    switch (ctx->stage) {

    case 0:
        return yd_cgi_group_load(ctx, c);

    case 1:
        if (yd_cgi_conv_check(ctx, c, YD_CONV_GROUP, "group") != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "SELECT u.account, u.name, IFNULL(u.mobile, ''), m.role, u.id "
            "FROM conversation_members m JOIN users u ON u.id = m.user_id "
            "WHERE m.conv_id = ? AND m.left_at IS NULL "
            "ORDER BY m.role DESC, m.user_id", "i", c->conv_id);

    default:
        data = json_object();
        members = json_array();
        admins = json_array();
        if (data == NULL || members == NULL || admins == NULL) {
            json_decref(data);
            json_decref(members);
            json_decref(admins);
            return NGX_ERROR;
        }

        master = 0;

        for (i = 0; i < res->nrows; i++) {
            m = json_object();
            if (m == NULL) {
                continue;
            }

            json_object_set_new(m, "account", yd_json_cell(res, i, 0));
            json_object_set_new(m, "name", yd_json_cell(res, i, 1));
            json_object_set_new(m, "mobile", yd_json_cell(res, i, 2));
            json_array_append_new(members, m);

            if (yd_int(res, i, 3) == YD_MEMBER_OWNER) {
                master = yd_int(res, i, 4);
            }

            if (yd_int(res, i, 3) >= YD_MEMBER_ADMIN) {
                json_array_append_new(admins, yd_json_cell(res, i, 0));
            }
        }

        json_object_set_new(data, "id",
            json_stringn((char *) buf,
                         ngx_sprintf(buf, "%L", c->conv_id) - buf));
        json_object_set_new(data, "name", yd_jstr(&c->name));
        json_object_set_new(data, "members", members);
        json_object_set_new(data, "admins", admins);
        /* the owner's gid, 0: an app's group has none */
        json_object_set_new(data, "master", json_integer(master));
        json_object_set_new(data, "isDeptGroup", json_false());
        json_object_set_new(data, "belongDeptId", json_integer(0));
        json_object_set_new(data, "version", json_integer(c->last_seq));

        return yd_cgi_ok(ctx, data);
    }
}


/* GET /cgi/group/list[?userId=] -> {"groupList":[{"id","name",...}]} */

static ngx_int_t
ngx_http_youdu_cgi_group_list(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *data, *list, *e;
    ngx_int_t               rc;
    ngx_str_t               account;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        rc = yd_cgi_str(ctx, "userId", &account);

        if (rc == NGX_ERROR) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERID,
                               "\"userId\" must be an account string");
        }

        if (rc == NGX_DECLINED) {
            ctx->stage = 1;
            return yd_sql(ctx,
                "SELECT id, name, last_seq FROM conversations "
                "WHERE kind = 3 AND dissolved_at IS NULL ORDER BY id", "");
        }

        ctx->data = yd_pstr(ctx->pool, "");
        if (ctx->data == NULL) {
            return NGX_ERROR;
        }

        *(ngx_str_t *) ctx->data = account;

        return yd_sql(ctx, "SELECT id FROM users WHERE account = ?", "s",
                      &account);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_GROUP_USERID,
                               "no user with account \"%V\"",
                               (ngx_str_t *) ctx->data);
        }

        return yd_sql(ctx,
            "SELECT c.id, c.name, c.last_seq FROM conversation_members m "
            "JOIN conversations c ON c.id = m.conv_id "
            "WHERE m.user_id = ? AND m.left_at IS NULL AND c.kind = 3 "
            "AND c.dissolved_at IS NULL ORDER BY c.id", "i",
            yd_int(res, 0, 0));

    default:
        data = json_object();
        list = json_array();
        if (data == NULL || list == NULL) {
            json_decref(data);
            json_decref(list);
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            e = json_object();
            if (e == NULL) {
                continue;
            }

            /* the id column as text: a JSON string */
            json_object_set_new(e, "id", yd_json_cell(res, i, 0));
            json_object_set_new(e, "name", yd_json_cell(res, i, 1));
            json_object_set_new(e, "version", yd_json_cell_int(res, i, 2));
            json_object_set_new(e, "isDeptGroup", json_false());
            json_object_set_new(e, "belongDeptId", json_integer(0));
            json_array_append_new(list, e);
        }

        json_object_set_new(data, "groupList", list);

        return yd_cgi_ok(ctx, data);
    }
}


/*
 * POST /cgi/group/addmember, /cgi/group/delmember {"id","userList"}:
 * every account must exist (500007); members already in (or already out)
 * are left alone; nothing to do is a success without an event
 */

static ngx_int_t
yd_cgi_group_members(ngx_http_youdu_ctx_t *ctx, ngx_uint_t add)
{
    json_t                 *list;
    int64_t                 uid;
    ngx_int_t               rc;
    ngx_uint_t              i, j, n, current;
    yd_conv_t              *c;
    yd_cgi_grp_t           *g;
    ngx_youdu_db_result_t  *res = ctx->res;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    switch (ctx->stage) {

    case 0:
        list = json_array();
        if (list == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_accounts(ctx, "userList", list, &n);

        if (rc == NGX_OK && n == 0) {
            rc = yd_cgi_fail(ctx, YD_CGI_MISS_USERLIST,
                             "\"userList\" is missing or empty");
        }

        if (rc == NGX_OK) {
            rc = yd_cgi_json_text(ctx, list, &g->list);
        }

        json_decref(list);

        if (rc != NGX_OK) {
            return rc;
        }

        return yd_cgi_group_load(ctx, c);

    case 1:
        if (yd_cgi_conv_check(ctx, c, YD_CONV_GROUP, "group") != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "SELECT j.a, u.id, m.user_id IS NOT NULL AND m.left_at IS NULL, "
            "IFNULL(m.role, 0) FROM JSON_TABLE(?, '$[*]' COLUMNS ("
            "a VARCHAR(255) PATH '$')) j "
            "LEFT JOIN users u ON u.account = j.a AND u.enable_state = 1 "
            "LEFT JOIN conversation_members m ON m.conv_id = ? "
            "AND m.user_id = u.id", "si", &g->list, c->conv_id);

    default:
        c->ids = ngx_palloc(ctx->pool, (res->nrows + 1) * sizeof(int64_t));
        if (c->ids == NULL) {
            return NGX_ERROR;
        }

        c->nids = 0;

        for (i = 0; i < res->nrows; i++) {
            if (yd_cell(res, i, 1)->data == NULL) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_GROUP_USERID,
                                   "no enabled user with account \"%V\"",
                                   yd_cell(res, i, 0));
            }

            uid = yd_int(res, i, 1);
            current = yd_int(res, i, 2);

            if (!add && current && yd_int(res, i, 3) == YD_MEMBER_OWNER) {
                return yd_cgi_fail(ctx, YD_CGI_GROUP_ACCESS_ERROR,
                                   "\"%V\" owns the group and cannot be "
                                   "removed", yd_cell(res, i, 0));
            }

            if ((add && current) || (!add && !current)) {
                continue;
            }

            for (j = 0; j < c->nids && c->ids[j] != uid; j++) { /* void */ }

            if (j == c->nids) {
                c->ids[c->nids++] = uid;
            }
        }

        if (c->nids == 0) {
            return yd_cgi_ok(ctx, NULL);
        }

        if (add && c->member_count + (int64_t) c->nids > YD_GROUP_MAX) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_GROUP_USERID,
                               "a group has at most %d members",
                               YD_GROUP_MAX);
        }

        if (yd_conv_ids_body(ctx, c, add ? "member_added" : "member_removed",
                             NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return yd_cgi_change(ctx, c,
                             add ? "cgi.group.addmember"
                                 : "cgi.group.delmember",
                             NULL,
                             add ? yd_conv_add_write : yd_cgi_remove_write,
                             yd_cgi_done_global);
    }
}


static ngx_int_t
ngx_http_youdu_cgi_group_addmember(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_group_members(ctx, 1);
}


static ngx_int_t
ngx_http_youdu_cgi_group_delmember(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_group_members(ctx, 0);
}


/* GET /cgi/group/ismember?id=&userId= -> {"belong":bool} */

static ngx_int_t
ngx_http_youdu_cgi_group_ismember(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *data;
    ngx_int_t               rc;
    yd_conv_t              *c;
    yd_cgi_grp_t           *g;
    ngx_youdu_db_result_t  *res = ctx->res;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    switch (ctx->stage) {

    case 0:
        rc = yd_cgi_str(ctx, "userId", &g->sender);

        if (rc != NGX_OK) {
            return yd_cgi_fail(ctx, rc == NGX_DECLINED
                                    ? YD_CGI_MISS_USERID
                                    : YD_CGI_INVALID_FORMAT_USERID,
                               "\"userId\" must be an account");
        }

        return yd_cgi_group_load(ctx, c);

    case 1:
        if (yd_cgi_conv_check(ctx, c, YD_CONV_GROUP, "group") != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "SELECT m.user_id IS NOT NULL AND m.left_at IS NULL "
            "FROM users u LEFT JOIN conversation_members m "
            "ON m.conv_id = ? AND m.user_id = u.id WHERE u.account = ?",
            "is", c->conv_id, &g->sender);

    default:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_GROUP_USERID,
                               "no user with account \"%V\"", &g->sender);
        }

        data = json_object();
        if (data == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(data, "belong", json_boolean(yd_int(res, 0, 0)));

        return yd_cgi_ok(ctx, data);
    }
}


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_group_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/create",
        ngx_http_youdu_cgi_group_create, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/delete",
        ngx_http_youdu_cgi_group_delete, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/update",
        ngx_http_youdu_cgi_group_update, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/info",
        ngx_http_youdu_cgi_group_info, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/list",
        ngx_http_youdu_cgi_group_list, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/addmember",
        ngx_http_youdu_cgi_group_addmember, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/delmember",
        ngx_http_youdu_cgi_group_delmember, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/group/ismember",
        ngx_http_youdu_cgi_group_ismember, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/session/create",
        ngx_http_youdu_cgi_session_create, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/session/get",
        ngx_http_youdu_cgi_session_get, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/session/update",
        ngx_http_youdu_cgi_session_update, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/session/send",
        ngx_http_youdu_cgi_session_send, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_GROUP },

    /* single sign-on: no app, no crypto */
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/identify",
        ngx_http_youdu_cgi_identify, YD_AUTH_NONE, 0, YD_CGI_NO_APP },
      YD_CGI_ENV_NONE, 0 },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};
