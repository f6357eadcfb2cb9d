
/*
 * youdu HTTP module: the change feed, so clients keep their copy of the org
 * chart in step: what changed after the version they have, collapsed per
 * entity to its current state.
 */


#include "ngx_http_youdu_org.h"


#define YD_CHANGES_DEFAULT   1000
#define YD_CHANGES_MAX       5000


typedef struct {
    int64_t                   since;
    int64_t                   limit;
    int64_t                   current;
    int64_t                   upto;
    ngx_uint_t                has_more;
    json_t                   *obj;
    ngx_youdu_db_result_t    *ures;
} ngx_http_youdu_changes_t;


static json_t *yd_changes_members(ngx_youdu_db_result_t *mres,
    ngx_uint_t *mi, int64_t uid);


/* the memberships of user uid from rows ordered by user id */

static json_t *
yd_changes_members(ngx_youdu_db_result_t *mres, ngx_uint_t *mi, int64_t uid)
{
    json_t  *list, *m;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    while (*mi < mres->nrows && yd_int(mres, *mi, 0) < uid) {
        (*mi)++;
    }

    while (*mi < mres->nrows && yd_int(mres, *mi, 0) == uid) {
        m = json_object();
        if (m == NULL) {
            json_decref(list);
            return NULL;
        }

        json_object_set_new(m, "dept_id", yd_json_cell_int(mres, *mi, 1));
        json_object_set_new(m, "position", yd_json_cell(mres, *mi, 2));
        json_object_set_new(m, "weight", yd_json_cell_int(mres, *mi, 3));
        json_object_set_new(m, "sort_id", yd_json_cell_int(mres, *mi, 4));

        json_array_append_new(list, m);
        (*mi)++;
    }

    return list;
}


ngx_int_t
ngx_http_youdu_org_changes(ngx_http_youdu_ctx_t *ctx)
{
    json_t                    *list, *dl, *u;
    int64_t                    v;
    ngx_int_t                  rc;
    ngx_str_t                  raw;
    ngx_uint_t                 i, n, mi, live;
    ngx_youdu_db_result_t     *res = ctx->res;
    ngx_http_youdu_changes_t  *ch = ctx->data;

    switch (ctx->stage) {

    case 0:
        ch = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_changes_t));
        if (ch == NULL) {
            return NGX_ERROR;
        }

        ctx->data = ch;

        if (ngx_http_arg(ctx->r, (u_char *) "since", 5, &raw) != NGX_OK
            || raw.len == 0)
        {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                            "query parameter \"since\" (the version you "
                            "have) is required");
        }

        if ((rc = yd_query_int(ctx, "since", 0, -1000000000000000000LL,
                               1000000000000000000LL, &ch->since)) != NGX_OK
            || (rc = yd_query_int(ctx, "limit", YD_CHANGES_DEFAULT, 1,
                                  YD_CHANGES_MAX, &ch->limit)) != NGX_OK)
        {
            return rc == NGX_ERROR ? NGX_ERROR : NGX_DONE;
        }

        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    case 1:
        ch->current = yd_int(res, 0, 0);

        if (ch->since < 0 || ch->since > ch->current) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CHANGES_GONE,
                            "changes since version %L are not available: "
                            "fetch /org/snapshot and continue from its "
                            "version", ch->since);
        }

        /* one row more than asked tells whether more follow */
        return yd_sql(ctx,
            "SELECT version FROM org_changes WHERE version > ? "
            "ORDER BY version, kind, target_id LIMIT ?",
            "ii", ch->since, ch->limit + 1);

    case 2:
        ch->obj = yd_org_keep(ctx, json_object());
        if (ch->obj == NULL) {
            return NGX_ERROR;
        }

        n = res->nrows;

        if (n == 0) {
            ch->upto = ch->current > ch->since ? ch->current : ch->since;

            json_object_set_new(ch->obj, "version", json_integer(ch->upto));
            json_object_set_new(ch->obj, "has_more", json_false());
            json_object_set_new(ch->obj, "departments", json_array());
            json_object_set_new(ch->obj, "users", json_array());
            json_object_set_new(ch->obj, "deleted_departments", json_array());
            json_object_set_new(ch->obj, "deleted_users", json_array());

            return yd_ok(ctx, json_incref(ch->obj));
        }

        if ((int64_t) n <= ch->limit) {
            ch->upto = yd_int(res, n - 1, 0);

        } else {
            /* whole versions only: drop a version cut by the limit, unless
             * it alone is larger than the limit */
            ch->has_more = 1;
            ch->upto = yd_int(res, n - 2, 0);

            if (yd_int(res, n - 1, 0) == ch->upto) {
                for (i = n - 1; i > 0; i--) {
                    v = yd_int(res, i - 1, 0);
                    if (v < ch->upto) {
                        ch->upto = v;
                        break;
                    }
                }

                if (i == 0) {
                    /* the limit's worth of one version: take all of it */
                    ch->has_more = 0;
                }
            }
        }

        return yd_sql(ctx,
            "SELECT c.target_id, d.id IS NULL, " YD_DEPT_COLS " FROM "
            "(SELECT DISTINCT target_id FROM org_changes "
            "WHERE kind = 1 AND version > ? AND version <= ?) c "
            "LEFT JOIN departments d ON d.id = c.target_id "
            "ORDER BY d.depth, d.parent_id, d.sort_id, c.target_id",
            "ii", ch->since, ch->upto);

    case 3:
        list = json_array();
        dl = json_array();
        if (list == NULL || dl == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            if (yd_int(res, i, 1)) {
                json_array_append_new(dl, yd_json_cell_int(res, i, 0));
            } else {
                json_array_append_new(list, yd_org_dept_json(res, i, 2));
            }
        }

        json_object_set_new(ch->obj, "departments", list);
        json_object_set_new(ch->obj, "deleted_departments", dl);

        /* disabled users leave employees' address books */
        return yd_sql(ctx,
            "SELECT c.target_id, (u.id IS NULL OR "
            "(u.enable_state = -1 AND ? = 0)), " YD_USER_COLS " FROM "
            "(SELECT DISTINCT target_id FROM org_changes "
            "WHERE kind = 2 AND version > ? AND version <= ?) c "
            "LEFT JOIN users u ON u.id = c.target_id ORDER BY c.target_id",
            "iii", (int64_t) yd_org_viewer_admin(ctx), ch->since, ch->upto);

    case 4:
        ch->ures = res;
        live = 0;

        for (i = 0; i < res->nrows; i++) {
            if (yd_int(res, i, 1) == 0) {
                live++;
            }
        }

        if (live == 0) {
            ctx->res = NULL;
            ctx->stage = 5;
            goto reply;
        }

        return yd_sql(ctx,
            "SELECT ud.user_id, ud.dept_id, ud.position, ud.weight, "
            "ud.sort_id FROM user_depts ud WHERE ud.user_id IN "
            "(SELECT DISTINCT target_id FROM org_changes "
            "WHERE kind = 2 AND version > ? AND version <= ?) "
            "ORDER BY ud.user_id, ud.dept_id",
            "ii", ch->since, ch->upto);

    case 5:
    reply:
        list = json_array();
        dl = json_array();
        if (list == NULL || dl == NULL) {
            return NGX_ERROR;
        }

        mi = 0;

        for (i = 0; i < ch->ures->nrows; i++) {
            if (yd_int(ch->ures, i, 1)) {
                json_array_append_new(dl, yd_json_cell_int(ch->ures, i, 0));
                continue;
            }

            u = yd_org_user_json(ctx, ch->ures, i, 2);
            if (u == NULL) {
                return NGX_ERROR;
            }

            json_object_set_new(u, "departments",
                                res ? yd_changes_members(res, &mi,
                                                         yd_int(ch->ures, i,
                                                                0))
                                    : json_array());
            json_array_append_new(list, u);
        }

        json_object_set_new(ch->obj, "users", list);
        json_object_set_new(ch->obj, "deleted_users", dl);
        json_object_set_new(ch->obj, "version", json_integer(ch->upto));
        json_object_set_new(ch->obj, "has_more", json_boolean(ch->has_more));

        return yd_ok(ctx, json_incref(ch->obj));

    default:
        return NGX_ERROR;
    }
}
