
/*
 * youdu HTTP module: the whole org chart in one gzip-compressed JSON
 * document, built from three queries in one transaction and cached per
 * worker for the current version and viewer class (employee or admin).
 *
 * Writing and compressing 100,000 users takes hundreds of milliseconds:
 * that runs in the thread pool (snapshot_json.c).  A request that finds a
 * build of its version already running waits for it instead of starting
 * another.
 */


#include <ngx_thread_pool.h>

#include "ngx_http_youdu_org_snapshot.h"


typedef struct {
    int64_t                   version;
    u_char                   *data;        /* malloc()ed */
    size_t                    len;
} yd_snapshot_cache_t;


typedef struct ngx_http_youdu_snapshot_s  ngx_http_youdu_snapshot_t;

typedef struct {
    ngx_queue_t                   queue;
    ngx_http_youdu_snapshot_t    *sn;
    yd_snapshot_build_t          *build;   /* NULL once taken off the queue */
} yd_snapshot_wait_t;


struct ngx_http_youdu_snapshot_s {
    ngx_http_youdu_ctx_t     *ctx;
    ngx_uint_t                admin;
    int64_t                   version;
    ngx_str_t                 etag;
    ngx_youdu_db_result_t    *depts;
    ngx_youdu_db_result_t    *users;

    /* the body to send once a build completed (NULL: it failed) */
    u_char                   *data;
    size_t                    len;

    yd_snapshot_wait_t        wait;
};


/* the stage that sends a finished build */
#define YD_SN_SEND           6


static void yd_snapshot_etag(ngx_http_youdu_snapshot_t *sn);
static ngx_int_t yd_snapshot_not_modified(ngx_http_youdu_snapshot_t *sn);
static ngx_int_t yd_snapshot_send(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_snapshot_t *sn, u_char *data, size_t len);
static ngx_int_t yd_snapshot_wait(ngx_http_youdu_snapshot_t *sn,
    yd_snapshot_build_t *b);
static void yd_snapshot_wait_cleanup(void *data);
static ngx_int_t yd_snapshot_start(ngx_http_youdu_snapshot_t *sn,
    ngx_youdu_db_result_t *mres);
static void yd_snapshot_task(void *data, ngx_log_t *log);
static void yd_snapshot_done(ngx_event_t *ev);
static void yd_snapshot_build_cleanup(void *data);


/* per worker: the last snapshot built for employees [0] and admins [1] */
static yd_snapshot_cache_t   yd_snapshot_cache[2];

/* per worker: the newest build running in the thread pool, per class */
static yd_snapshot_build_t  *yd_snapshot_running[2];


ngx_int_t
ngx_http_youdu_org_snapshot(ngx_http_youdu_ctx_t *ctx)
{
    yd_snapshot_cache_t        *c;
    yd_snapshot_build_t        *b;
    ngx_youdu_db_result_t      *res = ctx->res;
    ngx_http_youdu_snapshot_t  *sn = ctx->data;

    switch (ctx->stage) {

    case 0:
        sn = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_snapshot_t));
        if (sn == NULL) {
            return NGX_ERROR;
        }

        ctx->data = sn;
        sn->ctx = ctx;
        sn->admin = yd_org_viewer_admin(ctx);

        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    case 1:
        sn->version = yd_int(res, 0, 0);
        c = &yd_snapshot_cache[sn->admin];

        sn->etag.data = ngx_pnalloc(ctx->pool, NGX_INT64_LEN + 16);
        if (sn->etag.data == NULL) {
            return NGX_ERROR;
        }

        yd_snapshot_etag(sn);

        if (ctx->r->headers_in.if_none_match
            && yd_snapshot_not_modified(sn) == NGX_OK)
        {
            ctx->r->header_only = 1;
            return yd_send_raw(ctx, NGX_HTTP_NOT_MODIFIED,
                               yd_pstr(ctx->pool, "application/json"),
                               yd_pstr(ctx->pool, "ETag"), &sn->etag,
                               (u_char *) "", 0);
        }

        if (c->data && c->version == sn->version) {
            return yd_snapshot_send(ctx, sn, c->data, c->len);
        }

        /* the running build is of this version or newer: wait for it */
        b = yd_snapshot_running[sn->admin];

        if (b && b->version >= sn->version) {
            ctx->stage = YD_SN_SEND - 1;
            return yd_snapshot_wait(sn, b);
        }

        /* one consistent view for the three queries */
        return yd_begin(ctx);

    case 2:
        return yd_sql(ctx,
            "SELECT " YD_DEPT_COLS ", (SELECT version FROM org_state "
            "WHERE id = 1) FROM departments d "
            "ORDER BY d.depth, d.parent_id, d.sort_id, d.id", "");

    case 3:
        sn->depts = res;

        return yd_sql(ctx,
            "SELECT " YD_USER_COLS " FROM users u "
            "WHERE u.enable_state <> -1 OR ? = 1 ORDER BY u.id",
            "i", (int64_t) sn->admin);

    case 4:
        sn->users = res;

        return yd_sql(ctx,
            "SELECT user_id, dept_id, position, weight, sort_id "
            "FROM user_depts ORDER BY user_id, dept_id", "");

    case 5:
        if (sn->depts->nrows) {
            sn->version = yd_int(sn->depts, 0, YD_DEPT_NCOLS);
        }

        /* the rows are fetched: a read-only transaction needs no COMMIT */
        yd_release(ctx);

        /* another request got there first while we were querying */
        c = &yd_snapshot_cache[sn->admin];

        if (c->data && c->version == sn->version) {
            yd_snapshot_etag(sn);
            return yd_snapshot_send(ctx, sn, c->data, c->len);
        }

        b = yd_snapshot_running[sn->admin];

        if (b && b->version == sn->version) {
            return yd_snapshot_wait(sn, b);
        }

        return yd_snapshot_start(sn, res);

    case YD_SN_SEND:
        /* the build's version, which may be newer than the one asked */
        yd_snapshot_etag(sn);

        if (sn->data == NULL) {
            return NGX_ERROR;
        }

        return yd_snapshot_send(ctx, sn, sn->data, sn->len);

    default:
        return NGX_ERROR;
    }
}


static void
yd_snapshot_etag(ngx_http_youdu_snapshot_t *sn)
{
    sn->etag.len = ngx_sprintf(sn->etag.data, "\"v%L-%s\"", sn->version,
                               sn->admin ? "admin" : "employee")
                   - sn->etag.data;
}


/* If-None-Match holds our ETag (in a list, or without the quotes) */

static ngx_int_t
yd_snapshot_not_modified(ngx_http_youdu_snapshot_t *sn)
{
    ngx_str_t   inm;
    ngx_uint_t  i;

    inm = sn->ctx->r->headers_in.if_none_match->value;

    for (i = 0; i + sn->etag.len <= inm.len; i++) {
        if (ngx_strncmp(inm.data + i, sn->etag.data, sn->etag.len) == 0) {
            return NGX_OK;
        }
    }

    if (inm.len == sn->etag.len - 2
        && ngx_strncmp(inm.data, sn->etag.data + 1, inm.len) == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
yd_snapshot_send(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_snapshot_t *sn,
    u_char *data, size_t len)
{
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r = ctx->r;

    /* already compressed: the gzip filter leaves it alone */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Encoding");
    ngx_str_set(&h->value, "gzip");
    r->headers_out.content_encoding = h;

    /* yd_send_raw() copies the body: the cache may be replaced later */
    return yd_send_raw(ctx, NGX_HTTP_OK,
                       yd_pstr(ctx->pool, "application/json"),
                       yd_pstr(ctx->pool, "ETag"), &sn->etag, data, len);
}


/* the caller has set the stage so that it resumes at YD_SN_SEND */

static ngx_int_t
yd_snapshot_wait(ngx_http_youdu_snapshot_t *sn, yd_snapshot_build_t *b)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(sn->ctx->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* should this request end first, it leaves the queue */
    cln->handler = yd_snapshot_wait_cleanup;
    cln->data = &sn->wait;

    sn->wait.sn = sn;
    sn->wait.build = b;
    ngx_queue_insert_tail(&b->waiters, &sn->wait.queue);

    return NGX_AGAIN;
}


static void
yd_snapshot_wait_cleanup(void *data)
{
    yd_snapshot_wait_t  *wt = data;

    if (wt->build) {
        ngx_queue_remove(&wt->queue);
        wt->build = NULL;
    }
}


static ngx_int_t
yd_snapshot_start(ngx_http_youdu_snapshot_t *sn, ngx_youdu_db_result_t *mres)
{
    ngx_thread_task_t      *task;
    ngx_pool_cleanup_t     *cln;
    yd_snapshot_build_t    *b;
    ngx_http_youdu_ctx_t   *ctx = sn->ctx;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    task = ngx_thread_task_alloc(ctx->pool, sizeof(yd_snapshot_build_t));
    cln = ngx_pool_cleanup_add(ctx->pool, 0);
    if (task == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    b = task->ctx;
    b->admin = sn->admin;
    b->version = sn->version;
    b->depts = sn->depts;
    b->users = sn->users;
    b->mres = mres;
    b->ctx = ctx;
    ngx_queue_init(&b->waiters);

    /* frees a body the cache did not take */
    cln->handler = yd_snapshot_build_cleanup;
    cln->data = b;

    task->handler = yd_snapshot_task;
    task->event.handler = yd_snapshot_done;
    task->event.data = b;
    task->event.log = ctx->r->connection->log;

    /*
     * The request stays idle until yd_snapshot_done(): it holds a reference
     * to itself, so its pool (the rows, b) outlives the task.
     */

    if (ycf->kdf_pool == NULL
        || ngx_thread_task_post(ycf->kdf_pool, task) != NGX_OK)
    {
        /* no thread pool: build here, resume after the handler returned */
        yd_snapshot_json(b);
        ngx_post_event(&task->event, &ngx_posted_events);
    }

    yd_snapshot_running[b->admin] = b;

    ctx->stage = YD_SN_SEND - 1;
    return NGX_AGAIN;
}


static void
yd_snapshot_task(void *data, ngx_log_t *log)
{
    yd_snapshot_json(data);
}


static void
yd_snapshot_done(ngx_event_t *ev)
{
    u_char                     *data;
    ngx_queue_t                *q;
    yd_snapshot_wait_t         *wt;
    yd_snapshot_build_t        *b = ev->data;
    yd_snapshot_cache_t        *c;
    ngx_http_youdu_ctx_t       *ctx = b->ctx;
    ngx_http_youdu_snapshot_t  *sn = ctx->data;

    if (yd_snapshot_running[b->admin] == b) {
        yd_snapshot_running[b->admin] = NULL;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "youdu snapshot v%L built in %M ms, %uz bytes",
                   b->version, b->ms, b->len);

    data = b->out;
    c = &yd_snapshot_cache[b->admin];

    if (data && (c->data == NULL || b->version > c->version)) {
        /* the previous version's copy is no longer useful */
        free(c->data);
        c->data = data;
        c->len = b->len;
        c->version = b->version;
        b->out = NULL;
    }

    /* (an older or equal build leaves b->out to the pool cleanup) */

    while (!ngx_queue_empty(&b->waiters)) {
        q = ngx_queue_head(&b->waiters);
        ngx_queue_remove(q);

        wt = ngx_queue_data(q, yd_snapshot_wait_t, queue);
        wt->build = NULL;
        wt->sn->data = data;
        wt->sn->len = b->len;
        wt->sn->version = b->version;

        /* sends (copies) at once; cannot touch b or the other waiters */
        yd_resume(wt->sn->ctx);
    }

    sn->data = data;
    sn->len = b->len;

    /* last: this may free the request's pool, and b with it */
    yd_resume(ctx);
}


static void
yd_snapshot_build_cleanup(void *data)
{
    yd_snapshot_build_t  *b = data;

    if (yd_snapshot_running[b->admin] == b) {
        yd_snapshot_running[b->admin] = NULL;
    }

    free(b->out);
    b->out = NULL;
}
