
/*
 * youdu: the open platform's message crypto (see ngx_youdu_cgi_crypto.h).
 */


#include "ngx_youdu_cgi_crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>


#define YD_CGI_RANDOM_LEN   16
#define YD_CGI_PAD_BLOCK    32


static void *ngx_youdu_cgi_alloc(ngx_pool_t *pool, size_t size);
static ngx_int_t ngx_youdu_cgi_aes(const u_char *key, int enc, u_char *in,
    size_t len, u_char *out);


static void *
ngx_youdu_cgi_alloc(ngx_pool_t *pool, size_t size)
{
    return pool ? ngx_pnalloc(pool, size) : malloc(size);
}


ngx_int_t
ngx_youdu_cgi_key_decode(ngx_str_t *b64, u_char *key)
{
    u_char     buf[48];
    ngx_str_t  src, dst;

    if (b64->len != YD_CGI_KEY_B64_LEN) {
        return NGX_ERROR;
    }

    src = *b64;
    dst.data = buf;

    if (ngx_decode_base64(&dst, &src) != NGX_OK
        || dst.len != YD_CGI_KEY_LEN)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(key, buf, YD_CGI_KEY_LEN);

    return NGX_OK;
}


ngx_int_t
ngx_youdu_cgi_key_generate(ngx_pool_t *pool, ngx_str_t *b64)
{
    u_char     raw[YD_CGI_KEY_LEN];
    ngx_str_t  src;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    b64->data = ngx_pnalloc(pool, ngx_base64_encoded_length(sizeof(raw)) + 1);
    if (b64->data == NULL) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);
    ngx_encode_base64(b64, &src);
    b64->data[b64->len] = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_youdu_cgi_random_alnum(u_char *out, size_t n)
{
    size_t         i;
    u_char         raw[64];
    static u_char  alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";

    while (n) {
        i = ngx_min(n, sizeof(raw));

        if (RAND_bytes(raw, (int) i) != 1) {
            return NGX_ERROR;
        }

        /* 256 is 7 * 36 + 4: the bias is below 2 %, fine for fillers and
         * nonces; secrets use ngx_youdu_cgi_key_generate() */
        while (i--) {
            *out++ = alnum[raw[i] % 36];
            n--;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_youdu_cgi_aes(const u_char *key, int enc, u_char *in, size_t len,
    u_char *out)
{
    int              n, fin;
    ngx_int_t        rc;
    EVP_CIPHER_CTX  *c;

    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    /* IV = key[0..15] (section 2.4) */
    if (EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, key, key, enc) != 1
        || EVP_CIPHER_CTX_set_padding(c, 0) != 1)
    {
        goto done;
    }

    while (len) {
        /* EVP lengths are int */
        n = (int) ngx_min(len, (size_t) 0x40000000);

        if (EVP_CipherUpdate(c, out, &n, in, n) != 1) {
            goto done;
        }

        in += n;
        out += n;
        len -= n;
    }

    if (EVP_CipherFinal_ex(c, out, &fin) != 1) {
        goto done;
    }

    rc = NGX_OK;

done:

    EVP_CIPHER_CTX_free(c);

    return rc;
}


ngx_int_t
ngx_youdu_cgi_encrypt(ngx_pool_t *pool, const u_char *key, ngx_str_t *appid,
    const u_char *payload, size_t len, ngx_str_t *out)
{
    u_char     *plain, *p;
    size_t      total, padded, pad;
    ngx_int_t   rc;
    ngx_str_t   src;

    if (len > 0xffffffff) {
        return NGX_ERROR;
    }

    total = YD_CGI_RANDOM_LEN + 4 + len + appid->len;
    pad = YD_CGI_PAD_BLOCK - total % YD_CGI_PAD_BLOCK;
    padded = total + pad;

    plain = malloc(padded);
    if (plain == NULL) {
        return NGX_ERROR;
    }

    /* ASCII filler like the Java SDK's; nobody reads it */
    if (ngx_youdu_cgi_random_alnum(plain, YD_CGI_RANDOM_LEN) != NGX_OK) {
        free(plain);
        return NGX_ERROR;
    }

    p = plain + YD_CGI_RANDOM_LEN;
    *p++ = (u_char) (len >> 24);
    *p++ = (u_char) (len >> 16);
    *p++ = (u_char) (len >> 8);
    *p++ = (u_char) len;
    p = ngx_cpymem(p, payload, len);
    p = ngx_cpymem(p, appid->data, appid->len);
    ngx_memset(p, (int) pad, pad);

    /* encrypted in place */
    rc = ngx_youdu_cgi_aes(key, 1, plain, padded, plain);

    if (rc == NGX_OK) {
        out->data = ngx_youdu_cgi_alloc(pool,
                                        ngx_base64_encoded_length(padded) + 1);
        if (out->data == NULL) {
            rc = NGX_ERROR;

        } else {
            src.data = plain;
            src.len = padded;
            ngx_encode_base64(out, &src);
            out->data[out->len] = '\0';
        }
    }

    free(plain);

    return rc;
}


ngx_int_t
ngx_youdu_cgi_base64_decode(ngx_pool_t *pool, const u_char *in, size_t len,
    ngx_str_t *out)
{
    u_char     *clean, *p;
    size_t      i;
    ngx_int_t   rc;
    ngx_str_t   src;

    clean = malloc(len + 1);
    if (clean == NULL) {
        return NGX_ERROR;
    }

    /* PHP's header parsing leaves spaces and "\r"; MIME writers wrap */
    p = clean;

    for (i = 0; i < len; i++) {
        if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n') {
            *p++ = in[i];
        }
    }

    src.data = clean;
    src.len = p - clean;

    out->data = ngx_youdu_cgi_alloc(pool, ngx_base64_decoded_length(src.len)
                                          + 1);
    if (out->data == NULL) {
        free(clean);
        return NGX_ERROR;
    }

    rc = (src.len % 4 == 0) ? ngx_decode_base64(out, &src) : NGX_ERROR;

    free(clean);

    if (rc != NGX_OK && pool == NULL) {
        free(out->data);
        out->data = NULL;
    }

    return rc;
}


ngx_youdu_cgi_crypt_rc_e
ngx_youdu_cgi_decrypt(ngx_pool_t *pool, const u_char *key, ngx_str_t *in,
    ngx_str_t *appid, ngx_str_t *payload, ngx_str_t *appid_out)
{
    ngx_str_t                 raw;
    ngx_youdu_cgi_crypt_rc_e  rc;

    if (ngx_youdu_cgi_base64_decode(NULL, in->data, in->len, &raw)
        != NGX_OK)
    {
        return YD_CGI_CRYPT_BAD_BASE64;
    }

    rc = ngx_youdu_cgi_decrypt_raw(pool, key, raw.data, raw.len, appid,
                                   payload, appid_out);

    free(raw.data);

    return rc;
}


ngx_youdu_cgi_crypt_rc_e
ngx_youdu_cgi_decrypt_raw(ngx_pool_t *pool, const u_char *key, u_char *cipher,
    size_t len, ngx_str_t *appid, ngx_str_t *payload, ngx_str_t *appid_out)
{
    u_char      *plain, *p;
    size_t       pad, n, i, body;
    ngx_youdu_cgi_crypt_rc_e  rc;

    /* 32-byte padding gives whole 32-byte multiples; accept any whole AES
     * block count so a 16-byte padder gets a clear padding error */
    if (len == 0 || len % 16 != 0) {
        return YD_CGI_CRYPT_BAD_BASE64;
    }

    plain = malloc(len);
    if (plain == NULL) {
        return YD_CGI_CRYPT_ERROR;
    }

    if (ngx_youdu_cgi_aes(key, 0, cipher, len, plain) != NGX_OK) {
        free(plain);
        return YD_CGI_CRYPT_ERROR;
    }

    rc = YD_CGI_CRYPT_BAD_PADDING;

    pad = plain[len - 1];

    if (pad == 0 || pad > YD_CGI_PAD_BLOCK || pad > len) {
        goto done;
    }

    for (i = len - pad; i < len; i++) {
        if (plain[i] != pad) {
            goto done;
        }
    }

    n = len - pad;

    rc = YD_CGI_CRYPT_BAD_LENGTH;

    if (n < YD_CGI_RANDOM_LEN + 4) {
        goto done;
    }

    p = plain + YD_CGI_RANDOM_LEN;
    body = ((size_t) p[0] << 24) | ((size_t) p[1] << 16)
           | ((size_t) p[2] << 8) | p[3];
    p += 4;

    if (body > n - YD_CGI_RANDOM_LEN - 4) {
        goto done;
    }

    /* what follows the payload is the app id */
    n = n - YD_CGI_RANDOM_LEN - 4 - body;

    rc = YD_CGI_CRYPT_BAD_APPID;

    if (appid
        && (n != appid->len || ngx_memcmp(p + body, appid->data, n) != 0))
    {
        goto done;
    }

    rc = YD_CGI_CRYPT_ERROR;

    payload->data = ngx_youdu_cgi_alloc(pool, body + 1);
    if (payload->data == NULL) {
        goto done;
    }

    ngx_memcpy(payload->data, p, body);
    payload->data[body] = '\0';
    payload->len = body;

    if (appid_out) {
        appid_out->data = ngx_youdu_cgi_alloc(pool, n + 1);
        if (appid_out->data == NULL) {
            if (pool == NULL) {
                free(payload->data);
            }
            goto done;
        }

        ngx_memcpy(appid_out->data, p + body, n);
        appid_out->data[n] = '\0';
        appid_out->len = n;
    }

    rc = YD_CGI_CRYPT_OK;

done:

    /* the plaintext may be a file or a password: do not leave it behind */
    OPENSSL_cleanse(plain, len);
    free(plain);

    return rc;
}


ngx_int_t
ngx_youdu_cgi_signature(ngx_str_t *token, ngx_str_t *timestamp,
    ngx_str_t *nonce, ngx_str_t *encrypt, u_char *out)
{
    size_t       i, j, n;
    ngx_uint_t   ok;
    ngx_str_t   *s[4], *t;
    EVP_MD_CTX  *c;
    u_char       md[SHA_DIGEST_LENGTH];

    s[0] = token;
    s[1] = timestamp;
    s[2] = nonce;
    s[3] = encrypt;

    /* byte-wise sort of four strings */
    for (i = 1; i < 4; i++) {
        for (j = i; j > 0; j--) {
            n = ngx_min(s[j - 1]->len, s[j]->len);

            if (ngx_memcmp(s[j - 1]->data, s[j]->data, n) < 0
                || (ngx_memcmp(s[j - 1]->data, s[j]->data, n) == 0
                    && s[j - 1]->len <= s[j]->len))
            {
                break;
            }

            t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    }

    c = EVP_MD_CTX_new();
    if (c == NULL) {
        return NGX_ERROR;
    }

    ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1;

    for (i = 0; ok && i < 4; i++) {
        ok = EVP_DigestUpdate(c, s[i]->data, s[i]->len) == 1;
    }

    ok = ok && EVP_DigestFinal_ex(c, md, NULL) == 1;

    EVP_MD_CTX_free(c);

    if (!ok) {
        return NGX_ERROR;
    }

    ngx_hex_dump(out, md, sizeof(md));

    return NGX_OK;
}
