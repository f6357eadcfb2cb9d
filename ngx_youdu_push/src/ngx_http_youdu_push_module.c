
/*
 * youdu push: the WebSocket endpoint (`youdu_push;` in a location).
 * Validates the upgrade request, answers 101 and hands the connection to
 * ngx_youdu_push_conn.c with the WebSocket transport; per worker, starts
 * the Redis bus.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_youdu_core.h"
#include "ngx_youdu_push_bus.h"
#include "ngx_youdu_push_node.h"


typedef struct {
    ngx_flag_t                enabled;
    ngx_youdu_push_conf_t     push;
} ngx_http_youdu_push_loc_conf_t;


typedef struct {
    ngx_flag_t                used;      /* some location has youdu_push */
    time_t                    presence_ttl;     /* the largest */
    ngx_msec_t                heartbeat;        /* the shortest interval */
} ngx_http_youdu_push_main_conf_t;


static void *ngx_http_youdu_push_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_youdu_push_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_youdu_push_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_youdu_push(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_youdu_push_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_youdu_push_start(ngx_http_request_t *r,
    ngx_youdu_push_conf_t *conf, ngx_str_t *accept);
static void ngx_http_youdu_push_read_event(ngx_event_t *ev);
static void ngx_http_youdu_push_write_event(ngx_event_t *ev);
static void ngx_http_youdu_push_finalize(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_http_youdu_push_reject(ngx_http_request_t *r,
    const char *errmsg);
static ngx_table_elt_t *ngx_http_youdu_push_header(ngx_http_request_t *r,
    const char *name);
static ngx_int_t ngx_http_youdu_push_has_token(ngx_str_t *value,
    const char *token);
static ngx_int_t ngx_http_youdu_push_init_process(ngx_cycle_t *cycle);
static void ngx_http_youdu_push_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_youdu_push_commands[] = {

    { ngx_string("youdu_push"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_youdu_push,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("youdu_push_auth_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_push_loc_conf_t, push.auth_timeout),
      NULL },

    { ngx_string("youdu_push_recheck_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_push_loc_conf_t, push.recheck_interval),
      NULL },

    { ngx_string("youdu_push_presence_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_push_loc_conf_t, push.presence_ttl),
      NULL },

    { ngx_string("youdu_push_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_push_loc_conf_t, push.idle_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_youdu_push_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_youdu_push_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_youdu_push_create_loc_conf,   /* create location configuration */
    ngx_http_youdu_push_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_youdu_push_module = {
    NGX_MODULE_V1,
    &ngx_http_youdu_push_module_ctx,       /* module context */
    ngx_http_youdu_push_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_youdu_push_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_youdu_push_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_youdu_push_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_youdu_push_main_conf_t));
}


static void *
ngx_http_youdu_push_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_youdu_push_loc_conf_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_youdu_push_loc_conf_t));
    if (plcf == NULL) {
        return NULL;
    }

    plcf->enabled = NGX_CONF_UNSET;
    ngx_youdu_push_conf_init(&plcf->push);

    return plcf;
}


static char *
ngx_http_youdu_push_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_youdu_push_loc_conf_t  *prev = parent;
    ngx_http_youdu_push_loc_conf_t  *conf = child;

    ngx_http_youdu_push_main_conf_t  *pmcf;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);

    if (ngx_youdu_push_conf_merge(cf, &conf->push, &prev->push)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->enabled) {
        pmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_youdu_push_module);
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
ngx_http_youdu_push(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_youdu_push_loc_conf_t   *plcf = conf;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_youdu_push_main_conf_t  *pmcf;

    if (plcf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    plcf->enabled = 1;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_youdu_push_module);
    pmcf->used = 1;

    if (ngx_youdu_push_node_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_youdu_push_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_youdu_push_handler(ngx_http_request_t *r)
{
    u_char                           accept[32];
    ngx_str_t                        acc;
    ngx_table_elt_t                 *h;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_youdu_push_loc_conf_t  *plcf;

    if (r->method != NGX_HTTP_GET) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r != r->main || r->http_version != NGX_HTTP_VERSION_11) {
        return ngx_http_youdu_push_reject(r, "WebSocket needs HTTP/1.1");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_youdu_push_reject(r, "the upgrade request must not "
                                          "have a body");
    }

    h = ngx_http_youdu_push_header(r, "Upgrade");
    if (h == NULL || !ngx_http_youdu_push_has_token(&h->value, "websocket")) {
        return ngx_http_youdu_push_reject(r, "send \"Upgrade: websocket\"");
    }

    h = ngx_http_youdu_push_header(r, "Connection");
    if (h == NULL || !ngx_http_youdu_push_has_token(&h->value, "upgrade")) {
        return ngx_http_youdu_push_reject(r, "send \"Connection: Upgrade\"");
    }

    h = ngx_http_youdu_push_header(r, "Sec-WebSocket-Version");
    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        return ngx_http_youdu_push_reject(r, "send "
                                          "\"Sec-WebSocket-Version: 13\"");
    }

    h = ngx_http_youdu_push_header(r, "Sec-WebSocket-Key");
    if (h == NULL || ngx_youdu_ws_key_valid(&h->value) != NGX_OK
        || ngx_youdu_ws_accept(&h->value, accept) != NGX_OK)
    {
        return ngx_http_youdu_push_reject(r, "send a Sec-WebSocket-Key of "
                                          "16 base64-encoded bytes");
    }

    acc.data = accept;
    acc.len = 28;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_youdu_push_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    plcf->push.send_timeout = clcf->send_timeout;

    if (ngx_http_youdu_push_start(r, &plcf->push, &acc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* the 101 answer is the first frame queued; then the push state machine */

static ngx_int_t
ngx_http_youdu_push_start(ngx_http_request_t *r, ngx_youdu_push_conf_t *conf,
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

    pc = ngx_youdu_push_conn_create(c, conf, &ngx_youdu_push_ws_transport);
    if (pc == NULL) {
        return NGX_ERROR;
    }

    /* bytes the client sent right after its handshake */
    b = r->header_in;
    n = b->last - b->pos;

    if (ngx_youdu_push_conn_preread(pc, b->pos, n) != NGX_OK) {
        ngx_youdu_push_conn_free(pc);
        return NGX_ERROR;
    }

    b->pos = b->last;

    f = ngx_alloc(sizeof(ngx_youdu_push_frame_t) + sizeof(head) + 32,
                  c->log);
    cln = ngx_http_cleanup_add(r, 0);

    if (f == NULL || cln == NULL) {
        ngx_free(f);
        ngx_youdu_push_conn_free(pc);
        return NGX_ERROR;
    }

    pc->owner = r;
    pc->finalize = ngx_http_youdu_push_finalize;

    cln->handler = ngx_youdu_push_conn_cleanup;
    cln->data = pc;

    ngx_http_set_ctx(r, pc, ngx_http_youdu_push_module);

    f->next = NULL;
    f->sent = 0;
    f->tried = 0;
    f->len = ngx_sprintf(f->data, "%s%V\r\n\r\n", head, accept) - f->data;
    ngx_youdu_push_conn_append(pc, f);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    r->keepalive = 0;
    r->lingering_close = 0;

    c->read->handler = ngx_http_youdu_push_read_event;
    c->write->handler = ngx_http_youdu_push_write_event;

    r->main->count++;

    ngx_youdu_push_conn_run(pc);

    return NGX_OK;
}


static void
ngx_http_youdu_push_read_event(ngx_event_t *ev)
{
    ngx_connection_t    *c = ev->data;
    ngx_http_request_t  *r = c->data;

    ngx_youdu_push_conn_read_event(ngx_http_get_module_ctx(r,
                                       ngx_http_youdu_push_module));
}


static void
ngx_http_youdu_push_write_event(ngx_event_t *ev)
{
    ngx_connection_t    *c = ev->data;
    ngx_http_request_t  *r = c->data;

    ngx_youdu_push_conn_write_event(ngx_http_get_module_ctx(r,
                                        ngx_http_youdu_push_module));
}


static void
ngx_http_youdu_push_finalize(ngx_youdu_push_conn_t *pc)
{
    ngx_connection_t    *c = pc->c;
    ngx_http_request_t  *r = pc->owner;

    /* runs ngx_youdu_push_conn_cleanup(): pc may be freed from here on */
    ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_youdu_push_reject(ngx_http_request_t *r, const char *errmsg)
{
    size_t            len;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    len = sizeof("{\"errcode\":40000,\"errmsg\":\"\"}") - 1 + ngx_strlen(errmsg);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->pos, "{\"errcode\":40000,\"errmsg\":\"%s\"}",
                          errmsg);
    b->last_buf = 1;
    b->last_in_chain = 1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Sec-WebSocket-Version");
    ngx_str_set(&h->value, "13");

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    r->headers_out.status = NGX_HTTP_BAD_REQUEST;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_table_elt_t *
ngx_http_youdu_push_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* a comma-separated header value contains token (case-insensitive) */

static ngx_int_t
ngx_http_youdu_push_has_token(ngx_str_t *value, const char *token)
{
    size_t   len;
    u_char  *p, *end, *start;

    len = ngx_strlen(token);
    p = value->data;
    end = p + value->len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_youdu_push_init_process(ngx_cycle_t *cycle)
{
    ngx_http_youdu_push_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_youdu_push_module);

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
ngx_http_youdu_push_exit_process(ngx_cycle_t *cycle)
{
    ngx_youdu_push_bus_exit(cycle);
}
