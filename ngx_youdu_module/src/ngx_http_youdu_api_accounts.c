
/*
 * youdu HTTP module: administrators managing accounts (passwords, locks,
 * devices) and reading the login and audit logs.  Every write runs in one
 * transaction with its audit_log row.
 */


#include "ngx_http_youdu_accounts.h"


#define YD_ACCT_PASSWORD_MAX  128
#define YD_ACCT_SESSIONS_MAX  200


typedef struct {
    int64_t                   offset;
    int64_t                   limit;
    int64_t                   total;
    ngx_str_t                 actor;
    ngx_str_t                 action;
} ngx_http_youdu_audit_q_t;


static void ngx_http_youdu_acct_kdf_done(void *data, ngx_int_t rc,
    ngx_str_t *hash);
static ngx_int_t ngx_http_youdu_acct_password(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_acct_unlock(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_acct_sessions(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_acct_revoke_all(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_acct_revoke_one(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_acct_begin_ids(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t sid);
static ngx_int_t ngx_http_youdu_acct_login_log(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_acct_audit_log(ngx_http_youdu_ctx_t *ctx);


/* state for one request; the target id comes from the path */

ngx_http_youdu_acct_t *
ngx_http_youdu_acct_new(ngx_http_youdu_ctx_t *ctx)
{
    ngx_http_youdu_acct_t  *a;

    a = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_acct_t));
    if (a == NULL) {
        return NULL;
    }

    ctx->data = a;

    return a;
}


/* stage 0 of a write on the user in the path: state, id, transaction */

ngx_int_t
ngx_http_youdu_acct_begin(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_acct_begin_ids(ctx, 0);
}


/* the same for .../users/:id/sessions/:sid routes: both ids, then BEGIN */

ngx_int_t
ngx_http_youdu_acct_begin_session(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_acct_begin_ids(ctx, 1);
}


static ngx_int_t
ngx_http_youdu_acct_begin_ids(ngx_http_youdu_ctx_t *ctx, ngx_uint_t sid)
{
    ngx_http_youdu_acct_t  *a;

    a = ngx_http_youdu_acct_new(ctx);
    if (a == NULL) {
        return NGX_ERROR;
    }

    if (yd_arg_int(ctx, 0, &a->uid) != NGX_OK
        || (sid && yd_arg_int(ctx, 1, &a->sid) != NGX_OK))
    {
        return NGX_DONE;
    }

    return yd_begin(ctx);
}


ngx_int_t
ngx_http_youdu_acct_select(ngx_http_youdu_ctx_t *ctx, ngx_uint_t for_update)
{
    ngx_http_youdu_acct_t  *a = ctx->data;

    if (for_update) {
        return yd_sql(ctx,
            "SELECT role, account, locked_until > UTC_TIMESTAMP() "
            "FROM users WHERE id = ? FOR UPDATE", "i", a->uid);
    }

    return yd_sql(ctx, "SELECT role, account, 0 FROM users WHERE id = ?",
                  "i", a->uid);
}


/*
 * checks the row selected by ngx_http_youdu_acct_select(); with guard, only
 * a super admin may act on another administrator
 */

ngx_int_t
ngx_http_youdu_acct_target(ngx_http_youdu_ctx_t *ctx, ngx_uint_t guard)
{
    ngx_http_youdu_acct_t  *a = ctx->data;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (res->nrows == 0) {
        yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                 "no user with id %L", a->uid);
        return NGX_DONE;
    }

    if (guard && yd_int(res, 0, 0) >= YD_ROLE_ADMIN
        && ctx->me.role < YD_ROLE_SUPER && a->uid != ctx->me.uid)
    {
        yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                 "only a super administrator may do this to another "
                 "administrator");
        return NGX_DONE;
    }

    a->account = *yd_cell(res, 0, 1);
    a->was_locked = yd_int(res, 0, 2) ? 1 : 0;

    return NGX_OK;
}


/* detail is consumed; "account" of the target is added to it */

ngx_int_t
ngx_http_youdu_acct_audit(ngx_http_youdu_ctx_t *ctx, const char *action,
    json_t *detail)
{
    char                   *s;
    u_char                 *p;
    ngx_str_t               text, target;
    ngx_http_youdu_acct_t  *a = ctx->data;

    if (detail == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(detail, "account", yd_jstr(&a->account));

    s = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);

    if (s == NULL) {
        return NGX_ERROR;
    }

    text.len = ngx_strlen(s);
    text.data = ngx_pnalloc(ctx->pool, text.len + 1);
    if (text.data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(text.data, s, text.len + 1);
    free(s);

    target.data = ngx_pnalloc(ctx->pool, sizeof("user:") + NGX_INT64_LEN);
    if (target.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(target.data, "user:%L", a->uid);
    target.len = p - target.data;

    return yd_sql(ctx,
        "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
        "VALUES (?, ?, ?, ?, ?)",
        "izsss", ctx->me.uid, action, &target, &text, &ctx->client_ip);
}


static void
ngx_http_youdu_acct_kdf_done(void *data, ngx_int_t rc, ngx_str_t *hash)
{
    ngx_http_youdu_ctx_t   *ctx = data;
    ngx_http_youdu_acct_t  *a = ctx->data;

    a->rc = rc;

    if (hash && hash->len) {
        a->hash.data = ngx_pstrdup(ctx->pool, hash);
        a->hash.len = a->hash.data ? hash->len : 0;
    }

    yd_resume(ctx);
}


/* POST /admin/users/:id/password {"password": "...", "must_change": bool} */

static ngx_int_t
ngx_http_youdu_acct_password(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj;
    ngx_uint_t              present;
    ngx_http_youdu_acct_t  *a = ctx->data;

    switch (ctx->stage) {

    case 0:
        a = ngx_http_youdu_acct_new(ctx);
        if (a == NULL) {
            return NGX_ERROR;
        }

        if (yd_arg_int(ctx, 0, &a->uid) != NGX_OK
            || yd_require_body(ctx) != NGX_OK
            || yd_json_str(ctx, ctx->body, "password", 1,
                           YD_ACCT_PASSWORD_MAX, &a->password, NULL)
               != NGX_OK
            || yd_json_bool(ctx, ctx->body, "must_change", 0,
                            &a->must_change, &present) != NGX_OK
            || ngx_http_youdu_password_policy(ctx, &a->password) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (!present) {
            a->must_change = 1;
        }

        /* refuse early, before spending a hash */
        return ngx_http_youdu_acct_select(ctx, 0);

    case 1:
        if (ngx_http_youdu_acct_target(ctx, 1) != NGX_OK) {
            return NGX_DONE;
        }

        return ngx_youdu_kdf_hash(ctx->pool, ctx->r->connection->log,
                                  &a->password, ngx_http_youdu_acct_kdf_done,
                                  ctx)
               == NGX_OK ? NGX_AGAIN : NGX_ERROR;

    case 2:
        if (a->rc != NGX_OK || a->hash.len == 0) {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 3:
        /* the role may have changed meanwhile: check again under the lock */
        return ngx_http_youdu_acct_select(ctx, 1);

    case 4:
        if (ngx_http_youdu_acct_target(ctx, 1) != NGX_OK) {
            return NGX_DONE;
        }

        /* a new password also lifts a lockout: the user is expected in */
        return yd_sql(ctx,
            "UPDATE users SET password_hash = ?, must_change_password = ?, "
            "password_changed_at = UTC_TIMESTAMP(), failed_logins = 0, "
            "locked_until = NULL WHERE id = ?",
            "sii", &a->hash, (int64_t) a->must_change, a->uid);

    case 5:
        return yd_sql(ctx,
            "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
            "revoke_reason = 'password_reset' "
            "WHERE user_id = ? AND revoked_at IS NULL", "i", a->uid);

    case 6:
        a->count = (int64_t) ctx->res->affected;
        ctx->recheck_uid = a->uid;

        return ngx_http_youdu_acct_audit(ctx, "user.password_reset",
                   json_pack("{sbsI}", "must_change", (int) a->must_change,
                             "sessions_revoked", (json_int_t) a->count));

    case 7:
        return yd_commit(ctx);

    case 8:
        obj = json_pack("{sIsbsI}", "user_id", (json_int_t) a->uid,
                        "must_change_password", (int) a->must_change,
                        "sessions_revoked", (json_int_t) a->count);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


/* POST /admin/users/:id/unlock */

static ngx_int_t
ngx_http_youdu_acct_unlock(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj;
    ngx_http_youdu_acct_t  *a = ctx->data;

    switch (ctx->stage) {

    case 0:
        return ngx_http_youdu_acct_begin(ctx);

    case 1:
        return ngx_http_youdu_acct_select(ctx, 1);

    case 2:
        if (ngx_http_youdu_acct_target(ctx, 0) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "UPDATE users SET failed_logins = 0, locked_until = NULL "
            "WHERE id = ?", "i", a->uid);

    case 3:
        return ngx_http_youdu_acct_audit(ctx, "user.unlock",
                   json_pack("{sb}", "was_locked", (int) a->was_locked));

    case 4:
        return yd_commit(ctx);

    case 5:
        obj = json_pack("{sIsb}", "user_id", (json_int_t) a->uid,
                        "was_locked", (int) a->was_locked);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


/* GET /admin/users/:id/sessions: active devices, as GET /auth/sessions */

static ngx_int_t
ngx_http_youdu_acct_sessions(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                 uid;
    json_t                 *obj, *list, *s;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        if (yd_arg_int(ctx, 0, &uid) != NGX_OK) {
            return NGX_DONE;
        }

        /* the user row always comes back, so an unknown user is told apart
         * from one without devices */
        return yd_sql(ctx,
            "SELECT u.id, s.id, s.device_type, s.device_name, s.ip, "
            "yd_iso(s.created_at), "
            "yd_iso(s.last_seen) "
            "FROM users u LEFT JOIN sessions s ON s.user_id = u.id "
            "AND s.revoked_at IS NULL "
            "AND s.refresh_expires > UTC_TIMESTAMP() "
            "WHERE u.id = ? ORDER BY s.last_seen DESC, s.id DESC LIMIT ?",
            "ii", uid, (int64_t) YD_ACCT_SESSIONS_MAX);

    default:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "no user with id %V", &ctx->args[0]);
        }

        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            if (yd_cell(res, i, 1)->data == NULL) {
                continue;
            }

            s = json_object();
            if (s == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(s, "id", yd_json_cell_int(res, i, 1));
            json_object_set_new(s, "device_type", yd_json_cell(res, i, 2));
            json_object_set_new(s, "device_name", yd_json_cell(res, i, 3));
            json_object_set_new(s, "ip", yd_json_cell(res, i, 4));
            json_object_set_new(s, "created_at", yd_json_cell(res, i, 5));
            json_object_set_new(s, "last_seen", yd_json_cell(res, i, 6));
            json_array_append_new(list, s);
        }

        json_object_set_new(obj, "sessions", list);
        return yd_ok(ctx, obj);
    }
}


/* DELETE /admin/users/:id/sessions: sign the user out everywhere */

static ngx_int_t
ngx_http_youdu_acct_revoke_all(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj;
    ngx_http_youdu_acct_t  *a = ctx->data;

    switch (ctx->stage) {

    case 0:
        return ngx_http_youdu_acct_begin(ctx);

    case 1:
        return ngx_http_youdu_acct_select(ctx, 1);

    case 2:
        if (ngx_http_youdu_acct_target(ctx, 1) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
            "revoke_reason = 'revoked_by_admin' "
            "WHERE user_id = ? AND revoked_at IS NULL", "i", a->uid);

    case 3:
        a->count = (int64_t) ctx->res->affected;
        ctx->recheck_uid = a->uid;

        return ngx_http_youdu_acct_audit(ctx, "user.sessions_revoke",
                   json_pack("{sI}", "sessions_revoked",
                             (json_int_t) a->count));

    case 4:
        return yd_commit(ctx);

    case 5:
        obj = json_pack("{sIsI}", "user_id", (json_int_t) a->uid,
                        "sessions_revoked", (json_int_t) a->count);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


/* DELETE /admin/users/:id/sessions/:sid: sign one device out */

static ngx_int_t
ngx_http_youdu_acct_revoke_one(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_acct_end_session(ctx, 0);
}


/*
 * One session of the user in the path: signed out (revoke_reason
 * 'revoked_by_admin', an active session only) or wiped (also one already
 * signed out that the device may come back with).
 */

ngx_int_t
ngx_http_youdu_acct_end_session(ngx_http_youdu_ctx_t *ctx, ngx_uint_t wipe)
{
    ngx_http_youdu_acct_t  *a = ctx->data;

    switch (ctx->stage) {

    case 0:
        return ngx_http_youdu_acct_begin_session(ctx);

    case 1:
        return ngx_http_youdu_acct_select(ctx, 1);

    case 2:
        if (ngx_http_youdu_acct_target(ctx, 1) != NGX_OK) {
            return NGX_DONE;
        }

        if (wipe) {
            return yd_sql(ctx,
                YD_WIPE_SET "WHERE id = ? AND user_id = ? AND "
                YD_WIPE_PENDING, "ii", a->sid, a->uid);
        }

        return yd_sql(ctx,
            "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
            "revoke_reason = 'revoked_by_admin' "
            "WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            "ii", a->sid, a->uid);

    case 3:
        if (ctx->res->affected == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_SESSION_NOT_FOUND,
                            wipe ? "this user has no session %L that could "
                                   "be wiped (unknown, expired or already "
                                   "wiped)"
                                 : "this user has no active session %L",
                            a->sid);
        }

        ctx->recheck_uid = a->uid;

        return ngx_http_youdu_acct_audit(ctx,
                   wipe ? "session.wipe" : "user.session_revoke",
                   json_pack("{sI}", "session_id", (json_int_t) a->sid));

    case 4:
        return yd_commit(ctx);

    default:
        return yd_ok(ctx, wipe
            ? json_pack("{sIsIsb}", "user_id", (json_int_t) a->uid,
                        "session_id", (json_int_t) a->sid, "wipe", 1)
            : json_pack("{sIsI}", "user_id", (json_int_t) a->uid,
                        "session_id", (json_int_t) a->sid));
    }
}


/* GET /admin/login-log?account=&result=&offset=&limit= */

static ngx_int_t
ngx_http_youdu_acct_login_log(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_login_log_list(ctx, 1);
}


/* GET /admin/audit-log?actor=&action=&offset=&limit=, newest first */

static ngx_int_t
ngx_http_youdu_acct_audit_log(ngx_http_youdu_ctx_t *ctx)
{
    json_t                    *obj, *list, *e, *detail;
    ngx_str_t                 *c;
    ngx_uint_t                 i;
    ngx_youdu_db_result_t     *res = ctx->res;
    ngx_http_youdu_audit_q_t  *q = ctx->data;

    switch (ctx->stage) {

    case 0:
        q = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_audit_q_t));
        if (q == NULL) {
            return NGX_ERROR;
        }

        ctx->data = q;

        if (yd_page(ctx, &q->offset, &q->limit) != NGX_OK
            || yd_query_str(ctx, "actor", 64, &q->actor) != NGX_OK
            || yd_query_str(ctx, "action", 64, &q->action) != NGX_OK)
        {
            return NGX_DONE;
        }

        /* counted apart: a page past the end still reports the total */
        return yd_sql(ctx,
            "SELECT COUNT(*) "
            "FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id "
            "WHERE (? = '' OR u.account = ?) AND (? = '' OR a.action = ?)",
            "ssss", &q->actor, &q->actor, &q->action, &q->action);

    case 1:
        q->total = yd_int(res, 0, 0);

        return yd_sql(ctx,
            "SELECT a.id, a.actor_id, u.account, a.action, a.target, "
            "a.detail, a.ip, yd_iso(a.at) "
            "FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id "
            "WHERE (? = '' OR u.account = ?) AND (? = '' OR a.action = ?) "
            "ORDER BY a.id DESC LIMIT ? OFFSET ?",
            "ssssii", &q->actor, &q->actor, &q->action, &q->action, q->limit,
            q->offset);

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

            /* detail is JSON text written by the server; anything else
             * (older rows, other writers) is returned as a string */
            c = yd_cell(res, i, 5);
            detail = c->data ? json_loadb((char *) c->data, c->len, 0, NULL)
                             : json_null();
            if (detail == NULL) {
                detail = yd_json_cell(res, i, 5);
            }

            json_object_set_new(e, "id", yd_json_cell_int(res, i, 0));
            json_object_set_new(e, "actor_id", yd_json_cell_int(res, i, 1));
            json_object_set_new(e, "actor", yd_json_cell(res, i, 2));
            json_object_set_new(e, "action", yd_json_cell(res, i, 3));
            json_object_set_new(e, "target", yd_json_cell(res, i, 4));
            json_object_set_new(e, "detail", detail);
            json_object_set_new(e, "ip", yd_json_cell(res, i, 6));
            json_object_set_new(e, "at", yd_json_cell(res, i, 7));
            json_array_append_new(list, e);
        }

        json_object_set_new(obj, "entries", list);
        json_object_set_new(obj, "total", json_integer(q->total));
        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_account_admin_routes[] = {
    { NGX_HTTP_POST, "/admin/users/:id/password",
      ngx_http_youdu_acct_password, YD_AUTH_ADMIN, 16 * 1024, 0 },
    { NGX_HTTP_POST, "/admin/users/:id/unlock",
      ngx_http_youdu_acct_unlock, YD_AUTH_ADMIN, 16 * 1024, 0 },
    { NGX_HTTP_GET, "/admin/users/:id/sessions",
      ngx_http_youdu_acct_sessions, YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_DELETE, "/admin/users/:id/sessions",
      ngx_http_youdu_acct_revoke_all, YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_DELETE, "/admin/users/:id/sessions/:sid",
      ngx_http_youdu_acct_revoke_one, YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_GET, "/admin/login-log", ngx_http_youdu_acct_login_log,
      YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_GET, "/admin/audit-log", ngx_http_youdu_acct_audit_log,
      YD_AUTH_ADMIN, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
