
/*
 * youdu: UTF-8 helpers.
 */


#include "ngx_youdu_utf8.h"


int
ngx_youdu_utf8_valid(const unsigned char *p, size_t len)
{
    size_t                need, i;
    unsigned char         c, lo, hi;
    const unsigned char  *end;

    end = p + len;

    while (p < end) {
        c = *p++;

        if (c < 0x80) {
            continue;
        }

        /*
         * Bounds for the second byte follow RFC 3629 / Unicode table 3-7:
         * they exclude overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
         * C0, C1 and F5..FF can never start a valid sequence.
         */

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;

            if (c == 0xe0) {
                lo = 0xa0;

            } else if (c == 0xed) {
                hi = 0x9f;
            }

        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;

            if (c == 0xf0) {
                lo = 0x90;

            } else if (c == 0xf4) {
                hi = 0x8f;
            }

        } else {
            return 0;
        }

        if ((size_t) (end - p) < need) {
            return 0;
        }

        if (p[0] < lo || p[0] > hi) {
            return 0;
        }

        for (i = 1; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }
        }

        p += need;
    }

    return 1;
}


size_t
ngx_youdu_utf8_chars(const unsigned char *p, size_t len)
{
    size_t  i, n;

    n = 0;

    /* every code point has exactly one non-continuation byte */

    for (i = 0; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


int
ngx_youdu_utf8_has_control(const unsigned char *p, size_t len)
{
    size_t  i;

    /* bytes >= 0x80 are never C0/DEL in UTF-8, so a byte scan is enough */

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 1;
        }
    }

    return 0;
}
