
/*
 * youdu HTTP module: validated access to JSON fields, query arguments and
 * result cells.  Validation failures reply at once and return NGX_DONE, so
 * handlers write: if (yd_json_str(...) != NGX_OK) return NGX_DONE;
 */


#include "ngx_http_youdu_module.h"
#include "ngx_youdu_utf8.h"
#include "ngx_youdu_pinyin.h"


ngx_int_t
yd_valid_text(ngx_str_t *s, size_t max_chars, ngx_uint_t allow_newlines)
{
    size_t  i;

    if (!ngx_youdu_utf8_valid(s->data, s->len)) {
        return YD_ERR_BAD_UTF8;
    }

    if (ngx_youdu_utf8_chars(s->data, s->len) > max_chars) {
        return YD_ERR_TOO_LONG;
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == 0x7f
            || (s->data[i] < 0x20
                && !(allow_newlines && (s->data[i] == '\n'
                                        || s->data[i] == '\t'))))
        {
            return YD_ERR_BAD_VALUE;
        }
    }

    return NGX_OK;
}


ngx_int_t
yd_require_body(ngx_http_youdu_ctx_t *ctx)
{
    if (ctx->body == NULL) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_JSON,
                 "a JSON object body is required");
        return NGX_DONE;
    }

    return NGX_OK;
}


ngx_int_t
yd_json_str(ngx_http_youdu_ctx_t *ctx, json_t *obj, const char *key,
    ngx_uint_t required, size_t max_chars, ngx_str_t *out, ngx_uint_t *present)
{
    json_t     *v;
    ngx_int_t   rc;
    ngx_str_t   s;

    if (present) {
        *present = 0;
    }

    v = obj ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        if (required) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                     "field \"%s\" is required", key);
            return NGX_DONE;
        }

        return NGX_OK;
    }

    if (!json_is_string(v)) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                 "field \"%s\" must be a string", key);
        return NGX_DONE;
    }

    s.data = (u_char *) json_string_value(v);
    s.len = json_string_length(v);

    rc = yd_valid_text(&s, max_chars, 0);

    if (rc == YD_ERR_TOO_LONG) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_TOO_LONG,
                 "field \"%s\" is longer than %uz characters", key, max_chars);
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, rc == YD_ERR_BAD_UTF8
                                            ? YD_ERR_BAD_UTF8
                                            : YD_ERR_BAD_VALUE,
                 "field \"%s\" contains invalid characters", key);
        return NGX_DONE;
    }

    if (required && s.len == 0) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                 "field \"%s\" must not be empty", key);
        return NGX_DONE;
    }

    /* jansson's buffer lives as long as ctx->body: copy to the pool */
    out->data = ngx_pnalloc(ctx->pool, s.len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s.data, s.len);
    out->data[s.len] = '\0';
    out->len = s.len;

    if (present) {
        *present = 1;
    }

    return NGX_OK;
}


ngx_int_t
yd_json_int(ngx_http_youdu_ctx_t *ctx, json_t *obj, const char *key,
    ngx_uint_t required, int64_t min, int64_t max, int64_t *out,
    ngx_uint_t *present)
{
    json_t     *v;
    json_int_t  n;

    if (present) {
        *present = 0;
    }

    v = obj ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        if (required) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                     "field \"%s\" is required", key);
            return NGX_DONE;
        }

        return NGX_OK;
    }

    if (!json_is_integer(v)) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                 "field \"%s\" must be an integer", key);
        return NGX_DONE;
    }

    n = json_integer_value(v);

    if (n < min || n > max) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                 "field \"%s\" must be between %L and %L", key, min, max);
        return NGX_DONE;
    }

    *out = n;

    if (present) {
        *present = 1;
    }

    return NGX_OK;
}


ngx_int_t
yd_json_bool(ngx_http_youdu_ctx_t *ctx, json_t *obj, const char *key,
    ngx_uint_t required, ngx_uint_t *out, ngx_uint_t *present)
{
    json_t  *v;

    if (present) {
        *present = 0;
    }

    v = obj ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        if (required) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                     "field \"%s\" is required", key);
            return NGX_DONE;
        }

        return NGX_OK;
    }

    if (!json_is_boolean(v)) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                 "field \"%s\" must be true or false", key);
        return NGX_DONE;
    }

    *out = json_is_true(v) ? 1 : 0;

    if (present) {
        *present = 1;
    }

    return NGX_OK;
}


/* a numeric path segment such as the 17 in /org/users/17 */

ngx_int_t
yd_arg_int(ngx_http_youdu_ctx_t *ctx, ngx_uint_t n, int64_t *out)
{
    ngx_int_t  v;

    if (n >= ctx->nargs) {
        return NGX_ERROR;
    }

    v = (ctx->args[n].len > 18) ? NGX_ERROR
                                : ngx_atoi(ctx->args[n].data, ctx->args[n].len);

    if (v == NGX_ERROR) {
        yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                 "\"%V\" is not a valid id", &ctx->args[n]);
        return NGX_DONE;
    }

    *out = v;
    return NGX_OK;
}


ngx_int_t
yd_query_str(ngx_http_youdu_ctx_t *ctx, const char *name, size_t max_chars,
    ngx_str_t *out)
{
    u_char     *dst, *src;
    ngx_int_t   rc;
    ngx_str_t   raw;

    out->len = 0;
    out->data = NULL;

    if (ngx_http_arg(ctx->r, (u_char *) name, ngx_strlen(name), &raw)
        != NGX_OK)
    {
        return NGX_OK;
    }

    out->data = ngx_pnalloc(ctx->pool, raw.len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    /* '+' means space in query strings */
    for (src = raw.data; src < raw.data + raw.len; src++) {
        if (*src == '+') {
            *src = ' ';
        }
    }

    dst = out->data;
    src = raw.data;
    ngx_unescape_uri(&dst, &src, raw.len, 0);
    *dst = '\0';
    out->len = dst - out->data;

    rc = yd_valid_text(out, max_chars, 0);

    if (rc != NGX_OK) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                 "query parameter \"%s\" is invalid or longer than %uz "
                 "characters", name, max_chars);
        return NGX_DONE;
    }

    return NGX_OK;
}


ngx_int_t
yd_query_int(ngx_http_youdu_ctx_t *ctx, const char *name, int64_t def,
    int64_t min, int64_t max, int64_t *out)
{
    ngx_str_t  raw;
    ngx_int_t  v, neg;

    *out = def;

    if (ngx_http_arg(ctx->r, (u_char *) name, ngx_strlen(name), &raw)
        != NGX_OK || raw.len == 0)
    {
        return NGX_OK;
    }

    neg = (raw.data[0] == '-');

    v = (raw.len - neg > 18) ? NGX_ERROR
                             : ngx_atoi(raw.data + neg, raw.len - neg);

    if (v == NGX_ERROR || (neg ? -v : v) < min || (neg ? -v : v) > max) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                 "query parameter \"%s\" must be an integer between %L "
                 "and %L", name, min, max);
        return NGX_DONE;
    }

    *out = neg ? -v : v;
    return NGX_OK;
}


ngx_int_t
yd_page(ngx_http_youdu_ctx_t *ctx, int64_t *offset, int64_t *limit)
{
    if (yd_query_int(ctx, "offset", 0, 0, 100000000, offset) != NGX_OK) {
        return NGX_DONE;
    }

    return yd_query_int(ctx, "limit", YD_PAGE_DEFAULT, 1, YD_PAGE_MAX, limit);
}


int64_t
yd_int(ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col)
{
    int64_t  v = 0;

    (void) yd_cell_int(res, row, col, &v);
    return v;
}


ngx_int_t
yd_cell_int(ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col,
    int64_t *out)
{
    ngx_str_t  *c;
    ngx_int_t   neg, v;

    *out = 0;

    if (row >= res->nrows || col >= res->ncols) {
        return NGX_ERROR;
    }

    c = yd_cell(res, row, col);

    if (c->data == NULL || c->len == 0) {
        return NGX_DECLINED;
    }

    neg = (c->data[0] == '-');
    v = ngx_atoi(c->data + neg, c->len - neg);

    if (v == NGX_ERROR) {
        return NGX_ERROR;
    }

    *out = neg ? -v : v;
    return NGX_OK;
}


json_t *
yd_json_cell(ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col)
{
    ngx_str_t  *c = yd_cell(res, row, col);

    if (c->data == NULL) {
        return json_null();
    }

    return json_stringn((char *) c->data, c->len);
}


json_t *
yd_json_cell_int(ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col)
{
    int64_t  v;

    if (yd_cell_int(res, row, col, &v) != NGX_OK) {
        return json_null();
    }

    return json_integer(v);
}


json_t *
yd_jstr(ngx_str_t *s)
{
    if (s->data == NULL) {
        return json_null();
    }

    return json_stringn((char *) s->data, s->len);
}


ngx_str_t *
yd_pstr(ngx_pool_t *pool, const char *s)
{
    ngx_str_t  *out;

    out = ngx_palloc(pool, sizeof(ngx_str_t));
    if (out == NULL) {
        return NULL;
    }

    out->data = (u_char *) s;
    out->len = ngx_strlen(s);

    return out;
}


ngx_str_t *
yd_int_str(ngx_pool_t *pool, int64_t v)
{
    ngx_str_t  *out;

    out = ngx_palloc(pool, sizeof(ngx_str_t));
    if (out == NULL) {
        return NULL;
    }

    out->data = ngx_pnalloc(pool, NGX_INT64_LEN + 1);
    if (out->data == NULL) {
        return NULL;
    }

    out->len = ngx_sprintf(out->data, "%L", v) - out->data;
    out->data[out->len] = '\0';

    return out;
}


ngx_int_t
yd_pinyin(ngx_pool_t *pool, ngx_str_t *name, ngx_str_t *full,
    ngx_str_t *initials)
{
    char  f[256], in[64];

    /* an over-long result is truncated, which is fine for a search key */
    (void) ngx_youdu_pinyin(name->data, name->len, f, sizeof(f), in,
                            sizeof(in));

    full->len = ngx_strlen(f);
    initials->len = ngx_strlen(in);

    full->data = ngx_pnalloc(pool, full->len + 1);
    initials->data = ngx_pnalloc(pool, initials->len + 1);

    if (full->data == NULL || initials->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(full->data, f, full->len + 1);
    ngx_memcpy(initials->data, in, initials->len + 1);

    return NGX_OK;
}
