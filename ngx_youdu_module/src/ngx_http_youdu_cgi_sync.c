
/*
 * youdu: POST /cgi/org/replaceall, POST /cgi/org/xmlsync and
 * GET /cgi/getjobresult (PROTOCOL.md section 4.6).
 *
 * The request is checked for shape only, a job row is inserted (the unique
 * "running" key allows one job at a time: 300312) and the job starts
 * detached; the reply is {"jobId"} at once.  Row-level mistakes fail the
 * job (result 4) with the reasons in its desc, and nothing is written.
 */


#include "ngx_http_youdu_cgi_sync.h"
#include <openssl/rand.h>


static ngx_int_t ngx_http_youdu_cgi_replaceall(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_xmlsync(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_jobresult(ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_sync_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/org/replaceall",
        ngx_http_youdu_cgi_replaceall, YD_AUTH_NONE, 64 * 1024 * 1024,
        YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/org/xmlsync",
        ngx_http_youdu_cgi_xmlsync, YD_AUTH_NONE, YD_SYNC_XML_LIMIT,
        YD_ROUTE_RAW_BODY },
      YD_CGI_ENV_NONE, YD_APP_RIGHT_ORG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/getjobresult",
        ngx_http_youdu_cgi_jobresult, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


typedef struct {
    ngx_str_t       id;
    ngx_uint_t      type;
    json_t         *payload;
    ngx_str_t       xml;
    ngx_str_t       cb_url;
    ngx_str_t       cb_token;
} yd_sync_req_t;


/* the callback object: {"url","token"}, both optional strings */

static ngx_int_t
yd_sync_callback(ngx_http_youdu_ctx_t *ctx, yd_sync_req_t *sr)
{
    json_t  *cb, *v;

    cb = yd_cgi_field(ctx, "callback");

    if (cb == NULL) {
        return NGX_OK;
    }

    if (!json_is_object(cb)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "callback must be an object {\"url\",\"token\"}");
    }

    v = yd_cgi_obj_get(cb, "url");

    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) > 1024
            || (ngx_strncasecmp((u_char *) json_string_value(v),
                                (u_char *) "http://", 7) != 0
                && ngx_strncasecmp((u_char *) json_string_value(v),
                                   (u_char *) "https://", 8) != 0))
        {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "callback.url must be an http:// or https:// "
                               "URL of at most 1024 characters");
        }

        if (json_string_length(v)) {
            sr->cb_url.data = (u_char *) json_string_value(v);
            sr->cb_url.len = json_string_length(v);
        }
    }

    v = yd_cgi_obj_get(cb, "token");

    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) > 64) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "callback.token must be a string of at most "
                               "64 characters");
        }

        if (json_string_length(v)) {
            sr->cb_token.data = (u_char *) json_string_value(v);
            sr->cb_token.len = json_string_length(v);
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_sync_new_id(ngx_http_youdu_ctx_t *ctx, yd_sync_req_t *sr)
{
    u_char  rnd[16];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NGX_ERROR;
    }

    sr->id.data = ngx_pnalloc(ctx->pool, 32);
    if (sr->id.data == NULL) {
        return NGX_ERROR;
    }

    sr->id.len = ngx_hex_dump(sr->id.data, rnd, sizeof(rnd)) - sr->id.data;

    return NGX_OK;
}


/* the stages shared by both kinds of job, after the checks */

static ngx_int_t
yd_sync_submit(ngx_http_youdu_ctx_t *ctx)
{
    json_t                *data;
    yd_sync_req_t         *sr = ctx->data;
    ngx_youdu_db_result_t *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        if (yd_sync_new_id(ctx, sr) != NGX_OK) {
            return NGX_ERROR;
        }

        return yd_sql(ctx, yd_sync_sql_expire, "");

    case 1:
        return yd_sql_try(ctx,
            "INSERT INTO org_jobs (id, app_pk, type, running, description, "
            "callback_url, callback_token, owner_pid) "
            "VALUES (?, ?, ?, 1, 'running: starting', ?, ?, ?)",
            "siznni", &sr->id, ctx->cgi->app_pk, yd_sync_type_name(sr->type),
            sr->cb_url.data ? &sr->cb_url : NULL,
            sr->cb_token.data ? &sr->cb_token : NULL, (int64_t) ngx_pid);

    default:
        if (res->err_no == 1062) {
            return yd_cgi_fail(ctx, YD_CGI_EXIST_ENT_REPLACEALL,
                               "a full sync is already running: wait for "
                               "it to end (GET /cgi/getjobresult) and send "
                               "this one again");
        }

        if (res->err_no) {
            return yd_db_failed(ctx);
        }

        if (yd_sync_job_start(ctx, &sr->id, sr->type, sr->payload, &sr->xml,
                              &sr->cb_url, &sr->cb_token)
            != NGX_OK)
        {
            /* the row's lease runs out: it is marked failed */
            return NGX_ERROR;
        }

        data = json_object();
        if (data == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(data, "jobId",
                            json_stringn((char *) sr->id.data, sr->id.len));

        return yd_cgi_ok(ctx, data);
    }
}


static yd_sync_req_t *
yd_sync_req(ngx_http_youdu_ctx_t *ctx, ngx_uint_t type)
{
    yd_sync_req_t  *sr;

    sr = ngx_pcalloc(ctx->pool, sizeof(yd_sync_req_t));
    if (sr) {
        sr->type = type;
        ctx->data = sr;
    }

    return sr;
}


static ngx_int_t
ngx_http_youdu_cgi_replaceall(ngx_http_youdu_ctx_t *ctx)
{
    json_t         *v;
    yd_sync_req_t  *sr;

    if (ctx->stage) {
        return yd_sync_submit(ctx);
    }

    sr = yd_sync_req(ctx, YD_SYNC_REPLACE_ALL);
    if (sr == NULL) {
        return NGX_ERROR;
    }

    if (ctx->cgi->data == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_JSON,
                           "the payload must be a JSON object with "
                           "\"userList\" and \"deptList\"");
    }

    /* an empty list is a request too (it empties the org): not "absent" */
    v = yd_cgi_obj_get(ctx->cgi->data, "userList");

    if (v == NULL || json_is_null(v)) {
        return yd_cgi_fail(ctx, YD_CGI_MISS_USERLIST,
                           "userList is missing: send every user of the "
                           "organisation");
    }

    if (!json_is_array(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                           "userList must be an array of users");
    }

    if (json_array_size(v) > YD_SYNC_MAX_USERS) {
        return yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_USERLIST,
                           "userList has more than %d users",
                           YD_SYNC_MAX_USERS);
    }

    v = yd_cgi_obj_get(ctx->cgi->data, "deptList");

    if (v && !json_is_null(v) && !json_is_array(v)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_DEPTLIST,
                           "deptList must be an array of departments");
    }

    if (yd_sync_callback(ctx, sr) != NGX_OK) {
        return NGX_DONE;
    }

    sr->payload = ctx->cgi->data;

    return yd_sync_submit(ctx);
}


static ngx_int_t
ngx_http_youdu_cgi_xmlsync(ngx_http_youdu_ctx_t *ctx)
{
    yd_sync_req_t  *sr;

    if (ctx->stage) {
        return yd_sync_submit(ctx);
    }

    sr = yd_sync_req(ctx, YD_SYNC_XML);
    if (sr == NULL) {
        return NGX_ERROR;
    }

    if (ctx->raw.len == 0) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "send the organisation as XML in the body (the "
                           "RTX export format, see docs/cgi.md)");
    }

    sr->xml = ctx->raw;

    return yd_sync_submit(ctx);
}


static ngx_int_t
ngx_http_youdu_cgi_jobresult(ngx_http_youdu_ctx_t *ctx)
{
    size_t                  i;
    json_t                 *data;
    ngx_str_t               id;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        if (yd_cgi_str(ctx, "jobId", &id) != NGX_OK || id.len != 32) {
            return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_JOBID,
                               "no such job: jobId is the 32-character id "
                               "that replaceall or xmlsync returned");
        }

        for (i = 0; i < id.len; i++) {
            if (!((id.data[i] >= '0' && id.data[i] <= '9')
                  || (id.data[i] >= 'a' && id.data[i] <= 'f')))
            {
                return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_JOBID,
                                   "no such job: jobId is 32 lower-case hex "
                                   "digits");
            }
        }

        ctx->data = ngx_pcalloc(ctx->pool, sizeof(ngx_str_t));
        if (ctx->data == NULL) {
            return NGX_ERROR;
        }

        *(ngx_str_t *) ctx->data = id;

        return yd_sql(ctx, yd_sync_sql_expire, "");

    case 1:
        /* another app's job is not there for this one */
        return yd_sql(ctx,
            "SELECT type, state, description FROM org_jobs "
            "WHERE id = ? AND app_pk = ?",
            "si", (ngx_str_t *) ctx->data, ctx->cgi->app_pk);

    default:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_NOTEXIST_JOBID,
                               "no such job for this app");
        }

        data = json_object();
        if (data == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(data, "type", yd_json_cell(res, 0, 0));
        json_object_set_new(data, "result", yd_json_cell_int(res, 0, 1));
        json_object_set_new(data, "desc", yd_json_cell(res, 0, 2));

        return yd_cgi_ok(ctx, data);
    }
}
