
/*
 * youdu: Chinese name -> pinyin.
 *
 * Plain C (libc only) so that it can be unit tested outside nginx.  The
 * code point table is generated from Debian's Unihan data by gen_pinyin.pl
 * into ngx_youdu_pinyin_table.c, which must be compiled and linked together
 * with ngx_youdu_pinyin.c.
 */


#ifndef _NGX_YOUDU_PINYIN_H_INCLUDED_
#define _NGX_YOUDU_PINYIN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * Converts UTF-8 text to lowercase pinyin.  full: syllables concatenated
 * ("zhangsan"); initials: first letter of each syllable ("zs").  ASCII
 * letters/digits are copied lowercased into both (a word of ASCII letters
 * contributes its first letter only to initials; every digit is copied to
 * initials); other characters (spaces, punctuation, unknown code points) are
 * skipped.  Invalid UTF-8 bytes are skipped.  Writes at most cap-1 bytes plus
 * NUL to each buffer; returns 0, or -1 if a buffer was too small (output is
 * then truncated but NUL-terminated).  A NULL buffer is not written to and
 * never causes -1; a non-NULL buffer with cap 0 always does.
 * The first Han character uses the surname override table when it has an
 * entry (e.g. "单" -> "shan", "曾" -> "zeng").
 */
int ngx_youdu_pinyin(const unsigned char *in, size_t len,
    char *full, size_t full_cap, char *initials, size_t initials_cap);

/*
 * Reading of a single code point: a NUL-terminated lowercase syllable
 * without tone, or NULL if the code point has no kMandarin reading.
 * "surname" selects the surname override table first.
 */
const char *ngx_youdu_pinyin_syllable(uint32_t cp, int surname);


/* Generated table (ngx_youdu_pinyin_table.c); internal to the library. */

#define NGX_YOUDU_PINYIN_SYLLABLE_SIZE  8
#define NGX_YOUDU_PINYIN_NONE           0xffff

typedef struct {
    uint32_t  start;     /* first code point of the run */
    uint32_t  offset;    /* index of its entry in ngx_youdu_pinyin_idx[] */
} ngx_youdu_pinyin_run_t;

/* sorted distinct syllables, NUL padded */
extern const char ngx_youdu_pinyin_syllables[][NGX_YOUDU_PINYIN_SYLLABLE_SIZE];
extern const size_t ngx_youdu_pinyin_nsyllables;

/*
 * nruns sorted runs followed by a sentinel; run i covers code points
 * [runs[i].start, runs[i].start + runs[i+1].offset - runs[i].offset).
 */
extern const ngx_youdu_pinyin_run_t ngx_youdu_pinyin_runs[];
extern const size_t ngx_youdu_pinyin_nruns;

/* syllable index per code point, or NGX_YOUDU_PINYIN_NONE */
extern const uint16_t ngx_youdu_pinyin_idx[];


#endif /* _NGX_YOUDU_PINYIN_H_INCLUDED_ */
