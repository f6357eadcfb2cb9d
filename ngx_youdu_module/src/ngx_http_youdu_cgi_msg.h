
/*
 * youdu: app messages and notices of the open platform (/cgi/msg/send,
 * set.ent.notice, popwindow, event/publish; PROTOCOL.md 4.1, 4.2).
 *
 * Receivers (toUser, toDept, toGid, toEmail, toAll) are resolved by one
 * small state machine (ngx_http_youdu_cgi_recv.c) to the enabled users in
 * the app's visibility scope; the cards of msg/send are delivered in
 * batches, one transaction each (ngx_http_youdu_cgi_deliver.c).
 */

#ifndef _NGX_HTTP_YOUDU_CGI_MSG_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CGI_MSG_H_INCLUDED_


#include "ngx_http_youdu_cgi.h"
#include "ngx_http_youdu_conv.h"
#include "ngx_http_youdu_apps.h"


#define YD_CGI_TOUSER_MAX     1000
#define YD_CGI_TODEPT_MAX     100
#define YD_CGI_TOGID_MAX      1000
#define YD_CGI_PRES_CHUNK     1000     /* user ids per presence script */
#define YD_CGI_BATCH          256      /* conversations per transaction */


/* the visibility scope of app ? (bound once), for users u */
#define YD_CGI_SCOPE_SQL      YD_APP_VISIBLE_COND("u.id", "?")


/* a statement built piece by piece, with its parameters */
typedef struct {
    u_char                   *sql;
    u_char                   *p;
    u_char                   *end;
    ngx_youdu_db_param_t     *prm;
    ngx_uint_t                n;
    ngx_uint_t                max;
    ngx_uint_t                failed;
    ngx_uint_t                allow_error;  /* the caller reads err_no */
} yd_sqlb_t;


typedef struct {
    /* what the app asked for */
    ngx_array_t               accounts;    /* ngx_str_t */
    ngx_array_t               emails;      /* ngx_str_t (mail: toEmail) */
    ngx_array_t               gids;        /* int64_t */
    ngx_array_t               depts;       /* int64_t */
    ngx_uint_t                all;         /* toDept "0" or toAll */
    ngx_uint_t                only_online;

    /* resolution */
    ngx_uint_t                step;
    ngx_array_t               paths;       /* ngx_str_t "<path>%" */
    ngx_str_t                 invalid;     /* "a|b|dept 7" as errmsg lists */
    ngx_uint_t                ninvalid;
    int64_t                  *uids;        /* by their decimal text */
    ngx_uint_t                nuids;
    ngx_uint_t                pos;         /* presence: next chunk */
    int64_t                  *online;
    ngx_uint_t                nonline;
} yd_cgi_recv_t;


/* ngx_http_youdu_cgi_recv.c */
ngx_int_t yd_sqlb_init(ngx_pool_t *pool, yd_sqlb_t *b, size_t len,
    ngx_uint_t nparams);
void yd_sqlb_text(yd_sqlb_t *b, const char *text);
void yd_sqlb_str(yd_sqlb_t *b, ngx_str_t *s);
void yd_sqlb_int(ngx_pool_t *pool, yd_sqlb_t *b, int64_t v);
ngx_int_t yd_sqlb_run(ngx_http_youdu_ctx_t *ctx, yd_sqlb_t *b);

/* NGX_OK, or replied (NGX_DONE).  allow_all: toAll counts (sysMsg) */
ngx_int_t yd_cgi_recv_parse(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv,
    ngx_uint_t allow_all, ngx_uint_t mail);
/* call again after each NGX_AGAIN; NGX_OK: rv->uids are the receivers */
ngx_int_t yd_cgi_recv_resolve(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv);
/* the reply when some receivers were invalid (200007) or ok */
ngx_int_t yd_cgi_recv_reply(ngx_http_youdu_ctx_t *ctx, yd_cgi_recv_t *rv);
/* PUBLISH yd:push {"t":type,"to":[uids],"ev":ev} (ev stolen) */
ngx_int_t yd_cgi_push(ngx_http_youdu_ctx_t *ctx, const char *type,
    int64_t *uids, ngx_uint_t n, json_t *ev);
/* a string field of obj (case-insensitive key): NGX_OK, NGX_DECLINED
 * absent, or replied (NGX_DONE) */
ngx_int_t yd_cgi_get_str(ngx_http_youdu_ctx_t *ctx, json_t *obj,
    const char *where, const char *key, ngx_uint_t required,
    size_t max_chars, ngx_str_t *out);
ngx_int_t yd_cgi_get_int(ngx_http_youdu_ctx_t *ctx, json_t *obj,
    const char *where, const char *key, int64_t min, int64_t max,
    int64_t *out);

/* ngx_http_youdu_cgi_deliver.c: the cards of one send */
typedef struct {
    ngx_str_t                 body;        /* the card, JSON text */
    int64_t                  *file_ids;    /* message_files rows */
    ngx_uint_t                nfiles;
    int64_t                  *uids;
    ngx_uint_t                nuids;

    ngx_uint_t                phase;
    ngx_uint_t                pos;         /* first user of this batch */
    ngx_uint_t                count;       /* users in this batch */
    ngx_str_t                 now;         /* DATETIME(3) text */
    ngx_str_t                 now_iso;
    ngx_pool_t               *bpool;       /* this batch's statements */
    ngx_youdu_db_result_t    *convs;       /* id, last_seq, user id */
    ngx_uint_t                retries;     /* of this batch, on deadlock */
} yd_cgi_deliver_t;

ngx_int_t yd_cgi_deliver(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d);


#endif /* _NGX_HTTP_YOUDU_CGI_MSG_H_INCLUDED_ */
