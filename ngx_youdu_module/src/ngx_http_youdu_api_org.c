
/*
 * youdu HTTP module: the org chart as employees read it (departments,
 * users, search, version); the change feed and the snapshot live in
 * ngx_http_youdu_org_changes.c and ngx_http_youdu_org_snapshot.c.
 */


#include "ngx_http_youdu_org.h"


typedef struct {
    int64_t                   id;
    int64_t                   offset;
    int64_t                   limit;
    json_t                   *obj;
    ngx_str_t                 q;
    ngx_str_t                *like;
    ngx_str_t                 path;
    int64_t                   dept;
    int64_t                   recursive;
} ngx_http_youdu_org_req_t;


static ngx_int_t
ngx_http_youdu_org_departments(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *d;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        /* one query: 5,000 departments with member counts and the version */
        return yd_sql(ctx,
            "SELECT " YD_DEPT_COLS ", IFNULL(m.n, 0), "
            "(SELECT version FROM org_state WHERE id = 1) "
            "FROM departments d LEFT JOIN "
            "(SELECT ud.dept_id, COUNT(*) AS n FROM user_depts ud "
            "JOIN users u ON u.id = ud.user_id "
            "WHERE u.enable_state <> -1 OR ? = 1 GROUP BY ud.dept_id) m "
            "ON m.dept_id = d.id "
            "ORDER BY d.depth, d.parent_id, d.sort_id, d.id",
            "i", (int64_t) yd_org_viewer_admin(ctx));

    default:
        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            d = yd_org_dept_json(res, i, 0);
            if (d == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(d, "member_count",
                                yd_json_cell_int(res, i, YD_DEPT_NCOLS));
            json_array_append_new(list, d);
        }

        json_object_set_new(obj, "departments", list);
        json_object_set_new(obj, "version", res->nrows
                            ? yd_json_cell_int(res, 0, YD_DEPT_NCOLS + 1)
                            : json_integer(0));

        return yd_ok(ctx, obj);
    }
}


static ngx_int_t
ngx_http_youdu_org_department(ngx_http_youdu_ctx_t *ctx)
{
    json_t                    *list, *u;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_youdu_db_result_t     *res = ctx->res;
    ngx_http_youdu_org_req_t  *rq = ctx->data;

    switch (ctx->stage) {

    case 0:
        rq = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_org_req_t));
        if (rq == NULL) {
            return NGX_ERROR;
        }

        ctx->data = rq;

        if ((rc = yd_arg_int(ctx, 0, &rq->id)) != NGX_OK
            || (rc = yd_page(ctx, &rq->offset, &rq->limit)) != NGX_OK)
        {
            return rc == NGX_ERROR ? NGX_ERROR : NGX_DONE;
        }

        return yd_sql(ctx,
            "SELECT " YD_DEPT_COLS " FROM departments d WHERE d.id = ?",
            "i", rq->id);

    case 1:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_DEPT_NOT_FOUND,
                            "no department with id %L", rq->id);
        }

        rq->obj = yd_org_keep(ctx, json_object());
        if (rq->obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(rq->obj, "department", yd_org_dept_json(res, 0, 0));

        return yd_sql(ctx,
            "SELECT " YD_DEPT_COLS " FROM departments d WHERE d.parent_id = ? "
            "ORDER BY d.sort_id, d.id", "i", rq->id);

    case 2:
        list = json_array();
        if (list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            json_array_append_new(list, yd_org_dept_json(res, i, 0));
        }

        json_object_set_new(rq->obj, "children", list);

        return yd_sql(ctx,
            "SELECT " YD_USER_COLS ", ud.position, ud.weight, ud.sort_id, "
            "COUNT(*) OVER () FROM user_depts ud "
            "JOIN users u ON u.id = ud.user_id "
            "WHERE ud.dept_id = ? AND (u.enable_state <> -1 OR ? = 1) "
            "ORDER BY ud.sort_id, u.name, u.id LIMIT ? OFFSET ?",
            "iiii", rq->id, (int64_t) yd_org_viewer_admin(ctx), rq->limit,
            rq->offset);

    case 3:
        list = json_array();
        if (list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            u = yd_org_user_json(ctx, res, i, 0);
            if (u == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(u, "position",
                                yd_json_cell(res, i, YD_USER_NCOLS));
            json_object_set_new(u, "weight",
                                yd_json_cell_int(res, i, YD_USER_NCOLS + 1));
            json_object_set_new(u, "sort_id",
                                yd_json_cell_int(res, i, YD_USER_NCOLS + 2));
            json_array_append_new(list, u);
        }

        json_object_set_new(rq->obj, "members", list);
        json_object_set_new(rq->obj, "offset", json_integer(rq->offset));
        json_object_set_new(rq->obj, "limit", json_integer(rq->limit));

        if (res->nrows || rq->offset == 0) {
            json_object_set_new(rq->obj, "total", res->nrows
                                ? yd_json_cell_int(res, 0, YD_USER_NCOLS + 3)
                                : json_integer(0));
            return yd_ok(ctx, json_incref(rq->obj));
        }

        /* paged past the end: count separately */
        return yd_sql(ctx,
            "SELECT COUNT(*) FROM user_depts ud "
            "JOIN users u ON u.id = ud.user_id "
            "WHERE ud.dept_id = ? AND (u.enable_state <> -1 OR ? = 1)",
            "ii", rq->id, (int64_t) yd_org_viewer_admin(ctx));

    default:
        json_object_set_new(rq->obj, "total", yd_json_cell_int(res, 0, 0));
        return yd_ok(ctx, json_incref(rq->obj));
    }
}


/* list and search; q matches name, account, mobile, pinyin, initials */

static ngx_int_t
ngx_http_youdu_org_users(ngx_http_youdu_ctx_t *ctx)
{
    json_t                    *list, *u;
    int64_t                    admin;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_youdu_db_result_t     *res = ctx->res;
    ngx_http_youdu_org_req_t  *rq = ctx->data;

    admin = yd_org_viewer_admin(ctx);

    switch (ctx->stage) {

    case 0:
        rq = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_org_req_t));
        if (rq == NULL) {
            return NGX_ERROR;
        }

        ctx->data = rq;

        if ((rc = yd_page(ctx, &rq->offset, &rq->limit)) != NGX_OK
            || (rc = yd_query_str(ctx, "q", 64, &rq->q)) != NGX_OK
            || (rc = yd_query_int(ctx, "dept", -1, 0, 2147483647, &rq->dept))
               != NGX_OK
            || (rc = yd_query_int(ctx, "recursive", 0, 0, 1, &rq->recursive))
               != NGX_OK)
        {
            return rc == NGX_ERROR ? NGX_ERROR : NGX_DONE;
        }

        if (rq->q.data == NULL) {
            ngx_str_set(&rq->q, "");
        }

        rq->like = yd_org_like_escape(ctx->pool, &rq->q);
        if (rq->like == NULL) {
            return NGX_ERROR;
        }

        ngx_str_set(&rq->path, "");

        if (rq->dept < 0) {
            ctx->stage = 1;
            goto search;
        }

        return yd_sql(ctx, "SELECT path FROM departments WHERE id = ?",
                      "i", rq->dept);

    case 1:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_DEPT_NOT_FOUND,
                            "no department with id %L", rq->dept);
        }

        if (rq->recursive) {
            rq->path = *yd_cell(res, 0, 0);
        }

    search:

        return yd_sql(ctx,
            "SELECT " YD_USER_COLS ", COUNT(*) OVER () FROM users u "
            "WHERE (u.enable_state <> -1 OR ? = 1) "
            "AND (? = '' OR u.name LIKE CONCAT('%', ?, '%') "
            "OR u.account LIKE CONCAT(?, '%') "
            "OR u.name_pinyin LIKE CONCAT(?, '%') "
            "OR u.name_initials LIKE CONCAT(?, '%') "
            "OR (u.mobile LIKE CONCAT(?, '%') "
            "AND (? = 1 OR u.confidential & 1 = 0 OR u.id = ?))) "
            "AND (? < 0 OR ? <> '' OR EXISTS (SELECT 1 FROM user_depts ud "
            "WHERE ud.user_id = u.id AND ud.dept_id = ?)) "
            "AND (? = '' OR EXISTS (SELECT 1 FROM user_depts ud "
            "JOIN departments d ON d.id = ud.dept_id "
            "WHERE ud.user_id = u.id AND d.path LIKE CONCAT(?, '%'))) "
            "ORDER BY (? <> '' AND (u.account = ? OR u.name = ?)) DESC, "
            "u.name_pinyin, u.id LIMIT ? OFFSET ?",
            "issssssiiisisssssii",
            admin, &rq->q, rq->like, rq->like, rq->like, rq->like, rq->like,
            admin, ctx->me.uid,
            rq->dept, &rq->path, rq->dept,
            &rq->path, &rq->path,
            &rq->q, &rq->q, &rq->q, rq->limit, rq->offset);

    default:
        rq->obj = json_object();
        list = json_array();
        if (rq->obj == NULL || list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            u = yd_org_user_json(ctx, res, i, 0);
            if (u == NULL) {
                return NGX_ERROR;
            }

            json_array_append_new(list, u);
        }

        json_object_set_new(rq->obj, "users", list);
        json_object_set_new(rq->obj, "total", res->nrows
                            ? yd_json_cell_int(res, 0, YD_USER_NCOLS)
                            : json_integer(0));
        json_object_set_new(rq->obj, "offset", json_integer(rq->offset));
        json_object_set_new(rq->obj, "limit", json_integer(rq->limit));

        return yd_ok(ctx, rq->obj);
    }
}


static ngx_int_t
ngx_http_youdu_org_user(ngx_http_youdu_ctx_t *ctx)
{
    int64_t  *id = ctx->data;

    if (ctx->stage == 0) {
        id = ngx_palloc(ctx->pool, sizeof(int64_t));
        if (id == NULL) {
            return NGX_ERROR;
        }

        ctx->data = id;

        if (yd_arg_int(ctx, 0, id) != NGX_OK) {
            return NGX_DONE;
        }
    }

    return yd_org_user_load(ctx, ctx->stage, *id, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_youdu_org_version(ngx_http_youdu_ctx_t *ctx)
{
    json_t  *obj;

    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    default:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "version", yd_json_cell_int(ctx->res, 0, 0));
        return yd_ok(ctx, obj);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_org_routes[] = {
    { NGX_HTTP_GET, "/org/departments", ngx_http_youdu_org_departments,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/org/departments/:id", ngx_http_youdu_org_department,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/org/users", ngx_http_youdu_org_users, YD_AUTH_USER,
      0, 0 },
    { NGX_HTTP_GET, "/org/users/:id", ngx_http_youdu_org_user, YD_AUTH_USER,
      0, 0 },
    { NGX_HTTP_GET, "/org/version", ngx_http_youdu_org_version, YD_AUTH_USER,
      0, 0 },
    { NGX_HTTP_GET, "/org/changes", ngx_http_youdu_org_changes, YD_AUTH_USER,
      0, 0 },
    { NGX_HTTP_GET, "/org/snapshot", ngx_http_youdu_org_snapshot,
      YD_AUTH_USER, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
