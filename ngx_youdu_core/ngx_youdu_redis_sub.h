
/*
 * youdu: a per-worker Redis SUBSCRIBE connection (a subscribed connection
 * can only (un)subscribe, so it is separate from the command connection).
 * Reconnects with backoff and subscribes again after every reconnect.
 */

#ifndef _NGX_YOUDU_REDIS_SUB_H_INCLUDED_
#define _NGX_YOUDU_REDIS_SUB_H_INCLUDED_


#include "ngx_youdu_redis.h"


/* one published message; both strings are valid only during the call */
typedef void (*ngx_youdu_redis_msg_pt)(ngx_str_t *channel,
    ngx_str_t *payload);


/*
 * channels: a NULL-terminated array of static strings.  Called again (by
 * another part of the worker) it adds that caller's channels and handler
 * to the same connection; stop() ends it for all of them.
 */
ngx_int_t ngx_youdu_redis_sub_start(ngx_cycle_t *cycle,
    const char **channels, ngx_youdu_redis_msg_pt handler);
void ngx_youdu_redis_sub_stop(void);
ngx_uint_t ngx_youdu_redis_sub_subscribed(void);


#endif /* _NGX_YOUDU_REDIS_SUB_H_INCLUDED_ */
