
/*
 * youdu HTTP module: who is asking.  Bearer access tokens are checked
 * against the session row, so a revoked device or a disabled account is out
 * at its next request (a remotely wiped one is told to delete its data).
 */


#include "ngx_http_youdu_module.h"


#define YD_LAST_SEEN_EVERY   60       /* seconds between last_seen writes */


ngx_int_t ngx_http_youdu_run(ngx_http_youdu_ctx_t *ctx);


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
        "TIMESTAMPDIFF(SECOND, s.last_seen, UTC_TIMESTAMP()), "
        "IFNULL(s.revoke_reason = 'wipe', 0) "
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

    if (res->nrows && yd_int(res, 0, 0) == 0 && yd_int(res, 0, 7)) {
        yd_error(ctx, NGX_HTTP_UNAUTHORIZED, YD_ERR_DEVICE_WIPED,
                 YD_DEVICE_WIPED_MSG);
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


