
/*
 * youdu push: per-worker index of authenticated connections by user id,
 * fed by the Redis channels yd:push (per-user events) and yd:org (org
 * version changes for everybody).
 */

#ifndef _NGX_YOUDU_PUSH_BUS_H_INCLUDED_
#define _NGX_YOUDU_PUSH_BUS_H_INCLUDED_


#include "ngx_youdu_push_conn.h"


ngx_int_t ngx_youdu_push_bus_init(ngx_cycle_t *cycle);
void ngx_youdu_push_bus_exit(ngx_cycle_t *cycle);

void ngx_youdu_push_bus_add(ngx_youdu_push_conn_t *pc);
void ngx_youdu_push_bus_remove(ngx_youdu_push_conn_t *pc);


#endif /* _NGX_YOUDU_PUSH_BUS_H_INCLUDED_ */
