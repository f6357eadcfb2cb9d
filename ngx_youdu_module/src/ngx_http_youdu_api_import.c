
/*
 * youdu HTTP module: bulk import and export of the org chart.
 *
 * POST /admin/import reads the whole org inside the org write transaction,
 * validates every row in C (parse.c, check.c), then writes the difference
 * in chunked set-based statements (write.c) with one version bump.
 */


#include "ngx_http_youdu_import.h"
#include "ngx_youdu_csv.h"
#include <ngx_thread_pool.h>


#define YD_IMPORT_BODY_LIMIT  (64 * 1024 * 1024)


static void yd_imp_parse_task(void *data, ngx_log_t *log);
static void yd_imp_check_task(void *data, ngx_log_t *log);


static ngx_str_t  yd_imp_json_type = ngx_string("application/json");
static ngx_str_t  yd_imp_csv_type = ngx_string("text/csv; charset=utf-8");
static ngx_str_t  yd_imp_cd = ngx_string("Content-Disposition");

/* UTF-8 BOM so that spreadsheets read Chinese text right */
static const char  yd_exp_header[] =
    "\xEF\xBB\xBF" "account,name,gender,mobile,phone,email,title,"
    "enable_state,departments\r\n";

static const char  yd_exp_tail[] = "],\"errcode\":0,\"errmsg\":\"ok\"}";


static ngx_msec_t
yd_imp_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static json_t *
yd_imp_counts(ngx_uint_t c, ngx_uint_t u, ngx_uint_t d)
{
    json_t  *o = json_object();

    if (o) {
        json_object_set_new(o, "created", json_integer(c));
        json_object_set_new(o, "updated", json_integer(u));
        json_object_set_new(o, "deleted", json_integer(d));
    }

    return o;
}


static ngx_int_t
yd_imp_reply(yd_imp_t *imp, int64_t version)
{
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "version", json_integer(version));
    json_object_set_new(obj, "dry_run", json_boolean(imp->dry_run));
    json_object_set_new(obj, "departments",
                        yd_imp_counts(imp->d_created, imp->d_updated,
                                      imp->d_deleted));
    json_object_set_new(obj, "users",
                        yd_imp_counts(imp->u_created, imp->u_updated,
                                      imp->u_deleted));
    json_object_set_new(obj, "elapsed_ms",
                        json_integer(yd_imp_now() - imp->start));

    /* time spent in the thread pool, for the benchmark */
    json_object_set_new(obj, "parse_ms", json_integer(imp->parse_ms));
    json_object_set_new(obj, "check_ms", json_integer(imp->check_ms));
    json_object_set_new(obj, "plan_ms", json_integer(imp->plan_ms));

    return yd_ok(imp->ctx, obj);
}


static ngx_int_t
yd_imp_invalid(yd_imp_t *imp)
{
    char    *s;
    json_t  *obj;

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "errcode", json_integer(YD_ERR_IMPORT_INVALID));
    json_object_set_new(obj, "errmsg",
                        json_string("the import has invalid rows: nothing "
                                    "was written; fix the rows listed in "
                                    "\"errors\" and send it again"));
    json_object_set_new(obj, "error_count", json_integer(imp->nerrors));
    json_object_set_new(obj, "errors", json_incref(imp->errors));

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        return NGX_ERROR;
    }

    (void) yd_send_raw(imp->ctx, 422,
                       &yd_imp_json_type, NULL, NULL, (u_char *) s,
                       ngx_strlen(s));
    free(s);

    return NGX_DONE;
}


static void
yd_imp_cleanup(void *data)
{
    yd_imp_t  *imp = data;

    json_decref(imp->errors);
}


/* also used by the /cgi full sync jobs (ngx_http_youdu_cgi_sync_job.c) */

yd_imp_t *
yd_imp_new(ngx_http_youdu_ctx_t *ctx)
{
    yd_imp_t            *imp;
    ngx_pool_cleanup_t  *cln;

    imp = ngx_pcalloc(ctx->pool, sizeof(yd_imp_t));
    cln = ngx_pool_cleanup_add(ctx->pool, 0);
    if (imp == NULL || cln == NULL) {
        return NULL;
    }

    imp->ctx = ctx;
    imp->pool = ctx->pool;
    imp->start = yd_imp_now();
    imp->errors = json_array();
    cln->handler = yd_imp_cleanup;
    cln->data = imp;
    ctx->data = imp;

    return imp;
}


static ngx_int_t
yd_imp_start(ngx_http_youdu_ctx_t *ctx)
{
    ngx_str_t   mode;
    int64_t     dry;
    yd_imp_t   *imp;

    imp = yd_imp_new(ctx);
    if (imp == NULL) {
        return NGX_ERROR;
    }

    if (yd_query_str(ctx, "mode", 16, &mode) != NGX_OK
        || yd_query_int(ctx, "dry_run", 0, 0, 1, &dry) != NGX_OK)
    {
        return NGX_DONE;
    }

    if (mode.len == 7 && ngx_strncmp(mode.data, "replace", 7) == 0) {
        imp->replace = 1;

    } else if (mode.len && !(mode.len == 6
                             && ngx_strncmp(mode.data, "upsert", 6) == 0))
    {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                        "query parameter \"mode\" must be upsert or replace");
    }

    imp->dry_run = dry;

    return yd_imp_thread(imp, yd_imp_parse_task);
}


/*
 * Parsing and checking 100,000 rows takes hundreds of milliseconds: they
 * run in the thread pool, never on the event loop.  The request is idle
 * meanwhile, so the task may use the request pool.
 */

static ngx_uint_t
yd_imp_changes(yd_imp_t *imp)
{
    return imp->d_created + imp->d_updated + imp->d_deleted
           + imp->u_created + imp->u_updated + imp->u_deleted;
}


static void
yd_imp_parse_task(void *data, ngx_log_t *log)
{
    yd_imp_t  *imp = data;

    imp->thread_rc = yd_imp_parse(imp);
    imp->parse_ms = yd_imp_now() - imp->start;
}


static void
yd_imp_check_task(void *data, ngx_log_t *log)
{
    ngx_msec_t  t;
    yd_imp_t   *imp = data;

    t = yd_imp_now();

    if (yd_imp_load_depts(imp, imp->res_depts) != NGX_OK
        || yd_imp_load_users(imp, imp->res_users) != NGX_OK
        || yd_imp_load_uds(imp, imp->res_uds) != NGX_OK
        || yd_imp_check(imp) != NGX_OK)
    {
        imp->thread_rc = NGX_ERROR;
        return;
    }

    imp->check_ms = yd_imp_now() - t;
    imp->thread_rc = NGX_OK;

    if (imp->nerrors || imp->dry_run || yd_imp_changes(imp) == 0) {
        return;
    }

    t = yd_imp_now();
    imp->thread_rc = yd_imp_plan(imp);
    imp->plan_ms = yd_imp_now() - t;
}


static void
yd_imp_thread_done(ngx_event_t *ev)
{
    yd_imp_t  *imp = ev->data;

    yd_resume(imp->ctx);
}


static ngx_int_t
yd_imp_resume_later(yd_imp_t *imp, ngx_event_t *ev)
{
    /* the framework expects the resume after the handler returned */
    ngx_post_event(ev, &ngx_posted_events);
    return NGX_AGAIN;
}


ngx_int_t
yd_imp_thread(yd_imp_t *imp, yd_imp_task_pt handler)
{
    ngx_thread_task_t      *task;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    task = ngx_thread_task_alloc(imp->pool, 0);
    if (task == NULL) {
        return NGX_ERROR;
    }

    task->ctx = imp;
    task->handler = handler;
    task->event.handler = yd_imp_thread_done;
    task->event.data = imp;
    task->event.log = yd_log(imp->ctx);

    if (ycf->kdf_pool == NULL
        || ngx_thread_task_post(ycf->kdf_pool, task) != NGX_OK)
    {
        /* no thread pool: do it here */
        handler(imp, yd_log(imp->ctx));
        return yd_imp_resume_later(imp, &task->event);
    }

    return NGX_AGAIN;
}


static ngx_int_t
yd_imp_validated(yd_imp_t *imp)
{
    if (imp->thread_rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (imp->nerrors) {
        return yd_imp_invalid(imp);
    }

    /* nothing to change, or only asked: roll back the version bump */
    if (imp->dry_run || yd_imp_changes(imp) == 0) {
        return yd_imp_reply(imp, imp->version - 1);
    }

    imp->op = 0;
    return NGX_OK;
}


static ngx_int_t
yd_imp_run_op(ngx_http_youdu_ctx_t *ctx, ngx_array_t *ops)
{
    yd_imp_t     *imp = ctx->data;
    yd_imp_op_t  *op;

    op = ops->elts;
    op += imp->op++;

    /* resume at the same stage for the next statement */
    ctx->stage--;
    return yd_sql_params(ctx, op->sql, op->params, op->nparams, 0);
}


/*
 * The stages after parsing; a /cgi sync job (which parses in its own
 * task) enters at stage 1 too.
 */

ngx_int_t
ngx_http_youdu_import(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t               rc;
    yd_imp_t               *imp = ctx->data;
    ngx_str_t              *v;
    ngx_youdu_db_result_t  *res = ctx->res;
    const char             *argv[3];
    size_t                  argvlen[3];

    switch (ctx->stage) {

    case 0:
        return yd_imp_start(ctx);

    case 1:
        if (imp->fail_status) {
            return yd_error(ctx, imp->fail_status, imp->fail_code, "%s",
                            imp->fail_msg);
        }

        if (imp->thread_rc != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_begin(ctx);

    case 2:
        return yd_sql(ctx, "UPDATE org_state SET version = version + 1 "
                           "WHERE id = 1", "");

    case 3:
        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    case 4:
        imp->version = yd_int(res, 0, 0);
        return yd_sql(ctx, "SELECT id, IFNULL(parent_id, -1), name, sort_id, "
                           "IFNULL(alias, ''), path FROM departments", "");

    case 5:
        imp->res_depts = res;
        return yd_sql(ctx, "SELECT id, account, name, gender, "
                           "IFNULL(mobile, ''), phone, email, title, "
                           "enable_state, role, quit_at IS NOT NULL "
                           "FROM users", "");

    case 6:
        imp->res_users = res;
        return yd_sql(ctx, "SELECT user_id, dept_id, position, weight, "
                           "sort_id FROM user_depts "
                           "ORDER BY user_id, dept_id", "");

    case 7:
        imp->res_uds = res;
        return yd_imp_thread(imp, yd_imp_check_task);

    case 8:
        rc = yd_imp_validated(imp);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->stage = 9;

        /* fall through */

    case 9:
        if (imp->op < imp->ops1.nelts) {
            return yd_imp_run_op(ctx, &imp->ops1);
        }

        if (imp->u_created + imp->u_updated) {
            return yd_sql(ctx, "SELECT id, account FROM users "
                               "WHERE version = ?", "i", imp->version);
        }

        res = NULL;

        /* fall through */

    case 10:
        if (yd_imp_plan_uds(imp, res) != NGX_OK) {
            return NGX_ERROR;
        }

        imp->op = 0;
        ctx->stage = 11;

        /* fall through */

    case 11:
        if (imp->op < imp->ops2.nelts) {
            return yd_imp_run_op(ctx, &imp->ops2);
        }

        return yd_commit(ctx);

    case 12:
        /* best effort: the push module learns of the new version */
        v = yd_int_str(ctx->pool, imp->version);
        if (v == NULL) {
            return NGX_ERROR;
        }

        argv[0] = "PUBLISH";
        argv[1] = "yd:org";
        argv[2] = (const char *) v->data;
        argvlen[0] = 7;
        argvlen[1] = 6;
        argvlen[2] = v->len;

        if (yd_redis(ctx, 3, argv, argvlen) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        return yd_imp_reply(imp, imp->version);
    }
}


/* export */


typedef struct {
    int64_t                  version;
    ngx_youdu_db_result_t   *depts;
    ngx_youdu_db_result_t   *users;
} yd_exp_t;


static ngx_int_t
yd_exp_csv_field(yd_imp_buf_t *b, ngx_str_t *s)
{
    size_t  n;

    n = ngx_youdu_csv_escaped_len(s->data, s->len);

    if (yd_imp_buf_reserve(b, n) != NGX_OK) {
        return NGX_ERROR;
    }

    b->len += ngx_youdu_csv_escape(b->p + b->len, s->data, s->len);

    return NGX_OK;
}


static ngx_int_t
yd_exp_build(ngx_http_youdu_ctx_t *ctx, yd_exp_t *ex,
    ngx_youdu_db_result_t *uds, ngx_uint_t csv, yd_imp_buf_t *b)
{
    int64_t                 uid;
    ngx_str_t              *c;
    ngx_uint_t              i, k, j, col;
    ngx_youdu_db_result_t  *d = ex->depts, *u = ex->users;

    static const char  *ukeys[] = { "account", "name", "gender", "mobile",
                                    "phone", "email", "title",
                                    "enable_state" };

    if (csv) {
        if (yd_imp_buf_add(b, (u_char *) yd_exp_header,
                           sizeof(yd_exp_header) - 1) != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        if (yd_imp_buf_add(b, (u_char *) "{\"version\":", 11) != NGX_OK
            || yd_imp_buf_int(b, ex->version) != NGX_OK
            || yd_imp_buf_add(b, (u_char *) ",\"departments\":[", 16)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < d->nrows; i++) {
            if (yd_imp_buf_add(b, (u_char *) (i ? ",{\"id\":" : "{\"id\":"),
                               i ? 7 : 6) != NGX_OK
                || yd_imp_buf_int(b, yd_int(d, i, 0)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"parent_id\":", 13)
                   != NGX_OK
                || yd_imp_buf_int(b, yd_int(d, i, 1)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"name\":", 8) != NGX_OK
                || yd_imp_buf_json_str(b, yd_cell(d, i, 2)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"sort_id\":", 11) != NGX_OK
                || yd_imp_buf_int(b, yd_int(d, i, 3)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"alias\":", 9) != NGX_OK
                || yd_imp_buf_json_str(b, yd_cell(d, i, 4)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) "}", 1) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (yd_imp_buf_add(b, (u_char *) "],\"users\":[", 11) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* user_depts rows come ordered by user id like the users */
    k = 0;

    for (i = 0; i < u->nrows; i++) {
        uid = yd_int(u, i, 0);

        if (!csv && yd_imp_buf_add(b, (u_char *) (i ? ",{" : "{"), i ? 2 : 1)
                    != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (col = 0; col < 8; col++) {
            c = yd_cell(u, i, col + 1);

            if (csv) {
                if ((col && yd_imp_buf_add(b, (u_char *) ",", 1) != NGX_OK)
                    || yd_exp_csv_field(b, c) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            if (yd_imp_buf_add(b, (u_char *) (col ? ",\"" : "\""),
                               col ? 2 : 1) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ukeys[col],
                                  ngx_strlen(ukeys[col])) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) "\":", 2) != NGX_OK
                || ((col == 2 || col == 7)
                    ? yd_imp_buf_add(b, c->data, c->len)
                    : yd_imp_buf_json_str(b, c)) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (yd_imp_buf_add(b, (u_char *) (csv ? "," : ",\"departments\":["),
                           csv ? 1 : 16) != NGX_OK)
        {
            return NGX_ERROR;
        }

        while (k < uds->nrows && yd_int(uds, k, 0) < uid) {
            k++;
        }

        for (j = 0; k < uds->nrows && yd_int(uds, k, 0) == uid; k++, j++) {
            if (csv) {
                if ((j && yd_imp_buf_add(b, (u_char *) "|", 1) != NGX_OK)
                    || yd_imp_buf_int(b, yd_int(uds, k, 1)) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            if (yd_imp_buf_add(b, (u_char *) (j ? ",{\"dept_id\":"
                                                : "{\"dept_id\":"),
                               j ? 12 : 11) != NGX_OK
                || yd_imp_buf_int(b, yd_int(uds, k, 1)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"position\":", 12)
                   != NGX_OK
                || yd_imp_buf_json_str(b, yd_cell(uds, k, 2)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"weight\":", 10) != NGX_OK
                || yd_imp_buf_int(b, yd_int(uds, k, 3)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) ",\"sort_id\":", 11) != NGX_OK
                || yd_imp_buf_int(b, yd_int(uds, k, 4)) != NGX_OK
                || yd_imp_buf_add(b, (u_char *) "}", 1) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (yd_imp_buf_add(b, (u_char *) (csv ? "\r\n" : "]}"), 2) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (!csv && yd_imp_buf_add(b, (u_char *) yd_exp_tail,
                               sizeof(yd_exp_tail) - 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_export(ngx_http_youdu_ctx_t *ctx)
{
    u_char                 *p;
    int64_t                 csv;
    ngx_str_t               format, cd;
    yd_exp_t               *ex = ctx->data;
    yd_imp_buf_t            b;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        if (yd_query_str(ctx, "format", 8, &format) != NGX_OK) {
            return NGX_DONE;
        }

        if (format.len
            && !(format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0)
            && !(format.len == 3 && ngx_strncmp(format.data, "csv", 3) == 0))
        {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                            "query parameter \"format\" must be json or csv");
        }

        ex = ngx_pcalloc(ctx->pool, sizeof(yd_exp_t));
        if (ex == NULL) {
            return NGX_ERROR;
        }

        ctx->data = ex;

        /* one snapshot for the four reads */
        ctx->held = 1;
        return yd_sql(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
                           "READ ONLY", "");

    case 1:
        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    case 2:
        ex->version = yd_int(res, 0, 0);
        return yd_sql(ctx, "SELECT id, parent_id, name, sort_id, "
                           "IFNULL(alias, '') FROM departments WHERE id <> 0 "
                           "ORDER BY depth, parent_id, sort_id, id", "");

    case 3:
        ex->depts = res;
        return yd_sql(ctx, "SELECT id, account, name, gender, "
                           "IFNULL(mobile, ''), phone, email, title, "
                           "enable_state FROM users ORDER BY id", "");

    case 4:
        ex->users = res;
        return yd_sql(ctx, "SELECT user_id, dept_id, position, weight, "
                           "sort_id FROM user_depts "
                           "ORDER BY user_id, dept_id", "");

    default:
        csv = 0;

        if (ngx_http_arg(ctx->r, (u_char *) "format", 6, &format) == NGX_OK
            && format.len == 3)
        {
            csv = 1;
        }

        ngx_memzero(&b, sizeof(yd_imp_buf_t));
        b.pool = ctx->pool;

        if (yd_exp_build(ctx, ex, res, csv, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        if (!csv) {
            return yd_send_raw(ctx, NGX_HTTP_OK, &yd_imp_json_type, NULL, NULL,
                               b.p, b.len);
        }

        cd.data = ngx_pnalloc(ctx->pool, 64);
        if (cd.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(cd.data, "attachment; filename=\"org-%L.csv\"",
                        ex->version);
        cd.len = p - cd.data;

        return yd_send_raw(ctx, NGX_HTTP_OK, &yd_imp_csv_type, &yd_imp_cd,
                           &cd, b.p, b.len);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_import_routes[] = {
    { NGX_HTTP_POST, "/admin/import", ngx_http_youdu_import, YD_AUTH_ADMIN,
      YD_IMPORT_BODY_LIMIT, YD_ROUTE_RAW_BODY },
    { NGX_HTTP_GET, "/admin/export", ngx_http_youdu_export, YD_AUTH_ADMIN,
      0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
