
/*
 * youdu push: the raw TCP endpoint for native clients (`youdu_push_tcp;`
 * in a stream server, plain or with `listen ... ssl`).  The session is
 * handed to ngx_youdu_push_conn.c with the length-prefixed transport of
 * ngx_youdu_push_tcp.c: the same state machine as the WebSocket endpoint.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_youdu_core.h"
#include "ngx_youdu_push_bus.h"
#include "ngx_youdu_push_node.h"


typedef struct {
    ngx_flag_t                enabled;
    ngx_youdu_push_conf_t     push;
} ngx_stream_youdu_push_srv_conf_t;


typedef struct {
    ngx_flag_t                used;      /* some server has youdu_push_tcp */
    time_t                    presence_ttl;     /* the largest */
    ngx_msec_t                heartbeat;        /* the shortest interval */
} ngx_stream_youdu_push_main_conf_t;


static void *ngx_stream_youdu_push_create_main_conf(ngx_conf_t *cf);
static void *ngx_stream_youdu_push_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_youdu_push_merge_srv_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_stream_youdu_push_tcp(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_stream_youdu_push_handler(ngx_stream_session_t *s);
static void ngx_stream_youdu_push_read_event(ngx_event_t *ev);
static void ngx_stream_youdu_push_write_event(ngx_event_t *ev);
static void ngx_stream_youdu_push_finalize(ngx_youdu_push_conn_t *pc);
static void ngx_stream_youdu_push_cleanup(void *data);
static ngx_int_t ngx_stream_youdu_push_init_process(ngx_cycle_t *cycle);
static void ngx_stream_youdu_push_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_stream_youdu_push_commands[] = {

    { ngx_string("youdu_push_tcp"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS,
      ngx_stream_youdu_push_tcp,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("youdu_push_auth_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_youdu_push_srv_conf_t, push.auth_timeout),
      NULL },

    { ngx_string("youdu_push_recheck_interval"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_youdu_push_srv_conf_t, push.recheck_interval),
      NULL },

    { ngx_string("youdu_push_presence_ttl"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_youdu_push_srv_conf_t, push.presence_ttl),
      NULL },

    { ngx_string("youdu_push_idle_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_youdu_push_srv_conf_t, push.idle_timeout),
      NULL },

    { ngx_string("youdu_push_send_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_youdu_push_srv_conf_t, push.send_timeout),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_youdu_push_module_ctx = {
    NULL,                                    /* preconfiguration */
    NULL,                                    /* postconfiguration */

    ngx_stream_youdu_push_create_main_conf,  /* create main configuration */
    NULL,                                    /* init main configuration */

    ngx_stream_youdu_push_create_srv_conf,   /* create server configuration */
    ngx_stream_youdu_push_merge_srv_conf     /* merge server configuration */
};


ngx_module_t  ngx_stream_youdu_push_module = {
    NGX_MODULE_V1,
    &ngx_stream_youdu_push_module_ctx,       /* module context */
    ngx_stream_youdu_push_commands,          /* module directives */
    NGX_STREAM_MODULE,                       /* module type */
    NULL,                                    /* init master */
    NULL,                                    /* init module */
    ngx_stream_youdu_push_init_process,      /* init process */
    NULL,                                    /* init thread */
    NULL,                                    /* exit thread */
    ngx_stream_youdu_push_exit_process,      /* exit process */
    NULL,                                    /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_stream_youdu_push_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_stream_youdu_push_main_conf_t));
}


static void *
ngx_stream_youdu_push_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_youdu_push_srv_conf_t  *pscf;

    pscf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_youdu_push_srv_conf_t));
    if (pscf == NULL) {
        return NULL;
    }

    pscf->enabled = NGX_CONF_UNSET;
    ngx_youdu_push_conf_init(&pscf->push);

    return pscf;
}


static char *
ngx_stream_youdu_push_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_stream_youdu_push_srv_conf_t  *prev = parent;
    ngx_stream_youdu_push_srv_conf_t  *conf = child;

    ngx_stream_youdu_push_main_conf_t  *pmcf;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);

    if (ngx_youdu_push_conf_merge(cf, &conf->push, &prev->push)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the node heartbeat (presence sweeper) follows the busiest server */
    if (conf->enabled) {
        pmcf = ngx_stream_conf_get_module_main_conf(cf,
                                                ngx_stream_youdu_push_module);
        pmcf->presence_ttl = ngx_max(pmcf->presence_ttl,
                                     conf->push.presence_ttl);

        if (pmcf->heartbeat == 0
            || conf->push.recheck_interval < pmcf->heartbeat)
        {
            pmcf->heartbeat = conf->push.recheck_interval;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_stream_youdu_push_tcp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_youdu_push_srv_conf_t   *pscf = conf;
    ngx_stream_core_srv_conf_t         *cscf;
    ngx_stream_youdu_push_main_conf_t  *pmcf;

    if (pscf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    pscf->enabled = 1;

    pmcf = ngx_stream_conf_get_module_main_conf(cf,
                                                ngx_stream_youdu_push_module);
    pmcf->used = 1;

    if (ngx_youdu_push_node_zone(cf)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);
    cscf->handler = ngx_stream_youdu_push_handler;

    return NGX_CONF_OK;
}


static void
ngx_stream_youdu_push_handler(ngx_stream_session_t *s)
{
    int                                on;
    ngx_connection_t                  *c;
    ngx_pool_cleanup_t                *cln;
    ngx_youdu_push_conn_t             *pc;
    ngx_stream_youdu_push_srv_conf_t  *pscf;

    c = s->connection;
    c->log->action = "serving push client";

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_youdu_push_module);

    /* native clients sit idle for long: let the kernel find dead peers */
    on = 1;

    if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, (const void *) &on,
                   sizeof(int))
        == -1)
    {
        ngx_log_error(NGX_LOG_WARN, c->log, ngx_socket_errno,
                      YD_LOG_TAG "setsockopt(SO_KEEPALIVE) failed");
    }

    pc = ngx_youdu_push_conn_create(c, &pscf->push,
                                    &ngx_youdu_push_tcp_transport);
    /* bytes read by a preread phase (ssl_preread, ...) */
    if (pc && c->buffer
        && ngx_youdu_push_conn_preread(pc, c->buffer->pos,
                                       c->buffer->last - c->buffer->pos)
           != NGX_OK)
    {
        ngx_youdu_push_conn_free(pc);
        pc = NULL;
    }

    if (pc && c->buffer) {
        c->buffer->pos = c->buffer->last;
    }

    cln = pc ? ngx_pool_cleanup_add(c->pool, 0) : NULL;

    if (cln == NULL) {
        if (pc) {
            ngx_youdu_push_conn_free(pc);
        }

        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    pc->owner = s;
    pc->finalize = ngx_stream_youdu_push_finalize;

    cln->handler = ngx_stream_youdu_push_cleanup;
    cln->data = s;

    ngx_stream_set_ctx(s, pc, ngx_stream_youdu_push_module);

    c->read->handler = ngx_stream_youdu_push_read_event;
    c->write->handler = ngx_stream_youdu_push_write_event;

    ngx_youdu_push_conn_run(pc);
}


static void
ngx_stream_youdu_push_read_event(ngx_event_t *ev)
{
    ngx_connection_t      *c = ev->data;
    ngx_stream_session_t  *s = c->data;

    ngx_youdu_push_conn_read_event(ngx_stream_get_module_ctx(s,
                                       ngx_stream_youdu_push_module));
}


static void
ngx_stream_youdu_push_write_event(ngx_event_t *ev)
{
    ngx_connection_t      *c = ev->data;
    ngx_stream_session_t  *s = c->data;

    ngx_youdu_push_conn_write_event(ngx_stream_get_module_ctx(s,
                                        ngx_stream_youdu_push_module));
}


/*
 * The state is detached before the session ends: closing may wait for a
 * TLS shutdown, and nothing of ours (timer, bus delivery) may reach the
 * session meanwhile.
 */

static void
ngx_stream_youdu_push_finalize(ngx_youdu_push_conn_t *pc)
{
    ngx_stream_session_t  *s = pc->owner;

    ngx_stream_delete_ctx(s, ngx_stream_youdu_push_module);

    /* pc may be freed from here on */
    ngx_youdu_push_conn_cleanup(pc);

    ngx_stream_finalize_session(s, NGX_STREAM_OK);
}


/* the session went away without us (it is not expected, but safe) */

static void
ngx_stream_youdu_push_cleanup(void *data)
{
    ngx_stream_session_t  *s = data;

    ngx_youdu_push_conn_t  *pc;

    pc = ngx_stream_get_module_ctx(s, ngx_stream_youdu_push_module);

    if (pc) {
        ngx_stream_delete_ctx(s, ngx_stream_youdu_push_module);
        ngx_youdu_push_conn_cleanup(pc);
    }
}


static ngx_int_t
ngx_stream_youdu_push_init_process(ngx_cycle_t *cycle)
{
    ngx_stream_youdu_push_main_conf_t  *pmcf;

    pmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                               ngx_stream_youdu_push_module);

    if (pmcf == NULL || !pmcf->used) {
        return NGX_OK;
    }

    if (ngx_youdu_push_bus_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_youdu_push_node_start(cycle, pmcf->presence_ttl, pmcf->heartbeat);

    return NGX_OK;
}


static void
ngx_stream_youdu_push_exit_process(ngx_cycle_t *cycle)
{
    ngx_youdu_push_bus_exit(cycle);
}
