
/*
 * youdu: access tokens (libjwt, HS256), opaque refresh tokens, and password
 * hashing with Argon2id in nginx's thread pool (a hash takes tens of
 * milliseconds of CPU: never on the event loop).
 */

#ifndef _NGX_YOUDU_AUTH_H_INCLUDED_
#define _NGX_YOUDU_AUTH_H_INCLUDED_


#include "ngx_youdu_core.h"


#define YD_ROLE_USER    0
#define YD_ROLE_ADMIN   1
#define YD_ROLE_SUPER   2


typedef struct {
    int64_t                   uid;
    int64_t                   sid;
    ngx_uint_t                role;
    time_t                    exp;
} ngx_youdu_token_t;


typedef enum {
    YD_TOKEN_OK = 0,
    YD_TOKEN_INVALID,
    YD_TOKEN_EXPIRED
} ngx_youdu_token_rc_e;


/* returns a JWT allocated from pool, or NULL */
u_char *ngx_youdu_token_issue(ngx_pool_t *pool, ngx_youdu_token_t *tok);
ngx_youdu_token_rc_e ngx_youdu_token_verify(ngx_str_t *jwt,
    ngx_youdu_token_t *tok);

/* 32 random bytes as 43 base64url characters; hash = hex SHA-256 */
ngx_int_t ngx_youdu_random_token(ngx_pool_t *pool, ngx_str_t *out);
ngx_int_t ngx_youdu_sha256_hex(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out);


typedef void (*ngx_youdu_kdf_pt)(void *data, ngx_int_t rc, ngx_str_t *hash);

/* rc: NGX_OK match, NGX_DECLINED mismatch, NGX_ERROR failure */
ngx_int_t ngx_youdu_kdf_verify(ngx_pool_t *pool, ngx_log_t *log,
    ngx_str_t *encoded, ngx_str_t *password, ngx_youdu_kdf_pt handler,
    void *data);
/* rc NGX_OK with hash set, or NGX_ERROR */
ngx_int_t ngx_youdu_kdf_hash(ngx_pool_t *pool, ngx_log_t *log,
    ngx_str_t *password, ngx_youdu_kdf_pt handler, void *data);


#endif /* _NGX_YOUDU_AUTH_H_INCLUDED_ */
