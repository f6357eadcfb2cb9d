
/*
 * youdu HTTP module: the statements of a validated bulk import.  Rows go
 * to MariaDB as one JSON parameter per chunk, expanded with JSON_TABLE, so
 * that 100,000 users take a few dozen statements.
 */


#include "ngx_http_youdu_import.h"


#define YD_IMP_IDS                                                           \
    "JSON_TABLE(?, '$[*]' COLUMNS(id BIGINT UNSIGNED PATH '$')) j"


static const char  yd_imp_sql_alias_null[] =
    "UPDATE departments d JOIN " YD_IMP_IDS " ON d.id = j.id "
    "SET d.alias = NULL";

static const char  yd_imp_sql_mobile_null[] =
    "UPDATE users u JOIN " YD_IMP_IDS " ON u.id = j.id SET u.mobile = NULL";

static const char  yd_imp_sql_dept_upsert[] =
    "INSERT INTO departments (id, parent_id, name, sort_id, alias, path, "
    "depth, version, updated_at) "
    "SELECT j.id, j.parent_id, j.name, j.sort_id, NULLIF(j.alias, ''), "
    "j.path, j.depth, ?, UTC_TIMESTAMP() "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS(id INT UNSIGNED PATH '$[0]', "
    "parent_id INT UNSIGNED PATH '$[1]', name VARCHAR(64) PATH '$[2]', "
    "sort_id INT PATH '$[3]', alias VARCHAR(64) PATH '$[4]', "
    "path VARCHAR(2048) PATH '$[5]', depth INT PATH '$[6]')) j "
    "ON DUPLICATE KEY UPDATE parent_id = VALUES(parent_id), "
    "name = VALUES(name), sort_id = VALUES(sort_id), alias = VALUES(alias), "
    "path = VALUES(path), depth = VALUES(depth), version = VALUES(version), "
    "updated_at = VALUES(updated_at)";

static const char  yd_imp_sql_ud_del_dept[] =
    "DELETE FROM user_depts WHERE dept_id IN (SELECT j.id FROM "
    YD_IMP_IDS ")";

static const char  yd_imp_sql_user_del[] =
    "DELETE FROM users WHERE id IN (SELECT j.id FROM " YD_IMP_IDS ")";

static const char  yd_imp_sql_dept_del[] =
    "DELETE FROM departments WHERE id IN (SELECT j.id FROM " YD_IMP_IDS ") "
    "ORDER BY depth DESC";

/* users kept by replace (the caller) whose departments all went; not the
 * resigned, who belong to no department */
static const char  yd_imp_sql_root_fallback[] =
    "INSERT INTO user_depts (user_id, dept_id) SELECT u.id, 0 FROM users u "
    "WHERE u.quit_at IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM user_depts ud WHERE ud.user_id = u.id)";

static const char  yd_imp_sql_user_upsert[] =
    "INSERT INTO users (account, name, name_pinyin, name_initials, gender, "
    "mobile, phone, email, title, enable_state, version, updated_at) "
    "SELECT j.account, j.name, j.py, j.ini, j.gender, NULLIF(j.mobile, ''), "
    "j.phone, j.email, j.title, j.es, ?, UTC_TIMESTAMP() "
    "FROM JSON_TABLE(?, '$[*]' COLUMNS(account VARCHAR(64) PATH '$[0]', "
    "name VARCHAR(64) PATH '$[1]', py VARCHAR(255) PATH '$[2]', "
    "ini VARCHAR(64) PATH '$[3]', gender INT PATH '$[4]', "
    "mobile VARCHAR(32) PATH '$[5]', phone VARCHAR(32) PATH '$[6]', "
    "email VARCHAR(128) PATH '$[7]', title VARCHAR(64) PATH '$[8]', "
    "es INT PATH '$[9]')) j "
    "ON DUPLICATE KEY UPDATE account = VALUES(account), name = VALUES(name), "
    "name_pinyin = VALUES(name_pinyin), "
    "name_initials = VALUES(name_initials), gender = VALUES(gender), "
    "mobile = VALUES(mobile), phone = VALUES(phone), email = VALUES(email), "
    "title = VALUES(title), enable_state = VALUES(enable_state), "
    "version = VALUES(version), updated_at = VALUES(updated_at)";

static const char  yd_imp_sql_ud_del_users[] =
    "DELETE ud FROM user_depts ud JOIN users u ON u.id = ud.user_id "
    "WHERE u.version = ?";

static const char  yd_imp_sql_ud_insert[] =
    "INSERT INTO user_depts (user_id, dept_id, position, weight, sort_id) "
    "SELECT j.u, j.d, j.p, j.w, j.s FROM JSON_TABLE(?, '$[*]' COLUMNS("
    "u BIGINT UNSIGNED PATH '$[0]', d INT UNSIGNED PATH '$[1]', "
    "p VARCHAR(64) PATH '$[2]', w INT PATH '$[3]', s INT PATH '$[4]')) j";

static const char  yd_imp_sql_chg_depts[] =
    "INSERT INTO org_changes (version, kind, target_id, op) "
    "SELECT version, 1, id, 1 FROM departments WHERE version = ?";

static const char  yd_imp_sql_chg_users[] =
    "INSERT INTO org_changes (version, kind, target_id, op) "
    "SELECT version, 2, id, 1 FROM users WHERE version = ?";

static const char  yd_imp_sql_chg_dept_del[] =
    "INSERT INTO org_changes (version, kind, target_id, op) "
    "SELECT ?, 1, j.id, 2 FROM " YD_IMP_IDS;

static const char  yd_imp_sql_chg_user_del[] =
    "INSERT INTO org_changes (version, kind, target_id, op) "
    "SELECT ?, 2, j.id, 2 FROM " YD_IMP_IDS;

static const char  yd_imp_sql_audit[] =
    "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
    "VALUES (NULLIF(?, 0), ?, ?, ?, ?)";


static yd_imp_op_t *
yd_imp_op(yd_imp_t *imp, ngx_array_t *ops, const char *sql, ngx_uint_t n)
{
    yd_imp_op_t  *op;

    op = ngx_array_push(ops);
    if (op == NULL) {
        return NULL;
    }

    op->sql = sql;
    op->nparams = n;
    op->params = ngx_pcalloc(imp->pool, n * sizeof(ngx_youdu_db_param_t));

    return op->params ? op : NULL;
}


static ngx_int_t
yd_imp_op_int(yd_imp_t *imp, ngx_youdu_db_param_t *p, int64_t v)
{
    ngx_str_t  *s = yd_int_str(imp->pool, v);

    if (s == NULL) {
        return NGX_ERROR;
    }

    p->value = *s;
    return NGX_OK;
}


/* the statement with a JSON chunk as its last parameter */

static ngx_int_t
yd_imp_op_json(yd_imp_t *imp, ngx_array_t *ops, const char *sql,
    ngx_uint_t with_version, yd_imp_buf_t *b)
{
    yd_imp_op_t  *op;

    if (yd_imp_buf_add(b, (u_char *) "]", 1) != NGX_OK) {
        return NGX_ERROR;
    }

    op = yd_imp_op(imp, ops, sql, with_version ? 2 : 1);
    if (op == NULL) {
        return NGX_ERROR;
    }

    if (with_version && yd_imp_op_int(imp, &op->params[0], imp->version)
                        != NGX_OK)
    {
        return NGX_ERROR;
    }

    op->params[op->nparams - 1].value.data = b->p;
    op->params[op->nparams - 1].value.len = b->len;

    ngx_memzero(b, sizeof(yd_imp_buf_t));
    b->pool = imp->pool;

    return NGX_OK;
}


/* number of ids in a stored path '/0/3/17/' minus one: the depth */

static ngx_uint_t
yd_imp_path_depth(ngx_str_t *path)
{
    ngx_uint_t  i, n = 0;

    for (i = 0; i < path->len; i++) {
        n += (path->data[i] == '/');
    }

    return n >= 2 ? n - 2 : 0;
}


static int
yd_imp_depth_desc(const void *a, const void *b)
{
    const yd_imp_dept_t  *x = *(yd_imp_dept_t **) a, *y = *(yd_imp_dept_t **) b;

    return (y->depth > x->depth) - (y->depth < x->depth);
}


/* id lists in chunks */

static ngx_int_t
yd_imp_ids(yd_imp_t *imp, ngx_array_t *ops, const char *sql,
    ngx_uint_t with_version, int64_t *ids, ngx_uint_t n)
{
    ngx_uint_t    i;
    yd_imp_buf_t  b;

    ngx_memzero(&b, sizeof(yd_imp_buf_t));
    b.pool = imp->pool;

    for (i = 0; i < n; i++) {
        if (yd_imp_buf_add(&b, (u_char *) (b.len ? "," : "["), 1) != NGX_OK
            || yd_imp_buf_int(&b, ids[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if ((i + 1) % (YD_IMP_CHUNK * 4) == 0 || i + 1 == n) {
            if (yd_imp_op_json(imp, ops, sql, with_version, &b) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_plan_depts(yd_imp_t *imp)
{
    int64_t        *ids;
    ngx_uint_t      i, n, depth, max_depth, left;
    yd_imp_buf_t    b;
    yd_imp_dept_t  *d;

    ids = ngx_palloc(imp->pool, (imp->ndepts + 1) * sizeof(int64_t));
    if (ids == NULL) {
        return NGX_ERROR;
    }

    /* aliases that move or go: cleared first so that swaps pass the key */
    n = 0;
    max_depth = 0;

    for (i = 0; i < imp->ndepts; i++) {
        d = &imp->depts[i];

        if (d->db && d->db_alias.len
            && (d->deleted
                || (d->changed
                    && (d->alias.len != d->db_alias.len
                        || ngx_memcmp(d->alias.data, d->db_alias.data,
                                      d->alias.len) != 0))))
        {
            ids[n++] = d->id;
        }

        if (d->changed && d->depth > max_depth) {
            max_depth = d->depth;
        }
    }

    if (n && yd_imp_ids(imp, &imp->ops1, yd_imp_sql_alias_null, 0, ids, n)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* parents before children: one depth level after the other */
    ngx_memzero(&b, sizeof(yd_imp_buf_t));
    b.pool = imp->pool;

    for (depth = 1; depth <= max_depth; depth++) {
        left = 0;

        for (i = 0; i < imp->ndepts; i++) {
            d = &imp->depts[i];

            if (!d->changed || d->deleted || d->depth != depth) {
                continue;
            }

            if (yd_imp_buf_add(&b, (u_char *) (b.len ? ",[" : "[["), 2)
                   != NGX_OK
                || yd_imp_buf_int(&b, d->id) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_int(&b, d->parent_id) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_json_str(&b, &d->name) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_int(&b, d->sort_id) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_json_str(&b, &d->alias) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_json_str(&b, &d->path) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_int(&b, d->depth) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) "]", 1) != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (++left == YD_IMP_CHUNK) {
                if (yd_imp_op_json(imp, &imp->ops1, yd_imp_sql_dept_upsert, 1,
                                   &b) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                left = 0;
            }
        }

        if (left && yd_imp_op_json(imp, &imp->ops1, yd_imp_sql_dept_upsert, 1,
                                   &b) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_plan_deletes(yd_imp_t *imp)
{
    int64_t         *ids;
    ngx_uint_t       i, n;
    yd_imp_dept_t   *d, **dd;

    ids = ngx_palloc(imp->pool, (ngx_max(imp->ndepts, imp->ndbu) + 1)
                                * sizeof(int64_t));
    dd = ngx_palloc(imp->pool, (imp->ndepts + 1) * sizeof(yd_imp_dept_t *));
    if (ids == NULL || dd == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < imp->ndbu; i++) {
        if (imp->dbu[i].deleted) {
            ids[n++] = imp->dbu[i].id;
        }
    }

    if (n && (yd_imp_ids(imp, &imp->ops1, yd_imp_sql_user_del, 0, ids, n)
              != NGX_OK
              || yd_imp_ids(imp, &imp->ops2, yd_imp_sql_chg_user_del, 1, ids,
                            n) != NGX_OK))
    {
        return NGX_ERROR;
    }

    /* children before parents: deepest stored path first */
    n = 0;

    for (i = 0; i < imp->ndepts; i++) {
        d = &imp->depts[i];

        if (d->deleted) {
            d->depth = yd_imp_path_depth(&d->db_path);
            dd[n++] = d;
        }
    }

    ngx_qsort(dd, n, sizeof(yd_imp_dept_t *), yd_imp_depth_desc);

    for (i = 0; i < n; i++) {
        ids[i] = dd[i]->id;
    }

    if (n == 0) {
        return NGX_OK;
    }

    if (yd_imp_ids(imp, &imp->ops1, yd_imp_sql_ud_del_dept, 0, ids, n)
           != NGX_OK
        || yd_imp_ids(imp, &imp->ops1, yd_imp_sql_dept_del, 0, ids, n)
           != NGX_OK
        || yd_imp_op(imp, &imp->ops1, yd_imp_sql_root_fallback, 0) == NULL
        || yd_imp_ids(imp, &imp->ops2, yd_imp_sql_chg_dept_del, 1, ids, n)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_plan_users(yd_imp_t *imp)
{
    int64_t          *ids;
    ngx_str_t         py, ini;
    ngx_uint_t        i, n, left;
    yd_imp_buf_t      b;
    yd_imp_user_t    *u;
    yd_imp_dbuser_t  *du;

    ids = ngx_palloc(imp->pool, (imp->users.nelts + 1) * sizeof(int64_t));
    if (ids == NULL) {
        return NGX_ERROR;
    }

    /* mobiles that move: cleared first so that swaps pass the unique key */
    n = 0;
    u = imp->users.elts;

    for (i = 0; i < imp->users.nelts; i++) {
        if (u[i].changed && u[i].db >= 0) {
            du = &imp->dbu[u[i].db];

            if (du->mobile.len
                && (du->mobile.len != u[i].mobile.len
                    || ngx_memcmp(du->mobile.data, u[i].mobile.data,
                                  du->mobile.len) != 0))
            {
                ids[n++] = du->id;
            }
        }
    }

    if (n && yd_imp_ids(imp, &imp->ops1, yd_imp_sql_mobile_null, 0, ids, n)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&b, sizeof(yd_imp_buf_t));
    b.pool = imp->pool;
    left = 0;

    for (i = 0; i < imp->users.nelts; i++) {
        if (!u[i].changed) {
            continue;
        }

        if (yd_pinyin(imp->pool, &u[i].name, &py, &ini) != NGX_OK) {
            return NGX_ERROR;
        }

        if (yd_imp_buf_add(&b, (u_char *) (b.len ? ",[" : "[["), 2) != NGX_OK
            || yd_imp_buf_json_str(&b, &u[i].account) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &u[i].name) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &py) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &ini) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_int(&b, u[i].gender) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &u[i].mobile) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &u[i].phone) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &u[i].email) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_json_str(&b, &u[i].title) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
            || yd_imp_buf_int(&b, u[i].enable_state) != NGX_OK
            || yd_imp_buf_add(&b, (u_char *) "]", 1) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (++left == YD_IMP_CHUNK || i + 1 == imp->users.nelts) {
            if (yd_imp_op_json(imp, &imp->ops1, yd_imp_sql_user_upsert, 1, &b)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            left = 0;
        }
    }

    if (left && yd_imp_op_json(imp, &imp->ops1, yd_imp_sql_user_upsert, 1, &b)
                != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
yd_imp_plan(yd_imp_t *imp)
{
    if (ngx_array_init(&imp->ops1, imp->pool, 64, sizeof(yd_imp_op_t))
        != NGX_OK
        || ngx_array_init(&imp->ops2, imp->pool, 64, sizeof(yd_imp_op_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (yd_imp_plan_depts(imp) != NGX_OK
        || yd_imp_plan_deletes(imp) != NGX_OK
        || yd_imp_plan_users(imp) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* res: id, account of the users written with this version */

ngx_int_t
yd_imp_plan_uds(yd_imp_t *imp, ngx_youdu_db_result_t *res)
{
    u_char          buf[512], *p;
    int64_t         uid;
    ngx_int_t       k;
    ngx_str_t      *acc, detail, target;
    ngx_uint_t      i, j, left;
    yd_imp_op_t    *op;
    yd_imp_buf_t    b;
    yd_imp_hash_t   h;
    yd_imp_user_t  *u;

    if (yd_imp_hash_init(imp->pool, &h, res ? res->nrows : 0) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; res && i < res->nrows; i++) {
        acc = yd_cell(res, i, 1);
        ngx_strlow(acc->data, acc->data, acc->len);
        (void) yd_imp_hash_add(&h, acc->data, acc->len, i);
    }

    ngx_memzero(&b, sizeof(yd_imp_buf_t));
    b.pool = imp->pool;
    left = 0;
    u = imp->users.elts;

    if (res && res->nrows) {
        op = yd_imp_op(imp, &imp->ops2, yd_imp_sql_ud_del_users, 1);
        if (op == NULL || yd_imp_op_int(imp, &op->params[0], imp->version)
                          != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < imp->users.nelts; i++) {
        if (!u[i].changed) {
            continue;
        }

        k = yd_imp_hash_find(&h, u[i].account_lc.data, u[i].account_lc.len);
        if (k < 0) {
            return NGX_ERROR;
        }

        uid = yd_int(res, k, 0);

        for (j = 0; j < u[i].nuds; j++) {
            if (yd_imp_buf_add(&b, (u_char *) (b.len ? ",[" : "[["), 2)
                   != NGX_OK
                || yd_imp_buf_int(&b, uid) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_int(&b, u[i].uds[j].dept_id) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_json_str(&b, &u[i].uds[j].position) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_int(&b, u[i].uds[j].weight) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) ",", 1) != NGX_OK
                || yd_imp_buf_int(&b, u[i].uds[j].sort_id) != NGX_OK
                || yd_imp_buf_add(&b, (u_char *) "]", 1) != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (++left == YD_IMP_CHUNK * 2) {
                if (yd_imp_op_json(imp, &imp->ops2, yd_imp_sql_ud_insert, 0,
                                   &b) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                left = 0;
            }
        }
    }

    if (left && yd_imp_op_json(imp, &imp->ops2, yd_imp_sql_ud_insert, 0, &b)
                != NGX_OK)
    {
        return NGX_ERROR;
    }

    op = yd_imp_op(imp, &imp->ops2, yd_imp_sql_chg_depts, 1);
    if (op == NULL || yd_imp_op_int(imp, &op->params[0], imp->version)
                      != NGX_OK)
    {
        return NGX_ERROR;
    }

    op = yd_imp_op(imp, &imp->ops2, yd_imp_sql_chg_users, 1);
    if (op == NULL || yd_imp_op_int(imp, &op->params[0], imp->version)
                      != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_snprintf(buf, sizeof(buf),
                     "{%s%V%s\"mode\":\"%s\",\"format\":\"%s\","
                     "\"departments\":{\"created\":%ui,\"updated\":%ui,"
                     "\"deleted\":%ui},\"users\":{\"created\":%ui,"
                     "\"updated\":%ui,\"deleted\":%ui}}",
                     imp->app_id.len ? "\"app\":\"" : "", &imp->app_id,
                     imp->app_id.len ? "\"," : "",
                     imp->replace ? "replace" : "upsert",
                     imp->csv ? "csv" : "json",
                     imp->d_created, imp->d_updated, imp->d_deleted,
                     imp->u_created, imp->u_updated, imp->u_deleted);

    detail.len = p - buf;
    detail.data = ngx_pnalloc(imp->pool, detail.len);
    if (detail.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(detail.data, buf, detail.len);
    target.data = (u_char *) (imp->replace ? "org:replace" : "org:upsert");
    target.len = ngx_strlen(target.data);

    op = yd_imp_op(imp, &imp->ops2, yd_imp_sql_audit, 5);
    if (op == NULL
        || yd_imp_op_int(imp, &op->params[0], imp->ctx->me.uid) != NGX_OK)
    {
        return NGX_ERROR;
    }

    op->params[1].value.data = (u_char *) (imp->action ? imp->action
                                                       : "org.import");
    op->params[1].value.len = ngx_strlen(op->params[1].value.data);
    op->params[2].value = target;
    op->params[3].value = detail;
    op->params[4].value = imp->ctx->client_ip;

    return NGX_OK;
}
