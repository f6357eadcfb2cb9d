
/*
 * youdu: the open platform's message crypto (PROTOCOL.md section 2).
 *
 * plaintext = random(16) | be32(len) | payload | appId, padded to a multiple
 * of 32 bytes (N bytes of value N, N in 1..32), AES-256-CBC without library
 * padding, IV = the first 16 bytes of the key, standard base64.
 *
 * Decryption uses the same IV and never looks at bytes 0..15: clients that
 * encrypt with a random IV garble only those.
 */

#ifndef _NGX_YOUDU_CGI_CRYPTO_H_INCLUDED_
#define _NGX_YOUDU_CGI_CRYPTO_H_INCLUDED_


#include "ngx_youdu_core.h"


#define YD_CGI_KEY_LEN        32
#define YD_CGI_KEY_B64_LEN    44
#define YD_CGI_SIG_LEN        40


typedef enum {
    YD_CGI_CRYPT_OK = 0,
    YD_CGI_CRYPT_BAD_BASE64,     /* not base64, or not whole AES blocks */
    YD_CGI_CRYPT_BAD_PADDING,
    YD_CGI_CRYPT_BAD_LENGTH,     /* the length field does not fit */
    YD_CGI_CRYPT_BAD_APPID,      /* the trailer is not the expected app */
    YD_CGI_CRYPT_ERROR           /* out of memory, OpenSSL failure */
} ngx_youdu_cgi_crypt_rc_e;


/* "AY2O...sQ=" (44 characters) -> 32 bytes; NGX_ERROR if it is not that */
ngx_int_t ngx_youdu_cgi_key_decode(ngx_str_t *b64, u_char *key);

/* a fresh EncodingAESKey (44 characters) */
ngx_int_t ngx_youdu_cgi_key_generate(ngx_pool_t *pool, ngx_str_t *b64);

/* n random lowercase alphanumerics (callback tokens, nonces) */
ngx_int_t ngx_youdu_cgi_random_alnum(u_char *out, size_t n);

/* payload -> base64 ciphertext (allocated from pool) */
ngx_int_t ngx_youdu_cgi_encrypt(ngx_pool_t *pool, const u_char *key,
    ngx_str_t *appid, const u_char *payload, size_t len, ngx_str_t *out);

/*
 * base64 ciphertext -> payload (allocated from pool, NUL-terminated).
 * Whitespace in the input is skipped.  If appid is not NULL the trailer
 * must equal it; if appid_out is not NULL it receives the trailer.
 */
ngx_youdu_cgi_crypt_rc_e ngx_youdu_cgi_decrypt(ngx_pool_t *pool,
    const u_char *key, ngx_str_t *in, ngx_str_t *appid, ngx_str_t *payload,
    ngx_str_t *appid_out);

/* the same on raw ciphertext bytes (after base64), for the thread pool:
 * allocates with malloc when pool is NULL */
ngx_youdu_cgi_crypt_rc_e ngx_youdu_cgi_decrypt_raw(ngx_pool_t *pool,
    const u_char *key, u_char *cipher, size_t len, ngx_str_t *appid,
    ngx_str_t *payload, ngx_str_t *appid_out);

/* base64 decoding that skips whitespace; allocates with malloc when pool
 * is NULL */
ngx_int_t ngx_youdu_cgi_base64_decode(ngx_pool_t *pool, const u_char *in,
    size_t len, ngx_str_t *out);

/* hex SHA1 of the sorted concatenation of token, timestamp, nonce, encrypt
 * (section 2.7); out holds YD_CGI_SIG_LEN characters */
ngx_int_t ngx_youdu_cgi_signature(ngx_str_t *token, ngx_str_t *timestamp,
    ngx_str_t *nonce, ngx_str_t *encrypt, u_char *out);


#endif /* _NGX_YOUDU_CGI_CRYPTO_H_INCLUDED_ */
