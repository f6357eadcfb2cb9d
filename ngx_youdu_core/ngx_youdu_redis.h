
/*
 * youdu: Redis through hiredis's async API, driven by nginx events.
 * One command connection per worker; reconnects with backoff; a watchdog
 * fails commands that get no reply within the configured timeout.
 */

#ifndef _NGX_YOUDU_REDIS_H_INCLUDED_
#define _NGX_YOUDU_REDIS_H_INCLUDED_


#include <hiredis.h>
#include <async.h>

#include "ngx_youdu_core.h"


/* reply is NULL when Redis failed or timed out; it is freed after return */
typedef void (*ngx_youdu_redis_pt)(void *data, redisReply *reply);


ngx_int_t ngx_youdu_redis_init_worker(ngx_cycle_t *cycle);
void ngx_youdu_redis_exit_worker(ngx_cycle_t *cycle);

/* NGX_DECLINED: not connected now (the handler is not called) */
ngx_int_t ngx_youdu_redis_command(ngx_youdu_redis_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen);

ngx_uint_t ngx_youdu_redis_connected(void);

/* event glue shared with the SUBSCRIBE context (ngx_youdu_redis_sub.c) */
/*
 * Wraps a freshly connected async context's socket for nginx's event loop
 * and installs the callbacks; NULL when no connection slot is free (the
 * caller frees the context).  cleanup must drop the returned connection
 * with ngx_youdu_redis_detach().
 */
ngx_connection_t *ngx_youdu_redis_attach(redisAsyncContext *ac, ngx_log_t *log,
    void (*cleanup)(void *privdata), redisConnectCallback *on_connect,
    redisDisconnectCallback *on_disconnect);
void ngx_youdu_redis_detach(ngx_connection_t *c);

void ngx_youdu_redis_read_handler(ngx_event_t *ev);
void ngx_youdu_redis_write_handler(ngx_event_t *ev);
void ngx_youdu_redis_add_read(void *privdata);
void ngx_youdu_redis_del_read(void *privdata);
void ngx_youdu_redis_add_write(void *privdata);
void ngx_youdu_redis_del_write(void *privdata);


#endif /* _NGX_YOUDU_REDIS_H_INCLUDED_ */
