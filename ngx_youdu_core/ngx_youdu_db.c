
/*
 * youdu: MariaDB connection pool on Connector/C's non-blocking API.
 *
 * Each connection's socket is wrapped in an ngx_connection_t; a library call
 * that would block returns a wait mask (MYSQL_WAIT_READ/WRITE/TIMEOUT), we
 * arm the matching nginx events, and call the *_cont twin when they fire.
 */


#include <mysql.h>

#include "ngx_youdu_db.h"


#define YD_DB_STMT_CACHE      192
#define YD_DB_CELL_BUF        64
#define YD_DB_FETCH_BATCH     2000      /* rows converted per loop turn */
#define YD_DB_BACKOFF_MIN     100
#define YD_DB_BACKOFF_MAX     5000


typedef enum {
    YD_DB_PHASE_NONE = 0,
    YD_DB_PHASE_CONNECT,
    YD_DB_PHASE_PREPARE,
    YD_DB_PHASE_EXECUTE,
    YD_DB_PHASE_STORE,
    YD_DB_PHASE_FETCH
} ngx_youdu_db_phase_e;


typedef struct {
    ngx_uint_t                nrows;
    unsigned long            *lengths;
    my_bool                  *nulls;
    my_bool                  *errors;
    u_char                   *buf;
} ngx_youdu_db_fetch_t;


typedef struct {
    ngx_uint_t                hash;
    size_t                    len;
    u_char                   *sql;      /* copy, malloc'ed */
    MYSQL_STMT               *stmt;
    ngx_msec_t                used;
} ngx_youdu_db_stmt_t;


struct ngx_youdu_db_conn_s {
    MYSQL                    *mysql;
    ngx_connection_t         *c;
    ngx_queue_t               queue;        /* in idle or busy list */
    ngx_queue_t               link;         /* in the pool's list of all */
    ngx_log_t                 log;

    ngx_youdu_db_phase_e      phase;
    int                       wait;

    /* current statement */
    const char               *sql;
    size_t                    sql_len;
    ngx_youdu_db_stmt_t      *cached;
    MYSQL_STMT               *stmt;
    ngx_youdu_db_param_t     *params;
    ngx_uint_t                nparams;
    ngx_pool_t               *pool;
    ngx_youdu_db_result_t    *res;
    ngx_youdu_db_result_t     internal;
    ngx_youdu_db_done_pt      done;
    void                     *data;

    ngx_event_t               timer;        /* query timeout */
    ngx_event_t               notify;       /* posted completion */
    ngx_event_t               fetch_ev;     /* next batch of rows */
    ngx_youdu_db_fetch_t      fetch;

    ngx_youdu_db_stmt_t       stmts[YD_DB_STMT_CACHE];
    ngx_uint_t                nstmts;

    unsigned                  connected:1;
    unsigned                  busy:1;
    unsigned                  in_txn:1;
    unsigned                  broken:1;
    unsigned                  rolling_back:1;
    unsigned                  orphan:1;     /* requester gave up (timeout) */
};


typedef struct {
    ngx_youdu_db_conf_t      *conf;
    ngx_log_t                *log;
    ngx_queue_t               idle;
    ngx_queue_t               waiters;
    ngx_queue_t               all;          /* every connection, busy too */
    ngx_uint_t                total;        /* connected or connecting */
    ngx_uint_t                connecting;
    ngx_uint_t                nwaiting;
    ngx_msec_t                backoff;
    ngx_event_t               retry;
    unsigned                  failing:1;
    unsigned                  exiting:1;
} ngx_youdu_db_pool_t;


static void ngx_youdu_db_connect(void);
static void ngx_youdu_db_connected(ngx_youdu_db_conn_t *dc, ngx_uint_t ok);
static void ngx_youdu_db_event_handler(ngx_event_t *ev);
static void ngx_youdu_db_idle_handler(ngx_event_t *ev);
static void ngx_youdu_db_step(ngx_youdu_db_conn_t *dc, int status);
static ngx_int_t ngx_youdu_db_wait(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_start_statement(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_execute(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_fetch(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_fetch_handler(ngx_event_t *ev);
static void ngx_youdu_db_fetch_batch(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_fail(ngx_youdu_db_conn_t *dc, ngx_uint_t err_no,
    const char *msg);
static void ngx_youdu_db_complete(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_notify_handler(ngx_event_t *ev);
static void ngx_youdu_db_timeout_handler(ngx_event_t *ev);
static void ngx_youdu_db_waiter_timeout(ngx_event_t *ev);
static void ngx_youdu_db_retry_handler(ngx_event_t *ev);
static void ngx_youdu_db_make_idle(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_close(ngx_youdu_db_conn_t *dc);
static void ngx_youdu_db_rollback_done(void *data, ngx_youdu_db_result_t *res);
static void ngx_youdu_db_serve_waiters(void);


static ngx_youdu_db_pool_t  *yd_db;


ngx_int_t
ngx_youdu_db_init_worker(ngx_cycle_t *cycle)
{
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(cycle);

    if (ycf == NULL || !ycf->enabled || ycf->db.database.len == 0) {
        return NGX_OK;
    }

    if (mysql_library_init(0, NULL, NULL) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      YD_LOG_TAG "mysql_library_init() failed");
        return NGX_ERROR;
    }

    yd_db = ngx_pcalloc(cycle->pool, sizeof(ngx_youdu_db_pool_t));
    if (yd_db == NULL) {
        return NGX_ERROR;
    }

    yd_db->conf = &ycf->db;
    yd_db->log = cycle->log;
    ngx_queue_init(&yd_db->idle);
    ngx_queue_init(&yd_db->waiters);
    ngx_queue_init(&yd_db->all);
    yd_db->backoff = YD_DB_BACKOFF_MIN;

    yd_db->retry.handler = ngx_youdu_db_retry_handler;
    yd_db->retry.log = cycle->log;
    yd_db->retry.data = yd_db;
    yd_db->retry.cancelable = 1;

    /* open one connection eagerly so the first request does not pay for it */
    ngx_youdu_db_connect();

    return NGX_OK;
}


void
ngx_youdu_db_exit_worker(ngx_cycle_t *cycle)
{
    ngx_queue_t          *q;
    ngx_youdu_db_conn_t  *dc;

    if (yd_db == NULL) {
        return;
    }

    yd_db->exiting = 1;

    while (!ngx_queue_empty(&yd_db->idle)) {
        q = ngx_queue_head(&yd_db->idle);
        ngx_queue_remove(q);
        dc = ngx_queue_data(q, ngx_youdu_db_conn_t, queue);
        ngx_youdu_db_close(dc);
    }

    /*
     * a connection still busy now serves background work (the callback
     * queue, job leases) that ends with the process: close it too, or
     * nginx reports its socket as left open
     */
    while (!ngx_queue_empty(&yd_db->all)) {
        q = ngx_queue_head(&yd_db->all);
        dc = ngx_queue_data(q, ngx_youdu_db_conn_t, link);
        ngx_youdu_db_close(dc);
    }

    if (yd_db->retry.timer_set) {
        ngx_del_timer(&yd_db->retry);
    }
}


void
ngx_youdu_db_stats(ngx_uint_t *total, ngx_uint_t *idle, ngx_uint_t *waiting)
{
    ngx_queue_t  *q;
    ngx_uint_t    n;

    *total = 0;
    *idle = 0;
    *waiting = 0;

    if (yd_db == NULL) {
        return;
    }

    n = 0;
    for (q = ngx_queue_head(&yd_db->idle);
         q != ngx_queue_sentinel(&yd_db->idle);
         q = ngx_queue_next(q))
    {
        n++;
    }

    *total = yd_db->total;
    *idle = n;
    *waiting = yd_db->nwaiting;
}


/* acquire / release */


void
ngx_youdu_db_acquire(ngx_youdu_db_waiter_t *w, ngx_log_t *log,
    ngx_youdu_db_acquire_pt handler, void *data)
{
    ngx_queue_t          *q;
    ngx_youdu_db_conn_t  *dc;

    w->handler = handler;
    w->data = data;

    if (yd_db == NULL) {
        handler(data, NULL);
        return;
    }

    if (!ngx_queue_empty(&yd_db->idle)) {
        q = ngx_queue_head(&yd_db->idle);
        ngx_queue_remove(q);
        dc = ngx_queue_data(q, ngx_youdu_db_conn_t, queue);
        dc->busy = 1;
        handler(data, dc);
        return;
    }

    if (yd_db->nwaiting >= yd_db->conf->max_waiting) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      YD_LOG_TAG "too many requests waiting for a database "
                      "connection (%ui)", yd_db->nwaiting);
        handler(data, NULL);
        return;
    }

    ngx_memzero(&w->timer, sizeof(ngx_event_t));
    w->timer.handler = ngx_youdu_db_waiter_timeout;
    w->timer.data = w;
    w->timer.log = log;
    ngx_add_timer(&w->timer, yd_db->conf->wait_timeout);

    ngx_queue_insert_tail(&yd_db->waiters, &w->queue);
    yd_db->nwaiting++;

    if (yd_db->total < yd_db->conf->pool_size
        && yd_db->connecting < yd_db->nwaiting
        && !yd_db->failing)
    {
        ngx_youdu_db_connect();
    }
}


static void
ngx_youdu_db_waiter_timeout(ngx_event_t *ev)
{
    ngx_youdu_db_waiter_t  *w = ev->data;

    ngx_queue_remove(&w->queue);
    yd_db->nwaiting--;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  YD_LOG_TAG "no database connection within %M ms",
                  yd_db->conf->wait_timeout);

    w->handler(w->data, NULL);
}


static void
ngx_youdu_db_serve_waiters(void)
{
    ngx_queue_t            *q;
    ngx_youdu_db_conn_t    *dc;
    ngx_youdu_db_waiter_t  *w;

    while (!ngx_queue_empty(&yd_db->waiters)
           && !ngx_queue_empty(&yd_db->idle))
    {
        q = ngx_queue_head(&yd_db->waiters);
        ngx_queue_remove(q);
        yd_db->nwaiting--;
        w = ngx_queue_data(q, ngx_youdu_db_waiter_t, queue);

        if (w->timer.timer_set) {
            ngx_del_timer(&w->timer);
        }

        q = ngx_queue_head(&yd_db->idle);
        ngx_queue_remove(q);
        dc = ngx_queue_data(q, ngx_youdu_db_conn_t, queue);
        dc->busy = 1;

        w->handler(w->data, dc);
    }
}


void
ngx_youdu_db_release(ngx_youdu_db_conn_t *dc)
{
    /*
     * the requester's log context lives in its request pool: from now on
     * (orphaned statement, ROLLBACK, idle) log without it
     */
    dc->log.connection = yd_db->log->connection;
    dc->log.data = yd_db->log->data;
    dc->log.handler = yd_db->log->handler;

    if (dc->phase != YD_DB_PHASE_NONE) {
        /* still running a statement whose requester gave up */
        dc->orphan = 1;
        return;
    }

    if (dc->broken) {
        ngx_youdu_db_close(dc);
        ngx_youdu_db_serve_waiters();
        return;
    }

    if (dc->in_txn) {
        dc->rolling_back = 1;
        ngx_youdu_db_exec(dc, "ROLLBACK", NULL, 0, NULL, &dc->log,
                          ngx_youdu_db_rollback_done, dc);
        return;
    }

    ngx_youdu_db_make_idle(dc);
    ngx_youdu_db_serve_waiters();
}


static void
ngx_youdu_db_rollback_done(void *data, ngx_youdu_db_result_t *res)
{
    ngx_youdu_db_conn_t  *dc = data;

    dc->rolling_back = 0;
    dc->in_txn = 0;

    if (res == NULL || res->err_no) {
        dc->broken = 1;
    }

    ngx_youdu_db_release(dc);
}


ngx_uint_t
ngx_youdu_db_in_txn(ngx_youdu_db_conn_t *dc)
{
    return dc->in_txn;
}


static void
ngx_youdu_db_make_idle(ngx_youdu_db_conn_t *dc)
{
    dc->busy = 0;
    dc->orphan = 0;
    dc->pool = NULL;
    dc->res = NULL;

    if (yd_db->exiting) {
        ngx_youdu_db_close(dc);
        return;
    }

    if (dc->c->read->timer_set) {
        ngx_del_timer(dc->c->read);
    }

    /* an idle connection only reads to notice that the server went away */
    dc->c->read->handler = ngx_youdu_db_idle_handler;
    dc->c->write->handler = ngx_youdu_db_idle_handler;

    ngx_queue_insert_head(&yd_db->idle, &dc->queue);
}


static void
ngx_youdu_db_idle_handler(ngx_event_t *ev)
{
    u_char                b;
    ssize_t               n;
    ngx_connection_t     *c = ev->data;
    ngx_youdu_db_conn_t  *dc = c->data;

    if (ev->write || ev->timedout) {
        ev->timedout = 0;
        return;
    }

    /* the library's socket may be in blocking mode: never wait here */
    n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
        ev->ready = 0;
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  YD_LOG_TAG "idle database connection closed by server");

    ngx_queue_remove(&dc->queue);
    ngx_youdu_db_close(dc);
}


/* connections */


static void
ngx_youdu_db_connect(void)
{
    int                   status;
    unsigned int          tmo;
    MYSQL                *ret;
    ngx_youdu_db_conn_t  *dc;
    ngx_youdu_db_conf_t  *conf = yd_db->conf;

    dc = ngx_calloc(sizeof(ngx_youdu_db_conn_t), yd_db->log);
    if (dc == NULL) {
        return;
    }

    dc->log = *yd_db->log;

    dc->mysql = mysql_init(NULL);
    if (dc->mysql == NULL) {
        ngx_free(dc);
        return;
    }

    tmo = (unsigned int) ((conf->connect_timeout + 999) / 1000);

    mysql_options(dc->mysql, MYSQL_OPT_NONBLOCK, 0);
    mysql_options(dc->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &tmo);
    mysql_options(dc->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(dc->mysql, MYSQL_INIT_COMMAND,
                  "SET time_zone = '+00:00', "
                  "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
                  "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");

    dc->timer.handler = ngx_youdu_db_timeout_handler;
    dc->timer.data = dc;
    dc->timer.log = &dc->log;
    dc->timer.cancelable = 1;

    dc->notify.handler = ngx_youdu_db_notify_handler;
    dc->notify.data = dc;
    dc->notify.log = &dc->log;

    dc->fetch_ev.handler = ngx_youdu_db_fetch_handler;
    dc->fetch_ev.data = dc;
    dc->fetch_ev.log = &dc->log;

    yd_db->total++;
    ngx_queue_insert_tail(&yd_db->all, &dc->link);
    yd_db->connecting++;
    dc->busy = 1;
    dc->phase = YD_DB_PHASE_CONNECT;

    /* host is an IP address: name lookup inside connect would block */
    status = mysql_real_connect_start(&ret, dc->mysql,
                                      (char *) conf->host.data,
                                      (char *) conf->user.data,
                                      (char *) conf->password.data,
                                      (char *) conf->database.data,
                                      (unsigned int) conf->port, NULL,
                                      CLIENT_FOUND_ROWS);

    /* the library times out first; ours is the backstop */
    ngx_add_timer(&dc->timer, conf->connect_timeout + 1000);

    if (status) {
        dc->wait = status;

        if (ngx_youdu_db_wait(dc) != NGX_OK) {
            ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "cannot watch socket");
        }

        return;
    }

    dc->wait = 0;
    dc->phase = YD_DB_PHASE_NONE;
    ngx_del_timer(&dc->timer);

    ngx_youdu_db_connected(dc, ret != NULL);
}


static void
ngx_youdu_db_connected(ngx_youdu_db_conn_t *dc, ngx_uint_t ok)
{
    yd_db->connecting--;

    if (!ok) {
        ngx_log_error(NGX_LOG_ERR, yd_db->log, 0,
                      YD_LOG_TAG "cannot connect to MariaDB at %V:%ui: %s",
                      &yd_db->conf->host, yd_db->conf->port,
                      mysql_error(dc->mysql));

        ngx_youdu_db_close(dc);

        /* retry with exponential backoff; waiters time out on their own */
        yd_db->failing = 1;

        if (!yd_db->retry.timer_set && !yd_db->exiting) {
            ngx_add_timer(&yd_db->retry, yd_db->backoff);
            yd_db->backoff = ngx_min(yd_db->backoff * 2, YD_DB_BACKOFF_MAX);
        }

        return;
    }

    if (yd_db->failing) {
        ngx_log_error(NGX_LOG_NOTICE, yd_db->log, 0,
                      YD_LOG_TAG "MariaDB connection restored");
    }

    yd_db->failing = 0;
    yd_db->backoff = YD_DB_BACKOFF_MIN;
    dc->connected = 1;

    ngx_youdu_db_make_idle(dc);
    ngx_youdu_db_serve_waiters();

    /* grow towards the number of waiters */
    if (yd_db->nwaiting > yd_db->connecting
        && yd_db->total < yd_db->conf->pool_size)
    {
        ngx_youdu_db_connect();
    }
}


static void
ngx_youdu_db_retry_handler(ngx_event_t *ev)
{
    if (yd_db->exiting) {
        return;
    }

    if (yd_db->total < yd_db->conf->pool_size) {
        ngx_youdu_db_connect();
    }
}


static void
ngx_youdu_db_close(ngx_youdu_db_conn_t *dc)
{
    ngx_uint_t         i;
    ngx_connection_t  *c;

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    if (dc->notify.posted) {
        ngx_delete_posted_event(&dc->notify);
    }

    if (dc->fetch_ev.posted) {
        ngx_delete_posted_event(&dc->fetch_ev);
    }

    c = dc->c;

    if (c) {
        /* the library owns the socket: detach nginx's view, let it close */
        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        if (c->read->active || c->write->active) {
            ngx_del_conn(c, NGX_CLOSE_EVENT);
        }

        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        dc->c = NULL;
    }

    for (i = 0; i < dc->nstmts; i++) {
        ngx_free(dc->stmts[i].sql);
    }

    /*
     * mysql_close() on a live connection sends COM_QUIT, a few bytes that
     * fit the socket buffer; statements are freed with the handle.
     */
    mysql_close(dc->mysql);

    yd_db->total--;
    ngx_queue_remove(&dc->link);
    ngx_free(dc);
}


/* the event machine */


static ngx_int_t
ngx_youdu_db_wait(ngx_youdu_db_conn_t *dc)
{
    ngx_socket_t       fd;
    ngx_connection_t  *c;
    ngx_msec_t         tmo;

    if (dc->c == NULL) {
        fd = mysql_get_socket(dc->mysql);

        if (fd == (ngx_socket_t) -1) {
            return NGX_ERROR;
        }

        c = ngx_get_connection(fd, &dc->log);
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->data = dc;
        c->log = &dc->log;
        c->read->log = &dc->log;
        c->write->log = &dc->log;

        dc->c = c;

        if (ngx_add_conn) {
            if (ngx_add_conn(c) == NGX_ERROR) {
                return NGX_ERROR;
            }
        }
    }

    c = dc->c;
    c->read->handler = ngx_youdu_db_event_handler;
    c->write->handler = ngx_youdu_db_event_handler;

    if (dc->wait & MYSQL_WAIT_READ) {
        c->read->ready = 0;
        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (dc->wait & MYSQL_WAIT_WRITE) {
        c->write->ready = 0;
        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (dc->wait & MYSQL_WAIT_TIMEOUT) {
        tmo = mysql_get_timeout_value_ms(dc->mysql);
        ngx_add_timer(c->read, tmo ? tmo : 1);

    } else if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    return NGX_OK;
}


static void
ngx_youdu_db_event_handler(ngx_event_t *ev)
{
    int                   status;
    ngx_connection_t     *c = ev->data;
    ngx_youdu_db_conn_t  *dc = c->data;

    if (dc->phase == YD_DB_PHASE_NONE) {
        return;
    }

    if (ev->timedout) {
        ev->timedout = 0;
        status = MYSQL_WAIT_TIMEOUT;

    } else {
        status = ev->write ? MYSQL_WAIT_WRITE : MYSQL_WAIT_READ;

        if (!(dc->wait & status)) {
            /* an edge we are not waiting for; the library retries I/O itself */
            return;
        }
    }

    ngx_youdu_db_step(dc, status);
}


static void
ngx_youdu_db_step(ngx_youdu_db_conn_t *dc, int status)
{
    int       rc;
    MYSQL    *ret;

    switch (dc->phase) {

    case YD_DB_PHASE_CONNECT:
        dc->wait = mysql_real_connect_cont(&ret, dc->mysql, status);
        if (dc->wait) {
            break;
        }

        dc->phase = YD_DB_PHASE_NONE;
        if (dc->timer.timer_set) {
            ngx_del_timer(&dc->timer);
        }

        ngx_youdu_db_connected(dc, ret != NULL);
        return;

    case YD_DB_PHASE_PREPARE:
        dc->wait = mysql_stmt_prepare_cont(&rc, dc->stmt, status);
        if (dc->wait) {
            break;
        }

        if (rc != 0) {
            ngx_log_error(NGX_LOG_ALERT, &dc->log, 0,
                          YD_LOG_TAG "prepare failed: %s: \"%s\"",
                          mysql_stmt_error(dc->stmt), dc->sql);
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            mysql_stmt_close(dc->stmt);
            dc->stmt = NULL;
            return;
        }

        ngx_youdu_db_execute(dc);
        return;

    case YD_DB_PHASE_EXECUTE:
        dc->wait = mysql_stmt_execute_cont(&rc, dc->stmt, status);
        if (dc->wait) {
            break;
        }

        goto executed;

    case YD_DB_PHASE_STORE:
        dc->wait = mysql_stmt_store_result_cont(&rc, dc->stmt, status);
        if (dc->wait) {
            break;
        }

        if (rc != 0) {
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            return;
        }

        ngx_youdu_db_fetch(dc);
        return;

    default:
        return;
    }

    if (ngx_youdu_db_wait(dc) != NGX_OK) {
        dc->broken = 1;
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "cannot watch socket");
    }

    return;

executed:

    if (rc != 0) {
        ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                          mysql_stmt_error(dc->stmt));
        return;
    }

    if (mysql_stmt_field_count(dc->stmt) == 0) {
        dc->res->affected = mysql_stmt_affected_rows(dc->stmt);
        dc->res->insert_id = mysql_stmt_insert_id(dc->stmt);
        ngx_youdu_db_complete(dc);
        return;
    }

    dc->phase = YD_DB_PHASE_STORE;
    dc->wait = mysql_stmt_store_result_start(&rc, dc->stmt);

    if (dc->wait == 0) {
        if (rc != 0) {
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            return;
        }

        ngx_youdu_db_fetch(dc);
        return;
    }

    if (ngx_youdu_db_wait(dc) != NGX_OK) {
        dc->broken = 1;
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "cannot watch socket");
    }
}


void
ngx_youdu_db_exec(ngx_youdu_db_conn_t *dc, const char *sql,
    ngx_youdu_db_param_t *params, ngx_uint_t nparams, ngx_pool_t *pool,
    ngx_log_t *log, ngx_youdu_db_done_pt done, void *data)
{
    dc->sql = sql;
    dc->sql_len = ngx_strlen(sql);
    dc->params = params;
    dc->nparams = nparams;
    dc->pool = pool;
    dc->done = done;
    dc->data = data;
    dc->orphan = 0;

    if (log) {
        dc->log.connection = log->connection;
        dc->log.data = log->data;
        dc->log.handler = log->handler;
    }

    dc->res = pool ? ngx_pcalloc(pool, sizeof(ngx_youdu_db_result_t)) : NULL;

    if (dc->res == NULL) {
        /* internal statements (ROLLBACK) need no result beyond err_no */
        ngx_memzero(&dc->internal, sizeof(ngx_youdu_db_result_t));
        dc->res = &dc->internal;
    }

    if (yd_db->conf->query_timeout) {
        ngx_add_timer(&dc->timer, yd_db->conf->query_timeout);
    }

    if (dc->broken) {
        ngx_youdu_db_fail(dc, YD_DB_ERR_UNAVAILABLE, "connection lost");
        return;
    }

    ngx_youdu_db_start_statement(dc);
}


static void
ngx_youdu_db_start_statement(ngx_youdu_db_conn_t *dc)
{
    int                   rc;
    ngx_uint_t            i, hash, oldest;
    ngx_youdu_db_stmt_t  *st;

    hash = ngx_hash_key((u_char *) dc->sql, dc->sql_len);

    for (i = 0; i < dc->nstmts; i++) {
        st = &dc->stmts[i];

        if (st->hash == hash && st->len == dc->sql_len
            && ngx_memcmp(st->sql, dc->sql, dc->sql_len) == 0)
        {
            st->used = ngx_current_msec;
            dc->cached = st;
            dc->stmt = st->stmt;
            ngx_youdu_db_execute(dc);
            return;
        }
    }

    /* not cached: prepare it, evicting the least recently used if full */

    if (dc->nstmts == YD_DB_STMT_CACHE) {
        oldest = 0;
        for (i = 1; i < dc->nstmts; i++) {
            if (dc->stmts[i].used < dc->stmts[oldest].used) {
                oldest = i;
            }
        }

        /* COM_STMT_CLOSE has no reply: a short write, never a wait */
        mysql_stmt_close(dc->stmts[oldest].stmt);
        ngx_free(dc->stmts[oldest].sql);
        dc->stmts[oldest] = dc->stmts[--dc->nstmts];
    }

    st = &dc->stmts[dc->nstmts];
    st->sql = ngx_alloc(dc->sql_len + 1, &dc->log);
    if (st->sql == NULL) {
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "out of memory");
        return;
    }

    ngx_memcpy(st->sql, dc->sql, dc->sql_len + 1);
    st->len = dc->sql_len;
    st->hash = hash;
    st->used = ngx_current_msec;
    st->stmt = NULL;
    dc->cached = NULL;

    dc->stmt = mysql_stmt_init(dc->mysql);
    if (dc->stmt == NULL) {
        ngx_free(st->sql);
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "mysql_stmt_init() failed");
        return;
    }

    dc->phase = YD_DB_PHASE_PREPARE;
    dc->wait = mysql_stmt_prepare_start(&rc, dc->stmt, dc->sql,
                                        (unsigned long) dc->sql_len);

    if (dc->wait == 0) {
        if (rc != 0) {
            ngx_log_error(NGX_LOG_ALERT, &dc->log, 0,
                          YD_LOG_TAG "prepare failed: %s: \"%s\"",
                          mysql_stmt_error(dc->stmt), dc->sql);
            ngx_free(st->sql);
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            mysql_stmt_close(dc->stmt);
            dc->stmt = NULL;
            return;
        }

        ngx_youdu_db_execute(dc);
        return;
    }

    if (ngx_youdu_db_wait(dc) != NGX_OK) {
        dc->broken = 1;
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "cannot watch socket");
    }
}


static void
ngx_youdu_db_execute(ngx_youdu_db_conn_t *dc)
{
    int                   rc;
    ngx_uint_t            i;
    MYSQL_BIND           *bind;
    unsigned long        *lengths;
    my_bool              *nulls;
    ngx_youdu_db_stmt_t  *st;

    if (dc->cached == NULL) {
        /* freshly prepared: enter it in the cache */
        st = &dc->stmts[dc->nstmts++];
        st->stmt = dc->stmt;
        dc->cached = st;
    }

    if (mysql_stmt_param_count(dc->stmt) != dc->nparams) {
        ngx_log_error(NGX_LOG_ALERT, &dc->log, 0,
                      YD_LOG_TAG "statement wants %lu parameters, got %ui: "
                      "\"%s\"", mysql_stmt_param_count(dc->stmt),
                      dc->nparams, dc->sql);
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "parameter count mismatch");
        return;
    }

    if (dc->nparams) {
        bind = ngx_pcalloc(dc->pool, dc->nparams * sizeof(MYSQL_BIND));
        lengths = ngx_palloc(dc->pool, dc->nparams * sizeof(unsigned long));
        nulls = ngx_palloc(dc->pool, dc->nparams * sizeof(my_bool));

        if (bind == NULL || lengths == NULL || nulls == NULL) {
            ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "out of memory");
            return;
        }

        for (i = 0; i < dc->nparams; i++) {
            lengths[i] = (unsigned long) dc->params[i].value.len;
            nulls[i] = dc->params[i].is_null ? 1 : 0;
            bind[i].buffer_type = dc->params[i].binary ? MYSQL_TYPE_BLOB
                                                       : MYSQL_TYPE_STRING;
            bind[i].buffer = dc->params[i].value.data
                             ? dc->params[i].value.data : (u_char *) "";
            bind[i].buffer_length = lengths[i];
            bind[i].length = &lengths[i];
            bind[i].is_null = &nulls[i];
        }

        if (mysql_stmt_bind_param(dc->stmt, bind) != 0) {
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            return;
        }
    }

    dc->phase = YD_DB_PHASE_EXECUTE;
    dc->wait = mysql_stmt_execute_start(&rc, dc->stmt);

    if (dc->wait == 0) {
        /* finished at once: reuse the tail of the state machine */
        dc->phase = YD_DB_PHASE_EXECUTE;

        if (rc != 0) {
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            return;
        }

        if (mysql_stmt_field_count(dc->stmt) == 0) {
            dc->res->affected = mysql_stmt_affected_rows(dc->stmt);
            dc->res->insert_id = mysql_stmt_insert_id(dc->stmt);
            ngx_youdu_db_complete(dc);
            return;
        }

        dc->phase = YD_DB_PHASE_STORE;
        dc->wait = mysql_stmt_store_result_start(&rc, dc->stmt);

        if (dc->wait == 0) {
            if (rc != 0) {
                ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                                  mysql_stmt_error(dc->stmt));
                return;
            }

            ngx_youdu_db_fetch(dc);
            return;
        }
    }

    if (ngx_youdu_db_wait(dc) != NGX_OK) {
        dc->broken = 1;
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "cannot watch socket");
    }
}


/*
 * Rows are already in client memory: fetching does no network I/O, but
 * converting a large result is CPU work, so it goes in batches with other
 * connections' events served in between.
 */

static void
ngx_youdu_db_fetch(ngx_youdu_db_conn_t *dc)
{
    ngx_uint_t              ncols, nrows, col;
    MYSQL_BIND             *bind;
    ngx_youdu_db_fetch_t   *f = &dc->fetch;
    ngx_youdu_db_result_t  *res = dc->res;

    ncols = mysql_stmt_field_count(dc->stmt);
    nrows = (ngx_uint_t) mysql_stmt_num_rows(dc->stmt);

    res->ncols = ncols;
    res->nrows = 0;

    if (dc->pool == NULL) {
        mysql_stmt_free_result(dc->stmt);
        ngx_youdu_db_complete(dc);
        return;
    }

    ngx_memzero(f, sizeof(ngx_youdu_db_fetch_t));
    f->nrows = nrows;

    res->cells = ngx_pcalloc(dc->pool,
                             (nrows ? nrows : 1) * ncols * sizeof(ngx_str_t));
    bind = ngx_pcalloc(dc->pool, ncols * sizeof(MYSQL_BIND));
    f->lengths = ngx_pcalloc(dc->pool, ncols * sizeof(unsigned long));
    f->nulls = ngx_pcalloc(dc->pool, ncols * sizeof(my_bool));
    f->errors = ngx_pcalloc(dc->pool, ncols * sizeof(my_bool));
    f->buf = ngx_palloc(dc->pool, ncols * YD_DB_CELL_BUF);

    if (res->cells == NULL || bind == NULL || f->lengths == NULL
        || f->nulls == NULL || f->errors == NULL || f->buf == NULL)
    {
        mysql_stmt_free_result(dc->stmt);
        ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "out of memory");
        return;
    }

    for (col = 0; col < ncols; col++) {
        bind[col].buffer_type = MYSQL_TYPE_STRING;
        bind[col].buffer = f->buf + col * YD_DB_CELL_BUF;
        bind[col].buffer_length = YD_DB_CELL_BUF;
        bind[col].length = &f->lengths[col];
        bind[col].is_null = &f->nulls[col];
        bind[col].error = &f->errors[col];
    }

    if (mysql_stmt_bind_result(dc->stmt, bind) != 0) {
        mysql_stmt_free_result(dc->stmt);
        ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                          mysql_stmt_error(dc->stmt));
        return;
    }

    dc->phase = YD_DB_PHASE_FETCH;
    ngx_youdu_db_fetch_batch(dc);
}


static void
ngx_youdu_db_fetch_handler(ngx_event_t *ev)
{
    ngx_youdu_db_conn_t  *dc = ev->data;

    ngx_youdu_db_fetch_batch(dc);
}


static void
ngx_youdu_db_fetch_batch(ngx_youdu_db_conn_t *dc)
{
    int                     rc;
    ngx_str_t              *cell;
    ngx_uint_t              ncols, col, end;
    MYSQL_BIND              one;
    ngx_youdu_db_fetch_t   *f = &dc->fetch;
    ngx_youdu_db_result_t  *res = dc->res;

    if (dc->pool == NULL) {
        /* the requester gave up (statement timeout): drop the rows */
        mysql_stmt_free_result(dc->stmt);
        ngx_youdu_db_complete(dc);
        return;
    }

    ncols = res->ncols;
    end = ngx_min(f->nrows, res->nrows + YD_DB_FETCH_BATCH);

    while (res->nrows < end) {
        rc = mysql_stmt_fetch(dc->stmt);

        if (rc == MYSQL_NO_DATA) {
            f->nrows = res->nrows;
            break;
        }

        if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
            mysql_stmt_free_result(dc->stmt);
            ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                              mysql_stmt_error(dc->stmt));
            return;
        }

        for (col = 0; col < ncols; col++) {
            cell = &res->cells[res->nrows * ncols + col];

            if (f->nulls[col]) {
                cell->data = NULL;
                cell->len = 0;
                continue;
            }

            cell->len = f->lengths[col];
            cell->data = ngx_pnalloc(dc->pool, cell->len + 1);
            if (cell->data == NULL) {
                mysql_stmt_free_result(dc->stmt);
                ngx_youdu_db_fail(dc, YD_DB_ERR_CLIENT, "out of memory");
                return;
            }

            if (cell->len <= YD_DB_CELL_BUF) {
                ngx_memcpy(cell->data, f->buf + col * YD_DB_CELL_BUF,
                           cell->len);

            } else {
                ngx_memzero(&one, sizeof(MYSQL_BIND));
                one.buffer_type = MYSQL_TYPE_STRING;
                one.buffer = cell->data;
                one.buffer_length = cell->len + 1;

                if (mysql_stmt_fetch_column(dc->stmt, &one, col, 0) != 0) {
                    mysql_stmt_free_result(dc->stmt);
                    ngx_youdu_db_fail(dc, mysql_stmt_errno(dc->stmt),
                                      mysql_stmt_error(dc->stmt));
                    return;
                }
            }

            cell->data[cell->len] = '\0';
        }

        res->nrows++;
    }

    if (res->nrows < f->nrows) {
        /* the next batch after the events that are ready now */
        ngx_post_event(&dc->fetch_ev, &ngx_posted_next_events);
        return;
    }

    mysql_stmt_free_result(dc->stmt);
    ngx_youdu_db_complete(dc);
}


static void
ngx_youdu_db_fail(ngx_youdu_db_conn_t *dc, ngx_uint_t err_no, const char *msg)
{
    ngx_youdu_db_result_t  *res = dc->res;

    res->err_no = err_no ? err_no : YD_DB_ERR_CLIENT;
    ngx_cpystrn(res->errmsg, (u_char *) (msg ? msg : "unknown error"),
                sizeof(res->errmsg));

    /* client-side errors (2000..2999) mean the connection is unusable */
    if (err_no >= 2000 && err_no < 3000) {
        dc->broken = 1;
    }

    if (err_no == YD_DB_ERR_CLIENT || err_no == YD_DB_ERR_TIMEOUT) {
        dc->broken = 1;
    }

    if (err_no != YD_DB_ER_DUP_ENTRY && err_no != YD_DB_ER_ROW_IS_REFERENCED
        && err_no != YD_DB_ER_NO_REFERENCED_ROW)
    {
        ngx_log_error(NGX_LOG_ERR, &dc->log, 0,
                      YD_LOG_TAG "statement failed (%ui): %s", err_no,
                      res->errmsg);
    }

    ngx_youdu_db_complete(dc);
}


static void
ngx_youdu_db_complete(ngx_youdu_db_conn_t *dc)
{
    dc->phase = YD_DB_PHASE_NONE;
    dc->wait = 0;

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    if (dc->c && dc->c->read->timer_set) {
        ngx_del_timer(dc->c->read);
    }

    if (dc->res->err_no == 0 && dc->stmt) {
        /* track transaction state from what was run */
        if (dc->sql_len >= 5 && ngx_strncasecmp((u_char *) dc->sql,
                                                (u_char *) "START", 5) == 0)
        {
            dc->in_txn = 1;

        } else if (ngx_strcasecmp((u_char *) dc->sql, (u_char *) "COMMIT") == 0
                   || ngx_strcasecmp((u_char *) dc->sql,
                                     (u_char *) "ROLLBACK") == 0)
        {
            dc->in_txn = 0;
        }
    }

    ngx_post_event(&dc->notify, &ngx_posted_events);
}


static void
ngx_youdu_db_notify_handler(ngx_event_t *ev)
{
    ngx_youdu_db_conn_t  *dc = ev->data;

    if (dc->orphan) {
        /* the requester timed out and released us meanwhile */
        dc->orphan = 0;
        ngx_youdu_db_release(dc);
        return;
    }

    dc->done(dc->data, dc->res);
}


static void
ngx_youdu_db_timeout_handler(ngx_event_t *ev)
{
    ngx_youdu_db_conn_t    *dc = ev->data;
    ngx_youdu_db_done_pt    done;
    ngx_youdu_db_result_t  *res;

    if (dc->phase == YD_DB_PHASE_CONNECT) {
        ngx_log_error(NGX_LOG_ERR, &dc->log, 0,
                      YD_LOG_TAG "MariaDB connect timed out");
        dc->phase = YD_DB_PHASE_NONE;
        ngx_youdu_db_connected(dc, 0);
        return;
    }

    if (dc->phase == YD_DB_PHASE_NONE) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, &dc->log, 0,
                  YD_LOG_TAG "statement timed out after %M ms: \"%s\"",
                  yd_db->conf->query_timeout, dc->sql);

    /*
     * The statement keeps running on the server; the connection stays busy
     * and is closed once it completes (or by the library's own timeouts).
     * The requester gets an error now.
     */
    res = dc->res;
    res->err_no = YD_DB_ERR_TIMEOUT;
    ngx_cpystrn(res->errmsg, (u_char *) "statement timed out",
                sizeof(res->errmsg));

    done = dc->done;
    dc->broken = 1;
    dc->orphan = 1;
    dc->done = NULL;

    /* keep driving the connection; ngx_youdu_db_release() sees orphan */
    ngx_memzero(&dc->internal, sizeof(ngx_youdu_db_result_t));
    dc->res = &dc->internal;
    dc->pool = NULL;

    done(dc->data, res);
}
