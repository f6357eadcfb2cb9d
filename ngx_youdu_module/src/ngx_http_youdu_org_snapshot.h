
/*
 * youdu HTTP module: one build of the org snapshot.  The thread pool runs
 * yd_snapshot_json() over rows already fetched; everything else about the
 * build (cache, waiting requests) belongs to the event loop.
 */

#ifndef _NGX_HTTP_YOUDU_ORG_SNAPSHOT_H_INCLUDED_
#define _NGX_HTTP_YOUDU_ORG_SNAPSHOT_H_INCLUDED_


#include "ngx_http_youdu_org.h"


typedef struct {
    /* read by the thread; nothing else touches them while it runs */
    ngx_uint_t                admin;
    int64_t                   version;
    ngx_youdu_db_result_t    *depts;
    ngx_youdu_db_result_t    *users;
    ngx_youdu_db_result_t    *mres;

    /* written by the thread: malloc()ed gzip body, handed to the loop */
    u_char                   *out;
    size_t                    len;
    ngx_uint_t                failed;
    ngx_msec_t                ms;

    /* event loop only */
    ngx_http_youdu_ctx_t     *ctx;          /* the request that started it */
    ngx_queue_t               waiters;      /* yd_snapshot_wait_t */
} yd_snapshot_build_t;


void yd_snapshot_json(yd_snapshot_build_t *b);


#endif /* _NGX_HTTP_YOUDU_ORG_SNAPSHOT_H_INCLUDED_ */
