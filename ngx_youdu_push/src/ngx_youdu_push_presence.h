
/*
 * youdu push: presence of push connections in Redis and presence
 * subscriptions of clients (docs/push.md "Presence").
 */

#ifndef _NGX_YOUDU_PUSH_PRESENCE_H_INCLUDED_
#define _NGX_YOUDU_PUSH_PRESENCE_H_INCLUDED_


#include <jansson.h>

#include "ngx_youdu_push_conn.h"


#define YD_PRES_MAX_SUBS  1000


/* on: write/refresh this connection's field; off: delete it */
void ngx_youdu_push_presence_set(ngx_youdu_push_conn_t *pc, ngx_uint_t on);

/* {"type":"presence_sub","user_ids":[...]}; NGX_DECLINED: bad input */
ngx_int_t ngx_youdu_push_presence_sub(ngx_youdu_push_conn_t *pc,
    json_t *msg);

/* drops the connection's subscriptions (close) */
void ngx_youdu_push_presence_unsub(ngx_youdu_push_conn_t *pc);

/* queues a presence event for the local subscribers of uid */
void ngx_youdu_push_presence_deliver(int64_t uid, u_char *text, size_t len);

/* whether uid has local subscribers (to skip building the event) */
ngx_uint_t ngx_youdu_push_presence_watched(int64_t uid);


#endif /* _NGX_YOUDU_PUSH_PRESENCE_H_INCLUDED_ */
