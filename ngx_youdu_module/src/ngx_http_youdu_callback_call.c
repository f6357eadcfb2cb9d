
/*
 * youdu: what a callback looks like on the wire (section 5.1), the
 * acknowledgement rule (5.2), and request callbacks whose reply decides
 * (5.3: third-party login, ...).
 */


#include "ngx_youdu_db.h"
#include "ngx_youdu_cgi_crypto.h"
#include "ngx_http_youdu_callback.h"


#define YD_CB_NONCE_LEN  16


typedef struct {
    ngx_pool_t               *pool;
    ngx_log_t                *log;
    ngx_str_t                 app_id;
    json_t                   *payload;
    ngx_msec_t                timeout;
    ngx_youdu_cb_reply_pt     handler;
    void                     *data;

    ngx_youdu_db_waiter_t     waiter;
    ngx_youdu_db_conn_t      *dc;
    ngx_youdu_db_param_t      param;
    u_char                    key[YD_CGI_KEY_LEN];

    ngx_event_t               done_ev;
    ngx_youdu_cb_status_e     status;
    json_t                   *reply;
    const char               *err;
} ngx_youdu_cb_call_t;


static void ngx_youdu_cb_call_acquired(void *data, ngx_youdu_db_conn_t *dc);
static void ngx_youdu_cb_call_app(void *data, ngx_youdu_db_result_t *res);
static void ngx_youdu_cb_call_sent(void *data, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, ngx_str_t *err);
static void ngx_youdu_cb_call_finish(ngx_youdu_cb_call_t *cc,
    ngx_youdu_cb_status_e status, const char *err);
static void ngx_youdu_cb_call_done(ngx_event_t *ev);


ngx_int_t
ngx_youdu_cb_envelope(ngx_pool_t *pool, const u_char *key, ngx_str_t *app_id,
    ngx_str_t *token, ngx_str_t *plain, ngx_str_t *query, ngx_str_t *body)
{
    char                       *text;
    u_char                      ts[NGX_TIME_T_LEN], nonce[YD_CB_NONCE_LEN];
    u_char                      sig[YD_CGI_SIG_LEN];
    json_t                     *obj;
    ngx_str_t                   enc, tss, ns, empty;
    ngx_youdu_callback_conf_t  *cbcf;

    cbcf = ngx_youdu_callback_conf();

    if (ngx_youdu_cgi_encrypt(pool, key, app_id, plain->data, plain->len,
                              &enc)
        != NGX_OK
        || ngx_youdu_cgi_random_alnum(nonce, YD_CB_NONCE_LEN) != NGX_OK)
    {
        return NGX_ERROR;
    }

    tss.data = ts;
    tss.len = ngx_sprintf(ts, "%T", ngx_time()) - ts;
    ns.data = nonce;
    ns.len = YD_CB_NONCE_LEN;

    ngx_str_null(&empty);

    if (ngx_youdu_cgi_signature(token->data ? token : &empty, &tss, &ns,
                                &enc, sig)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    query->data = ngx_pnalloc(pool, sizeof("msg_signature=&timestamp=&nonce=")
                                    + YD_CGI_SIG_LEN + NGX_TIME_T_LEN
                                    + YD_CB_NONCE_LEN);
    if (query->data == NULL) {
        return NGX_ERROR;
    }

    query->len = ngx_sprintf(query->data,
                             "msg_signature=%*s&timestamp=%V&nonce=%V",
                             (size_t) YD_CGI_SIG_LEN, sig, &tss, &ns)
                 - query->data;

    obj = json_pack("{s:I,s:s%,s:s%}", "toBuin", (json_int_t) cbcf->buin,
                    "toApp", (char *) app_id->data, app_id->len,
                    "encrypt", (char *) enc.data, enc.len);
    if (obj == NULL) {
        return NGX_ERROR;
    }

    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (text == NULL) {
        return NGX_ERROR;
    }

    body->len = ngx_strlen(text);
    body->data = ngx_pnalloc(pool, body->len);
    if (body->data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(body->data, text, body->len);
    free(text);

    return NGX_OK;
}


ngx_uint_t
ngx_youdu_cb_acked(ngx_uint_t status, ngx_str_t *body, ngx_str_t *package_id)
{
    u_char        *p, *last;
    json_t        *obj, *code;
    ngx_uint_t     ok;
    json_error_t   err;

    if (status != 200 || body == NULL) {
        return 0;
    }

    p = body->data;
    last = body->data + body->len;

    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t'
                        || last[-1] == '\r' || last[-1] == '\n'))
    {
        last--;
    }

    if ((size_t) (last - p) == package_id->len
        && ngx_strncmp(p, package_id->data, package_id->len) == 0)
    {
        return 1;
    }

    if (last - p == 2 && ngx_strncasecmp(p, (u_char *) "ok", 2) == 0) {
        return 1;
    }

    if (p == last || *p != '{') {
        return 0;
    }

    obj = json_loadb((char *) p, last - p, 0, &err);
    code = json_object_get(obj, "errcode");
    ok = (json_is_integer(code) && json_integer_value(code) == 0);
    json_decref(obj);

    return ok;
}


/* request callbacks */


void
ngx_youdu_callback_call(ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *app_id,
    json_t *payload, ngx_msec_t timeout, ngx_youdu_cb_reply_pt handler,
    void *data)
{
    ngx_youdu_cb_call_t        *cc;
    ngx_youdu_callback_conf_t  *cbcf;

    cc = ngx_pcalloc(pool, sizeof(ngx_youdu_cb_call_t));
    if (cc == NULL) {
        handler(data, YD_CB_FAILED, NULL, "out of memory");
        return;
    }

    cbcf = ngx_youdu_callback_conf();

    cc->pool = pool;
    cc->log = log;
    cc->app_id = *app_id;
    cc->payload = json_incref(payload);
    cc->timeout = timeout ? timeout : cbcf->timeout;
    cc->handler = handler;
    cc->data = data;

    cc->done_ev.handler = ngx_youdu_cb_call_done;
    cc->done_ev.data = cc;
    cc->done_ev.log = log;

    ngx_youdu_db_acquire(&cc->waiter, log, ngx_youdu_cb_call_acquired, cc);
}


static void
ngx_youdu_cb_call_acquired(void *data, ngx_youdu_db_conn_t *dc)
{
    ngx_youdu_cb_call_t  *cc = data;

    if (dc == NULL) {
        ngx_youdu_cb_call_finish(cc, YD_CB_FAILED, "database unavailable");
        return;
    }

    cc->dc = dc;
    cc->param.value = cc->app_id;

    ngx_youdu_db_exec(dc,
        "SELECT aes_key, callback_url, callback_token, enabled "
        "FROM apps WHERE app_id = ?", &cc->param, 1, cc->pool, cc->log,
        ngx_youdu_cb_call_app, cc);
}


static void
ngx_youdu_cb_call_app(void *data, ngx_youdu_db_result_t *res)
{
    char                 *text;
    ngx_str_t             plain, query, body, *url;
    ngx_youdu_cb_call_t  *cc = data;

    static ngx_uint_t     seq;

    ngx_youdu_db_release(cc->dc);
    cc->dc = NULL;

    if (res->err_no) {
        ngx_youdu_cb_call_finish(cc, YD_CB_FAILED, "database error");
        return;
    }

    if (res->nrows == 0 || yd_cell(res, 0, 3)->len != 1
        || yd_cell(res, 0, 3)->data[0] != '1'
        || yd_cell(res, 0, 0)->data == NULL
        || ngx_youdu_cgi_key_decode(yd_cell(res, 0, 0), cc->key) != NGX_OK)
    {
        ngx_youdu_cb_call_finish(cc, YD_CB_NO_APP,
                                 "the app is unknown, disabled or has no key");
        return;
    }

    url = yd_cell(res, 0, 1);

    if (url->len == 0) {
        ngx_youdu_cb_call_finish(cc, YD_CB_NO_URL,
                                 "the app has no callback URL");
        return;
    }

    if (json_object_get(cc->payload, "packageId") == NULL) {
        u_char  id[NGX_INT64_LEN * 3];

        json_object_set_new(cc->payload, "packageId",
            json_stringn((char *) id,
                         ngx_sprintf(id, "%T%P%ui", ngx_time(), ngx_pid,
                                     seq++ % 10000) - id));
    }

    if (json_object_get(cc->payload, "createTime") == NULL) {
        json_object_set_new(cc->payload, "createTime",
                            json_integer(ngx_time()));
    }

    text = json_dumps(cc->payload, JSON_COMPACT);
    if (text == NULL) {
        ngx_youdu_cb_call_finish(cc, YD_CB_FAILED, "out of memory");
        return;
    }

    plain.data = (u_char *) text;
    plain.len = ngx_strlen(text);

    if (ngx_youdu_cb_envelope(cc->pool, cc->key, &cc->app_id,
                              yd_cell(res, 0, 2), &plain, &query, &body)
        != NGX_OK)
    {
        free(text);
        ngx_youdu_cb_call_finish(cc, YD_CB_FAILED, "cannot encrypt");
        return;
    }

    free(text);

    ngx_youdu_cb_http_post(cc->pool, cc->log, url, &query, &body,
                           cc->timeout, ngx_youdu_cb_call_sent, cc);
}


static void
ngx_youdu_cb_call_sent(void *data, ngx_int_t rc, ngx_uint_t status,
    ngx_str_t *body, ngx_str_t *err)
{
    json_t               *obj, *enc, *inner;
    ngx_str_t             in, plain;
    json_error_t          jerr;
    ngx_youdu_cb_call_t  *cc = data;

    if (rc == NGX_ETIMEDOUT) {
        ngx_youdu_cb_call_finish(cc, YD_CB_TIMEOUT, "the app did not answer "
                                 "in time");
        return;
    }

    if (rc != NGX_OK) {
        u_char  *e = NULL;

        if (err && err->len) {
            e = ngx_pnalloc(cc->pool, err->len + 1);
            if (e) {
                ngx_memcpy(e, err->data, err->len);
                e[err->len] = '\0';
            }
        }

        ngx_youdu_cb_call_finish(cc, YD_CB_FAILED,
                                 e ? (const char *) e : "failed");
        return;
    }

    if (status != 200) {
        ngx_youdu_cb_call_finish(cc, YD_CB_FAILED,
                                 "the app answered with an HTTP error");
        return;
    }

    obj = json_loadb((char *) body->data, body->len, 0, &jerr);

    if (obj == NULL || !json_is_object(obj)) {
        json_decref(obj);
        ngx_youdu_cb_call_finish(cc, YD_CB_BAD_REPLY,
                                 "the reply is not a JSON object");
        return;
    }

    enc = json_object_get(obj, "encrypt");

    if (json_is_string(enc) && json_string_length(enc) > 0) {
        in.data = (u_char *) json_string_value(enc);
        in.len = json_string_length(enc);

        if (ngx_youdu_cgi_decrypt(cc->pool, cc->key, &in, &cc->app_id,
                                  &plain, NULL)
            != YD_CGI_CRYPT_OK)
        {
            json_decref(obj);
            ngx_youdu_cb_call_finish(cc, YD_CB_BAD_REPLY,
                                     "the reply's encrypt does not decrypt");
            return;
        }

        inner = json_loadb((char *) plain.data, plain.len, 0, &jerr);
        if (inner == NULL) {
            inner = json_stringn((char *) plain.data, plain.len);
        }

        json_object_set_new(obj, "data", inner);
    }

    cc->reply = obj;
    ngx_youdu_cb_call_finish(cc, YD_CB_OK, "ok");
}


/* the handler runs from a posted event: never inside the caller */

static void
ngx_youdu_cb_call_finish(ngx_youdu_cb_call_t *cc,
    ngx_youdu_cb_status_e status, const char *err)
{
    cc->status = status;
    cc->err = err;

    ngx_post_event(&cc->done_ev, &ngx_posted_events);
}


static void
ngx_youdu_cb_call_done(ngx_event_t *ev)
{
    ngx_youdu_cb_call_t  *cc = ev->data;

    json_decref(cc->payload);
    cc->payload = NULL;

    cc->handler(cc->data, cc->status, cc->reply, cc->err);

    json_decref(cc->reply);
    cc->reply = NULL;
}
