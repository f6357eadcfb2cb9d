
/*
 * youdu: /cgi user reads (PROTOCOL.md 4.5 items 6-10, 13): user/get,
 * simplelist, list, dept/user/listall, batchget, search, enable/state.
 * Users who quit are not listed (see /cgi/user/quit/search).
 */


#include "ngx_http_youdu_cgi_org.h"


typedef struct {
    yd_cgi_users_t            users;
    int64_t                   dept_id;
    ngx_str_t                 account;
    ngx_str_t                 path;
} yd_cgi_user_read_t;


static yd_cgi_user_read_t *yd_cgi_user_read_new(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t nparams);
static ngx_int_t yd_cgi_user_dept_read(ngx_http_youdu_ctx_t *ctx,
    const char *where, ngx_uint_t by_path);


static yd_cgi_user_read_t *
yd_cgi_user_read_new(ngx_http_youdu_ctx_t *ctx, ngx_uint_t nparams)
{
    yd_cgi_user_read_t  *rd;

    rd = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_user_read_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->users.params = ngx_pcalloc(ctx->pool, (nparams + 1)
                                              * sizeof(ngx_youdu_db_param_t));
    if (rd->users.params == NULL) {
        return NULL;
    }

    rd->users.nparams = nparams;
    ctx->data = rd;

    return rd;
}


ngx_int_t
ngx_http_youdu_cgi_user_get(ngx_http_youdu_ctx_t *ctx)
{
    json_t              *u;
    ngx_int_t            rc;
    yd_cgi_user_read_t  *rd = ctx->data;

    if (ctx->stage == 0) {
        rd = yd_cgi_user_read_new(ctx, 1);
        if (rd == NULL) {
            return NGX_ERROR;
        }

        if (yd_cgi_org_uid(ctx, "userId", &rd->account) != NGX_OK) {
            return NGX_DONE;
        }

        rd->users.where = "u.account = ?";
        rd->users.params[0].value = rd->account;
    }

    rc = yd_cgi_users_load(ctx, &rd->users, ctx->stage);
    if (rc != NGX_OK) {
        return rc;
    }

    u = json_array_get(rd->users.list, 0);

    if (u == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                           "user \"%V\" does not exist", &rd->account);
    }

    return yd_cgi_ok(ctx, json_incref(u));
}


/* ?deptId= (0: root); the department must exist */

static ngx_int_t
yd_cgi_user_dept_read(ngx_http_youdu_ctx_t *ctx, const char *where,
    ngx_uint_t by_path)
{
    ngx_int_t            rc;
    yd_cgi_user_read_t  *rd = ctx->data;

    switch (ctx->stage) {

    case 0:
        rd = yd_cgi_user_read_new(ctx, 1);
        if (rd == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_org_int(ctx, "deptId", 0, 2147483647,
                            YD_CGI_INVALID_FORMAT_DEPTID, &rd->dept_id);

        if (rc == NGX_DECLINED) {
            return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTID,
                               "deptId is missing (0 is the root)");
        }

        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx, "SELECT path FROM departments WHERE id = ?", "i",
                      rd->dept_id);

    case 1:
        if (ctx->res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_DEPT_NOT_EXIST,
                               "department %L does not exist", rd->dept_id);
        }

        rd->users.where = where;
        rd->users.params[0].value = by_path
                                    ? *yd_cell(ctx->res, 0, 0)
                                    : *yd_int_str(ctx->pool, rd->dept_id);

        /* fall through */

    default:
        rc = yd_cgi_users_load(ctx, &rd->users, ctx->stage - 1);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_cgi_users_reply(ctx, &rd->users);
    }
}


/* simplelist and list: the direct members, with every field (a superset
 * of what simplelist documents) */

ngx_int_t
ngx_http_youdu_cgi_user_list(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_user_dept_read(ctx,
        "u.id IN (SELECT user_id FROM user_depts WHERE dept_id = ?)", 0);
}


ngx_int_t
ngx_http_youdu_cgi_user_listall(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_user_dept_read(ctx,
        "u.id IN (SELECT ud.user_id FROM user_depts ud "
        "JOIN departments d ON d.id = ud.dept_id "
        "WHERE d.path LIKE CONCAT(?, '%'))", 1);
}


/* ?gids=1,2,3 (or a payload array) */

ngx_int_t
ngx_http_youdu_cgi_user_batchget(ngx_http_youdu_ctx_t *ctx)
{
    size_t               i;
    u_char              *p, *end, *q;
    json_t              *v, *e;
    ngx_int_t            rc;
    ngx_str_t            s;
    ngx_uint_t           n;
    ngx_array_t         *ids;
    ngx_youdu_db_param_t *prm;
    yd_cgi_user_read_t  *rd = ctx->data;

    if (ctx->stage != 0) {
        goto load;
    }

    ids = ngx_array_create(ctx->pool, 16, sizeof(ngx_youdu_db_param_t));
    if (ids == NULL) {
        return NGX_ERROR;
    }

    v = yd_cgi_field(ctx, "gids");

    if (v && json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 1) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                                   "gids must be user ids (integers)");
            }

            prm = ngx_array_push(ids);
            if (prm == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(prm, sizeof(ngx_youdu_db_param_t));
            prm->value = *yd_int_str(ctx->pool, json_integer_value(e));
        }

    } else {
        rc = yd_cgi_str(ctx, "gids", &s);

        if (rc == NGX_ERROR) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                               "gids must be a comma-separated list of "
                               "user ids");
        }

        p = s.data;
        end = s.data + s.len;

        while (rc == NGX_OK && p < end) {
            q = ngx_strlchr(p, end, ',');
            if (q == NULL) {
                q = end;
            }

            if (q == p || q - p > 18 || ngx_atoof(p, q - p) < 1) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                                   "gids must be a comma-separated list "
                                   "of user ids");
            }

            prm = ngx_array_push(ids);
            if (prm == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(prm, sizeof(ngx_youdu_db_param_t));
            prm->value.data = p;
            prm->value.len = q - p;
            p = q + 1;
        }
    }

    n = ids->nelts;

    if (n == 0) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERLIST, "gids is missing");
    }

    if (n > YD_CGI_MAX_USERLIST) {
        return yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_USERLIST,
                           "at most %d gids per call", YD_CGI_MAX_USERLIST);
    }

    rd = yd_cgi_user_read_new(ctx, 0);
    if (rd == NULL) {
        return NGX_ERROR;
    }

    rd->users.where = yd_org_placeholders(ctx->pool, "u.id IN (", "?", ", ",
                                          n, ")");
    if (rd->users.where == NULL) {
        return NGX_ERROR;
    }

    rd->users.params = ids->elts;
    rd->users.nparams = n;

load:

    rc = yd_cgi_users_load(ctx, &rd->users, ctx->stage);
    if (rc != NGX_OK) {
        return rc;
    }

    return yd_cgi_users_reply(ctx, &rd->users);
}


/* ?keyword=: name (anywhere), account, pinyin, initials or mobile (from
 * the start); at most YD_CGI_SEARCH_LIMIT users */

ngx_int_t
ngx_http_youdu_cgi_user_search(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_str_t            kw, *like;
    ngx_uint_t           i;
    yd_cgi_user_read_t  *rd = ctx->data;

    if (ctx->stage == 0) {
        rc = yd_cgi_org_str(ctx, "keyword", 64, YD_CGI_INVALID_REQUEST2,
                            YD_CGI_INVALID_REQUEST2, &kw);

        if (rc == NGX_DECLINED) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "keyword is missing");
        }

        if (rc != NGX_OK) {
            return rc;
        }

        rd = yd_cgi_user_read_new(ctx, 5);
        like = yd_org_like_escape(ctx->pool, &kw);
        if (rd == NULL || like == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < 5; i++) {
            rd->users.params[i].value = *like;
        }

        rd->users.where =
            "u.id IN (SELECT s.id FROM (SELECT x.id FROM users x "
            "WHERE x.quit_at IS NULL AND (x.name LIKE CONCAT('%', ?, '%') "
            "OR x.account LIKE CONCAT(?, '%') "
            "OR x.name_pinyin LIKE CONCAT(?, '%') "
            "OR x.name_initials LIKE CONCAT(?, '%') "
            "OR x.mobile LIKE CONCAT(?, '%')) "
            "ORDER BY x.id LIMIT " ngx_value(YD_CGI_SEARCH_LIMIT)
            ") s)";
    }

    rc = yd_cgi_users_load(ctx, &rd->users, ctx->stage);
    if (rc != NGX_OK) {
        return rc;
    }

    return yd_cgi_users_reply(ctx, &rd->users);
}


ngx_int_t
ngx_http_youdu_cgi_user_enable_state(ngx_http_youdu_ctx_t *ctx)
{
    ngx_str_t  *account = ctx->data;

    switch (ctx->stage) {

    case 0:
        account = ngx_pcalloc(ctx->pool, sizeof(ngx_str_t));
        if (account == NULL) {
            return NGX_ERROR;
        }

        ctx->data = account;

        if (yd_cgi_org_uid(ctx, "userId", account) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "SELECT enable_state FROM users WHERE account = ? "
            "AND quit_at IS NULL", "s", account);

    default:
        if (ctx->res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "user \"%V\" does not exist", account);
        }

        return yd_cgi_ok(ctx, json_pack("{s:o}", "enableState",
                                        yd_json_cell_int(ctx->res, 0, 0)));
    }
}
