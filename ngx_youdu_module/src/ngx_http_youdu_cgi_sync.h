
/*
 * youdu: full sync jobs of the open platform (/cgi/org/replaceall,
 * /cgi/org/xmlsync, /cgi/getjobresult; PROTOCOL.md section 4.6).
 *
 * A job is a youdu handler context without a request (ctx.r == NULL): it
 * runs the bulk import's stages (ngx_http_youdu_api_import.c) after its
 * own parse task turned the request into the import's JSON, so it goes on
 * after the reply and when the client is gone.  Its row in org_jobs is
 * refreshed every few seconds; a row whose heartbeat is older than the
 * lease (the worker died) is marked failed by the next caller.
 */

#ifndef _NGX_HTTP_YOUDU_CGI_SYNC_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CGI_SYNC_H_INCLUDED_


#include "ngx_http_youdu_cgi.h"
#include "ngx_http_youdu_import.h"


#define YD_SYNC_REPLACE_ALL     1
#define YD_SYNC_XML             2

#define YD_SYNC_RUNNING         1
#define YD_SYNC_DONE            3
#define YD_SYNC_FAILED          4

#define YD_SYNC_BEAT_MS         2000
#define YD_SYNC_LEASE_S         15
#define YD_SYNC_MAX_USERS       100000
#define YD_SYNC_XML_LIMIT       (32 * 1024 * 1024)
#define YD_SYNC_DESC_MAX        2000


typedef struct {
    ngx_http_youdu_ctx_t    ctx;          /* first: the job is its ctx */
    yd_imp_t               *imp;

    ngx_str_t               id;           /* 32 hex */
    ngx_uint_t              type;         /* YD_SYNC_* */
    int64_t                 app_pk;
    ngx_str_t               app_id;
    ngx_str_t               cb_url;       /* data NULL: the app's own */
    ngx_str_t               cb_token;

    json_t                 *payload;      /* replaceall: a reference */
    ngx_str_t               xml;          /* xmlsync: the body (copied) */
    ngx_str_t               auth;         /* [[userId,authType,md5]...]
                                             JSON, set by the mapping */
    ngx_uint_t              nusers;       /* as sent, for the progress */
    ngx_uint_t              ndepts;

    ngx_event_t             beat;         /* heartbeat timer */
    ngx_event_t             next;         /* the bookkeeping after the import */
    ngx_event_t             free_ev;
    unsigned                beating:1;
    unsigned                finishing:1;
    unsigned                free_pending:1;

    /* outcome */
    ngx_uint_t              result;       /* YD_SYNC_DONE / YD_SYNC_FAILED */
    ngx_int_t               errcode;
    ngx_str_t               errmsg;
    ngx_str_t               desc;
    int64_t                 version;
    int64_t                 counts[6];    /* depts c/u/d, users c/u/d */
    int64_t                 callback_id;
} yd_sync_job_t;


/* marks jobs whose worker died as failed (no parameters) */
extern const char  yd_sync_sql_expire[];

/* ngx_http_youdu_cgi_sync_job.c: starts the job of an inserted row */
ngx_int_t yd_sync_job_start(ngx_http_youdu_ctx_t *rctx, ngx_str_t *id,
    ngx_uint_t type, json_t *payload, ngx_str_t *xml, ngx_str_t *cb_url,
    ngx_str_t *cb_token);
const char *yd_sync_type_name(ngx_uint_t type);

/* ngx_http_youdu_cgi_sync_map.c (in the thread pool): the request as the
 * import's JSON document, or NULL with imp->fail_* or errors set */
json_t *yd_sync_map_replaceall(yd_sync_job_t *job, yd_imp_t *imp);

/* ngx_http_youdu_cgi_sync_xml.c (in the thread pool) */
json_t *yd_sync_map_xml(yd_sync_job_t *job, yd_imp_t *imp);
/* event loop, once per process, before the first task */
void yd_sync_xml_init(void);


#endif /* _NGX_HTTP_YOUDU_CGI_SYNC_H_INCLUDED_ */
