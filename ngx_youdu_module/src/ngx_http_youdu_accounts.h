
/*
 * youdu HTTP module: what the administrators' account handlers share
 * (ngx_http_youdu_api_accounts.c, ngx_http_youdu_session_wipe.c): the
 * state of one request on the user in the path, the check that only a
 * super admin acts on another administrator, and the audit row.
 */

#ifndef _NGX_HTTP_YOUDU_ACCOUNTS_H_INCLUDED_
#define _NGX_HTTP_YOUDU_ACCOUNTS_H_INCLUDED_


#include "ngx_http_youdu_module.h"


typedef struct {
    int64_t                   uid;         /* the target user */
    int64_t                   sid;
    ngx_str_t                 account;
    ngx_str_t                 password;
    ngx_str_t                 hash;
    ngx_int_t                 rc;
    ngx_uint_t                must_change;
    ngx_uint_t                was_locked;
    int64_t                   count;
} ngx_http_youdu_acct_t;


/* the state in ctx->data */
ngx_http_youdu_acct_t *ngx_http_youdu_acct_new(ngx_http_youdu_ctx_t *ctx);
/* stage 0 of a write on the user in the path: state, id, transaction */
ngx_int_t ngx_http_youdu_acct_begin(ngx_http_youdu_ctx_t *ctx);
/* remote wipe (ngx_http_youdu_session_wipe.c) */
/* a session the device may still use or come back with, not wiped yet */
#define YD_WIPE_PENDING                                                       \
    "refresh_expires > UTC_TIMESTAMP() "                                      \
    "AND IFNULL(revoke_reason, '') <> 'wipe'"

#define YD_WIPE_SET                                                           \
    "UPDATE sessions SET revoked_at = IFNULL(revoked_at, UTC_TIMESTAMP()), "  \
    "revoke_reason = 'wipe' "

/* stage 0 of .../users/:id/sessions/:sid routes: a->uid, a->sid, BEGIN */
ngx_int_t ngx_http_youdu_acct_begin_session(ngx_http_youdu_ctx_t *ctx);
/* an admin ends one session of the user: signs it out, or wipes it */
ngx_int_t ngx_http_youdu_acct_end_session(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t wipe);
/* reads the target's role, account and lock */
ngx_int_t ngx_http_youdu_acct_select(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t for_update);
/* NGX_OK, or replied (NGX_DONE): unknown user, or guard and an
 * administrator whom only a super admin may change */
ngx_int_t ngx_http_youdu_acct_target(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t guard);
/* INSERT INTO audit_log (target user:<uid>); detail is consumed and gets
 * the target's "account" */
ngx_int_t ngx_http_youdu_acct_audit(ngx_http_youdu_ctx_t *ctx,
    const char *action, json_t *detail);


#endif /* _NGX_HTTP_YOUDU_ACCOUNTS_H_INCLUDED_ */
