
/*
 * youdu push: node ids, the node heartbeat and the presence sweeper
 * (docs/push.md "A server that dies").  The sweep itself is one Lua script
 * (YD_PRES_LUA_SWEEP); here are its timer and the process slot table.
 */


#include <signal.h>

#include "ngx_youdu_redis.h"
#include "ngx_youdu_presence.h"
#include "ngx_youdu_push_node.h"


/* users handled by one script run; more work is continued 10 ms later */
#define YD_PUSH_SWEEP_BUDGET  1000


typedef struct {
    ngx_pid_t                 pid;
    u_char                    node[YD_PUSH_NODE_ID_LEN + 1];
} ngx_youdu_push_slot_t;


static ngx_int_t ngx_youdu_push_node_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_youdu_push_node_tick(ngx_event_t *ev);
static void ngx_youdu_push_node_swept(void *data, redisReply *reply);


static ngx_str_t        ngx_youdu_push_node_zone_name =
    ngx_string("youdu_push_nodes");

static ngx_shm_zone_t  *ngx_youdu_push_node_shm;
static ngx_event_t      ngx_youdu_push_node_ev;
/* timers log ev->data as a connection: give them one with no socket */
static ngx_connection_t ngx_youdu_push_node_dumb;
static u_char           ngx_youdu_push_node_self[YD_PUSH_NODE_ID_LEN + 1];
static u_char           ngx_youdu_push_node_dead[YD_PUSH_NODE_ID_LEN + 1];
static time_t           ngx_youdu_push_node_ttl;
static ngx_msec_t       ngx_youdu_push_node_interval;
static ngx_uint_t       ngx_youdu_push_node_busy;


ngx_int_t
ngx_youdu_push_node_zone(ngx_conf_t *cf)
{
    ngx_shm_zone_t  *zone;

    /* one tag for the http and the stream endpoint: they share the zone */
    zone = ngx_shared_memory_add(cf, &ngx_youdu_push_node_zone_name,
                                 16 * ngx_pagesize,
                                 &ngx_youdu_push_node_zone_name);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_youdu_push_node_init_zone;
    ngx_youdu_push_node_shm = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_youdu_push_node_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    /* a reload keeps the table: old workers may still be draining */
    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    shm_zone->data = ngx_slab_calloc(shpool, NGX_MAX_PROCESSES
                                             * sizeof(ngx_youdu_push_slot_t));
    if (shm_zone->data == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm_zone->data;

    return NGX_OK;
}


void
ngx_youdu_push_node_start(ngx_cycle_t *cycle, time_t ttl, ngx_msec_t interval)
{
    ngx_youdu_push_slot_t  *slot;

    if (ngx_youdu_push_node_self[0] != '\0') {
        ngx_youdu_push_node_ttl = ngx_max(ngx_youdu_push_node_ttl, ttl);
        ngx_youdu_push_node_interval = ngx_min(ngx_youdu_push_node_interval,
                                               interval);
        return;
    }

    /* a fresh id per worker start: fields of a dead worker never revive */
    (void) ngx_sprintf(ngx_youdu_push_node_self, "%08xD%Z",
                       (uint32_t) ngx_random() ^ (uint32_t) ngx_time()
                       ^ (uint32_t) ngx_pid << 16);

    ngx_youdu_push_node_ttl = ttl;
    ngx_youdu_push_node_interval = interval;

    /*
     * The master respawns a crashed worker in the same slot; a worker of
     * a reload gets a free slot, whose last owner has exited, so an entry
     * found here belongs to a dead worker (kill() guards against surprises)
     */
    if (ngx_youdu_push_node_shm && ngx_youdu_push_node_shm->data
        && ngx_process_slot >= 0 && ngx_process_slot < NGX_MAX_PROCESSES)
    {
        slot = (ngx_youdu_push_slot_t *) ngx_youdu_push_node_shm->data
               + ngx_process_slot;

        if (slot->pid > 0 && slot->pid != ngx_pid
            && kill(slot->pid, 0) == -1 && ngx_errno == NGX_ESRCH)
        {
            ngx_memcpy(ngx_youdu_push_node_dead, slot->node,
                       sizeof(ngx_youdu_push_node_dead));
            ngx_youdu_push_node_dead[YD_PUSH_NODE_ID_LEN] = '\0';

            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          YD_LOG_TAG "push: worker %P of node %s is gone, "
                          "its devices go offline", slot->pid,
                          ngx_youdu_push_node_dead);
        }

        ngx_memcpy(slot->node, ngx_youdu_push_node_self,
                   sizeof(slot->node));
        slot->pid = ngx_pid;
    }

    ngx_youdu_push_node_ev.handler = ngx_youdu_push_node_tick;
    ngx_youdu_push_node_ev.log = cycle->log;
    ngx_youdu_push_node_dumb.fd = (ngx_socket_t) -1;
    ngx_youdu_push_node_ev.data = &ngx_youdu_push_node_dumb;
    ngx_youdu_push_node_ev.cancelable = 1;

    /* Redis connects in the meantime */
    ngx_add_timer(&ngx_youdu_push_node_ev, 100);
}


u_char *
ngx_youdu_push_node_id(void)
{
    return ngx_youdu_push_node_self;
}


static void
ngx_youdu_push_node_tick(ngx_event_t *ev)
{
    u_char       now[NGX_INT64_LEN], ttl[NGX_INT64_LEN], budget[NGX_INT64_LEN];
    size_t       argvlen[8];
    const char  *argv[8];

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (ngx_youdu_push_node_busy) {
        ngx_add_timer(ev, ngx_youdu_push_node_interval);
        return;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = YD_PRES_LUA_SWEEP;
    argvlen[1] = sizeof(YD_PRES_LUA_SWEEP) - 1;
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = (char *) ngx_youdu_push_node_self;
    argvlen[3] = YD_PUSH_NODE_ID_LEN;
    argv[4] = (char *) now;
    argvlen[4] = ngx_sprintf(now, "%T", ngx_time()) - now;
    argv[5] = (char *) ttl;
    argvlen[5] = ngx_sprintf(ttl, "%T", ngx_youdu_push_node_ttl) - ttl;
    argv[6] = (char *) ngx_youdu_push_node_dead;
    argvlen[6] = ngx_strlen(ngx_youdu_push_node_dead);
    argv[7] = (char *) budget;
    argvlen[7] = ngx_sprintf(budget, "%d", YD_PUSH_SWEEP_BUDGET) - budget;

    if (ngx_youdu_redis_command(ngx_youdu_push_node_swept, NULL, 8, argv,
                                argvlen)
        != NGX_OK)
    {
        /* not connected: try again soon */
        ngx_add_timer(ev, 1000);
        return;
    }

    ngx_youdu_push_node_busy = 1;
}


static void
ngx_youdu_push_node_swept(void *data, redisReply *reply)
{
    ngx_msec_t  delay;

    ngx_youdu_push_node_busy = 0;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
        ngx_youdu_push_node_dead[0] = '\0';
        delay = reply->integer ? 10 : ngx_youdu_push_node_interval;

    } else {
        /* Redis failed (logged there) or went away: the dead node waits */
        delay = 1000;
    }

    if (ngx_exiting || ngx_terminate || ngx_quit
        || ngx_youdu_push_node_ev.timer_set)
    {
        return;
    }

    ngx_add_timer(&ngx_youdu_push_node_ev, delay);
}
