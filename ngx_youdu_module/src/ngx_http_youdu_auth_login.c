
/*
 * youdu HTTP module: signing in and out: login, token refresh, logout.
 */


#include "ngx_http_youdu_module.h"
#include <ngx_md5.h>

#include "ngx_http_youdu_callback.h"


#define YD_IP_LOGIN_LIMIT    30     /* failed sign-ins per IP per minute */
#define YD_PASSWORD_MAX      128


static const char *yd_device_types[] = {
    "web", "pc", "mac", "linux", "android", "ios", "api", NULL
};


/* a dummy hash so an unknown account costs as much time as a known one */
static ngx_str_t  yd_dummy_hash = ngx_string(
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "zpHNBQpNubjqhYMAsbOq3XaB61Ft0PLEfu69mHwh8No");



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
    ngx_str_t                 new_hash;     /* replaces password_md5 */
    const char               *auth_err;     /* third-party check failed */
    unsigned                  md5_upgrade:1;
} ngx_http_youdu_login_t;


static ngx_str_t  yd_org_app = ngx_string("sysOrgAssistant");


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


/*
 * users.auth_type 2: the org app's callback decides (PROTOCOL.md 5.3);
 * errcode 0 accepts, 300001/300002 refuse like a wrong password (so the
 * lockout applies), anything else means the service is unavailable
 */

static void
ngx_http_youdu_login_auth_reply(void *data, ngx_youdu_cb_status_e status,
    json_t *reply, const char *err)
{
    u_char                  *p;
    json_int_t               code;
    ngx_http_youdu_ctx_t    *ctx = data;
    ngx_http_youdu_login_t  *lg = ctx->data;

    if (status != YD_CB_OK) {
        p = ngx_pnalloc(ctx->pool, ngx_strlen(err) + 1);
        if (p) {
            ngx_cpystrn(p, (u_char *) err, ngx_strlen(err) + 1);
        }
        lg->auth_err = p ? (char *) p : "failed";

    } else if (!json_is_integer(json_object_get(reply, "errcode"))) {
        lg->auth_err = "the reply has no integer errcode";

    } else {
        code = json_integer_value(json_object_get(reply, "errcode"));

        if (code == 0) {
            lg->verify_rc = NGX_OK;

        } else if (code == 300001 || code == 300002) {
            lg->verify_rc = NGX_DECLINED;

        } else {
            p = ngx_pnalloc(ctx->pool, 64);
            if (p) {
                ngx_sprintf(p, "the service answered errcode %L%Z",
                            (int64_t) code);
            }
            lg->auth_err = p ? (char *) p : "failed";
        }
    }

    yd_resume(ctx);
}


static ngx_int_t
ngx_http_youdu_login_third_party(ngx_http_youdu_ctx_t *ctx)
{
    json_t                  *payload;
    ngx_http_youdu_login_t  *lg = ctx->data;

    payload = json_pack("{s:s%,s:s,s:s%}",
                        "fromUser", (char *) lg->account.data,
                        lg->account.len, "msgType", "auth",
                        "passwd", (char *) lg->password.data,
                        lg->password.len);
    if (payload == NULL) {
        return NGX_ERROR;
    }

    lg->verify_rc = NGX_ERROR;

    ngx_youdu_callback_call(ctx->pool, ctx->r->connection->log, &yd_org_app,
                            payload, 0, ngx_http_youdu_login_auth_reply, ctx);
    json_decref(payload);

    return NGX_AGAIN;
}


/* password_md5 (from /cgi/user/setauth): lower-case hex MD5 */

static ngx_uint_t
ngx_http_youdu_login_md5_ok(ngx_str_t *password, ngx_str_t *md5)
{
    u_char     digest[16], hex[32];
    ngx_md5_t  m;

    if (md5->data == NULL || md5->len != 32) {
        return 0;
    }

    ngx_md5_init(&m);
    ngx_md5_update(&m, password->data, password->len);
    ngx_md5_final(digest, &m);
    ngx_hex_dump(hex, digest, 16);

    return ngx_strncasecmp(hex, md5->data, 32) == 0;
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
            "must_change_password, name, account, auth_type, password_md5 "
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

        if (yd_int(res, 0, 8) == 2) {
            return ngx_http_youdu_login_third_party(ctx);
        }

        if (lg->hash.data == NULL
            && ngx_http_youdu_login_md5_ok(&lg->password, yd_cell(res, 0, 9)))
        {
            /* the right password: store it as Argon2id from now on */
            lg->md5_upgrade = 1;
            return ngx_youdu_kdf_hash(ctx->pool, ctx->r->connection->log,
                                      &lg->password, ngx_http_youdu_kdf_done,
                                      ctx)
                   == NGX_OK ? NGX_AGAIN : NGX_ERROR;
        }

        if (lg->hash.data == NULL) {
            lg->hash = yd_dummy_hash;
        }

        return ngx_youdu_kdf_verify(ctx->pool, ctx->r->connection->log,
                                    &lg->hash, &lg->password,
                                    ngx_http_youdu_kdf_done, ctx)
               == NGX_OK ? NGX_AGAIN : NGX_ERROR;

    case 3:
        if (lg->auth_err) {
            ctx->stage = 60;
            return ngx_http_youdu_login_log(ctx, "auth_unavailable");
        }

        if (lg->md5_upgrade) {
            if (lg->verify_rc != NGX_OK) {
                return NGX_ERROR;
            }

            lg->new_hash = lg->hash;
        }

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
            "UPDATE users SET failed_logins = 0, locked_until = NULL, "
            "password_hash = COALESCE(?, password_hash), "
            "password_md5 = IF(? IS NULL, password_md5, NULL) "
            "WHERE id = ?", "nni", &lg->new_hash, &lg->new_hash, lg->uid);

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

    case 61:
        return yd_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                        YD_ERR_AUTH_UNAVAILABLE,
                        "the authentication service of this account is "
                        "unavailable (%s): try again later", lg->auth_err);

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
            "u.must_change_password, IFNULL(s.revoke_reason = 'wipe', 0) "
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

        if (yd_int(res, 0, 2) == 0 && yd_int(res, 0, 7)) {
            /* told even after the refresh token expired: the row stays */
            return yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_DEVICE_WIPED,
                            YD_DEVICE_WIPED_MSG);
        }

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
        ctx->recheck_uid = ctx->me.uid;
        return yd_ok(ctx, NULL);
    }
}



const ngx_http_youdu_route_t  ngx_http_youdu_auth_routes[] = {
    { NGX_HTTP_POST, "/auth/login", ngx_http_youdu_login, YD_AUTH_NONE,
      16 * 1024, 0 },
    { NGX_HTTP_POST, "/auth/refresh", ngx_http_youdu_refresh, YD_AUTH_NONE,
      16 * 1024, 0 },
    { NGX_HTTP_POST, "/auth/logout", ngx_http_youdu_logout, YD_AUTH_USER,
      16 * 1024, YD_ROUTE_PW_CHANGE },
    { 0, NULL, NULL, 0, 0, 0 }
};
