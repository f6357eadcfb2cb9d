
/*
 * youdu push: the life of one push client once its transport is set up
 * (WebSocket after the upgrade, or a raw TCP stream session).
 *
 * All output goes through a bounded queue drained by the write handler;
 * code that only wants to send (the bus, replies) queues and posts the
 * write event, so a connection never closes underneath a caller that is
 * walking a list of connections.  Closing: the transport's close frame is
 * queued, the queue drains, the write side is shut down and the client's
 * close/EOF is awaited for a short while; then the owner (request or
 * stream session) is finalized, which runs ngx_youdu_push_conn_cleanup().
 */


#include <jansson.h>

#include "ngx_youdu_utf8.h"
#include "ngx_youdu_push_auth.h"
#include "ngx_youdu_push_bus.h"
#include "ngx_youdu_push_presence.h"


#define YD_PUSH_CLOSE_WAIT   5000     /* drain + closing handshake */


static void ngx_youdu_push_timer_handler(ngx_event_t *ev);
static void ngx_youdu_push_read(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_youdu_push_park(ngx_youdu_push_conn_t *pc);


/* one per worker: every connection reads into it, see pc->rbuf */
static u_char  ngx_youdu_push_scratch[YD_PUSH_RBUF_SIZE];
static void ngx_youdu_push_write(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_youdu_push_flush(ngx_youdu_push_conn_t *pc);
static void ngx_youdu_push_send_json(ngx_youdu_push_conn_t *pc, json_t *j);
static void ngx_youdu_push_finalize(ngx_youdu_push_conn_t *pc);


ngx_youdu_push_conn_t *
ngx_youdu_push_conn_create(ngx_connection_t *c, ngx_youdu_push_conf_t *conf,
    const ngx_youdu_push_transport_t *tp)
{
    ngx_youdu_push_conn_t  *pc;

    pc = ngx_calloc(sizeof(ngx_youdu_push_conn_t), c->log);
    if (pc == NULL) {
        return NULL;
    }

    pc->c = c;
    pc->conf = conf;
    pc->tp = tp;
    pc->refs = 1;
    pc->out_last = &pc->out;
    pc->last_rx = ngx_current_msec;

    pc->timer.handler = ngx_youdu_push_timer_handler;
    pc->timer.data = pc;
    pc->timer.log = c->log;
    pc->timer.cancelable = 1;

    return pc;
}


/* before ngx_youdu_push_conn_run() only */

void
ngx_youdu_push_conn_free(ngx_youdu_push_conn_t *pc)
{
    ngx_youdu_push_frame_t  *f, *next;

    for (f = pc->out; f; f = next) {
        next = f->next;
        ngx_free(f);
    }

    if (pc->rbuf != ngx_youdu_push_scratch) {
        ngx_free(pc->rbuf);
    }

    ngx_free(pc);
}


ngx_int_t
ngx_youdu_push_conn_preread(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len)
{
    if (len == 0 || len > YD_PUSH_RBUF_SIZE) {
        return NGX_OK;
    }

    pc->rbuf = ngx_alloc(YD_PUSH_RBUF_SIZE, pc->c->log);
    if (pc->rbuf == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(pc->rbuf, data, len);
    pc->rlen = len;

    return NGX_OK;
}


/* the owner, its finalize handler and the event handlers are set */

void
ngx_youdu_push_conn_run(ngx_youdu_push_conn_t *pc)
{
    ngx_connection_t  *c = pc->c;

    ngx_add_timer(&pc->timer, pc->conf->auth_timeout);

    /* graceful shutdown reaches us through c->close (1001) */
    c->idle = 1;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    ngx_post_event(c->write, &ngx_posted_events);
    ngx_post_event(c->read, &ngx_posted_events);
}


void
ngx_youdu_push_conn_send_text(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len)
{
    if (pc->state == YD_PUSH_OPEN) {
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT, data, len, 0);
    }
}


/* a batch the client asked for (presence snapshot): bounded by bytes only */

void
ngx_youdu_push_conn_send_batch(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len)
{
    if (pc->state == YD_PUSH_OPEN) {
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT, data, len, 2);
    }
}


/* events */


void
ngx_youdu_push_conn_read_event(ngx_youdu_push_conn_t *pc)
{
    ngx_connection_t  *c = pc->c;

    if (c->close) {
        c->close = 0;
        c->idle = 0;

        if (ngx_exiting && !c->error && pc->state != YD_PUSH_CLOSING) {
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_GOING_AWAY,
                                      "server restarting, reconnect");
            return;
        }

        ngx_youdu_push_finalize(pc);
        return;
    }

    ngx_youdu_push_read(pc);
}


void
ngx_youdu_push_conn_write_event(ngx_youdu_push_conn_t *pc)
{
    ngx_connection_t  *c = pc->c;

    if (c->write->timedout) {
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
        ngx_youdu_push_conn_send_error(pc, 40101, "authentication timeout: "
                                       "send {\"type\":\"auth\",\"token\":...}"
                                       " first");
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_UNAUTHORIZED,
                                  "authentication timeout");
        return;

    case YD_PUSH_AUTHING:
        /* the database query has its own timeouts */
        ngx_add_timer(&pc->timer, pc->conf->auth_timeout);
        return;

    case YD_PUSH_OPEN:
        idle = pc->conf->idle_timeout;

        if (idle == 0) {
            idle = ngx_max(3 * pc->conf->recheck_interval, 60000);
        }

        if (ngx_current_msec - pc->last_rx > idle) {
            ngx_log_error(NGX_LOG_INFO, pc->c->log, 0,
                          YD_LOG_TAG "push client silent for %M ms, dropped",
                          ngx_current_msec - pc->last_rx);
            ngx_youdu_push_finalize(pc);
            return;
        }

        pc->tp->ping(pc);

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
            /* resumed when the session query completes */
            (void) ngx_youdu_push_park(pc);
            return;
        }

        if (pc->state != YD_PUSH_CLOSING && pc->rlen
            && pc->tp->process(pc) != NGX_OK)
        {
            if (!pc->closed && ngx_youdu_push_park(pc) != NGX_OK) {
                ngx_youdu_push_finalize(pc);
            }

            return;
        }

        if (pc->closed) {
            return;
        }

        if (pc->state == YD_PUSH_CLOSING) {
            pc->rlen = 0;     /* discard until EOF */
        }

        if (pc->rbuf == NULL) {
            pc->rbuf = ngx_youdu_push_scratch;
        }

        n = c->recv(c, pc->rbuf + pc->rlen, YD_PUSH_RBUF_SIZE - pc->rlen);

        if (n == NGX_AGAIN) {
            if (ngx_youdu_push_park(pc) != NGX_OK
                || ngx_handle_read_event(c->read, 0) != NGX_OK)
            {
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


/*
 * Before control leaves the read loop: the scratch buffer is the next
 * connection's, so a partial frame moves to a buffer of the connection's
 * own, and a buffer of its own that has been drained is given back.
 */

static ngx_int_t
ngx_youdu_push_park(ngx_youdu_push_conn_t *pc)
{
    u_char  *own;

    if (pc->rlen == 0) {
        if (pc->rbuf != ngx_youdu_push_scratch) {
            ngx_free(pc->rbuf);
        }

        pc->rbuf = NULL;
        return NGX_OK;
    }

    if (pc->rbuf != ngx_youdu_push_scratch) {
        return NGX_OK;
    }

    own = ngx_alloc(YD_PUSH_RBUF_SIZE, pc->c->log);
    if (own == NULL) {
        pc->rbuf = NULL;
        pc->rlen = 0;
        return NGX_ERROR;
    }

    ngx_memcpy(own, pc->rbuf, pc->rlen);
    pc->rbuf = own;

    return NGX_OK;
}


/* one whole client message; NGX_OK: go on, NGX_DONE: stop reading */

ngx_int_t
ngx_youdu_push_conn_message(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len)
{
    json_t        *msg, *type;
    ngx_int_t      rc;
    const char    *t;
    json_error_t   err;

    if (!ngx_youdu_utf8_valid(data, len)) {
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_BAD_DATA, "invalid UTF-8");
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
        ngx_youdu_push_conn_client_error(pc, "malformed JSON: send one JSON "
                                         "object per frame");

    } else if (t == NULL) {
        ngx_youdu_push_conn_client_error(pc, "\"type\" (string) is required");

    } else if (ngx_strcmp(t, "ping") == 0) {
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT,
                                    (u_char *) "{\"type\":\"pong\"}", 15, 0);

    } else if (ngx_strcmp(t, "pong") == 0 || ngx_strcmp(t, "ack") == 0) {
        /* an answer to the TCP heartbeat; acks are informational for now */

    } else if (ngx_strcmp(t, "presence_sub") == 0) {
        rc = ngx_youdu_push_presence_sub(pc, msg);

        if (rc == NGX_DECLINED) {
            ngx_youdu_push_conn_client_error(pc, "presence_sub needs "
                                             "\"user_ids\": an array of at "
                                             "most 1000 positive integers");

        } else if (rc == NGX_ERROR) {
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_INTERNAL, "no memory");
        }

        rc = NGX_OK;

    } else if (ngx_strcmp(t, "auth") == 0) {
        ngx_youdu_push_conn_client_error(pc, "already authenticated");

    } else {
        ngx_youdu_push_conn_client_error(pc, "unknown \"type\": use ping, "
                                         "ack or presence_sub");
    }

    json_decref(msg);

    if (pc->state == YD_PUSH_CLOSING) {
        rc = NGX_DONE;
    }

    return rc;
}


void
ngx_youdu_push_conn_client_error(ngx_youdu_push_conn_t *pc,
    const char *errmsg)
{
    ngx_youdu_push_conn_send_error(pc, 40001, errmsg);

    if (++pc->errors >= YD_PUSH_MAX_ERRORS) {
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_POLICY, "too many errors");
    }
}


/* output */


void
ngx_youdu_push_conn_send_error(ngx_youdu_push_conn_t *pc, ngx_uint_t errcode,
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
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT, (u_char *) text,
                                    ngx_strlen(text), 0);
        free(text);
    }
}


void
ngx_youdu_push_conn_enqueue(ngx_youdu_push_conn_t *pc, ngx_uint_t opcode,
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

    f = ngx_alloc(sizeof(ngx_youdu_push_frame_t) + pc->tp->max_header + len,
                  pc->c->log);
    if (f == NULL) {
        pc->overflow = 1;
        ngx_post_event(pc->c->write, &ngx_posted_events);
        return;
    }

    hlen = pc->tp->header(f->data, opcode, len);

    if (len) {
        ngx_memcpy(f->data + hlen, data, len);
    }

    f->next = NULL;
    f->len = hlen + len;
    f->sent = 0;
    f->tried = 0;

    ngx_youdu_push_conn_append(pc, f);

    ngx_post_event(pc->c->write, &ngx_posted_events);
}


void
ngx_youdu_push_conn_append(ngx_youdu_push_conn_t *pc,
    ngx_youdu_push_frame_t *f)
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
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_POLICY, "too slow, resync");
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
            f->tried = 1;

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


void
ngx_youdu_push_conn_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason)
{
    ngx_youdu_push_frame_t  *f, *next, **keep;

    if (pc->state == YD_PUSH_CLOSING) {
        return;
    }

    ngx_youdu_push_bus_remove(pc);

    /* a slow client loses what it has not got yet: it resyncs */
    if (pc->overflow) {
        keep = &pc->out;

        if (pc->out && (pc->out->sent || pc->out->tried)) {
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

    pc->tp->close(pc, code, reason);

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
    if (pc->owner == NULL) {
        return;
    }

#if (NGX_SSL)
    /* a TLS record still half written: a close_notify now would be a
     * different write ("bad write retry"); the peer sees the close */
    if (pc->c->ssl && pc->out && pc->out->tried) {
        pc->c->ssl->no_send_shutdown = 1;
    }
#endif

    /* runs ngx_youdu_push_conn_cleanup(): pc may be freed from here on */
    pc->finalize(pc);
}


/* the owner is going away: nothing may reach it through pc any more */

void
ngx_youdu_push_conn_cleanup(void *data)
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

    if (pc->rbuf != ngx_youdu_push_scratch) {
        ngx_free(pc->rbuf);
    }

    ngx_free(pc->msg);
    ngx_youdu_push_presence_unsub(pc);
    pc->rbuf = NULL;
    pc->msg = NULL;

    pc->closed = 1;
    pc->owner = NULL;
    pc->c = NULL;

    ngx_youdu_push_conn_unref(pc);
}


void
ngx_youdu_push_conn_unref(ngx_youdu_push_conn_t *pc)
{
    if (--pc->refs == 0) {
        ngx_free(pc);
    }
}
