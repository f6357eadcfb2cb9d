
/*
 * youdu HTTP module: bulk import input (JSON or CSV) into rows, with the
 * field rules of the brief checked on every row.  Row errors are collected;
 * only a body that cannot be read at all is answered at once.
 */


#include "ngx_http_youdu_import.h"
#include "ngx_youdu_csv.h"
#include "ngx_youdu_utf8.h"


#define YD_IMP_NO_SLASH  1

#define YD_IMP_NCOLS     9

enum {
    YD_COL_ACCOUNT = 0, YD_COL_NAME, YD_COL_GENDER, YD_COL_MOBILE,
    YD_COL_PHONE, YD_COL_EMAIL, YD_COL_TITLE, YD_COL_STATE, YD_COL_DEPTS
};


static const char  *yd_imp_cols_en[YD_IMP_NCOLS] = {
    "account", "name", "gender", "mobile", "phone", "email", "title",
    "enable_state", "departments"
};

static const char  *yd_imp_cols_zh[YD_IMP_NCOLS] = {
    "账号", "姓名", "性别", "手机", "电话", "邮箱", "职务", "状态", "部门"
};


static ngx_int_t yd_imp_parse_json(yd_imp_t *imp);
static ngx_int_t yd_imp_parse_csv(yd_imp_t *imp);


/* length, control characters and '/' of a text field; 1: valid */

static ngx_uint_t
yd_imp_text(yd_imp_t *imp, ngx_uint_t row, const char *sect,
    const char *field, ngx_str_t *s, size_t min, size_t max, ngx_uint_t flags)
{
    size_t  n;

    n = ngx_youdu_utf8_chars(s->data, s->len);

    if (n < min || n > max) {
        if (min) {
            yd_imp_error(imp, row, sect, field,
                         "%s must be %uz to %uz characters", field, min, max);
        } else {
            yd_imp_error(imp, row, sect, field,
                         "%s must be at most %uz characters", field, max);
        }

        return 0;
    }

    if (ngx_youdu_utf8_has_control(s->data, s->len)) {
        yd_imp_error(imp, row, sect, field,
                     "%s must not contain control characters", field);
        return 0;
    }

    if ((flags & YD_IMP_NO_SLASH)
        && ngx_strlchr(s->data, s->data + s->len, '/'))
    {
        yd_imp_error(imp, row, sect, field, "%s must not contain '/'", field);
        return 0;
    }

    return 1;
}


static void
yd_imp_check_user(yd_imp_t *imp, yd_imp_user_t *u)
{
    size_t      i;
    u_char      c, *at;
    ngx_uint_t  row = u->row;

    if (u->account.len == 0 || u->account.len > 64) {
        yd_imp_error(imp, row, "users", "account",
                     "account must be 1 to 64 characters");

    } else {
        for (i = 0; i < u->account.len; i++) {
            c = u->account.data[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '.' || c == '_'
                  || c == '@' || c == '-'))
            {
                yd_imp_error(imp, row, "users", "account",
                             "account may only contain letters, digits "
                             "and . _ @ -");
                break;
            }
        }
    }

    u->account_lc.len = u->account.len;
    u->account_lc.data = ngx_pnalloc(imp->pool, u->account.len + 1);
    if (u->account_lc.data) {
        ngx_strlow(u->account_lc.data, u->account.data, u->account.len);
    }

    (void) yd_imp_text(imp, row, "users", "name", &u->name, 1, 64, 0);

    if (u->mobile.len) {
        for (i = 0; i < u->mobile.len; i++) {
            c = u->mobile.data[i];

            if ((c >= '0' && c <= '9')
                || (c == '+' && i == 0)
                || (c == '-' && i > 0 && i < u->mobile.len - 1))
            {
                continue;
            }

            break;
        }

        if (i < u->mobile.len || u->mobile.len < 5 || u->mobile.len > 20) {
            yd_imp_error(imp, row, "users", "mobile",
                         "mobile must be 5 to 20 digits, optionally with a "
                         "leading '+' and '-' inside");
        }
    }

    (void) yd_imp_text(imp, row, "users", "phone", &u->phone, 0, 32, 0);
    (void) yd_imp_text(imp, row, "users", "title", &u->title, 0, 64, 0);

    if (yd_imp_text(imp, row, "users", "email", &u->email, 0, 64, 0)
        && u->email.len)
    {
        at = ngx_strlchr(u->email.data, u->email.data + u->email.len, '@');

        if (at == NULL || at == u->email.data
            || at == u->email.data + u->email.len - 1)
        {
            yd_imp_error(imp, row, "users", "email",
                         "email must look like name@domain");
        }
    }

    if (u->nuds == 0 || u->nuds > YD_IMP_MAX_UDS) {
        yd_imp_error(imp, row, "users", "departments",
                     "a user needs 1 to %d departments", YD_IMP_MAX_UDS);
    }

    for (i = 0; u->uds && i < u->nuds && i < YD_IMP_MAX_UDS; i++) {
        (void) yd_imp_text(imp, row, "users", "position",
                           &u->uds[i].position, 0, 64, 0);
    }
}


ngx_int_t
yd_imp_parse(yd_imp_t *imp)
{
    ngx_str_t             *ct;
    ngx_http_youdu_ctx_t  *ctx = imp->ctx;

    if (ngx_array_init(&imp->fdepts, imp->pool, 64, sizeof(yd_imp_dept_t))
        != NGX_OK
        || ngx_array_init(&imp->users, imp->pool, 1024, sizeof(yd_imp_user_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->raw.len == 0) {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "send the org chart as JSON or CSV in the body");
    }

    /* a /cgi sync job has no request: its input is always JSON */
    if (ctx->r && ctx->r->headers_in.content_type) {
        ct = &ctx->r->headers_in.content_type->value;

        if (ct->len >= 8 && ngx_strncasecmp(ct->data, (u_char *) "text/csv", 8)
                            == 0)
        {
            imp->csv = 1;

        } else if (ct->len < 16
                   || ngx_strncasecmp(ct->data, (u_char *) "application/json",
                                      16) != 0)
        {
            return yd_imp_fail(imp, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                            YD_ERR_BAD_CONTENT_TYPE,
                            "send Content-Type: application/json or text/csv");
        }
    }

    if (!ngx_youdu_utf8_valid(ctx->raw.data, ctx->raw.len)) {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_UTF8,
                        "request body is not valid UTF-8");
    }

    return imp->csv ? yd_imp_parse_csv(imp) : yd_imp_parse_json(imp);
}


/* JSON */


static void
yd_imp_json_cleanup(void *data)
{
    json_decref((json_t *) data);
}


/* absent or null: empty; NGX_OK or NGX_DECLINED (error recorded) */

static ngx_int_t
yd_imp_jstr(yd_imp_t *imp, json_t *obj, const char *key, ngx_uint_t row,
    const char *sect, ngx_str_t *out)
{
    json_t  *v = json_object_get(obj, key);

    ngx_str_set(out, "");

    if (v == NULL || json_is_null(v)) {
        return NGX_OK;
    }

    if (!json_is_string(v)) {
        yd_imp_error(imp, row, sect, key, "%s must be a string", key);
        return NGX_DECLINED;
    }

    /* jansson keeps the text alive as long as imp->json */
    out->data = (u_char *) json_string_value(v);
    out->len = json_string_length(v);

    return NGX_OK;
}


static ngx_int_t
yd_imp_jint(yd_imp_t *imp, json_t *obj, const char *key, ngx_uint_t row,
    const char *sect, ngx_uint_t required, int64_t def, int64_t min,
    int64_t max, int64_t *out)
{
    json_t  *v = json_object_get(obj, key);

    *out = def;

    if (v == NULL || json_is_null(v)) {
        if (required) {
            yd_imp_error(imp, row, sect, key, "%s is required", key);
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (!json_is_integer(v)) {
        yd_imp_error(imp, row, sect, key, "%s must be an integer", key);
        return NGX_DECLINED;
    }

    *out = json_integer_value(v);

    if (*out < min || *out > max) {
        yd_imp_error(imp, row, sect, key, "%s must be between %L and %L",
                     key, min, max);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_json_user(yd_imp_t *imp, json_t *o, ngx_uint_t row)
{
    size_t          i;
    json_t         *a, *e;
    yd_imp_ud_t    *ud;
    yd_imp_user_t  *u;

    u = ngx_array_push(&imp->users);
    if (u == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(u, sizeof(yd_imp_user_t));
    u->row = row;
    u->db = -1;

    if (!json_is_object(o)) {
        yd_imp_error(imp, row, "users", "", "each user must be an object");
        return NGX_OK;
    }

    (void) yd_imp_jstr(imp, o, "account", row, "users", &u->account);
    (void) yd_imp_jstr(imp, o, "name", row, "users", &u->name);
    (void) yd_imp_jstr(imp, o, "mobile", row, "users", &u->mobile);
    (void) yd_imp_jstr(imp, o, "phone", row, "users", &u->phone);
    (void) yd_imp_jstr(imp, o, "email", row, "users", &u->email);
    (void) yd_imp_jstr(imp, o, "title", row, "users", &u->title);
    (void) yd_imp_jint(imp, o, "gender", row, "users", 0, 0, 0, 1,
                       &u->gender);
    (void) yd_imp_jint(imp, o, "enable_state", row, "users", 0, 1, -1, 1,
                       &u->enable_state);

    a = json_object_get(o, "departments");
    if (a == NULL || json_is_null(a)) {
        a = json_object_get(o, "dept_ids");
    }

    if (a != NULL && !json_is_array(a)) {
        yd_imp_error(imp, row, "users", "departments",
                     "departments must be an array");
        a = NULL;
    }

    if (a && json_array_size(a) && json_array_size(a) <= YD_IMP_MAX_UDS) {
        u->uds = ngx_pcalloc(imp->pool, json_array_size(a)
                                        * sizeof(yd_imp_ud_t));
        if (u->uds == NULL) {
            return NGX_ERROR;
        }

        json_array_foreach(a, i, e) {
            ud = &u->uds[u->nuds++];
            ngx_str_set(&ud->position, "");

            if (json_is_integer(e)) {
                ud->dept_id = json_integer_value(e);

                if (ud->dept_id < 0 || ud->dept_id > 2147483647) {
                    yd_imp_error(imp, row, "users", "departments",
                                 "department ids are 0 to 2147483647");
                }

                continue;
            }

            if (!json_is_object(e)) {
                yd_imp_error(imp, row, "users", "departments",
                             "departments must be objects with dept_id");
                continue;
            }

            (void) yd_imp_jint(imp, e, "dept_id", row, "users", 1, 0, 0,
                               2147483647, &ud->dept_id);
            (void) yd_imp_jstr(imp, e, "position", row, "users",
                               &ud->position);
            (void) yd_imp_jint(imp, e, "weight", row, "users", 0, 0,
                               -2147483647 - 1, 2147483647, &ud->weight);
            (void) yd_imp_jint(imp, e, "sort_id", row, "users", 0, 0,
                               -2147483647 - 1, 2147483647, &ud->sort_id);
        }

    } else if (a) {
        u->nuds = json_array_size(a);
    }

    yd_imp_check_user(imp, u);

    return NGX_OK;
}


static ngx_int_t
yd_imp_json_dept(yd_imp_t *imp, json_t *o, ngx_uint_t row)
{
    yd_imp_dept_t  *d;

    d = ngx_array_push(&imp->fdepts);
    if (d == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(d, sizeof(yd_imp_dept_t));
    d->row = row;
    d->in_file = 1;

    if (!json_is_object(o)) {
        yd_imp_error(imp, row, "departments", "",
                     "each department must be an object");
        d->id = -1;
        return NGX_OK;
    }

    if (yd_imp_jint(imp, o, "id", row, "departments", 1, 0, 1, 2147483647,
                    &d->id) != NGX_OK)
    {
        d->id = -1;
    }

    (void) yd_imp_jint(imp, o, "parent_id", row, "departments", 1, 0, 0,
                       2147483647, &d->parent_id);
    (void) yd_imp_jint(imp, o, "sort_id", row, "departments", 0, 0,
                       -2147483647 - 1, 2147483647, &d->sort_id);

    if (yd_imp_jstr(imp, o, "name", row, "departments", &d->name) == NGX_OK) {
        (void) yd_imp_text(imp, row, "departments", "name", &d->name, 1, 32,
                           YD_IMP_NO_SLASH);
    }

    if (yd_imp_jstr(imp, o, "alias", row, "departments", &d->alias) == NGX_OK)
    {
        (void) yd_imp_text(imp, row, "departments", "alias", &d->alias, 0, 64,
                           0);
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_parse_json(yd_imp_t *imp)
{
    size_t                 i;
    json_t                *j, *a, *e;
    json_error_t           err;
    ngx_pool_cleanup_t    *cln;
    ngx_http_youdu_ctx_t  *ctx = imp->ctx;

    j = json_loadb((char *) ctx->raw.data, ctx->raw.len, JSON_REJECT_DUPLICATES,
                   &err);
    if (j == NULL) {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_JSON,
                        "malformed JSON at line %d column %d: %s",
                        err.line, err.column, err.text);
    }

    cln = ngx_pool_cleanup_add(imp->pool, 0);
    if (cln == NULL) {
        json_decref(j);
        return NGX_ERROR;
    }

    cln->handler = yd_imp_json_cleanup;
    cln->data = j;
    imp->json = j;

    if (!json_is_object(j)) {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_JSON,
                        "the body must be a JSON object with \"departments\" "
                        "and \"users\" arrays");
    }

    a = json_object_get(j, "departments");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a)) {
            return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                            "field \"departments\" must be an array");
        }

        json_array_foreach(a, i, e) {
            if (yd_imp_json_dept(imp, e, i + 1) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    a = json_object_get(j, "users");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a)) {
            return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                            "field \"users\" must be an array");
        }

        json_array_foreach(a, i, e) {
            if (yd_imp_json_user(imp, e, i + 1) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* CSV */


static void
yd_imp_trim(ngx_str_t *s)
{
    while (s->len && (s->data[0] == ' ' || s->data[0] == '\t')) {
        s->data++;
        s->len--;
    }

    while (s->len && (s->data[s->len - 1] == ' '
                      || s->data[s->len - 1] == '\t'))
    {
        s->len--;
    }
}


static ngx_int_t
yd_imp_csv_int(yd_imp_t *imp, ngx_uint_t row, const char *field,
    ngx_str_t *s, int64_t def, int64_t min, int64_t max, int64_t *out)
{
    ngx_int_t  neg, v;

    *out = def;

    if (s->len == 0) {
        return NGX_OK;
    }

    neg = (s->data[0] == '-');
    v = (s->len - neg > 10 || s->len == (size_t) neg)
        ? NGX_ERROR : ngx_atoi(s->data + neg, s->len - neg);

    if (v == NGX_ERROR || (neg ? -v : v) < min || (neg ? -v : v) > max) {
        yd_imp_error(imp, row, "users", field,
                     "%s must be an integer between %L and %L", field, min,
                     max);
        return NGX_DECLINED;
    }

    *out = neg ? -v : v;
    return NGX_OK;
}


static void
yd_imp_csv_gender(yd_imp_t *imp, yd_imp_user_t *u, ngx_str_t *s)
{
    u->gender = 0;

    if (s->len == 0 || (s->len == 1 && s->data[0] == '0')
        || (s->len == 4 && ngx_strncasecmp(s->data, (u_char *) "male", 4) == 0)
        || (s->len == 3 && ngx_strncmp(s->data, "男", 3) == 0))
    {
        return;
    }

    if ((s->len == 1 && s->data[0] == '1')
        || (s->len == 6
            && ngx_strncasecmp(s->data, (u_char *) "female", 6) == 0)
        || (s->len == 3 && ngx_strncmp(s->data, "女", 3) == 0))
    {
        u->gender = 1;
        return;
    }

    yd_imp_error(imp, u->row, "users", "gender",
                 "gender must be 0, 1, male, female, 男 or 女");
}


/* "3|Sales/East|7": ids or paths of names from the root */

static ngx_int_t
yd_imp_csv_depts(yd_imp_t *imp, yd_imp_user_t *u, ngx_str_t *s)
{
    u_char       *p, *end, *bar, *q, *slash;
    ngx_uint_t    n, digits;
    ngx_str_t     tok, seg;
    yd_imp_ud_t  *ud;

    n = 0;
    end = s->data + s->len;

    for (p = s->data; p < end; p++) {
        n += (*p == '|');
    }

    u->uds = ngx_pcalloc(imp->pool, (n + 1) * sizeof(yd_imp_ud_t));
    if (u->uds == NULL) {
        return NGX_ERROR;
    }

    for (p = s->data; p <= end; p = bar + 1) {
        bar = ngx_strlchr(p, end, '|');
        if (bar == NULL) {
            bar = end;
        }

        tok.data = p;
        tok.len = bar - p;
        yd_imp_trim(&tok);

        if (tok.len == 0) {
            continue;
        }

        if (u->nuds == YD_IMP_MAX_UDS) {
            u->nuds++;
            break;
        }

        ud = &u->uds[u->nuds++];
        ngx_str_set(&ud->position, "");

        digits = 1;
        for (q = tok.data; q < tok.data + tok.len; q++) {
            if (*q < '0' || *q > '9') {
                digits = 0;
                break;
            }
        }

        if (digits) {
            ud->dept_id = (tok.len > 10) ? NGX_ERROR
                                         : ngx_atoi(tok.data, tok.len);

            if (ud->dept_id < 0 || ud->dept_id > 2147483647) {
                yd_imp_error(imp, u->row, "users", "departments",
                             "department ids are 0 to 2147483647");
                ud->dept_id = 0;
            }

            continue;
        }

        ud->dept_id = -1;
        ud->dpath = tok;

        /* every segment must be a valid department name */
        for (q = tok.data; q <= tok.data + tok.len; q = slash + 1) {
            slash = ngx_strlchr(q, tok.data + tok.len, '/');
            if (slash == NULL) {
                slash = tok.data + tok.len;
            }

            seg.data = q;
            seg.len = slash - q;
            yd_imp_trim(&seg);

            if (seg.len == 0 && (q == tok.data || slash == tok.data + tok.len))
            {
                continue;
            }

            if (!yd_imp_text(imp, u->row, "users", "departments", &seg, 1, 32,
                             0))
            {
                break;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_parse_csv(yd_imp_t *imp)
{
    int                      n, i, k;
    u_char                  *scratch, *store;
    ngx_int_t                col[YD_IMP_NCOLS + 1];
    ngx_str_t                v[YD_IMP_NCOLS], h;
    ngx_uint_t               ncols, have[YD_IMP_NCOLS];
    yd_imp_user_t           *u;
    ngx_youdu_csv_reader_t   rd;
    ngx_youdu_csv_field_t    f[YD_IMP_NCOLS + 1];
    ngx_http_youdu_ctx_t    *ctx = imp->ctx;

    scratch = ngx_pnalloc(imp->pool, ctx->raw.len + 1);
    store = ngx_pnalloc(imp->pool, ctx->raw.len + 1);
    if (scratch == NULL || store == NULL) {
        return NGX_ERROR;
    }

    ngx_youdu_csv_init(&rd, ctx->raw.data, ctx->raw.len);

    n = ngx_youdu_csv_next(&rd, f, YD_IMP_NCOLS + 1, scratch,
                           ctx->raw.len + 1);
    if (n <= 0) {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        n == 0 ? "the CSV file has no header row"
                               : "the CSV header has more than 9 columns or "
                                 "is malformed");
    }

    ngx_memzero(have, sizeof(have));
    ncols = n;

    for (i = 0; i < n; i++) {
        h.data = (u_char *) f[i].data;
        h.len = f[i].len;
        yd_imp_trim(&h);
        col[i] = -1;

        for (k = 0; k < YD_IMP_NCOLS; k++) {
            if ((h.len == ngx_strlen(yd_imp_cols_en[k])
                 && ngx_strncasecmp(h.data, (u_char *) yd_imp_cols_en[k],
                                    h.len) == 0)
                || (h.len == ngx_strlen(yd_imp_cols_zh[k])
                    && ngx_strncmp(h.data, yd_imp_cols_zh[k], h.len) == 0))
            {
                col[i] = k;
                break;
            }
        }

        if (col[i] < 0 || have[col[i]]) {
            return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "%s CSV column \"%V\" on line %uz: the columns "
                            "are account,name,gender,mobile,phone,email,"
                            "title,enable_state,departments",
                            col[i] < 0 ? "unknown" : "duplicate", &h,
                            rd.line);
        }

        have[col[i]] = 1;
    }

    if (!have[YD_COL_ACCOUNT] || !have[YD_COL_NAME] || !have[YD_COL_DEPTS]) {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "the CSV header needs at least the columns account, "
                        "name and departments");
    }

    for ( ;; ) {
        n = ngx_youdu_csv_next(&rd, f, YD_IMP_NCOLS + 1, scratch,
                               ctx->raw.len + 1);
        if (n == 0) {
            break;
        }

        if (n < 0 && rd.error && ngx_strstr(rd.error, "fields") == NULL) {
            return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "malformed CSV at line %uz: %s", rd.line,
                            rd.error);
        }

        u = ngx_array_push(&imp->users);
        if (u == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(u, sizeof(yd_imp_user_t));
        u->row = rd.line;
        u->db = -1;

        if (n != (int) ncols) {
            yd_imp_error(imp, u->row, "users", "",
                         "expected %ui fields, found %s%d", ncols,
                         n < 0 ? "more than " : "", n < 0 ? YD_IMP_NCOLS : n);
            if (n < 0) {
                /* the reader stops at too many fields: nothing more */
                break;
            }
            continue;
        }

        for (k = 0; k < YD_IMP_NCOLS; k++) {
            ngx_str_set(&v[k], "");
        }

        /* quoted fields live in scratch until the next record: copy */
        for (i = 0; i < n; i++) {
            v[col[i]].data = store;
            v[col[i]].len = f[i].len;
            store = ngx_cpymem(store, f[i].data, f[i].len);

            /* undo the formula guard of our own export: '=x -> =x */
            if (v[col[i]].len > 1 && v[col[i]].data[0] == '\''
                && ngx_strlchr((u_char *) "=+-@", (u_char *) "=+-@" + 4,
                               v[col[i]].data[1]))
            {
                v[col[i]].data++;
                v[col[i]].len--;
            }
        }

        yd_imp_trim(&v[YD_COL_ACCOUNT]);
        yd_imp_trim(&v[YD_COL_MOBILE]);
        yd_imp_trim(&v[YD_COL_GENDER]);
        yd_imp_trim(&v[YD_COL_STATE]);

        u->account = v[YD_COL_ACCOUNT];
        u->name = v[YD_COL_NAME];
        u->mobile = v[YD_COL_MOBILE];
        u->phone = v[YD_COL_PHONE];
        u->email = v[YD_COL_EMAIL];
        u->title = v[YD_COL_TITLE];

        yd_imp_csv_gender(imp, u, &v[YD_COL_GENDER]);
        (void) yd_imp_csv_int(imp, u->row, "enable_state", &v[YD_COL_STATE],
                              1, -1, 1, &u->enable_state);

        if (yd_imp_csv_depts(imp, u, &v[YD_COL_DEPTS]) != NGX_OK) {
            return NGX_ERROR;
        }

        yd_imp_check_user(imp, u);
    }

    return NGX_OK;
}
