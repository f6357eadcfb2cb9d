
/*
 * youdu push: the life of one WebSocket client after the upgrade.
 *
 * All output goes through a bounded queue drained by the write handler;
 * code that only wants to send (the bus, replies) queues and posts the
 * write event, so a connection never closes underneath a caller that is
 * walking a list of connections.  Closing: a close frame is queued, the
 * queue drains, the write side is shut down and the client's close/EOF is
 * awaited for a short while; then the request is finalized.
 */


#include <jansson.h>

#include "ngx_youdu_auth.h"
#include "ngx_youdu_utf8.h"
#include "ngx_youdu_push_bus.h"
#include "ngx_youdu_push_presence.h"


#define YD_PUSH_CLOSE_WAIT   5000     /* drain + closing handshake */

#define YD_PUSH_SESSION_SQL                                                   \
    "SELECT s.revoked_at IS NULL, u.enable_state, s.device_type "                           \
    "FROM sessions s JOIN users u ON u.id = s.user_id "                      \
    "WHERE s.id = ? AND s.user_id = ?"


extern ngx_module_t  ngx_http_youdu_push_module;


static void ngx_youdu_push_read_event(ngx_event_t *ev);
static void ngx_youdu_push_write_event(ngx_event_t *ev);
static void ngx_youdu_push_timer_handler(ngx_event_t *ev);
static void ngx_youdu_push_read(ngx_youdu_push_conn_t *pc);
static void ngx_youdu_push_write(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_youdu_push_flush(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_youdu_push_process(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_youdu_push_frame(ngx_youdu_push_conn_t *pc,
    ngx_youdu_ws_frame_t *f);
static ngx_int_t ngx_youdu_push_message(ngx_youdu_push_conn_t *pc,
    u_char *data, size_t len);
static ngx_int_t ngx_youdu_push_auth(ngx_youdu_push_conn_t *pc,
    json_t *msg);
static void ngx_youdu_push_client_error(ngx_youdu_push_conn_t *pc,
    const char *errmsg);
static void ngx_youdu_push_send_error(ngx_youdu_push_conn_t *pc,
    ngx_uint_t errcode, const char *errmsg);
static void ngx_youdu_push_send_json(ngx_youdu_push_conn_t *pc, json_t *j);
static void ngx_youdu_push_enqueue(ngx_youdu_push_conn_t *pc,
    ngx_uint_t opcode, u_char *data, size_t len, ngx_uint_t force);
static void ngx_youdu_push_append(ngx_youdu_push_conn_t *pc,
    ngx_youdu_push_frame_t *f);
static void ngx_youdu_push_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason);
static void ngx_youdu_push_finalize(ngx_youdu_push_conn_t *pc);
static void ngx_youdu_push_cleanup(void *data);
static void ngx_youdu_push_check(ngx_youdu_push_conn_t *pc);
static void ngx_youdu_push_db_acquired(void *data, ngx_youdu_db_conn_t *dc);
static void ngx_youdu_push_db_done(void *data, ngx_youdu_db_result_t *res);
static void ngx_youdu_push_checked(ngx_youdu_push_conn_t *pc,
    ngx_youdu_db_result_t *res);


ngx_int_t
ngx_youdu_push_conn_start(ngx_http_request_t *r, ngx_youdu_push_conf_t *conf,
    ngx_str_t *accept)
{
    size_t                   n;
    ngx_buf_t               *b;
    ngx_connection_t        *c;
    ngx_http_cleanup_t      *cln;
    ngx_youdu_push_conn_t   *pc;
    ngx_youdu_push_frame_t  *f;

    static const char  head[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: ";

    c = r->connection;

    pc = ngx_calloc(sizeof(ngx_youdu_push_conn_t), c->log);
    if (pc == NULL) {
        return NGX_ERROR;
    }

    pc->rbuf = ngx_alloc(YD_WS_MAX_MESSAGE + YD_WS_MAX_HEADER, c->log);
    f = ngx_alloc(sizeof(ngx_youdu_push_frame_t) + sizeof(head) + 32,
                  c->log);
    cln = ngx_http_cleanup_add(r, 0);

    if (pc->rbuf == NULL || f == NULL || cln == NULL) {
        ngx_free(pc->rbuf);
        ngx_free(f);
        ngx_free(pc);
        return NGX_ERROR;
    }

    pc->r = r;
    pc->c = c;
    pc->conf = conf;
    pc->refs = 1;
    pc->out_last = &pc->out;
    pc->last_rx = ngx_current_msec;

    cln->handler = ngx_youdu_push_cleanup;
    cln->data = pc;

    ngx_http_set_ctx(r, pc, ngx_http_youdu_push_module);

    /* the handshake reply is the first thing in the output queue */
    f->next = NULL;
    f->sent = 0;
    f->len = ngx_sprintf(f->data, "%s%V\r\n\r\n", head, accept) - f->data;
    ngx_youdu_push_append(pc, f);

    /* bytes the client sent right after its handshake */
    b = r->header_in;
    n = b->last - b->pos;

    if (n > YD_WS_MAX_MESSAGE + YD_WS_MAX_HEADER) {
        n = 0;
    }

    ngx_memcpy(pc->rbuf, b->pos, n);
    pc->rlen = n;
    b->pos = b->last;

    pc->timer.handler = ngx_youdu_push_timer_handler;
    pc->timer.data = pc;
    pc->timer.log = c->log;
    pc->timer.cancelable = 1;
    ngx_add_timer(&pc->timer, conf->auth_timeout);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    r->keepalive = 0;
    r->lingering_close = 0;

    c->read->handler = ngx_youdu_push_read_event;
    c->write->handler = ngx_youdu_push_write_event;

    /* graceful shutdown reaches us through c->close (1001) */
    c->idle = 1;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    r->main->count++;

    ngx_post_event(c->write, &ngx_posted_events);
    ngx_post_event(c->read, &ngx_posted_events);

    return NGX_OK;
}


void
ngx_youdu_push_conn_send_text(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len)
{
    if (pc->state == YD_PUSH_OPEN) {
        ngx_youdu_push_enqueue(pc, YD_WS_OP_TEXT, data, len, 0);
    }
}


/* a batch the client asked for (presence snapshot): bounded by bytes only */

void
ngx_youdu_push_conn_send_batch(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len)
{
    if (pc->state == YD_PUSH_OPEN) {
        ngx_youdu_push_enqueue(pc, YD_WS_OP_TEXT, data, len, 2);
    }
}


/* events */


static void
ngx_youdu_push_read_event(ngx_event_t *ev)
{
    ngx_connection_t       *c = ev->data;
    ngx_http_request_t     *r = c->data;
    ngx_youdu_push_conn_t  *pc;

    pc = ngx_http_get_module_ctx(r, ngx_http_youdu_push_module);

    if (c->close) {
        c->close = 0;
        c->idle = 0;

        if (ngx_exiting && !c->error && pc->state != YD_PUSH_CLOSING) {
            ngx_youdu_push_close(pc, YD_WS_CLOSE_GOING_AWAY,
                                 "server restarting, reconnect");
            return;
        }

        ngx_youdu_push_finalize(pc);
        return;
    }

    ngx_youdu_push_read(pc);
}


static void
ngx_youdu_push_write_event(ngx_event_t *ev)
{
    ngx_connection_t       *c = ev->data;
    ngx_http_request_t     *r = c->data;
    ngx_youdu_push_conn_t  *pc;

    pc = ngx_http_get_module_ctx(r, ngx_http_youdu_push_module);

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      YD_LOG_TAG "push client timed out while sending");
        c->timedout = 1;
        ngx_youdu_push_finalize(pc);
        return;
    }

    ngx_youdu_push_write(pc);
}


static void
ngx_youdu_push_timer_handler(ngx_event_t *ev)
{
    ngx_msec_t              idle;
    ngx_youdu_push_conn_t  *pc = ev->data;

    switch (pc->state) {

    case YD_PUSH_AUTH_WAIT:
        ngx_youdu_push_send_error(pc, 40101, "authentication timeout: send "
                                  "{\"type\":\"auth\",\"token\":...} first");
        ngx_youdu_push_close(pc, YD_WS_CLOSE_UNAUTHORIZED,
                             "authentication timeout");
        return;

    case YD_PUSH_AUTHING:
        /* the database query has its own timeouts */
        ngx_add_timer(&pc->timer, pc->conf->auth_timeout);
        return;

    case YD_PUSH_OPEN:
        idle = ngx_max(3 * pc->conf->recheck_interval, 60000);

        if (ngx_current_msec - pc->last_rx > idle) {
            ngx_log_error(NGX_LOG_INFO, pc->c->log, 0,
                          YD_LOG_TAG "push client silent for %M ms, dropped",
                          ngx_current_msec - pc->last_rx);
            ngx_youdu_push_finalize(pc);
            return;
        }

        ngx_youdu_push_enqueue(pc, YD_WS_OP_PING, NULL, 0, 0);

        /* keeps this device's presence from going stale */
        if (pc->state == YD_PUSH_OPEN) {
            ngx_youdu_push_presence_set(pc, 1);
        }

        if (!pc->checking) {
            ngx_youdu_push_check(pc);
        }

        if (pc->state == YD_PUSH_OPEN && !pc->timer.timer_set) {
            ngx_add_timer(&pc->timer, pc->conf->recheck_interval);
        }

        return;

    default: /* YD_PUSH_CLOSING */
        ngx_youdu_push_finalize(pc);
        return;
    }
}


/* input */


static void
ngx_youdu_push_read(ngx_youdu_push_conn_t *pc)
{
    ssize_t            n;
    ngx_connection_t  *c = pc->c;

    for ( ;; ) {

        if (pc->state == YD_PUSH_AUTHING) {
            return;     /* resumed when the session query completes */
        }

        if (pc->state != YD_PUSH_CLOSING
            && ngx_youdu_push_process(pc) != NGX_OK)
        {
            return;
        }

        if (pc->state == YD_PUSH_CLOSING) {
            pc->rlen = 0;     /* discard until EOF */
        }

        n = c->recv(c, pc->rbuf + pc->rlen,
                    YD_WS_MAX_MESSAGE + YD_WS_MAX_HEADER - pc->rlen);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_youdu_push_finalize(pc);
            }

            return;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_youdu_push_finalize(pc);
            return;
        }

        pc->rlen += n;
        pc->last_rx = ngx_current_msec;
    }
}


/* NGX_OK: needs more input; NGX_DONE: stop reading for now */

static ngx_int_t
ngx_youdu_push_process(ngx_youdu_push_conn_t *pc)
{
    ngx_int_t             rc;
    ngx_youdu_ws_frame_t  f;

    while (pc->rlen) {
        rc = ngx_youdu_ws_parse(pc->rbuf, pc->rlen, &f);

        if (rc == NGX_AGAIN) {
            return NGX_OK;
        }

        if (rc != NGX_OK) {
            ngx_youdu_push_close(pc, rc, rc == YD_WS_CLOSE_TOO_BIG
                                         ? "frame too large"
                                         : "protocol error");
            return NGX_DONE;
        }

        rc = ngx_youdu_push_frame(pc, &f);

        pc->rlen -= f.frame_len;
        ngx_memmove(pc->rbuf, pc->rbuf + f.frame_len, pc->rlen);

        if (rc != NGX_OK) {
            return NGX_DONE;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_youdu_push_frame(ngx_youdu_push_conn_t *pc, ngx_youdu_ws_frame_t *f)
{
    ngx_uint_t  code;

    switch (f->opcode) {

    case YD_WS_OP_PING:
        ngx_youdu_push_enqueue(pc, YD_WS_OP_PONG, f->payload, f->len, 0);
        return NGX_OK;

    case YD_WS_OP_PONG:
        return NGX_OK;

    case YD_WS_OP_CLOSE:
        if (f->len == 0) {
            code = YD_WS_CLOSE_NORMAL;

        } else {
            code = f->len >= 2 ? (f->payload[0] << 8 | f->payload[1]) : 0;

            if (!((code >= 1000 && code <= 1003)
                  || (code >= 1007 && code <= 1011)
                  || (code >= 3000 && code <= 4999)))
            {
                code = YD_WS_CLOSE_PROTOCOL;
            }
        }

        pc->peer_closed = 1;
        ngx_youdu_push_close(pc, code, "");
        return NGX_DONE;

    case YD_WS_OP_BINARY:
        ngx_youdu_push_close(pc, YD_WS_CLOSE_UNSUPPORTED,
                             "text frames only");
        return NGX_DONE;

    case YD_WS_OP_TEXT:
        if (pc->msg_opcode) {
            ngx_youdu_push_close(pc, YD_WS_CLOSE_PROTOCOL,
                                 "new message inside a fragmented one");
            return NGX_DONE;
        }

        if (f->fin) {
            return ngx_youdu_push_message(pc, f->payload, f->len);
        }

        if (pc->msg == NULL) {
            pc->msg = ngx_alloc(YD_WS_MAX_MESSAGE, pc->c->log);
            if (pc->msg == NULL) {
                ngx_youdu_push_close(pc, YD_WS_CLOSE_INTERNAL, "no memory");
                return NGX_DONE;
            }
        }

        ngx_memcpy(pc->msg, f->payload, f->len);
        pc->msg_len = f->len;
        pc->msg_opcode = YD_WS_OP_TEXT;
        return NGX_OK;

    default: /* YD_WS_OP_CONT */
        if (!pc->msg_opcode) {
            ngx_youdu_push_close(pc, YD_WS_CLOSE_PROTOCOL,
                                 "continuation without a message");
            return NGX_DONE;
        }

        if (pc->msg_len + f->len > YD_WS_MAX_MESSAGE) {
            ngx_youdu_push_close(pc, YD_WS_CLOSE_TOO_BIG,
                                 "message too large");
            return NGX_DONE;
        }

        ngx_memcpy(pc->msg + pc->msg_len, f->payload, f->len);
        pc->msg_len += f->len;

        if (!f->fin) {
            return NGX_OK;
        }

        pc->msg_opcode = 0;
        return ngx_youdu_push_message(pc, pc->msg, pc->msg_len);
    }
}


static ngx_int_t
ngx_youdu_push_message(ngx_youdu_push_conn_t *pc, u_char *data, size_t len)
{
    json_t        *msg, *type;
    ngx_int_t      rc;
    const char    *t;
    json_error_t   err;

    if (!ngx_youdu_utf8_valid(data, len)) {
        ngx_youdu_push_close(pc, YD_WS_CLOSE_BAD_DATA, "invalid UTF-8");
        return NGX_DONE;
    }

    msg = json_loadb((const char *) data, len, 0, &err);
    type = json_is_object(msg) ? json_object_get(msg, "type") : NULL;
    t = json_is_string(type) ? json_string_value(type) : NULL;

    if (pc->state == YD_PUSH_AUTH_WAIT) {
        rc = ngx_youdu_push_auth(pc, (t && ngx_strcmp(t, "auth") == 0)
                                     ? msg : NULL);
        json_decref(msg);
        return rc;
    }

    rc = NGX_OK;

    if (msg == NULL) {
        ngx_youdu_push_client_error(pc, "malformed JSON: send one JSON "
                                    "object per text frame");

    } else if (t == NULL) {
        ngx_youdu_push_client_error(pc, "\"type\" (string) is required");

    } else if (ngx_strcmp(t, "ping") == 0) {
        ngx_youdu_push_enqueue(pc, YD_WS_OP_TEXT,
                               (u_char *) "{\"type\":\"pong\"}", 15, 0);

    } else if (ngx_strcmp(t, "ack") == 0) {
        /* informational for now */

    } else if (ngx_strcmp(t, "presence_sub") == 0) {
        rc = ngx_youdu_push_presence_sub(pc, msg);

        if (rc == NGX_DECLINED) {
            ngx_youdu_push_client_error(pc, "presence_sub needs \"user_ids\": "
                                        "an array of at most 1000 positive "
                                        "integers");

        } else if (rc == NGX_ERROR) {
            ngx_youdu_push_close(pc, YD_WS_CLOSE_INTERNAL, "no memory");
        }

        rc = NGX_OK;

    } else if (ngx_strcmp(t, "auth") == 0) {
        ngx_youdu_push_client_error(pc, "already authenticated");

    } else {
        ngx_youdu_push_client_error(pc, "unknown \"type\": use ping, ack or "
                                    "presence_sub");
    }

    json_decref(msg);

    if (pc->state == YD_PUSH_CLOSING) {
        rc = NGX_DONE;
    }

    return rc;
}


static void
ngx_youdu_push_client_error(ngx_youdu_push_conn_t *pc, const char *errmsg)
{
    ngx_youdu_push_send_error(pc, 40001, errmsg);

    if (++pc->errors >= YD_PUSH_MAX_ERRORS) {
        ngx_youdu_push_close(pc, YD_WS_CLOSE_POLICY, "too many errors");
    }
}


/* authentication: token first, then the session row */


static ngx_int_t
ngx_youdu_push_auth(ngx_youdu_push_conn_t *pc, json_t *msg)
{
    json_t               *token;
    ngx_str_t             jwt;
    ngx_youdu_token_t     t;
    ngx_youdu_token_rc_e  rc;

    token = msg ? json_object_get(msg, "token") : NULL;

    if (!json_is_string(token)) {
        ngx_youdu_push_send_error(pc, 40101, "send {\"type\":\"auth\","
                                  "\"token\":\"<access token>\"} first");
        ngx_youdu_push_close(pc, YD_WS_CLOSE_UNAUTHORIZED, "not authenticated");
        return NGX_DONE;
    }

    jwt.data = (u_char *) json_string_value(token);
    jwt.len = json_string_length(token);

    rc = ngx_youdu_token_verify(&jwt, &t);

    if (rc == YD_TOKEN_EXPIRED) {
        ngx_youdu_push_send_error(pc, 40102, "access token expired: refresh "
                                  "it with /auth/refresh and reconnect");
        ngx_youdu_push_close(pc, YD_WS_CLOSE_UNAUTHORIZED, "token expired");
        return NGX_DONE;
    }

    if (rc != YD_TOKEN_OK) {
        ngx_youdu_push_send_error(pc, 40101, "invalid access token: sign in "
                                  "again");
        ngx_youdu_push_close(pc, YD_WS_CLOSE_UNAUTHORIZED, "invalid token");
        return NGX_DONE;
    }

    pc->uid = t.uid;
    pc->sid = t.sid;
    pc->state = YD_PUSH_AUTHING;

    ngx_youdu_push_check(pc);

    return NGX_DONE;
}


void
ngx_youdu_push_conn_recheck(ngx_youdu_push_conn_t *pc)
{
    /* the heartbeat runs the check: bring it forward */
    if (pc->state == YD_PUSH_OPEN && !pc->checking && !pc->closed) {
        ngx_add_timer(&pc->timer, 1);
    }
}


static void
ngx_youdu_push_check(ngx_youdu_push_conn_t *pc)
{
    pc->qpool = ngx_create_pool(1024, ngx_cycle->log);

    if (pc->qpool == NULL) {
        ngx_youdu_push_checked(pc, NULL);
        return;
    }

    pc->checking = 1;
    pc->refs++;

    ngx_youdu_db_acquire(&pc->waiter, ngx_cycle->log,
                         ngx_youdu_push_db_acquired, pc);
}


static void
ngx_youdu_push_db_acquired(void *data, ngx_youdu_db_conn_t *dc)
{
    ngx_youdu_push_conn_t  *pc = data;

    u_char                *p;
    ngx_youdu_db_param_t  *params;

    if (dc == NULL || pc->closed) {
        if (dc) {
            ngx_youdu_db_release(dc);
        }

        ngx_youdu_push_db_done(pc, NULL);
        return;
    }

    params = ngx_pcalloc(pc->qpool, 2 * sizeof(ngx_youdu_db_param_t));
    p = ngx_pnalloc(pc->qpool, 2 * NGX_INT64_LEN);

    if (params == NULL || p == NULL) {
        ngx_youdu_db_release(dc);
        ngx_youdu_push_db_done(pc, NULL);
        return;
    }

    params[0].value.data = p;
    params[0].value.len = ngx_sprintf(p, "%L", pc->sid) - p;
    p += NGX_INT64_LEN;
    params[1].value.data = p;
    params[1].value.len = ngx_sprintf(p, "%L", pc->uid) - p;

    pc->dc = dc;

    ngx_youdu_db_exec(dc, YD_PUSH_SESSION_SQL, params, 2, pc->qpool,
                      ngx_cycle->log, ngx_youdu_push_db_done, pc);
}


static void
ngx_youdu_push_db_done(void *data, ngx_youdu_db_result_t *res)
{
    ngx_youdu_push_conn_t  *pc = data;

    if (pc->dc) {
        ngx_youdu_db_release(pc->dc);
        pc->dc = NULL;
    }

    pc->checking = 0;

    if (!pc->closed) {
        ngx_youdu_push_checked(pc, res);
    }

    if (pc->qpool) {
        ngx_destroy_pool(pc->qpool);
        pc->qpool = NULL;
    }

    ngx_youdu_push_conn_unref(pc);
}


static void
ngx_youdu_push_checked(ngx_youdu_push_conn_t *pc, ngx_youdu_db_result_t *res)
{
    u_char            *p, buf[128];
    ngx_flag_t         ok;
    const char        *why;
    ngx_youdu_push_state_e  state = pc->state;

    if (state != YD_PUSH_AUTHING && state != YD_PUSH_OPEN) {
        return;
    }

    if (res == NULL || res->err_no) {
        if (state == YD_PUSH_AUTHING) {
            ngx_youdu_push_send_error(pc, 50300, "server busy: reconnect "
                                      "in a few seconds");
            ngx_youdu_push_close(pc, YD_WS_CLOSE_INTERNAL, "try again later");
        }

        /* a failed re-check keeps the connection */
        return;
    }

    ok = 0;
    why = "session revoked";

    if (res->nrows == 1 && res->ncols == 3
        && yd_cell(res, 0, 0)->data != NULL
        && yd_cell(res, 0, 1)->data != NULL)
    {
        if (ngx_atoi(yd_cell(res, 0, 0)->data, yd_cell(res, 0, 0)->len) != 1)
        {
            why = "session revoked";

        } else if (yd_cell(res, 0, 1)->len != 1
                   || yd_cell(res, 0, 1)->data[0] != '1')
        {
            why = "account disabled";

        } else {
            ok = 1;
        }
    }

    if (ok && state == YD_PUSH_AUTHING && yd_cell(res, 0, 2)->data != NULL) {
        (void) ngx_cpystrn(pc->device, yd_cell(res, 0, 2)->data,
                           ngx_min(yd_cell(res, 0, 2)->len + 1,
                                   sizeof(pc->device)));
    }

    if (state == YD_PUSH_AUTHING) {
        if (!ok) {
            if (why[0] == 'a') {
                ngx_youdu_push_send_error(pc, 40106, "account disabled: "
                                          "contact your administrator");
            } else {
                ngx_youdu_push_send_error(pc, 40103, "this device was signed "
                                          "out: sign in again");
            }

            ngx_youdu_push_close(pc, YD_WS_CLOSE_UNAUTHORIZED, why);
            return;
        }

        pc->state = YD_PUSH_OPEN;
        ngx_youdu_push_bus_add(pc);
        ngx_youdu_push_presence_set(pc, 1);

        p = ngx_sprintf(buf, "{\"type\":\"auth_ok\",\"user_id\":%L,"
                        "\"session_id\":%L}", pc->uid, pc->sid);
        ngx_youdu_push_enqueue(pc, YD_WS_OP_TEXT, buf, p - buf, 0);

        if (pc->timer.timer_set) {
            ngx_del_timer(&pc->timer);
        }

        ngx_add_timer(&pc->timer, pc->conf->recheck_interval);

        /* frames that arrived during the query */
        ngx_post_event(pc->c->read, &ngx_posted_events);
        return;
    }

    if (!ok) {
        p = ngx_sprintf(buf, "{\"type\":\"kicked\",\"reason\":\"%s\"}", why);
        ngx_youdu_push_enqueue(pc, YD_WS_OP_TEXT, buf, p - buf, 0);
        ngx_youdu_push_close(pc, YD_WS_CLOSE_KICKED, why);
    }
}


/* output */


static void
ngx_youdu_push_send_error(ngx_youdu_push_conn_t *pc, ngx_uint_t errcode,
    const char *errmsg)
{
    json_t  *j;

    j = json_pack("{s:s, s:i, s:s}", "type", "error", "errcode",
                  (json_int_t) errcode, "errmsg", errmsg);

    if (j) {
        ngx_youdu_push_send_json(pc, j);
        json_decref(j);
    }
}


static void
ngx_youdu_push_send_json(ngx_youdu_push_conn_t *pc, json_t *j)
{
    char  *text;

    text = json_dumps(j, JSON_COMPACT);

    if (text) {
        ngx_youdu_push_enqueue(pc, YD_WS_OP_TEXT, (u_char *) text,
                               ngx_strlen(text), 0);
        free(text);
    }
}


static void
ngx_youdu_push_enqueue(ngx_youdu_push_conn_t *pc, ngx_uint_t opcode,
    u_char *data, size_t len, ngx_uint_t force)
{
    size_t                   hlen;
    ngx_youdu_push_frame_t  *f;

    if (force != 1 && pc->state == YD_PUSH_CLOSING) {
        return;
    }

    if ((force == 0 && pc->out_frames >= YD_PUSH_MAX_QUEUED_FRAMES)
        || (force != 1 && pc->out_bytes + len > YD_PUSH_MAX_QUEUED_BYTES))
    {
        /* closed from the write handler: the caller may be walking a list */
        pc->overflow = 1;
        ngx_post_event(pc->c->write, &ngx_posted_events);
        return;
    }

    f = ngx_alloc(sizeof(ngx_youdu_push_frame_t) + YD_WS_MAX_HEADER + len,
                  pc->c->log);
    if (f == NULL) {
        pc->overflow = 1;
        ngx_post_event(pc->c->write, &ngx_posted_events);
        return;
    }

    hlen = ngx_youdu_ws_header(f->data, opcode, len);

    if (len) {
        ngx_memcpy(f->data + hlen, data, len);
    }

    f->next = NULL;
    f->len = hlen + len;
    f->sent = 0;

    ngx_youdu_push_append(pc, f);

    ngx_post_event(pc->c->write, &ngx_posted_events);
}


static void
ngx_youdu_push_append(ngx_youdu_push_conn_t *pc, ngx_youdu_push_frame_t *f)
{
    *pc->out_last = f;
    pc->out_last = &f->next;
    pc->out_frames++;
    pc->out_bytes += f->len;
}


static void
ngx_youdu_push_write(ngx_youdu_push_conn_t *pc)
{
    ngx_int_t          rc;
    ngx_connection_t  *c = pc->c;

    if (pc->overflow && pc->state != YD_PUSH_CLOSING) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      YD_LOG_TAG "push client %L too slow (%ui frames, "
                      "%uz bytes queued), disconnected", pc->uid,
                      pc->out_frames, pc->out_bytes);
        ngx_youdu_push_close(pc, YD_WS_CLOSE_POLICY, "too slow, resync");
    }

    rc = ngx_youdu_push_flush(pc);

    if (rc == NGX_ERROR) {
        ngx_youdu_push_finalize(pc);
        return;
    }

    if (rc == NGX_OK && pc->state == YD_PUSH_CLOSING) {
        if (pc->peer_closed || c->ssl) {
            ngx_youdu_push_finalize(pc);
            return;
        }

        /* wait for the client's close frame or EOF, then finalize */
        if (!pc->wr_shut) {
            pc->wr_shut = 1;
            (void) shutdown(c->fd, SHUT_WR);

            /* input that arrived meanwhile may already hold the EOF */
            ngx_post_event(c->read, &ngx_posted_events);
        }
    }
}


static ngx_int_t
ngx_youdu_push_flush(ngx_youdu_push_conn_t *pc)
{
    ssize_t                  n;
    ngx_connection_t        *c = pc->c;
    ngx_youdu_push_frame_t  *f;

    while (pc->out) {
        f = pc->out;

        n = c->send(c, f->data + f->sent, f->len - f->sent);

        if (n == NGX_ERROR) {
            c->error = 1;
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            if (!c->write->timer_set) {
                ngx_add_timer(c->write, pc->conf->send_timeout);
            }

            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        f->sent += n;

        if (f->sent < f->len) {
            continue;
        }

        pc->out = f->next;

        if (pc->out == NULL) {
            pc->out_last = &pc->out;
        }

        pc->out_frames--;
        pc->out_bytes -= f->len;
        ngx_free(f);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    return NGX_OK;
}


/* closing */


static void
ngx_youdu_push_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason)
{
    u_char                   buf[128];
    size_t                   len;
    ngx_youdu_push_frame_t  *f, *next, **keep;

    if (pc->state == YD_PUSH_CLOSING) {
        return;
    }

    ngx_youdu_push_bus_remove(pc);

    /* a slow client loses what it has not got yet: it resyncs */
    if (pc->overflow) {
        keep = &pc->out;

        if (pc->out && pc->out->sent) {
            keep = &pc->out->next;
        }

        for (f = *keep; f; f = next) {
            next = f->next;
            pc->out_frames--;
            pc->out_bytes -= f->len;
            ngx_free(f);
        }

        *keep = NULL;
        pc->out_last = keep;
    }

    buf[0] = (u_char) (code >> 8);
    buf[1] = (u_char) code;
    len = ngx_min(ngx_strlen(reason), 120);
    ngx_memcpy(buf + 2, reason, len);

    ngx_youdu_push_enqueue(pc, YD_WS_OP_CLOSE, buf, 2 + len, 1);

    pc->state = YD_PUSH_CLOSING;
    pc->msg_opcode = 0;

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    pc->timer.cancelable = 0;
    ngx_add_timer(&pc->timer, YD_PUSH_CLOSE_WAIT);
}


static void
ngx_youdu_push_finalize(ngx_youdu_push_conn_t *pc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = pc->r;
    c = pc->c;

    if (r == NULL) {
        return;
    }

    /* runs ngx_youdu_push_cleanup(): pc may be freed from here on */
    ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
    ngx_http_run_posted_requests(c);
}


static void
ngx_youdu_push_cleanup(void *data)
{
    ngx_youdu_push_conn_t  *pc = data;

    ngx_youdu_push_frame_t  *f, *next;

    ngx_youdu_push_bus_remove(pc);

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    if (pc->timer.posted) {
        ngx_delete_posted_event(&pc->timer);
    }

    for (f = pc->out; f; f = next) {
        next = f->next;
        ngx_free(f);
    }

    pc->out = NULL;
    pc->out_last = &pc->out;

    ngx_free(pc->rbuf);
    ngx_free(pc->msg);
    ngx_free(pc->subs);
    pc->rbuf = NULL;
    pc->msg = NULL;
    pc->subs = NULL;
    pc->nsubs = 0;

    pc->closed = 1;
    pc->r = NULL;
    pc->c = NULL;

    ngx_youdu_push_conn_unref(pc);
}


void
ngx_youdu_push_conn_send_error(ngx_youdu_push_conn_t *pc, ngx_uint_t errcode,
    const char *errmsg)
{
    ngx_youdu_push_send_error(pc, errcode, errmsg);
}


void
ngx_youdu_push_conn_unref(ngx_youdu_push_conn_t *pc)
{
    if (--pc->refs == 0) {
        ngx_free(pc);
    }
}
