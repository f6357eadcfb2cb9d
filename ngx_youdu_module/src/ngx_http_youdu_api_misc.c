
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


const ngx_http_youdu_route_t  ngx_http_youdu_misc_routes[] = {
    { NGX_HTTP_GET, "/ping", ngx_http_youdu_ping, YD_AUTH_NONE, 0, 0 },
    { NGX_HTTP_GET, "/admin/status", ngx_http_youdu_status, YD_AUTH_ADMIN,
      0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
