
/*
 * youdu HTTP module: org chart fields (validation and rendering with
 * confidentiality masking) and the org write protocol's statements.
 */


#include "ngx_http_youdu_org.h"
#include "ngx_http_youdu_cgi.h"


static ngx_int_t yd_org_conf_parse(ngx_http_youdu_ctx_t *ctx, json_t *v,
    int64_t *bits);
static ngx_int_t yd_org_depts_parse(ngx_http_youdu_ctx_t *ctx, json_t *v,
    yd_org_user_t *u);


static void yd_org_json_cleanup(void *data);


static const char  *yd_conf_names[] = { "mobile", "phone", "email", "title" };


ngx_int_t
yd_org_dept_parse(ngx_http_youdu_ctx_t *ctx, yd_org_dept_t *d,
    ngx_uint_t create)
{
    ngx_uint_t  has;
    json_t     *body = ctx->body;

    if (yd_require_body(ctx) != NGX_OK) {
        return NGX_DONE;
    }

    if (create) {
        if (yd_json_int(ctx, body, "id", 0, 1, 2147483647, &d->id, &has)
            != NGX_OK)
        {
            return NGX_DONE;
        }

        d->has_id = has;
    }

    if (yd_json_str(ctx, body, "name", create, 32, &d->name, &has) != NGX_OK) {
        return NGX_DONE;
    }

    d->has_name = has;

    if (has && (d->name.len == 0
                || ngx_strlchr(d->name.data, d->name.data + d->name.len, '/')))
    {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "field \"name\" must be 1 to 32 characters without "
                        "\"/\"");
    }

    if (yd_json_int(ctx, body, "parent_id", create, 0, 2147483647,
                    &d->parent_id, &has) != NGX_OK)
    {
        return NGX_DONE;
    }

    d->has_parent = has;

    if (yd_json_int(ctx, body, "sort_id", 0, -2147483647 - 1LL, 2147483647,
                    &d->sort_id, &has) != NGX_OK)
    {
        return NGX_DONE;
    }

    d->has_sort = has;

    if (yd_json_str(ctx, body, "alias", 0, 64, &d->alias, &has) != NGX_OK) {
        return NGX_DONE;
    }

    d->has_alias = has;

    if (!create && !d->has_name && !d->has_parent && !d->has_sort
        && !d->has_alias)
    {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "send at least one of name, parent_id, sort_id, "
                        "alias");
    }

    return NGX_OK;
}


ngx_int_t
yd_org_account_ok(ngx_str_t *s)
{
    size_t  i;
    u_char  c;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@'
              || c == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
yd_org_mobile_ok(ngx_str_t *s)
{
    size_t  i;

    if (s->len < 5 || s->len > 20) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] >= '0' && s->data[i] <= '9') {
            continue;
        }

        if (s->data[i] == '+' && i == 0) {
            continue;
        }

        if (s->data[i] == '-' && i > 0 && i + 1 < s->len) {
            continue;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
yd_org_conf_parse(ngx_http_youdu_ctx_t *ctx, json_t *v, int64_t *bits)
{
    size_t       i;
    json_t      *e;
    ngx_uint_t   k, found;
    const char  *s;

    if (!json_is_array(v)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                        "field \"confidential\" must be an array of names");
    }

    *bits = 0;

    json_array_foreach(v, i, e) {
        if (!json_is_string(e)) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                            "field \"confidential\" must be an array of "
                            "names");
        }

        s = json_string_value(e);
        found = 0;

        for (k = 0; k < 4; k++) {
            if (ngx_strcmp(s, yd_conf_names[k]) == 0) {
                *bits |= (1 << k);
                found = 1;
            }
        }

        if (!found) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "\"confidential\" may only name mobile, phone, "
                            "email, title");
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_org_depts_parse(ngx_http_youdu_ctx_t *ctx, json_t *v, yd_org_user_t *u)
{
    size_t                i, n, k;
    json_t               *e;
    yd_org_membership_t  *m;

    if (!json_is_array(v)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                        "field \"departments\" must be an array of "
                        "{\"dept_id\": ...}");
    }

    n = json_array_size(v);

    if (n < 1 || n > YD_ORG_MAX_MEMBERSHIPS) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "a user belongs to 1 to %d departments",
                        YD_ORG_MAX_MEMBERSHIPS);
    }

    u->depts = ngx_pcalloc(ctx->pool, n * sizeof(yd_org_membership_t));
    if (u->depts == NULL) {
        return NGX_ERROR;
    }

    json_array_foreach(v, i, e) {
        m = &u->depts[i];

        if (!json_is_object(e)) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                            "each entry of \"departments\" must be an "
                            "object");
        }

        if (yd_json_int(ctx, e, "dept_id", 1, 0, 2147483647, &m->dept_id,
                        NULL) != NGX_OK
            || yd_json_str(ctx, e, "position", 0, 64, &m->position, NULL)
               != NGX_OK
            || yd_json_int(ctx, e, "weight", 0, -2147483647 - 1LL,
                           2147483647, &m->weight, NULL) != NGX_OK
            || yd_json_int(ctx, e, "sort_id", 0, -2147483647 - 1LL,
                           2147483647, &m->sort_id, NULL) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (m->position.data == NULL) {
            ngx_str_set(&m->position, "");
        }

        for (k = 0; k < i; k++) {
            if (u->depts[k].dept_id == m->dept_id) {
                return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                                "department %L is listed twice",
                                m->dept_id);
            }
        }
    }

    u->ndepts = n;

    return NGX_OK;
}


ngx_int_t
yd_org_user_parse(ngx_http_youdu_ctx_t *ctx, yd_org_user_t *u,
    ngx_uint_t create)
{
    u_char      *p;
    json_t      *body = ctx->body, *v;
    ngx_uint_t   has;

    if (yd_require_body(ctx) != NGX_OK) {
        return NGX_DONE;
    }

    if (yd_json_str(ctx, body, "account", create, 64, &u->account, &has)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    u->has_account = has;

    if (has && (u->account.len == 0 || yd_org_account_ok(&u->account)
                                       != NGX_OK))
    {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "field \"account\" must be 1 to 64 characters of "
                        "A-Z a-z 0-9 . _ @ -");
    }

    if (yd_json_str(ctx, body, "name", create, 64, &u->name, &has) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_name = has;

    if (has) {
        if (u->name.len == 0) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                            "field \"name\" must not be empty");
        }

        if (yd_pinyin(ctx->pool, &u->name, &u->pinyin, &u->initials)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (yd_json_int(ctx, body, "gender", 0, 0, 1, &u->gender, &has)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    u->has_gender = has;

    if (yd_json_str(ctx, body, "mobile", 0, 20, &u->mobile, &has) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_mobile = has;

    if (has && u->mobile.len && yd_org_mobile_ok(&u->mobile) != NGX_OK) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "field \"mobile\" must be 5 to 20 digits, with an "
                        "optional leading \"+\" and \"-\" separators");
    }

    if (yd_json_str(ctx, body, "phone", 0, 32, &u->phone, &has) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_phone = has;

    if (yd_json_str(ctx, body, "email", 0, 64, &u->email, &has) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_email = has;

    if (has && u->email.len) {
        p = ngx_strlchr(u->email.data, u->email.data + u->email.len, '@');

        if (p == NULL || p == u->email.data
            || p == u->email.data + u->email.len - 1)
        {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "field \"email\" must look like name@domain");
        }
    }

    if (yd_json_str(ctx, body, "title", 0, 64, &u->title, &has) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_title = has;

    if (yd_json_int(ctx, body, "enable_state", 0, -1, 1, &u->enable_state,
                    &has) != NGX_OK)
    {
        return NGX_DONE;
    }

    u->has_enable = has;

    if (yd_json_int(ctx, body, "role", 0, 0, 2, &u->role, &has) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_role = has;

    v = json_object_get(body, "confidential");

    if (v && !json_is_null(v)) {
        if (yd_org_conf_parse(ctx, v, &u->confidential) != NGX_OK) {
            return NGX_DONE;
        }

        u->has_conf = 1;
    }

    v = json_object_get(body, "departments");

    if (v && !json_is_null(v)) {
        if (yd_org_depts_parse(ctx, v, u) != NGX_OK) {
            return NGX_DONE;
        }

        u->has_depts = 1;

    } else if (create) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "field \"departments\" is required");
    }

    if (yd_json_str(ctx, body, "password", 0, 128, &u->password, &has)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    u->has_password = has && u->password.len;

    if (u->has_password && !create) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "passwords are not changed here: use the account "
                        "administration endpoint");
    }

    if (u->has_password
        && ngx_http_youdu_password_policy(ctx, &u->password) != NGX_OK)
    {
        return NGX_DONE;
    }

    if (!create && !u->has_account && !u->has_name && !u->has_gender
        && !u->has_mobile && !u->has_phone && !u->has_email && !u->has_title
        && !u->has_enable && !u->has_role && !u->has_conf && !u->has_depts)
    {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "send at least one field to change");
    }

    if (u->has_role && u->role > 0 && ctx->me.role < YD_ROLE_SUPER) {
        return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                        "only a super admin may grant administrator roles");
    }

    if (create) {
        if (!u->has_enable) {
            u->enable_state = 1;
        }

        if (u->phone.data == NULL) {
            ngx_str_set(&u->phone, "");
        }

        if (u->email.data == NULL) {
            ngx_str_set(&u->email, "");
        }

        if (u->title.data == NULL) {
            ngx_str_set(&u->title, "");
        }
    }

    return NGX_OK;
}


ngx_str_t *
yd_org_like_escape(ngx_pool_t *pool, ngx_str_t *s)
{
    size_t      i;
    u_char     *p;
    ngx_str_t  *out;

    out = ngx_palloc(pool, sizeof(ngx_str_t));
    if (out == NULL) {
        return NULL;
    }

    out->data = ngx_pnalloc(pool, s->len * 2 + 1);
    if (out->data == NULL) {
        return NULL;
    }

    p = out->data;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '%' || s->data[i] == '_' || s->data[i] == '\\') {
            *p++ = '\\';
        }

        *p++ = s->data[i];
    }

    *p = '\0';
    out->len = p - out->data;

    return out;
}


char *
yd_org_placeholders(ngx_pool_t *pool, const char *head, const char *one,
    const char *sep, ngx_uint_t n, const char *tail)
{
    u_char      *buf, *p;
    size_t       len;
    ngx_uint_t   i;

    len = ngx_strlen(head) + n * (ngx_strlen(one) + ngx_strlen(sep))
          + ngx_strlen(tail) + 1;

    buf = ngx_pnalloc(pool, len);
    if (buf == NULL) {
        return NULL;
    }

    p = ngx_cpymem(buf, head, ngx_strlen(head));

    for (i = 0; i < n; i++) {
        if (i) {
            p = ngx_cpymem(p, sep, ngx_strlen(sep));
        }

        p = ngx_cpymem(p, one, ngx_strlen(one));
    }

    p = ngx_cpymem(p, tail, ngx_strlen(tail));
    *p = '\0';

    return (char *) buf;
}


/* rendering */


static void
yd_org_json_cleanup(void *data)
{
    json_decref(data);
}


/* a reply built over several stages survives a database failure between
 * them without leaking: the pool owns one reference */

json_t *
yd_org_keep(ngx_http_youdu_ctx_t *ctx, json_t *obj)
{
    ngx_pool_cleanup_t  *cln;

    if (obj == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(ctx->pool, 0);
    if (cln == NULL) {
        json_decref(obj);
        return NULL;
    }

    cln->handler = yd_org_json_cleanup;
    cln->data = obj;

    return obj;
}


ngx_uint_t
yd_org_viewer_admin(ngx_http_youdu_ctx_t *ctx)
{
    return ctx->me.role >= YD_ROLE_ADMIN;
}


json_t *
yd_org_conf_json(int64_t bits)
{
    json_t      *a;
    ngx_uint_t   k;

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    for (k = 0; k < 4; k++) {
        if (bits & (1 << k)) {
            json_array_append_new(a, json_string(yd_conf_names[k]));
        }
    }

    return a;
}


json_t *
yd_org_dept_json(ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col)
{
    json_t  *d;

    d = json_object();
    if (d == NULL) {
        return NULL;
    }

    json_object_set_new(d, "id", yd_json_cell_int(res, row, col));
    json_object_set_new(d, "parent_id", yd_json_cell_int(res, row, col + 1));
    json_object_set_new(d, "name", yd_json_cell(res, row, col + 2));
    json_object_set_new(d, "sort_id", yd_json_cell_int(res, row, col + 3));
    json_object_set_new(d, "alias", yd_json_cell(res, row, col + 4));
    json_object_set_new(d, "version", yd_json_cell_int(res, row, col + 5));

    return d;
}


json_t *
yd_org_user_json(ngx_http_youdu_ctx_t *ctx, ngx_youdu_db_result_t *res,
    ngx_uint_t row, ngx_uint_t col)
{
    json_t      *u;
    int64_t      conf;
    ngx_str_t   *c;
    ngx_uint_t   k, mask;

    static const char  *fields[] = { "mobile", "phone", "email", "title" };

    u = json_object();
    if (u == NULL) {
        return NULL;
    }

    conf = yd_int(res, row, col + 10);

    /* employees see "***" for others' confidential, non-empty fields */
    mask = (ctx->me.role < YD_ROLE_ADMIN
            && yd_int(res, row, col) != ctx->me.uid);

    json_object_set_new(u, "id", yd_json_cell_int(res, row, col));
    json_object_set_new(u, "account", yd_json_cell(res, row, col + 1));
    json_object_set_new(u, "name", yd_json_cell(res, row, col + 2));
    json_object_set_new(u, "gender", yd_json_cell_int(res, row, col + 3));

    for (k = 0; k < 4; k++) {
        c = yd_cell(res, row, col + 4 + k);

        if (mask && (conf & (1 << k)) && c->len) {
            json_object_set_new(u, fields[k], json_string("***"));

        } else {
            json_object_set_new(u, fields[k], yd_json_cell(res, row,
                                                           col + 4 + k));
        }
    }

    json_object_set_new(u, "enable_state",
                        yd_json_cell_int(res, row, col + 8));
    json_object_set_new(u, "role", yd_json_cell_int(res, row, col + 9));
    json_object_set_new(u, "confidential", yd_org_conf_json(conf));
    json_object_set_new(u, "version", yd_json_cell_int(res, row, col + 11));
    json_object_set_new(u, "name_pinyin", yd_json_cell(res, row, col + 12));
    json_object_set_new(u, "name_initials",
                        yd_json_cell(res, row, col + 13));
    json_object_set_new(u, "has_avatar",
                        json_boolean(yd_int(res, row, col + 14)));

    return u;
}


/* the org write protocol */


ngx_int_t
yd_org_bump(ngx_http_youdu_ctx_t *ctx)
{
    return yd_sql(ctx,
        "UPDATE org_state SET version = version + 1 WHERE id = 1", "");
}


/* call 1: issue the SELECT (v == NULL); call 2: read the result into v */

ngx_int_t
yd_org_read_version(ngx_http_youdu_ctx_t *ctx, int64_t *v)
{
    if (v == NULL) {
        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");
    }

    if (ctx->res == NULL || ctx->res->nrows != 1) {
        return NGX_ERROR;
    }

    *v = yd_int(ctx->res, 0, 0);

    return NGX_OK;
}


ngx_int_t
yd_org_change(ngx_http_youdu_ctx_t *ctx, int64_t version, ngx_uint_t kind,
    int64_t id, ngx_uint_t op)
{
    return yd_sql(ctx,
        "INSERT INTO org_changes (version, kind, target_id, op) "
        "VALUES (?, ?, ?, ?)",
        "iiii", version, (int64_t) kind, id, (int64_t) op);
}


ngx_int_t
yd_org_audit(ngx_http_youdu_ctx_t *ctx, const char *action, int64_t target,
    json_t *detail)
{
    char       *s;
    ngx_str_t  *d;

    if (ctx->cgi) {
        if (detail == NULL) {
            detail = json_object();
        }

        if (json_is_object(detail)) {
            json_object_set_new(detail, "app_id",
                                json_stringn((char *) ctx->cgi->app_id.data,
                                             ctx->cgi->app_id.len));
        }
    }

    s = detail ? json_dumps(detail, JSON_COMPACT) : NULL;

    if (detail) {
        json_decref(detail);
    }

    d = NULL;

    if (s) {
        d = ngx_palloc(ctx->pool, sizeof(ngx_str_t));
        if (d == NULL) {
            free(s);
            return NGX_ERROR;
        }

        d->len = ngx_strlen(s);
        d->data = ngx_pnalloc(ctx->pool, d->len + 1);
        if (d->data == NULL) {
            free(s);
            return NGX_ERROR;
        }

        ngx_memcpy(d->data, s, d->len + 1);
        free(s);
    }

    /* an app (/cgi) has no user id: actor NULL, the app in the detail */
    return yd_sql(ctx,
        "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
        "VALUES (?, ?, ?, ?, ?)",
        "nzsns", ctx->cgi ? NULL : yd_int_str(ctx->pool, ctx->me.uid),
        action, yd_int_str(ctx->pool, target), d, &ctx->client_ip);
}


ngx_int_t
yd_org_publish(ngx_http_youdu_ctx_t *ctx, int64_t version)
{
    size_t       argvlen[3];
    ngx_str_t   *v;
    const char  *argv[3];

    v = yd_int_str(ctx->pool, version);
    if (v == NULL) {
        return NGX_DECLINED;
    }

    argv[0] = "PUBLISH";
    argv[1] = "yd:org";
    argv[2] = (const char *) v->data;
    argvlen[0] = 7;
    argvlen[1] = 6;
    argvlen[2] = v->len;

    return yd_redis(ctx, 3, argv, argvlen);
}


/* one user with memberships, masked for the viewer */

ngx_int_t
yd_org_user_load(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step, int64_t uid,
    ngx_uint_t status)
{
    json_t                 *obj, *user, *list, *m;
    ngx_uint_t              i, c;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (step == 0) {
        return yd_sql(ctx,
            "SELECT " YD_USER_COLS ", ud.dept_id, d.name, ud.position, "
            "ud.weight, ud.sort_id "
            "FROM users u LEFT JOIN user_depts ud ON ud.user_id = u.id "
            "LEFT JOIN departments d ON d.id = ud.dept_id "
            "WHERE u.id = ? ORDER BY d.depth, ud.dept_id", "i", uid);
    }

    /* disabled users do not exist for employees, except themselves */
    if (res->nrows == 0
        || (ctx->me.role < YD_ROLE_ADMIN && yd_int(res, 0, 8) == -1
            && yd_int(res, 0, 0) != ctx->me.uid))
    {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                        "no user with id %L", uid);
    }

    user = yd_org_user_json(ctx, res, 0, 0);
    list = json_array();
    obj = json_object();
    if (user == NULL || list == NULL || obj == NULL) {
        return NGX_ERROR;
    }

    c = YD_USER_NCOLS;

    for (i = 0; i < res->nrows; i++) {
        if (yd_cell(res, i, c)->data == NULL) {
            continue;
        }

        m = json_object();
        if (m == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(m, "dept_id", yd_json_cell_int(res, i, c));
        json_object_set_new(m, "dept_name", yd_json_cell(res, i, c + 1));
        json_object_set_new(m, "position", yd_json_cell(res, i, c + 2));
        json_object_set_new(m, "weight", yd_json_cell_int(res, i, c + 3));
        json_object_set_new(m, "sort_id", yd_json_cell_int(res, i, c + 4));
        json_array_append_new(list, m);
    }

    json_object_set_new(user, "departments", list);
    json_object_set_new(obj, "user", user);

    return yd_ok_status(ctx, status, obj);
}


/* INSERT of a user's memberships (n >= 1), one statement */

ngx_int_t
yd_org_memberships_insert(ngx_http_youdu_ctx_t *ctx, int64_t uid,
    yd_org_membership_t *m, ngx_uint_t n)
{
    char                  *sql;
    ngx_str_t             *u;
    ngx_uint_t             i;
    ngx_youdu_db_param_t  *p;

    sql = yd_org_placeholders(ctx->pool,
        "INSERT INTO user_depts (user_id, dept_id, position, weight, "
        "sort_id) VALUES ", "(?, ?, ?, ?, ?)", ", ", n, "");
    p = ngx_pcalloc(ctx->pool, 5 * n * sizeof(ngx_youdu_db_param_t));
    u = yd_int_str(ctx->pool, uid);

    if (sql == NULL || p == NULL || u == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        p[5 * i].value = *u;
        p[5 * i + 1].value = *yd_int_str(ctx->pool, m[i].dept_id);
        p[5 * i + 2].value = m[i].position;
        p[5 * i + 3].value = *yd_int_str(ctx->pool, m[i].weight);
        p[5 * i + 4].value = *yd_int_str(ctx->pool, m[i].sort_id);
    }

    return yd_sql_params(ctx, sql, p, 5 * n, 0);
}
