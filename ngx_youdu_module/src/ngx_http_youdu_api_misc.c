
/*
 * youdu HTTP module: liveness and status.
 */


#include "ngx_http_youdu_module.h"


/* liveness: answers without touching MariaDB or Redis */

static ngx_int_t
ngx_http_youdu_ping(ngx_http_youdu_ctx_t *ctx)
{
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "time", json_integer(ngx_time()));

    return yd_ok(ctx, obj);
}


/* readiness: both stores answer; pool figures for this worker */

static ngx_int_t
ngx_http_youdu_status(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *db, *redis;
    ngx_uint_t              total, idle, waiting;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        return yd_sql_try(ctx, "SELECT version FROM org_state WHERE id = 1",
                          "");

    default:
        obj = json_object();
        db = json_object();
        redis = json_object();
        if (obj == NULL || db == NULL || redis == NULL) {
            return NGX_ERROR;
        }

        ngx_youdu_db_stats(&total, &idle, &waiting);

        json_object_set_new(db, "ok", json_boolean(res->err_no == 0));
        json_object_set_new(db, "connections", json_integer(total));
        json_object_set_new(db, "idle", json_integer(idle));
        json_object_set_new(db, "waiting", json_integer(waiting));
        json_object_set_new(redis, "ok",
                            json_boolean(ngx_youdu_redis_connected()));

        json_object_set_new(obj, "database", db);
        json_object_set_new(obj, "redis", redis);
        json_object_set_new(obj, "worker_pid", json_integer(ngx_pid));

        if (res->err_no == 0 && res->nrows) {
            json_object_set_new(obj, "org_version",
                                yd_json_cell_int(res, 0, 0));
        }

        return yd_ok(ctx, obj);
    }
}


/*
 * GET /debug/sleep?ms=N: holds a database connection in SELECT SLEEP() so
 * tests can prove a slow statement does not delay other requests.  Exists
 * only with "youdu_debug_endpoints on" (test configuration).
 */

static ngx_int_t
ngx_http_youdu_debug_sleep(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                 ms;
    ngx_str_t               secs;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    if (!ycf->debug_endpoints) {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NO_ROUTE,
                        "no such endpoint");
    }

    switch (ctx->stage) {

    case 0:
        if (yd_query_int(ctx, "ms", 1000, 0, 10000, &ms) != NGX_OK) {
            return NGX_DONE;
        }

        /* parameters must outlive this call: allocate from the pool */
        secs.data = ngx_pnalloc(ctx->pool, 32);
        if (secs.data == NULL) {
            return NGX_ERROR;
        }

        secs.len = ngx_sprintf(secs.data, "%L.%03L", ms / 1000, ms % 1000)
                   - secs.data;

        return yd_sql(ctx, "SELECT SLEEP(?)", "s", &secs);

    default:
        return yd_ok(ctx, NULL);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_misc_routes[] = {
    { NGX_HTTP_GET, "/debug/sleep", ngx_http_youdu_debug_sleep, YD_AUTH_NONE,
      0, 0 },
    { NGX_HTTP_GET, "/ping", ngx_http_youdu_ping, YD_AUTH_NONE, 0, 0 },
    { NGX_HTTP_GET, "/admin/status", ngx_http_youdu_status, YD_AUTH_ADMIN,
      0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
