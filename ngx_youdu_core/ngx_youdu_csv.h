
/*
 * youdu: RFC 4180 CSV reader and writer helpers.
 *
 * Plain C (libc only) so that it can be unit tested outside nginx.
 */


#ifndef _NGX_YOUDU_CSV_H_INCLUDED_
#define _NGX_YOUDU_CSV_H_INCLUDED_


#include <stddef.h>


typedef struct {
    const unsigned char  *data;
    size_t                len;
} ngx_youdu_csv_field_t;


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;

    /* 1-based line of the first line of the record just read */
    size_t                line;

    /* 1-based line at rd->p; records may span lines via quoted newlines */
    size_t                cur_line;

    /* static English message, set when ngx_youdu_csv_next() returns -1 */
    const char           *error;

    unsigned              failed:1;
} ngx_youdu_csv_reader_t;


/* Skips a leading UTF-8 BOM (EF BB BF) if present. */
void ngx_youdu_csv_init(ngx_youdu_csv_reader_t *rd, const unsigned char *buf,
    size_t len);

/*
 * Reads the next record.  Fields are stored in fields[0..max-1]; unquoted
 * fields point into the input buffer, quoted fields are unescaped into
 * "scratch" (valid until the next call).  A scratch buffer at least as large
 * as the input is always enough.
 *
 * Returns the number of fields (>= 1), 0 at end of input, or -1 on error:
 * unterminated quote, text after a closing quote, a quote inside an unquoted
 * field, more than "max" fields, or scratch overflow.  rd->error then points
 * to a static message and rd->line is the line the record started on.
 * Errors are sticky: further calls return -1.
 *
 * Line ends may be CRLF, LF or a lone CR; empty lines are skipped; the last
 * record may lack a line end.
 */
int ngx_youdu_csv_next(ngx_youdu_csv_reader_t *rd,
    ngx_youdu_csv_field_t *fields, int max, unsigned char *scratch,
    size_t scratch_cap);

/*
 * Writes one field escaped for CSV output, without a separator.  The field is
 * quoted if it contains a comma, quote, CR or LF, or starts with one of
 * "= + - @"; in the latter case a single quote is put inside the quotes so
 * spreadsheets do not evaluate it as a formula.  "dst" must have room for
 * ngx_youdu_csv_escaped_len() bytes.  Returns the number of bytes written.
 */
size_t ngx_youdu_csv_escape(unsigned char *dst, const unsigned char *src,
    size_t len);

/* Exact number of bytes ngx_youdu_csv_escape() writes for the same input. */
size_t ngx_youdu_csv_escaped_len(const unsigned char *src, size_t len);


#endif /* _NGX_YOUDU_CSV_H_INCLUDED_ */
