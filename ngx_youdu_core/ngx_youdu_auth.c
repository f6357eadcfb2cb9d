
/*
 * youdu: tokens and password hashing.
 */


#include <ngx_thread_pool.h>
#include <jwt.h>
#include <argon2.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "ngx_youdu_auth.h"


#define YD_ARGON2_T      2
#define YD_ARGON2_M      19456      /* KiB: OWASP's Argon2id minimum */
#define YD_ARGON2_P      1
#define YD_ARGON2_SALT   16
#define YD_ARGON2_HASH   32
#define YD_ARGON2_ENC    160


u_char *
ngx_youdu_token_issue(ngx_pool_t *pool, ngx_youdu_token_t *tok)
{
    char                   *s;
    u_char                 *out;
    size_t                  len;
    jwt_t                  *jwt;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    if (jwt_new(&jwt) != 0) {
        return NULL;
    }

    out = NULL;

    if (jwt_add_grant_int(jwt, "sub", (long) tok->uid) != 0
        || jwt_add_grant_int(jwt, "sid", (long) tok->sid) != 0
        || jwt_add_grant_int(jwt, "role", (long) tok->role) != 0
        || jwt_add_grant_int(jwt, "iat", (long) ngx_time()) != 0
        || jwt_add_grant_int(jwt, "exp", (long) tok->exp) != 0
        || jwt_add_grant(jwt, "typ", "access") != 0
        || jwt_set_alg(jwt, JWT_ALG_HS256, ycf->jwt_key.data,
                       (int) ycf->jwt_key.len) != 0)
    {
        goto done;
    }

    s = jwt_encode_str(jwt);
    if (s == NULL) {
        goto done;
    }

    len = ngx_strlen(s);
    out = ngx_pnalloc(pool, len + 1);
    if (out) {
        ngx_memcpy(out, s, len + 1);
    }

    free(s);

done:

    jwt_free(jwt);
    return out;
}


ngx_youdu_token_rc_e
ngx_youdu_token_verify(ngx_str_t *token, ngx_youdu_token_t *tok)
{
    long                    v;
    char                    buf[2048];
    jwt_t                  *jwt;
    const char             *typ;
    ngx_youdu_token_rc_e    rc;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    if (token->len == 0 || token->len >= sizeof(buf)) {
        return YD_TOKEN_INVALID;
    }

    ngx_memcpy(buf, token->data, token->len);
    buf[token->len] = '\0';

    if (jwt_decode(&jwt, buf, ycf->jwt_key.data, (int) ycf->jwt_key.len)
        != 0)
    {
        return YD_TOKEN_INVALID;
    }

    rc = YD_TOKEN_INVALID;

    /* only our algorithm: never "none" or an asymmetric confusion */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        goto done;
    }

    typ = jwt_get_grant(jwt, "typ");
    if (typ == NULL || ngx_strcmp(typ, "access") != 0) {
        goto done;
    }

    errno = 0;
    tok->uid = jwt_get_grant_int(jwt, "sub");
    tok->sid = jwt_get_grant_int(jwt, "sid");
    v = jwt_get_grant_int(jwt, "role");
    tok->role = (ngx_uint_t) v;
    tok->exp = (time_t) jwt_get_grant_int(jwt, "exp");

    if (errno != 0 || tok->uid <= 0 || tok->sid <= 0 || v < 0 || v > 2) {
        goto done;
    }

    rc = (tok->exp <= ngx_time()) ? YD_TOKEN_EXPIRED : YD_TOKEN_OK;

done:

    jwt_free(jwt);
    return rc;
}


ngx_int_t
ngx_youdu_random_token(ngx_pool_t *pool, ngx_str_t *out)
{
    u_char     raw[32];
    ngx_str_t  src;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(pool, ngx_base64_encoded_length(sizeof(raw)) + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);
    ngx_encode_base64url(out, &src);
    out->data[out->len] = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_youdu_sha256_hex(ngx_pool_t *pool, ngx_str_t *in, ngx_str_t *out)
{
    u_char  md[SHA256_DIGEST_LENGTH];

    SHA256(in->data, in->len, md);

    out->data = ngx_pnalloc(pool, 2 * SHA256_DIGEST_LENGTH + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_hex_dump(out->data, md, SHA256_DIGEST_LENGTH) - out->data;
    out->data[out->len] = '\0';

    return NGX_OK;
}


/* Argon2id in the thread pool */


typedef struct {
    char                     *password;
    size_t                    password_len;
    char                     *encoded;      /* in: verify; out: hash */
    ngx_int_t                 verify;
    ngx_int_t                 rc;
    ngx_youdu_kdf_pt          handler;
    void                     *data;
} ngx_youdu_kdf_ctx_t;


static void
ngx_youdu_kdf_thread(void *data, ngx_log_t *log)
{
    int                   rc;
    u_char                salt[YD_ARGON2_SALT];
    ngx_youdu_kdf_ctx_t  *ctx = data;

    if (ctx->verify) {
        rc = argon2id_verify(ctx->encoded, ctx->password, ctx->password_len);

        ctx->rc = (rc == ARGON2_OK) ? NGX_OK
                  : (rc == ARGON2_VERIFY_MISMATCH) ? NGX_DECLINED : NGX_ERROR;

        if (ctx->rc == NGX_ERROR) {
            /* a malformed stored hash never matches */
            ctx->rc = NGX_DECLINED;
        }

    } else {
        if (RAND_bytes(salt, sizeof(salt)) != 1) {
            ctx->rc = NGX_ERROR;
            goto done;
        }

        rc = argon2id_hash_encoded(YD_ARGON2_T, YD_ARGON2_M, YD_ARGON2_P,
                                   ctx->password, ctx->password_len,
                                   salt, sizeof(salt), YD_ARGON2_HASH,
                                   ctx->encoded, YD_ARGON2_ENC);

        ctx->rc = (rc == ARGON2_OK) ? NGX_OK : NGX_ERROR;
    }

done:

    /* the password copy dies here, not with the request pool */
    explicit_bzero(ctx->password, ctx->password_len);
}


static void
ngx_youdu_kdf_done(ngx_event_t *ev)
{
    ngx_str_t             hash;
    ngx_youdu_kdf_ctx_t  *ctx = ev->data;

    hash.len = 0;
    hash.data = NULL;

    if (!ctx->verify && ctx->rc == NGX_OK) {
        hash.data = (u_char *) ctx->encoded;
        hash.len = ngx_strlen(ctx->encoded);
    }

    ctx->handler(ctx->data, ctx->rc, &hash);
}


static ngx_int_t
ngx_youdu_kdf_post(ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *encoded,
    ngx_str_t *password, ngx_youdu_kdf_pt handler, void *data)
{
    ngx_thread_task_t      *task;
    ngx_youdu_kdf_ctx_t    *ctx;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    task = ngx_thread_task_alloc(pool, sizeof(ngx_youdu_kdf_ctx_t));
    if (task == NULL) {
        return NGX_ERROR;
    }

    ctx = task->ctx;
    ctx->handler = handler;
    ctx->data = data;
    ctx->verify = (encoded != NULL);

    ctx->password = ngx_pnalloc(pool, password->len + 1);
    if (ctx->password == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->password, password->data, password->len);
    ctx->password[password->len] = '\0';
    ctx->password_len = password->len;

    if (encoded) {
        ctx->encoded = ngx_pnalloc(pool, encoded->len + 1);
        if (ctx->encoded == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ctx->encoded, encoded->data, encoded->len);
        ctx->encoded[encoded->len] = '\0';

    } else {
        ctx->encoded = ngx_pcalloc(pool, YD_ARGON2_ENC);
        if (ctx->encoded == NULL) {
            return NGX_ERROR;
        }
    }

    task->handler = ngx_youdu_kdf_thread;
    task->event.handler = ngx_youdu_kdf_done;
    task->event.data = ctx;
    task->event.log = log;

    if (ngx_thread_task_post(ycf->kdf_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_youdu_kdf_verify(ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *encoded,
    ngx_str_t *password, ngx_youdu_kdf_pt handler, void *data)
{
    return ngx_youdu_kdf_post(pool, log, encoded, password, handler, data);
}


ngx_int_t
ngx_youdu_kdf_hash(ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *password,
    ngx_youdu_kdf_pt handler, void *data)
{
    return ngx_youdu_kdf_post(pool, log, NULL, password, handler, data);
}
