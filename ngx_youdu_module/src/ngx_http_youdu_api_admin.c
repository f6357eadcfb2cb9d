
/*
 * youdu HTTP module: org chart administration.  Departments here, users in
 * ngx_http_youdu_org_users.c.  Every write is one transaction following
 * the org write protocol: version bump, rows stamped with the version,
 * org_changes, audit_log, commit, then PUBLISH yd:org <version>.
 */


#include "ngx_http_youdu_org.h"


typedef struct {
    yd_org_dept_t             in;
    int64_t                   id;
    int64_t                   version;
    ngx_str_t                 parent_path;
    int64_t                   parent_depth;
    ngx_str_t                 old_path;
    ngx_str_t                 new_path;
    int64_t                   depth_delta;
    ngx_uint_t                move;
} ngx_http_youdu_dept_w_t;


static ngx_int_t ngx_http_youdu_dept_reply(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t step, int64_t id, ngx_uint_t status);


/* after the writes: the department as it is now */

static ngx_int_t
ngx_http_youdu_dept_reply(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step,
    int64_t id, ngx_uint_t status)
{
    json_t  *obj;

    if (step == 0) {
        return yd_sql(ctx,
            "SELECT " YD_DEPT_COLS " FROM departments d WHERE d.id = ?",
            "i", id);
    }

    obj = json_object();
    if (obj == NULL || ctx->res->nrows == 0) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "department", yd_org_dept_json(ctx->res, 0, 0));

    return yd_ok_status(ctx, status, obj);
}


static ngx_int_t
ngx_http_youdu_dept_create(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *detail;
    ngx_int_t                 rc;
    ngx_youdu_db_result_t    *res = ctx->res;
    ngx_http_youdu_dept_w_t  *dw = ctx->data;

    switch (ctx->stage) {

    case 0:
        dw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_dept_w_t));
        if (dw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = dw;

        rc = yd_org_dept_parse(ctx, &dw->in, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        if (!dw->in.has_sort) {
            dw->in.sort_id = 0;
        }

        if (dw->in.alias.data == NULL) {
            ngx_str_set(&dw->in.alias, "");
        }

        return yd_begin(ctx);

    case 1:
        return yd_org_bump(ctx);

    case 2:
        return yd_org_read_version(ctx, NULL);

    case 3:
        if (yd_org_read_version(ctx, &dw->version) != NGX_OK) {
            return NGX_ERROR;
        }

        /* inside the org lock: these answers hold until commit */
        return yd_sql(ctx,
            "SELECT (SELECT path FROM departments WHERE id = ?), "
            "(SELECT depth FROM departments WHERE id = ?), "
            "(SELECT COUNT(*) FROM departments WHERE id = ?), "
            "(SELECT COUNT(*) FROM departments WHERE alias = ? AND ? <> ''), "
            "(SELECT IFNULL(MAX(id), 0) + 1 FROM departments)",
            "iiiss", dw->in.parent_id, dw->in.parent_id, dw->in.id,
            &dw->in.alias, &dw->in.alias);

    case 4:
        if (yd_cell(res, 0, 0)->data == NULL) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_PARENT_NOT_FOUND,
                            "parent department %L does not exist",
                            dw->in.parent_id);
        }

        if (dw->in.has_id && yd_int(res, 0, 2)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_DEPT_EXISTS,
                            "department id %L is taken", dw->in.id);
        }

        if (yd_int(res, 0, 3)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_DEPT_EXISTS,
                            "alias \"%V\" is used by another department",
                            &dw->in.alias);
        }

        dw->id = dw->in.has_id ? dw->in.id : yd_int(res, 0, 4);

        if (dw->id > 2147483647) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "no free department id: send one explicitly");
        }

        dw->parent_path = *yd_cell(res, 0, 0);
        dw->parent_depth = yd_int(res, 0, 1);

        return yd_sql(ctx,
            "INSERT INTO departments (id, parent_id, name, sort_id, alias, "
            "path, depth, version, updated_at) "
            "VALUES (?, ?, ?, ?, NULLIF(?, ''), CONCAT(?, ?, '/'), ?, ?, "
            "UTC_TIMESTAMP())",
            "iisissiii", dw->id, dw->in.parent_id, &dw->in.name,
            dw->in.sort_id, &dw->in.alias, &dw->parent_path, dw->id,
            dw->parent_depth + 1, dw->version);

    case 5:
        return yd_org_change(ctx, dw->version, YD_ORG_KIND_DEPT, dw->id,
                             YD_ORG_OP_UPSERT);

    case 6:
        detail = json_pack("{s:s%,s:I}", "name", dw->in.name.data,
                           dw->in.name.len, "parent_id",
                           (json_int_t) dw->in.parent_id);
        return yd_org_audit(ctx, "dept.create", dw->id, detail);

    case 7:
        return yd_commit(ctx);

    case 8:
        if (yd_org_publish(ctx, dw->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ctx->stage = 9;
        /* fall through */

    case 9:
        return ngx_http_youdu_dept_reply(ctx, 0, dw->id, NGX_HTTP_CREATED);

    default:
        return ngx_http_youdu_dept_reply(ctx, 1, dw->id, NGX_HTTP_CREATED);
    }
}


static ngx_int_t
ngx_http_youdu_dept_update(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *detail;
    ngx_int_t                 rc;
    ngx_str_t                *pp;
    ngx_youdu_db_result_t    *res = ctx->res;
    ngx_http_youdu_dept_w_t  *dw = ctx->data;

    switch (ctx->stage) {

    case 0:
        dw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_dept_w_t));
        if (dw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = dw;

        if (yd_arg_int(ctx, 0, &dw->id) != NGX_OK) {
            return NGX_DONE;
        }

        if (dw->id == 0) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_ROOT_DEPT,
                            "the root department cannot be changed");
        }

        rc = yd_org_dept_parse(ctx, &dw->in, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (dw->in.has_alias && dw->in.alias.data == NULL) {
            ngx_str_set(&dw->in.alias, "");
        }

        return yd_begin(ctx);

    case 1:
        return yd_org_bump(ctx);

    case 2:
        return yd_org_read_version(ctx, NULL);

    case 3:
        if (yd_org_read_version(ctx, &dw->version) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "SELECT d.path, d.depth, d.parent_id, p.path, p.depth, "
            "(SELECT COUNT(*) FROM departments WHERE alias = ? AND id <> ? "
            "AND ? <> '') "
            "FROM departments d LEFT JOIN departments p ON p.id = ? "
            "WHERE d.id = ?",
            "sisii", dw->in.has_alias ? &dw->in.alias : yd_pstr(ctx->pool, ""),
            dw->id, dw->in.has_alias ? &dw->in.alias : yd_pstr(ctx->pool, ""),
            dw->in.has_parent ? dw->in.parent_id : (int64_t) -1, dw->id);

    case 4:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_DEPT_NOT_FOUND,
                            "no department with id %L", dw->id);
        }

        dw->old_path = *yd_cell(res, 0, 0);
        pp = yd_cell(res, 0, 3);

        if (dw->in.has_parent && yd_int(res, 0, 2) != dw->in.parent_id) {
            if (pp->data == NULL) {
                return yd_error(ctx, NGX_HTTP_NOT_FOUND,
                                YD_ERR_PARENT_NOT_FOUND,
                                "parent department %L does not exist",
                                dw->in.parent_id);
            }

            /* the new parent must not lie inside the moved subtree */
            if (pp->len >= dw->old_path.len
                && ngx_strncmp(pp->data, dw->old_path.data,
                               dw->old_path.len) == 0)
            {
                return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_DEPT_CYCLE,
                                "a department cannot move under itself or "
                                "one of its descendants");
            }

            dw->move = 1;
            dw->parent_path = *pp;
            dw->depth_delta = yd_int(res, 0, 4) + 1 - yd_int(res, 0, 1);

            dw->new_path.data = ngx_pnalloc(ctx->pool,
                                            pp->len + NGX_INT64_LEN + 2);
            if (dw->new_path.data == NULL) {
                return NGX_ERROR;
            }

            dw->new_path.len = ngx_sprintf(dw->new_path.data, "%V%L/", pp,
                                           dw->id)
                               - dw->new_path.data;
        }

        if (yd_int(res, 0, 5)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_DEPT_EXISTS,
                            "alias \"%V\" is used by another department",
                            &dw->in.alias);
        }

        return yd_sql(ctx,
            "UPDATE departments SET name = COALESCE(?, name), "
            "sort_id = COALESCE(?, sort_id), "
            "alias = IF(? = 1, NULLIF(?, ''), alias), "
            "parent_id = COALESCE(?, parent_id), "
            "version = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "nnisnii",
            dw->in.has_name ? &dw->in.name : NULL,
            dw->in.has_sort ? yd_int_str(ctx->pool, dw->in.sort_id) : NULL,
            (int64_t) dw->in.has_alias,
            dw->in.has_alias ? &dw->in.alias : yd_pstr(ctx->pool, ""),
            dw->in.has_parent ? yd_int_str(ctx->pool, dw->in.parent_id)
                              : NULL,
            dw->version, dw->id);

    case 5:
        if (!dw->move) {
            ctx->stage = 6;
            return yd_org_change(ctx, dw->version, YD_ORG_KIND_DEPT, dw->id,
                                 YD_ORG_OP_UPSERT);
        }

        /* the whole subtree gets the new prefix in one statement */
        return yd_sql(ctx,
            "UPDATE departments SET "
            "path = CONCAT(?, SUBSTRING(path, LENGTH(?) + 1)), "
            "depth = CAST(depth AS SIGNED) + ?, version = ?, "
            "updated_at = UTC_TIMESTAMP() "
            "WHERE path LIKE CONCAT(?, '%')",
            "ssiis", &dw->new_path, &dw->old_path, dw->depth_delta,
            dw->version, &dw->old_path);

    case 6:
        return yd_sql(ctx,
            "INSERT INTO org_changes (version, kind, target_id, op) "
            "SELECT ?, 1, id, 1 FROM departments "
            "WHERE path LIKE CONCAT(?, '%')",
            "is", dw->version, &dw->new_path);

    case 7:
        detail = json_deep_copy(ctx->body);
        return yd_org_audit(ctx, "dept.update", dw->id, detail);

    case 8:
        return yd_commit(ctx);

    case 9:
        if (yd_org_publish(ctx, dw->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ctx->stage = 10;
        /* fall through */

    case 10:
        return ngx_http_youdu_dept_reply(ctx, 0, dw->id, NGX_HTTP_OK);

    default:
        return ngx_http_youdu_dept_reply(ctx, 1, dw->id, NGX_HTTP_OK);
    }
}


static ngx_int_t
ngx_http_youdu_dept_delete(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *obj;
    ngx_youdu_db_result_t    *res = ctx->res;
    ngx_http_youdu_dept_w_t  *dw = ctx->data;

    switch (ctx->stage) {

    case 0:
        dw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_dept_w_t));
        if (dw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = dw;

        if (yd_arg_int(ctx, 0, &dw->id) != NGX_OK) {
            return NGX_DONE;
        }

        if (dw->id == 0) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_ROOT_DEPT,
                            "the root department cannot be deleted");
        }

        return yd_begin(ctx);

    case 1:
        return yd_org_bump(ctx);

    case 2:
        return yd_org_read_version(ctx, NULL);

    case 3:
        if (yd_org_read_version(ctx, &dw->version) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "SELECT (SELECT COUNT(*) FROM departments WHERE id = ?), "
            "(SELECT COUNT(*) FROM departments WHERE parent_id = ?), "
            "(SELECT COUNT(*) FROM user_depts WHERE dept_id = ?)",
            "iii", dw->id, dw->id, dw->id);

    case 4:
        if (yd_int(res, 0, 0) == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_DEPT_NOT_FOUND,
                            "no department with id %L", dw->id);
        }

        if (yd_int(res, 0, 1)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_DEPT_HAS_CHILDREN,
                            "the department has %L sub-departments: move or "
                            "delete them first", yd_int(res, 0, 1));
        }

        if (yd_int(res, 0, 2)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_DEPT_HAS_USERS,
                            "the department has %L members: move them "
                            "first", yd_int(res, 0, 2));
        }

        return yd_sql(ctx, "DELETE FROM departments WHERE id = ?", "i",
                      dw->id);

    case 5:
        return yd_org_change(ctx, dw->version, YD_ORG_KIND_DEPT, dw->id,
                             YD_ORG_OP_DELETE);

    case 6:
        return yd_org_audit(ctx, "dept.delete", dw->id, NULL);

    case 7:
        return yd_commit(ctx);

    case 8:
        if (yd_org_publish(ctx, dw->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "id", json_integer(dw->id));
        json_object_set_new(obj, "version", json_integer(dw->version));

        return yd_ok(ctx, obj);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_admin_routes[] = {
    { NGX_HTTP_POST, "/admin/departments", ngx_http_youdu_dept_create,
      YD_AUTH_ADMIN, 64 * 1024, 0 },
    { NGX_HTTP_PATCH, "/admin/departments/:id", ngx_http_youdu_dept_update,
      YD_AUTH_ADMIN, 64 * 1024, 0 },
    { NGX_HTTP_DELETE, "/admin/departments/:id", ngx_http_youdu_dept_delete,
      YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_POST, "/admin/users", ngx_http_youdu_admin_user_create,
      YD_AUTH_ADMIN, 64 * 1024, 0 },
    { NGX_HTTP_PATCH, "/admin/users/:id", ngx_http_youdu_admin_user_update,
      YD_AUTH_ADMIN, 64 * 1024, 0 },
    { NGX_HTTP_DELETE, "/admin/users/:id", ngx_http_youdu_admin_user_delete,
      YD_AUTH_ADMIN, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
