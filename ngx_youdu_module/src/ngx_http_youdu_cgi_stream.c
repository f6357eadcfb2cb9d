
/*
 * youdu: the open platform's crypto (PROTOCOL.md section 2) on files, run
 * in the thread pool: media uploads and downloads are base64 ciphertext of
 * the whole file.  Both directions stream between two file descriptors in
 * YD_STREAM_CHUNK pieces, so memory does not grow with the file: about
 * 4 chunks (1 MB) per transfer in flight.
 */


#include "ngx_http_youdu_cgi_media.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>


#define YD_STREAM_CHUNK       (256 * 1024)
#define YD_STREAM_HEAD        20            /* random(16) + be32 length */
#define YD_STREAM_TAIL        (64 + 32)     /* appId (64 at most) + pad */


typedef struct {
    EVP_CIPHER_CTX           *evp;
    int                       out;
    off_t                     max;
    off_t                     bound;        /* bytes the base64 can hold */
    u_char                    head[YD_STREAM_HEAD];
    size_t                    nhead;
    uint64_t                  body;         /* the length field */
    uint64_t                  got;
    u_char                    tail[YD_STREAM_TAIL];
    size_t                    ntail;
    ngx_uint_t                too_long;     /* more than the tail after
                                               the payload */
} yd_stream_dec_t;


static ngx_int_t yd_stream_write(int fd, u_char *p, size_t n);
static ngx_int_t yd_stream_plain(yd_stream_dec_t *d, u_char *p, size_t n);
static size_t yd_stream_b64_clean(u_char *in, size_t n, u_char *out,
    ngx_uint_t *eq, ngx_uint_t *bad);


static ngx_int_t
yd_stream_write(int fd, u_char *p, size_t n)
{
    ssize_t  k;

    while (n) {
        k = write(fd, p, n);

        if (k == -1 && errno == EINTR) {
            continue;
        }

        if (k <= 0) {
            return NGX_ERROR;
        }

        p += k;
        n -= k;
    }

    return NGX_OK;
}


/* decrypted bytes: the header, then the payload (into d->out), then the
 * appId and padding (kept) */

static ngx_int_t
yd_stream_plain(yd_stream_dec_t *d, u_char *p, size_t n)
{
    size_t  k;

    while (n && d->nhead < YD_STREAM_HEAD) {
        d->head[d->nhead++] = *p++;
        n--;

        if (d->nhead == YD_STREAM_HEAD) {
            d->body = (uint64_t) d->head[16] << 24 | d->head[17] << 16
                      | d->head[18] << 8 | d->head[19];

            /* a length the ciphertext cannot hold is a broken (or
             * tampered) ciphertext, not a large file */
            if ((off_t) d->body > d->bound) {
                return NGX_ABORT;
            }

            if ((off_t) d->body > d->max) {
                return NGX_DECLINED;
            }
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    k = (size_t) ngx_min((uint64_t) n, d->body - d->got);

    if (k && yd_stream_write(d->out, p, k) != NGX_OK) {
        return NGX_ERROR;
    }

    d->got += k;
    p += k;
    n -= k;

    if (n > YD_STREAM_TAIL - d->ntail) {
        d->too_long = 1;
        return NGX_OK;
    }

    ngx_memcpy(d->tail + d->ntail, p, n);
    d->ntail += n;

    return NGX_OK;
}


/* base64 without whitespace; '=' only at the end */

static size_t
yd_stream_b64_clean(u_char *in, size_t n, u_char *out, ngx_uint_t *eq,
    ngx_uint_t *bad)
{
    u_char  c, *o;
    size_t  i;

    o = out;

    for (i = 0; i < n; i++) {
        c = in[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }

        if (c == '=') {
            if (++*eq > 2) {
                *bad = 1;
            }

            *o++ = c;
            continue;
        }

        if (*eq
            || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                 || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            *bad = 1;
            return o - out;
        }

        *o++ = c;
    }

    return o - out;
}


yd_stream_rc_e
yd_cgi_stream_decrypt(const u_char *key, ngx_str_t *appid, int in,
    off_t from, off_t to, int out, off_t max, off_t *size)
{
    int               outl;
    u_char           *raw, *b64, *bin, *plain;
    size_t            nb64, use, pad, i;
    ssize_t           n;
    off_t             off, cipher;
    ngx_str_t         src, dst;
    ngx_uint_t        eq, bad;
    yd_stream_rc_e    rc;
    yd_stream_dec_t   d;

    ngx_memzero(&d, sizeof(yd_stream_dec_t));
    d.out = out;
    d.max = max;
    d.bound = (to - from) / 4 * 3 + 3;

    raw = malloc(YD_STREAM_CHUNK);
    b64 = malloc(YD_STREAM_CHUNK + 4);
    bin = malloc(YD_STREAM_CHUNK);
    plain = malloc(YD_STREAM_CHUNK + 32);
    d.evp = EVP_CIPHER_CTX_new();

    rc = YD_STREAM_IO;

    if (raw == NULL || b64 == NULL || bin == NULL || plain == NULL
        || d.evp == NULL
        || EVP_DecryptInit_ex(d.evp, EVP_aes_256_cbc(), NULL, key, key) != 1
        || EVP_CIPHER_CTX_set_padding(d.evp, 0) != 1)
    {
        goto done;
    }

    nb64 = 0;
    eq = 0;
    bad = 0;
    cipher = 0;

    for (off = from; off < to || nb64; off += n) {
        n = 0;

        if (off < to) {
            n = pread(in, raw, (size_t) ngx_min((off_t) YD_STREAM_CHUNK,
                                                to - off), off);
            if (n <= 0) {
                goto done;
            }

            nb64 += yd_stream_b64_clean(raw, n, b64 + nb64, &eq, &bad);
        }

        if (bad) {
            rc = YD_STREAM_BASE64;
            goto done;
        }

        /* whole quads, the rest waits for the next chunk; at the end a
         * final 2 or 3 characters (no '=' padding) are decoded too */
        use = (off + n < to) ? nb64 / 4 * 4 : nb64;

        if (nb64 % 4 == 1 && off + n >= to) {
            rc = YD_STREAM_BASE64;
            goto done;
        }

        src.data = b64;
        src.len = use;
        dst.data = bin;

        if (use && ngx_decode_base64(&dst, &src) != NGX_OK) {
            rc = YD_STREAM_BASE64;
            goto done;
        }

        if (use == 0) {
            dst.len = 0;
        }

        ngx_memmove(b64, b64 + use, nb64 - use);
        nb64 -= use;

        cipher += dst.len;

        if (dst.len
            && EVP_DecryptUpdate(d.evp, plain, &outl, bin, (int) dst.len)
               != 1)
        {
            goto done;
        }

        if (dst.len) {
            switch (yd_stream_plain(&d, plain, outl)) {
            case NGX_OK:
                break;
            case NGX_DECLINED:
                rc = YD_STREAM_TOO_LARGE;
                *size = (off_t) d.body;
                goto done;
            case NGX_ABORT:
                rc = YD_STREAM_LENGTH;
                goto done;
            default:
                goto done;
            }
        }

        if (off + n >= to) {
            break;
        }
    }

    /* whole AES blocks (32-byte padding gives whole 32-byte multiples;
     * a 16-byte padder gets its padding error below) */
    if (cipher == 0 || cipher % 16 != 0
        || EVP_DecryptFinal_ex(d.evp, plain, &outl) != 1)
    {
        rc = YD_STREAM_BASE64;
        goto done;
    }

    rc = YD_STREAM_LENGTH;

    if (d.nhead < YD_STREAM_HEAD || d.got < d.body) {
        goto done;
    }

    rc = YD_STREAM_APPID;

    if (d.too_long || d.ntail == 0) {
        goto done;
    }

    rc = YD_STREAM_PADDING;

    pad = d.tail[d.ntail - 1];

    if (pad == 0 || pad > 32 || pad > d.ntail) {
        goto done;
    }

    for (i = d.ntail - pad; i < d.ntail; i++) {
        if (d.tail[i] != pad) {
            goto done;
        }
    }

    rc = YD_STREAM_APPID;

    if (d.ntail - pad != appid->len
        || ngx_memcmp(d.tail, appid->data, appid->len) != 0)
    {
        goto done;
    }

    *size = (off_t) d.body;
    rc = YD_STREAM_OK;

done:

    if (plain) {
        /* the file's bytes: do not leave them in freed memory */
        OPENSSL_cleanse(plain, YD_STREAM_CHUNK + 32);
    }

    free(raw);
    free(b64);
    free(bin);
    free(plain);
    EVP_CIPHER_CTX_free(d.evp);

    return rc;
}


/* bytes into the cipher, the cipher into base64 text in out */

typedef struct {
    EVP_CIPHER_CTX           *evp;
    int                       out;
    u_char                   *cipher;       /* YD_STREAM_CHUNK + 32 + 3 */
    size_t                    ncarry;       /* < 3 bytes left to encode */
    u_char                   *text;
} yd_stream_enc_t;


static ngx_int_t
yd_stream_feed(yd_stream_enc_t *e, u_char *p, size_t n, ngx_uint_t last)
{
    int        outl;
    size_t     total, use;
    ngx_str_t  src, dst;

    outl = 0;

    if (n && EVP_EncryptUpdate(e->evp, e->cipher + e->ncarry, &outl, p,
                               (int) n) != 1)
    {
        return NGX_ERROR;
    }

    total = e->ncarry + outl;
    use = last ? total : total / 3 * 3;

    src.data = e->cipher;
    src.len = use;
    dst.data = e->text;
    ngx_encode_base64(&dst, &src);

    if (yd_stream_write(e->out, dst.data, dst.len) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memmove(e->cipher, e->cipher + use, total - use);
    e->ncarry = total - use;

    return NGX_OK;
}


ngx_int_t
yd_cgi_stream_encrypt(const u_char *key, ngx_str_t *appid, int in,
    off_t size, int out, off_t *out_len)
{
    u_char           *buf, head[YD_STREAM_HEAD], pad[32];
    off_t             off, total;
    size_t            npad;
    ssize_t           n;
    ngx_int_t         rc;
    yd_stream_enc_t   e;

    if (size > 0xffffffff) {
        return NGX_DECLINED;
    }

    total = YD_STREAM_HEAD + size + appid->len;
    npad = 32 - total % 32;

    ngx_memzero(&e, sizeof(yd_stream_enc_t));
    e.out = out;
    e.evp = EVP_CIPHER_CTX_new();
    e.cipher = malloc(YD_STREAM_CHUNK + 32 + 3);
    e.text = malloc(ngx_base64_encoded_length(YD_STREAM_CHUNK + 32 + 3));
    buf = malloc(YD_STREAM_CHUNK);

    rc = NGX_ERROR;

    if (e.evp == NULL || e.cipher == NULL || e.text == NULL || buf == NULL
        || EVP_EncryptInit_ex(e.evp, EVP_aes_256_cbc(), NULL, key, key) != 1
        || EVP_CIPHER_CTX_set_padding(e.evp, 0) != 1
        || ngx_youdu_cgi_random_alnum(head, 16) != NGX_OK)
    {
        goto done;
    }

    head[16] = (u_char) (size >> 24);
    head[17] = (u_char) (size >> 16);
    head[18] = (u_char) (size >> 8);
    head[19] = (u_char) size;

    if (yd_stream_feed(&e, head, sizeof(head), 0) != NGX_OK) {
        goto done;
    }

    for (off = 0; off < size; off += n) {
        n = pread(in, buf, (size_t) ngx_min((off_t) YD_STREAM_CHUNK,
                                            size - off), off);
        if (n <= 0) {
            goto done;
        }

        if (yd_stream_feed(&e, buf, n, 0) != NGX_OK) {
            goto done;
        }
    }

    ngx_memset(pad, (int) npad, npad);

    if (yd_stream_feed(&e, appid->data, appid->len, 0) != NGX_OK
        || yd_stream_feed(&e, pad, npad, 1) != NGX_OK)
    {
        goto done;
    }

    *out_len = ngx_base64_encoded_length(total + npad);
    rc = NGX_OK;

done:

    if (buf) {
        OPENSSL_cleanse(buf, YD_STREAM_CHUNK);
    }

    free(buf);
    free(e.cipher);
    free(e.text);
    EVP_CIPHER_CTX_free(e.evp);

    return rc;
}
