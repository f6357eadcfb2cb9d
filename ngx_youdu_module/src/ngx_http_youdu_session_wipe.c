
/*
 * youdu HTTP module: remote wipe of a device (a lost laptop or phone).
 * The session is revoked like a sign-out and its revoke_reason becomes
 * 'wipe'; its access and refresh tokens then get 40108 instead of 40103
 * (ngx_http_youdu_auth.c, the refresh in ..._auth_login.c) and its push
 * connections are kicked with "wipe": true (ngx_youdu_push_auth.c), which
 * tells the device to delete its local data.
 *
 * A session that was already signed out may still be wiped as long as its
 * refresh token has not expired: the device may come back with it.
 */


#include "ngx_http_youdu_accounts.h"


static ngx_int_t ngx_http_youdu_wipe_own(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_wipe_one(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_wipe_all(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_route_t  ngx_http_youdu_wipe_routes[] = {
    { NGX_HTTP_POST, "/auth/sessions/:id/wipe", ngx_http_youdu_wipe_own,
      YD_AUTH_USER, 16 * 1024, 0 },
    { NGX_HTTP_POST, "/admin/users/:id/sessions/:sid/wipe",
      ngx_http_youdu_wipe_one, YD_AUTH_ADMIN, 16 * 1024, 0 },
    { NGX_HTTP_POST, "/admin/users/:id/wipe", ngx_http_youdu_wipe_all,
      YD_AUTH_ADMIN, 16 * 1024, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};


/* POST /auth/sessions/:id/wipe: one of the caller's own devices */

static ngx_int_t
ngx_http_youdu_wipe_own(ngx_http_youdu_ctx_t *ctx)
{
    int64_t  *sid = ctx->data;

    switch (ctx->stage) {

    case 0:
        sid = ngx_palloc(ctx->pool, sizeof(int64_t));
        if (sid == NULL) {
            return NGX_ERROR;
        }

        ctx->data = sid;

        if (yd_arg_int(ctx, 0, sid) != NGX_OK) {
            return NGX_DONE;
        }

        /* only the owner's own sessions match */
        return yd_sql(ctx,
            YD_WIPE_SET "WHERE id = ? AND user_id = ? AND " YD_WIPE_PENDING,
            "ii", *sid, ctx->me.uid);

    default:
        if (ctx->res->affected == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_SESSION_NOT_FOUND,
                            "no such session of yours (or already wiped)");
        }

        ctx->recheck_uid = ctx->me.uid;

        return yd_ok(ctx, json_pack("{sIsb}", "session_id", (json_int_t) *sid,
                                    "wipe", 1));
    }
}


/* POST /admin/users/:id/sessions/:sid/wipe: as DELETE .../sessions/:sid */

static ngx_int_t
ngx_http_youdu_wipe_one(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_acct_end_session(ctx, 1);
}


/*
 * POST /admin/users/:id/wipe: every device of the user.  a->count: the
 * sessions that were active (now revoked), a->sid: those that were signed
 * out already and are marked too.
 */

static ngx_int_t
ngx_http_youdu_wipe_all(ngx_http_youdu_ctx_t *ctx)
{
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

        /* as DELETE /admin/users/:id/sessions, with the reason 'wipe' */
        return yd_sql(ctx,
            YD_WIPE_SET "WHERE user_id = ? AND revoked_at IS NULL",
            "i", a->uid);

    case 3:
        a->count = (int64_t) ctx->res->affected;

        return yd_sql(ctx,
            YD_WIPE_SET "WHERE user_id = ? AND revoked_at IS NOT NULL AND "
            YD_WIPE_PENDING, "i", a->uid);

    case 4:
        a->sid = (int64_t) ctx->res->affected;
        ctx->recheck_uid = a->uid;

        return ngx_http_youdu_acct_audit(ctx, "user.wipe",
                   json_pack("{sIsI}", "sessions_revoked",
                             (json_int_t) a->count, "sessions_wiped",
                             (json_int_t) (a->count + a->sid)));

    case 5:
        return yd_commit(ctx);

    default:
        return yd_ok(ctx, json_pack("{sIsIsIsb}",
                                    "user_id", (json_int_t) a->uid,
                                    "sessions_revoked", (json_int_t) a->count,
                                    "sessions_wiped",
                                    (json_int_t) (a->count + a->sid),
                                    "wipe", 1));
    }
}
