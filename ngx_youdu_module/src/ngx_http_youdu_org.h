
/*
 * youdu HTTP module: shared parts of the org chart API (employee reads,
 * admin writes, snapshot): field validation, JSON rendering with
 * confidentiality masking, and the stages of the org write protocol.
 */

#ifndef _NGX_HTTP_YOUDU_ORG_H_INCLUDED_
#define _NGX_HTTP_YOUDU_ORG_H_INCLUDED_


#include "ngx_http_youdu_module.h"


#define YD_ORG_KIND_DEPT       1
#define YD_ORG_KIND_USER       2
#define YD_ORG_OP_UPSERT       1
#define YD_ORG_OP_DELETE       2

#define YD_CONF_MOBILE         1
#define YD_CONF_PHONE          2
#define YD_CONF_EMAIL          4
#define YD_CONF_TITLE          8

#define YD_ORG_MAX_MEMBERSHIPS 20


/* department columns, in this order, for yd_org_dept_json() */
#define YD_DEPT_COLS                                                         \
    "d.id, d.parent_id, d.name, d.sort_id, IFNULL(d.alias, ''), d.version"
#define YD_DEPT_NCOLS          6

/* user columns, in this order, for yd_org_user_json() */
#define YD_USER_COLS                                                         \
    "u.id, u.account, u.name, u.gender, IFNULL(u.mobile, ''), u.phone, "     \
    "u.email, u.title, u.enable_state, u.role, u.confidential, u.version, "   \
    "u.name_pinyin, u.name_initials, u.avatar_file_id IS NOT NULL"
#define YD_USER_NCOLS          15


typedef struct {
    int64_t                   dept_id;
    ngx_str_t                 position;
    int64_t                   weight;
    int64_t                   sort_id;
} yd_org_membership_t;


/* a department from a request body; has_* tell which fields were sent */
typedef struct {
    int64_t                   id;
    int64_t                   parent_id;
    int64_t                   sort_id;
    ngx_str_t                 name;
    ngx_str_t                 alias;
    unsigned                  has_id:1;
    unsigned                  has_parent:1;
    unsigned                  has_sort:1;
    unsigned                  has_name:1;
    unsigned                  has_alias:1;
} yd_org_dept_t;


typedef struct {
    ngx_str_t                 account;
    ngx_str_t                 name;
    ngx_str_t                 pinyin;
    ngx_str_t                 initials;
    int64_t                   gender;
    ngx_str_t                 mobile;
    ngx_str_t                 phone;
    ngx_str_t                 email;
    ngx_str_t                 title;
    int64_t                   enable_state;
    int64_t                   role;
    int64_t                   confidential;
    ngx_str_t                 password;
    yd_org_membership_t      *depts;
    ngx_uint_t                ndepts;
    unsigned                  has_account:1;
    unsigned                  has_name:1;
    unsigned                  has_gender:1;
    unsigned                  has_mobile:1;
    unsigned                  has_phone:1;
    unsigned                  has_email:1;
    unsigned                  has_title:1;
    unsigned                  has_enable:1;
    unsigned                  has_role:1;
    unsigned                  has_conf:1;
    unsigned                  has_password:1;
    unsigned                  has_depts:1;
} yd_org_user_t;


/* validation: reply themselves and return NGX_DONE on bad input */
ngx_int_t yd_org_dept_parse(ngx_http_youdu_ctx_t *ctx, yd_org_dept_t *d,
    ngx_uint_t create);
ngx_int_t yd_org_user_parse(ngx_http_youdu_ctx_t *ctx, yd_org_user_t *u,
    ngx_uint_t create);

/* account names: A-Z a-z 0-9 . _ @ -; mobiles: digits, "+", "-" */
ngx_int_t yd_org_account_ok(ngx_str_t *s);
ngx_int_t yd_org_mobile_ok(ngx_str_t *s);

/* LIKE pattern text with %, _ and \ escaped */
ngx_str_t *yd_org_like_escape(ngx_pool_t *pool, ngx_str_t *s);

/* head + n times one (separated by sep) + tail, from the pool */
char *yd_org_placeholders(ngx_pool_t *pool, const char *head,
    const char *one, const char *sep, ngx_uint_t n, const char *tail);

/* rendering: masked unless the viewer is an admin or the user himself */
ngx_uint_t yd_org_viewer_admin(ngx_http_youdu_ctx_t *ctx);
json_t *yd_org_dept_json(ngx_youdu_db_result_t *res, ngx_uint_t row,
    ngx_uint_t col);
json_t *yd_org_user_json(ngx_http_youdu_ctx_t *ctx,
    ngx_youdu_db_result_t *res, ngx_uint_t row, ngx_uint_t col);
json_t *yd_org_conf_json(int64_t bits);
/* obj owned by the request pool: reply with yd_ok(ctx, json_incref(obj)) */
json_t *yd_org_keep(ngx_http_youdu_ctx_t *ctx, json_t *obj);

/* the org write protocol, one statement per call (see COMMON brief) */
ngx_int_t yd_org_bump(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_org_read_version(ngx_http_youdu_ctx_t *ctx, int64_t *v);
ngx_int_t yd_org_change(ngx_http_youdu_ctx_t *ctx, int64_t version,
    ngx_uint_t kind, int64_t id, ngx_uint_t op);
ngx_int_t yd_org_audit(ngx_http_youdu_ctx_t *ctx, const char *action,
    int64_t target, json_t *detail);
/* NGX_AGAIN: resumes at the next stage; NGX_DECLINED: carry on now */
ngx_int_t yd_org_publish(ngx_http_youdu_ctx_t *ctx, int64_t version);

/* INSERT of n >= 1 memberships of user uid: one statement */
ngx_int_t yd_org_memberships_insert(ngx_http_youdu_ctx_t *ctx, int64_t uid,
    yd_org_membership_t *m, ngx_uint_t n);

/* one user with memberships: three consecutive stages of the caller */
ngx_int_t yd_org_user_load(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step,
    int64_t uid, ngx_uint_t status);


/* handlers living outside the files holding the route tables */
ngx_int_t ngx_http_youdu_org_snapshot(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_org_changes(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_admin_user_create(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_admin_user_update(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_admin_user_delete(ngx_http_youdu_ctx_t *ctx);


#endif /* _NGX_HTTP_YOUDU_ORG_H_INCLUDED_ */
