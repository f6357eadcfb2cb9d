
/*
 * youdu HTTP module: small helpers of the bulk import (hash table, JSON
 * text buffer, error list).
 */


#include "ngx_http_youdu_import.h"


static ngx_uint_t
yd_imp_hash_key(u_char *key, size_t len)
{
    size_t      i;
    ngx_uint_t  h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ key[i]) * 16777619u;
    }

    return h ^ (h >> 15);
}


ngx_int_t
yd_imp_hash_init(ngx_pool_t *pool, yd_imp_hash_t *h, ngx_uint_t n)
{
    ngx_uint_t  size = 64;

    while (size < n * 2) {
        size <<= 1;
    }

    h->e = ngx_pcalloc(pool, size * sizeof(yd_imp_hent_t));
    if (h->e == NULL) {
        return NGX_ERROR;
    }

    h->mask = size - 1;
    return NGX_OK;
}


ngx_int_t
yd_imp_hash_find(yd_imp_hash_t *h, u_char *key, size_t len)
{
    ngx_uint_t      i;
    yd_imp_hent_t  *e;

    for (i = yd_imp_hash_key(key, len) & h->mask; ; i = (i + 1) & h->mask) {
        e = &h->e[i];

        if (e->key == NULL) {
            return -1;
        }

        if (e->len == len && ngx_memcmp(e->key, key, len) == 0) {
            return e->val;
        }
    }
}


/* the table is sized for all keys up front: it never fills */

ngx_int_t
yd_imp_hash_add(yd_imp_hash_t *h, u_char *key, size_t len, ngx_uint_t val)
{
    ngx_uint_t      i;
    yd_imp_hent_t  *e;

    for (i = yd_imp_hash_key(key, len) & h->mask; ; i = (i + 1) & h->mask) {
        e = &h->e[i];

        if (e->key == NULL) {
            e->key = key;
            e->len = len;
            e->val = val;
            return NGX_OK;
        }

        if (e->len == len && ngx_memcmp(e->key, key, len) == 0) {
            return NGX_DECLINED;
        }
    }
}


ngx_int_t
yd_imp_buf_add(yd_imp_buf_t *b, const u_char *p, size_t len)
{
    if (yd_imp_buf_reserve(b, len) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memcpy(b->p + b->len, p, len);
    b->len += len;

    return NGX_OK;
}


ngx_int_t
yd_imp_buf_reserve(yd_imp_buf_t *b, size_t len)
{
    u_char  *n;
    size_t   cap;

    if (b->len + len > b->cap) {
        cap = ngx_max(b->cap * 2, b->len + len + 4096);

        n = ngx_pnalloc(b->pool, cap);
        if (n == NULL) {
            return NGX_ERROR;
        }

        if (b->len) {
            ngx_memcpy(n, b->p, b->len);
        }

        if (b->p) {
            ngx_pfree(b->pool, b->p);
        }

        b->p = n;
        b->cap = cap;
    }

    return NGX_OK;
}


ngx_int_t
yd_imp_buf_json_str(yd_imp_buf_t *b, ngx_str_t *s)
{
    u_char   c, *start, *p, *end, esc[8];
    size_t   n;

    if (yd_imp_buf_add(b, (u_char *) "\"", 1) != NGX_OK) {
        return NGX_ERROR;
    }

    start = s->data;
    end = s->data + s->len;

    for (p = start; p < end; p++) {
        c = *p;

        if (c != '"' && c != '\\' && c >= 0x20) {
            continue;
        }

        if (yd_imp_buf_add(b, start, p - start) != NGX_OK) {
            return NGX_ERROR;
        }

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = c;
            n = 2;

        } else {
            n = ngx_sprintf(esc, "\\u%04xi", (ngx_int_t) c) - esc;
        }

        if (yd_imp_buf_add(b, esc, n) != NGX_OK) {
            return NGX_ERROR;
        }

        start = p + 1;
    }

    if (yd_imp_buf_add(b, start, end - start) != NGX_OK) {
        return NGX_ERROR;
    }

    return yd_imp_buf_add(b, (u_char *) "\"", 1);
}


ngx_int_t
yd_imp_buf_int(yd_imp_buf_t *b, int64_t v)
{
    u_char  tmp[NGX_INT64_LEN + 2];

    return yd_imp_buf_add(b, tmp, ngx_sprintf(tmp, "%L", v) - tmp);
}


void
yd_imp_error(yd_imp_t *imp, ngx_uint_t row, const char *section,
    const char *field, const char *fmt, ...)
{
    u_char    buf[256], *p;
    json_t   *e, *msg;
    va_list   args;

    imp->nerrors++;

    if (imp->nerrors > YD_IMP_MAX_ERRORS || imp->errors == NULL) {
        return;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    e = json_object();
    if (e == NULL) {
        return;
    }

    /* messages quote input: drop them rather than emit invalid UTF-8 */
    msg = json_stringn((char *) buf, p - buf);

    json_object_set_new(e, "row", json_integer(row));
    json_object_set_new(e, "section", json_string(section));
    json_object_set_new(e, "field", json_string(field));
    json_object_set_new(e, "message", msg ? msg : json_string("invalid"));
    json_array_append_new(imp->errors, e);
}


/* a whole-request error found off the event loop; always NGX_DONE */

ngx_int_t
yd_imp_fail(yd_imp_t *imp, ngx_uint_t status, ngx_int_t code,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(imp->fail_msg, imp->fail_msg + sizeof(imp->fail_msg) - 1,
                      fmt, args);
    va_end(args);
    *p = '\0';

    imp->fail_status = status;
    imp->fail_code = code;

    return NGX_DONE;
}
