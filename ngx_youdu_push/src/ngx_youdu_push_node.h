
/*
 * youdu push: this worker as a presence "node".  Every worker start gets a
 * fresh node id (the prefix of its connections' presence fields) and keeps
 * a deadline for it in Redis; every worker sweeps nodes past their
 * deadline, so the devices of a worker or a server that died go offline
 * with a pushed event.  A worker respawned after a crash finds the dead
 * worker's id in its process slot (shared memory) and has it swept at
 * once instead of after the TTL.
 */

#ifndef _NGX_YOUDU_PUSH_NODE_H_INCLUDED_
#define _NGX_YOUDU_PUSH_NODE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define YD_PUSH_NODE_ID_LEN  8


/* configuration time: the slot table (once per cycle, any module) */
ngx_int_t ngx_youdu_push_node_zone(ngx_conf_t *cf);

/*
 * worker start: ttl is how long the node counts as alive after its last
 * heartbeat, interval the heartbeat period; a second call (another push
 * transport) keeps the larger ttl and the shorter interval
 */
void ngx_youdu_push_node_start(ngx_cycle_t *cycle, time_t ttl,
    ngx_msec_t interval);

/* "<8 hex digits>", NUL-terminated */
u_char *ngx_youdu_push_node_id(void);


#endif /* _NGX_YOUDU_PUSH_NODE_H_INCLUDED_ */
