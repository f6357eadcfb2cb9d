
/*
 * youdu HTTP module: a signed-in user's own account: profile, password,
 * devices and sign-in history.
 */


#include "ngx_http_youdu_module.h"


#define YD_PASSWORD_MIN      8
#define YD_PASSWORD_MAX      128


static ngx_int_t
ngx_http_youdu_me(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx,
            "SELECT id, account, name, gender, IFNULL(mobile, ''), phone, "
            "email, title, role, must_change_password, "
            "yd_iso(password_changed_at) "
            "FROM users WHERE id = ?", "i", ctx->me.uid);

    default:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "user not found");
        }

        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "id", yd_json_cell_int(res, 0, 0));
        json_object_set_new(obj, "account", yd_json_cell(res, 0, 1));
        json_object_set_new(obj, "name", yd_json_cell(res, 0, 2));
        json_object_set_new(obj, "gender", yd_json_cell_int(res, 0, 3));
        json_object_set_new(obj, "mobile", yd_json_cell(res, 0, 4));
        json_object_set_new(obj, "phone", yd_json_cell(res, 0, 5));
        json_object_set_new(obj, "email", yd_json_cell(res, 0, 6));
        json_object_set_new(obj, "title", yd_json_cell(res, 0, 7));
        json_object_set_new(obj, "role", yd_json_cell_int(res, 0, 8));
        json_object_set_new(obj, "must_change_password",
                            json_boolean(yd_int(res, 0, 9)));
        json_object_set_new(obj, "password_changed_at",
                            yd_json_cell(res, 0, 10));
        json_object_set_new(obj, "session_id", json_integer(ctx->me.sid));

        return yd_ok(ctx, obj);
    }
}


/* change own password: old one required; other devices are signed out */


typedef struct {
    ngx_str_t                 old;
    ngx_str_t                 new;
    ngx_str_t                 hash;
    ngx_int_t                 rc;
} ngx_http_youdu_passwd_t;


static void
ngx_http_youdu_passwd_kdf_done(void *data, ngx_int_t rc, ngx_str_t *hash)
{
    ngx_http_youdu_ctx_t     *ctx = data;
    ngx_http_youdu_passwd_t  *pw = ctx->data;

    pw->rc = rc;

    if (hash && hash->len) {
        pw->hash.data = ngx_pstrdup(ctx->pool, hash);
        pw->hash.len = hash->len;
    }

    yd_resume(ctx);
}


/* a password of 8..128 characters with at least two kinds of character */

ngx_int_t
ngx_http_youdu_password_policy(ngx_http_youdu_ctx_t *ctx, ngx_str_t *pw)
{
    size_t      i;
    ngx_uint_t  lower, upper, digit, other;

    lower = upper = digit = other = 0;

    for (i = 0; i < pw->len; i++) {
        if (pw->data[i] >= 'a' && pw->data[i] <= 'z') {
            lower = 1;
        } else if (pw->data[i] >= 'A' && pw->data[i] <= 'Z') {
            upper = 1;
        } else if (pw->data[i] >= '0' && pw->data[i] <= '9') {
            digit = 1;
        } else {
            other = 1;
        }
    }

    if (ngx_utf8_length(pw->data, pw->len) < YD_PASSWORD_MIN
        || lower + upper + digit + other < 2)
    {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                 "the new password needs at least %d characters of at least "
                 "two kinds (letters, digits, symbols)", YD_PASSWORD_MIN);
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_password(ngx_http_youdu_ctx_t *ctx)
{
    ngx_youdu_core_conf_t    *ycf;
    ngx_youdu_db_result_t    *res = ctx->res;
    ngx_http_youdu_passwd_t  *pw = ctx->data;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK) {
            return NGX_DONE;
        }

        pw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_passwd_t));
        if (pw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = pw;

        if (yd_json_str(ctx, ctx->body, "old_password", 1, YD_PASSWORD_MAX,
                        &pw->old, NULL) != NGX_OK
            || yd_json_str(ctx, ctx->body, "new_password", 1, YD_PASSWORD_MAX,
                           &pw->new, NULL) != NGX_OK
            || ngx_http_youdu_password_policy(ctx, &pw->new) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (pw->old.len == pw->new.len
            && ngx_strncmp(pw->old.data, pw->new.data, pw->old.len) == 0)
        {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "the new password must differ from the old one");
        }

        return yd_sql(ctx,
            "SELECT password_hash, IF(locked_until > UTC_TIMESTAMP(), "
            "TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), locked_until), 0) "
            "FROM users WHERE id = ?", "i", ctx->me.uid);

    case 1:
        /* guesses here count like sign-in failures: a stolen access token
         * must not allow unlimited tries at the password */
        if (res->nrows && yd_int(res, 0, 1) > 0) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_ACCOUNT_LOCKED,
                            "too many failed attempts: account locked for %L "
                            "more minutes, or ask an administrator to unlock "
                            "it", (yd_int(res, 0, 1) + 59) / 60);
        }

        if (res->nrows == 0 || yd_cell(res, 0, 0)->data == NULL) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_WRONG_PASSWORD,
                            "the current password is wrong");
        }

        return ngx_youdu_kdf_verify(ctx->pool, ctx->r->connection->log,
                                    yd_cell(res, 0, 0), &pw->old,
                                    ngx_http_youdu_passwd_kdf_done, ctx)
               == NGX_OK ? NGX_AGAIN : NGX_ERROR;

    case 2:
        if (pw->rc != NGX_OK) {
            ctx->stage = 10;
            return yd_sql(ctx,
                "UPDATE users SET failed_logins = failed_logins + 1, "
                "locked_until = IF(failed_logins >= ?, "
                "UTC_TIMESTAMP() + INTERVAL ? SECOND, locked_until), "
                "failed_logins = IF(failed_logins >= ?, 0, failed_logins) "
                "WHERE id = ?",
                "iiii", (int64_t) ycf->lockout_attempts,
                (int64_t) ycf->lockout_time,
                (int64_t) ycf->lockout_attempts, ctx->me.uid);
        }

        return ngx_youdu_kdf_hash(ctx->pool, ctx->r->connection->log,
                                  &pw->new, ngx_http_youdu_passwd_kdf_done,
                                  ctx)
               == NGX_OK ? NGX_AGAIN : NGX_ERROR;

    case 3:
        if (pw->rc != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 4:
        return yd_sql(ctx,
            "UPDATE users SET password_hash = ?, must_change_password = 0, "
            "password_changed_at = UTC_TIMESTAMP(), failed_logins = 0 "
            "WHERE id = ?",
            "si", &pw->hash, ctx->me.uid);

    case 5:
        return yd_sql(ctx,
            "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
            "revoke_reason = 'password_changed' "
            "WHERE user_id = ? AND id <> ? AND revoked_at IS NULL",
            "ii", ctx->me.uid, ctx->me.sid);

    case 6:
        ctx->recheck_uid = ctx->me.uid;
        return yd_commit(ctx);

    case 7:
        return yd_ok(ctx, NULL);

    case 11:
        return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_WRONG_PASSWORD,
                        "the current password is wrong");

    default:
        return NGX_ERROR;
    }
}


/* own devices */


static ngx_int_t
ngx_http_youdu_sessions(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *s;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx,
            "SELECT id, device_type, device_name, ip, "
            "yd_iso(created_at), "
            "yd_iso(last_seen) "
            "FROM sessions WHERE user_id = ? AND revoked_at IS NULL "
            "AND refresh_expires > UTC_TIMESTAMP() "
            "ORDER BY last_seen DESC LIMIT 200", "i", ctx->me.uid);

    default:
        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            s = json_object();
            if (s == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(s, "id", yd_json_cell_int(res, i, 0));
            json_object_set_new(s, "device_type", yd_json_cell(res, i, 1));
            json_object_set_new(s, "device_name", yd_json_cell(res, i, 2));
            json_object_set_new(s, "ip", yd_json_cell(res, i, 3));
            json_object_set_new(s, "created_at", yd_json_cell(res, i, 4));
            json_object_set_new(s, "last_seen", yd_json_cell(res, i, 5));
            json_object_set_new(s, "current",
                                json_boolean(yd_int(res, i, 0)
                                             == ctx->me.sid));
            json_array_append_new(list, s);
        }

        json_object_set_new(obj, "sessions", list);
        return yd_ok(ctx, obj);
    }
}


static ngx_int_t
ngx_http_youdu_session_revoke(ngx_http_youdu_ctx_t *ctx)
{
    int64_t  sid;

    switch (ctx->stage) {

    case 0:
        if (yd_arg_int(ctx, 0, &sid) != NGX_OK) {
            return NGX_DONE;
        }

        /* only the owner's own sessions match */
        return yd_sql(ctx,
            "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
            "revoke_reason = 'signed_out_by_user' "
            "WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            "ii", sid, ctx->me.uid);

    default:
        if (ctx->res->affected == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_SESSION_NOT_FOUND,
                            "no such active session of yours");
        }

        ctx->recheck_uid = ctx->me.uid;
        return yd_ok(ctx, NULL);
    }
}


/* login log: one's own, or everyone's for administrators (admin routes) */


typedef struct {
    int64_t                   offset;
    int64_t                   limit;
    int64_t                   uid;
    int64_t                   total;
    ngx_str_t                 account;
    ngx_str_t                 result;
} ngx_http_youdu_log_query_t;


ngx_int_t
ngx_http_youdu_login_log_list(ngx_http_youdu_ctx_t *ctx, ngx_uint_t all)
{
    json_t                      *obj, *list, *e;
    ngx_uint_t                   i;
    ngx_youdu_db_result_t       *res = ctx->res;
    ngx_http_youdu_log_query_t  *q = ctx->data;

    switch (ctx->stage) {

    case 0:
        q = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_log_query_t));
        if (q == NULL) {
            return NGX_ERROR;
        }

        ctx->data = q;

        if (yd_page(ctx, &q->offset, &q->limit) != NGX_OK) {
            return NGX_DONE;
        }

        if (yd_query_str(ctx, "account", 64, &q->account) != NGX_OK
            || yd_query_str(ctx, "result", 32, &q->result) != NGX_OK)
        {
            return NGX_DONE;
        }

        q->uid = all ? 0 : ctx->me.uid;

        /* counted apart: a page past the end still reports the total */
        return yd_sql(ctx,
            "SELECT COUNT(*) FROM login_log "
            "WHERE (? = 0 OR user_id = ?) AND (? = '' OR account = ?) "
            "AND (? = '' OR result = ?)",
            "iissss", q->uid, q->uid, &q->account, &q->account, &q->result,
            &q->result);

    case 1:
        q->total = yd_int(res, 0, 0);

        return yd_sql(ctx,
            "SELECT id, IFNULL(user_id, 0), account, "
            "yd_iso(at), ip, device_type, "
            "result FROM login_log "
            "WHERE (? = 0 OR user_id = ?) AND (? = '' OR account = ?) "
            "AND (? = '' OR result = ?) "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            "iissssii", q->uid, q->uid, &q->account, &q->account, &q->result,
            &q->result, q->limit, q->offset);

    case 2:
        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            e = json_object();
            if (e == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(e, "id", yd_json_cell_int(res, i, 0));
            json_object_set_new(e, "user_id", yd_json_cell_int(res, i, 1));
            json_object_set_new(e, "account", yd_json_cell(res, i, 2));
            json_object_set_new(e, "at", yd_json_cell(res, i, 3));
            json_object_set_new(e, "ip", yd_json_cell(res, i, 4));
            json_object_set_new(e, "device_type", yd_json_cell(res, i, 5));
            json_object_set_new(e, "result", yd_json_cell(res, i, 6));
            json_array_append_new(list, e);
        }

        json_object_set_new(obj, "entries", list);
        json_object_set_new(obj, "total", json_integer(q->total));
        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_http_youdu_my_login_log(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_login_log_list(ctx, 0);
}



const ngx_http_youdu_route_t  ngx_http_youdu_self_routes[] = {
    { NGX_HTTP_GET, "/auth/me", ngx_http_youdu_me, YD_AUTH_USER, 0,
      YD_ROUTE_PW_CHANGE },
    { NGX_HTTP_POST, "/auth/password", ngx_http_youdu_password, YD_AUTH_USER,
      16 * 1024, YD_ROUTE_PW_CHANGE },
    { NGX_HTTP_GET, "/auth/sessions", ngx_http_youdu_sessions, YD_AUTH_USER,
      0, 0 },
    { NGX_HTTP_DELETE, "/auth/sessions/:id", ngx_http_youdu_session_revoke,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/auth/login-log", ngx_http_youdu_my_login_log,
      YD_AUTH_USER, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
