
/*
 * youdu: single sign-on (PROTOCOL.md 4.9).
 *
 * POST /api/v1/sso/token (a signed-in user) gives a random URL-safe token
 * valid 3 minutes, once, bound to his session; his client puts it into an
 * app's home URL ($TOKEN$).  The app's server trades it for his identity
 * with GET /cgi/identify?token= (no app, no crypto, plain JSON).  Only a
 * hash is stored.
 */


#include "ngx_http_youdu_cgi_group.h"
#include "ngx_http_youdu_apps.h"


#define YD_SSO_TOKEN_TTL      180
#define YD_SSO_TOKEN_MAX      128

/* identify status codes (PROTOCOL.md 4.9) */
#define YD_SSO_OK             0
#define YD_SSO_BUSY           1
#define YD_SSO_BAD_REQUEST    2
#define YD_SSO_BAD_TOKEN      10


static ngx_str_t  yd_sso_json_type = ngx_string("application/json");


/* {"status":{"code","message","createdAt"},"userInfo"?}: exactly this
 * shape (no errcode), HTTP 200 */

static ngx_int_t
yd_sso_reply(ngx_http_youdu_ctx_t *ctx, ngx_int_t code, const char *message,
    json_t *user)
{
    u_char      at[32];
    char       *s;
    json_t     *obj, *status;
    ngx_tm_t    tm;
    ngx_int_t   rc;

    ngx_gmtime(ngx_time(), &tm);

    status = json_object();
    obj = json_object();
    if (status == NULL || obj == NULL) {
        json_decref(status);
        json_decref(obj);
        json_decref(user);
        return NGX_ERROR;
    }

    json_object_set_new(status, "code", json_integer(code));
    json_object_set_new(status, "message", json_string(message));
    json_object_set_new(status, "createdAt",
        json_stringn((char *) at,
                     ngx_sprintf(at, "%4d-%02d-%02d %02d:%02d:%02d",
                                 tm.ngx_tm_year, tm.ngx_tm_mon,
                                 tm.ngx_tm_mday, tm.ngx_tm_hour,
                                 tm.ngx_tm_min, tm.ngx_tm_sec)
                     - at));

    json_object_set_new(obj, "status", status);

    if (user) {
        json_object_set_new(obj, "userInfo", user);
    }

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        return NGX_ERROR;
    }

    rc = yd_send_raw(ctx, NGX_HTTP_OK, &yd_sso_json_type, NULL, NULL,
                     (u_char *) s, ngx_strlen(s));
    free(s);

    return rc;
}


/* GET /cgi/identify?token= */

ngx_int_t
ngx_http_youdu_cgi_identify(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *u;
    ngx_int_t               rc;
    ngx_str_t               token, *hash;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        rc = yd_cgi_str(ctx, "token", &token);

        if (rc == NGX_DECLINED) {
            return yd_sso_reply(ctx, YD_SSO_BAD_REQUEST,
                                "token is missing: pass ?token=<the "
                                "$TOKEN$ of the app URL>", NULL);
        }

        if (rc != NGX_OK || token.len > YD_SSO_TOKEN_MAX) {
            return yd_sso_reply(ctx, YD_SSO_BAD_TOKEN,
                                "bad or expired token", NULL);
        }

        hash = ngx_palloc(ctx->pool, sizeof(ngx_str_t));
        if (hash == NULL
            || ngx_youdu_sha256_hex(ctx->pool, &token, hash) != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctx->data = hash;

        /* once: the first caller takes it */
        return yd_sql(ctx,
            "UPDATE sso_tokens SET used_at = UTC_TIMESTAMP() "
            "WHERE token_hash = ? AND used_at IS NULL "
            "AND expires_at > UTC_TIMESTAMP()", "s", hash);

    case 1:
        if (res->affected == 0) {
            return yd_sso_reply(ctx, YD_SSO_BAD_TOKEN,
                                "bad or expired token (a token is valid "
                                "3 minutes, once)", NULL);
        }

        /* the session that asked must still be signed in */
        return yd_sql(ctx,
            "SELECT u.id, u.account, u.name, u.gender, IFNULL(u.mobile, ''), "
            "u.phone, u.email, IFNULL(d.dept_id, 0), IFNULL(d.position, ''), "
            "u.title "
            "FROM sso_tokens t "
            "JOIN sessions s ON s.id = t.session_id AND s.revoked_at IS NULL "
            "AND s.refresh_expires > UTC_TIMESTAMP() "
            "JOIN users u ON u.id = t.user_id AND u.enable_state = 1 "
            "LEFT JOIN user_depts d ON d.user_id = u.id AND d.dept_id = ("
            "SELECT MIN(dept_id) FROM user_depts WHERE user_id = u.id) "
            "WHERE t.token_hash = ?", "s", (ngx_str_t *) ctx->data);

    default:
        if (res->nrows == 0) {
            return yd_sso_reply(ctx, YD_SSO_BAD_TOKEN,
                                "bad or expired token (signed out or "
                                "disabled)", NULL);
        }

        u = json_object();
        if (u == NULL) {
            return NGX_ERROR;
        }

        /* the Java SDK reads these unconditionally: never null */
        json_object_set_new(u, "gid", yd_json_cell_int(res, 0, 0));
        json_object_set_new(u, "account", yd_json_cell(res, 0, 1));
        json_object_set_new(u, "chsName", yd_json_cell(res, 0, 2));
        json_object_set_new(u, "engName", json_string(""));
        json_object_set_new(u, "gender", yd_json_cell_int(res, 0, 3));
        json_object_set_new(u, "orgId", yd_json_cell_int(res, 0, 7));
        json_object_set_new(u, "mobile", yd_json_cell(res, 0, 4));
        json_object_set_new(u, "phone", yd_json_cell(res, 0, 5));
        json_object_set_new(u, "email", yd_json_cell(res, 0, 6));
        json_object_set_new(u, "position",
                            yd_cell(res, 0, 8)->len
                            ? yd_json_cell(res, 0, 8)
                            : yd_json_cell(res, 0, 9));

        return yd_sso_reply(ctx, YD_SSO_OK, "ok", u);
    }
}


/* POST /api/v1/sso/token {"app_id"?} -> {"token","expires_in","url"?} */

typedef struct {
    ngx_str_t   app_id;
    ngx_str_t   token;
    ngx_str_t  *app_pk;
    ngx_str_t   home_url;
} yd_sso_t;


static json_t *
yd_sso_url(ngx_http_youdu_ctx_t *ctx, yd_sso_t *st)
{
    u_char     *p, *end, *hit, *out, *o;
    size_t      n;
    static u_char  mark[] = "$TOKEN$";

    p = st->home_url.data;
    end = p + st->home_url.len;

    for (n = 0, hit = p; (hit = ngx_strlcasestrn(hit, end, mark, 6));
         hit += 7)
    {
        n++;
    }

    out = ngx_pnalloc(ctx->pool, st->home_url.len + n * st->token.len + 1);
    if (out == NULL) {
        return NULL;
    }

    for (o = out; (hit = ngx_strlcasestrn(p, end, mark, 6)); p = hit + 7) {
        o = ngx_cpymem(o, p, hit - p);
        o = ngx_cpymem(o, st->token.data, st->token.len);
    }

    o = ngx_cpymem(o, p, end - p);

    return json_stringn((char *) out, o - out);
}


static ngx_int_t
ngx_http_youdu_sso_token(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj;
    ngx_str_t               hash;
    ngx_uint_t              present;
    yd_sso_t               *st;
    ngx_youdu_db_result_t  *res = ctx->res;

    st = ctx->data;

    switch (ctx->stage) {

    case 0:
        st = ngx_pcalloc(ctx->pool, sizeof(yd_sso_t));
        if (st == NULL) {
            return NGX_ERROR;
        }

        ctx->data = st;
        present = 0;

        if (ctx->body
            && yd_json_str(ctx, ctx->body, "app_id", 0, 64, &st->app_id,
                           &present) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (!present) {
            ngx_str_set(&st->app_id, "");
        }

        /* an unknown id matches nothing; the statement runs anyway */
        return yd_sql(ctx,
            "SELECT id, home_url, " YD_APP_VISIBLE_COND("?", "apps.id") " "
            "FROM apps WHERE app_id = ? AND enabled = 1",
            "iis", ctx->me.uid, ctx->me.uid, &st->app_id);

    case 1:
        if (st->app_id.len) {
            if (res->nrows == 0) {
                return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                                "no enabled app \"%V\"", &st->app_id);
            }

            if (!yd_int(res, 0, 2)) {
                return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                                "the app \"%V\" is not in your app portal",
                                &st->app_id);
            }

            st->app_pk = yd_cell(res, 0, 0);
            st->home_url = *yd_cell(res, 0, 1);
        }

        if (ngx_youdu_random_token(ctx->pool, &st->token) != NGX_OK
            || ngx_youdu_sha256_hex(ctx->pool, &st->token, &hash) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "INSERT INTO sso_tokens (token_hash, user_id, session_id, app_pk, "
            "expires_at) VALUES (?, ?, ?, ?, "
            "UTC_TIMESTAMP() + INTERVAL ? SECOND)",
            "siini", &hash, ctx->me.uid, ctx->me.sid, st->app_pk,
            (int64_t) YD_SSO_TOKEN_TTL);

    case 2:
        /* expired and used tokens of this user go after a while */
        return yd_sql(ctx,
            "DELETE FROM sso_tokens WHERE user_id = ? "
            "AND expires_at < UTC_TIMESTAMP() - INTERVAL 1 HOUR LIMIT 100",
            "i", ctx->me.uid);

    default:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "token", yd_jstr(&st->token));
        json_object_set_new(obj, "expires_in",
                            json_integer(YD_SSO_TOKEN_TTL));

        if (st->app_id.len) {
            json_object_set_new(obj, "url", st->home_url.len
                                            ? yd_sso_url(ctx, st)
                                            : json_null());
        }

        return yd_ok(ctx, obj);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_sso_routes[] = {
    { NGX_HTTP_POST, "/sso/token", ngx_http_youdu_sso_token,
      YD_AUTH_USER, 4096, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
