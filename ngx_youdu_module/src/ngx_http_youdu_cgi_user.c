
/*
 * youdu: /cgi/user/create, update, positionupdate, delete, batchdelete
 * (PROTOCOL.md 4.5 items 1-5).  userId is our account name.  "", 0 and
 * null count as "not given" (Java sends "attrs":null and "enableState":0,
 * ADD sends every field with its zero value), so an update changes only
 * what is really sent.
 */


#include "ngx_http_youdu_cgi_org.h"


typedef struct {
    yd_cgi_org_w_t            w;         /* first: ctx->data is both */
    yd_org_user_t             in;
    u_char                   *explicit;  /* per membership: from deptDetail */
    ngx_str_t                 short_code;
    json_t                   *attrs;     /* borrowed from the payload */
    int64_t                   id;
    int64_t                   dept_id;
    ngx_str_t                 position;
    int64_t                   weight;
    int64_t                   sort_id;
    ngx_array_t              *names;
    ngx_youdu_db_param_t     *ids;
    ngx_uint_t                nids;
    unsigned                  has_short:1;
    unsigned                  has_attrs:1;
    unsigned                  has_position:1;
    unsigned                  has_weight:1;
    unsigned                  has_sort:1;
} yd_cgi_user_t;


static yd_cgi_user_t *yd_cgi_user_new(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_writes_pt writes, const char *action);
static ngx_int_t yd_cgi_user_parse(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu, ngx_uint_t create);
static ngx_int_t yd_cgi_user_depts(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu);
static yd_org_membership_t *yd_cgi_user_membership(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu, int64_t dept_id);
static ngx_int_t yd_cgi_user_detail(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu, json_t *e);
static ngx_int_t yd_cgi_user_attrs(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu);
static ngx_int_t yd_cgi_user_attrs_insert(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu);
static ngx_int_t yd_cgi_user_dept_check(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_user_t *cu);
static ngx_int_t yd_cgi_user_create_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_user_update_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_user_position_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
static ngx_int_t yd_cgi_user_delete_start(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t batch);
static ngx_int_t yd_cgi_user_delete_w(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);


static yd_cgi_user_t *
yd_cgi_user_new(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_writes_pt writes,
    const char *action)
{
    yd_cgi_user_t  *cu;

    cu = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_user_t));
    if (cu == NULL) {
        return NULL;
    }

    cu->w.writes = writes;
    cu->w.action = action;
    ctx->data = cu;

    return cu;
}


static ngx_int_t
yd_cgi_user_parse(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu,
    ngx_uint_t create)
{
    u_char         *p;
    ngx_int_t       rc;
    yd_org_user_t  *u = &cu->in;

    if (yd_cgi_org_uid(ctx, "userId", &u->account) != NGX_OK) {
        return NGX_DONE;
    }

    u->has_account = 1;

    rc = yd_cgi_org_str(ctx, "name", 64, YD_CGI_INVALID_FORMAT_USERNAME,
                        YD_CGI_OVERLIMIT_USERNAME, &u->name);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    u->has_name = (rc == NGX_OK);

    if (create && !u->has_name) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERNAME, "name is missing");
    }

    if (u->has_name
        && yd_pinyin(ctx->pool, &u->name, &u->pinyin, &u->initials)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = yd_cgi_org_int(ctx, "gender", 0, 1, YD_CGI_INVALID_FORMAT_USERGENDER,
                        &u->gender);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    /* both values are real ones: a gender sent is a gender set */
    u->has_gender = (rc == NGX_OK);

    rc = yd_cgi_org_str(ctx, "mobile", 20, YD_CGI_INVALID_FORMAT_USERMOBILE,
                        YD_CGI_INVALID_FORMAT_USERMOBILE, &u->mobile);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    u->has_mobile = (rc == NGX_OK);

    if (u->has_mobile && yd_org_mobile_ok(&u->mobile) != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERMOBILE,
                           "mobile must be 5 to 20 digits, with an optional "
                           "leading \"+\" and \"-\" separators");
    }

    rc = yd_cgi_org_str(ctx, "phone", 32, YD_CGI_INVALID_FORMAT_USERPHONE,
                        YD_CGI_INVALID_FORMAT_USERPHONE, &u->phone);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    u->has_phone = (rc == NGX_OK);

    rc = yd_cgi_org_str(ctx, "email", 64, YD_CGI_INVALID_FORMAT_USEREMAIL,
                        YD_CGI_OVERLIMIT_USEREMAIL, &u->email);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    u->has_email = (rc == NGX_OK);

    if (u->has_email) {
        p = ngx_strlchr(u->email.data, u->email.data + u->email.len, '@');

        if (p == NULL || p == u->email.data
            || p == u->email.data + u->email.len - 1)
        {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USEREMAIL,
                               "email must look like name@domain");
        }
    }

    rc = yd_cgi_org_int(ctx, "enableState", -1, 1,
                        YD_CGI_INVALID_FORMAT_USER, &u->enable_state);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    /* 0 ("not activated") is Java's default: not given */
    u->has_enable = (rc == NGX_OK && u->enable_state != 0);

    rc = yd_cgi_org_str(ctx, "shortCode", 32, YD_CGI_INVALID_FORMAT_USER,
                        YD_CGI_INVALID_FORMAT_USER, &cu->short_code);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    cu->has_short = (rc == NGX_OK);

    rc = yd_cgi_user_depts(ctx, cu);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = yd_cgi_user_attrs(ctx, cu);
    if (rc != NGX_OK) {
        return rc;
    }

    if (create && !u->has_depts) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERDEPT,
                           "dept is missing: a user belongs to 1 to %d "
                           "departments", YD_ORG_MAX_MEMBERSHIPS);
    }

    if (create) {
        if (!u->has_enable) {
            u->enable_state = 1;
        }

        if (!u->has_phone) {
            ngx_str_set(&u->phone, "");
        }

        if (!u->has_email) {
            ngx_str_set(&u->email, "");
        }

        if (!cu->has_short) {
            ngx_str_set(&cu->short_code, "");
        }
    }

    cu->w.detail = json_pack("{s:s%}", "userId", u->account.data,
                             u->account.len);

    return NGX_OK;
}


static yd_org_membership_t *
yd_cgi_user_membership(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu,
    int64_t dept_id)
{
    ngx_uint_t            i;
    yd_org_membership_t  *m;

    for (i = 0; i < cu->in.ndepts; i++) {
        if (cu->in.depts[i].dept_id == dept_id) {
            return &cu->in.depts[i];
        }
    }

    if (cu->in.ndepts == YD_ORG_MAX_MEMBERSHIPS) {
        yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_USERDEPT,
                    "a user belongs to at most %d departments",
                    YD_ORG_MAX_MEMBERSHIPS);
        return NULL;
    }

    m = &cu->in.depts[cu->in.ndepts++];
    m->dept_id = dept_id;
    ngx_str_set(&m->position, "");

    return m;
}


/* "dept":[ids] and "deptDetail":[{deptId,position,weight,sortId}]: the
 * memberships are the union of both */

static ngx_int_t
yd_cgi_user_depts(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu)
{
    size_t   i;
    json_t  *v, *dd, *e;

    v = yd_cgi_field(ctx, "dept");
    dd = yd_cgi_field(ctx, "deptDetail");

    if (v && !json_is_array(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERDEPT,
                           "dept must be an array of department ids");
    }

    if (dd && !json_is_array(dd)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_POSITIONS,
                           "deptDetail must be an array of objects");
    }

    if ((v == NULL || json_array_size(v) == 0)
        && (dd == NULL || json_array_size(dd) == 0))
    {
        return NGX_OK;
    }

    cu->in.depts = ngx_pcalloc(ctx->pool,
                       YD_ORG_MAX_MEMBERSHIPS * sizeof(yd_org_membership_t));
    cu->explicit = ngx_pcalloc(ctx->pool, YD_ORG_MAX_MEMBERSHIPS);
    if (cu->in.depts == NULL || cu->explicit == NULL) {
        return NGX_ERROR;
    }

    if (v) {
        if (json_array_size(v) > YD_ORG_MAX_MEMBERSHIPS) {
            return yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_USERDEPT,
                               "a user belongs to at most %d departments",
                               YD_ORG_MAX_MEMBERSHIPS);
        }

        json_array_foreach(v, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 0
                || json_integer_value(e) > 2147483647)
            {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERDEPT,
                                   "dept must be an array of department "
                                   "ids");
            }

            if (yd_cgi_user_membership(ctx, cu, json_integer_value(e))
                == NULL)
            {
                return NGX_DONE;
            }
        }
    }

    if (dd) {
        json_array_foreach(dd, i, e) {
            if (yd_cgi_user_detail(ctx, cu, e) != NGX_OK) {
                return NGX_DONE;
            }
        }
    }

    cu->in.has_depts = 1;

    return NGX_OK;
}


static ngx_int_t
yd_cgi_user_detail(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu, json_t *e)
{
    json_t               *v;
    yd_org_membership_t  *m;

    v = yd_cgi_obj_get(e, "deptId");

    if (!json_is_object(e) || !json_is_integer(v)
        || json_integer_value(v) < 0 || json_integer_value(v) > 2147483647)
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_POSITIONS,
                           "each deptDetail entry must be an object with "
                           "an integer deptId");
    }

    m = yd_cgi_user_membership(ctx, cu, json_integer_value(v));
    if (m == NULL) {
        return NGX_DONE;
    }

    cu->explicit[m - cu->in.depts] = 1;

    v = yd_cgi_obj_get(e, "position");

    if (v) {
        if (!json_is_string(v)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_POSITION,
                               "position must be a string");
        }

        m->position.data = (u_char *) json_string_value(v);
        m->position.len = json_string_length(v);

        if (yd_valid_text(&m->position, 64, 0) != NGX_OK) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_POSITION,
                               "position must be text of at most 64 "
                               "characters");
        }
    }

    v = yd_cgi_obj_get(e, "weight");

    if (v && (!json_is_integer(v) || json_integer_value(v) < -2147483647
              || json_integer_value(v) > 2147483647))
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_WEIGHT,
                           "weight must be an integer");
    }

    m->weight = v ? json_integer_value(v) : 0;

    v = yd_cgi_obj_get(e, "sortId");

    if (v && (!json_is_integer(v) || json_integer_value(v) < -2147483647
              || json_integer_value(v) > 2147483647))
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_SORTID,
                           "sortId must be an integer");
    }

    m->sort_id = v ? json_integer_value(v) : 0;

    return NGX_OK;
}


/* "attrs":[{"name","value"}]; null: not given, []: none */

static ngx_int_t
yd_cgi_user_attrs(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu)
{
    size_t      i;
    json_t     *v, *e, *n, *val;
    ngx_str_t   s;

    v = yd_cgi_field(ctx, "attrs");

    if (v == NULL) {
        return NGX_OK;
    }

    if (!json_is_array(v) || json_array_size(v) > YD_CGI_MAX_ATTRS) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USER,
                           "attrs must be null or an array of at most %d "
                           "{\"name\",\"value\"} objects", YD_CGI_MAX_ATTRS);
    }

    json_array_foreach(v, i, e) {
        n = yd_cgi_obj_get(e, "name");
        val = yd_cgi_obj_get(e, "value");

        if (!json_is_string(n) || json_string_length(n) == 0
            || (val && !json_is_string(val)))
        {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USER,
                               "each attrs entry needs a string name and a "
                               "string value");
        }

        s.data = (u_char *) json_string_value(n);
        s.len = json_string_length(n);

        if (yd_valid_text(&s, 64, 0) != NGX_OK) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USER,
                               "an attribute name is text of at most 64 "
                               "characters");
        }

        if (val) {
            s.data = (u_char *) json_string_value(val);
            s.len = json_string_length(val);

            if (yd_valid_text(&s, 1024, 1) != NGX_OK) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USER,
                                   "an attribute value is text of at most "
                                   "1024 characters");
            }
        }
    }

    cu->attrs = v;
    cu->has_attrs = 1;

    return NGX_OK;
}


static ngx_int_t
yd_cgi_user_attrs_insert(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu)
{
    char                  *sql;
    size_t                 i, n;
    json_t                *e, *val;
    ngx_str_t             *uid;
    ngx_youdu_db_param_t  *p;

    n = json_array_size(cu->attrs);

    sql = yd_org_placeholders(ctx->pool,
        "INSERT INTO user_attrs (user_id, seq, name, value) VALUES ",
        "(?, ?, ?, ?)", ", ", n, "");
    p = ngx_pcalloc(ctx->pool, 4 * n * sizeof(ngx_youdu_db_param_t));
    uid = yd_int_str(ctx->pool, cu->id);
    if (sql == NULL || p == NULL || uid == NULL) {
        return NGX_ERROR;
    }

    json_array_foreach(cu->attrs, i, e) {
        val = yd_cgi_obj_get(e, "value");

        p[4 * i].value = *uid;
        p[4 * i + 1].value = *yd_int_str(ctx->pool, (int64_t) i);
        p[4 * i + 2].value.data = (u_char *)
                                  json_string_value(yd_cgi_obj_get(e, "name"));
        p[4 * i + 2].value.len = json_string_length(yd_cgi_obj_get(e,
                                                                   "name"));

        if (val) {
            p[4 * i + 3].value.data = (u_char *) json_string_value(val);
            p[4 * i + 3].value.len = json_string_length(val);

        } else {
            ngx_str_set(&p[4 * i + 3].value, "");
        }
    }

    return yd_sql_params(ctx, sql, p, 4 * n, 0);
}


/* inside the org lock: the user (if any) and what the write refers to.
 * Columns: id, role, quit?, enable_state, mobile taken by another user,
 * super admins who can sign in, departments found; one row even for an
 * unknown account */

static ngx_int_t
yd_cgi_user_dept_check(ngx_http_youdu_ctx_t *ctx, yd_cgi_user_t *cu)
{
    char                  *sql;
    ngx_uint_t             i, n;
    ngx_youdu_db_param_t  *p;

    n = cu->in.has_depts ? cu->in.ndepts : 0;

    sql = yd_org_placeholders(ctx->pool,
        "SELECT u.id, u.role, u.quit_at IS NOT NULL, u.enable_state, "
        "(SELECT COUNT(*) FROM users m WHERE m.mobile = ? AND ? <> '' "
        "AND m.account <> ?), "
        YD_CGI_SUPERS_SQL ", "
        "(SELECT COUNT(*) FROM departments WHERE id IN (-1", ", ?", "", n,
        ")) FROM (SELECT 1) one LEFT JOIN users u ON u.account = ?");
    p = ngx_pcalloc(ctx->pool, (n + 4) * sizeof(ngx_youdu_db_param_t));
    if (sql == NULL || p == NULL) {
        return NGX_ERROR;
    }

    p[0].value = cu->in.has_mobile ? cu->in.mobile : *yd_pstr(ctx->pool, "");
    p[1].value = p[0].value;
    p[2].value = cu->in.account;

    for (i = 0; i < n; i++) {
        p[3 + i].value = *yd_int_str(ctx->pool, cu->in.depts[i].dept_id);
    }

    p[3 + n].value = cu->in.account;

    return yd_sql_params(ctx, sql, p, n + 4, 0);
}


ngx_int_t
ngx_http_youdu_cgi_user_create(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t       rc;
    yd_cgi_user_t  *cu = ctx->data;

    if (ctx->stage == 0) {
        cu = yd_cgi_user_new(ctx, yd_cgi_user_create_w, "cgi.user.create");
        if (cu == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_user_parse(ctx, cu, 1);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return yd_cgi_org_run(ctx, &cu->w);
}


static ngx_int_t
yd_cgi_user_create_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    yd_org_user_t          *u;
    yd_cgi_user_t          *cu = (yd_cgi_user_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    u = &cu->in;

    switch (step) {

    case 0:
        return yd_cgi_user_dept_check(ctx, cu);

    case 1:
        if (yd_cell(res, 0, 0)->data) {
            return yd_cgi_fail(ctx, YD_CGI_USER_EXIST,
                               yd_int(res, 0, 2)
                               ? "user \"%V\" exists (it has quit: "
                                 "/cgi/user/restore brings it back)"
                               : "user \"%V\" exists", &u->account);
        }

        if (yd_int(res, 0, 4)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERMOBILE,
                               "mobile \"%V\" belongs to another user",
                               &u->mobile);
        }

        if (yd_int(res, 0, 6) != (int64_t) u->ndepts) {
            return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_DEPT,
                               "a department in dept does not exist");
        }

        return yd_sql(ctx,
            "INSERT INTO users (account, name, name_pinyin, name_initials, "
            "gender, mobile, phone, email, short_code, enable_state, "
            "version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "UTC_TIMESTAMP())",
            "ssssinsssii", &u->account, &u->name, &u->pinyin, &u->initials,
            u->gender, u->has_mobile ? &u->mobile : NULL, &u->phone,
            &u->email, &cu->short_code, u->enable_state, w->version);

    case 2:
        cu->id = (int64_t) res->insert_id;
        w->target = cu->id;
        return yd_org_memberships_insert(ctx, cu->id, u->depts, u->ndepts);

    case 3:
        if (cu->has_attrs && json_array_size(cu->attrs)) {
            return yd_cgi_user_attrs_insert(ctx, cu);
        }

        /* fall through */

    case 4:
        w->step = 5;
        return yd_org_change(ctx, w->version, YD_ORG_KIND_USER, cu->id,
                             YD_ORG_OP_UPSERT);

    default:
        return NGX_OK;
    }
}


ngx_int_t
ngx_http_youdu_cgi_user_update(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t       rc;
    yd_cgi_user_t  *cu = ctx->data;

    if (ctx->stage == 0) {
        cu = yd_cgi_user_new(ctx, yd_cgi_user_update_w, "cgi.user.update");
        if (cu == NULL) {
            return NGX_ERROR;
        }

        rc = yd_cgi_user_parse(ctx, cu, 0);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return yd_cgi_org_run(ctx, &cu->w);
}


static ngx_int_t
yd_cgi_user_update_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    ngx_uint_t              i, k;
    yd_org_user_t          *u;
    yd_cgi_user_t          *cu = (yd_cgi_user_t *) w;
    yd_org_membership_t    *m;
    ngx_youdu_db_result_t  *res = ctx->res;

    u = &cu->in;

    switch (step) {

    case 0:
        return yd_cgi_user_dept_check(ctx, cu);

    case 1:
        if (yd_cell(res, 0, 0)->data == NULL || yd_int(res, 0, 2)) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "user \"%V\" does not exist", &u->account);
        }

        cu->id = yd_int(res, 0, 0);
        w->target = cu->id;

        if (u->has_mobile && yd_int(res, 0, 4)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERMOBILE,
                               "mobile \"%V\" belongs to another user",
                               &u->mobile);
        }

        if (u->has_depts && yd_int(res, 0, 6) != (int64_t) u->ndepts) {
            return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_DEPT,
                               "a department in dept does not exist");
        }

        if (u->has_enable && u->enable_state != 1
            && yd_int(res, 0, 1) == YD_ROLE_SUPER && yd_int(res, 0, 3) == 1
            && yd_int(res, 0, 5) <= 1)
        {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_USERID,
                               "\"%V\" is the last super admin and stays "
                               "enabled", &u->account);
        }

        if (u->has_enable) {
            w->recheck = &cu->id;
            w->nrecheck = 1;
        }

        return yd_sql(ctx,
            "UPDATE users SET name = COALESCE(?, name), "
            "name_pinyin = COALESCE(?, name_pinyin), "
            "name_initials = COALESCE(?, name_initials), "
            "gender = COALESCE(?, gender), "
            "mobile = COALESCE(?, mobile), phone = COALESCE(?, phone), "
            "email = COALESCE(?, email), "
            "short_code = COALESCE(?, short_code), "
            "enable_state = COALESCE(?, enable_state), "
            "version = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "nnnnnnnnnii",
            u->has_name ? &u->name : NULL,
            u->has_name ? &u->pinyin : NULL,
            u->has_name ? &u->initials : NULL,
            u->has_gender ? yd_int_str(ctx->pool, u->gender) : NULL,
            u->has_mobile ? &u->mobile : NULL,
            u->has_phone ? &u->phone : NULL,
            u->has_email ? &u->email : NULL,
            cu->has_short ? &cu->short_code : NULL,
            u->has_enable ? yd_int_str(ctx->pool, u->enable_state) : NULL,
            w->version, cu->id);

    case 2:
        if (!u->has_depts) {
            w->step = 6;
            return yd_cgi_user_update_w(ctx, w, 5);
        }

        return yd_sql(ctx,
            "SELECT dept_id, position, weight, sort_id FROM user_depts "
            "WHERE user_id = ?", "i", cu->id);

    case 3:
        /* a department listed only in "dept" keeps its position */
        for (i = 0; i < u->ndepts; i++) {
            m = &u->depts[i];

            if (cu->explicit[i]) {
                continue;
            }

            for (k = 0; k < res->nrows; k++) {
                if (yd_int(res, k, 0) == m->dept_id) {
                    m->position = *yd_cell(res, k, 1);
                    m->weight = yd_int(res, k, 2);
                    m->sort_id = yd_int(res, k, 3);
                }
            }
        }

        return yd_sql(ctx, "DELETE FROM user_depts WHERE user_id = ?", "i",
                      cu->id);

    case 4:
        return yd_org_memberships_insert(ctx, cu->id, u->depts, u->ndepts);

    case 5:
        if (!cu->has_attrs) {
            w->step = 8;
            return yd_cgi_user_update_w(ctx, w, 7);
        }

        return yd_sql(ctx, "DELETE FROM user_attrs WHERE user_id = ?", "i",
                      cu->id);

    case 6:
        if (json_array_size(cu->attrs)) {
            return yd_cgi_user_attrs_insert(ctx, cu);
        }

        /* fall through */

    case 7:
        w->step = 8;
        return yd_org_change(ctx, w->version, YD_ORG_KIND_USER, cu->id,
                             YD_ORG_OP_UPSERT);

    default:
        return NGX_OK;
    }
}


/* {"userId","deptId","position"?,"weight"?,"sortId"?}: a position given
 * as "" clears it; an absent field stays */

ngx_int_t
ngx_http_youdu_cgi_user_position(ngx_http_youdu_ctx_t *ctx)
{
    json_t         *v;
    ngx_int_t       rc;
    yd_cgi_user_t  *cu = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &cu->w);
    }

    cu = yd_cgi_user_new(ctx, yd_cgi_user_position_w,
                         "cgi.user.positionupdate");
    if (cu == NULL) {
        return NGX_ERROR;
    }

    if (yd_cgi_org_uid(ctx, "userId", &cu->in.account) != NGX_OK) {
        return NGX_DONE;
    }

    rc = yd_cgi_org_int(ctx, "deptId", 0, 2147483647,
                        YD_CGI_INVALID_FORMAT_DEPTID, &cu->dept_id);

    if (rc == NGX_DECLINED) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_DEPTID, "deptId is missing");
    }

    if (rc != NGX_OK) {
        return rc;
    }

    v = yd_cgi_field(ctx, "position");

    if (v && !json_is_string(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_POSITION,
                           "position must be a string");
    }

    if (v) {
        cu->position.data = (u_char *) json_string_value(v);
        cu->position.len = json_string_length(v);
        cu->has_position = 1;

        if (yd_valid_text(&cu->position, 64, 0) != NGX_OK) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_POSITION,
                               "position must be text of at most 64 "
                               "characters");
        }
    }

    rc = yd_cgi_org_int(ctx, "weight", -2147483647, 2147483647,
                        YD_CGI_INVALID_FORMAT_WEIGHT, &cu->weight);
    if (rc == NGX_DONE) {
        return rc;
    }

    cu->has_weight = (rc == NGX_OK);

    rc = yd_cgi_org_int(ctx, "sortId", -2147483647, 2147483647,
                        YD_CGI_INVALID_FORMAT_SORTID, &cu->sort_id);
    if (rc == NGX_DONE) {
        return rc;
    }

    cu->has_sort = (rc == NGX_OK);
    cu->w.detail = json_deep_copy(ctx->cgi->data);

    return yd_cgi_org_run(ctx, &cu->w);
}


static ngx_int_t
yd_cgi_user_position_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    yd_cgi_user_t          *cu = (yd_cgi_user_t *) w;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "SELECT u.id, (SELECT COUNT(*) FROM user_depts "
            "WHERE user_id = u.id AND dept_id = ?) FROM users u "
            "WHERE u.account = ? AND u.quit_at IS NULL",
            "is", cu->dept_id, &cu->in.account);

    case 1:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "user \"%V\" does not exist",
                               &cu->in.account);
        }

        if (yd_int(res, 0, 1) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTIN_DEPT,
                               "user \"%V\" is not in department %L",
                               &cu->in.account, cu->dept_id);
        }

        cu->id = yd_int(res, 0, 0);
        w->target = cu->id;

        return yd_sql(ctx,
            "UPDATE user_depts SET position = COALESCE(?, position), "
            "weight = COALESCE(?, weight), sort_id = COALESCE(?, sort_id) "
            "WHERE user_id = ? AND dept_id = ?",
            "nnnii", cu->has_position ? &cu->position : NULL,
            cu->has_weight ? yd_int_str(ctx->pool, cu->weight) : NULL,
            cu->has_sort ? yd_int_str(ctx->pool, cu->sort_id) : NULL,
            cu->id, cu->dept_id);

    case 2:
        return yd_sql(ctx,
            "UPDATE users SET version = ?, updated_at = UTC_TIMESTAMP() "
            "WHERE id = ?", "ii", w->version, cu->id);

    case 3:
        return yd_org_change(ctx, w->version, YD_ORG_KIND_USER, cu->id,
                             YD_ORG_OP_UPSERT);

    default:
        return NGX_OK;
    }
}


/* delete: GET ?userId= or a payload; batchdelete: {"delList":[...]} */

ngx_int_t
ngx_http_youdu_cgi_user_delete(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_user_delete_start(ctx, 0);
}


ngx_int_t
ngx_http_youdu_cgi_user_batchdelete(ngx_http_youdu_ctx_t *ctx)
{
    return yd_cgi_user_delete_start(ctx, 1);
}


static ngx_int_t
yd_cgi_user_delete_start(ngx_http_youdu_ctx_t *ctx, ngx_uint_t batch)
{
    ngx_int_t       rc;
    ngx_str_t      *s;
    yd_cgi_user_t  *cu = ctx->data;

    if (ctx->stage != 0) {
        return yd_cgi_org_run(ctx, &cu->w);
    }

    cu = yd_cgi_user_new(ctx, yd_cgi_user_delete_w,
                         batch ? "cgi.user.batchdelete" : "cgi.user.delete");
    if (cu == NULL) {
        return NGX_ERROR;
    }

    if (batch) {
        rc = yd_cgi_org_uid_list(ctx, "delList", YD_CGI_MAX_DELLIST,
                                 &cu->names);
        if (rc != NGX_OK) {
            return rc;
        }

    } else {
        cu->names = ngx_array_create(ctx->pool, 1, sizeof(ngx_str_t));
        s = cu->names ? ngx_array_push(cu->names) : NULL;
        if (s == NULL) {
            return NGX_ERROR;
        }

        if (yd_cgi_org_uid(ctx, "userId", s) != NGX_OK) {
            return NGX_DONE;
        }
    }

    cu->w.detail = json_deep_copy(ctx->cgi->data);
    if (cu->w.detail == NULL) {
        cu->w.detail = json_pack("{s:s%}", "userId",
                                 ((ngx_str_t *) cu->names->elts)->data,
                                 ((ngx_str_t *) cu->names->elts)->len);
    }

    return yd_cgi_org_run(ctx, &cu->w);
}


static ngx_int_t
yd_cgi_user_delete_w(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w,
    ngx_uint_t step)
{
    char                   *sql;
    int64_t                 supers;
    ngx_uint_t              i;
    yd_cgi_user_t          *cu = (yd_cgi_user_t *) w;
    ngx_youdu_db_param_t   *p;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (step) {

    case 0:
        return yd_cgi_org_in(ctx,
            "SELECT id, account, role = 2 AND enable_state = 1 "
            "AND quit_at IS NULL, " YD_CGI_SUPERS_SQL
            " FROM users WHERE account IN (", ")", NULL, 0,
            yd_cgi_org_str_params(ctx->pool, cu->names), cu->names->nelts,
            0);

    case 1:
        if (yd_cgi_org_all_found(ctx, cu->names, res) != NGX_OK) {
            return NGX_DONE;
        }

        supers = 0;

        for (i = 0; i < res->nrows; i++) {
            supers += yd_int(res, i, 2);
        }

        if (supers && supers >= yd_int(res, 0, 3)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_USERID,
                               "the last super admin cannot be deleted");
        }

        cu->ids = yd_cgi_org_col_params(ctx->pool, res, 0);
        cu->nids = res->nrows;

        if (cu->ids == NULL
            || yd_cgi_org_recheck_rows(ctx, w, res) != NGX_OK)
        {
            return NGX_ERROR;
        }

        w->target = yd_int(res, 0, 0);

        /* as an admin delete: memberships, attributes, sessions and
         * conversation memberships go with the row, files and messages
         * stay without it; /cgi/user/quit keeps the account instead */
        return yd_cgi_org_in(ctx, "DELETE FROM users WHERE id IN (", ")",
                             NULL, 0, cu->ids, cu->nids, 1);

    case 2:
        if (res->err_no == YD_DB_ER_ROW_IS_REFERENCED) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_USERID,
                               "a user to delete is still referenced: use "
                               "/cgi/user/quit to retire the account "
                               "(nothing was deleted)");
        }

        if (res->err_no) {
            return yd_db_failed(ctx);
        }

        sql = yd_org_placeholders(ctx->pool,
            "INSERT INTO org_changes (version, kind, target_id, op) VALUES ",
            "(?, 2, ?, 2)", ", ", cu->nids, "");
        p = ngx_pcalloc(ctx->pool,
                        2 * cu->nids * sizeof(ngx_youdu_db_param_t));
        if (sql == NULL || p == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < cu->nids; i++) {
            p[2 * i].value = *yd_int_str(ctx->pool, w->version);
            p[2 * i + 1].value = cu->ids[i].value;
        }

        return yd_sql_params(ctx, sql, p, 2 * cu->nids, 0);

    default:
        return NGX_OK;
    }
}
