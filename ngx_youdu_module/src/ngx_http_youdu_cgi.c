
/*
 * youdu: the /cgi location (PROTOCOL.md sections 1-3, 7).
 *
 * Flow: route lookup (case-insensitive, GET or POST) -> body -> envelope
 * ({"buin","appId","encrypt"} or {"app_id","msg_encrypt"}) -> the app, by
 * access token or by appId (one statement) -> rights -> decrypt -> the
 * route's handler at stage 0.  Errors are HTTP 200 with an errcode, as
 * every SDK expects.
 */


#include "ngx_http_youdu_cgi.h"
#include "ngx_youdu_utf8.h"


#define YD_CGI_BODY_LIMIT   (2 * 1024 * 1024)

/* framework phases (ctx->ctx->cgi_phase) */
#define YD_CGI_PHASE_NONE   0
#define YD_CGI_PHASE_APP    1


static const ngx_http_youdu_cgi_route_t *ngx_http_youdu_cgi_find(
    ngx_str_t *path);
static void ngx_http_youdu_cgi_body_ready(ngx_http_request_t *r);
static ngx_int_t ngx_http_youdu_cgi_envelope(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_notice_envelope(
    ngx_http_youdu_ctx_t *ctx, json_t *body);
static ngx_int_t ngx_http_youdu_cgi_form_arg(ngx_http_youdu_ctx_t *ctx,
    const char *name, ngx_str_t *out);
static ngx_int_t ngx_http_youdu_cgi_find_app(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_app_found(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_decrypt(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_early(ngx_http_request_t *r,
    ngx_int_t errcode, const char *msg);
static void ngx_http_youdu_cgi_cleanup(void *data);
static ngx_int_t ngx_http_youdu_cgi_reply(ngx_http_youdu_ctx_t *ctx,
    json_t *obj);



const ngx_http_youdu_cgi_route_t  *ngx_http_youdu_cgi_tables[] = {
    ngx_http_youdu_cgi_token_routes,
    ngx_http_youdu_cgi_sync_routes,
    ngx_http_youdu_cgi_sqlite_routes,
    ngx_http_youdu_cgi_media_routes,
    ngx_http_youdu_cgi_avatar_routes,
    ngx_http_youdu_cgi_msg_routes,
    ngx_http_youdu_cgi_notice_routes,
    ngx_http_youdu_cgi_group_routes,
    ngx_http_youdu_cgi_org_routes,
    NULL
};


static ngx_str_t  yd_cgi_json_type = ngx_string("application/json");


/* called by the youdu_api handler when the location is "youdu_cgi" */

ngx_int_t
ngx_http_youdu_cgi_begin(ngx_http_youdu_ctx_t *ctx)
{
    off_t                              limit;
    ngx_int_t                          rc;
    ngx_pool_cleanup_t                *cln;
    ngx_http_request_t                *r = ctx->r;
    ngx_http_youdu_cgi_t              *cgi;
    const ngx_http_youdu_cgi_route_t  *route;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_POST))) {
        return ngx_http_youdu_cgi_early(r, YD_CGI_INVALID_REQUEST,
                                        "use GET or POST");
    }

    route = ngx_http_youdu_cgi_find(&ctx->path);

    if (route == NULL) {
        return ngx_http_youdu_cgi_early(r, YD_CGI_INVALID_REQUEST,
                                        "no such API under /cgi/ "
                                        "(see docs/cgi.md)");
    }

    cgi = ngx_pcalloc(r->pool, sizeof(ngx_http_youdu_cgi_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (cgi == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_youdu_cgi_cleanup;
    cln->data = cgi;

    cgi->route = route;
    ctx->cgi = cgi;
    ctx->route = &route->route;

    if (route->route.flags & YD_ROUTE_FILE_BODY) {
        /* a multipart upload carries base64: 4/3 of the file, and the
         * form's other fields */
        limit = route->route.body_limit
                ? (off_t) route->route.body_limit
                : ngx_http_youdu_upload_limit(r,
                      ngx_http_get_module_loc_conf(r, ngx_http_youdu_module))
                  / 3 * 4 + 65536;

        r->request_body_in_file_only = 1;
        r->request_body_in_persistent_file = 1;
        r->request_body_in_clean_file = 1;
        r->request_body_file_log_level = 0;

    } else {
        limit = route->route.body_limit ? (off_t) route->route.body_limit
                                        : YD_CGI_BODY_LIMIT;
        r->request_body_in_single_buf = 1;
    }

    if (r->headers_in.content_length_n > limit) {
        return ngx_http_youdu_cgi_early(r, YD_CGI_INVALID_REQUEST,
                                        "request body too large");
    }

    ctx->body_limit = limit;

    rc = ngx_http_read_client_request_body(r, ngx_http_youdu_cgi_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_youdu_cgi_cleanup(void *data)
{
    ngx_http_youdu_cgi_t  *cgi = data;

    if (cgi->data) {
        json_decref(cgi->data);
        cgi->data = NULL;
    }

    /* the key must not outlive the request in freed memory */
    ngx_explicit_memzero(cgi->key, sizeof(cgi->key));
}


/* "/msg/send", "/MSG/Send/", "/user.quit" (a table row of its own) */

static const ngx_http_youdu_cgi_route_t *
ngx_http_youdu_cgi_find(ngx_str_t *path)
{
    size_t                              len, plen;
    const ngx_http_youdu_cgi_route_t  **t, *rt;

    len = path->len;

    while (len > 1 && path->data[len - 1] == '/') {
        len--;
    }

    for (t = ngx_http_youdu_cgi_tables; *t; t++) {
        for (rt = *t; rt->route.pattern; rt++) {
            plen = ngx_strlen(rt->route.pattern);

            if (plen == len
                && ngx_strncasecmp(path->data, (u_char *) rt->route.pattern,
                                   len) == 0)
            {
                return rt;
            }
        }
    }

    return NULL;
}


static void
ngx_http_youdu_cgi_body_ready(ngx_http_request_t *r)
{
    ngx_http_youdu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_youdu_module);

    if (ngx_http_youdu_collect_body(ctx) != NGX_OK) {
        return;   /* replied */
    }

    ctx->client_ip = r->connection->addr_text;

    if (ngx_http_youdu_cgi_envelope(ctx) != NGX_OK) {
        return;   /* replied */
    }

    if (ctx->route->flags & YD_CGI_NO_APP) {
        (void) ngx_http_youdu_run(ctx);
        return;
    }

    if (ngx_http_youdu_cgi_find_app(ctx) == NGX_ERROR) {
        yd_cgi_fail(ctx, YD_CGI_INTERNALERR, "internal error");
    }
}


/* the envelope fields, with the section 6 codes for each mistake */

static ngx_int_t
ngx_http_youdu_cgi_envelope(ngx_http_youdu_ctx_t *ctx)
{
    json_t                *body, *v;
    json_error_t           err;
    ngx_http_youdu_cgi_t  *cgi = ctx->cgi;

    if (cgi->route->envelope == YD_CGI_ENV_NONE) {
        return NGX_OK;
    }

    if (ctx->raw.len == 0) {
        if (ctx->route->flags & YD_CGI_NEED_PAYLOAD) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "this API needs a JSON body "
                               "{\"buin\",\"appId\",\"encrypt\"}");
        }

        return NGX_OK;
    }

    if (cgi->route->envelope == YD_CGI_ENV_NOTICE
        && ctx->raw.data[0] != '{')
    {
        /* a form post (app_id=...&msg_encrypt=...) */
        return ngx_http_youdu_cgi_notice_envelope(ctx, NULL);
    }

    /* any Content-Type: SDKs differ; Content-Encoding is ignored (Java
     * sends "UTF-8" there) */
    body = json_loadb((char *) ctx->raw.data, ctx->raw.len,
                      JSON_REJECT_DUPLICATES, &err);

    if (body == NULL || !json_is_object(body)) {
        if (body) {
            json_decref(body);
        }

        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_JSON,
                           "the body is not a JSON object (line %d "
                           "column %d: %s)", err.line, err.column, err.text);
    }

    /* the framework frees it with the request */
    ctx->body = body;

    if (cgi->route->envelope == YD_CGI_ENV_NOTICE) {
        return ngx_http_youdu_cgi_notice_envelope(ctx, body);
    }

    if (!(ctx->route->flags & YD_CGI_NEED_PAYLOAD)
        && yd_cgi_obj_get(body, "buin") == NULL
        && yd_cgi_obj_get(body, "appId") == NULL
        && yd_cgi_obj_get(body, "encrypt") == NULL)
    {
        /* a GET-style route posted with "{}" or a plain JSON body */
        return NGX_OK;
    }

    v = yd_cgi_obj_get(body, "buin");

    if (v == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_BUIN, "buin is missing");
    }

    if (json_is_integer(v)) {
        cgi->buin = json_integer_value(v);

    } else if (json_is_string(v) && json_string_length(v) > 0
               && json_string_length(v) < 19
               && ngx_atoof((u_char *) json_string_value(v),
                            json_string_length(v)) != NGX_ERROR)
    {
        /* a PHP config value may be a numeric string */
        cgi->buin = ngx_atoof((u_char *) json_string_value(v),
                              json_string_length(v));

    } else {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_BUIN,
                           "buin must be an integer");
    }

    v = yd_cgi_obj_get(body, "appId");

    if (v == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_APPID, "appId is missing");
    }

    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > 64)
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_APPID,
                           "appId must be a string of 1 to 64 characters");
    }

    cgi->env_app_id.data = (u_char *) json_string_value(v);
    cgi->env_app_id.len = json_string_length(v);

    v = yd_cgi_obj_get(body, "encrypt");

    if (v == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_ENCRYPT, "encrypt is missing");
    }

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_ENCRYPT,
                           "encrypt must be a non-empty base64 string");
    }

    cgi->encrypt.data = (u_char *) json_string_value(v);
    cgi->encrypt.len = json_string_length(v);

    return NGX_OK;
}


/* {"app_id","msg_encrypt"}, "app_Id", {"form_params":{...}} or a form */

static ngx_int_t
ngx_http_youdu_cgi_notice_envelope(ngx_http_youdu_ctx_t *ctx, json_t *body)
{
    json_t                *v, *inner;
    ngx_http_youdu_cgi_t  *cgi = ctx->cgi;

    if (body == NULL) {
        if (ngx_http_youdu_cgi_form_arg(ctx, "app_id", &cgi->env_app_id)
            != NGX_OK
            || ngx_http_youdu_cgi_form_arg(ctx, "msg_encrypt", &cgi->encrypt)
               != NGX_OK)
        {
            return NGX_DONE;
        }

    } else {
        inner = yd_cgi_obj_get(body, "form_params");

        if (json_is_object(inner)) {
            body = inner;
        }

        v = yd_cgi_obj_get(body, "app_id");

        if (v == NULL) {
            v = yd_cgi_obj_get(body, "appId");
        }

        if (v && !json_is_string(v)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_APPID,
                               "app_id must be a string");
        }

        if (v) {
            cgi->env_app_id.data = (u_char *) json_string_value(v);
            cgi->env_app_id.len = json_string_length(v);
        }

        v = yd_cgi_obj_get(body, "msg_encrypt");

        if (v == NULL) {
            v = yd_cgi_obj_get(body, "encrypt");
        }

        if (v && !json_is_string(v)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_ENCRYPT,
                               "msg_encrypt must be a string");
        }

        if (v) {
            cgi->encrypt.data = (u_char *) json_string_value(v);
            cgi->encrypt.len = json_string_length(v);
        }
    }

    if (cgi->env_app_id.len == 0) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_APPID, "app_id is missing");
    }

    if (cgi->env_app_id.len > 64) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_APPID,
                           "app_id is longer than 64 characters");
    }

    if (cgi->encrypt.len == 0) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_ENCRYPT, "msg_encrypt is missing");
    }

    return NGX_OK;
}


/* one field of an application/x-www-form-urlencoded body */

static ngx_int_t
ngx_http_youdu_cgi_form_arg(ngx_http_youdu_ctx_t *ctx, const char *name,
    ngx_str_t *out)
{
    u_char  *p, *end, *v, *dst, *src;
    size_t   nlen;

    nlen = ngx_strlen(name);
    p = ctx->raw.data;
    end = p + ctx->raw.len;

    out->len = 0;

    while (p < end) {
        v = ngx_strlchr(p, end, '&');
        if (v == NULL) {
            v = end;
        }

        if ((size_t) (v - p) > nlen && p[nlen] == '='
            && ngx_strncasecmp(p, (u_char *) name, nlen) == 0)
        {
            out->data = ngx_pnalloc(ctx->pool, v - p);
            if (out->data == NULL) {
                return yd_cgi_fail(ctx, YD_CGI_INTERNALERR, "out of memory");
            }

            /* base64 has no spaces: a raw '+' stays a '+' */
            dst = out->data;
            src = p + nlen + 1;
            ngx_unescape_uri(&dst, &src, v - p - nlen - 1, 0);
            out->len = dst - out->data;
            return NGX_OK;
        }

        p = v + 1;
    }

    return NGX_OK;
}


/* the app: by access token, else by the envelope's appId */

static ngx_int_t
ngx_http_youdu_cgi_find_app(ngx_http_youdu_ctx_t *ctx)
{
    ngx_str_t              hash, raw;
    ngx_http_youdu_cgi_t  *cgi = ctx->cgi;

    ctx->cgi_phase = YD_CGI_PHASE_APP;

    if (ctx->route->flags & YD_CGI_NO_TOKEN
        || cgi->route->envelope == YD_CGI_ENV_NOTICE)
    {
        if (cgi->env_app_id.len == 0) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_APPID,
                               "send the envelope {\"buin\",\"appId\","
                               "\"encrypt\"}");
        }

        return yd_sql(ctx,
            "SELECT id, app_id, name, rights, aes_key, enabled, 1 "
            "FROM apps WHERE app_id = ?", "s", &cgi->env_app_id);
    }

    if (ngx_http_arg(ctx->r, (u_char *) "accessToken", 11, &raw) != NGX_OK
        || raw.len == 0)
    {
        return yd_cgi_fail(ctx, YD_CGI_MISS_ACCESSTOKEN,
                           "accessToken is missing: get one from "
                           "/cgi/gettoken and pass it in the query");
    }

    if (raw.len > 128) {
        return yd_cgi_fail(ctx, YD_CGI_ACCESSTOKEN_NOTEXIST,
                           "unknown accessToken");
    }

    cgi->token = raw;

    if (ngx_youdu_sha256_hex(ctx->pool, &raw, &hash) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a minute of grace for clients that refresh only after expiry */
    return yd_sql(ctx,
        "SELECT a.id, a.app_id, a.name, a.rights, a.aes_key, a.enabled, "
        "t.expires_at > UTC_TIMESTAMP() - INTERVAL 60 SECOND "
        "FROM app_tokens t JOIN apps a ON a.id = t.app_pk "
        "WHERE t.token_hash = ?", "s", &hash);
}


void
ngx_http_youdu_cgi_resume(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_youdu_cgi_app_found(ctx);

    if (rc == NGX_OK) {
        (void) ngx_http_youdu_run(ctx);
        return;
    }

    if (rc == NGX_ERROR) {
        yd_cgi_fail(ctx, YD_CGI_INTERNALERR, "internal error");
    }
}


static ngx_int_t
ngx_http_youdu_cgi_app_found(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                rights;
    ngx_str_t             *key;
    ngx_youdu_db_result_t *res = ctx->res;
    ngx_http_youdu_cgi_t  *cgi = ctx->cgi;

    ctx->cgi_phase = YD_CGI_PHASE_NONE;

    if (res->nrows == 0) {
        if (cgi->token.len) {
            return yd_cgi_fail(ctx, YD_CGI_ACCESSTOKEN_NOTEXIST,
                               "unknown accessToken: get a new one from "
                               "/cgi/gettoken");
        }

        return yd_cgi_fail(ctx, YD_CGI_INVALID_APPID,
                           "unknown appId \"%V\"", &cgi->env_app_id);
    }

    if (yd_int(res, 0, 6) == 0) {
        return yd_cgi_fail(ctx, YD_CGI_ACCESSTOKEN_EXPIRED,
                           "the accessToken expired: get a new one from "
                           "/cgi/gettoken");
    }

    cgi->app_pk = yd_int(res, 0, 0);
    cgi->app_id = *yd_cell(res, 0, 1);
    cgi->app_name = *yd_cell(res, 0, 2);
    rights = yd_int(res, 0, 3);
    cgi->rights = rights < 0 ? 0 : (ngx_uint_t) rights;
    key = yd_cell(res, 0, 4);

    if (yd_int(res, 0, 5) == 0) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_APPID,
                           "the app \"%V\" is disabled", &cgi->app_id);
    }

    if (key->data == NULL
        || ngx_youdu_cgi_key_decode(key, cgi->key) != NGX_OK)
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_APPID,
                           "the app \"%V\" has no EncodingAESKey yet: an "
                           "admin creates one in the admin console",
                           &cgi->app_id);
    }

    if (cgi->env_app_id.len
        && (cgi->env_app_id.len != cgi->app_id.len
            || ngx_strncmp(cgi->env_app_id.data, cgi->app_id.data,
                           cgi->app_id.len) != 0))
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_APPID,
                           "appId \"%V\" does not match the accessToken's "
                           "app", &cgi->env_app_id);
    }

    if ((cgi->rights & cgi->route->rights) != cgi->route->rights) {
        return yd_cgi_fail(ctx, YD_CGI_NORIGHT,
                           "the app \"%V\" may not call this API",
                           &cgi->app_id);
    }

    return ngx_http_youdu_cgi_decrypt(ctx);
}


static ngx_int_t
ngx_http_youdu_cgi_decrypt(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *data;
    json_error_t              err;
    ngx_http_youdu_cgi_t     *cgi = ctx->cgi;
    ngx_youdu_cgi_crypt_rc_e  rc;

    if (cgi->encrypt.len == 0) {
        if (ctx->route->flags & YD_CGI_NEED_PAYLOAD) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_ENCRYPT,
                               "encrypt is missing");
        }

        return NGX_OK;
    }

    rc = ngx_youdu_cgi_decrypt(ctx->pool, cgi->key, &cgi->encrypt,
                               &cgi->app_id, &cgi->payload, NULL);

    switch (rc) {

    case YD_CGI_CRYPT_OK:
        break;

    case YD_CGI_CRYPT_BAD_APPID:
        return yd_cgi_fail(ctx, YD_CGI_INVALID_APPID,
                           "the ciphertext was made for another appId");

    case YD_CGI_CRYPT_BAD_BASE64:
        return yd_cgi_fail(ctx, YD_CGI_INVALID_ENCRYPT,
                           "encrypt is not base64 of whole AES blocks");

    case YD_CGI_CRYPT_BAD_PADDING:
    case YD_CGI_CRYPT_BAD_LENGTH:
        return yd_cgi_fail(ctx, YD_CGI_INVALID_ENCRYPT,
                           "encrypt does not decrypt with this app's "
                           "EncodingAESKey (check the key, the 32-byte "
                           "padding and the IV)");

    default:
        return NGX_ERROR;
    }

    if (ctx->route->flags & YD_CGI_TEXT_PAYLOAD) {
        return NGX_OK;
    }

    data = json_loadb((char *) cgi->payload.data, cgi->payload.len,
                      JSON_REJECT_DUPLICATES, &err);

    if (data == NULL || !json_is_object(data)) {
        if (data) {
            json_decref(data);
        }

        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_JSON,
                           "the decrypted payload is not a JSON object "
                           "(line %d column %d: %s)", err.line, err.column,
                           err.text);
    }

    cgi->data = data;

    return NGX_OK;
}


/* replies */


static ngx_int_t
ngx_http_youdu_cgi_early(ngx_http_request_t *r, ngx_int_t errcode,
    const char *msg)
{
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, 128 + 2 * ngx_strlen(msg));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->pos,
                    "{\"errcode\":%i,\"errmsg\":\"%s\",\"errMsg\":\"%s\"}",
                    errcode, msg, msg);
    b->last = p;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_youdu_cgi_reply(ngx_http_youdu_ctx_t *ctx, json_t *obj)
{
    char       *s;
    ngx_int_t   rc;

    s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

    if (obj) {
        json_decref(obj);
    }

    if (s == NULL) {
        return yd_send_raw(ctx, NGX_HTTP_OK, &yd_cgi_json_type, NULL, NULL,
                           (u_char *) "{\"errcode\":-1,\"errmsg\":"
                           "\"internal error\"}", 38);
    }

    rc = yd_send_raw(ctx, NGX_HTTP_OK, &yd_cgi_json_type, NULL, NULL,
                     (u_char *) s, ngx_strlen(s));
    free(s);

    return rc;
}


ngx_int_t
yd_cgi_ok(ngx_http_youdu_ctx_t *ctx, json_t *data)
{
    char                  *s;
    json_t                *obj;
    ngx_int_t              rc;
    ngx_str_t              enc;
    ngx_http_youdu_cgi_t  *cgi = ctx->cgi;

    obj = json_object();
    if (obj == NULL) {
        if (data) {
            json_decref(data);
        }
        return NGX_ERROR;
    }

    json_object_set_new(obj, "errcode", json_integer(0));
    json_object_set_new(obj, "errmsg", json_string("ok"));

    if (data) {
        s = json_dumps(data, JSON_COMPACT|JSON_ENCODE_ANY);
        json_decref(data);

        if (s == NULL) {
            json_decref(obj);
            return NGX_ERROR;
        }

        rc = ngx_youdu_cgi_encrypt(ctx->pool, cgi->key, &cgi->app_id,
                                   (u_char *) s, ngx_strlen(s), &enc);
        free(s);

        if (rc != NGX_OK) {
            json_decref(obj);
            return NGX_ERROR;
        }

        json_object_set_new(obj, "encrypt",
                            json_stringn((char *) enc.data, enc.len));
    }

    return ngx_http_youdu_cgi_reply(ctx, obj);
}


ngx_int_t
yd_cgi_fail(ngx_http_youdu_ctx_t *ctx, ngx_int_t errcode, const char *fmt,
    ...)
{
    u_char    buf[512], *p;
    json_t   *obj, *msg;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    obj = json_object();
    if (obj == NULL) {
        return ngx_http_youdu_cgi_reply(ctx, NULL);
    }

    json_object_set_new(obj, "errcode", json_integer(errcode));

    /* messages may quote input: never emit invalid UTF-8 */
    msg = json_stringn((char *) buf, p - buf);
    if (msg == NULL) {
        msg = json_string("invalid input");
    }

    json_object_set(obj, "errmsg", msg);
    /* go-packagist/youdu reads "errMsg" on errors */
    json_object_set_new(obj, "errMsg", msg);

    if (errcode == YD_CGI_INTERNALERR) {
        ngx_log_error(NGX_LOG_WARN, ctx->r->connection->log, 0,
                      YD_LOG_TAG "cgi replied %i: %s", errcode, buf);
    }

    return ngx_http_youdu_cgi_reply(ctx, obj);
}


ngx_int_t
yd_cgi_from_rest(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    ngx_int_t errcode, ngx_str_t *msg)
{
    ngx_int_t  code;

    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
    case NGX_HTTP_UNSUPPORTED_MEDIA_TYPE:
        code = YD_CGI_INVALID_REQUEST2;
        break;

    case NGX_HTTP_UNAUTHORIZED:
        code = YD_CGI_ACCESSTOKEN_NOTEXIST;
        break;

    case NGX_HTTP_FORBIDDEN:
        code = YD_CGI_NORIGHT;
        break;

    case NGX_HTTP_NOT_FOUND:
    case NGX_HTTP_NOT_ALLOWED:
    case 429:
        code = YD_CGI_INVALID_REQUEST;
        break;

    case NGX_HTTP_CONFLICT:
        code = YD_CGI_FALSE;
        break;

    default:
        code = status >= NGX_HTTP_INTERNAL_SERVER_ERROR ? YD_CGI_INTERNALERR
                                                        : YD_CGI_FALSE;
    }

    if (code == YD_CGI_INTERNALERR) {
        return yd_cgi_fail(ctx, code, "%V (temporary: retry later)", msg);
    }

    return yd_cgi_fail(ctx, code, "%V", msg);
}


/* parameters */


json_t *
yd_cgi_obj_get(json_t *obj, const char *key)
{
    json_t      *v, *found;
    const char  *k;

    if (!json_is_object(obj)) {
        return NULL;
    }

    found = json_object_get(obj, key);

    if (found == NULL) {
        json_object_foreach(obj, k, v) {
            if (strcasecmp(k, key) == 0) {
                found = v;
                break;
            }
        }
    }

    return json_is_null(found) ? NULL : found;
}


json_t *
yd_cgi_field(ngx_http_youdu_ctx_t *ctx, const char *key)
{
    return yd_cgi_obj_get(ctx->cgi->data, key);
}


static ngx_int_t
yd_cgi_query(ngx_http_youdu_ctx_t *ctx, const char *key, ngx_str_t *out)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(ctx->r, (u_char *) key, ngx_strlen(key), &raw)
        != NGX_OK || raw.len == 0)
    {
        return NGX_DECLINED;
    }

    out->data = ngx_pnalloc(ctx->pool, raw.len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    /* '+' is a space in a query; done on a copy (the token may hold '+') */
    dst = out->data;
    src = raw.data;
    ngx_unescape_uri(&dst, &src, raw.len, 0);
    *dst = '\0';
    out->len = dst - out->data;

    for (dst = out->data; dst < out->data + out->len; dst++) {
        if (*dst == '+') {
            *dst = ' ';
        }
    }

    if (!ngx_youdu_utf8_valid(out->data, out->len)) {
        return NGX_ERROR;
    }

    return out->len ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
yd_cgi_str(ngx_http_youdu_ctx_t *ctx, const char *key, ngx_str_t *out)
{
    json_t  *v;

    out->len = 0;
    out->data = NULL;

    v = yd_cgi_field(ctx, key);

    if (v == NULL) {
        return yd_cgi_query(ctx, key, out);
    }

    if (json_is_string(v)) {
        out->data = (u_char *) json_string_value(v);
        out->len = json_string_length(v);
        return out->len ? NGX_OK : NGX_DECLINED;
    }

    if (json_is_integer(v)) {
        /* ids sent as numbers where strings are documented */
        out->data = ngx_pnalloc(ctx->pool, NGX_INT64_LEN + 1);
        if (out->data == NULL) {
            return NGX_ERROR;
        }

        out->len = ngx_sprintf(out->data, "%L",
                               (int64_t) json_integer_value(v))
                   - out->data;
        return NGX_OK;
    }

    return NGX_ERROR;
}


ngx_int_t
yd_cgi_int(ngx_http_youdu_ctx_t *ctx, const char *key, int64_t *out)
{
    u_char     *p;
    json_t     *v;
    ngx_int_t   rc, neg;
    ngx_str_t   s;

    v = yd_cgi_field(ctx, key);

    if (v && json_is_integer(v)) {
        *out = json_integer_value(v);
        return NGX_OK;
    }

    if (v && json_is_boolean(v)) {
        *out = json_is_true(v);
        return NGX_OK;
    }

    if (v && !json_is_string(v)) {
        return NGX_ERROR;
    }

    if (v) {
        s.data = (u_char *) json_string_value(v);
        s.len = json_string_length(v);
        rc = s.len ? NGX_OK : NGX_DECLINED;

    } else {
        rc = yd_cgi_query(ctx, key, &s);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    p = s.data;
    neg = (*p == '-');

    if (neg) {
        p++;
    }

    if (s.len - neg == 0 || s.len - neg > 18
        || ngx_atoof(p, s.len - neg) == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    *out = ngx_atoof(p, s.len - neg);

    if (neg) {
        *out = -*out;
    }

    return NGX_OK;
}


ngx_int_t
yd_cgi_str_any(ngx_http_youdu_ctx_t *ctx, const char **keys, ngx_str_t *out)
{
    ngx_int_t  rc;

    for ( /* void */ ; *keys; keys++) {
        rc = yd_cgi_str(ctx, *keys, out);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return NGX_DECLINED;
}
