
/*
 * youdu: groups and sessions of the open platform (PROTOCOL.md 4.7, 4.8)
 * on top of our conversations: a group is a conversation of kind 3, a
 * session one of kind 2 (or 1 for a 1:1 send).  Changes go through
 * yd_conv_drive() like the REST ones (one transaction, one system event,
 * the push notice); yd_conv_t.done gives the /cgi reply.
 */

#ifndef _NGX_HTTP_YOUDU_CGI_GROUP_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CGI_GROUP_H_INCLUDED_


#include "ngx_http_youdu_cgi.h"
#include "ngx_http_youdu_conv.h"


#define YD_CGI_GROUP_NAME_MAX    32
#define YD_CGI_SESSION_TITLE_MAX 64
#define YD_CGI_ACCOUNT_MAX       64
#define YD_CGI_LIST_MAX          YD_GROUP_MAX


/* a /cgi request's own state, in yd_conv_t.in */
typedef struct {
    const char               *action;     /* audit_log action */
    yd_conv_step_pt           inner;      /* pre step before the audit row */
    ngx_uint_t                audited;
    ngx_uint_t                done_step;

    ngx_str_t                 list;       /* accounts as a JSON array text */
    ngx_uint_t                nlist;

    /* session/update: the changes still to make */
    ngx_uint_t                rename;
    int64_t                  *add;
    ngx_uint_t                nadd;
    int64_t                  *del;
    ngx_uint_t                ndel;

    /* session/send */
    yd_msg_in_t               msg;
    ngx_str_t                 media_id;
    ngx_str_t                 file_name;
    const char               *media_type;
    ngx_str_t                 sender;
    ngx_str_t                 receiver;
    ngx_str_t                 key;
    int64_t                   peer;
} yd_cgi_grp_t;


yd_cgi_grp_t *yd_cgi_grp(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_cgi_conv_id(ngx_http_youdu_ctx_t *ctx, const char **keys,
    ngx_int_t miss, ngx_int_t bad, int64_t *id);
ngx_int_t yd_cgi_conv_check(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    int64_t kind, const char *what);
ngx_int_t yd_cgi_accounts(ngx_http_youdu_ctx_t *ctx, const char *key,
    json_t *into, ngx_uint_t *n);
ngx_int_t yd_cgi_json_text(ngx_http_youdu_ctx_t *ctx, json_t *v,
    ngx_str_t *out);
ngx_int_t yd_cgi_name(ngx_http_youdu_ctx_t *ctx, const char *key,
    size_t max, ngx_uint_t required, ngx_str_t *out);
ngx_int_t yd_cgi_audit_pre(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);
ngx_int_t yd_cgi_remove_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);
ngx_int_t yd_cgi_rename_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);
ngx_int_t yd_cgi_change(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    const char *action, yd_conv_step_pt inner, yd_conv_step_pt write,
    yd_conv_step_pt done);
ngx_int_t yd_cgi_done_global(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);


/* handlers (the routes are all in ngx_http_youdu_cgi_group_routes[]) */
ngx_int_t ngx_http_youdu_cgi_session_create(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_session_get(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_session_update(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_session_send(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_cgi_identify(ngx_http_youdu_ctx_t *ctx);


#endif /* _NGX_HTTP_YOUDU_CGI_GROUP_H_INCLUDED_ */
