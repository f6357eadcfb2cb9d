
/*
 * youdu HTTP module: the callback queue of an app, for administrators
 * (GET /admin/apps/:id/callbacks, POST .../callbacks/:cbid/retry).
 */


#include "ngx_http_youdu_module.h"


typedef struct {
    int64_t                   app_pk;
    int64_t                   cb_id;
    int64_t                   state;
    int64_t                   offset;
    int64_t                   limit;
    int64_t                   total;
} ngx_http_youdu_cbq_t;


static ngx_int_t
ngx_http_youdu_cb_list(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *e, *payload;
    ngx_str_t              *c;
    ngx_uint_t              i;
    ngx_http_youdu_cbq_t   *q = ctx->data;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        q = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_cbq_t));
        if (q == NULL) {
            return NGX_ERROR;
        }

        ctx->data = q;

        if (yd_arg_int(ctx, 0, &q->app_pk) != NGX_OK
            || yd_page(ctx, &q->offset, &q->limit) != NGX_OK
            || yd_query_int(ctx, "state", -1, -1, 2, &q->state) != NGX_OK)
        {
            return NGX_DONE;
        }

        return yd_sql(ctx, "SELECT id FROM apps WHERE id = ?", "i",
                      q->app_pk);

    case 1:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "app %L not found", q->app_pk);
        }

        return yd_sql(ctx,
            "SELECT COUNT(*) FROM app_callbacks "
            "WHERE app_pk = ? AND (? < 0 OR state = ?)",
            "iii", q->app_pk, q->state, q->state);

    case 2:
        q->total = yd_int(res, 0, 0);

        return yd_sql(ctx,
            "SELECT id, state, attempts, last_error, url, payload, "
            "yd_iso(created_at), yd_iso(next_at), yd_iso(delivered_at) "
            "FROM app_callbacks WHERE app_pk = ? AND (? < 0 OR state = ?) "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            "iiiii", q->app_pk, q->state, q->state, q->limit, q->offset);

    case 3:
        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            e = json_object();
            if (e == NULL) {
                return NGX_ERROR;
            }

            /* payload is the producer's JSON text; shown as stored */
            c = yd_cell(res, i, 5);
            payload = json_loadb((char *) c->data, c->len, 0, NULL);
            if (payload == NULL) {
                payload = yd_json_cell(res, i, 5);
            }

            json_object_set_new(e, "id", yd_json_cell_int(res, i, 0));
            json_object_set_new(e, "state", yd_json_cell_int(res, i, 1));
            json_object_set_new(e, "attempts", yd_json_cell_int(res, i, 2));
            json_object_set_new(e, "last_error", yd_json_cell(res, i, 3));
            json_object_set_new(e, "url", yd_json_cell(res, i, 4));
            json_object_set_new(e, "payload", payload);
            json_object_set_new(e, "created_at", yd_json_cell(res, i, 6));
            json_object_set_new(e, "next_at", yd_json_cell(res, i, 7));
            json_object_set_new(e, "delivered_at", yd_json_cell(res, i, 8));
            json_array_append_new(list, e);
        }

        json_object_set_new(obj, "callbacks", list);
        json_object_set_new(obj, "total", json_integer(q->total));
        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


/*
 * Only a row that was given up goes back to the queue: a pending one may
 * be in flight right now, and making it due would let a second worker
 * send it at the same time.
 */

static ngx_int_t
ngx_http_youdu_cb_retry(ngx_http_youdu_ctx_t *ctx)
{
    u_char                 id[NGX_INT64_LEN];
    json_t                 *obj;
    size_t                  argvlen[3];
    const char             *argv[3];
    ngx_http_youdu_cbq_t   *q = ctx->data;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        q = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_cbq_t));
        if (q == NULL) {
            return NGX_ERROR;
        }

        ctx->data = q;

        if (yd_arg_int(ctx, 0, &q->app_pk) != NGX_OK
            || yd_arg_int(ctx, 1, &q->cb_id) != NGX_OK)
        {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "UPDATE app_callbacks SET state = 0, "
            "next_at = UTC_TIMESTAMP(3) "
            "WHERE id = ? AND app_pk = ? AND state = 2",
            "ii", q->cb_id, q->app_pk);

    case 1:
        if (res->affected == 1) {
            ctx->stage = 10;
            return yd_sql(ctx,
                "INSERT INTO audit_log (actor_id, action, target, ip) "
                "VALUES (?, 'callback.retry', ?, ?)",
                "iss", ctx->me.uid, yd_int_str(ctx->pool, q->cb_id),
                &ctx->client_ip);
        }

        return yd_sql(ctx,
            "SELECT state, yd_iso(next_at) FROM app_callbacks "
            "WHERE id = ? AND app_pk = ?", "ii", q->cb_id, q->app_pk);

    case 2:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "callback %L of app %L not found", q->cb_id,
                            q->app_pk);
        }

        if (yd_int(res, 0, 0) == 1) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "callback %L was already delivered", q->cb_id);
        }

        return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                        "callback %L is still pending: its next attempt is "
                        "at %V", q->cb_id, yd_cell(res, 0, 1));

    case 11:
        /* wake the node's deliverer; its poll finds the row anyway */
        argv[0] = "PUBLISH";
        argv[1] = "yd:callback";
        argv[2] = (const char *) id;
        argvlen[0] = 7;
        argvlen[1] = 11;
        argvlen[2] = ngx_sprintf(id, "%L", q->cb_id) - id;

        if (yd_redis(ctx, 3, argv, argvlen) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    case 12:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "id", json_integer(q->cb_id));
        json_object_set_new(obj, "state", json_integer(0));
        return yd_ok(ctx, obj);

    default:
        return NGX_ERROR;
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_callback_routes[] = {
    { NGX_HTTP_GET, "/admin/apps/:id/callbacks",
      ngx_http_youdu_cb_list, YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_POST, "/admin/apps/:id/callbacks/:cbid/retry",
      ngx_http_youdu_cb_retry, YD_AUTH_ADMIN, 16 * 1024, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
