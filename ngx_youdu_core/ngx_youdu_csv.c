
/*
 * youdu: RFC 4180 CSV reader and writer helpers.
 */


#include <string.h>

#include "ngx_youdu_csv.h"


static int ngx_youdu_csv_fail(ngx_youdu_csv_reader_t *rd, const char *msg);
static int ngx_youdu_csv_formula_start(unsigned char c);


void
ngx_youdu_csv_init(ngx_youdu_csv_reader_t *rd, const unsigned char *buf,
    size_t len)
{
    memset(rd, 0, sizeof(ngx_youdu_csv_reader_t));

    rd->p = buf;
    rd->end = buf + len;
    rd->line = 0;
    rd->cur_line = 1;

    /* spreadsheet programs often prepend a BOM when saving as UTF-8 */
    if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
        rd->p += 3;
    }
}


int
ngx_youdu_csv_next(ngx_youdu_csv_reader_t *rd, ngx_youdu_csv_field_t *fields,
    int max, unsigned char *scratch, size_t scratch_cap)
{
    int                   n;
    unsigned char         c;
    const unsigned char  *p, *end, *start;
    size_t                used;

    if (rd->failed) {
        return -1;
    }

    p = rd->p;
    end = rd->end;

    /* skip empty lines */

    while (p < end && (*p == '\r' || *p == '\n')) {
        if (*p == '\r' && p + 1 < end && p[1] == '\n') {
            p++;
        }

        p++;
        rd->cur_line++;
    }

    rd->p = p;
    rd->line = rd->cur_line;

    if (p == end) {
        return 0;
    }

    n = 0;
    used = 0;

    for ( ;; ) {

        if (n == max) {
            return ngx_youdu_csv_fail(rd, "too many fields");
        }

        if (p < end && *p == '"') {

            /* quoted field: unescape into scratch */

            p++;
            start = scratch + used;

            for ( ;; ) {
                if (p == end) {
                    return ngx_youdu_csv_fail(rd, "unterminated quoted field");
                }

                c = *p++;

                if (c == '"') {
                    if (p < end && *p == '"') {
                        p++;

                    } else {
                        break;
                    }

                } else if (c == '\n') {
                    rd->cur_line++;

                } else if (c == '\r') {
                    /* CRLF counts once, a lone CR counts as a line end */
                    if (p == end || *p != '\n') {
                        rd->cur_line++;
                    }
                }

                if (used == scratch_cap) {
                    return ngx_youdu_csv_fail(rd, "scratch buffer too small");
                }

                scratch[used++] = c;
            }

            fields[n].data = start;
            fields[n].len = scratch + used - start;

            if (p < end && *p != ',' && *p != '\r' && *p != '\n') {
                return ngx_youdu_csv_fail(rd,
                                  "unexpected character after closing quote");
            }

        } else {

            /* unquoted field: points into the input, no copy */

            start = p;

            while (p < end && *p != ',' && *p != '\r' && *p != '\n') {
                if (*p == '"') {
                    return ngx_youdu_csv_fail(rd,
                                              "quote inside unquoted field");
                }

                p++;
            }

            fields[n].data = start;
            fields[n].len = p - start;
        }

        n++;

        if (p == end) {
            break;
        }

        if (*p == ',') {
            p++;
            continue;
        }

        /* line end */

        if (*p == '\r' && p + 1 < end && p[1] == '\n') {
            p++;
        }

        p++;
        rd->cur_line++;
        break;
    }

    rd->p = p;

    return n;
}


static int
ngx_youdu_csv_fail(ngx_youdu_csv_reader_t *rd, const char *msg)
{
    rd->error = msg;
    rd->failed = 1;

    return -1;
}


static int
ngx_youdu_csv_formula_start(unsigned char c)
{
    /* spreadsheets evaluate cells starting with these as formulas */
    return c == '=' || c == '+' || c == '-' || c == '@';
}


size_t
ngx_youdu_csv_escaped_len(const unsigned char *src, size_t len)
{
    size_t  i, quotes;
    int     quote;

    quote = (len > 0 && ngx_youdu_csv_formula_start(src[0]));
    quotes = 0;

    for (i = 0; i < len; i++) {
        switch (src[i]) {

        case '"':
            quotes++;
            quote = 1;
            break;

        case ',':
        case '\r':
        case '\n':
            quote = 1;
            break;
        }
    }

    if (!quote) {
        return len;
    }

    /* two enclosing quotes, doubled quotes, optional "'" formula guard */

    return len + quotes + 2
           + (len > 0 && ngx_youdu_csv_formula_start(src[0]));
}


size_t
ngx_youdu_csv_escape(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t          i;
    unsigned char  *d;

    if (ngx_youdu_csv_escaped_len(src, len) == len) {
        if (len) {
            memcpy(dst, src, len);
        }

        return len;
    }

    d = dst;

    *d++ = '"';

    if (len > 0 && ngx_youdu_csv_formula_start(src[0])) {
        *d++ = '\'';
    }

    for (i = 0; i < len; i++) {
        if (src[i] == '"') {
            *d++ = '"';
        }

        *d++ = src[i];
    }

    *d++ = '"';

    return d - dst;
}
