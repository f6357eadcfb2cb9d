
/*
 * youdu: /cgi/session/... (PROTOCOL.md 4.8): sessions are our ad hoc
 * multi-person conversations (kind 2); the creator is the owner.  A change
 * is made as the user the app names (creator, opUser), through the same
 * path as his own REST calls (session/send: ngx_http_youdu_cgi_send.c).
 */


#include "ngx_http_youdu_cgi_group.h"


static const char  *yd_cgi_sid_keys[] = { "sessionId", NULL };


/* the reply of create, get and update: the session object */

static ngx_int_t
yd_cgi_session_obj_sql(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c)
{
    return yd_sql(ctx,
        "SELECT c.name, IFNULL(ou.account, ''), c.last_seq, u.account "
        "FROM conversations c LEFT JOIN users ou ON ou.id = c.owner_id "
        "LEFT JOIN conversation_members m ON m.conv_id = c.id "
        "AND m.left_at IS NULL LEFT JOIN users u ON u.id = m.user_id "
        "WHERE c.id = ? ORDER BY m.role DESC, m.user_id", "i", c->conv_id);
}


static ngx_int_t
yd_cgi_session_obj(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c)
{
    u_char                  buf[NGX_INT64_LEN];
    json_t                 *data, *member;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (res->nrows == 0) {
        return NGX_ERROR;
    }

    data = json_object();
    member = json_array();
    if (data == NULL || member == NULL) {
        json_decref(data);
        json_decref(member);
        return NGX_ERROR;
    }

    for (i = 0; i < res->nrows; i++) {
        if (yd_cell(res, i, 3)->data) {
            json_array_append_new(member, yd_json_cell(res, i, 3));
        }
    }

    json_object_set_new(data, "sessionId",
        json_stringn((char *) buf, ngx_sprintf(buf, "%L", c->conv_id) - buf));
    json_object_set_new(data, "title", yd_json_cell(res, 0, 0));
    json_object_set_new(data, "owner", yd_json_cell(res, 0, 1));
    /* every change appends an event: the seq is the version */
    json_object_set_new(data, "version", yd_json_cell_int(res, 0, 2));
    json_object_set_new(data, "type", json_string("multi"));
    json_object_set_new(data, "member", member);

    return yd_cgi_ok(ctx, data);
}


static ngx_int_t
yd_cgi_session_done(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    yd_cgi_grp_t  *g = c->in;

    if (g->done_step++ == 0) {
        return yd_cgi_session_obj_sql(ctx, c);
    }

    return yd_cgi_session_obj(ctx, c);
}


/*
 * the users of g->list (a JSON array of accounts): rows (n, account, id,
 * name, current member of c->conv_id), in the order of the list
 */

static ngx_int_t
yd_cgi_session_users_sql(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c)
{
    yd_cgi_grp_t  *g = c->in;

    return yd_sql(ctx,
        "SELECT j.n, j.a, u.id, u.name, "
        "m.user_id IS NOT NULL AND m.left_at IS NULL, IFNULL(m.role, 0) "
        "FROM JSON_TABLE(?, '$[*]' COLUMNS (n FOR ORDINALITY, "
        "a VARCHAR(255) PATH '$')) j "
        "LEFT JOIN users u ON u.account = j.a AND u.enable_state = 1 "
        "LEFT JOIN conversation_members m ON m.conv_id = ? "
        "AND m.user_id = u.id ORDER BY j.n", "si", &g->list, c->conv_id);
}


/* the first row is the actor: he becomes ctx->me */

static ngx_int_t
yd_cgi_session_actor(ngx_http_youdu_ctx_t *ctx, const char *key)
{
    static ngx_str_t        none = ngx_string("");
    ngx_youdu_db_result_t  *res = ctx->res;

    if (res->nrows == 0 || yd_cell(res, 0, 2)->data == NULL) {
        yd_cgi_fail(ctx, YD_CGI_ACCOUNT_NOTEXIST,
                    "\"%s\": no enabled user with account \"%V\"", key,
                    res->nrows ? yd_cell(res, 0, 1) : &none);
        return NGX_DONE;
    }

    ctx->me.uid = yd_int(res, 0, 2);
    ctx->me.name = *yd_cell(res, 0, 3);
    ctx->me.account = *yd_cell(res, 0, 1);

    return NGX_OK;
}


/* the user ids of rows [from, to), each once, except the actor; an
 * unknown account is 500007 */

static ngx_int_t
yd_cgi_session_ids(ngx_http_youdu_ctx_t *ctx, ngx_uint_t from, ngx_uint_t to,
    int64_t **ids, ngx_uint_t *n)
{
    int64_t                 uid;
    ngx_uint_t              i, j;
    ngx_youdu_db_result_t  *res = ctx->res;

    *ids = ngx_palloc(ctx->pool, (to - from + 1) * sizeof(int64_t));
    if (*ids == NULL) {
        return NGX_ERROR;
    }

    *n = 0;

    for (i = from; i < to; i++) {
        if (yd_cell(res, i, 2)->data == NULL) {
            yd_cgi_fail(ctx, YD_CGI_INVALID_GROUP_USERID,
                        "no enabled user with account \"%V\"",
                        yd_cell(res, i, 1));
            return NGX_DONE;
        }

        uid = yd_int(res, i, 2);

        for (j = 0; j < *n && (*ids)[j] != uid; j++) { /* void */ }

        if (j == *n && uid != ctx->me.uid) {
            (*ids)[(*n)++] = uid;
        }
    }

    return NGX_OK;
}


/* an actor account first, then the accounts of a payload array */

static ngx_int_t
yd_cgi_session_list(ngx_http_youdu_ctx_t *ctx, yd_cgi_grp_t *g,
    const char *actor_key, const char **keys, ngx_uint_t *counts)
{
    json_t     *list;
    ngx_int_t   rc;
    ngx_str_t   actor;

    rc = yd_cgi_str(ctx, actor_key, &actor);

    if (rc != NGX_OK) {
        return yd_cgi_fail(ctx, rc == NGX_DECLINED
                                ? YD_CGI_MISS_USERID
                                : YD_CGI_INVALID_FORMAT_USERID,
                           "\"%s\" must be the account of a user",
                           actor_key);
    }

    list = json_array();
    if (list == NULL) {
        return NGX_ERROR;
    }

    json_array_append_new(list, json_stringn((char *) actor.data,
                                             actor.len));
    rc = NGX_OK;

    for ( /* void */ ; *keys && rc == NGX_OK; keys++, counts++) {
        rc = yd_cgi_accounts(ctx, *keys, list, counts);
    }

    if (rc == NGX_OK) {
        g->nlist = json_array_size(list);
        rc = yd_cgi_json_text(ctx, list, &g->list);
    }

    json_decref(list);

    return rc;
}


/*
 * POST /cgi/session/create {"title","creator","type"?,"member":[...]}:
 * at least 3 members counting the creator (added when not listed)
 */

ngx_int_t
ngx_http_youdu_cgi_session_create(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *extra;
    ngx_int_t               rc;
    ngx_str_t               type;
    ngx_uint_t              nmember;
    yd_conv_t              *c;
    yd_cgi_grp_t           *g;
    static const char      *keys[] = { "member", NULL };

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
        rc = yd_cgi_str(ctx, "type", &type);

        if (rc == NGX_ERROR
            || (rc == NGX_OK
                && (type.len != 5 || ngx_strncmp(type.data, "multi", 5))))
        {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "\"type\" must be \"multi\" (1:1 sessions "
                               "need no creation: send with \"receiver\")");
        }

        if (yd_cgi_name(ctx, "title", YD_CGI_SESSION_TITLE_MAX, 0, &c->name)
            != NGX_OK)
        {
            return NGX_DONE;
        }

        rc = yd_cgi_session_list(ctx, g, "creator", keys, &nmember);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_cgi_session_users_sql(ctx, c);

    default:
        if (yd_cgi_session_actor(ctx, "creator") != NGX_OK) {
            return NGX_DONE;
        }

        rc = yd_cgi_session_ids(ctx, 1, ctx->res->nrows, &c->ids, &c->nids);
        if (rc != NGX_OK) {
            return rc;
        }

        if (c->nids + 1 < 3 || c->nids + 1 > YD_MULTI_MAX) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                               "\"member\" must name 3 to %d different "
                               "users, the creator included", YD_MULTI_MAX);
        }

        c->kind = YD_CONV_MULTI;

        extra = json_object();
        if (extra == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(extra, "name", yd_jstr(&c->name));

        if (yd_conv_ids_body(ctx, c, "created", extra) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_cgi_change(ctx, c, "cgi.session.create",
                             yd_conv_create_pre, NULL,
                             yd_cgi_session_done);
    }
}


/* GET /cgi/session/get?sessionId= */

static ngx_int_t
yd_cgi_session_load(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c)
{
    /* session ids are opaque strings: one that is not ours is unknown */
    if (yd_cgi_conv_id(ctx, yd_cgi_sid_keys, YD_CGI_INVALID_REQUEST2,
                       YD_CGI_GROUP_NOTEXIST, &c->conv_id)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    return yd_conv_load_id(ctx);
}


ngx_int_t
ngx_http_youdu_cgi_session_get(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t     *c;
    yd_cgi_grp_t  *g;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    switch (ctx->stage) {

    case 0:
        return yd_cgi_session_load(ctx, c);

    case 1:
        if (yd_cgi_conv_check(ctx, c, YD_CONV_MULTI, "session") != NGX_OK) {
            return NGX_DONE;
        }

        return yd_cgi_session_obj_sql(ctx, c);

    default:
        return yd_cgi_session_obj(ctx, c);
    }
}


/*
 * POST /cgi/session/update {"sessionId","opUser","title"?,"addMember"?,
 * "delMember"?}: opUser must be a member; each change is its own event
 * (renamed, member_added, member_removed) made by him, in that order
 */

static ngx_int_t
yd_cgi_session_next(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step)
{
    json_t        *extra;
    yd_cgi_grp_t  *g = c->in;

    if (g->rename) {
        g->rename = 0;

        extra = json_object();
        if (extra == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(extra, "name", yd_jstr(&c->name));

        if (yd_conv_system_body(ctx, "renamed", extra) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_cgi_change(ctx, c, "cgi.session.update", NULL,
                             yd_cgi_rename_write, yd_cgi_session_next);
    }

    if (g->nadd) {
        c->ids = g->add;
        c->nids = g->nadd;
        g->nadd = 0;

        if (yd_conv_ids_body(ctx, c, "member_added", NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_cgi_change(ctx, c, "cgi.session.update", NULL,
                             yd_conv_add_write, yd_cgi_session_next);
    }

    if (g->ndel) {
        c->ids = g->del;
        c->nids = g->ndel;
        g->ndel = 0;

        if (yd_conv_ids_body(ctx, c, "member_removed", NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_cgi_change(ctx, c, "cgi.session.update", NULL,
                             yd_cgi_remove_write, yd_cgi_session_next);
    }

    /* all done: the session as it is now */
    c->done = yd_cgi_session_done;
    g->done_step = 0;

    return yd_cgi_session_done(ctx, c, 0);
}


ngx_int_t
ngx_http_youdu_cgi_session_update(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                 uid;
    ngx_int_t               rc;
    ngx_str_t               title;
    ngx_uint_t              i, j, k, counts[2];
    yd_conv_t              *c;
    yd_cgi_grp_t           *g;
    ngx_youdu_db_result_t  *res = ctx->res;
    static const char      *keys[] = { "addMember", "delMember", NULL };

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    if (g->done_step) {
        /* nothing changed: the session object is being read */
        return yd_cgi_session_done(ctx, c, 0);
    }

    switch (ctx->stage) {

    case 0:
        return yd_cgi_session_load(ctx, c);

    case 1:
        if (yd_cgi_conv_check(ctx, c, YD_CONV_MULTI, "session") != NGX_OK) {
            return NGX_DONE;
        }

        if (yd_cgi_name(ctx, "title", YD_CGI_SESSION_TITLE_MAX, 0, &title)
            != NGX_OK)
        {
            return NGX_DONE;
        }

        if (title.len) {
            g->rename = 1;
            c->name = title;
        }

        rc = yd_cgi_session_list(ctx, g, "opUser", keys, counts);
        if (rc != NGX_OK) {
            return rc;
        }

        /* rows 1 .. counts[0] are added, the rest removed */
        g->nadd = counts[0];

        return yd_cgi_session_users_sql(ctx, c);

    default:
        if (yd_cgi_session_actor(ctx, "opUser") != NGX_OK) {
            return NGX_DONE;
        }

        if (!yd_int(res, 0, 4)) {
            return yd_cgi_fail(ctx, YD_CGI_GROUP_ACCESS_ERROR,
                               "\"opUser\" \"%V\" is not a member of the "
                               "session", &ctx->me.account);
        }

        k = g->nadd + 1;

        rc = yd_cgi_session_ids(ctx, 1, k, &g->add, &g->nadd);
        if (rc == NGX_OK) {
            rc = yd_cgi_session_ids(ctx, k, res->nrows, &g->del, &g->ndel);
        }

        if (rc != NGX_OK) {
            return rc;
        }

        /* members stay, non-members need no removal; the owner stays */
        for (i = 0, j = 0; i < g->nadd; i++) {
            for (k = 1; k < res->nrows && yd_int(res, k, 2) != g->add[i];
                 k++)
            { /* void */ }

            if (!yd_int(res, k, 4)) {
                g->add[j++] = g->add[i];
            }
        }

        g->nadd = j;

        for (i = 0, j = 0; i < g->ndel; i++) {
            uid = g->del[i];

            for (k = 1; k < res->nrows && yd_int(res, k, 2) != uid; k++) {
                /* void */
            }

            if (yd_int(res, k, 5) == YD_MEMBER_OWNER) {
                return yd_cgi_fail(ctx, YD_CGI_GROUP_ACCESS_ERROR,
                                   "\"%V\" owns the session and cannot be "
                                   "removed", yd_cell(res, k, 1));
            }

            if (yd_int(res, k, 4)) {
                g->del[j++] = uid;
            }
        }

        g->ndel = j;

        if (c->member_count + (int64_t) g->nadd > YD_MULTI_MAX) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                               "a session has at most %d members",
                               YD_MULTI_MAX);
        }

        return yd_cgi_session_next(ctx, c, 0);
    }
}
