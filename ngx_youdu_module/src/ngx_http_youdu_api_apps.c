
/*
 * youdu HTTP module: open-platform apps (PROTOCOL.md) as administrators
 * manage them (/admin/apps) and as employees find them (/apps, the app
 * portal).  The secrets (EncodingAESKey, callback token) are generated
 * here and shown once, in the reply of the write that made them; reads
 * give a fingerprint only.  Every write is one transaction with its
 * audit_log row.
 */


#include "ngx_http_youdu_apps.h"
#include "ngx_http_youdu_org.h"
#include "ngx_youdu_cgi_crypto.h"
#include "ngx_http_youdu_cgi.h"

#include <openssl/rand.h>


#define YD_APP_NAME_MAX       64
#define YD_APP_DESC_MAX       255
#define YD_APP_URL_MAX        1024
#define YD_APP_SCOPE_MAX      1000
#define YD_APP_TOKEN_LEN      16
#define YD_APP_BODY_LIMIT     (64 * 1024)

#define yd_app_alnum(c)                                                      \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')                \
     || ((c) >= 'A' && (c) <= 'Z'))


/* one app as the admin API shows it (never the secrets themselves) */
#define YD_APP_COLS                                                          \
    "a.id, a.app_id, a.name, a.description, a.builtin, a.rights, "           \
    "a.aes_key IS NOT NULL, LEFT(SHA2(a.aes_key, 256), 8), "                 \
    "yd_iso(a.key_rotated_at), a.callback_url, a.callback_token <> '', "     \
    "a.home_url, a.logo_file_id, a.scope_all, a.enabled, "                   \
    "yd_iso(a.created_at), yd_iso(a.updated_at), "                           \
    "(SELECT GROUP_CONCAT(s.target_id ORDER BY s.target_id) "                \
    "FROM app_scope s JOIN departments d ON d.id = s.target_id "             \
    "WHERE s.app_pk = a.id AND s.kind = 1), "                                \
    "(SELECT GROUP_CONCAT(s.target_id ORDER BY s.target_id) "                \
    "FROM app_scope s JOIN users u ON u.id = s.target_id "                   \
    "WHERE s.app_pk = a.id AND s.kind = 2)"

#define YD_APP_NCOLS          19

#define YD_APP_IDS_SQL                                                       \
    "JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j"


typedef struct {
    int64_t                   id;
    ngx_str_t                 name;
    ngx_str_t                 description;
    ngx_str_t                 callback_url;
    ngx_str_t                 home_url;
    int64_t                   logo;
    ngx_uint_t                enabled;
    ngx_uint_t                scope_all;
    ngx_str_t                 depts;         /* JSON array text "[1,2]" */
    ngx_str_t                 users;

    /* generated secrets, shown once */
    ngx_str_t                 app_id;
    ngx_str_t                 aes_key;
    ngx_str_t                 token;

    /* the row as locked before a change */
    ngx_uint_t                builtin;
    ngx_str_t                 old_app_id;
    ngx_str_t                 old_name;
    int64_t                   revoked;

    int64_t                   offset;
    int64_t                   limit;
    int64_t                   total;
    ngx_str_t                 q;
    ngx_str_t                *like;
    json_t                   *list;

    unsigned                  has_name:1;
    unsigned                  has_desc:1;
    unsigned                  has_callback:1;
    unsigned                  has_home:1;
    unsigned                  has_logo:1;    /* also for "logo_file_id":null */
    unsigned                  logo_null:1;
    unsigned                  has_enabled:1;
    unsigned                  has_scope:1;
    unsigned                  key_rotated:1;  /* reply: tokens_revoked */
} ngx_http_youdu_app_t;


static ngx_http_youdu_app_t *ngx_http_youdu_app_new(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_app_path(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t **wp);
static json_t *ngx_http_youdu_app_json(ngx_youdu_db_result_t *res,
    ngx_uint_t row);
static json_t *ngx_http_youdu_app_id_list(ngx_str_t *csv);
static ngx_int_t ngx_http_youdu_app_url(ngx_http_youdu_ctx_t *ctx,
    const char *key, ngx_str_t *out, ngx_uint_t *present);
static ngx_int_t ngx_http_youdu_app_ids(ngx_http_youdu_ctx_t *ctx,
    json_t *scope, const char *key, int64_t min, ngx_str_t *out);
static ngx_int_t ngx_http_youdu_app_scope(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w);
static ngx_int_t ngx_http_youdu_app_parse(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w, ngx_uint_t create);
static ngx_int_t ngx_http_youdu_app_refs_sql(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w);
static ngx_int_t ngx_http_youdu_app_refs_check(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w);
static ngx_int_t ngx_http_youdu_app_scope_insert(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w, ngx_uint_t kind);
static ngx_int_t ngx_http_youdu_app_lock(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w, ngx_uint_t step);
static json_t *ngx_http_youdu_app_changes(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_app_audit(ngx_http_youdu_ctx_t *ctx,
    const char *action, int64_t id, json_t *detail);
static ngx_int_t ngx_http_youdu_app_reply(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t step, ngx_http_youdu_app_t *w, ngx_uint_t status);
static ngx_int_t ngx_http_youdu_app_gen_id(ngx_http_youdu_ctx_t *ctx,
    ngx_str_t *out);
static ngx_int_t ngx_http_youdu_app_gen_token(ngx_http_youdu_ctx_t *ctx,
    ngx_str_t *out);
static ngx_int_t ngx_http_youdu_app_rotate(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t key);


static const char  *ngx_http_youdu_app_right_names[] = {
    "msg", "org", "group", "sysmsg", "mail", "sms", "audit", NULL
};

/* what only the server sets: refused rather than silently ignored */
static const char  *ngx_http_youdu_app_fixed[] = {
    "id", "app_id", "rights", "builtin", "aes_key", "callback_token", NULL
};


static ngx_http_youdu_app_t *
ngx_http_youdu_app_new(ngx_http_youdu_ctx_t *ctx)
{
    ngx_http_youdu_app_t  *w;

    w = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_app_t));
    if (w == NULL) {
        return NULL;
    }

    ctx->data = w;

    ngx_str_set(&w->depts, "[]");
    ngx_str_set(&w->users, "[]");

    return w;
}


/* stage 0 of a request on the app in the path */

static ngx_int_t
ngx_http_youdu_app_path(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_app_t **wp)
{
    *wp = ngx_http_youdu_app_new(ctx);
    if (*wp == NULL) {
        return NGX_ERROR;
    }

    if (yd_arg_int(ctx, 0, &(*wp)->id) != NGX_OK) {
        return NGX_DONE;
    }

    return NGX_OK;
}


/* one YD_APP_COLS row */

static json_t *
ngx_http_youdu_app_json(ngx_youdu_db_result_t *res, ngx_uint_t row)
{
    json_t      *obj, *names, *scope;
    int64_t      rights;
    ngx_uint_t   i;

    obj = json_object();
    names = json_array();
    scope = json_object();

    if (obj == NULL || names == NULL || scope == NULL) {
        json_decref(obj);
        json_decref(names);
        json_decref(scope);
        return NULL;
    }

    rights = yd_int(res, row, 5);

    for (i = 0; ngx_http_youdu_app_right_names[i]; i++) {
        if (rights & ((int64_t) 1 << i)) {
            json_array_append_new(names,
                json_string(ngx_http_youdu_app_right_names[i]));
        }
    }

    json_object_set_new(scope, "all", json_boolean(yd_int(res, row, 13)));
    json_object_set_new(scope, "depts",
                        ngx_http_youdu_app_id_list(yd_cell(res, row, 17)));
    json_object_set_new(scope, "users",
                        ngx_http_youdu_app_id_list(yd_cell(res, row, 18)));

    json_object_set_new(obj, "id", yd_json_cell_int(res, row, 0));
    json_object_set_new(obj, "app_id", yd_json_cell(res, row, 1));
    json_object_set_new(obj, "name", yd_json_cell(res, row, 2));
    json_object_set_new(obj, "description", yd_json_cell(res, row, 3));
    json_object_set_new(obj, "builtin", json_boolean(yd_int(res, row, 4)));
    json_object_set_new(obj, "rights", json_integer(rights));
    json_object_set_new(obj, "right_names", names);
    json_object_set_new(obj, "has_key", json_boolean(yd_int(res, row, 6)));
    json_object_set_new(obj, "key_fingerprint", yd_json_cell(res, row, 7));
    json_object_set_new(obj, "key_rotated_at", yd_json_cell(res, row, 8));
    json_object_set_new(obj, "callback_url", yd_json_cell(res, row, 9));
    json_object_set_new(obj, "has_callback_token",
                        json_boolean(yd_int(res, row, 10)));
    json_object_set_new(obj, "home_url", yd_json_cell(res, row, 11));
    json_object_set_new(obj, "logo_file_id", yd_json_cell_int(res, row, 12));
    json_object_set_new(obj, "scope", scope);
    json_object_set_new(obj, "enabled", json_boolean(yd_int(res, row, 14)));
    json_object_set_new(obj, "created_at", yd_json_cell(res, row, 15));
    json_object_set_new(obj, "updated_at", yd_json_cell(res, row, 16));

    return obj;
}


/* "3,17" (GROUP_CONCAT) -> [3, 17]; NULL -> [] */

static json_t *
ngx_http_youdu_app_id_list(ngx_str_t *csv)
{
    u_char     *p, *end, *start;
    json_t     *list;
    ngx_int_t   v;

    list = json_array();
    if (list == NULL || csv->data == NULL) {
        return list;
    }

    p = csv->data;
    end = csv->data + csv->len;

    while (p < end) {
        start = p;

        while (p < end && *p != ',') {
            p++;
        }

        v = ngx_atoi(start, p - start);
        if (v != NGX_ERROR) {
            json_array_append_new(list, json_integer(v));
        }

        p++;
    }

    return list;
}


/*
 * an optional http:// or https:// URL ("" clears it): printable ASCII
 * (anything else percent-encoded), a host, no user info
 */

static ngx_int_t
ngx_http_youdu_app_url(ngx_http_youdu_ctx_t *ctx, const char *key,
    ngx_str_t *out, ngx_uint_t *present)
{
    u_char     *p, *end, *host;
    ngx_int_t   rc;

    rc = yd_json_str(ctx, ctx->body, key, 0, YD_APP_URL_MAX, out, present);
    if (rc != NGX_OK || !*present || out->len == 0) {
        return rc;
    }

    p = out->data;
    end = out->data + out->len;

    if (out->len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;

    } else if (out->len > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        p += 8;

    } else {
        goto bad;
    }

    host = p;

    while (p < end && *p != '/' && *p != '?' && *p != '#') {
        if (!(yd_app_alnum(*p) || *p == '.' || *p == '-' || *p == '_'
              || *p == ':' || *p == '[' || *p == ']'))
        {
            goto bad;
        }

        p++;
    }

    if (p == host || !(yd_app_alnum(*host) || *host == '[')) {
        goto bad;
    }

    for ( /* void */ ; p < end; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            goto bad;
        }
    }

    return NGX_OK;

bad:

    yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
             "field \"%s\" must be an http:// or https:// URL with a host, "
             "in printable ASCII (percent-encode the rest), or \"\"", key);
    return NGX_DONE;
}


/* scope.depts / scope.users: ids, deduplicated, as JSON array text */

static ngx_int_t
ngx_http_youdu_app_ids(ngx_http_youdu_ctx_t *ctx, json_t *scope,
    const char *key, int64_t min, ngx_str_t *out)
{
    u_char      *p;
    size_t       i, j, n;
    json_t      *arr, *v;
    int64_t     *ids, id;

    arr = json_object_get(scope, key);
    if (arr == NULL || json_is_null(arr)) {
        return NGX_OK;
    }

    if (!json_is_array(arr)) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                 "field \"scope.%s\" must be an array of ids", key);
        return NGX_DONE;
    }

    if (json_array_size(arr) > YD_APP_SCOPE_MAX) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                 "field \"scope.%s\" has more than %d entries", key,
                 YD_APP_SCOPE_MAX);
        return NGX_DONE;
    }

    ids = ngx_palloc(ctx->pool, (json_array_size(arr) + 1) * sizeof(int64_t));
    if (ids == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    json_array_foreach(arr, i, v) {
        if (!json_is_integer(v)) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                     "field \"scope.%s\" must contain integer ids only", key);
            return NGX_DONE;
        }

        id = json_integer_value(v);

        if (id < min || id > 9007199254740991LL) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "field \"scope.%s\": %L is not a valid id", key, id);
            return NGX_DONE;
        }

        for (j = 0; j < n && ids[j] != id; j++) { /* void */ }

        if (j == n) {
            ids[n++] = id;
        }
    }

    out->data = ngx_pnalloc(ctx->pool, n * (NGX_INT64_LEN + 1) + 3);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, "[", 1);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, i ? ",%L" : "%L", ids[i]);
    }

    *p++ = ']';
    out->len = p - out->data;

    return NGX_OK;
}


/* "scope": {"all": bool, "depts": [ids], "users": [ids]}; all defaults
 * to false once a scope is given */

static ngx_int_t
ngx_http_youdu_app_scope(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_app_t *w)
{
    json_t      *scope, *v;
    ngx_int_t    rc;
    const char  *key;

    scope = json_object_get(ctx->body, "scope");
    if (scope == NULL || json_is_null(scope)) {
        return NGX_OK;
    }

    if (!json_is_object(scope)) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                 "field \"scope\" must be an object {\"all\", \"depts\", "
                 "\"users\"}");
        return NGX_DONE;
    }

    json_object_foreach(scope, key, v) {
        if (ngx_strcmp(key, "all") != 0 && ngx_strcmp(key, "depts") != 0
            && ngx_strcmp(key, "users") != 0)
        {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "field \"scope\" has an unknown key (allowed: all, "
                     "depts, users)");
            return NGX_DONE;
        }
    }

    w->scope_all = 0;

    v = json_object_get(scope, "all");

    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                     "field \"scope.all\" must be true or false");
            return NGX_DONE;
        }

        w->scope_all = json_is_true(v) ? 1 : 0;
    }

    rc = ngx_http_youdu_app_ids(ctx, scope, "depts", 0, &w->depts);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_youdu_app_ids(ctx, scope, "users", 1, &w->users);
    if (rc != NGX_OK) {
        return rc;
    }

    w->has_scope = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_app_parse(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_app_t *w,
    ngx_uint_t create)
{
    json_t      *v;
    ngx_int_t    rc;
    ngx_uint_t   i, present;

    if (yd_require_body(ctx) != NGX_OK) {
        return NGX_DONE;
    }

    for (i = 0; ngx_http_youdu_app_fixed[i]; i++) {
        if (json_object_get(ctx->body, ngx_http_youdu_app_fixed[i])) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "field \"%s\" is set by the server and cannot be sent",
                     ngx_http_youdu_app_fixed[i]);
            return NGX_DONE;
        }
    }

    rc = yd_json_str(ctx, ctx->body, "name", create, YD_APP_NAME_MAX,
                     &w->name, &present);
    if (rc != NGX_OK) {
        return rc;
    }

    for (i = 0; i < w->name.len && w->name.data[i] == ' '; i++) {
        /* void */
    }

    if (present && i == w->name.len) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                 "field \"name\" must not be empty or blank");
        return NGX_DONE;
    }

    w->has_name = present;

    rc = yd_json_str(ctx, ctx->body, "description", 0, YD_APP_DESC_MAX,
                     &w->description, &present);
    if (rc != NGX_OK) {
        return rc;
    }

    w->has_desc = present;

    rc = ngx_http_youdu_app_url(ctx, "callback_url", &w->callback_url,
                                &present);
    if (rc != NGX_OK) {
        return rc;
    }

    w->has_callback = present;

    rc = ngx_http_youdu_app_url(ctx, "home_url", &w->home_url, &present);
    if (rc != NGX_OK) {
        return rc;
    }

    w->has_home = present;

    v = json_object_get(ctx->body, "logo_file_id");

    if (v && json_is_null(v)) {
        w->has_logo = 1;
        w->logo_null = 1;

    } else {
        rc = yd_json_int(ctx, ctx->body, "logo_file_id", 0, 1,
                         9007199254740991LL, &w->logo, &present);
        if (rc != NGX_OK) {
            return rc;
        }

        w->has_logo = present;
    }

    w->enabled = 1;

    rc = yd_json_bool(ctx, ctx->body, "enabled", 0, &w->enabled, &present);
    if (rc != NGX_OK) {
        return rc;
    }

    w->has_enabled = present;

    w->scope_all = 1;

    rc = ngx_http_youdu_app_scope(ctx, w);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!create && !w->has_name && !w->has_desc && !w->has_callback
        && !w->has_home && !w->has_logo && !w->has_enabled && !w->has_scope)
    {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                 "nothing to change: send at least one of name, "
                 "description, callback_url, home_url, logo_file_id, "
                 "scope, enabled");
        return NGX_DONE;
    }

    return NGX_OK;
}


/* inside the transaction: the logo file and the scope targets exist */

static ngx_int_t
ngx_http_youdu_app_refs_sql(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w)
{
    return yd_sql(ctx,
        "SELECT (SELECT is_image FROM files WHERE id = ?), "
        "(SELECT j.id FROM " YD_APP_IDS_SQL " "
        "LEFT JOIN departments d ON d.id = j.id WHERE d.id IS NULL LIMIT 1), "
        "(SELECT j.id FROM " YD_APP_IDS_SQL " "
        "LEFT JOIN users u ON u.id = j.id WHERE u.id IS NULL LIMIT 1)",
        "iss", (w->has_logo && !w->logo_null) ? w->logo : (int64_t) 0,
        &w->depts, &w->users);
}


static ngx_int_t
ngx_http_youdu_app_refs_check(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w)
{
    ngx_youdu_db_result_t  *res = ctx->res;

    if (w->has_logo && !w->logo_null) {
        if (yd_cell(res, 0, 0)->data == NULL) {
            yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                     "logo_file_id: file %L does not exist (upload it with "
                     "POST /files first)", w->logo);
            return NGX_DONE;
        }

        if (yd_int(res, 0, 0) == 0) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "logo_file_id: file %L is not an image", w->logo);
            return NGX_DONE;
        }
    }

    if (yd_cell(res, 0, 1)->data) {
        yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_DEPT_NOT_FOUND,
                 "scope.depts: department %V does not exist",
                 yd_cell(res, 0, 1));
        return NGX_DONE;
    }

    if (yd_cell(res, 0, 2)->data) {
        yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                 "scope.users: user %V does not exist", yd_cell(res, 0, 2));
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_app_scope_insert(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_app_t *w, ngx_uint_t kind)
{
    return yd_sql(ctx,
        "INSERT INTO app_scope (app_pk, kind, target_id) "
        "SELECT ?, ?, j.id FROM " YD_APP_IDS_SQL,
        "iis", w->id, (int64_t) kind,
        kind == YD_APP_SCOPE_DEPT ? &w->depts : &w->users);
}


/* step 0: lock the app in the path; step 1: NGX_OK if it exists */

static ngx_int_t
ngx_http_youdu_app_lock(ngx_http_youdu_ctx_t *ctx, ngx_http_youdu_app_t *w,
    ngx_uint_t step)
{
    ngx_youdu_db_result_t  *res = ctx->res;

    if (step == 0) {
        return yd_sql(ctx,
            "SELECT builtin, app_id, name FROM apps WHERE id = ? FOR UPDATE",
            "i", w->id);
    }

    if (res->nrows == 0) {
        yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                 "no app with id %L", w->id);
        return NGX_DONE;
    }

    w->builtin = yd_int(res, 0, 0) ? 1 : 0;
    w->old_app_id = *yd_cell(res, 0, 1);
    w->old_name = *yd_cell(res, 0, 2);

    return NGX_OK;
}


/* the audit detail of a change: the fields the handler read, as sent
 * (other keys of the body are ignored, and could be large) */

static json_t *
ngx_http_youdu_app_changes(ngx_http_youdu_ctx_t *ctx)
{
    json_t      *detail, *v;
    ngx_uint_t   i;

    static const char  *fields[] = {
        "name", "description", "callback_url", "home_url", "logo_file_id",
        "enabled", "scope", NULL
    };

    detail = json_object();
    if (detail == NULL) {
        return NULL;
    }

    for (i = 0; fields[i]; i++) {
        v = json_object_get(ctx->body, fields[i]);

        if (v) {
            json_object_set_new(detail, fields[i], json_deep_copy(v));
        }
    }

    return detail;
}


/* detail is consumed; the target is "app:<id>" */

static ngx_int_t
ngx_http_youdu_app_audit(ngx_http_youdu_ctx_t *ctx, const char *action,
    int64_t id, json_t *detail)
{
    char       *s;
    ngx_str_t   text, target;

    if (detail == NULL) {
        return NGX_ERROR;
    }

    s = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);

    if (s == NULL) {
        return NGX_ERROR;
    }

    text.len = ngx_strlen(s);
    text.data = ngx_pnalloc(ctx->pool, text.len);
    target.data = ngx_pnalloc(ctx->pool, sizeof("app:") + NGX_INT64_LEN);

    if (text.data == NULL || target.data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(text.data, s, text.len);
    free(s);

    target.len = ngx_sprintf(target.data, "app:%L", id) - target.data;

    return yd_sql(ctx,
        "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
        "VALUES (?, ?, ?, ?, ?)",
        "izsss", ctx->me.uid, action, &target, &text, &ctx->client_ip);
}


/*
 * the last stages of a write: step 0 commits, step 1 reads the app, step 2
 * replies with it and the secrets just made
 */

static ngx_int_t
ngx_http_youdu_app_reply(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step,
    ngx_http_youdu_app_t *w, ngx_uint_t status)
{
    json_t  *obj, *app;

    if (step == 0) {
        return yd_commit(ctx);
    }

    if (step == 1) {
        return yd_sql(ctx, "SELECT " YD_APP_COLS " FROM apps a WHERE a.id = ?",
                      "i", w->id);
    }

    if (ctx->res->nrows == 0) {
        return NGX_ERROR;
    }

    obj = json_object();
    app = ngx_http_youdu_app_json(ctx->res, 0);

    if (obj == NULL || app == NULL) {
        json_decref(obj);
        json_decref(app);
        return NGX_ERROR;
    }

    json_object_set_new(obj, "app", app);

    if (w->aes_key.data) {
        json_object_set_new(obj, "aes_key", yd_jstr(&w->aes_key));
    }

    if (w->token.data) {
        json_object_set_new(obj, "callback_token", yd_jstr(&w->token));
    }

    if (w->key_rotated) {
        json_object_set_new(obj, "tokens_revoked", json_integer(w->revoked));
    }

    return yd_ok_status(ctx, status, obj);
}


/* "yd" + 32 upper-case hex digits, as the SDKs' examples */

static ngx_int_t
ngx_http_youdu_app_gen_id(ngx_http_youdu_ctx_t *ctx, ngx_str_t *out)
{
    u_char         raw[16], *p;
    ngx_uint_t     i;
    static u_char  hex[] = "0123456789ABCDEF";

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(ctx->pool, 2 + 2 * sizeof(raw) + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, "yd", 2);

    for (i = 0; i < sizeof(raw); i++) {
        *p++ = hex[raw[i] >> 4];
        *p++ = hex[raw[i] & 0xf];
    }

    *p = '\0';
    out->len = p - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_app_gen_token(ngx_http_youdu_ctx_t *ctx, ngx_str_t *out)
{
    out->data = ngx_pnalloc(ctx->pool, YD_APP_TOKEN_LEN + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_youdu_cgi_random_alnum(out->data, YD_APP_TOKEN_LEN) != NGX_OK) {
        return NGX_ERROR;
    }

    out->data[YD_APP_TOKEN_LEN] = '\0';
    out->len = YD_APP_TOKEN_LEN;

    return NGX_OK;
}


/* GET /admin/apps?q=&offset=&limit= */

static ngx_int_t
ngx_http_youdu_app_list(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *app;
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;
    ngx_http_youdu_app_t   *w = ctx->data;

    switch (ctx->stage) {

    case 0:
        w = ngx_http_youdu_app_new(ctx);
        if (w == NULL) {
            return NGX_ERROR;
        }

        if ((rc = yd_page(ctx, &w->offset, &w->limit)) != NGX_OK
            || (rc = yd_query_str(ctx, "q", 64, &w->q)) != NGX_OK)
        {
            return rc == NGX_ERROR ? NGX_ERROR : NGX_DONE;
        }

        if (w->q.data == NULL) {
            ngx_str_set(&w->q, "");
        }

        w->like = yd_org_like_escape(ctx->pool, &w->q);
        if (w->like == NULL) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "SELECT " YD_APP_COLS ", COUNT(*) OVER () FROM apps a "
            "WHERE ? = '' OR a.name LIKE CONCAT('%', ?, '%') "
            "OR a.app_id LIKE CONCAT('%', ?, '%') "
            "ORDER BY a.builtin DESC, a.id LIMIT ? OFFSET ?",
            "sssii", &w->q, w->like, w->like, w->limit, w->offset);

    case 1:
        w->list = yd_org_keep(ctx, json_array());
        if (w->list == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            app = ngx_http_youdu_app_json(res, i);
            if (app == NULL) {
                return NGX_ERROR;
            }

            json_array_append_new(w->list, app);
        }

        if (res->nrows || w->offset == 0) {
            w->total = res->nrows ? yd_int(res, 0, YD_APP_NCOLS) : 0;
            ctx->stage = 2;
            goto reply;
        }

        /* paged past the end: count separately */
        return yd_sql(ctx,
            "SELECT COUNT(*) FROM apps a "
            "WHERE ? = '' OR a.name LIKE CONCAT('%', ?, '%') "
            "OR a.app_id LIKE CONCAT('%', ?, '%')",
            "sss", &w->q, w->like, w->like);

    default:
        w->total = yd_int(res, 0, 0);

    reply:

        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "apps", json_incref(w->list));
        json_object_set_new(obj, "total", json_integer(w->total));
        json_object_set_new(obj, "offset", json_integer(w->offset));
        json_object_set_new(obj, "limit", json_integer(w->limit));

        return yd_ok(ctx, obj);
    }
}


/* GET /admin/apps/:id */

static ngx_int_t
ngx_http_youdu_app_get(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_http_youdu_app_t  *w = ctx->data;

    switch (ctx->stage) {

    case 0:
        rc = ngx_http_youdu_app_path(ctx, &w);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_youdu_app_reply(ctx, 1, w, NGX_HTTP_OK);

    default:
        if (ctx->res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no app with id %L", w->id);
        }

        return ngx_http_youdu_app_reply(ctx, 2, w, NGX_HTTP_OK);
    }
}


/* POST /admin/apps: a custom app with fresh secrets */

static ngx_int_t
ngx_http_youdu_app_create(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_http_youdu_app_t  *w = ctx->data;

    switch (ctx->stage) {

    case 0:
        w = ngx_http_youdu_app_new(ctx);
        if (w == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_youdu_app_parse(ctx, w, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        if (!w->has_desc) {
            ngx_str_set(&w->description, "");
        }

        if (!w->has_callback) {
            ngx_str_set(&w->callback_url, "");
        }

        if (!w->has_home) {
            ngx_str_set(&w->home_url, "");
        }

        if (ngx_http_youdu_app_gen_id(ctx, &w->app_id) != NGX_OK
            || ngx_youdu_cgi_key_generate(ctx->pool, &w->aes_key) != NGX_OK
            || ngx_http_youdu_app_gen_token(ctx, &w->token) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 1:
        return ngx_http_youdu_app_refs_sql(ctx, w);

    case 2:
        if (ngx_http_youdu_app_refs_check(ctx, w) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "INSERT INTO apps (app_id, name, description, builtin, rights, "
            "aes_key, callback_url, callback_token, home_url, logo_file_id, "
            "scope_all, enabled, key_rotated_at) "
            "VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP())",
            "sssissssnii", &w->app_id, &w->name, &w->description,
            (int64_t) YD_APP_RIGHT_MSG, &w->aes_key, &w->callback_url,
            &w->token, &w->home_url,
            w->has_logo && !w->logo_null ? yd_int_str(ctx->pool, w->logo)
                                         : NULL,
            (int64_t) w->scope_all, (int64_t) w->enabled);

    case 3:
        w->id = (int64_t) ctx->res->insert_id;
        return ngx_http_youdu_app_scope_insert(ctx, w, YD_APP_SCOPE_DEPT);

    case 4:
        return ngx_http_youdu_app_scope_insert(ctx, w, YD_APP_SCOPE_USER);

    case 5:
        return ngx_http_youdu_app_audit(ctx, "app.create", w->id,
                   json_pack("{s:s%,s:s%}", "app_id", w->app_id.data,
                             w->app_id.len, "name", w->name.data,
                             w->name.len));

    default:
        return ngx_http_youdu_app_reply(ctx, ctx->stage - 6, w,
                                        NGX_HTTP_CREATED);
    }
}


/* PATCH /admin/apps/:id */

static ngx_int_t
ngx_http_youdu_app_update(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t              rc;
    const char            *fixed;
    ngx_http_youdu_app_t  *w = ctx->data;

    switch (ctx->stage) {

    case 0:
        rc = ngx_http_youdu_app_path(ctx, &w);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_http_youdu_app_parse(ctx, w, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_begin(ctx);

    case 1:
        return ngx_http_youdu_app_lock(ctx, w, 0);

    case 2:
        if (ngx_http_youdu_app_lock(ctx, w, 1) != NGX_OK) {
            return NGX_DONE;
        }

        fixed = w->has_home ? "home_url"
                : w->has_logo ? "logo_file_id"
                : w->has_scope ? "scope" : NULL;

        if (w->builtin && fixed) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "\"%s\" of a built-in app cannot be changed "
                            "(only name, description, callback_url and "
                            "enabled)", fixed);
        }

        return ngx_http_youdu_app_refs_sql(ctx, w);

    case 3:
        if (ngx_http_youdu_app_refs_check(ctx, w) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_sql(ctx,
            "UPDATE apps SET name = COALESCE(?, name), "
            "description = COALESCE(?, description), "
            "callback_url = COALESCE(?, callback_url), "
            "home_url = COALESCE(?, home_url), "
            "logo_file_id = IF(? = 1, ?, logo_file_id), "
            "scope_all = COALESCE(?, scope_all), "
            "enabled = COALESCE(?, enabled), "
            "updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "nnnninnni",
            w->has_name ? &w->name : NULL,
            w->has_desc ? &w->description : NULL,
            w->has_callback ? &w->callback_url : NULL,
            w->has_home ? &w->home_url : NULL,
            (int64_t) w->has_logo,
            w->has_logo && !w->logo_null ? yd_int_str(ctx->pool, w->logo)
                                         : NULL,
            w->has_scope ? yd_int_str(ctx->pool, w->scope_all) : NULL,
            w->has_enabled ? yd_int_str(ctx->pool, w->enabled) : NULL,
            w->id);

    case 4:
        if (!w->has_scope) {
            ctx->stage = 6;
            goto audit;
        }

        /* the scope is replaced as a whole */
        return yd_sql(ctx, "DELETE FROM app_scope WHERE app_pk = ?", "i",
                      w->id);

    case 5:
        return ngx_http_youdu_app_scope_insert(ctx, w, YD_APP_SCOPE_DEPT);

    case 6:
        return ngx_http_youdu_app_scope_insert(ctx, w, YD_APP_SCOPE_USER);

    case 7:
    audit:
        return ngx_http_youdu_app_audit(ctx, "app.update", w->id,
                                        ngx_http_youdu_app_changes(ctx));

    default:
        return ngx_http_youdu_app_reply(ctx, ctx->stage - 8, w, NGX_HTTP_OK);
    }
}


/*
 * POST /admin/apps/:id/rotate-key (key = 1): a new EncodingAESKey; every
 * access token of the app goes in the same transaction, so a token issued
 * under the old key is refused from the commit on.
 * POST /admin/apps/:id/rotate-callback-token (key = 0).
 */

static ngx_int_t
ngx_http_youdu_app_rotate(ngx_http_youdu_ctx_t *ctx, ngx_uint_t key)
{
    ngx_int_t              rc;
    json_t                *detail;
    ngx_http_youdu_app_t  *w = ctx->data;

    switch (ctx->stage) {

    case 0:
        rc = ngx_http_youdu_app_path(ctx, &w);
        if (rc != NGX_OK) {
            return rc;
        }

        if (key ? ngx_youdu_cgi_key_generate(ctx->pool, &w->aes_key)
                : ngx_http_youdu_app_gen_token(ctx, &w->token))
        {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 1:
        return ngx_http_youdu_app_lock(ctx, w, 0);

    case 2:
        if (ngx_http_youdu_app_lock(ctx, w, 1) != NGX_OK) {
            return NGX_DONE;
        }

        if (key) {
            return yd_sql(ctx,
                "UPDATE apps SET aes_key = ?, key_rotated_at = "
                "UTC_TIMESTAMP(), updated_at = UTC_TIMESTAMP() WHERE id = ?",
                "si", &w->aes_key, w->id);
        }

        return yd_sql(ctx,
            "UPDATE apps SET callback_token = ?, updated_at = "
            "UTC_TIMESTAMP() WHERE id = ?", "si", &w->token, w->id);

    case 3:
        if (key) {
            return yd_sql(ctx, "DELETE FROM app_tokens WHERE app_pk = ?",
                          "i", w->id);
        }

        ctx->stage = 4;
        goto audit;

    case 4:
        w->revoked = (int64_t) ctx->res->affected;
        w->key_rotated = 1;

    audit:
        detail = json_pack("{s:s%}", "app_id", w->old_app_id.data,
                           w->old_app_id.len);

        if (key && detail) {
            json_object_set_new(detail, "tokens_revoked",
                                json_integer(w->revoked));
        }

        return ngx_http_youdu_app_audit(ctx, key ? "app.rotate_key"
                                                 : "app.rotate_callback_token",
                                        w->id, detail);

    default:
        return ngx_http_youdu_app_reply(ctx, ctx->stage - 5, w, NGX_HTTP_OK);
    }
}


static ngx_int_t
ngx_http_youdu_app_rotate_key(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_app_rotate(ctx, 1);
}


static ngx_int_t
ngx_http_youdu_app_rotate_token(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_app_rotate(ctx, 0);
}


/* DELETE /admin/apps/:id: tokens, scope and queued callbacks cascade */

static ngx_int_t
ngx_http_youdu_app_delete(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t              rc;
    json_t                *obj;
    ngx_http_youdu_app_t  *w = ctx->data;

    switch (ctx->stage) {

    case 0:
        rc = ngx_http_youdu_app_path(ctx, &w);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_begin(ctx);

    case 1:
        return ngx_http_youdu_app_lock(ctx, w, 0);

    case 2:
        if (ngx_http_youdu_app_lock(ctx, w, 1) != NGX_OK) {
            return NGX_DONE;
        }

        if (w->builtin) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "a built-in app cannot be deleted: disable it "
                            "instead (PATCH {\"enabled\": false})");
        }

        return yd_sql(ctx, "DELETE FROM apps WHERE id = ?", "i", w->id);

    case 3:
        return ngx_http_youdu_app_audit(ctx, "app.delete", w->id,
                   json_pack("{s:s%,s:s%}", "app_id", w->old_app_id.data,
                             w->old_app_id.len, "name", w->old_name.data,
                             w->old_name.len));

    case 4:
        return yd_commit(ctx);

    default:
        obj = json_pack("{s:I}", "id", (json_int_t) w->id);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        return yd_ok(ctx, obj);
    }
}


/* GET /apps: the app portal, the enabled apps the caller may see */

static ngx_int_t
ngx_http_youdu_app_portal(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *app;
    ngx_uint_t              i;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx,
            "SELECT a.id, a.app_id, a.name, a.description, a.home_url, "
            "a.logo_file_id FROM apps a WHERE "
            YD_APP_VISIBLE_COND("?", "a.id") " "
            "ORDER BY a.builtin DESC, a.name, a.id",
            "ii", ctx->me.uid, ctx->me.uid);

    default:
        obj = json_object();
        list = json_array();

        if (obj == NULL || list == NULL) {
            json_decref(obj);
            json_decref(list);
            return NGX_ERROR;
        }

        json_object_set_new(obj, "apps", list);

        for (i = 0; i < res->nrows; i++) {
            app = json_object();
            if (app == NULL) {
                json_decref(obj);
                return NGX_ERROR;
            }

            json_object_set_new(app, "id", yd_json_cell_int(res, i, 0));
            json_object_set_new(app, "app_id", yd_json_cell(res, i, 1));
            json_object_set_new(app, "name", yd_json_cell(res, i, 2));
            json_object_set_new(app, "description", yd_json_cell(res, i, 3));
            json_object_set_new(app, "home_url", yd_json_cell(res, i, 4));
            json_object_set_new(app, "logo_file_id",
                                yd_json_cell_int(res, i, 5));
            json_array_append_new(list, app);
        }

        return yd_ok(ctx, obj);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_app_routes[] = {
    { NGX_HTTP_GET, "/admin/apps", ngx_http_youdu_app_list,
      YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_POST, "/admin/apps", ngx_http_youdu_app_create,
      YD_AUTH_ADMIN, YD_APP_BODY_LIMIT, 0 },
    { NGX_HTTP_GET, "/admin/apps/:id", ngx_http_youdu_app_get,
      YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_PATCH, "/admin/apps/:id", ngx_http_youdu_app_update,
      YD_AUTH_ADMIN, YD_APP_BODY_LIMIT, 0 },
    { NGX_HTTP_DELETE, "/admin/apps/:id", ngx_http_youdu_app_delete,
      YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_POST, "/admin/apps/:id/rotate-key",
      ngx_http_youdu_app_rotate_key, YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_POST, "/admin/apps/:id/rotate-callback-token",
      ngx_http_youdu_app_rotate_token, YD_AUTH_ADMIN, 0, 0 },
    { NGX_HTTP_GET, "/apps", ngx_http_youdu_app_portal, YD_AUTH_USER, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
