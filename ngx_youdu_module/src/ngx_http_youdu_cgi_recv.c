
/*
 * youdu: the receivers of an app message, popup or event (PROTOCOL.md
 * 4.1): toUser "a|b" (accounts), toDept "1|2" (with their subtrees; "0"
 * is everybody), toGid (users.id), toEmail (mail), toAll (system
 * messages, only without explicit receivers: checklist item 9).  They
 * resolve to the enabled users in the app's visibility scope; names that
 * match nobody are collected for the errmsg of 200007.
 */


#include "ngx_http_youdu_cgi_msg.h"
#include "ngx_youdu_presence.h"
#include "ngx_youdu_utf8.h"


#define YD_RECV_ENTRY_MAX     128     /* bytes of one toUser/toEmail entry */
#define YD_RECV_LIST_SHOWN    20      /* invalid names quoted in errmsg */


static ngx_int_t yd_cgi_recv_list(ngx_http_youdu_ctx_t *ctx, json_t *v,
    const char *name, ngx_uint_t numeric, ngx_uint_t max, ngx_array_t *out);
static ngx_int_t yd_cgi_recv_invalid(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_recv_t *rv, const char *prefix, ngx_str_t *s);
static ngx_int_t yd_cgi_recv_known_sql(ngx_http_youdu_ctx_t *ctx,
    const char *head, ngx_array_t *list, ngx_uint_t numeric);
static ngx_int_t yd_cgi_recv_unknown(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_recv_t *rv, ngx_array_t *list, ngx_uint_t numeric,
    const char *prefix);
static ngx_int_t yd_cgi_recv_final_sql(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_recv_t *rv);
static ngx_int_t yd_cgi_recv_presence(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_recv_t *rv);
static ngx_int_t yd_cgi_recv_online(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_recv_t *rv);


/* users of the ids given (ARGV[2..]) that hold a live push connection,
 * as "1,5,9" */
static const char  yd_cgi_online_lua[] =
    YD_PRES_LUA_LIVE
    "local now=tonumber(ARGV[1]) local o={} "
    "for j=2,#ARGV do "
      "if #live('" YD_PRES_KEY_PREFIX "'..ARGV[j],now)>0 then "
        "o[#o+1]=ARGV[j] "
      "end "
    "end "
    "return table.concat(o,',')";


/* statements built piece by piece */


ngx_int_t
yd_sqlb_init(ngx_pool_t *pool, yd_sqlb_t *b, size_t len, ngx_uint_t nparams)
{
    b->sql = ngx_pnalloc(pool, len + 1);
    b->prm = ngx_pcalloc(pool, (nparams + 1) * sizeof(ngx_youdu_db_param_t));

    if (b->sql == NULL || b->prm == NULL) {
        return NGX_ERROR;
    }

    b->p = b->sql;
    b->end = b->sql + len;
    b->n = 0;
    b->max = nparams;
    b->failed = 0;
    b->allow_error = 0;

    return NGX_OK;
}


void
yd_sqlb_text(yd_sqlb_t *b, const char *text)
{
    size_t  len = ngx_strlen(text);

    if ((size_t) (b->end - b->p) < len) {
        b->failed = 1;
        return;
    }

    b->p = ngx_cpymem(b->p, text, len);
}


void
yd_sqlb_str(yd_sqlb_t *b, ngx_str_t *s)
{
    if (b->n == b->max) {
        b->failed = 1;
        return;
    }

    b->prm[b->n++].value = *s;
}


void
yd_sqlb_int(ngx_pool_t *pool, yd_sqlb_t *b, int64_t v)
{
    ngx_str_t  *s;

    s = yd_int_str(pool, v);
    if (s == NULL) {
        b->failed = 1;
        return;
    }

    yd_sqlb_str(b, s);
}


ngx_int_t
yd_sqlb_run(ngx_http_youdu_ctx_t *ctx, yd_sqlb_t *b)
{
    if (b->failed) {
        ngx_log_error(NGX_LOG_ALERT, ctx->r->connection->log, 0,
                      YD_LOG_TAG "cgi: statement buffer too small");
        return NGX_ERROR;
    }

    *b->p = '\0';

    return yd_sql_params(ctx, (char *) b->sql, b->prm, b->n, b->allow_error);
}


/* "?, ?, ?" for every entry of a list of ngx_str_t or int64_t */

static void
yd_sqlb_list(ngx_pool_t *pool, yd_sqlb_t *b, ngx_array_t *list,
    ngx_uint_t numeric)
{
    ngx_uint_t  i;

    if (list->nelts == 0) {
        yd_sqlb_text(b, "NULL");
        return;
    }

    for (i = 0; i < list->nelts; i++) {
        yd_sqlb_text(b, i ? ", ?" : "?");

        if (numeric) {
            yd_sqlb_int(pool, b, ((int64_t *) list->elts)[i]);

        } else {
            yd_sqlb_str(b, &((ngx_str_t *) list->elts)[i]);
        }
    }
}


/* fields of the payload's objects */


ngx_int_t
yd_cgi_get_str(ngx_http_youdu_ctx_t *ctx, json_t *obj, const char *where,
    const char *key, ngx_uint_t required, size_t max_chars, ngx_str_t *out)
{
    json_t  *v;

    v = yd_cgi_obj_get(obj, key);

    if (v != NULL && !json_is_string(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s%s%s must be a string", where,
                           where[0] ? "." : "", key);
    }

    out->data = v ? (u_char *) json_string_value(v) : NULL;
    out->len = v ? json_string_length(v) : 0;

    if (out->len == 0) {
        if (required) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "%s%s%s is required", where,
                               where[0] ? "." : "", key);
        }

        return NGX_DECLINED;
    }

    if (ngx_strlchr(out->data, out->data + out->len, '\0') != NULL) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s%s%s must not contain NUL characters", where,
                           where[0] ? "." : "", key);
    }

    if (ngx_youdu_utf8_chars(out->data, out->len) > max_chars) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s%s%s is longer than %uz characters", where,
                           where[0] ? "." : "", key, max_chars);
    }

    return NGX_OK;
}


ngx_int_t
yd_cgi_get_int(ngx_http_youdu_ctx_t *ctx, json_t *obj, const char *where,
    const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t     *v;
    int64_t     n;
    ngx_int_t   neg;
    ngx_str_t   s;

    v = yd_cgi_obj_get(obj, key);

    if (v == NULL) {
        return NGX_DECLINED;
    }

    if (json_is_integer(v)) {
        n = json_integer_value(v);

    } else if (json_is_boolean(v)) {
        n = json_is_true(v);

    } else if (json_is_string(v) && json_string_length(v) > 0
               && json_string_length(v) <= 18)
    {
        /* "1": some callers stringify numbers */
        s.data = (u_char *) json_string_value(v);
        s.len = json_string_length(v);
        neg = (s.data[0] == '-');

        n = (s.len > (size_t) neg) ? ngx_atoof(s.data + neg, s.len - neg)
                                   : NGX_ERROR;
        if (n == NGX_ERROR) {
            goto bad;
        }

        n = neg ? -n : n;

    } else {
        goto bad;
    }

    if (n < min || n > max) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s%s%s must be between %L and %L", where,
                           where[0] ? "." : "", key, min, max);
    }

    *out = n;
    return NGX_OK;

bad:

    return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                       "%s%s%s must be an integer", where,
                       where[0] ? "." : "", key);
}


/* parsing */


ngx_int_t
yd_cgi_recv_parse(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv,
    ngx_uint_t allow_all, ngx_uint_t mail)
{
    json_t      *v, *o;
    int64_t     *id;
    ngx_int_t    rc;
    ngx_uint_t   i, j, given;

    if (ngx_array_init(&rv->accounts, ctx->pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&rv->emails, ctx->pool, 1, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&rv->gids, ctx->pool, 1, sizeof(int64_t))
           != NGX_OK
        || ngx_array_init(&rv->depts, ctx->pool, 1, sizeof(int64_t))
           != NGX_OK
        || ngx_array_init(&rv->paths, ctx->pool, 1, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = yd_cgi_recv_list(ctx, yd_cgi_field(ctx, "toUser"), "toUser", 0,
                          YD_CGI_TOUSER_MAX, &rv->accounts);
    if (rc == NGX_OK) {
        rc = yd_cgi_recv_list(ctx, yd_cgi_field(ctx, "toDept"), "toDept", 1,
                              YD_CGI_TODEPT_MAX, &rv->depts);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_recv_list(ctx, yd_cgi_field(ctx, "toGid"), "toGid", 1,
                              YD_CGI_TOGID_MAX, &rv->gids);
    }

    /* mail: toEmail only when toUser is not given */
    if (rc == NGX_OK && mail && rv->accounts.nelts == 0) {
        rc = yd_cgi_recv_list(ctx, yd_cgi_field(ctx, "toEmail"), "toEmail",
                              0, YD_CGI_TOUSER_MAX, &rv->emails);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    /* toDept "0": the whole organisation */
    id = rv->depts.elts;

    for (i = 0, j = 0; i < rv->depts.nelts; i++) {
        if (id[i] == 0) {
            rv->all = 1;

        } else {
            id[j++] = id[i];
        }
    }

    rv->depts.nelts = j;

    given = rv->all || rv->accounts.nelts || rv->depts.nelts
            || rv->gids.nelts || rv->emails.nelts;

    v = yd_cgi_field(ctx, "toAll");

    if (v != NULL && !json_is_object(v) && !json_is_boolean(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_TOUSER,
                           "toAll must be an object "
                           "{\"onlyOnline\":true|false}");
    }

    if (allow_all && v != NULL && !given && !json_is_false(v)) {
        /* both spellings (the doc's "onliyOnline" and "onlyOnline") */
        o = json_is_object(v) ? yd_cgi_obj_get(v, "onlyOnline") : NULL;
        if (o == NULL && json_is_object(v)) {
            o = yd_cgi_obj_get(v, "onliyOnline");
        }

        if (o != NULL && !json_is_boolean(o) && !json_is_integer(o)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_TOUSER,
                               "toAll.onlyOnline must be true or false");
        }

        rv->all = 1;
        rv->only_online = o && (json_is_true(o)
                                || (json_is_integer(o)
                                    && json_integer_value(o) != 0));
        given = 1;
    }

    if (!given) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_TOUSER,
                           "no receivers: give toUser (accounts \"a|b\"), "
                           "toDept (\"1|2\", \"0\" for everybody)%s%s",
                           mail ? ", toEmail" : ", toGid",
                           allow_all ? " or toAll" : "");
    }

    return NGX_OK;
}


/* one trimmed entry: NGX_OK, NGX_DECLINED (malformed), NGX_ERROR */

static ngx_int_t
yd_cgi_recv_entry(u_char *s, u_char *e, ngx_uint_t numeric, ngx_array_t *out)
{
    int64_t    *id, n;
    ngx_str_t  *str;

    while (s < e && (*s == ' ' || *s == '\t')) { s++; }
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) { e--; }

    if (s == e) {
        return NGX_OK;
    }

    if (numeric) {
        n = (e - s <= 18) ? ngx_atoof(s, e - s) : NGX_ERROR;
        if (n == NGX_ERROR) {
            return NGX_DECLINED;
        }

        id = ngx_array_push(out);
        if (id == NULL) {
            return NGX_ERROR;
        }

        *id = n;
        return NGX_OK;
    }

    if (e - s > YD_RECV_ENTRY_MAX) {
        return NGX_DECLINED;
    }

    str = ngx_array_push(out);
    if (str == NULL) {
        return NGX_ERROR;
    }

    str->data = s;
    str->len = e - s;

    return NGX_OK;
}


/* "a|b" or ["a","b"] (or numbers, for ids) into a list */

static ngx_int_t
yd_cgi_recv_list(ngx_http_youdu_ctx_t *ctx, json_t *v, const char *name,
    ngx_uint_t numeric, ngx_uint_t max, ngx_array_t *out)
{
    u_char      buf[NGX_INT64_LEN], *p, *end, *q;
    size_t      i, n;
    json_t     *item;
    ngx_int_t   rc;

    if (v == NULL) {
        return NGX_OK;
    }

    if (json_is_string(v)) {
        /* "a|b|c" */
        p = (u_char *) json_string_value(v);
        end = p + json_string_length(v);

        while (p < end) {
            q = ngx_strlchr(p, end, '|');
            if (q == NULL) {
                q = end;
            }

            rc = yd_cgi_recv_entry(p, q, numeric, out);
            if (rc != NGX_OK) {
                goto failed;
            }

            if (out->nelts > max) {
                goto overlimit;
            }

            p = q + 1;
        }

        return NGX_OK;
    }

    if (json_is_array(v)) {
        n = json_array_size(v);

    } else if (json_is_integer(v)) {
        n = 1;

    } else {
        goto bad;
    }

    if (n > max) {
        goto overlimit;
    }

    for (i = 0; i < n; i++) {
        item = json_is_array(v) ? json_array_get(v, i) : v;

        if (json_is_integer(item) && numeric
            && json_integer_value(item) >= 0)
        {
            p = buf;
            end = ngx_sprintf(buf, "%L", (int64_t) json_integer_value(item));

        } else if (json_is_string(item)) {
            p = (u_char *) json_string_value(item);
            end = p + json_string_length(item);

            if (ngx_strlchr(p, end, '|')) {
                goto bad;
            }

        } else {
            goto bad;
        }

        rc = yd_cgi_recv_entry(p, end, numeric, out);
        if (rc != NGX_OK) {
            goto failed;
        }
    }

    return NGX_OK;

failed:

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

bad:

    return yd_cgi_fail(ctx, YD_CGI_INVALID_TOUSER,
                       numeric ? "%s must be ids separated by \"|\" "
                                 "(a string like \"1|2\")"
                               : "%s must be names separated by \"|\" "
                                 "(a string like \"a|b\", entries of at "
                                 "most 128 bytes)", name);

overlimit:

    return yd_cgi_fail(ctx, YD_CGI_TOUSER_OVERLIMIT,
                       "%s lists more than %ui receivers: split the "
                       "message", name, max);
}


/* resolution */


ngx_int_t
yd_cgi_recv_resolve(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv)
{
    ngx_int_t  rc;

    for ( ;; ) {

        switch (rv->step) {

        case 0:
            rv->step = 2;

            if (rv->accounts.nelts) {
                rv->step = 1;
                return yd_cgi_recv_known_sql(ctx,
                    "SELECT account FROM users WHERE account IN (",
                    &rv->accounts, 0);
            }

            break;

        case 1:
            rc = yd_cgi_recv_unknown(ctx, rv, &rv->accounts, 0, "");
            if (rc != NGX_OK) {
                return rc;
            }

            rv->step = 2;
            break;

        case 2:
            rv->step = 4;

            if (rv->emails.nelts) {
                rv->step = 3;
                return yd_cgi_recv_known_sql(ctx,
                    "SELECT email FROM users WHERE email IN (",
                    &rv->emails, 0);
            }

            break;

        case 3:
            rc = yd_cgi_recv_unknown(ctx, rv, &rv->emails, 0, "");
            if (rc != NGX_OK) {
                return rc;
            }

            rv->step = 4;
            break;

        case 4:
            rv->step = 6;

            if (rv->gids.nelts) {
                rv->step = 5;
                return yd_cgi_recv_known_sql(ctx,
                    "SELECT id FROM users WHERE id IN (", &rv->gids, 1);
            }

            break;

        case 5:
            rc = yd_cgi_recv_unknown(ctx, rv, &rv->gids, 1, "gid:");
            if (rc != NGX_OK) {
                return rc;
            }

            rv->step = 6;
            break;

        case 6:
            rv->step = 8;

            if (rv->depts.nelts && !rv->all) {
                rv->step = 7;
                return yd_cgi_recv_known_sql(ctx,
                    "SELECT id, CONCAT(path, '%') FROM departments "
                    "WHERE id IN (", &rv->depts, 1);
            }

            break;

        case 7:
            rc = yd_cgi_recv_unknown(ctx, rv, &rv->depts, 1, "dept:");
            if (rc != NGX_OK) {
                return rc;
            }

            rv->step = 8;
            break;

        case 8:
            rv->step = 9;
            return yd_cgi_recv_final_sql(ctx, rv);

        case 9:
            rc = yd_cgi_recv_online(ctx, rv);
            if (rc != NGX_OK) {
                return rc;
            }

            if (!rv->only_online) {
                return NGX_OK;
            }

            rv->step = 10;
            break;

        case 10:
            if (rv->pos >= rv->nuids) {
                rv->uids = rv->online;
                rv->nuids = rv->nonline;
                return NGX_OK;
            }

            rv->step = 11;
            return yd_cgi_recv_presence(ctx, rv);

        default: /* 11 */
            rc = yd_cgi_recv_online(ctx, rv);
            if (rc != NGX_OK) {
                return rc;
            }

            rv->step = 10;
            break;
        }
    }
}


static ngx_int_t
yd_cgi_recv_known_sql(ngx_http_youdu_ctx_t *ctx, const char *head,
    ngx_array_t *list, ngx_uint_t numeric)
{
    yd_sqlb_t  b;

    if (yd_sqlb_init(ctx->pool, &b, ngx_strlen(head) + 3 * list->nelts + 8,
                     list->nelts)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    yd_sqlb_text(&b, head);
    yd_sqlb_list(ctx->pool, &b, list, numeric);
    yd_sqlb_text(&b, ")");

    return yd_sqlb_run(ctx, &b);
}


/* the entries of list that ctx->res (column 0) does not hold; for
 * departments, column 1 is the LIKE pattern of the subtree */

static ngx_int_t
yd_cgi_recv_unknown(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv,
    ngx_array_t *list, ngx_uint_t numeric, const char *prefix)
{
    u_char                  buf[NGX_INT64_LEN];
    int64_t                *ids;
    ngx_str_t              *strs, *cell, num, *path;
    ngx_uint_t              i, r, found;
    ngx_youdu_db_result_t  *res = ctx->res;

    ids = list->elts;
    strs = list->elts;

    for (i = 0; i < list->nelts; i++) {
        found = 0;

        for (r = 0; r < res->nrows && !found; r++) {
            cell = yd_cell(res, r, 0);

            if (numeric) {
                found = (yd_int(res, r, 0) == ids[i]);

            } else {
                found = (cell->len == strs[i].len
                         && ngx_strncasecmp(cell->data, strs[i].data,
                                            cell->len) == 0);
            }
        }

        if (found) {
            continue;
        }

        if (numeric) {
            num.data = buf;
            num.len = ngx_sprintf(buf, "%L", ids[i]) - buf;

            if (yd_cgi_recv_invalid(ctx, rv, prefix, &num) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (yd_cgi_recv_invalid(ctx, rv, prefix, &strs[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (res->ncols > 1) {
        for (r = 0; r < res->nrows; r++) {
            path = ngx_array_push(&rv->paths);
            if (path == NULL) {
                return NGX_ERROR;
            }

            *path = *yd_cell(res, r, 1);
        }
    }

    return NGX_OK;
}


/* "a|b|dept:7", the first YD_RECV_LIST_SHOWN of them */

static ngx_int_t
yd_cgi_recv_invalid(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv,
    const char *prefix, ngx_str_t *s)
{
    u_char  *p;
    size_t   len;

    if (rv->ninvalid++ >= YD_RECV_LIST_SHOWN) {
        return NGX_OK;
    }

    len = rv->invalid.len + 1 + ngx_strlen(prefix) + s->len;

    p = ngx_pnalloc(ctx->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    rv->invalid.data = ngx_cpymem(p, rv->invalid.data, rv->invalid.len);

    if (rv->invalid.len) {
        *rv->invalid.data++ = '|';
    }

    rv->invalid.data = ngx_cpymem(rv->invalid.data, prefix,
                                  ngx_strlen(prefix));
    rv->invalid.data = ngx_cpymem(rv->invalid.data, s->data, s->len);
    rv->invalid.len = rv->invalid.data - p;
    rv->invalid.data = p;

    return NGX_OK;
}


/*
 * the enabled users among the receivers, in the app's scope, ascending:
 * one statement whatever the mix of accounts, e-mails, gids and
 * department subtrees
 */

static ngx_int_t
yd_cgi_recv_final_sql(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv)
{
    size_t      len;
    ngx_str_t  *path;
    ngx_uint_t  i, n, nparts;
    yd_sqlb_t   b;
    int64_t     app = ctx->cgi->app_pk;

    n = rv->accounts.nelts + rv->emails.nelts + rv->gids.nelts
        + rv->paths.nelts + 1;
    len = 1024 + sizeof(YD_CGI_SCOPE_SQL) + 20 * n;

    if (yd_sqlb_init(ctx->pool, &b, len, n) != NGX_OK) {
        return NGX_ERROR;
    }

    yd_sqlb_text(&b, "SELECT u.id FROM users u WHERE u.enable_state = 1 "
                     "AND (");

    nparts = 0;

    if (rv->all) {
        yd_sqlb_text(&b, "1");
        nparts++;

    } else {
        if (rv->accounts.nelts) {
            yd_sqlb_text(&b, "u.account IN (");
            yd_sqlb_list(ctx->pool, &b, &rv->accounts, 0);
            yd_sqlb_text(&b, ")");
            nparts++;
        }

        if (rv->emails.nelts) {
            yd_sqlb_text(&b, nparts++ ? " OR u.email IN (" : "u.email IN (");
            yd_sqlb_list(ctx->pool, &b, &rv->emails, 0);
            yd_sqlb_text(&b, ")");
        }

        if (rv->gids.nelts) {
            yd_sqlb_text(&b, nparts++ ? " OR u.id IN (" : "u.id IN (");
            yd_sqlb_list(ctx->pool, &b, &rv->gids, 1);
            yd_sqlb_text(&b, ")");
        }

        if (rv->paths.nelts) {
            yd_sqlb_text(&b, nparts++ ? " OR EXISTS (" : "EXISTS (");
            yd_sqlb_text(&b, "SELECT 1 FROM user_depts ud "
                             "JOIN departments d ON d.id = ud.dept_id "
                             "WHERE ud.user_id = u.id AND (");

            path = rv->paths.elts;

            for (i = 0; i < rv->paths.nelts; i++) {
                yd_sqlb_text(&b, i ? " OR d.path LIKE ?" : "d.path LIKE ?");
                yd_sqlb_str(&b, &path[i]);
            }

            yd_sqlb_text(&b, "))");
        }
    }

    if (nparts == 0) {
        /* every receiver was invalid */
        yd_sqlb_text(&b, "0");
    }

    /* in the order of their app conversations' keys ('app:<app>:<uid>'
     * compares the uid as text): the batches then lock the unique key in
     * one order and concurrent sends of the app wait instead of
     * deadlocking */
    yd_sqlb_text(&b, ") AND " YD_CGI_SCOPE_SQL
                     " ORDER BY CAST(u.id AS CHAR)");
    yd_sqlb_int(ctx->pool, &b, app);

    return yd_sqlb_run(ctx, &b);
}


/* step 9: the users of the final statement; step 11: the online ones of
 * the presence script */

static ngx_int_t
yd_cgi_recv_online(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv)
{
    u_char                 *p, *end, *q;
    int64_t                 id;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (rv->step == 9) {
        rv->nuids = res->nrows;
        rv->uids = ngx_palloc(ctx->pool, (res->nrows + 1) * sizeof(int64_t));
        rv->online = ngx_palloc(ctx->pool,
                                (res->nrows + 1) * sizeof(int64_t));
        if (rv->uids == NULL || rv->online == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            rv->uids[i] = yd_int(res, i, 0);
        }

        return NGX_OK;
    }

    if (!ctx->redis_ok) {
        return yd_cgi_fail(ctx, YD_CGI_INTERNALERR,
                           "who is online is unknown right now (Redis "
                           "unavailable): retry later");
    }

    p = ctx->redis_str.data;
    end = p + ctx->redis_str.len;

    while (p && p < end) {
        q = ngx_strlchr(p, end, ',');
        if (q == NULL) {
            q = end;
        }

        id = ngx_atoof(p, q - p);

        if (id > 0 && rv->nonline < rv->nuids) {
            rv->online[rv->nonline++] = id;
        }

        p = q + 1;
    }

    return NGX_OK;
}


/* the next YD_CGI_PRES_CHUNK receivers through the presence script */

static ngx_int_t
yd_cgi_recv_presence(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv)
{
    size_t       *argvlen;
    ngx_str_t    *s;
    ngx_uint_t    i, n;
    const char  **argv;

    n = ngx_min(rv->nuids - rv->pos, YD_CGI_PRES_CHUNK);

    argv = ngx_palloc(ctx->pool, (n + 4) * sizeof(char *));
    argvlen = ngx_palloc(ctx->pool, (n + 4) * sizeof(size_t));
    s = yd_int_str(ctx->pool, ngx_time());

    if (argv == NULL || argvlen == NULL || s == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argv[1] = yd_cgi_online_lua;
    argv[2] = "0";
    argv[3] = (const char *) s->data;
    argvlen[0] = 4;
    argvlen[1] = sizeof(yd_cgi_online_lua) - 1;
    argvlen[2] = 1;
    argvlen[3] = s->len;

    for (i = 0; i < n; i++) {
        s = yd_int_str(ctx->pool, rv->uids[rv->pos + i]);
        if (s == NULL) {
            return NGX_ERROR;
        }

        argv[4 + i] = (const char *) s->data;
        argvlen[4 + i] = s->len;
    }

    rv->pos += n;

    if (yd_redis(ctx, (int) (n + 4), argv, argvlen) != NGX_AGAIN) {
        return yd_cgi_fail(ctx, YD_CGI_INTERNALERR,
                           "who is online is unknown right now (Redis "
                           "unavailable): retry later");
    }

    return NGX_AGAIN;
}


/* after the work: 0, or 200007 naming the receivers that match nobody */

ngx_int_t
yd_cgi_recv_reply(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv)
{
    if (rv->ninvalid == 0) {
        return yd_cgi_ok(ctx, NULL);
    }

    return yd_cgi_fail(ctx, YD_CGI_INVALID_TOUSER,
                       "invalid receivers (no such account, gid or "
                       "department): %V%s; %s %ui valid receiver%s",
                       &rv->invalid,
                       rv->ninvalid > YD_RECV_LIST_SHOWN ? "|..." : "",
                       rv->nuids ? "delivered to the" : "nothing sent, ",
                       rv->nuids, rv->nuids == 1 ? "" : "s");
}


/* one notice for many users: the bus relays "ev" to their connections */

ngx_int_t
yd_cgi_push(ngx_http_youdu_ctx_t *ctx, const char *type, int64_t *uids,
    ngx_uint_t n, json_t *ev)
{
    char        *s;
    size_t       argvlen[3];
    json_t      *obj, *to;
    ngx_str_t    payload;
    ngx_uint_t   i;
    const char  *argv[3];

    obj = json_object();
    to = json_array();

    if (obj == NULL || to == NULL || ev == NULL || n == 0) {
        json_decref(obj);
        json_decref(to);
        json_decref(ev);
        return NGX_DECLINED;
    }

    for (i = 0; i < n; i++) {
        json_array_append_new(to, json_integer(uids[i]));
    }

    json_object_set_new(obj, "t", json_string(type));
    json_object_set_new(obj, "to", to);
    json_object_set_new(obj, "ev", ev);

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        return NGX_DECLINED;
    }

    payload.len = ngx_strlen(s);
    payload.data = ngx_pnalloc(ctx->pool, payload.len);
    if (payload.data == NULL) {
        free(s);
        return NGX_DECLINED;
    }

    ngx_memcpy(payload.data, s, payload.len);
    free(s);

    argv[0] = "PUBLISH";
    argv[1] = "yd:push";
    argv[2] = (const char *) payload.data;
    argvlen[0] = 7;
    argvlen[1] = 7;
    argvlen[2] = payload.len;

    return yd_redis(ctx, 3, argv, argvlen);
}
