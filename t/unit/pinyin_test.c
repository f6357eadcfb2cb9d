
/*
 * youdu: unit test for ngx_youdu_pinyin (ngx_youdu_core/ngx_youdu_pinyin.c
 * plus the generated ngx_youdu_pinyin_table.c).  Run via build_and_run.sh.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_youdu_pinyin.h"


static int  passed, failed;


static void
check(const char *name, const char *in, size_t len, size_t full_cap,
    size_t ini_cap, int want_rc, const char *want_full, const char *want_ini)
{
    int   rc, ok;
    char  full[64], ini[64];

    memset(full, 'X', sizeof(full));
    memset(ini, 'X', sizeof(ini));

    rc = ngx_youdu_pinyin((const unsigned char *) in, len,
                          full, full_cap, ini, ini_cap);

    ok = (rc == want_rc);

    if (full_cap > 0) {
        ok = ok && memchr(full, '\0', full_cap) != NULL
             && strcmp(full, want_full) == 0;
    }

    if (ini_cap > 0) {
        ok = ok && memchr(ini, '\0', ini_cap) != NULL
             && strcmp(ini, want_ini) == 0;
    }

    /* nothing written beyond cap */
    ok = ok && (full_cap >= sizeof(full) || full[full_cap] == 'X')
         && (ini_cap >= sizeof(ini) || ini[ini_cap] == 'X');

    if (ok) {
        passed++;
        printf("ok   %s -> %s/%s rc=%d\n", name, want_full, want_ini, rc);

    } else {
        failed++;
        printf("FAIL %s: want %s/%s rc=%d, got %.*s/%.*s rc=%d\n", name,
               want_full, want_ini, want_rc,
               (int) (full_cap ? strnlen(full, full_cap) : 0), full,
               (int) (ini_cap ? strnlen(ini, ini_cap) : 0), ini, rc);
    }
}


#define CHECK(name, s, want_full, want_ini)                                   \
    check(name, s, sizeof(s) - 1, 64, 64, 0, want_full, want_ini)


static void
check_syllable(const char *name, uint32_t cp, int surname, const char *want)
{
    const char  *got;

    got = ngx_youdu_pinyin_syllable(cp, surname);

    if ((want == NULL && got == NULL)
        || (want != NULL && got != NULL && strcmp(want, got) == 0))
    {
        passed++;
        printf("ok   %s U+%04X -> %s\n", name, (unsigned) cp,
               want ? want : "(none)");

    } else {
        failed++;
        printf("FAIL %s U+%04X: want %s, got %s\n", name, (unsigned) cp,
               want ? want : "(none)", got ? got : "(none)");
    }
}


static void
check_table(void)
{
    size_t  i;
    int     ok;

    ok = ngx_youdu_pinyin_nsyllables > 400 && ngx_youdu_pinyin_nruns > 0;

    for (i = 1; ok && i < ngx_youdu_pinyin_nsyllables; i++) {
        ok = strcmp(ngx_youdu_pinyin_syllables[i - 1],
                    ngx_youdu_pinyin_syllables[i]) < 0;
    }

    for (i = 1; ok && i <= ngx_youdu_pinyin_nruns; i++) {
        ok = ngx_youdu_pinyin_runs[i - 1].start < ngx_youdu_pinyin_runs[i].start
             && ngx_youdu_pinyin_runs[i - 1].offset
                < ngx_youdu_pinyin_runs[i].offset;
    }

    if (ok) {
        passed++;
        printf("ok   table sorted: %zu syllables, %zu runs, %u idx entries\n",
               ngx_youdu_pinyin_nsyllables, ngx_youdu_pinyin_nruns,
               (unsigned) ngx_youdu_pinyin_runs[ngx_youdu_pinyin_nruns].offset);

    } else {
        failed++;
        printf("FAIL table not sorted / empty\n");
    }
}


int
main(void)
{
    int   rc;
    char  full[8], ini[8];

    check_table();

    /* required cases */
    CHECK("张三", "张三", "zhangsan", "zs");
    CHECK("李小龙", "李小龙", "lixiaolong", "lxl");
    CHECK("单田芳 (surname override)", "单田芳", "shantianfang", "stf");
    CHECK("曾国藩 (surname override)", "曾国藩", "zengguofan", "zgf");
    CHECK("吕布 (u-umlaut -> v)", "吕布", "lvbu", "lb");
    CHECK("Tom 王", "Tom 王", "tomwang", "tw");
    CHECK("empty", "", "", "");
    check("NULL input, len 0", NULL, 0, 64, 64, 0, "", "");

    /* invalid UTF-8 is skipped */
    CHECK("invalid 0xff", "张\xff三", "zhangsan", "zs");
    CHECK("overlong 0xc0 0x80", "张\xc0\x80三", "zhangsan", "zs");
    CHECK("surrogate", "张\xed\xa0\x80三", "zhangsan", "zs");
    CHECK("stray continuation", "\x80\xbf张三", "zhangsan", "zs");
    CHECK("truncated at end", "张三\xe5\xbc", "zhangsan", "zs");
    CHECK("truncated mid", "张\xe5\xbc三", "zhangsan", "zs");
    CHECK("above U+10FFFF", "张\xf4\x90\x80\x80三", "zhangsan", "zs");

    /* buffers too small: truncated, NUL-terminated, rc -1 */
    check("full too small", "张三", 6, 5, 64, -1, "zhan", "zs");
    check("initials too small", "张三", 6, 64, 2, -1, "zhangsan", "z");
    check("both cap 1", "张三", 6, 1, 1, -1, "", "");
    check("exact fit", "张三", 6, 9, 3, 0, "zhangsan", "zs");
    check("one short", "张三", 6, 8, 3, -1, "zhangsa", "zs");
    check("empty input, cap 1", "", 0, 1, 1, 0, "", "");

    rc = ngx_youdu_pinyin((const unsigned char *) "张三", 6, full, 0,
                          ini, sizeof(ini));
    if (rc == -1 && strcmp(ini, "zs") == 0) {
        passed++;
        printf("ok   full cap 0 -> rc=-1, initials zs\n");
    } else {
        failed++;
        printf("FAIL full cap 0: rc=%d\n", rc);
    }

    rc = ngx_youdu_pinyin((const unsigned char *) "张三", 6, NULL, 0,
                          ini, sizeof(ini));
    if (rc == 0 && strcmp(ini, "zs") == 0) {
        passed++;
        printf("ok   full NULL -> rc=0, initials zs\n");
    } else {
        failed++;
        printf("FAIL full NULL: rc=%d\n", rc);
    }

    rc = ngx_youdu_pinyin((const unsigned char *) "张三", 6, full,
                          sizeof(full), NULL, 0);
    if (rc == -1 && strcmp(full, "zhangsa") == 0) {
        passed++;
        printf("ok   initials NULL, full cap 8 -> rc=-1, zhangsa\n");
    } else {
        failed++;
        printf("FAIL initials NULL: rc=%d\n", rc);
    }

    /* surname override applies to the first Han character only */
    CHECK("张单 (no override)", "张单", "zhangdan", "zd");
    CHECK("李曾 (no override)", "李曾", "liceng", "lc");
    CHECK("解缙", "解缙", "xiejin", "xj");
    CHECK("仇英", "仇英", "qiuying", "qy");
    CHECK("区 (surname ou)", "区", "ou", "o");
    CHECK("查良镛", "查良镛", "zhaliangyong", "zly");
    CHECK("朴槿惠", "朴槿惠", "piaojinhui", "pjh");
    CHECK("翟志刚", "翟志刚", "zhaizhigang", "zzg");
    CHECK("乐嘉", "乐嘉", "yuejia", "yj");
    CHECK("长孙无忌", "长孙无忌", "changsunwuji", "cswj");
    CHECK("單 (traditional)", "單雄信", "shanxiongxin", "sxx");
    CHECK("沈万三", "沈万三", "shenwansan", "sws");

    /* ASCII handling */
    CHECK("mixed ascii/digits", "A1b张", "a1bzhang", "a1bz");
    CHECK("ascii words", "Bruce Lee", "brucelee", "bl");
    CHECK("punctuation skipped", "欧阳·娜娜", "ouyangnana", "oynn");
    CHECK("fullwidth / unknown skipped", "王\xef\xbc\x81\xe2\x82\xac五",
          "wangwu", "ww");
    CHECK("女 (nv)", "女", "nv", "n");

    /* single code points across blocks */
    check_syllable("BMP", 0x5f20, 0, "zhang");
    check_syllable("ext A", 0x3400, 0, "qiu");
    check_syllable("ext B", 0x20000, 0, "he");
    check_syllable("ext G", 0x30edd, 0, "biang");
    check_syllable("compat", 0xfa18, 0, "li");
    check_syllable("ASCII", 0x41, 0, NULL);
    check_syllable("unassigned", 0x10ffff, 0, NULL);
    check_syllable("surname off", 0x5355, 0, "dan");
    check_syllable("surname on", 0x5355, 1, "shan");
    check_syllable("surname on, no entry", 0x5f20, 1, "zhang");

    printf("%d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}
