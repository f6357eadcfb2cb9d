
/*
 * youdu: /cgi departments and users, the shared parts: the route table,
 * the org write protocol for /cgi writes, parameters with the section 6
 * codes of each field.
 */


#include "ngx_http_youdu_cgi_org.h"


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_org_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/create",
        ngx_http_youdu_cgi_dept_create, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/update",
        ngx_http_youdu_cgi_dept_update, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/delete",
        ngx_http_youdu_cgi_dept_delete, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/sort",
        ngx_http_youdu_cgi_dept_sort, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/get",
        ngx_http_youdu_cgi_dept_get, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/list",
        ngx_http_youdu_cgi_dept_list, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/listchildren",
        ngx_http_youdu_cgi_dept_children, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/alllistchildren",
        ngx_http_youdu_cgi_dept_all_children, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/getid",
        ngx_http_youdu_cgi_dept_getid, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/expand/invisible",
        ngx_http_youdu_cgi_dept_expand, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/dept/user/listall",
        ngx_http_youdu_cgi_user_listall, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/create",
        ngx_http_youdu_cgi_user_create, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/update",
        ngx_http_youdu_cgi_user_update, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/positionupdate",
        ngx_http_youdu_cgi_user_position, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/delete",
        ngx_http_youdu_cgi_user_delete, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/batchdelete",
        ngx_http_youdu_cgi_user_batchdelete, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/get",
        ngx_http_youdu_cgi_user_get, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/simplelist",
        ngx_http_youdu_cgi_user_list, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/list",
        ngx_http_youdu_cgi_user_list, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/batchget",
        ngx_http_youdu_cgi_user_batchget, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/search",
        ngx_http_youdu_cgi_user_search, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/setauth",
        ngx_http_youdu_cgi_user_setauth, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/extend/update",
        ngx_http_youdu_cgi_user_extend, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/enable/state",
        ngx_http_youdu_cgi_user_enable_state, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/enable/stateupdate",
        ngx_http_youdu_cgi_user_enable_update, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    /* resignation: the SDK's and the documentation's spellings */
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/quit",
        ngx_http_youdu_cgi_user_quit, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user.quit",
        ngx_http_youdu_cgi_user_quit, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/restore",
        ngx_http_youdu_cgi_user_restore, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user.restore",
        ngx_http_youdu_cgi_user_restore, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user/quit/search",
        ngx_http_youdu_cgi_user_quit_search, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },
    { { NGX_HTTP_GET|NGX_HTTP_POST, "/user.quit/search",
        ngx_http_youdu_cgi_user_quit_search, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


/* the org write protocol (docs/internals.md "Org writes") */

ngx_int_t
yd_cgi_org_run(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w)
{
    ngx_int_t  rc;

    for ( ;; ) {

        switch (w->phase) {

        case 0:
            /* the pool owns the audit detail until the audit row */
            if (w->detail && yd_org_keep(ctx, w->detail) == NULL) {
                return NGX_ERROR;
            }

            w->phase = 1;
            return yd_begin(ctx);

        case 1:
            w->phase = 2;
            return yd_org_bump(ctx);

        case 2:
            w->phase = 3;
            return yd_org_read_version(ctx, NULL);

        case 3:
            if (yd_org_read_version(ctx, &w->version) != NGX_OK) {
                return NGX_ERROR;
            }

            w->phase = 4;
            w->step = 0;
            ctx->res = NULL;
            continue;

        case 4:
            rc = w->writes(ctx, w, w->step++);

            if (rc != NGX_OK) {
                return rc;
            }

            w->phase = 5;
            continue;

        case 5:
            w->phase = 6;
            return yd_org_audit(ctx, w->action, w->target,
                                w->detail ? json_incref(w->detail) : NULL);

        case 6:
            w->phase = 7;
            return yd_commit(ctx);

        case 7:
            w->phase = 8;

            if (yd_org_publish(ctx, w->version) == NGX_AGAIN) {
                return NGX_AGAIN;
            }

            continue;

        default:
            yd_cgi_org_recheck(w);
            return yd_cgi_ok(ctx, w->reply ? w->reply(ctx, w) : NULL);
        }
    }
}


void
yd_cgi_org_recheck(yd_cgi_org_w_t *w)
{
    ngx_uint_t  i;

    for (i = 0; i < w->nrecheck; i++) {
        ngx_http_youdu_push_recheck(w->recheck[i]);
    }
}


json_t *
yd_cgi_org_reply_empty(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w)
{
    return json_object();
}


json_t *
yd_cgi_org_reply_id(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w)
{
    return json_pack("{s:I}", "id", (json_int_t) w->target);
}


/* parameters */


ngx_int_t
yd_cgi_org_str(ngx_http_youdu_ctx_t *ctx, const char *key, size_t max_chars,
    ngx_int_t bad, ngx_int_t over, ngx_str_t *out)
{
    json_t     *v;
    ngx_int_t   rc;

    v = yd_cgi_field(ctx, key);

    if (v && !json_is_string(v)) {
        return yd_cgi_fail(ctx, bad, "%s must be a string", key);
    }

    rc = yd_cgi_str(ctx, key, out);

    if (rc == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        return yd_cgi_fail(ctx, bad, "%s must be UTF-8 text", key);
    }

    switch (yd_valid_text(out, max_chars, 0)) {

    case NGX_OK:
        return NGX_OK;

    case YD_ERR_TOO_LONG:
        return yd_cgi_fail(ctx, over, "%s is longer than %uz characters",
                           key, max_chars);

    default:
        return yd_cgi_fail(ctx, bad, "%s must be UTF-8 text without "
                           "control characters", key);
    }
}


ngx_int_t
yd_cgi_org_int(ngx_http_youdu_ctx_t *ctx, const char *key, int64_t min,
    int64_t max, ngx_int_t bad, int64_t *out)
{
    json_t     *v;
    ngx_int_t   rc;

    v = yd_cgi_field(ctx, key);

    if (v && json_is_boolean(v)) {
        return yd_cgi_fail(ctx, bad, "%s must be an integer", key);
    }

    rc = yd_cgi_int(ctx, key, out);

    if (rc == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        return yd_cgi_fail(ctx, bad, "%s must be an integer", key);
    }

    if (*out < min || *out > max) {
        return yd_cgi_fail(ctx, bad, "%s must be between %L and %L", key,
                           min, max);
    }

    return NGX_OK;
}


static ngx_int_t
yd_cgi_org_uid_check(ngx_http_youdu_ctx_t *ctx, ngx_str_t *s)
{
    if (s->len > 64) {
        return yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_USERID,
                           "userId \"%V\" is longer than 64 characters", s);
    }

    if (yd_org_account_ok(s) != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_USERID,
                           "userId \"%V\" may only hold A-Z a-z 0-9 . _ @ -",
                           s);
    }

    return NGX_OK;
}


ngx_int_t
yd_cgi_org_uid(ngx_http_youdu_ctx_t *ctx, const char *key, ngx_str_t *out)
{
    json_t     *v;
    ngx_int_t   rc;

    v = yd_cgi_field(ctx, key);

    if (v && !json_is_string(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERID,
                           "%s must be a string", key);
    }

    rc = yd_cgi_str(ctx, key, out);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERID, "%s is missing", key);
    }

    if (rc != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERID,
                           "%s must be UTF-8 text", key);
    }

    return yd_cgi_org_uid_check(ctx, out);
}


ngx_int_t
yd_cgi_org_uid_list(ngx_http_youdu_ctx_t *ctx, const char *key,
    ngx_uint_t max, ngx_array_t **out)
{
    size_t        i;
    json_t       *v, *e;
    ngx_str_t    *s;
    ngx_uint_t    k;
    ngx_array_t  *a;

    v = yd_cgi_field(ctx, key);

    if (v == NULL || (json_is_array(v) && json_array_size(v) == 0)) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERLIST,
                           "%s is missing or empty", key);
    }

    if (!json_is_array(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                           "%s must be an array of userIds", key);
    }

    if (json_array_size(v) > max) {
        return yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_USERLIST,
                           "%s holds more than %ui userIds", key, max);
    }

    a = ngx_array_create(ctx->pool, json_array_size(v), sizeof(ngx_str_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || json_string_length(e) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                               "%s must be an array of non-empty userId "
                               "strings", key);
        }

        s = ngx_array_push(a);
        if (s == NULL) {
            return NGX_ERROR;
        }

        s->data = (u_char *) json_string_value(e);
        s->len = json_string_length(e);

        if (yd_cgi_org_uid_check(ctx, s) != NGX_OK) {
            return NGX_DONE;
        }

        /* a name given twice counts once */
        for (k = 0; k + 1 < a->nelts; k++) {
            if (((ngx_str_t *) a->elts)[k].len == s->len
                && ngx_strncmp(((ngx_str_t *) a->elts)[k].data, s->data,
                               s->len) == 0)
            {
                a->nelts--;
                break;
            }
        }
    }

    *out = a;

    return NGX_OK;
}


ngx_youdu_db_param_t *
yd_cgi_org_str_params(ngx_pool_t *pool, ngx_array_t *a)
{
    ngx_str_t             *s = a->elts;
    ngx_uint_t             i;
    ngx_youdu_db_param_t  *p;

    p = ngx_pcalloc(pool, (a->nelts + 1) * sizeof(ngx_youdu_db_param_t));
    if (p == NULL) {
        return NULL;
    }

    for (i = 0; i < a->nelts; i++) {
        p[i].value = s[i];
    }

    return p;
}


/* head + "?, ?, ..." (n) + tail, the params pre[0..npre) then ids */

ngx_int_t
yd_cgi_org_in(ngx_http_youdu_ctx_t *ctx, const char *head, const char *tail,
    ngx_youdu_db_param_t *pre, ngx_uint_t npre, ngx_youdu_db_param_t *ids,
    ngx_uint_t n, ngx_uint_t allow_error)
{
    char                  *sql;
    ngx_youdu_db_param_t  *p;

    sql = yd_org_placeholders(ctx->pool, head, "?", ", ", n, tail);
    p = ngx_pcalloc(ctx->pool,
                    (npre + n + 1) * sizeof(ngx_youdu_db_param_t));
    if (sql == NULL || p == NULL) {
        return NGX_ERROR;
    }

    if (npre) {
        ngx_memcpy(p, pre, npre * sizeof(ngx_youdu_db_param_t));
    }

    ngx_memcpy(p + npre, ids, n * sizeof(ngx_youdu_db_param_t));

    return yd_sql_params(ctx, sql, p, npre + n, allow_error);
}


/* column col of every row as parameters (ids for an IN list) */

ngx_youdu_db_param_t *
yd_cgi_org_col_params(ngx_pool_t *pool, ngx_youdu_db_result_t *res,
    ngx_uint_t col)
{
    ngx_uint_t             i;
    ngx_youdu_db_param_t  *p;

    p = ngx_pcalloc(pool, (res->nrows + 1) * sizeof(ngx_youdu_db_param_t));
    if (p == NULL) {
        return NULL;
    }

    for (i = 0; i < res->nrows; i++) {
        p[i].value = *yd_cell(res, i, col);
    }

    return p;
}


/* the users named (accounts) must all exist: res rows are (id, account,
 * ...); replies 300225 naming the first missing one */

ngx_int_t
yd_cgi_org_all_found(ngx_http_youdu_ctx_t *ctx, ngx_array_t *names,
    ngx_youdu_db_result_t *res)
{
    ngx_str_t   *s = names->elts, *c;
    ngx_uint_t   i, k;

    if (res->nrows == names->nelts) {
        return NGX_OK;
    }

    for (i = 0; i < names->nelts; i++) {
        for (k = 0; k < res->nrows; k++) {
            c = yd_cell(res, k, 1);

            if (c->len == s[i].len
                && ngx_strncasecmp(c->data, s[i].data, c->len) == 0)
            {
                break;
            }
        }

        if (k == res->nrows) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "user \"%V\" does not exist (nothing was "
                               "changed)", &s[i]);
        }
    }

    /* names differing only in case name one account */
    return NGX_OK;
}


/* the rows' ids (col 0) to re-check after the commit */

ngx_int_t
yd_cgi_org_recheck_rows(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_youdu_db_result_t *res)
{
    ngx_uint_t  i;

    w->recheck = ngx_palloc(ctx->pool, (res->nrows + 1) * sizeof(int64_t));
    if (w->recheck == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < res->nrows; i++) {
        w->recheck[i] = yd_int(res, i, 0);
    }

    w->nrecheck = res->nrows;

    return NGX_OK;
}
