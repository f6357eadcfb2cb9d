
/*
 * youdu HTTP module: administrators creating, changing and deleting users
 * (routes in ngx_http_youdu_api_admin.c), following the org write protocol.
 */


#include "ngx_http_youdu_org.h"


typedef struct {
    yd_org_user_t             in;
    int64_t                   id;
    int64_t                   version;
    ngx_str_t                 hash;
    ngx_int_t                 kdf_rc;
} ngx_http_youdu_user_w_t;


static void ngx_http_youdu_user_kdf_done(void *data, ngx_int_t rc,
    ngx_str_t *hash);
static ngx_int_t ngx_http_youdu_user_checks(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_user_w_t *uw);
static ngx_int_t ngx_http_youdu_user_check_result(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_user_w_t *uw);


static void
ngx_http_youdu_user_kdf_done(void *data, ngx_int_t rc, ngx_str_t *hash)
{
    ngx_http_youdu_ctx_t     *ctx = data;
    ngx_http_youdu_user_w_t  *uw = ctx->data;

    uw->kdf_rc = rc;

    if (hash && hash->len) {
        uw->hash.data = ngx_pstrdup(ctx->pool, hash);
        uw->hash.len = hash->len;
    }

    yd_resume(ctx);
}


/* conflicts and references, inside the org lock; uw->id 0 on create */

static ngx_int_t
ngx_http_youdu_user_checks(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_user_w_t *uw)
{
    char                  *sql;
    ngx_uint_t             i, n;
    ngx_youdu_db_param_t  *p;

    n = uw->in.has_depts ? uw->in.ndepts : 0;

    sql = yd_org_placeholders(ctx->pool,
        "SELECT (SELECT COUNT(*) FROM users WHERE account = ? AND id <> ?), "
        "(SELECT COUNT(*) FROM users WHERE mobile = ? AND id <> ?), "
        "(SELECT role FROM users WHERE id = ?), "
        "(SELECT COUNT(*) FROM users WHERE role = 2), "
        "(SELECT COUNT(*) FROM departments WHERE id IN (-1",
        ", ?", "", n, "))");
    if (sql == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pcalloc(ctx->pool, (5 + n) * sizeof(ngx_youdu_db_param_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    p[0].value = uw->in.has_account ? uw->in.account : *yd_pstr(ctx->pool, "");
    p[1].value = *yd_int_str(ctx->pool, uw->id);
    p[2].value = (uw->in.has_mobile && uw->in.mobile.len)
                 ? uw->in.mobile : *yd_pstr(ctx->pool, "");
    p[3].value = p[1].value;
    p[4].value = p[1].value;

    for (i = 0; i < n; i++) {
        p[5 + i].value = *yd_int_str(ctx->pool, uw->in.depts[i].dept_id);
    }

    return yd_sql_params(ctx, sql, p, 5 + n, 0);
}


static ngx_int_t
ngx_http_youdu_user_check_result(ngx_http_youdu_ctx_t *ctx,
    ngx_http_youdu_user_w_t *uw)
{
    int64_t                 role;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (uw->id && yd_cell(res, 0, 2)->data == NULL) {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                        "no user with id %L", uw->id);
    }

    if (uw->in.has_account && yd_int(res, 0, 0)) {
        return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_ACCOUNT_EXISTS,
                        "account \"%V\" is taken", &uw->in.account);
    }

    if (uw->in.has_mobile && uw->in.mobile.len && yd_int(res, 0, 1)) {
        return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_MOBILE_EXISTS,
                        "mobile \"%V\" belongs to another user",
                        &uw->in.mobile);
    }

    if (uw->in.has_depts && yd_int(res, 0, 4) != (int64_t) uw->in.ndepts) {
        return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_DEPT_NOT_FOUND,
                        "a department in \"departments\" does not exist");
    }

    if (uw->id == 0) {
        return NGX_OK;
    }

    role = yd_int(res, 0, 2);

    /* admins manage employees; administrators are the super admin's */
    if (ctx->me.role < YD_ROLE_SUPER
        && (role > YD_ROLE_USER
            || (uw->in.has_role && uw->in.role != role)))
    {
        return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                        "only a super admin may change administrators or "
                        "roles");
    }

    if (role == YD_ROLE_SUPER && yd_int(res, 0, 3) <= 1
        && ((uw->in.has_role && uw->in.role != YD_ROLE_SUPER)
            || (uw->in.has_enable && uw->in.enable_state != 1)))
    {
        return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_LAST_SUPER,
                        "this is the last super admin: promote another user "
                        "first");
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_youdu_admin_user_create(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *detail;
    ngx_int_t                 rc;
    ngx_http_youdu_user_w_t  *uw = ctx->data;

    switch (ctx->stage) {

    case 0:
        uw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_user_w_t));
        if (uw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = uw;

        rc = yd_org_user_parse(ctx, &uw->in, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        if (uw->in.has_password) {
            return ngx_youdu_kdf_hash(ctx->pool, ctx->r->connection->log,
                                      &uw->in.password,
                                      ngx_http_youdu_user_kdf_done, ctx)
                   == NGX_OK ? NGX_AGAIN : NGX_ERROR;
        }

        ctx->stage = 1;
        /* fall through */

    case 1:
        if (uw->in.has_password && uw->kdf_rc != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 2:
        return yd_org_bump(ctx);

    case 3:
        return yd_org_read_version(ctx, NULL);

    case 4:
        if (yd_org_read_version(ctx, &uw->version) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_youdu_user_checks(ctx, uw);

    case 5:
        rc = ngx_http_youdu_user_check_result(ctx, uw);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx,
            "INSERT INTO users (account, name, name_pinyin, name_initials, "
            "gender, mobile, phone, email, title, enable_state, role, "
            "confidential, password_hash, password_changed_at, version, "
            "updated_at) VALUES (?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, "
            "?, ?, ?, IF(? IS NULL, NULL, UTC_TIMESTAMP()), ?, "
            "UTC_TIMESTAMP())",
            "ssssinsssiiinni", &uw->in.account, &uw->in.name, &uw->in.pinyin,
            &uw->in.initials, uw->in.gender,
            uw->in.has_mobile ? &uw->in.mobile : NULL, &uw->in.phone,
            &uw->in.email, &uw->in.title, uw->in.enable_state, uw->in.role,
            uw->in.confidential, uw->in.has_password ? &uw->hash : NULL,
            uw->in.has_password ? &uw->hash : NULL, uw->version);

    case 6:
        uw->id = (int64_t) ctx->res->insert_id;
        return yd_org_memberships_insert(ctx, uw->id, uw->in.depts,
                                         uw->in.ndepts);

    case 7:
        return yd_org_change(ctx, uw->version, YD_ORG_KIND_USER, uw->id,
                             YD_ORG_OP_UPSERT);

    case 8:
        detail = json_pack("{s:s%,s:I}", "account", uw->in.account.data,
                           uw->in.account.len, "role",
                           (json_int_t) uw->in.role);
        return yd_org_audit(ctx, "user.create", uw->id, detail);

    case 9:
        return yd_commit(ctx);

    case 10:
        if (yd_org_publish(ctx, uw->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ctx->stage = 11;
        /* fall through */

    case 11:
        return yd_org_user_load(ctx, 0, uw->id, NGX_HTTP_CREATED);

    default:
        return yd_org_user_load(ctx, 1, uw->id, NGX_HTTP_CREATED);
    }
}


ngx_int_t
ngx_http_youdu_admin_user_update(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *detail;
    ngx_int_t                 rc;
    ngx_http_youdu_user_w_t  *uw = ctx->data;

    switch (ctx->stage) {

    case 0:
        uw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_user_w_t));
        if (uw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = uw;

        if (yd_arg_int(ctx, 0, &uw->id) != NGX_OK) {
            return NGX_DONE;
        }

        /* id 0 means "create" to the checks below: it names no user */
        if (uw->id < 1) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "no user with id %L", uw->id);
        }

        rc = yd_org_user_parse(ctx, &uw->in, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (uw->id == ctx->me.uid && uw->in.has_role
            && uw->in.role != (int64_t) ctx->me.role
            && ctx->me.role < YD_ROLE_SUPER)
        {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "you cannot change your own role");
        }

        return yd_begin(ctx);

    case 1:
        return yd_org_bump(ctx);

    case 2:
        return yd_org_read_version(ctx, NULL);

    case 3:
        if (yd_org_read_version(ctx, &uw->version) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_youdu_user_checks(ctx, uw);

    case 4:
        rc = ngx_http_youdu_user_check_result(ctx, uw);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx,
            "UPDATE users SET account = COALESCE(?, account), "
            "name = COALESCE(?, name), "
            "name_pinyin = COALESCE(?, name_pinyin), "
            "name_initials = COALESCE(?, name_initials), "
            "gender = COALESCE(?, gender), "
            "mobile = IF(? = 1, NULLIF(?, ''), mobile), "
            "phone = COALESCE(?, phone), email = COALESCE(?, email), "
            "title = COALESCE(?, title), "
            "enable_state = COALESCE(?, enable_state), "
            "role = COALESCE(?, role), "
            "confidential = COALESCE(?, confidential), "
            "version = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
            "nnnnninnnnnnnii",
            uw->in.has_account ? &uw->in.account : NULL,
            uw->in.has_name ? &uw->in.name : NULL,
            uw->in.has_name ? &uw->in.pinyin : NULL,
            uw->in.has_name ? &uw->in.initials : NULL,
            uw->in.has_gender ? yd_int_str(ctx->pool, uw->in.gender) : NULL,
            (int64_t) uw->in.has_mobile,
            uw->in.has_mobile ? &uw->in.mobile : NULL,
            uw->in.has_phone ? &uw->in.phone : NULL,
            uw->in.has_email ? &uw->in.email : NULL,
            uw->in.has_title ? &uw->in.title : NULL,
            uw->in.has_enable ? yd_int_str(ctx->pool, uw->in.enable_state)
                              : NULL,
            uw->in.has_role ? yd_int_str(ctx->pool, uw->in.role) : NULL,
            uw->in.has_conf ? yd_int_str(ctx->pool, uw->in.confidential)
                            : NULL,
            uw->version, uw->id);

    case 5:
        if (uw->in.has_enable) {
            ctx->recheck_uid = uw->id;
        }

        if (!uw->in.has_depts) {
            ctx->stage = 7;
            return yd_org_change(ctx, uw->version, YD_ORG_KIND_USER, uw->id,
                                 YD_ORG_OP_UPSERT);
        }

        return yd_sql(ctx, "DELETE FROM user_depts WHERE user_id = ?", "i",
                      uw->id);

    case 6:
        return yd_org_memberships_insert(ctx, uw->id, uw->in.depts,
                                         uw->in.ndepts);

    case 7:
        return yd_org_change(ctx, uw->version, YD_ORG_KIND_USER, uw->id,
                             YD_ORG_OP_UPSERT);

    case 8:
        detail = json_deep_copy(ctx->body);
        return yd_org_audit(ctx, "user.update", uw->id, detail);

    case 9:
        return yd_commit(ctx);

    case 10:
        if (yd_org_publish(ctx, uw->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ctx->stage = 11;
        /* fall through */

    case 11:
        return yd_org_user_load(ctx, 0, uw->id, NGX_HTTP_OK);

    default:
        return yd_org_user_load(ctx, 1, uw->id, NGX_HTTP_OK);
    }
}


ngx_int_t
ngx_http_youdu_admin_user_delete(ngx_http_youdu_ctx_t *ctx)
{
    json_t                   *obj;
    int64_t                   role;
    ngx_youdu_db_result_t    *res = ctx->res;
    ngx_http_youdu_user_w_t  *uw = ctx->data;

    switch (ctx->stage) {

    case 0:
        uw = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_user_w_t));
        if (uw == NULL) {
            return NGX_ERROR;
        }

        ctx->data = uw;

        if (yd_arg_int(ctx, 0, &uw->id) != NGX_OK) {
            return NGX_DONE;
        }

        if (uw->id == ctx->me.uid) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "you cannot delete your own account");
        }

        return yd_begin(ctx);

    case 1:
        return yd_org_bump(ctx);

    case 2:
        return yd_org_read_version(ctx, NULL);

    case 3:
        if (yd_org_read_version(ctx, &uw->version) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx,
            "SELECT role, (SELECT COUNT(*) FROM users WHERE role = 2) "
            "FROM users WHERE id = ?", "i", uw->id);

    case 4:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_USER_NOT_FOUND,
                            "no user with id %L", uw->id);
        }

        role = yd_int(res, 0, 0);

        if (role > YD_ROLE_USER && ctx->me.role < YD_ROLE_SUPER) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "only a super admin may delete administrators");
        }

        if (role == YD_ROLE_SUPER && yd_int(res, 0, 1) <= 1) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_LAST_SUPER,
                            "this is the last super admin: promote another "
                            "user first");
        }

        /* memberships and sessions go with it (ON DELETE CASCADE) */
        return yd_sql(ctx, "DELETE FROM users WHERE id = ?", "i", uw->id);

    case 5:
        ctx->recheck_uid = uw->id;
        return yd_org_change(ctx, uw->version, YD_ORG_KIND_USER, uw->id,
                             YD_ORG_OP_DELETE);

    case 6:
        return yd_org_audit(ctx, "user.delete", uw->id, NULL);

    case 7:
        return yd_commit(ctx);

    case 8:
        if (yd_org_publish(ctx, uw->version) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        obj = json_object();
        if (obj == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(obj, "id", json_integer(uw->id));
        json_object_set_new(obj, "version", json_integer(uw->version));

        return yd_ok(ctx, obj);
    }
}
