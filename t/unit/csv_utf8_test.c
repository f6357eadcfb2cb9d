
/*
 * Standalone tests for ngx_youdu_csv.c and ngx_youdu_utf8.c.
 *
 * Prints one line per check and a final "N passed, M failed" line;
 * exits non-zero if anything failed.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_youdu_csv.h"
#include "ngx_youdu_utf8.h"


static int  passed;
static int  failed;


static void
check(int ok, const char *what)
{
    if (ok) {
        passed++;
        printf("ok     %s\n", what);

    } else {
        failed++;
        printf("FAILED %s\n", what);
    }
}


/*
 * Parses the whole input and renders it as "[f1][f2]@line\n" per record,
 * so a test compares one string.  On error appends "ERR@line:message".
 * Returns the last ngx_youdu_csv_next() result (0 on success, -1 on error).
 */
static int
parse_all(const char *in, size_t len, int max, char *out, size_t out_cap,
    size_t scratch_cap)
{
    int                     n, i;
    size_t                  o;
    unsigned char          *scratch, *copy;
    ngx_youdu_csv_field_t   fields[16];
    ngx_youdu_csv_reader_t  rd;

    /* heap copies so ASan catches any read past the input */
    copy = malloc(len ? len : 1);
    scratch = malloc(scratch_cap ? scratch_cap : 1);
    if (copy == NULL || scratch == NULL) {
        abort();
    }

    memcpy(copy, in, len);

    ngx_youdu_csv_init(&rd, copy, len);

    o = 0;
    out[0] = '\0';

    for ( ;; ) {
        n = ngx_youdu_csv_next(&rd, fields, max, scratch, scratch_cap);

        if (n <= 0) {
            break;
        }

        for (i = 0; i < n; i++) {
            o += snprintf(out + o, out_cap - o, "[%.*s]",
                          (int) fields[i].len, (const char *) fields[i].data);
        }

        o += snprintf(out + o, out_cap - o, "@%zu\n", rd.line);
    }

    if (n < 0) {
        snprintf(out + o, out_cap - o, "ERR@%zu:%s", rd.line, rd.error);

        /* errors are sticky */
        if (ngx_youdu_csv_next(&rd, fields, max, scratch, scratch_cap) != -1) {
            snprintf(out, out_cap, "error not sticky");
        }
    }

    free(copy);
    free(scratch);

    return n;
}


static void
csv_case(const char *name, const char *in, size_t len, int max,
    const char *expect)
{
    int   rc;
    char  out[1024], msg[2048];

    rc = parse_all(in, len, max, out, sizeof(out), len);

    if (strcmp(out, expect) != 0) {
        snprintf(msg, sizeof(msg), "csv: %s (got \"%s\")", name, out);
        check(0, msg);
        return;
    }

    snprintf(msg, sizeof(msg), "csv: %s", name);
    check((strncmp(expect, "ERR", 3) == 0 || strstr(expect, "\nERR") != NULL)
          ? rc == -1 : rc == 0, msg);
}


#define CSV(name, in, max, expect)                                            \
    csv_case(name, in, sizeof(in) - 1, max, expect)


static void
test_csv_reader(void)
{
    int                     n;
    unsigned char           scratch[4];
    ngx_youdu_csv_field_t   f[4];
    ngx_youdu_csv_reader_t  rd;

    CSV("simple LF", "a,b,c\n1,2,3\n", 8, "[a][b][c]@1\n[1][2][3]@2\n");
    CSV("CRLF", "a,b\r\n1,2\r\n", 8, "[a][b]@1\n[1][2]@2\n");
    CSV("lone CR line end", "a,b\r1,2", 8, "[a][b]@1\n[1][2]@2\n");
    CSV("no final newline", "a,b\n1,2", 8, "[a][b]@1\n[1][2]@2\n");
    CSV("empty input", "", 8, "");
    CSV("only newlines", "\n\r\n\n", 8, "");
    CSV("blank lines skipped", "\n\na\r\n\r\n\nb\n\n", 8, "[a]@3\n[b]@6\n");
    CSV("empty fields", ",a,,\n", 8, "[][a][][]@1\n");
    CSV("single comma", ",", 8, "[][]@1\n");
    CSV("spaces preserved", " a , b \n", 8, "[ a ][ b ]@1\n");
    CSV("quoted simple", "\"a\",\"b\"\n", 8, "[a][b]@1\n");
    CSV("quoted empty", "\"\",x,\"\"", 8, "[][x][]@1\n");
    CSV("doubled quotes", "\"say \"\"hi\"\"\",\"\"\"\"\n", 8,
        "[say \"hi\"][\"]@1\n");
    CSV("embedded comma", "\"a,b\",c\n", 8, "[a,b][c]@1\n");
    CSV("LF inside quotes", "\"x\ny\",z\nnext\n", 8,
        "[x\ny][z]@1\n[next]@3\n");
    CSV("CRLF inside quotes", "\"x\r\ny\",z\r\nnext\r\n", 8,
        "[x\r\ny][z]@1\n[next]@3\n");
    CSV("lone CR inside quotes", "\"x\ry\"\nn", 8, "[x\ry]@1\n[n]@3\n");
    CSV("quoted field at EOF", "a,\"b\"", 8, "[a][b]@1\n");
    CSV("UTF-8 BOM skipped", "\xef\xbb\xbf" "id,name\n1,\xe5\x8f\x8b\n", 8,
        "[id][name]@1\n[1][\xe5\x8f\x8b]@2\n");
    CSV("BOM then quoted", "\xef\xbb\xbf\"q\"\n", 8, "[q]@1\n");
    CSV("BOM only", "\xef\xbb\xbf", 8, "");
    CSV("BOM not at start kept", "a\n\xef\xbb\xbf" "b\n", 8,
        "[a]@1\n[\xef\xbb\xbf" "b]@2\n");
    CSV("partial BOM kept", "\xef\xbb" "x", 8, "[\xef\xbbx]@1\n");
    CSV("exactly max fields", "a,b,c\n", 3, "[a][b][c]@1\n");

    /* malformed */

    CSV("unterminated quote", "a,\"bc\n", 8,
        "ERR@1:unterminated quoted field");
    CSV("unterminated quote after good rows", "x\ny\n\"oops", 8,
        "[x]@1\n[y]@2\nERR@3:unterminated quoted field");
    CSV("lone opening quote", "\"", 8, "ERR@1:unterminated quoted field");
    CSV("garbage after quote", "\"a\"b,c\n", 8,
        "ERR@1:unexpected character after closing quote");
    CSV("space after quote", "\"a\" ,c\n", 8,
        "ERR@1:unexpected character after closing quote");
    CSV("quote inside unquoted field", "ab\"c\n", 8,
        "ERR@1:quote inside unquoted field");
    CSV("too many fields", "a,b,c,d\n", 3, "ERR@1:too many fields");
    CSV("too many fields (trailing comma)", "ok\na,b,c,\n", 3,
        "[ok]@1\nERR@2:too many fields");

    /* NUL bytes are data; the caller validates content */

    ngx_youdu_csv_init(&rd, (const unsigned char *) "a\0b,c", 5);
    n = ngx_youdu_csv_next(&rd, f, 4, NULL, 0);
    check(n == 2 && f[0].len == 3 && memcmp(f[0].data, "a\0b", 3) == 0
          && f[1].len == 1, "csv: NUL byte is field data");

    /* scratch overflow */

    ngx_youdu_csv_init(&rd, (const unsigned char *) "\"abcdef\"", 8);
    n = ngx_youdu_csv_next(&rd, f, 4, scratch, sizeof(scratch));
    check(n == -1 && rd.error && strstr(rd.error, "scratch") != NULL,
          "csv: scratch overflow detected");

    /* scratch exactly sufficient */

    ngx_youdu_csv_init(&rd, (const unsigned char *) "\"ab\",\"cd\"", 9);
    n = ngx_youdu_csv_next(&rd, f, 4, scratch, sizeof(scratch));
    check(n == 2 && f[0].len == 2 && memcmp(f[0].data, "ab", 2) == 0
          && f[1].len == 2 && memcmp(f[1].data, "cd", 2) == 0,
          "csv: scratch exactly filled");

    /* unquoted fields point into the input, need no scratch */

    ngx_youdu_csv_init(&rd, (const unsigned char *) "abcdefgh,ij", 11);
    n = ngx_youdu_csv_next(&rd, f, 4, NULL, 0);
    check(n == 2 && f[0].len == 8 && f[1].len == 2,
          "csv: unquoted fields need no scratch");
    check(ngx_youdu_csv_next(&rd, f, 4, NULL, 0) == 0
          && ngx_youdu_csv_next(&rd, f, 4, NULL, 0) == 0,
          "csv: end of input is repeatable");
}


static void
esc_case(const char *name, const char *in, size_t len, const char *expect)
{
    int             ok;
    char            msg[512];
    size_t          n, elen;
    unsigned char  *dst;

    elen = ngx_youdu_csv_escaped_len((const unsigned char *) in, len);

    /* exact-size heap buffer so ASan catches overruns */
    dst = malloc(elen ? elen : 1);
    if (dst == NULL) {
        abort();
    }

    n = ngx_youdu_csv_escape(dst, (const unsigned char *) in, len);

    ok = (n == elen && n == strlen(expect) && memcmp(dst, expect, n) == 0);

    snprintf(msg, sizeof(msg), "escape: %s (%zu bytes, expected %zu)",
             name, n, strlen(expect));
    check(ok, msg);

    free(dst);
}


#define ESC(name, in, expect)  esc_case(name, in, sizeof(in) - 1, expect)


static void
roundtrip(const char *name, const char *in, size_t len)
{
    int                     n;
    char                    msg[256];
    size_t                  elen;
    unsigned char          *buf, *scratch;
    ngx_youdu_csv_field_t   f[2];
    ngx_youdu_csv_reader_t  rd;

    elen = ngx_youdu_csv_escaped_len((const unsigned char *) in, len);
    buf = malloc(elen + 2);
    scratch = malloc(elen + 2);
    if (buf == NULL || scratch == NULL) {
        abort();
    }

    /* "x,<field>" so that empty fields still form a record */
    buf[0] = 'x';
    buf[1] = ',';
    ngx_youdu_csv_escape(buf + 2, (const unsigned char *) in, len);

    ngx_youdu_csv_init(&rd, buf, elen + 2);
    n = ngx_youdu_csv_next(&rd, f, 2, scratch, elen + 2);

    snprintf(msg, sizeof(msg), "escape roundtrip: %s", name);

    if (in[0] == '=' || in[0] == '+' || in[0] == '-' || in[0] == '@') {
        check(n == 2 && f[1].len == len + 1 && f[1].data[0] == '\''
              && memcmp(f[1].data + 1, in, len) == 0, msg);

    } else {
        check(n == 2 && f[1].len == len && memcmp(f[1].data, in, len) == 0,
              msg);
    }

    free(buf);
    free(scratch);
}


static void
test_csv_escape(void)
{
    ESC("plain", "hello", "hello");
    ESC("empty", "", "");
    ESC("utf-8 plain", "\xe5\x8f\x8b", "\xe5\x8f\x8b");
    ESC("comma", "a,b", "\"a,b\"");
    ESC("quote", "say \"hi\"", "\"say \"\"hi\"\"\"");
    ESC("only quote", "\"", "\"\"\"\"");
    ESC("LF", "a\nb", "\"a\nb\"");
    ESC("CR", "a\rb", "\"a\rb\"");
    ESC("formula =", "=1+2", "\"'=1+2\"");
    ESC("formula +", "+1", "\"'+1\"");
    ESC("formula -", "-2", "\"'-2\"");
    ESC("formula @", "@SUM(A1)", "\"'@SUM(A1)\"");
    ESC("formula single char", "=", "\"'=\"");
    ESC("formula with quote and comma", "=HYPERLINK(\"x\",1)",
        "\"'=HYPERLINK(\"\"x\"\",1)\"");
    ESC("operator not first is plain", "a=b-c", "a=b-c");
    ESC("leading space then =", " =1", " =1");

    roundtrip("plain", "abc", 3);
    roundtrip("quotes+comma+CRLF", "a\"b,c\r\nd", 9);
    roundtrip("formula", "=cmd|' /C calc'!A0", 18);
    roundtrip("empty", "", 0);
}


#define UTF8(name, s, expect)                                                 \
    check(ngx_youdu_utf8_valid((const unsigned char *) s, sizeof(s) - 1)      \
          == expect, "utf8_valid: " name)


static void
test_utf8(void)
{
    /* valid */

    UTF8("empty", "", 1);
    UTF8("ascii", "hello", 1);
    UTF8("NUL is valid UTF-8", "a\0b", 1);
    UTF8("2-byte min U+0080", "\xc2\x80", 1);
    UTF8("2-byte max U+07FF", "\xdf\xbf", 1);
    UTF8("3-byte min U+0800", "\xe0\xa0\x80", 1);
    UTF8("3-byte CJK", "\xe6\x9c\x89\xe5\xba\xa6", 1);
    UTF8("U+D7FF before surrogates", "\xed\x9f\xbf", 1);
    UTF8("U+E000 after surrogates", "\xee\x80\x80", 1);
    UTF8("U+FFFF", "\xef\xbf\xbf", 1);
    UTF8("4-byte min U+10000", "\xf0\x90\x80\x80", 1);
    UTF8("emoji", "\xf0\x9f\x98\x80", 1);
    UTF8("U+10FFFF max", "\xf4\x8f\xbf\xbf", 1);
    UTF8("BOM", "\xef\xbb\xbf", 1);

    /* invalid: stray continuation bytes */

    UTF8("lone continuation 0x80", "\x80", 0);
    UTF8("lone continuation 0xbf", "a\xbf", 0);
    UTF8("extra continuation", "\xc2\x80\x80", 0);

    /* invalid: overlongs */

    UTF8("overlong C0 80 (NUL)", "\xc0\x80", 0);
    UTF8("overlong C1 BF", "\xc1\xbf", 0);
    UTF8("overlong E0 80 80", "\xe0\x80\x80", 0);
    UTF8("overlong E0 9F BF", "\xe0\x9f\xbf", 0);
    UTF8("overlong F0 80 80 80", "\xf0\x80\x80\x80", 0);
    UTF8("overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", 0);
    UTF8("overlong '/' C0 AF", "\xc0\xaf", 0);

    /* invalid: surrogates */

    UTF8("surrogate U+D800", "\xed\xa0\x80", 0);
    UTF8("surrogate U+DBFF", "\xed\xaf\xbf", 0);
    UTF8("surrogate U+DC00", "\xed\xb0\x80", 0);
    UTF8("surrogate U+DFFF", "\xed\xbf\xbf", 0);
    UTF8("CESU-8 surrogate pair", "\xed\xa0\xbd\xed\xb8\x80", 0);

    /* invalid: above U+10FFFF and impossible lead bytes */

    UTF8("U+110000 F4 90", "\xf4\x90\x80\x80", 0);
    UTF8("F5 lead", "\xf5\x80\x80\x80", 0);
    UTF8("F7 lead", "\xf7\xbf\xbf\xbf", 0);
    UTF8("F8 5-byte lead", "\xf8\x88\x80\x80\x80", 0);
    UTF8("FC 6-byte lead", "\xfc\x84\x80\x80\x80\x80", 0);
    UTF8("FE byte", "\xfe", 0);
    UTF8("FF byte", "\xff", 0);

    /* invalid: truncated sequences */

    UTF8("truncated 2-byte at end", "ab\xc3", 0);
    UTF8("truncated 3-byte at end", "\xe6\x9c", 0);
    UTF8("truncated 4-byte at end", "\xf0\x9f\x98", 0);
    UTF8("lead followed by ascii", "\xc3" "A", 0);
    UTF8("3-byte bad third byte", "\xe6\x9c" "A", 0);
    UTF8("4-byte bad fourth byte", "\xf0\x9f\x98\xc0", 0);
    UTF8("lead followed by lead", "\xe6\xe6\x9c\x89", 0);

    /* exhaustive: every 1- and 2-byte string against a reference decoder */

    {
        int            bad;
        unsigned int   a, b, cp;
        unsigned char  s[2];

        bad = 0;

        for (a = 0; a < 256; a++) {
            s[0] = (unsigned char) a;
            if (ngx_youdu_utf8_valid(s, 1) != (a < 0x80)) {
                bad++;
            }

            for (b = 0; b < 256; b++) {
                int  ref;

                s[1] = (unsigned char) b;

                if (a < 0x80) {
                    ref = (b < 0x80);

                } else if ((a & 0xe0) == 0xc0 && (b & 0xc0) == 0x80) {
                    cp = ((a & 0x1f) << 6) | (b & 0x3f);
                    ref = (cp >= 0x80);

                } else {
                    ref = 0;
                }

                if (ngx_youdu_utf8_valid(s, 2) != ref) {
                    bad++;
                }
            }
        }

        check(bad == 0, "utf8_valid: exhaustive 1- and 2-byte strings");
    }

    /* exhaustive: every code point encodes to something valid; surrogates
     * and > U+10FFFF encoded naively are rejected */

    {
        int            bad;
        size_t         n;
        unsigned long  cp;
        unsigned char  s[4];

        bad = 0;

        for (cp = 0; cp <= 0x13ffff; cp++) {
            if (cp < 0x80) {
                s[0] = (unsigned char) cp;
                n = 1;

            } else if (cp < 0x800) {
                s[0] = 0xc0 | (cp >> 6);
                s[1] = 0x80 | (cp & 0x3f);
                n = 2;

            } else if (cp < 0x10000) {
                s[0] = 0xe0 | (cp >> 12);
                s[1] = 0x80 | ((cp >> 6) & 0x3f);
                s[2] = 0x80 | (cp & 0x3f);
                n = 3;

            } else {
                s[0] = 0xf0 | (cp >> 18);
                s[1] = 0x80 | ((cp >> 12) & 0x3f);
                s[2] = 0x80 | ((cp >> 6) & 0x3f);
                s[3] = 0x80 | (cp & 0x3f);
                n = 4;
            }

            if (ngx_youdu_utf8_valid(s, n)
                != !((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
            {
                bad++;
            }

            if (cp <= 0x10ffff && ngx_youdu_utf8_chars(s, n) != 1) {
                bad++;
            }
        }

        check(bad == 0, "utf8_valid: every code point U+0000..U+13FFFF");
    }

    /* chars */

    check(ngx_youdu_utf8_chars((const unsigned char *) "", 0) == 0,
          "utf8_chars: empty");
    check(ngx_youdu_utf8_chars((const unsigned char *) "abc", 3) == 3,
          "utf8_chars: ascii");
    check(ngx_youdu_utf8_chars((const unsigned char *)
                               "a\xc3\xa9\xe6\x9c\x89\xf0\x9f\x98\x80", 10)
          == 4, "utf8_chars: mixed 1/2/3/4-byte");

    /* control characters */

    check(ngx_youdu_utf8_has_control((const unsigned char *) "Zhang San", 9)
          == 0, "has_control: plain name");
    check(ngx_youdu_utf8_has_control((const unsigned char *)
                                     "\xe5\xbc\xa0\xe4\xb8\x89", 6) == 0,
          "has_control: CJK name");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "", 0) == 0,
          "has_control: empty");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "a\nb", 3) == 1,
          "has_control: LF");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "a\rb", 3) == 1,
          "has_control: CR");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "a\tb", 3) == 1,
          "has_control: TAB");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "a\0b", 3) == 1,
          "has_control: NUL");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "\x1f", 1) == 1,
          "has_control: 0x1f");
    check(ngx_youdu_utf8_has_control((const unsigned char *) "ab\x7f", 3)
          == 1, "has_control: DEL");
    check(ngx_youdu_utf8_has_control((const unsigned char *) " ~", 2) == 0,
          "has_control: 0x20 and 0x7e allowed");
}


int
main(void)
{
    test_csv_reader();
    test_csv_escape();
    test_utf8();

    printf("%d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}
