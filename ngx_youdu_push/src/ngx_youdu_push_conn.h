
/*
 * youdu push: one client of the push channel, whatever the transport.
 * The state machine (auth, session re-check, heartbeats, bounded output,
 * presence, bus delivery) lives in ngx_youdu_push_conn.c; a transport
 * (WebSocket over http, length-prefixed frames over stream) only frames
 * bytes through ngx_youdu_push_transport_t.
 *
 * The state lives on the heap with a reference count: the request or
 * stream session holds one reference, every database or Redis query in
 * flight holds one, so a reply arriving after the client left finds the
 * state (marked closed) instead of freed memory.
 */

#ifndef _NGX_YOUDU_PUSH_CONN_H_INCLUDED_
#define _NGX_YOUDU_PUSH_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_youdu_db.h"
#include "ngx_youdu_push_ws.h"


#define YD_PUSH_MAX_QUEUED_FRAMES  256
#define YD_PUSH_MAX_QUEUED_BYTES   (1024 * 1024)
#define YD_PUSH_MAX_ERRORS         20
#define YD_PUSH_MAX_MESSAGE        65536
#define YD_PUSH_RBUF_SIZE          (YD_PUSH_MAX_MESSAGE + 16)


typedef enum {
    YD_PUSH_AUTH_WAIT = 0,      /* waiting for the auth frame */
    YD_PUSH_AUTHING,            /* session query in flight */
    YD_PUSH_OPEN,
    YD_PUSH_CLOSING             /* close frame queued; draining */
} ngx_youdu_push_state_e;


typedef struct ngx_youdu_push_frame_s  ngx_youdu_push_frame_t;
typedef struct ngx_youdu_push_conn_s   ngx_youdu_push_conn_t;

struct ngx_youdu_push_frame_s {
    ngx_youdu_push_frame_t   *next;
    size_t                    len;
    size_t                    sent;
    /* a write of it was started: TLS must retry the same bytes (OpenSSL
     * fails a shorter retry with "bad length"), so it stays queued */
    unsigned                  tried:1;
    u_char                    data[1];
};


typedef struct {
    ngx_msec_t                auth_timeout;
    ngx_msec_t                recheck_interval;
    ngx_msec_t                idle_timeout;   /* 0: 3 intervals, >= 60 s */
    ngx_msec_t                send_timeout;
    time_t                    presence_ttl;   /* seconds */
} ngx_youdu_push_conf_t;


/* the framing of one transport; opcodes are the YD_WS_OP_* values */
typedef struct {
    const char               *name;
    size_t                    max_header;

    /* consumes whole frames from pc->rbuf; NGX_OK: wants more input */
    ngx_int_t               (*process)(ngx_youdu_push_conn_t *pc);
    /* writes the header of an outgoing frame, returns its length */
    size_t                  (*header)(u_char *out, ngx_uint_t opcode,
                                      size_t len);
    /* the server heartbeat */
    void                    (*ping)(ngx_youdu_push_conn_t *pc);
    /* queues the final frame(s) of a close with a code and a reason */
    void                    (*close)(ngx_youdu_push_conn_t *pc,
                                     ngx_uint_t code, const char *reason);
} ngx_youdu_push_transport_t;


/* ngx_youdu_push_ws.c, ngx_youdu_push_tcp.c */
extern const ngx_youdu_push_transport_t  ngx_youdu_push_ws_transport;
extern const ngx_youdu_push_transport_t  ngx_youdu_push_tcp_transport;


struct ngx_youdu_push_conn_s {
    void                     *owner;      /* request or session; NULL once
                                             the client is gone */
    void                    (*finalize)(ngx_youdu_push_conn_t *pc);
    const ngx_youdu_push_transport_t  *tp;

    ngx_connection_t         *c;
    ngx_youdu_push_conf_t    *conf;
    ngx_uint_t                refs;

    ngx_youdu_push_state_e    state;
    int64_t                   uid;
    int64_t                   sid;

    /* bus membership (ngx_youdu_push_bus.c) */
    ngx_queue_t               user_link;  /* in the user's list */
    ngx_queue_t               all_link;   /* in the worker's list */
    void                     *user_node;

    /* presence (ngx_youdu_push_presence.c) */
    u_char                    device[17];     /* sessions.device_type */
    u_char                    pres_field[48]; /* "<node>:<pid>:<conn>" */
    void                     *subs;           /* presence_sub entries */
    ngx_uint_t                nsubs;

    /* input: one frame at a time, a fragmented message assembled apart */
    /*
     * rbuf is NULL while nothing is pending: reads go to the worker's
     * scratch buffer, and only a partial frame left at the end of a read
     * gets a buffer of its own (an idle connection holds none)
     */
    u_char                   *rbuf;
    size_t                    rlen;
    u_char                   *msg;
    size_t                    msg_len;
    ngx_uint_t                msg_opcode;  /* 0: no message in progress */

    /* output */
    ngx_youdu_push_frame_t   *out;
    ngx_youdu_push_frame_t  **out_last;
    ngx_uint_t                out_frames;
    size_t                    out_bytes;

    ngx_event_t               timer;      /* auth timeout, heartbeat, linger */
    ngx_msec_t                last_rx;
    ngx_uint_t                errors;

    ngx_youdu_db_waiter_t     waiter;
    ngx_youdu_db_conn_t      *dc;
    ngx_pool_t               *qpool;      /* per query; freed when done */

    unsigned                  closed:1;       /* owner finalized */
    unsigned                  in_bus:1;
    unsigned                  checking:1;     /* re-check in flight */
    unsigned                  peer_closed:1;  /* client sent close */
    unsigned                  wr_shut:1;
    unsigned                  overflow:1;     /* queue limit reached */
    unsigned                  pres_on:1;      /* field written in Redis */
};


/* ngx_youdu_push_conf.c */
void ngx_youdu_push_conf_init(ngx_youdu_push_conf_t *conf);
char *ngx_youdu_push_conf_merge(ngx_conf_t *cf, ngx_youdu_push_conf_t *conf,
    ngx_youdu_push_conf_t *prev);

/* lifecycle, for the endpoint modules */
ngx_youdu_push_conn_t *ngx_youdu_push_conn_create(ngx_connection_t *c,
    ngx_youdu_push_conf_t *conf, const ngx_youdu_push_transport_t *tp);
void ngx_youdu_push_conn_free(ngx_youdu_push_conn_t *pc);
void ngx_youdu_push_conn_run(ngx_youdu_push_conn_t *pc);
void ngx_youdu_push_conn_read_event(ngx_youdu_push_conn_t *pc);
void ngx_youdu_push_conn_write_event(ngx_youdu_push_conn_t *pc);
/* the owner's cleanup handler (data: pc) */
void ngx_youdu_push_conn_cleanup(void *data);
void ngx_youdu_push_conn_unref(ngx_youdu_push_conn_t *pc);

/* bytes the client sent before the connection was handed over */
ngx_int_t ngx_youdu_push_conn_preread(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len);

/* re-check the session now (it may have been revoked), not at the next
 * heartbeat; never closes the connection synchronously */
void ngx_youdu_push_conn_recheck(ngx_youdu_push_conn_t *pc);

/* for the transports */
ngx_int_t ngx_youdu_push_conn_message(ngx_youdu_push_conn_t *pc,
    u_char *data, size_t len);
void ngx_youdu_push_conn_client_error(ngx_youdu_push_conn_t *pc,
    const char *errmsg);
void ngx_youdu_push_conn_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason);
/* force: 0 bounded, 1 even while closing (the close frame), 2 bytes only */
void ngx_youdu_push_conn_enqueue(ngx_youdu_push_conn_t *pc,
    ngx_uint_t opcode, u_char *data, size_t len, ngx_uint_t force);
void ngx_youdu_push_conn_append(ngx_youdu_push_conn_t *pc,
    ngx_youdu_push_frame_t *f);

void ngx_youdu_push_conn_send_error(ngx_youdu_push_conn_t *pc,
    ngx_uint_t errcode, const char *errmsg);

/* queues a text frame (JSON); on overflow the client is closed with 1008 */
void ngx_youdu_push_conn_send_text(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len);
/* the same, exempt from the frame count limit (one answer of many frames) */
void ngx_youdu_push_conn_send_batch(ngx_youdu_push_conn_t *pc, u_char *data,
    size_t len);


#endif /* _NGX_YOUDU_PUSH_CONN_H_INCLUDED_ */
