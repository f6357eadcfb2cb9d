
/*
 * youdu HTTP module: bulk import of the org chart, shared between the
 * parser/validator (import_parse.c, import_check.c) and the handler
 * (api_import.c).
 */

#ifndef _NGX_HTTP_YOUDU_IMPORT_H_INCLUDED_
#define _NGX_HTTP_YOUDU_IMPORT_H_INCLUDED_


#include "ngx_http_youdu_module.h"


#define YD_IMP_MAX_ERRORS   1000
#define YD_IMP_MAX_UDS      20
#define YD_IMP_CHUNK        2000


/* open addressing hash: byte keys -> index */
typedef struct {
    u_char                 *key;
    size_t                  len;
    ngx_uint_t              val;
} yd_imp_hent_t;

typedef struct {
    yd_imp_hent_t          *e;
    ngx_uint_t              mask;
} yd_imp_hash_t;


/* growable byte buffer in the request pool */
typedef struct {
    u_char                 *p;
    size_t                  len;
    size_t                  cap;
    ngx_pool_t             *pool;
} yd_imp_buf_t;


typedef struct {
    int64_t                 dept_id;
    ngx_str_t               position;
    int64_t                 weight;
    int64_t                 sort_id;
    ngx_str_t               dpath;      /* CSV "Sales/East"; empty: by id */
} yd_imp_ud_t;


/* a department of the merged tree (database + file) */
typedef struct {
    int64_t                 id;
    int64_t                 parent_id;  /* -1: the root */
    ngx_str_t               name;
    int64_t                 sort_id;
    ngx_str_t               alias;
    ngx_str_t               path;
    ngx_uint_t              depth;
    ngx_uint_t              row;        /* file row, 0: not in the file */

    /* database values, when db */
    int64_t                 db_parent_id;
    ngx_str_t               db_name;
    int64_t                 db_sort_id;
    ngx_str_t               db_alias;
    ngx_str_t               db_path;

    unsigned                db:1;
    unsigned                in_file:1;
    unsigned                deleted:1;
    unsigned                changed:1;
    unsigned                keep:1;
    unsigned                visit:2;
} yd_imp_dept_t;


typedef struct {
    ngx_str_t               account;
    ngx_str_t               account_lc;
    ngx_str_t               name;
    int64_t                 gender;
    ngx_str_t               mobile;
    ngx_str_t               phone;
    ngx_str_t               email;
    ngx_str_t               title;
    int64_t                 enable_state;
    yd_imp_ud_t            *uds;
    ngx_uint_t              nuds;
    ngx_uint_t              row;
    ngx_int_t               db;         /* index in dbu or -1 */
    int64_t                 uid;
    unsigned                changed:1;
} yd_imp_user_t;


typedef struct {
    int64_t                 id;
    ngx_str_t               account_lc;
    ngx_str_t               name;
    int64_t                 gender;
    ngx_str_t               mobile;
    ngx_str_t               phone;
    ngx_str_t               email;
    ngx_str_t               title;
    int64_t                 enable_state;
    int64_t                 role;
    yd_imp_ud_t            *uds;
    ngx_uint_t              nuds;
    ngx_int_t               file;       /* index in users or -1 */
    unsigned                deleted:1;
    unsigned                quit:1;     /* resigned (/cgi/user/quit) */
} yd_imp_dbuser_t;


typedef struct {
    const char             *sql;
    ngx_youdu_db_param_t   *params;
    ngx_uint_t              nparams;
} yd_imp_op_t;


typedef struct {
    ngx_http_youdu_ctx_t   *ctx;
    ngx_pool_t             *pool;
    json_t                 *json;
    ngx_uint_t              csv;
    ngx_uint_t              replace;
    ngx_uint_t              dry_run;
    int64_t                 version;
    ngx_msec_t              start;
    ngx_msec_t              parse_ms;
    ngx_msec_t              check_ms;
    ngx_msec_t              plan_ms;

    /* file departments (in the merged tree after ngx_imp_check) */
    ngx_array_t             fdepts;     /* yd_imp_dept_t */
    ngx_array_t             users;      /* yd_imp_user_t */

    /* merged tree */
    yd_imp_dept_t          *depts;
    ngx_uint_t              ndepts;
    ngx_uint_t              depts_cap;
    yd_imp_hash_t           dept_by_id;
    yd_imp_hash_t           dept_by_child;   /* parent id + name */

    yd_imp_dbuser_t        *dbu;
    ngx_uint_t              ndbu;
    yd_imp_hash_t           dbu_by_id;
    yd_imp_hash_t           dbu_by_account;
    yd_imp_hash_t           dbu_by_mobile;

    /* a reply decided in the thread: sent from the event loop */
    ngx_uint_t              fail_status;
    ngx_int_t               fail_code;
    u_char                  fail_msg[320];
    ngx_int_t               thread_rc;

    /* stored rows, read before the check */
    ngx_youdu_db_result_t  *res_depts;
    ngx_youdu_db_result_t  *res_users;
    ngx_youdu_db_result_t  *res_uds;

    /* validation errors */
    json_t                 *errors;
    ngx_uint_t              nerrors;

    /* audit_log: the action and the detail's "app"; actor_id is NULL
     * when ctx->me.uid is 0 (an app) */
    const char             *action;
    ngx_str_t               app_id;

    /* counts */
    ngx_uint_t              d_created, d_updated, d_deleted;
    ngx_uint_t              u_created, u_updated, u_deleted;

    /* write plan */
    ngx_array_t             ops1;       /* before reading new user ids */
    ngx_array_t             ops2;       /* after */
    ngx_uint_t              op;
} yd_imp_t;


typedef void (*yd_imp_task_pt)(void *data, ngx_log_t *log);

/* ngx_http_youdu_api_import.c */
yd_imp_t *yd_imp_new(ngx_http_youdu_ctx_t *ctx);
/* runs the task in the thread pool, then resumes ctx at stage + 1 */
ngx_int_t yd_imp_thread(yd_imp_t *imp, yd_imp_task_pt handler);
/* the route handler: parse (stage 0), check and write (stages 1...) */
ngx_int_t ngx_http_youdu_import(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_import_util.c */
ngx_int_t yd_imp_hash_init(ngx_pool_t *pool, yd_imp_hash_t *h, ngx_uint_t n);
ngx_int_t yd_imp_hash_find(yd_imp_hash_t *h, u_char *key, size_t len);
/* NGX_OK inserted, NGX_DECLINED already present */
ngx_int_t yd_imp_hash_add(yd_imp_hash_t *h, u_char *key, size_t len,
    ngx_uint_t val);
ngx_int_t yd_imp_buf_reserve(yd_imp_buf_t *b, size_t len);
ngx_int_t yd_imp_buf_add(yd_imp_buf_t *b, const u_char *p, size_t len);
ngx_int_t yd_imp_buf_json_str(yd_imp_buf_t *b, ngx_str_t *s);
ngx_int_t yd_imp_buf_int(yd_imp_buf_t *b, int64_t v);
ngx_int_t yd_imp_fail(yd_imp_t *imp, ngx_uint_t status, ngx_int_t code,
    const char *fmt, ...);
void yd_imp_error(yd_imp_t *imp, ngx_uint_t row, const char *section,
    const char *field, const char *fmt, ...);

/* ngx_http_youdu_import_parse.c: fills fdepts/users, field rules */
ngx_int_t yd_imp_parse(yd_imp_t *imp);

/* ngx_http_youdu_import_check.c */
ngx_int_t yd_imp_load_depts(yd_imp_t *imp, ngx_youdu_db_result_t *res);
ngx_int_t yd_imp_load_users(yd_imp_t *imp, ngx_youdu_db_result_t *res);
ngx_int_t yd_imp_load_uds(yd_imp_t *imp, ngx_youdu_db_result_t *res);
ngx_int_t yd_imp_check(yd_imp_t *imp);
ngx_int_t yd_imp_plan(yd_imp_t *imp);
ngx_int_t yd_imp_plan_uds(yd_imp_t *imp, ngx_youdu_db_result_t *res);


#endif /* _NGX_HTTP_YOUDU_IMPORT_H_INCLUDED_ */
