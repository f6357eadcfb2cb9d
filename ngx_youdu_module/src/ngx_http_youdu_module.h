
/*
 * youdu HTTP module: shared types for the REST API handlers.
 *
 * A request is served by a route handler written as a small state machine:
 * the framework calls ctx->route->handler(ctx) with ctx->stage == 0; a
 * handler that starts asynchronous work (yd_sql(), yd_begin(), Redis, ...)
 * returns NGX_AGAIN and is called again with stage + 1 when it completes;
 * a handler that replied (yd_ok(), yd_error()) returns NGX_DONE.
 * NGX_ERROR replies "internal error".
 */

#ifndef _NGX_HTTP_YOUDU_MODULE_H_INCLUDED_
#define _NGX_HTTP_YOUDU_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_youdu_core.h"
#include "ngx_youdu_db.h"
#include "ngx_youdu_redis.h"
#include "ngx_youdu_auth.h"
#include "ngx_http_youdu_errors.h"


#define YD_MAX_PATH_ARGS     4
#define YD_BODY_LIMIT        (1024 * 1024)
#define YD_PAGE_DEFAULT      50
#define YD_PAGE_MAX          500


typedef struct ngx_http_youdu_ctx_s  ngx_http_youdu_ctx_t;

typedef ngx_int_t (*ngx_http_youdu_handler_pt)(ngx_http_youdu_ctx_t *ctx);


/* who may call a route */
typedef enum {
    YD_AUTH_NONE = 0,       /* public */
    YD_AUTH_USER,           /* any signed-in, enabled user */
    YD_AUTH_ADMIN,          /* role admin or super admin */
    YD_AUTH_SUPER           /* super admin only */
} ngx_http_youdu_auth_e;


#define YD_ROUTE_RAW_BODY     0x01   /* body is not JSON (CSV import) */
#define YD_ROUTE_PW_CHANGE    0x02   /* allowed while a password change is due */
#define YD_ROUTE_FILE_BODY    0x04   /* body stays in nginx's temp file (upload) */
#define YD_ROUTE_SIGNED       0x08   /* a signed URL (?sig=) may stand in for
                                        the Authorization header */


/* location configuration: "youdu_api" and the upload limits */
typedef struct {
    ngx_str_t                     prefix;
    off_t                         upload_max;
    off_t                         image_max;
    ngx_uint_t                    image_max_pixels;
    ngx_flag_t                    api;
    ngx_flag_t                    cgi;        /* "youdu_cgi": /cgi/... */
    ngx_str_t                     face_key;   /* /cgi/face/conf.get */
    ngx_str_t                     face_secret;
} ngx_http_youdu_loc_conf_t;


typedef struct {
    ngx_uint_t                    method;     /* NGX_HTTP_GET | ... */
    char                         *pattern;    /* "/org/users/:id" */
    ngx_http_youdu_handler_pt     handler;
    ngx_http_youdu_auth_e         auth;
    size_t                        body_limit; /* 0: YD_BODY_LIMIT */
    ngx_uint_t                    flags;
} ngx_http_youdu_route_t;


typedef struct {
    int64_t                       uid;
    int64_t                       sid;
    ngx_uint_t                    role;
    ngx_str_t                     account;
    ngx_str_t                     name;
    unsigned                      must_change_password:1;
} ngx_http_youdu_me_t;


struct ngx_http_youdu_ctx_s {
    ngx_http_request_t           *r;
    ngx_pool_t                   *pool;
    const ngx_http_youdu_route_t *route;
    ngx_str_t                     path;        /* after the /api/v1 prefix */
    ngx_str_t                     args[YD_MAX_PATH_ARGS];
    ngx_uint_t                    nargs;

    ngx_str_t                     raw;         /* request body bytes */
    off_t                         body_size;   /* YD_ROUTE_FILE_BODY */
    off_t                         body_limit;
    off_t                         body_seen;   /* as it arrives */
    json_t                       *body;        /* parsed JSON body or NULL */

    ngx_http_youdu_me_t           me;
    ngx_str_t                     client_ip;
    ngx_str_t                     user_agent;

    ngx_uint_t                    stage;
    ngx_uint_t                    auth_stage;
    ngx_youdu_db_conn_t          *db;
    ngx_youdu_db_waiter_t         waiter;
    ngx_youdu_db_result_t        *res;         /* last statement's result */
    const char                   *sql;         /* statement to run */
    ngx_youdu_db_param_t         *params;
    ngx_uint_t                    nparams;
    ngx_uint_t                    held;        /* keep db between statements */

    void                         *data;        /* the handler's own state */

    ngx_int_t                     redis_ok;    /* reply arrived, not error */
    int                           redis_type;  /* REDIS_REPLY_* */
    long long                     redis_int;
    ngx_str_t                     redis_str;

    ngx_event_t                   fail_ev;     /* asynchronous db failure */

    /* sessions of this user changed (revoked, user disabled): his push
     * connections re-check theirs when the reply goes out */
    int64_t                       recheck_uid;

    /* a /cgi request (ngx_http_youdu_cgi.h), or NULL */
    struct ngx_http_youdu_cgi_s  *cgi;
    ngx_uint_t                    cgi_phase;   /* the /cgi framework's own
                                                  stages before the handler */

    /* a job without a client (r == NULL, ngx_http_youdu_cgi_sync_job.c):
     * the reply goes here instead of to a connection */
    void                        (*detached_done)(ngx_http_youdu_ctx_t *ctx,
                                    ngx_uint_t status, u_char *data,
                                    size_t len);

    unsigned                      allow_db_error:1;
    unsigned                      finished:1;
    unsigned                      in_handler:1;
};


extern ngx_module_t  ngx_http_youdu_module;


/* the log of a request, or of the cycle for a job without one */
#define yd_log(ctx)                                                           \
    ((ctx)->r ? (ctx)->r->connection->log : ngx_cycle->log)


/* ngx_http_youdu_request.c: replies */
ngx_int_t yd_ok(ngx_http_youdu_ctx_t *ctx, json_t *obj);
ngx_int_t yd_ok_status(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    json_t *obj);
ngx_int_t yd_error(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    ngx_int_t errcode, const char *fmt, ...);
ngx_int_t yd_send_raw(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    ngx_str_t *content_type, ngx_str_t *extra_header_name,
    ngx_str_t *extra_header_value, u_char *data, size_t len);
ngx_int_t yd_db_failed(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_request.c: asynchronous work */
/*
 * fmt letters: s ngx_str_t *, n ngx_str_t * or NULL (NULL/unset -> SQL NULL),
 * z const char * (NULL -> SQL NULL), i int64_t, b ngx_str_t * binary blob.
 */
ngx_int_t yd_sql(ngx_http_youdu_ctx_t *ctx, const char *sql,
    const char *fmt, ...);
ngx_int_t yd_sql_try(ngx_http_youdu_ctx_t *ctx, const char *sql,
    const char *fmt, ...);
ngx_int_t yd_sql_params(ngx_http_youdu_ctx_t *ctx, const char *sql,
    ngx_youdu_db_param_t *params, ngx_uint_t n, ngx_uint_t allow_error);
ngx_int_t yd_begin(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_commit(ngx_http_youdu_ctx_t *ctx);
void yd_release(ngx_http_youdu_ctx_t *ctx);
/* NGX_AGAIN: sent, the handler resumes with ctx->redis_*; NGX_DECLINED:
 * Redis is unavailable right now (the handler decides what to do) */
ngx_int_t yd_redis(ngx_http_youdu_ctx_t *ctx, int argc, const char **argv,
    const size_t *argvlen);
void yd_resume(ngx_http_youdu_ctx_t *ctx);
/* fire and forget: uid's push connections re-check their sessions */
void ngx_http_youdu_push_recheck(int64_t uid);

/* ngx_http_youdu_util.c: input helpers */
ngx_int_t yd_json_str(ngx_http_youdu_ctx_t *ctx, json_t *obj,
    const char *key, ngx_uint_t required, size_t max_chars, ngx_str_t *out,
    ngx_uint_t *present);
ngx_int_t yd_json_int(ngx_http_youdu_ctx_t *ctx, json_t *obj,
    const char *key, ngx_uint_t required, int64_t min, int64_t max,
    int64_t *out, ngx_uint_t *present);
ngx_int_t yd_json_bool(ngx_http_youdu_ctx_t *ctx, json_t *obj,
    const char *key, ngx_uint_t required, ngx_uint_t *out,
    ngx_uint_t *present);
ngx_int_t yd_arg_int(ngx_http_youdu_ctx_t *ctx, ngx_uint_t n, int64_t *out);
ngx_int_t yd_query_str(ngx_http_youdu_ctx_t *ctx, const char *name,
    size_t max_chars, ngx_str_t *out);
ngx_int_t yd_query_int(ngx_http_youdu_ctx_t *ctx, const char *name,
    int64_t def, int64_t min, int64_t max, int64_t *out);
ngx_int_t yd_page(ngx_http_youdu_ctx_t *ctx, int64_t *offset,
    int64_t *limit);
ngx_int_t yd_require_body(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_cell_int(ngx_youdu_db_result_t *res, ngx_uint_t row,
    ngx_uint_t col, int64_t *out);
int64_t yd_int(ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col);
json_t *yd_json_cell(ngx_youdu_db_result_t *res, ngx_uint_t row,
    ngx_uint_t col);
json_t *yd_json_cell_int(ngx_youdu_db_result_t *res, ngx_uint_t row,
    ngx_uint_t col);
json_t *yd_jstr(ngx_str_t *s);
ngx_str_t *yd_pstr(ngx_pool_t *pool, const char *s);
ngx_str_t *yd_int_str(ngx_pool_t *pool, int64_t v);
ngx_int_t yd_valid_text(ngx_str_t *s, size_t max_chars,
    ngx_uint_t allow_newlines);
ngx_int_t yd_pinyin(ngx_pool_t *pool, ngx_str_t *name, ngx_str_t *full,
    ngx_str_t *initials);


/* route tables, one per resource file */
extern const ngx_http_youdu_route_t  ngx_http_youdu_auth_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_self_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_org_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_admin_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_misc_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_import_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_account_admin_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_conv_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_msg_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_presence_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_file_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_avatar_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_app_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_callback_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_app_conv_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_sso_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_wipe_routes[];
extern const ngx_http_youdu_route_t  ngx_http_youdu_prefs_routes[];

/* ngx_http_youdu_cgi.c: the /cgi location */
ngx_int_t ngx_http_youdu_cgi_begin(ngx_http_youdu_ctx_t *ctx);
void ngx_http_youdu_cgi_resume(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_cgi_from_rest(ngx_http_youdu_ctx_t *ctx, ngx_uint_t status,
    ngx_int_t errcode, ngx_str_t *msg);

/* ngx_http_youdu_module.c */
ngx_int_t ngx_http_youdu_collect_body(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_run(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_file_serve.c: the body limit of an upload, signed URLs */
off_t ngx_http_youdu_upload_limit(ngx_http_request_t *r,
    ngx_http_youdu_loc_conf_t *ylcf);
ngx_int_t ngx_http_youdu_file_url_auth(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_auth.c */
ngx_int_t ngx_http_youdu_password_policy(ngx_http_youdu_ctx_t *ctx,
    ngx_str_t *pw);
ngx_int_t ngx_http_youdu_login_log_list(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t all);


#endif /* _NGX_HTTP_YOUDU_MODULE_H_INCLUDED_ */
