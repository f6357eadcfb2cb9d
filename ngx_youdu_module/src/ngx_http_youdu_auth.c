
/*
 * youdu HTTP module: who is asking (bearer access tokens checked against
 * the session row, so a revoked device is out at its next request), and the
 * account endpoints: login, refresh, logout, password, sessions, login log.
 */


#include "ngx_http_youdu_module.h"


#define YD_LAST_SEEN_EVERY   60       /* seconds between last_seen writes */
#define YD_IP_LOGIN_LIMIT    30     /* failed sign-ins per IP per minute */
#define YD_PASSWORD_MIN      8
#define YD_PASSWORD_MAX      128


ngx_int_t ngx_http_youdu_run(ngx_http_youdu_ctx_t *ctx);


static const char *yd_device_types[] = {
    "web", "pc", "mac", "linux", "android", "ios", "api", NULL
};


/* a dummy hash so an unknown account costs as much time as a known one */
static ngx_str_t  yd_dummy_hash = ngx_string(
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "zpHNBQpNubjqhYMAsbOq3XaB61Ft0PLEfu69mHwh8No");


/* authentication of the caller */


void
ngx_http_youdu_auth_begin(ngx_http_youdu_ctx_t *ctx)
{
    ngx_str_t             tok;
    ngx_table_elt_t      *h;
    ngx_youdu_token_t     t;
    ngx_youdu_token_rc_e  rc;

    h = ctx->r->headers_in.authorization;

    if (h == NULL || h->value.len < 8
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) != 0)
    {
        yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_NO_TOKEN,
                 "sign in first: send \"Authorization: Bearer <token>\"");
        return;
    }

    tok.data = h->value.data + 7;
    tok.len = h->value.len - 7;

    rc = ngx_youdu_token_verify(&tok, &t);

    if (rc == YD_TOKEN_EXPIRED) {
        yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_TOKEN_EXPIRED,
                 "access token expired: refresh it with /auth/refresh");
        return;
    }

    if (rc != YD_TOKEN_OK) {
        yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_BAD_TOKEN,
                 "invalid access token: sign in again");
        return;
    }

    ctx->me.uid = t.uid;
    ctx->me.sid = t.sid;
    ctx->auth_stage = 1;

    (void) yd_sql(ctx,
        "SELECT s.revoked_at IS NULL, u.enable_state, u.role, u.account, "
        "u.name, u.must_change_password, "
        "TIMESTAMPDIFF(SECOND, s.last_seen, UTC_TIMESTAMP()) "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.id = ? AND s.user_id = ?",
        "ii", t.sid, t.uid);
}


void
ngx_http_youdu_auth_resume(ngx_http_youdu_ctx_t *ctx)
{
    ngx_youdu_db_result_t  *res = ctx->res;

    if (ctx->auth_stage == 2) {
        /* last_seen written */
        (void) ngx_http_youdu_run(ctx);
        return;
    }

    if (res->nrows == 0 || yd_int(res, 0, 0) == 0) {
        yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_SESSION_REVOKED,
                 "this device was signed out: sign in again");
        return;
    }

    if (yd_int(res, 0, 1) != 1) {
        yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_ACCOUNT_DISABLED,
                 "account disabled: contact your administrator");
        return;
    }

    /* the role comes from the database, not from the token */
    ctx->me.role = (ngx_uint_t) yd_int(res, 0, 2);
    ctx->me.account = *yd_cell(res, 0, 3);
    ctx->me.name = *yd_cell(res, 0, 4);
    ctx->me.must_change_password = yd_int(res, 0, 5) ? 1 : 0;

    if ((ctx->route->auth == YD_AUTH_ADMIN && ctx->me.role < YD_ROLE_ADMIN)
        || (ctx->route->auth == YD_AUTH_SUPER && ctx->me.role < YD_ROLE_SUPER))
    {
        yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                 "you are not allowed to do this (administrators only)");
        return;
    }

    if (ctx->me.must_change_password
        && !(ctx->route->flags & YD_ROUTE_PW_CHANGE))
    {
        yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_PASSWORD_CHANGE,
                 "change your password first (POST /auth/password)");
        return;
    }

    if (yd_int(res, 0, 6) >= YD_LAST_SEEN_EVERY) {
        ctx->auth_stage = 2;
        (void) yd_sql(ctx,
            "UPDATE sessions SET last_seen = UTC_TIMESTAMP(), ip = ? "
            "WHERE id = ?", "si", &ctx->client_ip, ctx->me.sid);
        return;
    }

    (void) ngx_http_youdu_run(ctx);
}


/* login */


typedef struct {
    ngx_str_t                 account;
    ngx_str_t                 password;
    ngx_str_t                 device_type;
    ngx_str_t                 device_name;
    int64_t                   uid;
    int64_t                   sid;
    ngx_uint_t                role;
    ngx_uint_t                must_change;
    ngx_str_t                 name;
    ngx_str_t                 hash;
    ngx_str_t                 refresh;
    ngx_str_t                 refresh_hash;
    const char               *result;
    ngx_int_t                 verify_rc;
    int64_t                   failed;
    int64_t                   lock_left;
    ngx_int_t                 enable_state;
} ngx_http_youdu_login_t;


static void
ngx_http_youdu_kdf_done(void *data, ngx_int_t rc, ngx_str_t *hash)
{
    ngx_http_youdu_ctx_t    *ctx = data;
    ngx_http_youdu_login_t  *lg = ctx->data;

    lg->verify_rc = rc;

    if (hash && hash->len) {
        lg->hash.data = ngx_pstrdup(ctx->pool, hash);
        lg->hash.len = hash->len;
    }

    yd_resume(ctx);
}


static ngx_int_t
ngx_http_youdu_login_log(ngx_http_youdu_ctx_t *ctx, const char *result)
{
    ngx_http_youdu_login_t  *lg = ctx->data;

    lg->result = result;

    return yd_sql(ctx,
        "INSERT INTO login_log (user_id, account, ip, device_type, result) "
        "VALUES (?, ?, ?, ?, ?)",
        "nsssz", lg->uid ? yd_int_str(ctx->pool, lg->uid) : NULL,
        &lg->account, &ctx->client_ip, &lg->device_type, result);
}


static ngx_int_t
ngx_http_youdu_device_fields(ngx_http_youdu_ctx_t *ctx, ngx_str_t *type,
    ngx_str_t *name)
{
    ngx_uint_t  i, ok;

    if (yd_json_str(ctx, ctx->body, "device_type", 0, 16, type, NULL)
        != NGX_OK
        || yd_json_str(ctx, ctx->body, "device_name", 0, 64, name, NULL)
           != NGX_OK)
    {
        return NGX_DONE;
    }

    if (type->len == 0) {
        ngx_str_set(type, "web");
    }

    ok = 0;
    for (i = 0; yd_device_types[i]; i++) {
        if (type->len == ngx_strlen(yd_device_types[i])
            && ngx_strncmp(type->data, yd_device_types[i], type->len) == 0)
        {
            ok = 1;
        }
    }

    if (!ok) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                 "device_type must be one of web, pc, mac, linux, android, "
                 "ios, api");
        return NGX_DONE;
    }

    if (name->len == 0) {
        *name = ctx->user_agent;
        if (name->len > 128) {
            name->len = 128;
            /* never cut a UTF-8 sequence */
            while (name->len && (name->data[name->len] & 0xc0) == 0x80) {
                name->len--;
            }
        }
    }

    return NGX_OK;
}


/* issues the session's tokens and replies */

static ngx_int_t
ngx_http_youdu_token_reply(ngx_http_youdu_ctx_t *ctx, int64_t uid,
    int64_t sid, ngx_uint_t role, ngx_str_t *refresh, ngx_uint_t must_change,
    ngx_str_t *account, ngx_str_t *name)
{
    u_char                 *jwt;
    json_t                 *obj, *user;
    ngx_youdu_token_t       t;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    t.uid = uid;
    t.sid = sid;
    t.role = role;
    t.exp = ngx_time() + ycf->access_ttl;

    jwt = ngx_youdu_token_issue(ctx->pool, &t);
    if (jwt == NULL) {
        return NGX_ERROR;
    }

    obj = json_object();
    user = json_object();
    if (obj == NULL || user == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "access_token", json_string((char *) jwt));
    json_object_set_new(obj, "token_type", json_string("Bearer"));
    json_object_set_new(obj, "expires_in", json_integer(ycf->access_ttl));
    json_object_set_new(obj, "refresh_token", yd_jstr(refresh));
    json_object_set_new(obj, "refresh_expires_in",
                        json_integer(ycf->refresh_ttl));
    json_object_set_new(obj, "session_id", json_integer(sid));
    json_object_set_new(obj, "must_change_password",
                        json_boolean(must_change));

    json_object_set_new(user, "id", json_integer(uid));
    json_object_set_new(user, "role", json_integer(role));

    if (account) {
        json_object_set_new(user, "account", yd_jstr(account));
    }

    if (name) {
        json_object_set_new(user, "name", yd_jstr(name));
    }

    json_object_set_new(obj, "user", user);

    return yd_ok(ctx, obj);
}


/* the same words for known and unknown accounts */

static ngx_int_t
ngx_http_youdu_login_wrong(ngx_http_youdu_ctx_t *ctx, int64_t left)
{
    return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_BAD_CREDENTIALS,
                    "wrong account or password (%L attempts left before "
                    "the account is locked)", left);
}


static ngx_int_t
ngx_http_youdu_login_locked(ngx_http_youdu_ctx_t *ctx, int64_t minutes,
    ngx_uint_t more)
{
    return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_ACCOUNT_LOCKED,
                    "too many failed attempts: account locked for %L %s"
                    "minutes, or ask an administrator to unlock it",
                    minutes, more ? "more " : "");
}


static ngx_int_t
ngx_http_youdu_login(ngx_http_youdu_ctx_t *ctx)
{
    u_char                  *p, key[128];
    size_t                   argvlen[4];
    const char              *argv[4];
    ngx_youdu_core_conf_t   *ycf;
    ngx_http_youdu_login_t  *lg = ctx->data;
    ngx_youdu_db_result_t   *res = ctx->res;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK) {
            return NGX_DONE;
        }

        lg = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_login_t));
        if (lg == NULL) {
            return NGX_ERROR;
        }

        ctx->data = lg;

        if (yd_json_str(ctx, ctx->body, "account", 1, 64, &lg->account, NULL)
            != NGX_OK
            || yd_json_str(ctx, ctx->body, "password", 1, YD_PASSWORD_MAX,
                           &lg->password, NULL) != NGX_OK
            || ngx_http_youdu_device_fields(ctx, &lg->device_type,
                                            &lg->device_name) != NGX_OK)
        {
            return NGX_DONE;
        }

        /* per-IP attempt budget in Redis; without Redis the per-account
         * lockout in the database still applies */
        argv[0] = "EVAL";
        argv[1] = "local n = redis.call('INCR', KEYS[1]) "
                  "if n == 1 then redis.call('EXPIRE', KEYS[1], 60) end "
                  "return n";
        argv[2] = "1";
        argv[3] = (const char *) key;

        p = ngx_snprintf(key, sizeof(key), "yd:login:ip:%V", &ctx->client_ip);

        argvlen[0] = 4;
        argvlen[1] = ngx_strlen(argv[1]);
        argvlen[2] = 1;
        argvlen[3] = p - key;

        if (yd_redis(ctx, 4, argv, argvlen) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ctx->redis_ok = 0;
        ctx->stage = 1;
        /* fall through */

    case 1:
        if (ctx->redis_ok && ctx->redis_int > YD_IP_LOGIN_LIMIT) {
            ctx->stage = 10;
            return ngx_http_youdu_login_log(ctx, "rate_limited");
        }

        return yd_sql(ctx,
            "SELECT id, password_hash, enable_state, role, "
            "IF(locked_until > UTC_TIMESTAMP(), "
            "TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), locked_until), 0), "
            "must_change_password, name, account "
            "FROM users WHERE account = ?", "s", &lg->account);

    case 2:
        if (res->nrows == 0) {
            /* same work as a real check, then the same answer */
            ctx->stage = 20;
            return ngx_youdu_kdf_verify(ctx->pool, ctx->r->connection->log,
                                        &yd_dummy_hash, &lg->password,
                                        ngx_http_youdu_kdf_done, ctx)
                   == NGX_OK ? NGX_AGAIN : NGX_ERROR;
        }

        lg->uid = yd_int(res, 0, 0);
        lg->hash = *yd_cell(res, 0, 1);
        lg->enable_state = yd_int(res, 0, 2);
        lg->role = (ngx_uint_t) yd_int(res, 0, 3);
        lg->lock_left = yd_int(res, 0, 4);
        lg->must_change = yd_int(res, 0, 5) ? 1 : 0;
        lg->name = *yd_cell(res, 0, 6);
        lg->account = *yd_cell(res, 0, 7);

        if (lg->lock_left > 0) {
            ctx->stage = 30;
            return ngx_http_youdu_login_log(ctx, "locked");
        }

        if (lg->hash.data == NULL) {
            lg->hash = yd_dummy_hash;
        }

        return ngx_youdu_kdf_verify(ctx->pool, ctx->r->connection->log,
                                    &lg->hash, &lg->password,
                                    ngx_http_youdu_kdf_done, ctx)
               == NGX_OK ? NGX_AGAIN : NGX_ERROR;

    case 3:
        if (lg->verify_rc != NGX_OK) {
            /* count the failure; lock when the budget is used up */
            ctx->stage = 40;
            return yd_sql(ctx,
                "UPDATE users SET failed_logins = failed_logins + 1, "
                "locked_until = IF(failed_logins >= ?, "
                "UTC_TIMESTAMP() + INTERVAL ? SECOND, locked_until), "
                "failed_logins = IF(failed_logins >= ?, 0, failed_logins) "
                "WHERE id = ?",
                "iiii", (int64_t) ycf->lockout_attempts,
                (int64_t) ycf->lockout_time,
                (int64_t) ycf->lockout_attempts, lg->uid);
        }

        if (lg->enable_state != 1) {
            ctx->stage = 50;
            return ngx_http_youdu_login_log(ctx, "disabled");
        }

        if (ngx_youdu_random_token(ctx->pool, &lg->refresh) != NGX_OK
            || ngx_youdu_sha256_hex(ctx->pool, &lg->refresh,
                                    &lg->refresh_hash) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 4:
        return yd_sql(ctx,
            "INSERT INTO sessions (user_id, device_type, device_name, ip, "
            "user_agent, refresh_hash, refresh_expires) "
            "VALUES (?, ?, ?, ?, LEFT(?, 255), ?, "
            "UTC_TIMESTAMP() + INTERVAL ? SECOND)",
            "isssssi", lg->uid, &lg->device_type, &lg->device_name,
            &ctx->client_ip, &ctx->user_agent, &lg->refresh_hash,
            (int64_t) ycf->refresh_ttl);

    case 5:
        lg->sid = (int64_t) res->insert_id;
        return yd_sql(ctx,
            "UPDATE users SET failed_logins = 0, locked_until = NULL "
            "WHERE id = ?", "i", lg->uid);

    case 6:
        return ngx_http_youdu_login_log(ctx, "ok");

    case 7:
        return yd_commit(ctx);

    case 8:
        /* a successful sign-in gives its attempt back: the per-address
         * budget counts failures, so an office behind one NAT address
         * can sign in all at once */
        argv[0] = "DECR";
        argv[1] = (const char *) key;
        argvlen[0] = 4;
        argvlen[1] = ngx_snprintf(key, sizeof(key), "yd:login:ip:%V",
                                  &ctx->client_ip) - key;

        if (yd_redis(ctx, 2, argv, argvlen) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    case 9:
        return ngx_http_youdu_token_reply(ctx, lg->uid, lg->sid, lg->role,
                                          &lg->refresh, lg->must_change,
                                          &lg->account, &lg->name);

    /* failures: log, then answer */

    case 11:
        return yd_error(ctx, 429, YD_ERR_TOO_MANY,
                        "too many sign-in attempts from your address, wait "
                        "a minute");

    case 21:
        return ngx_http_youdu_login_log(ctx, "unknown_account");

    case 22:
        /* answer as for an existing account, or the attempts left and the
         * lockout would tell which accounts exist: count this account
         * name's recent misses instead of failed_logins */
        return yd_sql(ctx,
            "SELECT COUNT(*) FROM login_log WHERE account = ? "
            "AND result = 'unknown_account' "
            "AND at > UTC_TIMESTAMP() - INTERVAL ? SECOND",
            "si", &lg->account, (int64_t) ycf->lockout_time);

    case 23:
        lg->failed = yd_int(res, 0, 0);

        if (lg->failed < (int64_t) ycf->lockout_attempts) {
            return ngx_http_youdu_login_wrong(ctx,
                       (int64_t) ycf->lockout_attempts - lg->failed);
        }

        return ngx_http_youdu_login_locked(ctx,
                   (ycf->lockout_time + 59) / 60,
                   lg->failed > (int64_t) ycf->lockout_attempts);

    case 31:
        return ngx_http_youdu_login_locked(ctx, (lg->lock_left + 59) / 60, 1);

    case 41:
        return yd_sql(ctx,
            "SELECT IF(locked_until > UTC_TIMESTAMP(), "
            "TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), locked_until), 0), "
            "failed_logins FROM users WHERE id = ?", "i", lg->uid);

    case 42:
        lg->lock_left = yd_int(res, 0, 0);
        lg->failed = yd_int(res, 0, 1);
        return ngx_http_youdu_login_log(ctx, lg->lock_left > 0
                                             ? "locked" : "bad_password");

    case 43:
        if (lg->lock_left > 0) {
            return ngx_http_youdu_login_locked(ctx, (lg->lock_left + 59) / 60,
                                               0);
        }

        return ngx_http_youdu_login_wrong(ctx,
                   (int64_t) ycf->lockout_attempts - lg->failed);

    case 51:
        return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_ACCOUNT_DISABLED,
                        "account disabled: contact your administrator");

    default:
        return NGX_ERROR;
    }
}


/* refresh: rotate the refresh token; a reused old token revokes the session */


typedef struct {
    ngx_str_t                 token;
    ngx_str_t                 hash;
    ngx_str_t                 next;
    ngx_str_t                 next_hash;
    int64_t                   sid;
    int64_t                   uid;
    ngx_uint_t                role;
    ngx_uint_t                must_change;
} ngx_http_youdu_refresh_t;


static ngx_int_t
ngx_http_youdu_refresh(ngx_http_youdu_ctx_t *ctx)
{
    ngx_youdu_core_conf_t     *ycf;
    ngx_youdu_db_result_t     *res = ctx->res;
    ngx_http_youdu_refresh_t  *rf = ctx->data;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK) {
            return NGX_DONE;
        }

        rf = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_refresh_t));
        if (rf == NULL) {
            return NGX_ERROR;
        }

        ctx->data = rf;

        if (yd_json_str(ctx, ctx->body, "refresh_token", 1, 128, &rf->token,
                        NULL) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (ngx_youdu_sha256_hex(ctx->pool, &rf->token, &rf->hash) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "SELECT s.id, s.user_id, s.revoked_at IS NULL, "
            "s.refresh_expires > UTC_TIMESTAMP(), u.enable_state, u.role, "
            "u.must_change_password "
            "FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.refresh_hash = ?", "s", &rf->hash);

    case 1:
        if (res->nrows == 0) {
            /* an old token used again: someone copied it; end the session */
            ctx->stage = 10;
            return yd_sql(ctx,
                "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
                "revoke_reason = 'refresh_reuse' "
                "WHERE prev_refresh_hash = ? AND revoked_at IS NULL",
                "s", &rf->hash);
        }

        rf->sid = yd_int(res, 0, 0);
        rf->uid = yd_int(res, 0, 1);
        rf->role = (ngx_uint_t) yd_int(res, 0, 5);
        rf->must_change = yd_int(res, 0, 6) ? 1 : 0;

        if (yd_int(res, 0, 2) == 0) {
            return yd_error(ctx, NGX_HTTP_UNAUTHORIZED,
                            YD_ERR_SESSION_REVOKED,
                            "this device was signed out: sign in again");
        }

        if (yd_int(res, 0, 3) == 0) {
            return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_BAD_REFRESH,
                            "refresh token expired: sign in again");
        }

        if (yd_int(res, 0, 4) != 1) {
            return yd_error(ctx, NGX_HTTP_UNAUTHORIZED,
                            YD_ERR_ACCOUNT_DISABLED,
                            "account disabled: contact your administrator");
        }

        if (ngx_youdu_random_token(ctx->pool, &rf->next) != NGX_OK
            || ngx_youdu_sha256_hex(ctx->pool, &rf->next, &rf->next_hash)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* the old hash in the WHERE makes concurrent refreshes single-use */
        return yd_sql(ctx,
            "UPDATE sessions SET prev_refresh_hash = refresh_hash, "
            "refresh_hash = ?, "
            "refresh_expires = UTC_TIMESTAMP() + INTERVAL ? SECOND, "
            "last_seen = UTC_TIMESTAMP(), ip = ? "
            "WHERE id = ? AND refresh_hash = ? AND revoked_at IS NULL",
            "sisis", &rf->next_hash, (int64_t) ycf->refresh_ttl,
            &ctx->client_ip, rf->sid, &rf->hash);

    case 2:
        if (res->affected != 1) {
            return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_BAD_REFRESH,
                            "refresh token already used: sign in again");
        }

        return ngx_http_youdu_token_reply(ctx, rf->uid, rf->sid, rf->role,
                                          &rf->next, rf->must_change, NULL,
                                          NULL);

    case 11:
        return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_BAD_REFRESH,
                        "invalid refresh token: sign in again");

    default:
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_http_youdu_logout(ngx_http_youdu_ctx_t *ctx)
{
    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx,
            "UPDATE sessions SET revoked_at = UTC_TIMESTAMP(), "
            "revoke_reason = 'logout' WHERE id = ? AND revoked_at IS NULL",
            "i", ctx->me.sid);

    default:
        return yd_ok(ctx, NULL);
    }
}


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


const ngx_http_youdu_route_t  ngx_http_youdu_auth_routes[] = {
    { NGX_HTTP_POST, "/auth/login", ngx_http_youdu_login, YD_AUTH_NONE,
      16 * 1024, 0 },
    { NGX_HTTP_POST, "/auth/refresh", ngx_http_youdu_refresh, YD_AUTH_NONE,
      16 * 1024, 0 },
    { NGX_HTTP_POST, "/auth/logout", ngx_http_youdu_logout, YD_AUTH_USER,
      16 * 1024, YD_ROUTE_PW_CHANGE },
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
