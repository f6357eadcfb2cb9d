
/*
 * youdu: the callback queue's delivery engine (app_callbacks, see
 * ngx_http_youdu_callback.h) and the youdu_callback_* directives.
 *
 * Worker 0 of each node delivers.  A row is claimed by moving its next_at
 * past the attempt's end (the lease) in a statement that only matches due
 * rows, so no two workers or nodes send one row at the same time; a worker
 * that dies mid-delivery leaves a lease that expires, and the row is sent
 * again.  No database connection is held during an HTTP exchange.  Bounds:
 * youdu_callback_concurrency per node, youdu_callback_app_concurrency per
 * app, so a dead URL only slows its own app.
 */


#include "ngx_youdu_db.h"
#include "ngx_youdu_redis_sub.h"
#include "ngx_youdu_cgi_crypto.h"
#include "ngx_http_youdu_callback.h"


/* the lease: the row's read (query_timeout) + the attempt + this margin */
#define YD_CB_LEASE_EXTRA   5000
#define YD_CB_POOL_SIZE     4096


typedef struct {
    ngx_queue_t               link;
    int64_t                   app_pk;
    ngx_uint_t                n;
} ngx_youdu_cb_app_t;


typedef struct {
    ngx_log_t                *log;
    ngx_event_t               timer;       /* next poll */
    ngx_event_t               wake;        /* poll now (posted) */
    ngx_queue_t               apps;        /* ngx_youdu_cb_app_t in flight */
    ngx_uint_t                inflight;
    ngx_pool_t               *pool;        /* the poll's */
    ngx_youdu_db_waiter_t     waiter;
    ngx_youdu_db_conn_t      *dc;
    unsigned                  polling:1;
    unsigned                  again:1;
    unsigned                  exiting:1;
} ngx_youdu_cb_engine_t;


typedef struct {
    ngx_pool_t               *pool;
    ngx_log_t                *log;
    int64_t                   id;
    ngx_str_t                 id_str;
    ngx_youdu_cb_app_t       *app;
    ngx_youdu_db_waiter_t     waiter;
    ngx_youdu_db_conn_t      *dc;
    ngx_uint_t                step;
    int64_t                   attempts;
    ngx_msec_t                backoff;
    int64_t                   age_us;      /* since the row was created */
    ngx_str_t                 app_id;
    ngx_str_t                 package_id;  /* what an echo must equal */
    ngx_uint_t                delivered;
    ngx_uint_t                give_up;     /* no retry can help */
    ngx_str_t                 error;
} ngx_youdu_cb_delivery_t;


static void *ngx_youdu_callback_create_conf(ngx_cycle_t *cycle);
static char *ngx_youdu_callback_init_conf(ngx_cycle_t *cycle, void *conf);
static ngx_int_t ngx_youdu_callback_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_youdu_callback_init_process(ngx_cycle_t *cycle);
static void ngx_youdu_callback_exit_process(ngx_cycle_t *cycle);
static void ngx_youdu_cb_message(ngx_str_t *channel, ngx_str_t *payload);
static void ngx_youdu_cb_poll_handler(ngx_event_t *ev);
static void ngx_youdu_cb_poll_at(ngx_msec_t ms);
static void ngx_youdu_cb_poll_acquired(void *data, ngx_youdu_db_conn_t *dc);
static void ngx_youdu_cb_poll_done(void *data, ngx_youdu_db_result_t *res);
static void ngx_youdu_cb_poll_end(void);
static ngx_youdu_cb_app_t *ngx_youdu_cb_app(int64_t app_pk,
    ngx_uint_t create);
static void ngx_youdu_cb_deliver(int64_t id, ngx_youdu_cb_app_t *app);
static void ngx_youdu_cb_acquired(void *data, ngx_youdu_db_conn_t *dc);
static void ngx_youdu_cb_step(void *data, ngx_youdu_db_result_t *res);
static void ngx_youdu_cb_send(ngx_youdu_cb_delivery_t *d,
    ngx_youdu_db_result_t *res);
static void ngx_youdu_cb_sent(void *data, ngx_int_t rc, ngx_uint_t status,
    ngx_str_t *body, ngx_str_t *err);
static void ngx_youdu_cb_report(ngx_youdu_cb_delivery_t *d);
static void ngx_youdu_cb_end(ngx_youdu_cb_delivery_t *d);
static ngx_youdu_db_param_t *ngx_youdu_cb_params(ngx_pool_t *pool,
    ngx_uint_t n, ...);
static ngx_str_t *ngx_youdu_cb_int(ngx_pool_t *pool, int64_t v);


static ngx_command_t  ngx_youdu_callback_commands[] = {

    { ngx_string("youdu_buin"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, buin),
      NULL },

    { ngx_string("youdu_callback_timeout"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, timeout),
      NULL },

    { ngx_string("youdu_callback_retry_base"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, retry_base),
      NULL },

    { ngx_string("youdu_callback_retry_max"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, retry_max),
      NULL },

    { ngx_string("youdu_callback_retry_total"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, retry_total),
      NULL },

    { ngx_string("youdu_callback_poll"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, poll),
      NULL },

    { ngx_string("youdu_callback_concurrency"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, concurrency),
      NULL },

    { ngx_string("youdu_callback_app_concurrency"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, app_concurrency),
      NULL },

    { ngx_string("youdu_callback_ssl_verify"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, ssl_verify),
      NULL },

    { ngx_string("youdu_callback_ssl_trusted_certificate"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_youdu_callback_conf_t, ssl_trusted),
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_youdu_callback_module_ctx = {
    ngx_string("youdu_callback"),
    ngx_youdu_callback_create_conf,
    ngx_youdu_callback_init_conf
};


ngx_module_t  ngx_youdu_callback_module = {
    NGX_MODULE_V1,
    &ngx_youdu_callback_module_ctx,        /* module context */
    ngx_youdu_callback_commands,           /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_youdu_callback_init_module,        /* init module */
    ngx_youdu_callback_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_youdu_callback_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static const char  *ngx_youdu_cb_channels[] = { "yd:callback", NULL };

static ngx_youdu_cb_engine_t  *ngx_youdu_cbe;

#if (NGX_SSL)
/* the current cycle's; each cycle's pool frees its own on reload */
static ngx_ssl_t              *ngx_youdu_cb_ssl;
#endif


/* the candidates of one poll: due rows, at most app_concurrency per app,
 * none of the apps already at their bound here */
static const char  ngx_youdu_cb_poll_sql[] =
    "SELECT id, app_pk FROM ("
    "SELECT id, app_pk, next_at, ROW_NUMBER() OVER "
    "(PARTITION BY app_pk ORDER BY next_at, id) AS rn "
    "FROM app_callbacks WHERE state = 0 AND next_at <= UTC_TIMESTAMP(3) "
    "AND NOT FIND_IN_SET(app_pk, ?)) t "
    "WHERE rn <= ? ORDER BY next_at, id LIMIT ?";


ngx_youdu_callback_conf_t *
ngx_youdu_callback_conf(void)
{
    return (ngx_youdu_callback_conf_t *)
               ngx_get_conf(ngx_cycle->conf_ctx, ngx_youdu_callback_module);
}


#if (NGX_SSL)

ngx_ssl_t *
ngx_youdu_callback_ssl(void)
{
    return ngx_youdu_cb_ssl;
}

#endif


static void *
ngx_youdu_callback_create_conf(ngx_cycle_t *cycle)
{
    ngx_youdu_callback_conf_t  *cbcf;

    cbcf = ngx_pcalloc(cycle->pool, sizeof(ngx_youdu_callback_conf_t));
    if (cbcf == NULL) {
        return NULL;
    }

    cbcf->buin = NGX_CONF_UNSET;
    cbcf->timeout = NGX_CONF_UNSET_MSEC;
    cbcf->retry_base = NGX_CONF_UNSET_MSEC;
    cbcf->retry_max = NGX_CONF_UNSET_MSEC;
    cbcf->retry_total = NGX_CONF_UNSET_MSEC;
    cbcf->poll = NGX_CONF_UNSET_MSEC;
    cbcf->concurrency = NGX_CONF_UNSET_UINT;
    cbcf->app_concurrency = NGX_CONF_UNSET_UINT;
    cbcf->ssl_verify = NGX_CONF_UNSET;

    return cbcf;
}


static char *
ngx_youdu_callback_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_youdu_callback_conf_t  *cbcf = conf;

    ngx_conf_init_value(cbcf->buin, 1);
    ngx_conf_init_msec_value(cbcf->timeout, 10000);
    ngx_conf_init_msec_value(cbcf->retry_base, 10000);
    ngx_conf_init_msec_value(cbcf->retry_max, 1800000);
    ngx_conf_init_msec_value(cbcf->retry_total, 86400000);
    ngx_conf_init_msec_value(cbcf->poll, 5000);
    ngx_conf_init_uint_value(cbcf->concurrency, 32);
    ngx_conf_init_uint_value(cbcf->app_concurrency, 4);
    ngx_conf_init_value(cbcf->ssl_verify, 1);

    if (cbcf->timeout == 0 || cbcf->retry_base == 0 || cbcf->poll == 0
        || cbcf->concurrency == 0 || cbcf->app_concurrency == 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "youdu_callback_timeout, _retry_base, _poll, "
                      "_concurrency and _app_concurrency must not be 0");
        return NGX_CONF_ERROR;
    }

    if (cbcf->retry_max < cbcf->retry_base) {
        cbcf->retry_max = cbcf->retry_base;
    }

    return NGX_CONF_OK;
}


/*
 * The TLS client context is made in the master, before the workers drop
 * their privileges: the trusted certificates may be readable by root only.
 * Every worker makes request callbacks, over https too.
 */

static ngx_int_t
ngx_youdu_callback_init_module(ngx_cycle_t *cycle)
{
#if (NGX_SSL)
    ngx_ssl_t                  *ssl;
    ngx_pool_cleanup_t         *cln;
    ngx_youdu_core_conf_t      *ycf;
    ngx_youdu_callback_conf_t  *cbcf;

    ycf = ngx_youdu_core_conf(cycle);

    if (ycf == NULL || !ycf->enabled) {
        return NGX_OK;
    }

    cbcf = (ngx_youdu_callback_conf_t *)
               ngx_get_conf(cycle->conf_ctx, ngx_youdu_callback_module);

    ssl = ngx_pcalloc(cycle->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_ERROR;
    }

    ssl->log = cycle->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (cbcf->ssl_trusted.len) {
        if (SSL_CTX_load_verify_locations(ssl->ctx,
                (char *) cbcf->ssl_trusted.data, NULL) != 1)
        {
            ngx_ssl_error(NGX_LOG_EMERG, cycle->log, 0,
                          "cannot load \"%V\" for callbacks",
                          &cbcf->ssl_trusted);
            return NGX_ERROR;
        }

    } else if (SSL_CTX_set_default_verify_paths(ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_WARN, cycle->log, 0,
                      "no default trusted certificates for callbacks");
    }

    ngx_youdu_cb_ssl = ssl;
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_youdu_callback_init_process(ngx_cycle_t *cycle)
{
    ngx_youdu_core_conf_t      *ycf;

    ycf = ngx_youdu_core_conf(cycle);

    if (ycf == NULL || !ycf->enabled) {
        return NGX_OK;
    }

    if ((ngx_process != NGX_PROCESS_WORKER
         && ngx_process != NGX_PROCESS_SINGLE)
        || ngx_worker != 0)
    {
        return NGX_OK;
    }

    ngx_youdu_cbe = ngx_pcalloc(cycle->pool, sizeof(ngx_youdu_cb_engine_t));
    if (ngx_youdu_cbe == NULL) {
        return NGX_ERROR;
    }

    ngx_youdu_cbe->log = cycle->log;
    ngx_queue_init(&ngx_youdu_cbe->apps);

    ngx_youdu_cbe->timer.handler = ngx_youdu_cb_poll_handler;
    ngx_youdu_cbe->timer.log = cycle->log;
    ngx_youdu_cbe->timer.cancelable = 1;

    ngx_youdu_cbe->wake.handler = ngx_youdu_cb_poll_handler;
    ngx_youdu_cbe->wake.log = cycle->log;

    if (ngx_youdu_redis_sub_start(cycle, ngx_youdu_cb_channels,
                                  ngx_youdu_cb_message)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    /* the database pool starts with this process: give it a moment */
    ngx_add_timer(&ngx_youdu_cbe->timer, 300);

    return NGX_OK;
}


static void
ngx_youdu_callback_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_youdu_cbe) {
        /* shared with the push bus, if any: ending it twice is harmless */
        ngx_youdu_redis_sub_stop();

        ngx_youdu_cbe->exiting = 1;

        if (ngx_youdu_cbe->timer.timer_set) {
            ngx_del_timer(&ngx_youdu_cbe->timer);
        }

        if (ngx_youdu_cbe->wake.posted) {
            ngx_delete_posted_event(&ngx_youdu_cbe->wake);
        }
    }
}


/* "PUBLISH yd:callback <id>": the id itself is not needed, the poll finds
 * every due row */

static void
ngx_youdu_cb_message(ngx_str_t *channel, ngx_str_t *payload)
{
    ngx_youdu_cb_poll_at(0);
}


static void
ngx_youdu_cb_poll_at(ngx_msec_t ms)
{
    ngx_youdu_cb_engine_t  *e = ngx_youdu_cbe;

    if (e == NULL || e->exiting) {
        return;
    }

    if (ms == 0) {
        if (!e->wake.posted) {
            ngx_post_event(&e->wake, &ngx_posted_events);
        }
        return;
    }

    if (e->timer.timer_set) {
        if (e->timer.timer.key <= ngx_current_msec + ms) {
            return;
        }

        ngx_del_timer(&e->timer);
    }

    ngx_add_timer(&e->timer, ms);
}


static void
ngx_youdu_cb_poll_handler(ngx_event_t *ev)
{
    ngx_youdu_cb_engine_t      *e = ngx_youdu_cbe;
    ngx_youdu_callback_conf_t  *cbcf;

    if (e == NULL || e->exiting || ngx_exiting || ngx_terminate) {
        return;
    }

    cbcf = ngx_youdu_callback_conf();

    /* the regular poll: nothing waits on a lost PUBLISH longer */
    ngx_youdu_cb_poll_at(cbcf->poll);

    if (e->polling) {
        e->again = 1;
        return;
    }

    if (e->inflight >= cbcf->concurrency) {
        /* a delivery that ends polls again */
        return;
    }

    e->pool = ngx_create_pool(YD_CB_POOL_SIZE, e->log);
    if (e->pool == NULL) {
        return;
    }

    e->polling = 1;

    ngx_youdu_db_acquire(&e->waiter, e->log, ngx_youdu_cb_poll_acquired, e);
}


static void
ngx_youdu_cb_poll_acquired(void *data, ngx_youdu_db_conn_t *dc)
{
    u_char                     *p;
    ngx_str_t                   busy;
    ngx_queue_t                *q;
    ngx_youdu_cb_app_t         *app;
    ngx_youdu_db_param_t       *params;
    ngx_youdu_cb_engine_t      *e = data;
    ngx_youdu_callback_conf_t  *cbcf;

    if (dc == NULL) {
        ngx_youdu_cb_poll_end();
        return;
    }

    e->dc = dc;
    cbcf = ngx_youdu_callback_conf();

    /* the apps at their bound, comma-separated for FIND_IN_SET */
    busy.len = 0;
    busy.data = ngx_pnalloc(e->pool, cbcf->concurrency * (NGX_INT64_LEN + 1)
                                     + 1);
    if (busy.data == NULL) {
        ngx_youdu_db_release(dc);
        e->dc = NULL;
        ngx_youdu_cb_poll_end();
        return;
    }

    p = busy.data;

    for (q = ngx_queue_head(&e->apps);
         q != ngx_queue_sentinel(&e->apps);
         q = ngx_queue_next(q))
    {
        app = ngx_queue_data(q, ngx_youdu_cb_app_t, link);

        if (app->n >= cbcf->app_concurrency) {
            p = ngx_sprintf(p, "%s%L", p == busy.data ? "" : ",",
                            app->app_pk);
        }
    }

    busy.len = p - busy.data;

    params = ngx_youdu_cb_params(e->pool, 3, &busy,
                 ngx_youdu_cb_int(e->pool, cbcf->app_concurrency),
                 ngx_youdu_cb_int(e->pool, cbcf->concurrency - e->inflight));
    if (params == NULL) {
        ngx_youdu_db_release(dc);
        e->dc = NULL;
        ngx_youdu_cb_poll_end();
        return;
    }

    ngx_youdu_db_exec(dc, ngx_youdu_cb_poll_sql, params, 3, e->pool, e->log,
                      ngx_youdu_cb_poll_done, e);
}


static void
ngx_youdu_cb_poll_done(void *data, ngx_youdu_db_result_t *res)
{
    int64_t                     id, app_pk;
    ngx_uint_t                  i;
    ngx_youdu_cb_app_t         *app;
    ngx_youdu_cb_engine_t      *e = data;
    ngx_youdu_callback_conf_t  *cbcf;

    ngx_youdu_db_release(e->dc);
    e->dc = NULL;

    cbcf = ngx_youdu_callback_conf();

    if (res->err_no) {
        ngx_log_error(NGX_LOG_ERR, e->log, 0, YD_LOG_TAG
                      "callback poll failed: %s", res->errmsg);
        ngx_youdu_cb_poll_end();
        return;
    }

    for (i = 0; i < res->nrows && e->inflight < cbcf->concurrency; i++) {
        id = ngx_atoof(yd_cell(res, i, 0)->data, yd_cell(res, i, 0)->len);
        app_pk = ngx_atoof(yd_cell(res, i, 1)->data, yd_cell(res, i, 1)->len);

        app = ngx_youdu_cb_app(app_pk, 1);
        if (app == NULL) {
            break;
        }

        if (app->n >= cbcf->app_concurrency) {
            continue;
        }

        ngx_youdu_cb_deliver(id, app);
    }

    ngx_youdu_cb_poll_end();
}


static void
ngx_youdu_cb_poll_end(void)
{
    ngx_youdu_cb_engine_t  *e = ngx_youdu_cbe;

    if (e->pool) {
        ngx_destroy_pool(e->pool);
        e->pool = NULL;
    }

    e->polling = 0;

    if (e->again) {
        e->again = 0;
        ngx_youdu_cb_poll_at(0);
    }
}


static ngx_youdu_cb_app_t *
ngx_youdu_cb_app(int64_t app_pk, ngx_uint_t create)
{
    ngx_queue_t         *q;
    ngx_youdu_cb_app_t  *app;

    for (q = ngx_queue_head(&ngx_youdu_cbe->apps);
         q != ngx_queue_sentinel(&ngx_youdu_cbe->apps);
         q = ngx_queue_next(q))
    {
        app = ngx_queue_data(q, ngx_youdu_cb_app_t, link);

        if (app->app_pk == app_pk) {
            return app;
        }
    }

    if (!create) {
        return NULL;
    }

    app = ngx_alloc(sizeof(ngx_youdu_cb_app_t), ngx_youdu_cbe->log);
    if (app == NULL) {
        return NULL;
    }

    app->app_pk = app_pk;
    app->n = 0;
    ngx_queue_insert_tail(&ngx_youdu_cbe->apps, &app->link);

    return app;
}


/* one delivery: claim, read, send, record; its own pool */

static void
ngx_youdu_cb_deliver(int64_t id, ngx_youdu_cb_app_t *app)
{
    ngx_str_t                *s;
    ngx_pool_t               *pool;
    ngx_youdu_cb_delivery_t  *d;

    pool = ngx_create_pool(YD_CB_POOL_SIZE, ngx_youdu_cbe->log);
    if (pool == NULL) {
        return;
    }

    d = ngx_pcalloc(pool, sizeof(ngx_youdu_cb_delivery_t));
    if (d == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    d->pool = pool;
    d->log = ngx_youdu_cbe->log;
    d->id = id;
    d->app = app;

    s = ngx_youdu_cb_int(pool, id);
    if (s == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    d->id_str = *s;

    app->n++;
    ngx_youdu_cbe->inflight++;

    ngx_youdu_db_acquire(&d->waiter, d->log, ngx_youdu_cb_acquired, d);
}


static void
ngx_youdu_cb_acquired(void *data, ngx_youdu_db_conn_t *dc)
{
    int64_t                     us, lease, n;
    ngx_youdu_db_param_t       *params;
    ngx_youdu_core_conf_t      *ycf;
    ngx_youdu_cb_delivery_t    *d = data;
    ngx_youdu_callback_conf_t  *cbcf;

    if (dc == NULL) {
        /* the row stays due: the next poll tries again */
        ngx_youdu_cb_end(d);
        return;
    }

    d->dc = dc;
    cbcf = ngx_youdu_callback_conf();

    if (d->step == 0) {
        /* the claim: only a due, pending row; the lease outlasts the
         * attempt so nobody else sends it meanwhile */
        ycf = ngx_youdu_core_conf(ngx_cycle);
        lease = (int64_t) (cbcf->timeout + ycf->db.query_timeout
                           + YD_CB_LEASE_EXTRA) * 1000;
        params = ngx_youdu_cb_params(d->pool, 2,
                                     ngx_youdu_cb_int(d->pool, lease),
                                     &d->id_str);
        if (params == NULL) {
            ngx_youdu_cb_end(d);
            return;
        }

        ngx_youdu_db_exec(dc,
            "UPDATE app_callbacks SET "
            "next_at = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, "
            "attempts = attempts + 1 "
            "WHERE id = ? AND state = 0 AND next_at <= UTC_TIMESTAMP(3)",
            params, 2, d->pool, d->log, ngx_youdu_cb_step, d);
        return;
    }

    /* step 2: record the outcome */
    if (d->delivered) {
        params = ngx_youdu_cb_params(d->pool, 1, &d->id_str);
        if (params == NULL) {
            ngx_youdu_cb_end(d);
            return;
        }

        ngx_youdu_db_exec(dc,
            "UPDATE app_callbacks SET state = 1, "
            "delivered_at = UTC_TIMESTAMP(3), last_error = '' WHERE id = ?",
            params, 1, d->pool, d->log, ngx_youdu_cb_step, d);
        return;
    }

    /* backoff: retry_base doubling per attempt, capped */
    us = (int64_t) cbcf->retry_base;
    for (n = d->attempts; n > 1 && us < (int64_t) cbcf->retry_max; n--) {
        us *= 2;
    }

    us = ngx_min(us, (int64_t) cbcf->retry_max);
    d->backoff = (ngx_msec_t) us;
    us *= 1000;

    /* the statement below decides; this is for the log */
    if (d->give_up || d->age_us + us > (int64_t) cbcf->retry_total * 1000) {
        ngx_log_error(NGX_LOG_WARN, d->log, 0, YD_LOG_TAG
                      "callback %L to app \"%V\" given up after %L "
                      "attempts: %V", d->id, &d->app_id, d->attempts,
                      &d->error);

    } else {
        ngx_log_error(NGX_LOG_INFO, d->log, 0, YD_LOG_TAG
                      "callback %L to app \"%V\", attempt %L: %V; next in "
                      "%M ms", d->id, &d->app_id, d->attempts, &d->error,
                      d->backoff);
    }

    params = ngx_youdu_cb_params(d->pool, 6, &d->error,
                 ngx_youdu_cb_int(d->pool, d->give_up),
                 ngx_youdu_cb_int(d->pool, us),
                 ngx_youdu_cb_int(d->pool, (int64_t) cbcf->retry_total * 1000),
                 ngx_youdu_cb_int(d->pool, us), &d->id_str);
    if (params == NULL) {
        ngx_youdu_cb_end(d);
        return;
    }

    /* given up when the next attempt would fall past the retry window */
    ngx_youdu_db_exec(dc,
        "UPDATE app_callbacks SET last_error = LEFT(?, 255), "
        "state = IF(? OR UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND "
        "> created_at + INTERVAL ? MICROSECOND, 2, 0), "
        "next_at = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND "
        "WHERE id = ? AND state = 0",
        params, 6, d->pool, d->log, ngx_youdu_cb_step, d);
}


static void
ngx_youdu_cb_step(void *data, ngx_youdu_db_result_t *res)
{
    ngx_youdu_db_param_t     *params;
    ngx_youdu_cb_delivery_t  *d = data;

    if (res->err_no) {
        ngx_log_error(NGX_LOG_ERR, d->log, 0, YD_LOG_TAG
                      "callback %L: %s", d->id, res->errmsg);
        ngx_youdu_db_release(d->dc);
        d->dc = NULL;
        ngx_youdu_cb_end(d);
        return;
    }

    switch (d->step) {

    case 0:
        if (res->affected != 1) {
            /* another worker or node has it, or it is no longer due */
            ngx_youdu_db_release(d->dc);
            d->dc = NULL;
            ngx_youdu_cb_end(d);
            return;
        }

        d->step = 1;

        params = ngx_youdu_cb_params(d->pool, 1, &d->id_str);
        if (params == NULL) {
            ngx_youdu_db_release(d->dc);
            d->dc = NULL;
            ngx_youdu_cb_end(d);
            return;
        }

        ngx_youdu_db_exec(d->dc,
            "SELECT c.payload, COALESCE(c.url, a.callback_url), "
            "COALESCE(c.token, a.callback_token), a.app_id, a.aes_key, "
            "a.enabled, c.attempts, "
            "TIMESTAMPDIFF(MICROSECOND, c.created_at, UTC_TIMESTAMP(3)) "
            "FROM app_callbacks c JOIN apps a ON a.id = c.app_pk "
            "WHERE c.id = ?", params, 1, d->pool, d->log, ngx_youdu_cb_step,
            d);
        return;

    case 1:
        /* no connection is held while the app answers */
        ngx_youdu_db_release(d->dc);
        d->dc = NULL;
        d->step = 2;

        if (res->nrows == 0) {
            ngx_youdu_cb_end(d);
            return;
        }

        ngx_youdu_cb_send(d, res);
        return;

    default:
        ngx_youdu_db_release(d->dc);
        d->dc = NULL;

        if (!d->delivered && d->backoff) {
            /* be on time for the retry (the database set next_at a moment
             * ago) */
            ngx_youdu_cb_poll_at(d->backoff + 20);
        }

        ngx_youdu_cb_end(d);
        return;
    }
}


static void
ngx_youdu_cb_send(ngx_youdu_cb_delivery_t *d, ngx_youdu_db_result_t *res)
{
    char                       *text;
    u_char                      key[YD_CGI_KEY_LEN];
    json_t                     *obj;
    ngx_str_t                   plain, query, body, *url, *token, *appid;
    ngx_str_t                  *aes;
    json_error_t                jerr;
    ngx_youdu_callback_conf_t  *cbcf;

    cbcf = ngx_youdu_callback_conf();

    url = yd_cell(res, 0, 1);
    token = yd_cell(res, 0, 2);
    appid = yd_cell(res, 0, 3);
    aes = yd_cell(res, 0, 4);
    d->attempts = ngx_atoof(yd_cell(res, 0, 6)->data,
                            yd_cell(res, 0, 6)->len);
    d->age_us = ngx_atoof(yd_cell(res, 0, 7)->data, yd_cell(res, 0, 7)->len);

    d->app_id.data = ngx_pstrdup(d->pool, appid);
    d->app_id.len = d->app_id.data ? appid->len : 0;

    if (yd_cell(res, 0, 5)->len != 1 || yd_cell(res, 0, 5)->data[0] != '1') {
        ngx_str_set(&d->error, "the app is disabled");
        ngx_youdu_cb_report(d);
        return;
    }

    if (url->data == NULL || url->len == 0) {
        ngx_str_set(&d->error, "the app has no callback URL");
        ngx_youdu_cb_report(d);
        return;
    }

    if (aes->data == NULL || ngx_youdu_cgi_key_decode(aes, key) != NGX_OK) {
        ngx_str_set(&d->error, "the app has no valid EncodingAESKey");
        ngx_youdu_cb_report(d);
        return;
    }

    obj = json_loadb((char *) yd_cell(res, 0, 0)->data,
                     yd_cell(res, 0, 0)->len, 0, &jerr);

    if (obj == NULL || !json_is_object(obj)) {
        json_decref(obj);
        ngx_str_set(&d->error, "the payload is not a JSON object");
        d->give_up = 1;
        ngx_youdu_cb_report(d);
        return;
    }

    if (json_object_get(obj, "packageId") == NULL) {
        json_object_set_new(obj, "packageId",
                            json_stringn((char *) d->id_str.data,
                                         d->id_str.len));
    }

    if (json_object_get(obj, "createTime") == NULL) {
        json_object_set_new(obj, "createTime", json_integer(ngx_time()));
    }

    /* a producer's own packageId is what the app echoes */
    d->package_id = d->id_str;

    if (json_is_string(json_object_get(obj, "packageId"))) {
        d->package_id.len = json_string_length(json_object_get(obj,
                                                               "packageId"));
        d->package_id.data = ngx_pnalloc(d->pool, d->package_id.len + 1);
        if (d->package_id.data == NULL) {
            json_decref(obj);
            ngx_str_set(&d->error, "out of memory");
            ngx_youdu_cb_report(d);
            return;
        }

        ngx_memcpy(d->package_id.data,
                   json_string_value(json_object_get(obj, "packageId")),
                   d->package_id.len);
    }

    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (text == NULL) {
        ngx_str_set(&d->error, "out of memory");
        ngx_youdu_cb_report(d);
        return;
    }

    plain.data = (u_char *) text;
    plain.len = ngx_strlen(text);

    if (ngx_youdu_cb_envelope(d->pool, key, appid, token, &plain, &query,
                              &body)
        != NGX_OK)
    {
        free(text);
        ngx_str_set(&d->error, "cannot encrypt the payload");
        ngx_youdu_cb_report(d);
        return;
    }

    free(text);

    ngx_youdu_cb_http_post(d->pool, d->log, url, &query, &body,
                           cbcf->timeout, ngx_youdu_cb_sent, d);
}


static void
ngx_youdu_cb_sent(void *data, ngx_int_t rc, ngx_uint_t status,
    ngx_str_t *body, ngx_str_t *err)
{
    ngx_youdu_cb_delivery_t  *d = data;

    if (rc == NGX_OK && ngx_youdu_cb_acked(status, body, &d->package_id)) {
        d->delivered = 1;

    } else if (rc == NGX_OK) {
        d->error.data = ngx_pnalloc(d->pool, 128);
        if (d->error.data) {
            d->error.len = ngx_snprintf(d->error.data, 128,
                                        status == 200
                                        ? "HTTP %ui: not an acknowledgement"
                                        : "HTTP %ui", status)
                           - d->error.data;
        }

    } else if (err && err->len) {
        d->error = *err;
    }

    if (!d->delivered && d->error.data == NULL) {
        ngx_str_set(&d->error, "failed");
    }

    ngx_youdu_cb_report(d);
}


static void
ngx_youdu_cb_report(ngx_youdu_cb_delivery_t *d)
{
    d->step = 2;
    ngx_youdu_db_acquire(&d->waiter, d->log, ngx_youdu_cb_acquired, d);
}


static void
ngx_youdu_cb_end(ngx_youdu_cb_delivery_t *d)
{
    ngx_youdu_cb_app_t  *app = d->app;

    ngx_destroy_pool(d->pool);

    if (ngx_youdu_cbe == NULL) {
        return;
    }

    ngx_youdu_cbe->inflight--;

    if (--app->n == 0) {
        ngx_queue_remove(&app->link);
        ngx_free(app);
    }

    /* a slot is free: more rows may be due */
    ngx_youdu_cb_poll_at(0);
}


/* n parameters, each an ngx_str_t * (NULL: SQL NULL) */

static ngx_youdu_db_param_t *
ngx_youdu_cb_params(ngx_pool_t *pool, ngx_uint_t n, ...)
{
    va_list                args;
    ngx_str_t             *s;
    ngx_uint_t             i;
    ngx_youdu_db_param_t  *p;

    p = ngx_pcalloc(pool, n * sizeof(ngx_youdu_db_param_t));
    if (p == NULL) {
        return NULL;
    }

    va_start(args, n);

    for (i = 0; i < n; i++) {
        s = va_arg(args, ngx_str_t *);

        if (s == NULL || s->data == NULL) {
            p[i].is_null = 1;

        } else {
            p[i].value = *s;
        }
    }

    va_end(args);

    return p;
}


static ngx_str_t *
ngx_youdu_cb_int(ngx_pool_t *pool, int64_t v)
{
    ngx_str_t  *s;

    s = ngx_palloc(pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NULL;
    }

    s->data = ngx_pnalloc(pool, NGX_INT64_LEN);
    if (s->data == NULL) {
        return NULL;
    }

    s->len = ngx_sprintf(s->data, "%L", v) - s->data;

    return s;
}
