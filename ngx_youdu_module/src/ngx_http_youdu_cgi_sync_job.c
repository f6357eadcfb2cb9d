
/*
 * youdu: running a full sync job without a request.
 *
 * The job owns a pool and a handler context with r == NULL.  Its parse
 * task (thread pool) turns the request into the bulk import's JSON and
 * parses it; then the import's own stages check and write the org in one
 * transaction.  The import "replies" into yd_sync_job_replied() instead of
 * a connection; from that reply the job's row gets its result and desc,
 * and the completion callback is queued (app_callbacks + PUBLISH
 * yd:callback) in one transaction.  A timer refreshes the row's heartbeat
 * meanwhile, with the progress in its description.
 */


#include "ngx_http_youdu_cgi_sync.h"


static void yd_sync_prepare_task(void *data, ngx_log_t *log);
static ngx_int_t yd_sync_job_run(ngx_http_youdu_ctx_t *ctx);
static void yd_sync_job_replied(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t status, u_char *data, size_t len);
static void yd_sync_outcome(yd_sync_job_t *job, ngx_uint_t status,
    u_char *data, size_t len);
static void yd_sync_next(ngx_event_t *ev);
static ngx_int_t yd_sync_finish(ngx_http_youdu_ctx_t *ctx);
static void yd_sync_free(ngx_event_t *ev);
static void yd_sync_beat(ngx_event_t *ev);


/* the import's stages, entered at stage 1 after our own parse task */
static const ngx_http_youdu_route_t  yd_sync_job_route = {
    0, "(sync job)", yd_sync_job_run, YD_AUTH_NONE, 0, 0
};

static const ngx_http_youdu_route_t  yd_sync_finish_route = {
    0, "(sync job end)", yd_sync_finish, YD_AUTH_NONE, 0, 0
};


const char  yd_sync_sql_expire[] =
    "UPDATE org_jobs SET state = 4, running = NULL, "
    "finished_at = UTC_TIMESTAMP(3), "
    "description = CONCAT('failed: the server process running the job "
    "stopped (no progress since ', DATE_FORMAT(heartbeat_at, "
    "'%Y-%m-%d %H:%i:%s'), ' UTC). The organisation was written in one "
    "transaction: either nothing or everything was applied; check it and "
    "send the sync again. Last progress: ', description) "
    "WHERE running = 1 AND heartbeat_at < UTC_TIMESTAMP(3) - INTERVAL "
    ngx_value(YD_SYNC_LEASE_S) " SECOND";


const char *
yd_sync_type_name(ngx_uint_t type)
{
    return type == YD_SYNC_XML ? "org_xml_sync" : "org_replace_all";
}


static ngx_int_t
yd_sync_copy(ngx_pool_t *pool, ngx_str_t *dst, ngx_str_t *src)
{
    ngx_str_null(dst);

    if (src == NULL || src->data == NULL) {
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(pool, src->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->data[src->len] = '\0';
    dst->len = src->len;

    return NGX_OK;
}


ngx_int_t
yd_sync_job_start(ngx_http_youdu_ctx_t *rctx, ngx_str_t *id,
    ngx_uint_t type, json_t *payload, ngx_str_t *xml, ngx_str_t *cb_url,
    ngx_str_t *cb_token)
{
    json_t         *a;
    ngx_int_t       rc;
    ngx_pool_t     *pool;
    yd_imp_t       *imp;
    yd_sync_job_t  *job;

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    job = ngx_pcalloc(pool, sizeof(yd_sync_job_t));
    if (job == NULL
        || yd_sync_copy(pool, &job->id, id) != NGX_OK
        || yd_sync_copy(pool, &job->app_id, &rctx->cgi->app_id) != NGX_OK
        || yd_sync_copy(pool, &job->cb_url, cb_url) != NGX_OK
        || yd_sync_copy(pool, &job->cb_token, cb_token) != NGX_OK
        || yd_sync_copy(pool, &job->ctx.client_ip, &rctx->client_ip)
           != NGX_OK
        || (xml->len && yd_sync_copy(pool, &job->xml, xml) != NGX_OK))
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    job->type = type;
    job->app_pk = rctx->cgi->app_pk;

    /* an app acts as an administrator: it cannot touch or remove
     * administrator accounts (only a super admin may) */
    job->ctx.pool = pool;
    job->ctx.route = &yd_sync_job_route;
    job->ctx.me.role = YD_ROLE_ADMIN;
    job->ctx.detached_done = yd_sync_job_replied;

    imp = yd_imp_new(&job->ctx);
    if (imp == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    job->imp = imp;
    imp->replace = 1;
    imp->app_id = job->app_id;
    imp->action = (type == YD_SYNC_XML) ? "cgi.org.xmlsync"
                                        : "cgi.org.replaceall";

    if (payload) {
        /* the request frees its reference; the job keeps its own */
        job->payload = json_incref(payload);

        a = yd_cgi_obj_get(payload, "userList");
        job->nusers = json_is_array(a) ? json_array_size(a) : 0;
        a = yd_cgi_obj_get(payload, "deptList");
        job->ndepts = json_is_array(a) ? json_array_size(a) : 0;
    }

    if (type == YD_SYNC_XML) {
        yd_sync_xml_init();
    }

    job->beat.handler = yd_sync_beat;
    job->beat.data = job;
    job->beat.log = ngx_cycle->log;
    job->beat.cancelable = 1;
    job->next.handler = yd_sync_next;
    job->next.data = job;
    job->next.log = ngx_cycle->log;
    job->free_ev.handler = yd_sync_free;
    job->free_ev.data = job;
    job->free_ev.log = ngx_cycle->log;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  YD_LOG_TAG "sync job %V (%s) of app \"%V\" started",
                  &job->id, yd_sync_type_name(type), &job->app_id);

    rc = yd_imp_thread(imp, yd_sync_prepare_task);

    if (rc != NGX_AGAIN) {
        if (job->payload) {
            json_decref(job->payload);
        }

        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    /* the first beat at once: the progress shows from the start */
    ngx_add_timer(&job->beat, 1);

    return NGX_OK;
}


/* thread pool: the request as the import's input, then its parser */

static void
yd_sync_prepare_task(void *data, ngx_log_t *log)
{
    char           *text;
    json_t         *doc;
    yd_imp_t       *imp = data;
    yd_sync_job_t  *job = (yd_sync_job_t *) imp->ctx;

    doc = (job->type == YD_SYNC_XML) ? yd_sync_map_xml(job, imp)
                                     : yd_sync_map_replaceall(job, imp);

    if (doc == NULL) {
        imp->thread_rc = imp->fail_status ? NGX_DONE : NGX_ERROR;
        return;
    }

    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);

    if (text == NULL) {
        imp->thread_rc = NGX_ERROR;
        return;
    }

    imp->ctx->raw.len = ngx_strlen(text);
    imp->ctx->raw.data = ngx_pnalloc(imp->pool, imp->ctx->raw.len + 1);

    if (imp->ctx->raw.data == NULL) {
        free(text);
        imp->thread_rc = NGX_ERROR;
        return;
    }

    ngx_memcpy(imp->ctx->raw.data, text, imp->ctx->raw.len + 1);
    free(text);

    /* the mapping's own row errors (sibling sortIds) stay counted */
    imp->thread_rc = yd_imp_parse(imp);
}


static ngx_int_t
yd_sync_job_run(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_import(ctx);
}


/* the import answered: what the job's row and callback say */

static void
yd_sync_job_replied(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    u_char *data, size_t len)
{
    yd_sync_job_t  *job = (yd_sync_job_t *) ctx;

    if (job->finishing) {
        if (status != NGX_HTTP_OK) {
            /* the row's lease runs out and it reads as failed */
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          YD_LOG_TAG "sync job %V: its result could not be "
                          "stored (%ui)", &job->id, status);
        }

        ngx_post_event(&job->free_ev, &ngx_posted_events);
        return;
    }

    job->finishing = 1;
    yd_sync_outcome(job, status, data, len);

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  YD_LOG_TAG "sync job %V: %V", &job->id, &job->desc);

    /* the import's stack is still unwinding: go on from the loop */
    ngx_post_event(&job->next, &ngx_posted_events);
}


static void
yd_sync_next(ngx_event_t *ev)
{
    ngx_int_t       rc;
    yd_sync_job_t  *job = ev->data;

    job->ctx.finished = 0;
    job->ctx.stage = 0;
    job->ctx.route = &yd_sync_finish_route;

    rc = yd_sync_finish(&job->ctx);

    if (rc != NGX_AGAIN && rc != NGX_DONE) {
        (void) yd_error(&job->ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                        YD_ERR_INTERNAL, "internal error");
    }
}


/* "users[3].account" in the import's terms -> Youdu's names */

static const char *
yd_sync_field_name(ngx_uint_t xml, const char *f)
{
    static const char  *map[][3] = {
        { "account", "userId", "UserName" },
        { "name", "name", "Name" },
        { "parent_id", "parentId", "PDeptID" },
        { "sort_id", "sortId", "SortID" },
        { "id", "id", "DeptID" },
        { "departments", "dept", "RTX_DeptUser" },
        { "dept_id", "deptId", "DeptID" },
        { "enable_state", "enableState", "AccountState" },
        { "title", "position", "Position" },
        { "mobile", "mobile", "Mobile" },
        { "phone", "phone", "Phone" },
        { "email", "email", "Email" },
        { "gender", "gender", "Gender" },
        { NULL, NULL, NULL }
    };

    ngx_uint_t  i;

    for (i = 0; map[i][0]; i++) {
        if (ngx_strcmp(map[i][0], f) == 0) {
            return map[i][xml ? 2 : 1];
        }
    }

    return f;
}


static void
yd_sync_outcome(yd_sync_job_t *job, ngx_uint_t status, u_char *data,
    size_t len)
{
    u_char      *p, *last;
    size_t       i;
    json_t      *j, *e, *o;
    ngx_uint_t   xml = (job->type == YD_SYNC_XML);
    const char  *msg, *sect, *field;

    job->desc.data = ngx_pnalloc(job->ctx.pool, YD_SYNC_DESC_MAX + 1);
    if (job->desc.data == NULL) {
        ngx_str_set(&job->desc, "failed: out of memory");
        job->result = YD_SYNC_FAILED;
        job->errcode = YD_CGI_INTERNALERR;
        ngx_str_set(&job->errmsg, "internal error");
        return;
    }

    p = job->desc.data;
    last = p + YD_SYNC_DESC_MAX;

    j = (data && len) ? json_loadb((char *) data, len, 0, NULL) : NULL;

    if (status == NGX_HTTP_OK && j) {
        job->result = YD_SYNC_DONE;
        job->errcode = 0;
        ngx_str_set(&job->errmsg, "ok");
        job->version = json_integer_value(json_object_get(j, "version"));

        o = json_object_get(j, "departments");
        job->counts[0] = json_integer_value(json_object_get(o, "created"));
        job->counts[1] = json_integer_value(json_object_get(o, "updated"));
        job->counts[2] = json_integer_value(json_object_get(o, "deleted"));
        o = json_object_get(j, "users");
        job->counts[3] = json_integer_value(json_object_get(o, "created"));
        job->counts[4] = json_integer_value(json_object_get(o, "updated"));
        job->counts[5] = json_integer_value(json_object_get(o, "deleted"));

        p = ngx_slprintf(p, last, "done: departments %L created, %L updated, "
                         "%L removed; users %L created, %L updated, "
                         "%L removed; organisation version %L",
                         job->counts[0], job->counts[1], job->counts[2],
                         job->counts[3], job->counts[4], job->counts[5],
                         job->version);

    } else if (status == 422 && j) {
        /* row errors: nothing was written */
        job->result = YD_SYNC_FAILED;
        o = json_object_get(j, "errors");
        e = json_array_get(o, 0);
        sect = json_string_value(json_object_get(e, "section"));

        job->errcode = (sect && ngx_strcmp(sect, "departments") == 0)
                       ? YD_CGI_INVALID_FORMAT_DEPT
                       : YD_CGI_INVALID_FORMAT_USER;

        p = ngx_slprintf(p, last, "failed: %L invalid %s, nothing was "
                         "changed:",
                         json_integer_value(json_object_get(j,
                                                            "error_count")),
                         json_integer_value(json_object_get(j, "error_count"))
                         == 1 ? "entry" : "entries");

        json_array_foreach(o, i, e) {
            if (i == 20 || last - p < 64) {
                p = ngx_slprintf(p, last, " ...");
                break;
            }

            sect = json_string_value(json_object_get(e, "section"));
            field = json_string_value(json_object_get(e, "field"));
            msg = json_string_value(json_object_get(e, "message"));
            sect = sect ? sect : "";
            field = field ? field : "";

            if (xml) {
                p = ngx_slprintf(p, last, "%s %s item %L%s%s: %s",
                                 i ? ";" : "",
                                 ngx_strcmp(sect, "departments") == 0
                                 ? "RTX_Dept" : "Sys_User",
                                 json_integer_value(json_object_get(e, "row")),
                                 *field ? " " : "",
                                 yd_sync_field_name(1, field),
                                 msg ? msg : "invalid");

            } else {
                p = ngx_slprintf(p, last, "%s %s[%L]%s%s: %s",
                                 i ? ";" : "",
                                 ngx_strcmp(sect, "departments") == 0
                                 ? "deptList" : "userList",
                                 json_integer_value(json_object_get(e, "row"))
                                 - 1,
                                 *field ? "." : "",
                                 yd_sync_field_name(0, field),
                                 msg ? msg : "invalid");
            }
        }

        job->errmsg.data = job->desc.data;
        job->errmsg.len = p - job->desc.data;

    } else {
        job->result = YD_SYNC_FAILED;
        job->errcode = (status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
                       ? YD_CGI_INTERNALERR : YD_CGI_INVALID_REQUEST2;

        msg = j ? json_string_value(json_object_get(j, "errmsg")) : NULL;

        p = ngx_slprintf(p, last, "failed: %s; nothing was changed",
                         msg ? msg : "internal error");
    }

    if (job->errmsg.data == NULL) {
        job->errmsg.data = job->desc.data;
        job->errmsg.len = p - job->desc.data;
    }

    job->desc.len = p - job->desc.data;

    if (j) {
        json_decref(j);
    }
}


/* the row, the callback and its wake-up, in one transaction */

static ngx_int_t
yd_sync_finish(ngx_http_youdu_ctx_t *ctx)
{
    char                   *s;
    json_t                 *pl, *ev;
    ngx_str_t              *v, payload;
    const char             *argv[3];
    size_t                  argvlen[3];
    yd_sync_job_t          *job = (yd_sync_job_t *) ctx;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        return yd_begin(ctx);

    case 1:
        /* how the users log in (setauth's fields), now that they exist
         * (the import's transaction has committed) */
        if (job->result == YD_SYNC_DONE && job->auth.len) {
            return yd_sql(ctx,
                "UPDATE users u JOIN JSON_TABLE(?, '$[*]' COLUMNS("
                "a VARCHAR(64) PATH '$[0]', t INT PATH '$[1]', "
                "p VARCHAR(32) PATH '$[2]')) j ON u.account = j.a "
                "SET u.auth_type = IF(j.t >= 0, j.t, u.auth_type), "
                "u.password_md5 = IF(j.p <> '', j.p, u.password_md5)",
                "s", &job->auth);
        }

        /* fall through */

    case 2:
        ctx->stage = 2;
        return yd_sql(ctx,
            "UPDATE org_jobs SET state = ?, running = NULL, "
            "description = ?, depts_created = ?, depts_updated = ?, "
            "depts_deleted = ?, users_created = ?, users_updated = ?, "
            "users_deleted = ?, version = NULLIF(?, 0), "
            "heartbeat_at = UTC_TIMESTAMP(3), finished_at = UTC_TIMESTAMP(3) "
            "WHERE id = ?",
            "isiiiiiiis", (int64_t) job->result, &job->desc, job->counts[0],
            job->counts[1], job->counts[2], job->counts[3], job->counts[4],
            job->counts[5], job->version, &job->id);

    case 3:
        ev = json_object();
        pl = json_object();
        if (ev == NULL || pl == NULL) {
            json_decref(ev);
            json_decref(pl);
            return NGX_ERROR;
        }

        json_object_set_new(ev, "type",
                            json_string(yd_sync_type_name(job->type)));
        json_object_set_new(ev, "jobId",
                            json_stringn((char *) job->id.data, job->id.len));
        json_object_set_new(ev, "errcode", json_integer(job->errcode));
        json_object_set_new(ev, "errmsg", yd_jstr(&job->errmsg));

        json_object_set_new(pl, "fromUser", json_string("sysOrgAssistant"));
        json_object_set_new(pl, "msgType", json_string("event"));
        json_object_set_new(pl, "event", ev);

        s = json_dumps(pl, JSON_COMPACT);
        json_decref(pl);

        if (s == NULL) {
            return NGX_ERROR;
        }

        payload.len = ngx_strlen(s);
        payload.data = ngx_pnalloc(ctx->pool, payload.len);
        if (payload.data == NULL) {
            free(s);
            return NGX_ERROR;
        }

        ngx_memcpy(payload.data, s, payload.len);
        free(s);

        return yd_sql(ctx,
            "INSERT INTO app_callbacks (app_pk, payload, url, token) "
            "VALUES (?, ?, ?, ?)",
            "isnn", job->app_pk, &payload,
            job->cb_url.data ? &job->cb_url : NULL,
            job->cb_token.data ? &job->cb_token : NULL);

    case 4:
        return yd_sql(ctx, "SELECT LAST_INSERT_ID()", "");

    case 5:
        job->callback_id = yd_int(res, 0, 0);
        return yd_commit(ctx);

    case 6:
        /* best effort: the callback worker also polls its queue */
        v = yd_int_str(ctx->pool, job->callback_id);
        if (v == NULL) {
            return NGX_ERROR;
        }

        argv[0] = "PUBLISH";
        argv[1] = "yd:callback";
        argv[2] = (const char *) v->data;
        argvlen[0] = 7;
        argvlen[1] = 11;
        argvlen[2] = v->len;

        if (yd_redis(ctx, 3, argv, argvlen) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        return yd_ok(ctx, NULL);
    }
}


static void
yd_sync_free(ngx_event_t *ev)
{
    yd_sync_job_t  *job = ev->data;

    if (job->beating) {
        /* the heartbeat's statement still points here */
        job->free_pending = 1;
        return;
    }

    if (job->beat.timer_set) {
        ngx_del_timer(&job->beat);
    }

    if (job->payload) {
        json_decref(job->payload);
    }

    ngx_destroy_pool(job->ctx.pool);
}


/* heartbeat: a context of its own (the job's holds the org transaction) */

typedef struct {
    ngx_http_youdu_ctx_t    ctx;
    yd_sync_job_t          *job;
    ngx_str_t               desc;
    ngx_event_t             free_ev;
} yd_sync_beat_t;


static ngx_int_t yd_sync_beat_run(ngx_http_youdu_ctx_t *ctx);
static void yd_sync_beat_done(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    u_char *data, size_t len);
static void yd_sync_beat_free(ngx_event_t *ev);


static const ngx_http_youdu_route_t  yd_sync_beat_route = {
    0, "(sync job heartbeat)", yd_sync_beat_run, YD_AUTH_NONE,
    0, 0
};


/* what the job is doing, from the import's stage (see its handler) */

static u_char *
yd_sync_progress(yd_sync_job_t *job, u_char *p, u_char *last)
{
    yd_imp_t  *imp = job->imp;

    switch (job->ctx.stage) {

    case 0:
        if (job->type == YD_SYNC_XML) {
            return ngx_slprintf(p, last, "running: reading the XML (%uz "
                                "bytes)", job->xml.len);
        }

        return ngx_slprintf(p, last, "running: reading %ui departments and "
                            "%ui users", job->ndepts, job->nusers);

    case 1: case 2: case 3: case 4: case 5: case 6:
        return ngx_slprintf(p, last, "running: reading the current "
                            "organisation");

    case 7:
        /* the check task may be writing the counts: not read here */
        return ngx_slprintf(p, last, "running: checking %ui users against "
                            "the current organisation", imp->users.nelts);

    default:
        return ngx_slprintf(p, last, "running: writing (statement %ui of "
                            "%ui); departments %ui created, %ui updated, "
                            "%ui removed; users %ui created, %ui updated, "
                            "%ui removed",
                            imp->op, ngx_max(imp->ops1.nelts,
                                             imp->ops2.nelts),
                            imp->d_created, imp->d_updated, imp->d_deleted,
                            imp->u_created, imp->u_updated, imp->u_deleted);
    }
}


static void
yd_sync_beat(ngx_event_t *ev)
{
    u_char          *p;
    ngx_int_t        rc;
    ngx_pool_t      *pool;
    yd_sync_beat_t  *b;
    yd_sync_job_t   *job = ev->data;

    if (job->finishing) {
        return;
    }

    ngx_add_timer(&job->beat, YD_SYNC_BEAT_MS);

    if (job->beating) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    b = ngx_pcalloc(pool, sizeof(yd_sync_beat_t));
    if (b == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    b->desc.data = ngx_pnalloc(pool, 512);
    if (b->desc.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    p = yd_sync_progress(job, b->desc.data, b->desc.data + 512);
    b->desc.len = p - b->desc.data;

    b->job = job;
    b->ctx.pool = pool;
    b->ctx.route = &yd_sync_beat_route;
    b->ctx.detached_done = yd_sync_beat_done;
    b->free_ev.handler = yd_sync_beat_free;
    b->free_ev.data = b;
    b->free_ev.log = ngx_cycle->log;

    job->beating = 1;

    rc = yd_sync_beat_run(&b->ctx);

    if (rc != NGX_AGAIN && rc != NGX_DONE) {
        (void) yd_error(&b->ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                        YD_ERR_INTERNAL, "internal error");
    }
}


static ngx_int_t
yd_sync_beat_run(ngx_http_youdu_ctx_t *ctx)
{
    yd_sync_beat_t  *b = (yd_sync_beat_t *) ctx;

    if (ctx->stage == 0) {
        return yd_sql(ctx,
            "UPDATE org_jobs SET heartbeat_at = UTC_TIMESTAMP(3), "
            "description = ? WHERE id = ? AND state = 1",
            "ss", &b->desc, &b->job->id);
    }

    return yd_ok(ctx, NULL);
}


static void
yd_sync_beat_done(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    u_char *data, size_t len)
{
    yd_sync_beat_t  *b = (yd_sync_beat_t *) ctx;
    yd_sync_job_t   *job = b->job;

    job->beating = 0;

    if (job->free_pending) {
        ngx_post_event(&job->free_ev, &ngx_posted_events);
    }

    ngx_post_event(&b->free_ev, &ngx_posted_events);
}


static void
yd_sync_beat_free(ngx_event_t *ev)
{
    yd_sync_beat_t  *b = ev->data;

    ngx_destroy_pool(b->ctx.pool);
}
