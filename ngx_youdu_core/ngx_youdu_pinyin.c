
/*
 * youdu: Chinese name -> pinyin.
 *
 * Plain C (libc only) so that it can be unit tested outside nginx.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_youdu_pinyin.h"


typedef struct {
    uint32_t     cp;
    const char  *pinyin;
} ngx_youdu_pinyin_surname_t;


typedef struct {
    char        *buf;
    size_t       cap;
    size_t       len;
    int          overflow;
} ngx_youdu_pinyin_out_t;


/*
 * Surname readings that differ from the first kMandarin reading, applied
 * only to the first Han character of a name.  Sorted by code point.
 * (尉 is deliberately absent: the single surname is Wèi, Yù only in 尉迟.)
 */
static const ngx_youdu_pinyin_surname_t  ngx_youdu_pinyin_surnames[] = {
    { 0x4e50, "yue" },     /* 乐 */
    { 0x4ec7, "qiu" },     /* 仇 */
    { 0x4f74, "nai" },     /* 佴 */
    { 0x4fbf, "pian" },    /* 便 */
    { 0x533a, "ou" },      /* 区 */
    { 0x5340, "ou" },      /* 區 */
    { 0x5355, "shan" },    /* 单 */
    { 0x53e5, "gou" },     /* 句 */
    { 0x53ec, "shao" },    /* 召 */
    { 0x5458, "yun" },     /* 员 */
    { 0x54e1, "yun" },     /* 員 */
    { 0x55ae, "shan" },    /* 單 */
    { 0x6298, "she" },     /* 折 */
    { 0x66fe, "zeng" },    /* 曾 */
    { 0x6734, "piao" },    /* 朴 */
    { 0x67e5, "zha" },     /* 查 */
    { 0x6a02, "yue" },     /* 樂 */
    { 0x6d17, "xian" },    /* 洗 */
    { 0x76d6, "ge" },      /* 盖 */
    { 0x79cd, "chong" },   /* 种 */
    { 0x79d8, "bi" },      /* 秘 */
    { 0x7a2e, "chong" },   /* 種 */
    { 0x7c98, "nian" },    /* 粘 */
    { 0x7e41, "po" },      /* 繁 */
    { 0x7e46, "miao" },    /* 繆 */
    { 0x7f2a, "miao" },    /* 缪 */
    { 0x7fdf, "zhai" },    /* 翟 */
    { 0x80fd, "nai" },     /* 能 */
    { 0x84cb, "ge" },      /* 蓋 */
    { 0x8584, "bo" },      /* 薄 */
    { 0x85cf, "zang" },    /* 藏 */
    { 0x8983, "qin" },     /* 覃 */
    { 0x89e3, "xie" },     /* 解 */
    { 0x90fd, "du" },      /* 都 */
    { 0x91cd, "chong" },   /* 重 */
    { 0x9577, "chang" },   /* 長 */
    { 0x957f, "chang" },   /* 长 */
    { 0x9ed1, "he" },      /* 黑 */
};

#define NGX_YOUDU_PINYIN_NSURNAMES                                            \
    (sizeof(ngx_youdu_pinyin_surnames) / sizeof(ngx_youdu_pinyin_surnames[0]))


static const char *
ngx_youdu_pinyin_surname(uint32_t cp)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = NGX_YOUDU_PINYIN_NSURNAMES;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (ngx_youdu_pinyin_surnames[mid].cp == cp) {
            return ngx_youdu_pinyin_surnames[mid].pinyin;
        }

        if (ngx_youdu_pinyin_surnames[mid].cp < cp) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


static const char *
ngx_youdu_pinyin_lookup(uint32_t cp)
{
    size_t    lo, hi, mid;
    uint16_t  idx;

    /* find the last run with start <= cp */

    lo = 0;
    hi = ngx_youdu_pinyin_nruns;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (ngx_youdu_pinyin_runs[mid].start <= cp) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo == 0) {
        return NULL;
    }

    lo--;

    if (cp - ngx_youdu_pinyin_runs[lo].start
        >= ngx_youdu_pinyin_runs[lo + 1].offset
           - ngx_youdu_pinyin_runs[lo].offset)
    {
        return NULL;
    }

    idx = ngx_youdu_pinyin_idx[ngx_youdu_pinyin_runs[lo].offset
                               + (cp - ngx_youdu_pinyin_runs[lo].start)];

    if (idx == NGX_YOUDU_PINYIN_NONE || idx >= ngx_youdu_pinyin_nsyllables) {
        return NULL;
    }

    return ngx_youdu_pinyin_syllables[idx];
}


const char *
ngx_youdu_pinyin_syllable(uint32_t cp, int surname)
{
    const char  *p;

    if (surname) {
        p = ngx_youdu_pinyin_surname(cp);
        if (p != NULL) {
            return p;
        }
    }

    return ngx_youdu_pinyin_lookup(cp);
}


/*
 * Strict UTF-8 decoding of one code point.  Returns the number of bytes
 * consumed (>= 1); *cp is set to the code point, or to (uint32_t) -1 for an
 * invalid byte (overlong form, surrogate, > U+10FFFF, stray continuation
 * byte, truncated sequence), in which case exactly one byte is consumed.
 */
static size_t
ngx_youdu_pinyin_utf8(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        goto invalid;
    }

    if (len < n) {
        goto invalid;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            goto invalid;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        goto invalid;
    }

    *cp = c;
    return n;

invalid:

    *cp = (uint32_t) -1;
    return 1;
}


static void
ngx_youdu_pinyin_put(ngx_youdu_pinyin_out_t *out, const char *s, size_t n)
{
    size_t  room;

    if (out->buf == NULL || out->overflow) {
        return;
    }

    /* init() has set overflow for cap == 0, so cap >= 1 and len < cap */

    room = out->cap - 1 - out->len;

    if (n > room) {
        n = room;
        out->overflow = 1;
    }

    memcpy(out->buf + out->len, s, n);
    out->len += n;
}


static void
ngx_youdu_pinyin_init(ngx_youdu_pinyin_out_t *out, char *buf, size_t cap)
{
    out->buf = buf;
    out->cap = cap;
    out->len = 0;
    out->overflow = (buf != NULL && cap == 0);

    if (buf != NULL && cap > 0) {
        buf[0] = '\0';
    }
}


static void
ngx_youdu_pinyin_done(ngx_youdu_pinyin_out_t *out)
{
    if (out->buf != NULL && out->cap > 0) {
        out->buf[out->len] = '\0';
    }
}


int
ngx_youdu_pinyin(const unsigned char *in, size_t len,
    char *full, size_t full_cap, char *initials, size_t initials_cap)
{
    char                    ch;
    size_t                  i, n;
    uint32_t                cp;
    const char             *py;
    int                     in_word, seen_han;
    ngx_youdu_pinyin_out_t  f, ini;

    ngx_youdu_pinyin_init(&f, full, full_cap);
    ngx_youdu_pinyin_init(&ini, initials, initials_cap);

    in_word = 0;
    seen_han = 0;

    for (i = 0; in != NULL && i < len; i += n) {
        n = ngx_youdu_pinyin_utf8(in + i, len - i, &cp);

        if (cp < 0x80) {
            ch = (char) cp;

            if (ch >= 'A' && ch <= 'Z') {
                ch = (char) (ch - 'A' + 'a');
            }

            if (ch >= 'a' && ch <= 'z') {
                ngx_youdu_pinyin_put(&f, &ch, 1);

                if (!in_word) {
                    ngx_youdu_pinyin_put(&ini, &ch, 1);
                }

                in_word = 1;
                continue;
            }

            if (ch >= '0' && ch <= '9') {
                ngx_youdu_pinyin_put(&f, &ch, 1);
                ngx_youdu_pinyin_put(&ini, &ch, 1);
            }

            in_word = 0;
            continue;
        }

        in_word = 0;

        if (cp == (uint32_t) -1) {
            continue;
        }

        py = ngx_youdu_pinyin_syllable(cp, !seen_han);

        if (py == NULL) {
            continue;
        }

        seen_han = 1;

        ngx_youdu_pinyin_put(&f, py, strlen(py));
        ngx_youdu_pinyin_put(&ini, py, 1);
    }

    ngx_youdu_pinyin_done(&f);
    ngx_youdu_pinyin_done(&ini);

    return (f.overflow || ini.overflow) ? -1 : 0;
}
