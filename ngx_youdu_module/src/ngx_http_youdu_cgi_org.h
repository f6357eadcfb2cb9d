
/*
 * youdu: the open platform's departments and users (PROTOCOL.md sections
 * 4.4 and 4.5).  The same tables as the REST org API; every write follows
 * the org write protocol (ngx_http_youdu_cgi_org.c runs it), so the web
 * client's live address book and the change feed see /cgi changes exactly
 * like admin changes.
 */

#ifndef _NGX_HTTP_YOUDU_CGI_ORG_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CGI_ORG_H_INCLUDED_


#include "ngx_http_youdu_cgi.h"
#include "ngx_http_youdu_org.h"


#define YD_CGI_MAX_DELLIST      200
#define YD_CGI_MAX_USERLIST     1000
#define YD_CGI_MAX_ATTRS        50
#define YD_CGI_SEARCH_LIMIT     500

/* the super admins who can still sign in: the last one is protected */
#define YD_CGI_SUPERS_SQL                                                    \
    "(SELECT COUNT(*) FROM users WHERE role = 2 AND enable_state = 1 "      \
    "AND quit_at IS NULL)"

/* the cgi department object's columns: {id,name,parentId,sortId,alias} */
#define YD_CGI_DEPT_COLS                                                     \
    "d.id, IFNULL(d.parent_id, -1), d.name, d.sort_id, IFNULL(d.alias, '')"


typedef struct yd_cgi_org_w_s  yd_cgi_org_w_t;

/* the writes of one request, one statement per call; step counts from 0.
 * NGX_AGAIN: a statement is running; NGX_OK: the writes are done; else a
 * reply was sent (an error: the transaction is rolled back) */
typedef ngx_int_t (*yd_cgi_org_writes_pt)(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_uint_t step);
typedef json_t *(*yd_cgi_org_reply_pt)(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w);

struct yd_cgi_org_w_s {
    yd_cgi_org_writes_pt      writes;
    yd_cgi_org_reply_pt       reply;     /* NULL: no "encrypt" */
    const char               *action;    /* audit_log action */
    int64_t                   target;
    json_t                   *detail;    /* audit detail, owned */
    int64_t                   version;
    ngx_uint_t                phase;
    ngx_uint_t                step;      /* next step; writes may set it */
    int64_t                  *recheck;   /* users whose sessions to re-check */
    ngx_uint_t                nrecheck;
};


/* a set of users rendered as cgi user objects */
typedef struct {
    const char               *where;     /* over "users u" */
    ngx_youdu_db_param_t     *params;
    ngx_uint_t                nparams;
    json_t                   *list;      /* kept by the pool */
    json_t                   *by_id;
} yd_cgi_users_t;


/* the write protocol: call at every stage after the request is parsed */
ngx_int_t yd_cgi_org_run(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w);
/* json replies for yd_cgi_org_w_t.reply */
json_t *yd_cgi_org_reply_empty(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w);
json_t *yd_cgi_org_reply_id(ngx_http_youdu_ctx_t *ctx, yd_cgi_org_w_t *w);

/* parameters with the field's own section 6 codes; NGX_OK found,
 * NGX_DECLINED absent (or "", null), NGX_DONE replied */
ngx_int_t yd_cgi_org_str(ngx_http_youdu_ctx_t *ctx, const char *key,
    size_t max_chars, ngx_int_t bad, ngx_int_t over, ngx_str_t *out);
ngx_int_t yd_cgi_org_int(ngx_http_youdu_ctx_t *ctx, const char *key,
    int64_t min, int64_t max, ngx_int_t bad, int64_t *out);
/* a userId (account rules) */
ngx_int_t yd_cgi_org_uid(ngx_http_youdu_ctx_t *ctx, const char *key,
    ngx_str_t *out);
/* an array of userIds: 1..max distinct accounts */
ngx_int_t yd_cgi_org_uid_list(ngx_http_youdu_ctx_t *ctx, const char *key,
    ngx_uint_t max, ngx_array_t **out);

/* params from an array of ngx_str_t, for IN (...) lists */
ngx_youdu_db_param_t *yd_cgi_org_str_params(ngx_pool_t *pool,
    ngx_array_t *a);

/* head + "?, ?, ..." + tail; params pre[0..npre) then ids[0..n) */
ngx_int_t yd_cgi_org_in(ngx_http_youdu_ctx_t *ctx, const char *head,
    const char *tail, ngx_youdu_db_param_t *pre, ngx_uint_t npre,
    ngx_youdu_db_param_t *ids, ngx_uint_t n, ngx_uint_t allow_error);
ngx_youdu_db_param_t *yd_cgi_org_col_params(ngx_pool_t *pool,
    ngx_youdu_db_result_t *res, ngx_uint_t col);
/* rows (id, account, ...) cover every name, else 300225 is replied */
ngx_int_t yd_cgi_org_all_found(ngx_http_youdu_ctx_t *ctx,
    ngx_array_t *names, ngx_youdu_db_result_t *res);
ngx_int_t yd_cgi_org_recheck_rows(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_org_w_t *w, ngx_youdu_db_result_t *res);

json_t *yd_cgi_dept_json(ngx_youdu_db_result_t *res, ngx_uint_t row);

/* three consecutive stages (step 0, 1, 2, 3: done -> NGX_OK) */
ngx_int_t yd_cgi_users_load(ngx_http_youdu_ctx_t *ctx, yd_cgi_users_t *us,
    ngx_uint_t step);
/* {"userList": [...]} of a loaded set */
ngx_int_t yd_cgi_users_reply(ngx_http_youdu_ctx_t *ctx, yd_cgi_users_t *us);

/* kick: the push connections of these users re-check their sessions */
void yd_cgi_org_recheck(yd_cgi_org_w_t *w);


extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_org_routes[];

ngx_int_t ngx_http_youdu_cgi_dept_create(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_update(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_delete(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_sort(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_get(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_list(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_children(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_all_children(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_getid(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_dept_expand(ngx_http_youdu_ctx_t *ctx);

ngx_int_t ngx_http_youdu_cgi_user_create(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_update(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_position(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_delete(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_batchdelete(ngx_http_youdu_ctx_t *ctx);

ngx_int_t ngx_http_youdu_cgi_user_get(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_list(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_listall(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_batchget(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_search(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_enable_state(ngx_http_youdu_ctx_t *ctx);

ngx_int_t ngx_http_youdu_cgi_user_setauth(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_extend(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_enable_update(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_quit(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_restore(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_user_quit_search(ngx_http_youdu_ctx_t *ctx);


#endif /* _NGX_HTTP_YOUDU_CGI_ORG_H_INCLUDED_ */
