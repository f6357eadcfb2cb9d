
/*
 * youdu HTTP module: the whole org chart in one gzip-compressed JSON
 * document, built from three queries in one transaction and cached per
 * worker for the current version and viewer class (employee or admin).
 */


#include <zlib.h>

#include "ngx_http_youdu_org.h"


#define YD_GZ_CHUNK          65536


typedef struct {
    z_stream                  zs;
    u_char                   *buf;
    size_t                    len;
    u_char                   *out;
    size_t                    out_len;
    size_t                    out_cap;
    ngx_uint_t                failed;
} yd_gz_t;


typedef struct {
    int64_t                   version;
    u_char                   *data;
    size_t                    len;
} yd_snapshot_cache_t;


typedef struct {
    ngx_uint_t                admin;
    int64_t                   version;
    ngx_str_t                 etag;
    ngx_youdu_db_result_t    *depts;
    ngx_youdu_db_result_t    *users;
} ngx_http_youdu_snapshot_t;


static ngx_int_t yd_snapshot_send(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_snapshot_t *sn, yd_snapshot_cache_t *c);
static ngx_int_t yd_snapshot_build(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_snapshot_t *sn, ngx_youdu_db_result_t *mres,
    yd_snapshot_cache_t *c);
static void yd_gz_flush(yd_gz_t *w, int mode);
static void yd_gz_put(yd_gz_t *w, const char *s, size_t len);
static void yd_gz_str(yd_gz_t *w, ngx_str_t *s);
static void yd_gz_lit(yd_gz_t *w, const char *s);
static void yd_gz_cell(yd_gz_t *w, ngx_uint_t first, const char *key,
    ngx_str_t *s, ngx_uint_t string);


/* per worker: the last snapshot built for employees [0] and admins [1] */
static yd_snapshot_cache_t  yd_snapshot_cache[2];


ngx_int_t
ngx_http_youdu_org_snapshot(ngx_http_youdu_ctx_t *ctx)
{
    ngx_str_t                   inm;
    ngx_uint_t                  i;
    yd_snapshot_cache_t        *c;
    ngx_youdu_db_result_t      *res = ctx->res;
    ngx_http_youdu_snapshot_t  *sn = ctx->data;

    switch (ctx->stage) {

    case 0:
        sn = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_snapshot_t));
        if (sn == NULL) {
            return NGX_ERROR;
        }

        ctx->data = sn;
        sn->admin = yd_org_viewer_admin(ctx);

        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    case 1:
        sn->version = yd_int(res, 0, 0);
        c = &yd_snapshot_cache[sn->admin];

        sn->etag.data = ngx_pnalloc(ctx->pool, NGX_INT64_LEN + 16);
        if (sn->etag.data == NULL) {
            return NGX_ERROR;
        }

        sn->etag.len = ngx_sprintf(sn->etag.data, "\"v%L-%s\"", sn->version,
                                   sn->admin ? "admin" : "employee")
                       - sn->etag.data;

        if (ctx->r->headers_in.if_none_match) {
            inm = ctx->r->headers_in.if_none_match->value;

            for (i = 0; i + sn->etag.len <= inm.len; i++) {
                if (ngx_strncmp(inm.data + i, sn->etag.data, sn->etag.len)
                    == 0)
                {
                    break;
                }
            }

            if (i + sn->etag.len <= inm.len
                || (inm.len == sn->etag.len - 2
                    && ngx_strncmp(inm.data, sn->etag.data + 1, inm.len)
                       == 0))
            {
                ctx->r->header_only = 1;
                return yd_send_raw(ctx, NGX_HTTP_NOT_MODIFIED,
                                   yd_pstr(ctx->pool, "application/json"),
                                   yd_pstr(ctx->pool, "ETag"), &sn->etag,
                                   (u_char *) "", 0);
            }
        }

        if (c->data && c->version == sn->version) {
            return yd_snapshot_send(ctx, sn, c);
        }

        /* one consistent view for the three queries */
        return yd_begin(ctx);

    case 2:
        return yd_sql(ctx,
            "SELECT " YD_DEPT_COLS ", (SELECT version FROM org_state "
            "WHERE id = 1) FROM departments d "
            "ORDER BY d.depth, d.parent_id, d.sort_id, d.id", "");

    case 3:
        sn->depts = res;

        return yd_sql(ctx,
            "SELECT " YD_USER_COLS " FROM users u "
            "WHERE u.enable_state <> -1 OR ? = 1 ORDER BY u.id",
            "i", (int64_t) sn->admin);

    case 4:
        sn->users = res;

        return yd_sql(ctx,
            "SELECT user_id, dept_id, position, weight, sort_id "
            "FROM user_depts ORDER BY user_id, dept_id", "");

    case 5:
        if (sn->depts->nrows) {
            sn->version = yd_int(sn->depts, 0, YD_DEPT_NCOLS);
            sn->etag.len = ngx_sprintf(sn->etag.data, "\"v%L-%s\"",
                                       sn->version,
                                       sn->admin ? "admin" : "employee")
                           - sn->etag.data;
        }

        c = &yd_snapshot_cache[sn->admin];

        if (yd_snapshot_build(ctx, sn, res, c) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_snapshot_send(ctx, sn, c);

    default:
        return NGX_ERROR;
    }
}


static ngx_int_t
yd_snapshot_send(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_snapshot_t *sn,
    yd_snapshot_cache_t *c)
{
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r = ctx->r;

    /* already compressed: the gzip filter leaves it alone */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Encoding");
    ngx_str_set(&h->value, "gzip");
    r->headers_out.content_encoding = h;

    return yd_send_raw(ctx, NGX_HTTP_OK,
                       yd_pstr(ctx->pool, "application/json"),
                       yd_pstr(ctx->pool, "ETag"), &sn->etag, c->data, c->len);
}


/* JSON straight into deflate: 100,000 users without a jansson tree */

static void
yd_gz_flush(yd_gz_t *w, int mode)
{
    u_char  *p;
    size_t   cap;

    w->zs.next_in = w->buf;
    w->zs.avail_in = w->len;

    do {
        if (w->out_cap - w->out_len < YD_GZ_CHUNK) {
            cap = w->out_cap ? w->out_cap * 2 : 4 * YD_GZ_CHUNK;
            p = realloc(w->out, cap);
            if (p == NULL) {
                w->failed = 1;
                return;
            }

            w->out = p;
            w->out_cap = cap;
        }

        w->zs.next_out = w->out + w->out_len;
        w->zs.avail_out = w->out_cap - w->out_len;

        if (deflate(&w->zs, mode) == Z_STREAM_ERROR) {
            w->failed = 1;
            return;
        }

        w->out_len = w->out_cap - w->zs.avail_out;

    } while (w->zs.avail_out == 0
             || (mode == Z_FINISH && w->zs.avail_in) || w->zs.avail_in);

    w->len = 0;
}


static void
yd_gz_put(yd_gz_t *w, const char *s, size_t len)
{
    size_t  n;

    while (len && !w->failed) {
        n = ngx_min(len, YD_GZ_CHUNK - w->len);
        ngx_memcpy(w->buf + w->len, s, n);
        w->len += n;
        s += n;
        len -= n;

        if (w->len == YD_GZ_CHUNK) {
            yd_gz_flush(w, Z_NO_FLUSH);
        }
    }
}


static void
yd_gz_lit(yd_gz_t *w, const char *s)
{
    yd_gz_put(w, s, ngx_strlen(s));
}


static void
yd_gz_str(yd_gz_t *w, ngx_str_t *s)
{
    char    esc[8];
    size_t  i, start;

    static const char  hex[] = "0123456789abcdef";

    yd_gz_put(w, "\"", 1);

    start = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] >= 0x20 && s->data[i] != '"' && s->data[i] != '\\') {
            continue;
        }

        yd_gz_put(w, (char *) s->data + start, i - start);

        if (s->data[i] == '"' || s->data[i] == '\\') {
            esc[0] = '\\';
            esc[1] = s->data[i];
            yd_gz_put(w, esc, 2);

        } else {
            ngx_memcpy(esc, "\\u00", 4);
            esc[4] = hex[s->data[i] >> 4];
            esc[5] = hex[s->data[i] & 0xf];
            yd_gz_put(w, esc, 6);
        }

        start = i + 1;
    }

    yd_gz_put(w, (char *) s->data + start, s->len - start);
    yd_gz_put(w, "\"", 1);
}


/* {"key":value or ,"key":value; a string or a number (NULL -> null) */

static void
yd_gz_cell(yd_gz_t *w, ngx_uint_t first, const char *key, ngx_str_t *s,
    ngx_uint_t string)
{
    yd_gz_put(w, first ? "{\"" : ",\"", 2);
    yd_gz_lit(w, key);
    yd_gz_put(w, "\":", 2);

    if (s->data == NULL) {
        yd_gz_put(w, "null", 4);

    } else if (string) {
        yd_gz_str(w, s);

    } else {
        yd_gz_put(w, (char *) s->data, s->len);
    }
}


static ngx_int_t
yd_snapshot_build(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_snapshot_t *sn,
    ngx_youdu_db_result_t *mres, yd_snapshot_cache_t *c)
{
    char                   num[NGX_INT64_LEN + 1];
    u_char                *p;
    int64_t                uid, conf;
    yd_gz_t                w;
    ngx_str_t             *cell, star;
    ngx_uint_t             i, k, b, mi, first;
    ngx_youdu_db_result_t *d = sn->depts, *u = sn->users;

    static const char  *dcols[] = { "id", "parent_id", "name", "sort_id",
                                    "alias", "version" };
    static const char  *ucols[] = { "id", "account", "name", "gender",
                                    "mobile", "phone", "email", "title",
                                    "enable_state", "role", NULL,
                                    "version", "name_pinyin",
                                    "name_initials" };
    static const ngx_uint_t  dstr[] = { 0, 0, 1, 0, 1, 0 };
    static const ngx_uint_t  ustr[] = { 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0,
                                        1, 1 };

    ngx_memzero(&w, sizeof(yd_gz_t));
    ngx_str_set(&star, "***");

    w.buf = ngx_pnalloc(ctx->pool, YD_GZ_CHUNK);
    if (w.buf == NULL) {
        return NGX_ERROR;
    }

    /* gzip wrapper (15 + 16); fastest level keeps 100,000 users quick */
    if (deflateInit2(&w.zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_sprintf((u_char *) num, "%L", sn->version);
    yd_gz_lit(&w, "{\"version\":");
    yd_gz_put(&w, num, p - (u_char *) num);
    yd_gz_lit(&w, ",\"departments\":[");

    for (i = 0; i < d->nrows; i++) {
        if (i) {
            yd_gz_put(&w, ",", 1);
        }

        for (k = 0; k < YD_DEPT_NCOLS; k++) {
            yd_gz_cell(&w, k == 0, dcols[k], yd_cell(d, i, k), dstr[k]);
        }

        yd_gz_put(&w, "}", 1);
    }

    yd_gz_lit(&w, "],\"users\":[");

    mi = 0;

    for (i = 0; i < u->nrows; i++) {
        uid = yd_int(u, i, 0);
        conf = yd_int(u, i, 10);

        if (i) {
            yd_gz_put(&w, ",", 1);
        }

        for (k = 0; k < YD_USER_NCOLS; k++) {
            cell = yd_cell(u, i, k);

            if (k == 10) {
                yd_gz_lit(&w, ",\"confidential\":[");
                first = 1;

                for (b = 0; b < 4; b++) {
                    if (conf & (1 << b)) {
                        yd_gz_lit(&w, first ? "\"" : ",\"");
                        yd_gz_lit(&w, ucols[4 + b]);
                        yd_gz_lit(&w, "\"");
                        first = 0;
                    }
                }

                yd_gz_lit(&w, "]");
                continue;
            }

            /* the employee snapshot masks every confidential field */
            if (!sn->admin && k >= 4 && k <= 7 && (conf & (1 << (k - 4)))
                && cell->len)
            {
                cell = &star;
            }

            yd_gz_cell(&w, k == 0, ucols[k], cell, ustr[k]);
        }

        yd_gz_lit(&w, ",\"departments\":[");

        while (mi < mres->nrows && yd_int(mres, mi, 0) < uid) {
            mi++;
        }

        first = 1;

        while (mi < mres->nrows && yd_int(mres, mi, 0) == uid) {
            if (!first) {
                yd_gz_put(&w, ",", 1);
            }

            yd_gz_cell(&w, 1, "dept_id", yd_cell(mres, mi, 1), 0);
            yd_gz_cell(&w, 0, "position", yd_cell(mres, mi, 2), 1);
            yd_gz_cell(&w, 0, "weight", yd_cell(mres, mi, 3), 0);
            yd_gz_cell(&w, 0, "sort_id", yd_cell(mres, mi, 4), 0);
            yd_gz_put(&w, "}", 1);
            first = 0;
            mi++;
        }

        yd_gz_lit(&w, "]}");
    }

    yd_gz_lit(&w, "]}");

    if (!w.failed) {
        yd_gz_flush(&w, Z_FINISH);
    }

    deflateEnd(&w.zs);

    if (w.failed) {
        free(w.out);
        return NGX_ERROR;
    }

    /* the previous version's copy is no longer useful */
    free(c->data);
    c->data = w.out;
    c->len = w.out_len;
    c->version = sn->version;

    return NGX_OK;
}
