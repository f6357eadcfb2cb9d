
/*
 * youdu: the /cgi department and user objects (PROTOCOL.md 4.4, 4.5, and
 * the checklist of section 7: arrays never null, strings never null).
 * Apps see the org as an administrator does: nothing is masked.
 */


#include "ngx_http_youdu_cgi_org.h"


#define YD_CGI_USER_COLS                                                     \
    "u.id, u.account, u.name, u.gender, IFNULL(u.mobile, ''), u.phone, "     \
    "u.email, u.enable_state, u.short_code"


static ngx_int_t yd_cgi_users_sql(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_users_t *us, const char *head, const char *tail);
static json_t *yd_cgi_users_find(yd_cgi_users_t *us,
    ngx_youdu_db_result_t *res, ngx_uint_t row);


json_t *
yd_cgi_dept_json(ngx_youdu_db_result_t *res, ngx_uint_t row)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}",
                     "id", yd_json_cell_int(res, row, 0),
                     "parentId", yd_json_cell_int(res, row, 1),
                     "name", yd_json_cell(res, row, 2),
                     "sortId", yd_json_cell_int(res, row, 3),
                     "alias", yd_json_cell(res, row, 4));
}


static ngx_int_t
yd_cgi_users_sql(ngx_http_youdu_ctx_t *ctx, yd_cgi_users_t *us,
    const char *head, const char *tail)
{
    u_char  *sql, *p;
    size_t   len;

    len = ngx_strlen(head) + ngx_strlen(us->where) + ngx_strlen(tail) + 1;

    sql = ngx_pnalloc(ctx->pool, len);
    if (sql == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(sql, head, ngx_strlen(head));
    p = ngx_cpymem(p, us->where, ngx_strlen(us->where));
    p = ngx_cpymem(p, tail, ngx_strlen(tail));
    *p = '\0';

    return yd_sql_params(ctx, (char *) sql, us->params, us->nparams, 0);
}


static json_t *
yd_cgi_users_find(yd_cgi_users_t *us, ngx_youdu_db_result_t *res,
    ngx_uint_t row)
{
    ngx_str_t  *id;

    id = yd_cell(res, row, 0);

    return id->data ? json_object_get(us->by_id, (char *) id->data) : NULL;
}


/* the users of us->where (not quit), with memberships and attributes */

ngx_int_t
yd_cgi_users_load(ngx_http_youdu_ctx_t *ctx, yd_cgi_users_t *us,
    ngx_uint_t step)
{
    json_t                 *u, *a, *m;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_cgi_users_sql(ctx, us,
            "SELECT " YD_CGI_USER_COLS " FROM users u "
            "WHERE u.quit_at IS NULL AND ", " ORDER BY u.id");

    case 1:
        us->list = yd_org_keep(ctx, json_array());
        us->by_id = yd_org_keep(ctx, json_object());
        if (us->list == NULL || us->by_id == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            u = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
                          "s:[],s:[],s:[]}",
                          "gid", yd_json_cell_int(res, i, 0),
                          "userId", yd_json_cell(res, i, 1),
                          "name", yd_json_cell(res, i, 2),
                          "gender", yd_json_cell_int(res, i, 3),
                          "mobile", yd_json_cell(res, i, 4),
                          "phone", yd_json_cell(res, i, 5),
                          "email", yd_json_cell(res, i, 6),
                          "enableState", yd_json_cell_int(res, i, 7),
                          "shortCode", yd_json_cell(res, i, 8),
                          "dept", "deptDetail", "attrs");
            if (u == NULL) {
                return NGX_ERROR;
            }

            json_object_set(us->by_id, (char *) yd_cell(res, i, 0)->data, u);
            json_array_append_new(us->list, u);
        }

        if (res->nrows == 0) {
            return NGX_OK;
        }

        return yd_cgi_users_sql(ctx, us,
            "SELECT ud.user_id, ud.dept_id, d.name, ud.position, ud.weight, "
            "ud.sort_id FROM user_depts ud "
            "JOIN departments d ON d.id = ud.dept_id "
            "JOIN users u ON u.id = ud.user_id "
            "WHERE u.quit_at IS NULL AND ",
            " ORDER BY ud.user_id, d.depth, ud.dept_id");

    case 2:
        for (i = 0; i < res->nrows; i++) {
            u = yd_cgi_users_find(us, res, i);
            if (u == NULL) {
                continue;
            }

            m = json_pack("{s:o,s:o,s:o,s:o,s:o}",
                          "deptId", yd_json_cell_int(res, i, 1),
                          "deptName", yd_json_cell(res, i, 2),
                          "position", yd_json_cell(res, i, 3),
                          "weight", yd_json_cell_int(res, i, 4),
                          "sortId", yd_json_cell_int(res, i, 5));
            if (m == NULL) {
                return NGX_ERROR;
            }

            json_array_append_new(json_object_get(u, "deptDetail"), m);
            json_array_append_new(json_object_get(u, "dept"),
                                  yd_json_cell_int(res, i, 1));
        }

        return yd_cgi_users_sql(ctx, us,
            "SELECT a.user_id, a.name, a.value FROM user_attrs a "
            "JOIN users u ON u.id = a.user_id WHERE u.quit_at IS NULL AND ",
            " ORDER BY a.user_id, a.seq");

    default:
        for (i = 0; i < res->nrows; i++) {
            u = yd_cgi_users_find(us, res, i);
            if (u == NULL) {
                continue;
            }

            a = json_pack("{s:o,s:o}", "name", yd_json_cell(res, i, 1),
                          "value", yd_json_cell(res, i, 2));
            if (a == NULL) {
                return NGX_ERROR;
            }

            json_array_append_new(json_object_get(u, "attrs"), a);
        }

        return NGX_OK;
    }
}


ngx_int_t
yd_cgi_users_reply(ngx_http_youdu_ctx_t *ctx, yd_cgi_users_t *us)
{
    return yd_cgi_ok(ctx, json_pack("{s:O}", "userList", us->list));
}
