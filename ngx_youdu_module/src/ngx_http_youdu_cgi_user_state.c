
/*
 * youdu: /cgi account state (PROTOCOL.md 4.5 items 11, 12, 14, 17):
 * setauth, extend/update, enable/stateupdate and resignation.
 *
 * Quit: the account is disabled (enable_state -1, its sessions fail at
 * once and its push connections are kicked), its memberships move to
 * user_quit_depts so it leaves the org chart and every listing, and the
 * row stays with its messages, files and attributes.  Restore enables it
 * and puts the memberships back (those whose department still exists;
 * the root when none does).
 */


#include "ngx_http_youdu_cgi_org.h"


typedef struct {
    yd_cgi_org_w_t            w;         /* first: ctx->data is both */
    ngx_str_t                 account;
    ngx_array_t              *names;
    ngx_youdu_db_param_t     *ids;
    ngx_uint_t                nids;
    int64_t                   id;
    int64_t                   state;
    int64_t                   auth_type;
    ngx_str_t                 md5;
    int64_t                   flag;
    unsigned                  has_auth:1;
    unsigned                  has_md5:1;
} yd_cgi_state_t;


static yd_cgi_state_t *yd_cgi_state_new(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_writes_pt writes, const char *action);
static ngx_int_t yd_cgi_one_user_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_state_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_quit_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_restore_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static json_t *yd_cgi_restore_reply(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w);
static ngx_int_t yd_cgi_users_changed(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_state_t *st);


static yd_cgi_state_t *
yd_cgi_state_new(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_writes_pt writes,
    const char *action)
{
    yd_cgi_state_t  *st;

    st = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_state_t));
    if (st == NULL) {
        return NULL;
    }

    st->w.writes = writes;
    st->w.action = action;
    ctx->data = st;

    return st;
}


/* org_changes rows for st->ids (the users stay: upserts) */

static ngx_int_t
yd_cgi_users_changed(ngx_http_youdu_ctx_t *ctx, yd_cgi_state_t *st)
{
    ngx_youdu_db_param_t  *pre;

    pre = ngx_pcalloc(ctx->pool, sizeof(ngx_youdu_db_param_t));
    if (pre == NULL) {
        return NGX_ERROR;
    }

    pre[0].value = *yd_int_str(ctx->pool, st->w.version);

    return yd_cgi_org_in(ctx,
        "INSERT INTO org_changes (version, kind, target_id, op) "
        "SELECT ?, 2, id, 1 FROM users WHERE id IN (", ")", pre, 1,
        st->ids, st->nids, 0);
}


/* setauth and extend/update change one column set of one user */

static ngx_int_t
yd_cgi_one_user_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    yd_cgi_state_t         *st = (yd_cgi_state_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "SELECT id FROM users WHERE account = ? AND quit_at IS NULL",
            "s", &st->account);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "user \"%V\" does not exist", &st->account);
        }

        st->id = yd_int(res, 0, 0);
        w->target = st->id;

        if (ngx_strcmp(w->action, "cgi.user.setauth") == 0) {
            /* the MD5 replaces the password: the next login that
             * matches it stores an Argon2id hash again */
            return yd_sql(ctx,
                "UPDATE users SET auth_type = COALESCE(?, auth_type), "
                "password_md5 = IF(? = 1, ?, password_md5), "
                "password_hash = IF(? = 1, NULL, password_hash), "
                "version = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
                "nisiii",
                st->has_auth ? yd_int_str(ctx->pool, st->auth_type) : NULL,
                (int64_t) st->has_md5, &st->md5, (int64_t) st->has_md5,
                w->version, st->id);
        }

        return yd_sql(ctx,
            "UPDATE users SET must_change_password = ?, version = ?, "
            "updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "iii", st->flag, w->version, st->id);

    case 2:
        return yd_org_change(ctx, w->version, YD_ORG_KIND_USER, st->id,
                             YD_ORG_OP_UPSERT);

    default:
        return NGX_OK;
    }
}


/* {"userId","authType"?:0|1|2,"passwd"?:<32 hex digits, MD5>} */

ngx_int_t
ngx_http_youdu_cgi_user_setauth(ngx_http_youdu_ctx_t *ctx)
{
    size_t           i;
    json_t          *v;
    ngx_int_t        rc;
    yd_cgi_state_t  *st = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &st->w);
    }

    st = yd_cgi_state_new(ctx, yd_cgi_one_user_w, "cgi.user.setauth");
    if (st == NULL) {
        return NGX_ERROR;
    }

    if (yd_cgi_org_uid(ctx, "userId", &st->account) != NGX_OK) {
        return NGX_DONE;
    }

    rc = yd_cgi_org_int(ctx, "authType", 0, 2,
                        YD_CGI_INVALID_FORMAT_AUTHTYPE, &st->auth_type);
    if (rc == NGX_DONE) {
        return rc;
    }

    st->has_auth = (rc == NGX_OK);

    v = yd_cgi_field(ctx, "passwd");

    if (v && !json_is_string(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_PASSWORD,
                           "passwd must be a string");
    }

    if (v && json_string_length(v)) {
        st->md5.len = json_string_length(v);
        st->md5.data = ngx_pnalloc(ctx->pool, st->md5.len);
        if (st->md5.data == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(st->md5.data, (u_char *) json_string_value(v),
                   st->md5.len);

        for (i = 0; i < st->md5.len; i++) {
            if (!ngx_strchr("0123456789abcdef", st->md5.data[i])) {
                break;
            }
        }

        if (st->md5.len != 32 || i != 32) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_PASSWORD,
                               "passwd must be the MD5 of the password as "
                               "32 hexadecimal digits");
        }

        st->has_md5 = 1;

    } else {
        ngx_str_set(&st->md5, "");
    }

    if (!st->has_auth && !st->has_md5) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "send authType, passwd or both");
    }

    /* never the password's MD5 in the audit log */
    st->w.detail = json_pack("{s:s%,s:b}", "userId", st->account.data,
                             st->account.len, "passwd",
                             (int) st->has_md5);
    if (st->has_auth && st->w.detail) {
        json_object_set_new(st->w.detail, "authType",
                            json_integer(st->auth_type));
    }

    return yd_cgi_org_run(ctx, &st->w);
}


/* {"userId","key":"needchangepwd","value":"0"|"1"} */

ngx_int_t
ngx_http_youdu_cgi_user_extend(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t        rc;
    ngx_str_t        key;
    yd_cgi_state_t  *st = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &st->w);
    }

    st = yd_cgi_state_new(ctx, yd_cgi_one_user_w, "cgi.user.extend");
    if (st == NULL) {
        return NGX_ERROR;
    }

    if (yd_cgi_org_uid(ctx, "userId", &st->account) != NGX_OK) {
        return NGX_DONE;
    }

    rc = yd_cgi_org_str(ctx, "key", 32, YD_CGI_INVALID_REQUEST2,
                        YD_CGI_INVALID_REQUEST2, &key);
    if (rc == NGX_DONE) {
        return rc;
    }

    if (rc != NGX_OK || key.len != 13
        || ngx_strncasecmp(key.data, (u_char *) "needchangepwd", 13) != 0)
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "key must be \"needchangepwd\"");
    }

    rc = yd_cgi_org_int(ctx, "value", 0, 1, YD_CGI_INVALID_REQUEST2,
                        &st->flag);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "value must be \"0\" or \"1\"");
    }

    if (rc != NGX_OK) {
        return rc;
    }

    st->w.detail = json_pack("{s:s%,s:I}", "userId", st->account.data,
                             st->account.len, "needchangepwd",
                             (json_int_t) st->flag);

    return yd_cgi_org_run(ctx, &st->w);
}


/* {"userIdList":[...],"enableState":-1|0|1}; anything but 1 shuts the
 * users out at once */

ngx_int_t
ngx_http_youdu_cgi_user_enable_update(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t        rc;
    yd_cgi_state_t  *st = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &st->w);
    }

    st = yd_cgi_state_new(ctx, yd_cgi_state_w, "cgi.user.enable");
    if (st == NULL) {
        return NGX_ERROR;
    }

    rc = yd_cgi_org_uid_list(ctx, "userIdList", YD_CGI_MAX_USERLIST,
                             &st->names);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = yd_cgi_org_int(ctx, "enableState", -1, 1,
                        YD_CGI_INVALID_FORMAT_USER, &st->state);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USER,
                           "enableState is missing (-1 disabled, 0 not "
                           "activated, 1 enabled)");
    }

    if (rc != NGX_OK) {
        return rc;
    }

    st->w.detail = json_deep_copy(ctx->cgi->data);

    return yd_cgi_org_run(ctx, &st->w);
}


static ngx_int_t
yd_cgi_state_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    ngx_uint_t              i, supers;
    yd_cgi_state_t         *st = (yd_cgi_state_t *) w;
    ngx_youdu_db_param_t   *pre;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_cgi_org_in(ctx,
            "SELECT id, account, role = 2 AND enable_state = 1, "
            YD_CGI_SUPERS_SQL " FROM users "
            "WHERE quit_at IS NULL AND account IN (", ")", NULL, 0,
            yd_cgi_org_str_params(ctx->pool, st->names), st->names->nelts,
            0);

    case 1:
        if (yd_cgi_org_all_found(ctx, st->names, res) != NGX_OK) {
            return NGX_DONE;
        }

        if (st->state != 1) {
            supers = 0;

            for (i = 0; i < res->nrows; i++) {
                supers += yd_int(res, i, 2);
            }

            if (supers && (int64_t) supers >= yd_int(res, 0, 3)) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_USERID,
                                   "the last super admin stays enabled");
            }

            if (yd_cgi_org_recheck_rows(ctx, w, res) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        st->ids = yd_cgi_org_col_params(ctx->pool, res, 0);
        st->nids = res->nrows;
        pre = ngx_pcalloc(ctx->pool, 2 * sizeof(ngx_youdu_db_param_t));
        if (st->ids == NULL || pre == NULL) {
            return NGX_ERROR;
        }

        w->target = yd_int(res, 0, 0);
        pre[0].value = *yd_int_str(ctx->pool, st->state);
        pre[1].value = *yd_int_str(ctx->pool, w->version);

        return yd_cgi_org_in(ctx,
            "UPDATE users SET enable_state = ?, version = ?, "
            "updated_at = UTC_TIMESTAMP() WHERE id IN (", ")", pre, 2,
            st->ids, st->nids, 0);

    case 2:
        return yd_cgi_users_changed(ctx, st);

    default:
        return NGX_OK;
    }
}


/* {"accList":[...]}: users already gone are skipped */

ngx_int_t
ngx_http_youdu_cgi_user_quit(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t        rc;
    yd_cgi_state_t  *st = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &st->w);
    }

    st = yd_cgi_state_new(ctx, yd_cgi_quit_w, "cgi.user.quit");
    if (st == NULL) {
        return NGX_ERROR;
    }

    rc = yd_cgi_org_uid_list(ctx, "accList", YD_CGI_MAX_USERLIST,
                             &st->names);
    if (rc != NGX_OK) {
        return rc;
    }

    st->w.detail = json_deep_copy(ctx->cgi->data);
    st->w.reply = yd_cgi_org_reply_empty;

    return yd_cgi_org_run(ctx, &st->w);
}


static ngx_int_t
yd_cgi_quit_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    ngx_uint_t              i, supers;
    yd_cgi_state_t         *st = (yd_cgi_state_t *) w;
    ngx_youdu_db_param_t   *pre;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_cgi_org_in(ctx,
            "SELECT id, account, role = 2 AND enable_state = 1 "
            "AND quit_at IS NULL, quit_at IS NOT NULL, " YD_CGI_SUPERS_SQL
            " FROM users WHERE account IN (", ") ORDER BY quit_at IS NOT NULL",
            NULL, 0, yd_cgi_org_str_params(ctx->pool, st->names),
            st->names->nelts, 0);

    case 1:
        if (yd_cgi_org_all_found(ctx, st->names, res) != NGX_OK) {
            return NGX_DONE;
        }

        /* rows of users who have not quit come first */
        supers = 0;

        for (i = 0; i < res->nrows && yd_int(res, i, 3) == 0; i++) {
            supers += yd_int(res, i, 2);
        }

        if (supers && (int64_t) supers >= yd_int(res, 0, 4)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_USERID,
                               "the last super admin cannot quit");
        }

        if (i == 0) {
            return NGX_OK;
        }

        res->nrows = i;
        st->ids = yd_cgi_org_col_params(ctx->pool, res, 0);
        st->nids = i;

        if (st->ids == NULL
            || yd_cgi_org_recheck_rows(ctx, w, res) != NGX_OK)
        {
            return NGX_ERROR;
        }

        w->target = yd_int(res, 0, 0);

        return yd_cgi_org_in(ctx,
            "INSERT INTO user_quit_depts (user_id, dept_id, position, "
            "weight, sort_id) SELECT user_id, dept_id, position, weight, "
            "sort_id FROM user_depts WHERE user_id IN (", ")", NULL, 0,
            st->ids, st->nids, 0);

    case 2:
        return yd_cgi_org_in(ctx,
            "DELETE FROM user_depts WHERE user_id IN (", ")", NULL, 0,
            st->ids, st->nids, 0);

    case 3:
        pre = ngx_pcalloc(ctx->pool, sizeof(ngx_youdu_db_param_t));
        if (pre == NULL) {
            return NGX_ERROR;
        }

        pre[0].value = *yd_int_str(ctx->pool, w->version);

        return yd_cgi_org_in(ctx,
            "UPDATE users SET quit_at = UTC_TIMESTAMP(), enable_state = -1, "
            "version = ?, updated_at = UTC_TIMESTAMP() WHERE id IN (", ")",
            pre, 1, st->ids, st->nids, 0);

    case 4:
        return yd_cgi_users_changed(ctx, st);

    default:
        return NGX_OK;
    }
}


/* {"gid":int,"account":str}: either names the user; both must agree */

ngx_int_t
ngx_http_youdu_cgi_user_restore(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t        rc;
    yd_cgi_state_t  *st = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &st->w);
    }

    st = yd_cgi_state_new(ctx, yd_cgi_restore_w, "cgi.user.restore");
    if (st == NULL) {
        return NGX_ERROR;
    }

    rc = yd_cgi_org_int(ctx, "gid", 0, 0x7fffffffffffffffLL,
                        YD_CGI_INVALID_FORMAT_USERID, &st->id);
    if (rc == NGX_DONE) {
        return rc;
    }

    if (rc != NGX_OK) {
        st->id = 0;
    }

    if (yd_cgi_str(ctx, "account", &st->account) == NGX_DECLINED) {
        if (st->id == 0) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_USERID,
                               "send the gid or the account of the user");
        }

        ngx_str_set(&st->account, "");

    } else if (yd_cgi_org_uid(ctx, "account", &st->account) != NGX_OK) {
        return NGX_DONE;
    }

    st->w.detail = json_deep_copy(ctx->cgi->data);
    st->w.reply = yd_cgi_restore_reply;

    return yd_cgi_org_run(ctx, &st->w);
}


static ngx_int_t
yd_cgi_restore_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    yd_cgi_state_t         *st = (yd_cgi_state_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "SELECT id, account FROM users WHERE quit_at IS NOT NULL "
            "AND (id = ? OR ? = 0) AND (account = ? OR ? = '')",
            "iiss", st->id, st->id, &st->account, &st->account);

    case 1:
        if (res->nrows != 1) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "no user who has quit matches gid %L "
                               "account \"%V\"", st->id, &st->account);
        }

        st->id = yd_int(res, 0, 0);
        st->account = *yd_cell(res, 0, 1);
        w->target = st->id;

        return yd_sql(ctx,
            "UPDATE users SET quit_at = NULL, enable_state = 1, "
            "version = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "ii", w->version, st->id);

    case 2:
        return yd_sql(ctx,
            "INSERT INTO user_depts (user_id, dept_id, position, weight, "
            "sort_id) SELECT q.user_id, q.dept_id, q.position, q.weight, "
            "q.sort_id FROM user_quit_depts q "
            "JOIN departments d ON d.id = q.dept_id WHERE q.user_id = ?",
            "i", st->id);

    case 3:
        return yd_sql(ctx,
            "INSERT INTO user_depts (user_id, dept_id) SELECT ?, 0 "
            "FROM DUAL WHERE NOT EXISTS "
            "(SELECT 1 FROM user_depts WHERE user_id = ?)",
            "ii", st->id, st->id);

    case 4:
        return yd_sql(ctx, "DELETE FROM user_quit_depts WHERE user_id = ?",
                      "i", st->id);

    case 5:
        return yd_org_change(ctx, w->version, YD_ORG_KIND_USER, st->id,
                             YD_ORG_OP_UPSERT);

    default:
        return NGX_OK;
    }
}


static json_t *
yd_cgi_restore_reply(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w)
{
    yd_cgi_state_t  *st = (yd_cgi_state_t *) w;

    return json_pack("{s:I,s:s%}", "gid", (json_int_t) st->id, "account",
                     st->account.data, st->account.len);
}


/* {"account":""}: all who quit; else those whose account or name
 * contains it */

ngx_int_t
ngx_http_youdu_cgi_user_quit_search(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *list;
    ngx_int_t               rc;
    ngx_str_t               acc, *like;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        rc = yd_cgi_org_str(ctx, "account", 64, YD_CGI_INVALID_FORMAT_USERID,
                            YD_CGI_OVERLIMIT_USERID, &acc);
        if (rc == NGX_DONE) {
            return rc;
        }

        if (rc == NGX_DECLINED) {
            ngx_str_set(&acc, "");
        }

        like = yd_org_like_escape(ctx->pool, &acc);
        if (like == NULL) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "SELECT id, account, name, gender, IFNULL(mobile, ''), phone, "
            "email, short_code FROM users WHERE quit_at IS NOT NULL "
            "AND (? = '' OR account LIKE CONCAT('%', ?, '%') "
            "OR name LIKE CONCAT('%', ?, '%')) ORDER BY quit_at DESC, id "
            "LIMIT " ngx_value(YD_CGI_MAX_USERLIST),
            "sss", like, like, like);

    default:
        list = json_array();
        if (list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            json_array_append_new(list, json_pack(
                "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                "gid", yd_json_cell_int(res, i, 0),
                "account", yd_json_cell(res, i, 1),
                "chsName", yd_json_cell(res, i, 2),
                "gender", yd_json_cell_int(res, i, 3),
                "mobile", yd_json_cell(res, i, 4),
                "phone", yd_json_cell(res, i, 5),
                "email", yd_json_cell(res, i, 6),
                "shortCode", yd_json_cell(res, i, 7)));
        }

        return yd_cgi_ok(ctx, json_pack("{s:o}", "userList", list));
    }
}
