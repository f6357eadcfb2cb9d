
/*
 * youdu HTTP module: the org snapshot's JSON written straight into deflate.
 * Runs in the thread pool: it reads only the build's fetched rows and
 * allocates with malloc() (no pools, no logging, no shared jansson objects).
 */


#include <time.h>
#include <zlib.h>

#include "ngx_http_youdu_org_snapshot.h"


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


static void yd_gz_flush(yd_gz_t *w, int mode);
static void yd_gz_put(yd_gz_t *w, const char *s, size_t len);
static void yd_gz_str(yd_gz_t *w, ngx_str_t *s);
static void yd_gz_lit(yd_gz_t *w, const char *s);
static void yd_gz_cell(yd_gz_t *w, ngx_uint_t first, const char *key,
    ngx_str_t *s, ngx_uint_t string);
static ngx_msec_t yd_snapshot_now(void);


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


void
yd_snapshot_json(yd_snapshot_build_t *b)
{
    char                   num[NGX_INT64_LEN + 1];
    u_char                *p;
    int64_t                uid, conf;
    yd_gz_t                w;
    ngx_str_t             *cell, star;
    ngx_msec_t             start;
    ngx_uint_t             i, k, bit, mi, first;
    ngx_youdu_db_result_t *d = b->depts, *u = b->users, *mres = b->mres;

    static const char  *dcols[] = { "id", "parent_id", "name", "sort_id",
                                    "alias", "version" };
    static const char  *ucols[] = { "id", "account", "name", "gender",
                                    "mobile", "phone", "email", "title",
                                    "enable_state", "role", NULL,
                                    "version", "name_pinyin",
                                    "name_initials", "has_avatar" };
    static const ngx_uint_t  dstr[] = { 0, 0, 1, 0, 1, 0 };
    static const ngx_uint_t  ustr[] = { 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0,
                                        1, 1, 0 };

    start = yd_snapshot_now();

    ngx_memzero(&w, sizeof(yd_gz_t));
    ngx_str_set(&star, "***");

    b->out = NULL;
    b->len = 0;
    b->failed = 1;

    w.buf = malloc(YD_GZ_CHUNK);
    if (w.buf == NULL) {
        return;
    }

    /* gzip wrapper (15 + 16); fastest level keeps 100,000 users quick */
    if (deflateInit2(&w.zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
    {
        free(w.buf);
        return;
    }

    p = ngx_sprintf((u_char *) num, "%L", b->version);
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

                for (bit = 0; bit < 4; bit++) {
                    if (conf & (1 << bit)) {
                        yd_gz_lit(&w, first ? "\"" : ",\"");
                        yd_gz_lit(&w, ucols[4 + bit]);
                        yd_gz_lit(&w, "\"");
                        first = 0;
                    }
                }

                yd_gz_lit(&w, "]");
                continue;
            }

            if (k == 14) {
                yd_gz_lit(&w, yd_int(u, i, 14) ? ",\"has_avatar\":true"
                                               : ",\"has_avatar\":false");
                continue;
            }

            /* the employee snapshot masks every confidential field */
            if (!b->admin && k >= 4 && k <= 7 && (conf & (1 << (k - 4)))
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
    free(w.buf);

    if (w.failed) {
        free(w.out);
        return;
    }

    /* the event loop owns it from here */
    b->out = w.out;
    b->len = w.out_len;
    b->failed = 0;
    b->ms = yd_snapshot_now() - start;
}


static ngx_msec_t
yd_snapshot_now(void)
{
    struct timespec  ts;

    /* not ngx_current_msec: that belongs to the event loop */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
