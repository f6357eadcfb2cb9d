
/*
 * youdu: callbacks from the server to apps (PROTOCOL.md section 5).
 *
 * Queued notifications: a producer inserts a row in its own transaction
 * and, after COMMIT, publishes its id (best effort: a timer polls too):
 *
 *   INSERT INTO app_callbacks (app_pk, payload) VALUES (?, ?)
 *   PUBLISH yd:callback <insert id>
 *
 * payload is the plaintext JSON object; "packageId" (the row id as a
 * string) and "createTime" are added when missing.  One worker per node
 * delivers (ngx_http_youdu_callback.c) with a lease on each row, retries
 * with backoff for youdu_callback_retry_total, then gives up (state 2).
 *
 * Request callbacks (third-party login, ...): ngx_youdu_callback_call()
 * below, in any worker.
 */

#ifndef _NGX_HTTP_YOUDU_CALLBACK_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CALLBACK_H_INCLUDED_


#include <jansson.h>

#include "ngx_youdu_core.h"


#define YD_CB_MAX_REPLY      (64 * 1024)   /* response cap, headers included */


typedef struct {
    ngx_int_t                 buin;
    ngx_msec_t                timeout;         /* one attempt */
    ngx_msec_t                retry_base;      /* first backoff, doubles */
    ngx_msec_t                retry_max;       /* backoff cap */
    ngx_msec_t                retry_total;     /* give up after */
    ngx_msec_t                poll;            /* due rows are polled */
    ngx_uint_t                concurrency;     /* per node */
    ngx_uint_t                app_concurrency; /* per app and node */
    ngx_flag_t                ssl_verify;
    ngx_str_t                 ssl_trusted;
} ngx_youdu_callback_conf_t;


extern ngx_module_t  ngx_youdu_callback_module;

ngx_youdu_callback_conf_t *ngx_youdu_callback_conf(void);


/* ---- the HTTP client (ngx_http_youdu_callback_http.c) ---- */

/*
 * rc NGX_OK: a complete response (status, body); otherwise err says what
 * went wrong ("connect: Connection refused", "timed out", ...).  body and
 * err live in the pool given to post.
 */
typedef void (*ngx_youdu_cb_http_pt)(void *data, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, ngx_str_t *err);

/*
 * POST body (JSON) to url + "?" or "&" + query.  http and https URLs;
 * numeric hosts are used as they are, names are looked up in the thread
 * pool.  done() always runs, never before this returns; pool must live
 * until then.
 */
void ngx_youdu_cb_http_post(ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *url,
    ngx_str_t *query, ngx_str_t *body, ngx_msec_t timeout,
    ngx_youdu_cb_http_pt done, void *data);

/* section 5.2: HTTP 200 and body == packageId, "ok" (any case) or JSON
 * errcode 0 */
ngx_uint_t ngx_youdu_cb_acked(ngx_uint_t status, ngx_str_t *body,
    ngx_str_t *package_id);

/*
 * Builds what goes on the wire for one callback: query (msg_signature,
 * timestamp, nonce) and body {"toBuin","toApp","encrypt"}.  plain is the
 * payload JSON text, key the decoded 32-byte key.
 */
ngx_int_t ngx_youdu_cb_envelope(ngx_pool_t *pool, const u_char *key,
    ngx_str_t *app_id, ngx_str_t *token, ngx_str_t *plain, ngx_str_t *query,
    ngx_str_t *body);


/* ---- request callbacks (ngx_http_youdu_callback_call.c) ---- */

typedef enum {
    YD_CB_OK = 0,          /* the app answered: reply is its JSON object */
    YD_CB_NO_APP,          /* unknown or disabled app, or it has no key */
    YD_CB_NO_URL,          /* the app has no callback URL */
    YD_CB_FAILED,          /* transport error or HTTP status other than 200 */
    YD_CB_TIMEOUT,
    YD_CB_BAD_REPLY        /* not a JSON object, or its encrypt is bad */
} ngx_youdu_cb_status_e;

/*
 * reply: the app's JSON object ({"errcode":..,"errmsg":..,"encrypt":..});
 * a non-empty "encrypt" is decrypted and its JSON (or, if it is not JSON,
 * its text) put under "data".  Valid only during the call (json_incref to
 * keep it); NULL unless status is YD_CB_OK.  err: a short reason.
 */
typedef void (*ngx_youdu_cb_reply_pt)(void *data,
    ngx_youdu_cb_status_e status, json_t *reply, const char *err);

/*
 * Sends payload (a JSON object, not stolen: "packageId" and "createTime"
 * are added when missing) to app_id's callback URL, signed and encrypted
 * as a queued callback, and waits up to timeout (0: youdu_callback_timeout)
 * for the reply.  handler() always runs, never before this returns; pool
 * must live until then.
 */
void ngx_youdu_callback_call(ngx_pool_t *pool, ngx_log_t *log,
    ngx_str_t *app_id, json_t *payload, ngx_msec_t timeout,
    ngx_youdu_cb_reply_pt handler, void *data);


#endif /* _NGX_HTTP_YOUDU_CALLBACK_H_INCLUDED_ */
