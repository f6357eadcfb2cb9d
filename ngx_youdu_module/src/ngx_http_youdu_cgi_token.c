
/*
 * youdu: POST /cgi/gettoken (PROTOCOL.md section 3).
 *
 * The envelope's encrypt is the current Unix time; the reply is a fresh
 * token valid for 7,200 s.  Earlier tokens stay valid (every SDK client
 * object keeps its own), and tokens are rows, so a restart keeps them.
 * Only a hash is stored.
 */


#include "ngx_http_youdu_cgi.h"


static ngx_int_t ngx_http_youdu_cgi_gettoken(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_token_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/gettoken",
        ngx_http_youdu_cgi_gettoken, YD_AUTH_NONE, 64 * 1024,
        YD_CGI_NO_TOKEN|YD_CGI_TEXT_PAYLOAD|YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NORMAL, 0 },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


typedef struct {
    ngx_str_t  token;
} ngx_http_youdu_gettoken_t;


static ngx_int_t
ngx_http_youdu_cgi_gettoken(ngx_http_youdu_ctx_t *ctx)
{
    size_t                      i;
    json_t                     *data;
    ngx_str_t                   hash, *ts;
    ngx_http_youdu_cgi_t       *cgi = ctx->cgi;
    ngx_http_youdu_gettoken_t  *gt;

    switch (ctx->stage) {

    case 0:
        /* the time is not checked against ours (clients drift, and the
         * reply is readable only with the key), but it must be one */
        ts = &cgi->payload;

        if (ts->len == 0 || ts->len > 20) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_ENCRYPT,
                               "encrypt must hold the current Unix time "
                               "in seconds");
        }

        for (i = 0; i < ts->len; i++) {
            if (ts->data[i] < '0' || ts->data[i] > '9') {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_ENCRYPT,
                                   "encrypt must hold the current Unix "
                                   "time in seconds");
            }
        }

        gt = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_gettoken_t));
        if (gt == NULL) {
            return NGX_ERROR;
        }

        ctx->data = gt;

        if (ngx_youdu_random_token(ctx->pool, &gt->token) != NGX_OK
            || ngx_youdu_sha256_hex(ctx->pool, &gt->token, &hash) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "INSERT INTO app_tokens (token_hash, app_pk, expires_at) "
            "VALUES (?, ?, UTC_TIMESTAMP() + INTERVAL ? SECOND)",
            "sii", &hash, cgi->app_pk, (int64_t) YD_CGI_TOKEN_TTL);

    case 1:
        /* expired tokens are kept a day, so a late caller hears
         * "expired" (100002) rather than "unknown" */
        return yd_sql(ctx,
            "DELETE FROM app_tokens WHERE app_pk = ? "
            "AND expires_at < UTC_TIMESTAMP() - INTERVAL 1 DAY LIMIT 1000",
            "i", cgi->app_pk);

    default:
        gt = ctx->data;

        data = json_object();
        if (data == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(data, "accessToken",
                            json_stringn((char *) gt->token.data,
                                         gt->token.len));
        json_object_set_new(data, "expireIn",
                            json_integer(YD_CGI_TOKEN_TTL));

        return yd_cgi_ok(ctx, data);
    }
}
