
/*
 * youdu: /cgi/dept/... (PROTOCOL.md 4.4).  Department ids are ours (the root
 * is 0); a sortId is unique among siblings when the app gives one, and
 * assigned (last + 1) when it does not.
 */


#include "ngx_http_youdu_cgi_org.h"


#define YD_DEPT_ID_MAX  2147483647


typedef struct {
    yd_cgi_org_w_t            w;         /* first: ctx->data is both */
    int64_t                   id;
    int64_t                   parent_id;
    int64_t                   sort_id;
    int64_t                   behind;
    ngx_str_t                 name;
    ngx_str_t                 alias;
    ngx_str_t                 parent_path;
    ngx_str_t                 old_path;
    ngx_str_t                 new_path;
    int64_t                   parent_depth;
    int64_t                   depth_delta;
    unsigned                  has_id:1;
    unsigned                  has_parent:1;
    unsigned                  has_sort:1;
    unsigned                  has_name:1;
    unsigned                  has_alias:1;
    unsigned                  move:1;
} yd_cgi_dept_t;


typedef struct {
    int64_t                   id;
    ngx_str_t                 alias;
    ngx_str_t                 path;
    yd_cgi_users_t            users;
    json_t                   *obj;
} yd_cgi_dept_read_t;


static yd_cgi_dept_t *yd_cgi_dept_new(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_writes_pt writes, const char *action);
static ngx_int_t yd_cgi_dept_parse(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_dept_t *d, ngx_uint_t create);
static ngx_int_t yd_cgi_dept_target(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_dept_t *d, const char *root_refusal);
static ngx_int_t yd_cgi_dept_id(ngx_http_youdu_ctx_t *ctx, const char *key,
    int64_t *id);
static ngx_int_t yd_cgi_dept_create_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_dept_update_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_dept_delete_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_dept_sort_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_dept_listing(ngx_http_youdu_ctx_t *ctx,
    const char *sql, ngx_uint_t with_self);
static json_t *yd_cgi_dept_list_json(ngx_youdu_db_result_t *res);


static yd_cgi_dept_t *
yd_cgi_dept_new(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_writes_pt writes,
    const char *action)
{
    yd_cgi_dept_t  *d;

    d = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_dept_t));
    if (d == NULL) {
        return NULL;
    }

    d->w.writes = writes;
    d->w.action = action;
    ctx->data = d;

    return d;
}


/* the department a delete or sort acts on: "id", present and not the root */

static ngx_int_t
yd_cgi_dept_target(ngx_http_youdu_ctx_t *ctx, yd_cgi_dept_t *d,
    const char *root_refusal)
{
    ngx_int_t  rc;

    rc = yd_cgi_dept_id(ctx, "id", &d->id);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTID, "id is missing");
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (d->id == 0) {
        return yd_cgi_fail(ctx, YD_CGI_DEPT_ROOT_FORBIDDEN,
                           "the root department %s", root_refusal);
    }

    return NGX_OK;
}


/* a department id: NGX_OK, NGX_DECLINED (absent) or NGX_DONE (replied) */

static ngx_int_t
yd_cgi_dept_id(ngx_http_youdu_ctx_t *ctx, const char *key, int64_t *id)
{
    *id = 0;

    return yd_cgi_org_int(ctx, key, 0, YD_DEPT_ID_MAX,
                          YD_CGI_INVALID_FORMAT_DEPTID, id);
}


static ngx_int_t
yd_cgi_dept_parse(ngx_http_youdu_ctx_t *ctx, yd_cgi_dept_t *d,
    ngx_uint_t create)
{
    ngx_int_t  rc;

    rc = yd_cgi_dept_id(ctx, "id", &d->id);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    /* create: 0 or absent lets us choose */
    d->has_id = (rc == NGX_OK && d->id != 0);

    if (!create && rc != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTID, "id is missing");
    }

    if (!create && d->id == 0) {
        return yd_cgi_fail(ctx, YD_CGI_DEPT_ROOT_FORBIDDEN,
                           "the root department (id 0) cannot be changed");
    }

    rc = yd_cgi_org_str(ctx, "name", 32, YD_CGI_INVALID_FORMAT_DEPTNAME,
                        YD_CGI_OVERLIMIT_DEPTNAME, &d->name);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    d->has_name = (rc == NGX_OK);

    if (create && !d->has_name) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTNAME, "name is missing");
    }

    if (d->has_name
        && ngx_strlchr(d->name.data, d->name.data + d->name.len, '/'))
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTNAME,
                           "name must not contain \"/\"");
    }

    rc = yd_cgi_org_int(ctx, "parentId", 0, YD_DEPT_ID_MAX,
                        YD_CGI_INVALID_FORMAT_DEPTPARENTID, &d->parent_id);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    d->has_parent = (rc == NGX_OK);

    if (create && !d->has_parent) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTPARENTID,
                           "parentId is missing (0 is the root)");
    }

    rc = yd_cgi_org_int(ctx, "sortId", -2147483647 - 1LL, 2147483647,
                        YD_CGI_INVALID_FORMAT_DEPTSORTID, &d->sort_id);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    /* 0: not given (ADD sends every field) */
    d->has_sort = (rc == NGX_OK && d->sort_id != 0);

    rc = yd_cgi_org_str(ctx, "alias", 64, YD_CGI_INVALID_DEPTALIAS,
                        YD_CGI_INVALID_DEPTALIAS, &d->alias);

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    d->has_alias = (rc == NGX_OK);

    if (!d->has_alias) {
        ngx_str_set(&d->alias, "");
    }

    d->w.target = d->id;
    d->w.detail = json_deep_copy(ctx->cgi->data);

    return NGX_OK;
}


ngx_int_t
ngx_http_youdu_cgi_dept_create(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t       rc;
    yd_cgi_dept_t  *d = ctx->data;

    if (ctx->stage == 0) {
        d = yd_cgi_dept_new(ctx, yd_cgi_dept_create_w, "cgi.dept.create");
        if (d == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_dept_parse(ctx, d, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        d->w.reply = yd_cgi_org_reply_id;
    }

    return yd_cgi_org_run(ctx, &d->w);
}


static ngx_int_t
yd_cgi_dept_create_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    yd_cgi_dept_t          *d = (yd_cgi_dept_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        /* inside the org lock: these answers hold until commit */
        return yd_sql(ctx,
            "SELECT (SELECT path FROM departments WHERE id = ?), "
            "(SELECT depth FROM departments WHERE id = ?), "
            "(SELECT COUNT(*) FROM departments WHERE id = ?), "
            "(SELECT COUNT(*) FROM departments WHERE alias = ? AND ? <> ''), "
            "(SELECT IFNULL(MAX(id), 0) + 1 FROM departments), "
            "(SELECT COUNT(*) FROM departments WHERE parent_id = ? "
            "AND sort_id = ?), "
            "(SELECT IFNULL(MAX(sort_id), 0) + 1 FROM departments "
            "WHERE parent_id = ?)",
            "iiissiii", d->parent_id, d->parent_id, d->id, &d->alias,
            &d->alias, d->parent_id, d->sort_id, d->parent_id);

    case 1:
        if (yd_cell(res, 0, 0)->data == NULL) {
            return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_PARENTDEPT,
                               "parent department %L does not exist",
                               d->parent_id);
        }

        if (d->has_id && yd_int(res, 0, 2)) {
            return yd_cgi_fail(ctx, YD_CGI_EXIST_DEPT,
                               "department id %L exists", d->id);
        }

        if (yd_int(res, 0, 3)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTALIAS,
                               "alias \"%V\" is used by another department",
                               &d->alias);
        }

        if (d->has_sort && yd_int(res, 0, 5)) {
            return yd_cgi_fail(ctx, YD_CGI_EXIST_DEPT_SORTID,
                               "sortId %L is taken by a sibling",
                               d->sort_id);
        }

        if (!d->has_id) {
            d->id = yd_int(res, 0, 4);

            if (d->id > YD_DEPT_ID_MAX) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTID,
                                   "no free department id: send one");
            }
        }

        if (!d->has_sort) {
            d->sort_id = yd_int(res, 0, 6);
        }

        w->target = d->id;
        d->parent_path = *yd_cell(res, 0, 0);
        d->parent_depth = yd_int(res, 0, 1);

        return yd_sql(ctx,
            "INSERT INTO departments (id, parent_id, name, sort_id, alias, "
            "path, depth, version, updated_at) "
            "VALUES (?, ?, ?, ?, NULLIF(?, ''), CONCAT(?, ?, '/'), ?, ?, "
            "UTC_TIMESTAMP())",
            "iisissiii", d->id, d->parent_id, &d->name, d->sort_id,
            &d->alias, &d->parent_path, d->id, d->parent_depth + 1,
            w->version);

    case 2:
        return yd_org_change(ctx, w->version, YD_ORG_KIND_DEPT, d->id,
                             YD_ORG_OP_UPSERT);

    default:
        return NGX_OK;
    }
}


ngx_int_t
ngx_http_youdu_cgi_dept_update(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t       rc;
    yd_cgi_dept_t  *d = ctx->data;

    if (ctx->stage == 0) {
        d = yd_cgi_dept_new(ctx, yd_cgi_dept_update_w, "cgi.dept.update");
        if (d == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_dept_parse(ctx, d, 0);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return yd_cgi_org_run(ctx, &d->w);
}


static ngx_int_t
yd_cgi_dept_update_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    ngx_str_t              *pp;
    yd_cgi_dept_t          *d = (yd_cgi_dept_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "SELECT d.path, d.depth, d.parent_id, p.path, p.depth, "
            "(SELECT COUNT(*) FROM departments WHERE alias = ? AND id <> ? "
            "AND ? <> ''), "
            "(SELECT COUNT(*) FROM departments s "
            "WHERE s.parent_id = COALESCE(?, d.parent_id) AND s.sort_id = ? "
            "AND s.id <> d.id) "
            "FROM departments d LEFT JOIN departments p ON p.id = ? "
            "WHERE d.id = ?",
            "sisnii" "i",
            &d->alias, d->id, &d->alias,
            d->has_parent ? yd_int_str(ctx->pool, d->parent_id) : NULL,
            d->sort_id, d->has_parent ? d->parent_id : (int64_t) -1, d->id);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "department %L does not exist", d->id);
        }

        d->old_path = *yd_cell(res, 0, 0);
        pp = yd_cell(res, 0, 3);

        if (d->has_parent && yd_int(res, 0, 2) != d->parent_id) {
            if (pp->data == NULL) {
                return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_PARENTDEPT,
                                   "parent department %L does not exist",
                                   d->parent_id);
            }

            /* the new parent must not lie inside the moved subtree */
            if (pp->len >= d->old_path.len
                && ngx_strncmp(pp->data, d->old_path.data,
                               d->old_path.len) == 0)
            {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTPARENTID,
                                   "a department cannot move under itself "
                                   "or one of its sub-departments");
            }

            d->move = 1;
            d->depth_delta = yd_int(res, 0, 4) + 1 - yd_int(res, 0, 1);

            d->new_path.data = ngx_pnalloc(ctx->pool,
                                           pp->len + NGX_INT64_LEN + 2);
            if (d->new_path.data == NULL) {
                return NGX_ERROR;
            }

            d->new_path.len = ngx_sprintf(d->new_path.data, "%V%L/", pp,
                                          d->id)
                              - d->new_path.data;
        }

        if (yd_int(res, 0, 5)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTALIAS,
                               "alias \"%V\" is used by another department",
                               &d->alias);
        }

        if (d->has_sort && yd_int(res, 0, 6)) {
            return yd_cgi_fail(ctx, YD_CGI_EXIST_DEPT_SORTID,
                               "sortId %L is taken by a sibling",
                               d->sort_id);
        }

        if (!d->move) {
            d->new_path = d->old_path;
        }

        return yd_sql(ctx,
            "UPDATE departments SET name = COALESCE(?, name), "
            "sort_id = COALESCE(?, sort_id), "
            "alias = IF(? = 1, ?, alias), "
            "parent_id = COALESCE(?, parent_id), "
            "version = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "nnisnii",
            d->has_name ? &d->name : NULL,
            d->has_sort ? yd_int_str(ctx->pool, d->sort_id) : NULL,
            (int64_t) d->has_alias, &d->alias,
            d->has_parent ? yd_int_str(ctx->pool, d->parent_id) : NULL,
            w->version, d->id);

    case 2:
        if (!d->move) {
            w->step = 4;
            return yd_org_change(ctx, w->version, YD_ORG_KIND_DEPT, d->id,
                                 YD_ORG_OP_UPSERT);
        }

        /* the whole subtree gets the new prefix in one statement */
        return yd_sql(ctx,
            "UPDATE departments SET "
            "path = CONCAT(?, SUBSTRING(path, LENGTH(?) + 1)), "
            "depth = CAST(depth AS SIGNED) + ?, version = ?, "
            "updated_at = UTC_TIMESTAMP() "
            "WHERE path LIKE CONCAT(?, '%')",
            "ssiis", &d->new_path, &d->old_path, d->depth_delta, w->version,
            &d->old_path);

    case 3:
        return yd_sql(ctx,
            "INSERT INTO org_changes (version, kind, target_id, op) "
            "SELECT ?, 1, id, 1 FROM departments "
            "WHERE path LIKE CONCAT(?, '%')",
            "is", w->version, &d->new_path);

    default:
        return NGX_OK;
    }
}


ngx_int_t
ngx_http_youdu_cgi_dept_delete(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t       rc;
    yd_cgi_dept_t  *d = ctx->data;

    if (ctx->stage == 0) {
        d = yd_cgi_dept_new(ctx, yd_cgi_dept_delete_w, "cgi.dept.delete");
        if (d == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_dept_target(ctx, d, "cannot be deleted");
        if (rc != NGX_OK) {
            return rc;
        }

        d->w.target = d->id;
    }

    return yd_cgi_org_run(ctx, &d->w);
}


static ngx_int_t
yd_cgi_dept_delete_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    yd_cgi_dept_t          *d = (yd_cgi_dept_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "SELECT (SELECT COUNT(*) FROM departments WHERE id = ?), "
            "(SELECT COUNT(*) FROM departments WHERE parent_id = ?), "
            "(SELECT COUNT(*) FROM user_depts WHERE dept_id = ?)",
            "iii", d->id, d->id, d->id);

    case 1:
        if (yd_int(res, 0, 0) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "department %L does not exist", d->id);
        }

        if (yd_int(res, 0, 1)) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_HAS_SUBDEPT,
                               "department %L has %L sub-departments: move "
                               "or delete them first", d->id,
                               yd_int(res, 0, 1));
        }

        if (yd_int(res, 0, 2)) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_HAS_USERS,
                               "department %L has %L members: move them "
                               "first", d->id, yd_int(res, 0, 2));
        }

        return yd_sql(ctx, "DELETE FROM departments WHERE id = ?", "i",
                      d->id);

    case 2:
        return yd_org_change(ctx, w->version, YD_ORG_KIND_DEPT, d->id,
                             YD_ORG_OP_DELETE);

    default:
        return NGX_OK;
    }
}


/* {"id","behindDeptId"}: id moves right after behindDeptId among its
 * siblings (0: first); the siblings are renumbered 1..n */

ngx_int_t
ngx_http_youdu_cgi_dept_sort(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t       rc;
    yd_cgi_dept_t  *d = ctx->data;

    if (ctx->stage == 0) {
        d = yd_cgi_dept_new(ctx, yd_cgi_dept_sort_w, "cgi.dept.sort");
        if (d == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_dept_target(ctx, d, "has no siblings");
        if (rc != NGX_OK) {
            return rc;
        }

        rc = yd_cgi_dept_id(ctx, "behindDeptId", &d->behind);

        if (rc == NGX_DONE) {
            return rc;
        }

        if (d->behind == d->id) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTID,
                               "behindDeptId must be another department");
        }

        d->w.target = d->id;
        d->w.detail = json_pack("{s:I,s:I}", "id", (json_int_t) d->id,
                                "behindDeptId", (json_int_t) d->behind);
        d->w.reply = yd_cgi_org_reply_empty;
    }

    return yd_cgi_org_run(ctx, &d->w);
}


static ngx_int_t
yd_cgi_dept_sort_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    char                   *sql;
    int64_t                 sib;
    ngx_uint_t              i, n, k;
    yd_cgi_dept_t          *d = (yd_cgi_dept_t *) w;
    ngx_youdu_db_param_t   *p;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "SELECT d.parent_id, (SELECT parent_id FROM departments "
            "WHERE id = ?) FROM departments d WHERE d.id = ?",
            "ii", d->behind, d->id);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "department %L does not exist", d->id);
        }

        d->parent_id = yd_int(res, 0, 0);

        if (d->behind
            && (yd_cell(res, 0, 1)->data == NULL
                || yd_int(res, 0, 1) != d->parent_id))
        {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTID,
                               "behindDeptId %L is not a sibling of "
                               "department %L", d->behind, d->id);
        }

        return yd_sql(ctx,
            "SELECT id FROM departments WHERE parent_id = ? "
            "ORDER BY sort_id, id", "i", d->parent_id);

    case 2:
        n = res->nrows;

        sql = yd_org_placeholders(ctx->pool,
            "UPDATE departments SET sort_id = CASE id",
            " WHEN ? THEN ?", "", n,
            " END, version = ?, updated_at = UTC_TIMESTAMP() "
            "WHERE parent_id = ?");
        p = ngx_pcalloc(ctx->pool, (2 * n + 2) * sizeof(ngx_youdu_db_param_t));
        if (sql == NULL || p == NULL) {
            return NGX_ERROR;
        }

        k = 0;

        if (d->behind == 0) {
            p[0].value = *yd_int_str(ctx->pool, d->id);
            k = 1;
        }

        for (i = 0; i < n; i++) {
            sib = yd_int(res, i, 0);

            if (sib == d->id) {
                continue;
            }

            p[2 * k].value = *yd_cell(res, i, 0);
            k++;

            if (sib == d->behind) {
                p[2 * k].value = *yd_int_str(ctx->pool, d->id);
                k++;
            }
        }

        for (i = 0; i < n; i++) {
            p[2 * i + 1].value = *yd_int_str(ctx->pool, (int64_t) i + 1);
        }

        p[2 * n].value = *yd_int_str(ctx->pool, w->version);
        p[2 * n + 1].value = *yd_int_str(ctx->pool, d->parent_id);

        return yd_sql_params(ctx, sql, p, 2 * n + 2, 0);

    case 3:
        return yd_sql(ctx,
            "INSERT INTO org_changes (version, kind, target_id, op) "
            "SELECT ?, 1, id, 1 FROM departments WHERE parent_id = ?",
            "ii", w->version, d->parent_id);

    default:
        return NGX_OK;
    }
}


/* reads */


static json_t *
yd_cgi_dept_list_json(ngx_youdu_db_result_t *res)
{
    json_t      *list;
    ngx_uint_t   i;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < res->nrows; i++) {
        json_array_append_new(list, yd_cgi_dept_json(res, i));
    }

    return list;
}


ngx_int_t
ngx_http_youdu_cgi_dept_get(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t             rc;
    yd_cgi_dept_read_t   *rd = ctx->data;

    switch (ctx->stage) {

    case 0:
        rd = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_dept_read_t));
        if (rd == NULL) {
            return NGX_ERROR;
        }

        ctx->data = rd;

        rc = yd_cgi_dept_id(ctx, "id", &rd->id);

        if (rc == NGX_DECLINED) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTID, "id is missing");
        }

        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx,
            "SELECT " YD_CGI_DEPT_COLS " FROM departments d WHERE d.id = ?",
            "i", rd->id);

    default:
        if (ctx->res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "department %L does not exist", rd->id);
        }

        return yd_cgi_ok(ctx, yd_cgi_dept_json(ctx->res, 0));
    }
}


/* id (0: root) must exist; sql lists departments by one "?" = id */

static ngx_int_t
yd_cgi_dept_listing(ngx_http_youdu_ctx_t *ctx, const char *sql,
    ngx_uint_t with_self)
{
    json_t              *list;
    ngx_int_t            rc;
    yd_cgi_dept_read_t  *rd = ctx->data;

    switch (ctx->stage) {

    case 0:
        rd = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_dept_read_t));
        if (rd == NULL) {
            return NGX_ERROR;
        }

        ctx->data = rd;

        rc = yd_cgi_dept_id(ctx, "id", &rd->id);

        /* huangdijia/youdu's getId() asks dept/list?alias= */
        if (rc == NGX_DECLINED && with_self
            && yd_cgi_str(ctx, "alias", &rd->alias) == NGX_OK)
        {
            return yd_sql(ctx,
                "SELECT " YD_CGI_DEPT_COLS ", d.path FROM departments d "
                "WHERE d.alias = ?", "s", &rd->alias);
        }

        if (rc == NGX_DECLINED) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTID,
                               "id is missing (0 is the root)");
        }

        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx,
            "SELECT " YD_CGI_DEPT_COLS ", d.path FROM departments d "
            "WHERE d.id = ?", "i", rd->id);

    case 1:
        if (ctx->res->nrows == 0) {
            return rd->alias.len
                   ? yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                                 "no department has the alias \"%V\"",
                                 &rd->alias)
                   : yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                                 "department %L does not exist", rd->id);
        }

        rd->id = yd_int(ctx->res, 0, 0);
        rd->path = *yd_cell(ctx->res, 0, 5);
        rd->obj = yd_org_keep(ctx, json_array());
        if (rd->obj == NULL) {
            return NGX_ERROR;
        }

        if (with_self) {
            json_array_append_new(rd->obj, yd_cgi_dept_json(ctx->res, 0));
        }

        return yd_sql(ctx, sql, "is", rd->id, &rd->path);

    default:
        list = yd_cgi_dept_list_json(ctx->res);
        rc = (list == NULL || json_array_extend(rd->obj, list) != 0);

        if (list) {
            json_decref(list);
        }

        if (rc) {
            return NGX_ERROR;
        }

        return yd_cgi_ok(ctx, rd->alias.len
                              ? json_pack("{s:I,s:O}", "id",
                                          (json_int_t) rd->id, "deptList",
                                          rd->obj)
                              : json_pack("{s:O}", "deptList", rd->obj));
    }
}


#define YD_CGI_CHILDREN_SQL                                                  \
    "SELECT " YD_CGI_DEPT_COLS " FROM departments d "                        \
    "WHERE d.parent_id = ? AND ? <> '' ORDER BY d.sort_id, d.id"


ngx_int_t
ngx_http_youdu_cgi_dept_list(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_dept_listing(ctx, YD_CGI_CHILDREN_SQL, 1);
}


ngx_int_t
ngx_http_youdu_cgi_dept_children(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_dept_listing(ctx, YD_CGI_CHILDREN_SQL, 0);
}


ngx_int_t
ngx_http_youdu_cgi_dept_all_children(ngx_http_youdu_ctx_t *ctx)
{
    /* parents before children */
    return yd_cgi_dept_listing(ctx,
        "SELECT " YD_CGI_DEPT_COLS " FROM departments d "
        "WHERE d.id <> ? AND d.path LIKE CONCAT(?, '%') "
        "ORDER BY d.depth, d.parent_id, d.sort_id, d.id", 0);
}


/* with an alias: {"id"}; without: {"aliasList":[{"id","alias"}]}.
 * ORGPHP sends the alias as "id" */

ngx_int_t
ngx_http_youdu_cgi_dept_getid(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *list;
    ngx_int_t               rc;
    ngx_str_t              *alias;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    static const char  *keys[] = { "alias", "id", NULL };

    switch (ctx->stage) {

    case 0:
        alias = ngx_pcalloc(ctx->pool, sizeof(ngx_str_t));
        if (alias == NULL) {
            return NGX_ERROR;
        }

        ctx->data = alias;

        rc = yd_cgi_str_any(ctx, keys, alias);

        if (rc == NGX_ERROR) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_DEPTALIAS,
                               "alias must be a string");
        }

        if (rc == NGX_DECLINED) {
            ctx->stage = 1;
            return yd_sql(ctx,
                "SELECT id, alias FROM departments WHERE alias IS NOT NULL "
                "ORDER BY id", "");
        }

        return yd_sql(ctx, "SELECT id FROM departments WHERE alias = ?",
                      "s", alias);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "no department has the alias \"%V\"",
                               (ngx_str_t *) ctx->data);
        }

        return yd_cgi_ok(ctx, json_pack("{s:o}", "id",
                                        yd_json_cell_int(res, 0, 0)));

    default:
        list = json_array();
        if (list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            json_array_append_new(list, json_pack("{s:o,s:o}",
                                  "id", yd_json_cell_int(res, i, 0),
                                  "alias", yd_json_cell(res, i, 1)));
        }

        return yd_cgi_ok(ctx, json_pack("{s:o}", "aliasList", list));
    }
}


/* one level of the tree as userId would see it: the sub-departments and
 * the direct members of deptId.  There are no per-user visibility rules
 * yet, so everybody sees everything. */

ngx_int_t
ngx_http_youdu_cgi_dept_expand(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_str_t            uid;
    yd_cgi_dept_read_t  *rd = ctx->data;

    switch (ctx->stage) {

    case 0:
        rd = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_dept_read_t));
        if (rd == NULL) {
            return NGX_ERROR;
        }

        ctx->data = rd;

        if (yd_cgi_org_uid(ctx, "userId", &uid) != NGX_OK) {
            return NGX_DONE;
        }

        rc = yd_cgi_dept_id(ctx, "deptId", &rd->id);

        if (rc == NGX_DONE) {
            return rc;
        }

        return yd_sql(ctx,
            "SELECT (SELECT COUNT(*) FROM users WHERE account = ? "
            "AND quit_at IS NULL), "
            "(SELECT COUNT(*) FROM departments WHERE id = ?)",
            "si", &uid, rd->id);

    case 1:
        if (yd_int(ctx->res, 0, 0) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "userId does not exist");
        }

        if (yd_int(ctx->res, 0, 1) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "department %L does not exist", rd->id);
        }

        return yd_sql(ctx, YD_CGI_CHILDREN_SQL, "is", rd->id,
                      yd_pstr(ctx->pool, "/"));

    case 2:
        rd->obj = yd_org_keep(ctx, yd_cgi_dept_list_json(ctx->res));
        if (rd->obj == NULL) {
            return NGX_ERROR;
        }

        rd->users.where = "u.id IN (SELECT user_id FROM user_depts "
                          "WHERE dept_id = ?)";
        rd->users.params = ngx_pcalloc(ctx->pool,
                                       sizeof(ngx_youdu_db_param_t));
        if (rd->users.params == NULL) {
            return NGX_ERROR;
        }

        rd->users.params[0].value = *yd_int_str(ctx->pool, rd->id);
        rd->users.nparams = 1;

        /* fall through */

    default:
        rc = yd_cgi_users_load(ctx, &rd->users, ctx->stage - 2);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_cgi_ok(ctx, json_pack("{s:O,s:O}", "deptList", rd->obj,
                                        "userList", rd->users.list));
    }
}
