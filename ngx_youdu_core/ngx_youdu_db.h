
/*
 * youdu: MariaDB access through Connector/C's non-blocking API, driven by
 * nginx events.  A per-worker pool of connections; every statement is a
 * server-side prepared statement (cached per connection) with bound
 * parameters; results come back as strings allocated from the caller's pool.
 */

#ifndef _NGX_YOUDU_DB_H_INCLUDED_
#define _NGX_YOUDU_DB_H_INCLUDED_


#include "ngx_youdu_core.h"


/* error numbers not coming from the server */
#define YD_DB_ERR_UNAVAILABLE   90001   /* no connection could be had in time */
#define YD_DB_ERR_TIMEOUT       90002   /* statement exceeded query_timeout */
#define YD_DB_ERR_CLIENT        90003   /* client library or memory failure */

/* server error numbers handled by callers */
#define YD_DB_ER_DUP_ENTRY      1062
#define YD_DB_ER_LOCK_DEADLOCK  1213
#define YD_DB_ER_ROW_IS_REFERENCED 1451
#define YD_DB_ER_NO_REFERENCED_ROW 1452


typedef struct ngx_youdu_db_conn_s  ngx_youdu_db_conn_t;


typedef struct {
    ngx_str_t                 value;
    unsigned                  is_null:1;
    unsigned                  binary:1;
} ngx_youdu_db_param_t;


typedef struct {
    ngx_uint_t                nrows;
    ngx_uint_t                ncols;
    ngx_str_t                *cells;     /* row-major; data == NULL: SQL NULL */
    uint64_t                  affected;
    uint64_t                  insert_id;
    ngx_uint_t                err_no;    /* 0: success */
    u_char                    errmsg[200];
} ngx_youdu_db_result_t;


#define yd_cell(res, row, col)  (&(res)->cells[(row) * (res)->ncols + (col)])


typedef void (*ngx_youdu_db_acquire_pt)(void *data, ngx_youdu_db_conn_t *dc);
typedef void (*ngx_youdu_db_done_pt)(void *data, ngx_youdu_db_result_t *res);


typedef struct {
    ngx_queue_t               queue;
    ngx_event_t               timer;
    ngx_youdu_db_acquire_pt   handler;
    void                     *data;
} ngx_youdu_db_waiter_t;


ngx_int_t ngx_youdu_db_init_worker(ngx_cycle_t *cycle);
void ngx_youdu_db_exit_worker(ngx_cycle_t *cycle);

/*
 * Calls handler(data, conn) once a connection is free, or handler(data, NULL)
 * when none could be had within wait_timeout.  The waiter must stay valid
 * until then (allocate it from the caller's pool).  The handler may run
 * before this returns.
 */
void ngx_youdu_db_acquire(ngx_youdu_db_waiter_t *w, ngx_log_t *log,
    ngx_youdu_db_acquire_pt handler, void *data);

/* a connection left inside a transaction is rolled back first */
void ngx_youdu_db_release(ngx_youdu_db_conn_t *dc);

/*
 * Runs one statement.  sql must stay valid until done() is called; params
 * and the result are allocated in pool.  done() always runs, never before
 * this returns.
 */
void ngx_youdu_db_exec(ngx_youdu_db_conn_t *dc, const char *sql,
    ngx_youdu_db_param_t *params, ngx_uint_t nparams, ngx_pool_t *pool,
    ngx_log_t *log, ngx_youdu_db_done_pt done, void *data);

ngx_uint_t ngx_youdu_db_in_txn(ngx_youdu_db_conn_t *dc);

/* numbers for the status endpoint */
void ngx_youdu_db_stats(ngx_uint_t *total, ngx_uint_t *idle,
    ngx_uint_t *waiting);


#endif /* _NGX_YOUDU_DB_H_INCLUDED_ */
