
/*
 * youdu: UTF-8 helpers.
 *
 * Plain C (libc only) so that it can be unit tested outside nginx.
 */


#ifndef _NGX_YOUDU_UTF8_H_INCLUDED_
#define _NGX_YOUDU_UTF8_H_INCLUDED_


#include <stddef.h>


/*
 * Strict UTF-8 check: rejects overlong forms, surrogates (U+D800..U+DFFF),
 * code points above U+10FFFF, stray continuation bytes and truncated
 * sequences.  Returns 1 if valid, 0 otherwise.  An empty string is valid.
 */
int ngx_youdu_utf8_valid(const unsigned char *p, size_t len);

/* Number of code points; the input must already be valid UTF-8. */
size_t ngx_youdu_utf8_chars(const unsigned char *p, size_t len);

/*
 * Returns 1 if the string contains any C0 control byte (0x00..0x1f,
 * including TAB, CR and LF) or DEL (0x7f), 0 otherwise.
 */
int ngx_youdu_utf8_has_control(const unsigned char *p, size_t len);


#endif /* _NGX_YOUDU_UTF8_H_INCLUDED_ */
