
/*
 * youdu: the Youdu-compatible open platform API (/cgi/..., PROTOCOL.md).
 *
 * A /cgi route is an ordinary youdu route (same stage machine, same
 * yd_sql()/yd_redis() helpers) plus how its request is wrapped and what the
 * app must be allowed to do.  The framework (ngx_http_youdu_cgi.c) finds the
 * route case-insensitively, reads the body, resolves the app (by access
 * token, or by the envelope's appId), decrypts the payload and checks the
 * rights, so a handler starts with ctx->cgi filled in.  Every reply is HTTP
 * 200 with {"errcode":int,"errmsg":str[,"encrypt":str]}.
 */

#ifndef _NGX_HTTP_YOUDU_CGI_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CGI_H_INCLUDED_


#include "ngx_http_youdu_module.h"
#include "ngx_http_youdu_cgi_errors.h"
#include "ngx_youdu_cgi_crypto.h"


#define YD_CGI_TOKEN_TTL          7200

/* how the request is wrapped */
#define YD_CGI_ENV_NORMAL         0   /* {"buin","appId","encrypt"}; the body
                                         may be absent (GET-style routes) */
#define YD_CGI_ENV_NOTICE         1   /* {"app_id","msg_encrypt"}, no token */
#define YD_CGI_ENV_NONE           2   /* the handler reads the body itself
                                         (multipart, raw XML) or there is none */

/* route flags (in route.flags, next to the YD_ROUTE_* ones) */
#define YD_CGI_NO_TOKEN           0x100  /* gettoken: the app comes from the
                                            envelope's appId */
#define YD_CGI_NO_APP             0x200  /* identify: no app, no crypto */
#define YD_CGI_TEXT_PAYLOAD       0x400  /* payload is not JSON (gettoken) */
#define YD_CGI_NEED_PAYLOAD       0x800  /* an envelope body is required */

/* app rights (apps.rights) */
#define YD_APP_RIGHT_MSG          1      /* app messages, media */
#define YD_APP_RIGHT_ORG          2      /* org chart read and write */
#define YD_APP_RIGHT_GROUP        4      /* groups and sessions */
#define YD_APP_RIGHT_SYSMSG       8
#define YD_APP_RIGHT_MAIL         16
#define YD_APP_RIGHT_SMS          32
#define YD_APP_RIGHT_AUDIT        64


typedef struct {
    ngx_http_youdu_route_t    route;     /* method GET|POST, lowercase path
                                            after /cgi, e.g. "/msg/send" */
    ngx_uint_t                envelope;  /* YD_CGI_ENV_* */
    ngx_uint_t                rights;    /* YD_APP_RIGHT_* needed; 0: any app */
} ngx_http_youdu_cgi_route_t;


typedef struct ngx_http_youdu_cgi_s {
    const ngx_http_youdu_cgi_route_t  *route;

    /* the calling app */
    int64_t                   app_pk;        /* apps.id */
    ngx_str_t                 app_id;        /* apps.app_id */
    ngx_str_t                 app_name;
    ngx_uint_t                rights;
    u_char                    key[YD_CGI_KEY_LEN];

    /* the request */
    int64_t                   buin;          /* from the envelope, or 0 */
    ngx_str_t                 env_app_id;    /* envelope appId / app_id */
    ngx_str_t                 encrypt;       /* envelope ciphertext */
    ngx_str_t                 token;         /* accessToken query value */
    ngx_str_t                 payload;       /* decrypted bytes */
    json_t                   *data;          /* payload as a JSON object, or
                                                NULL; freed by the framework */
} ngx_http_youdu_cgi_t;


extern const ngx_http_youdu_cgi_route_t  *ngx_http_youdu_cgi_tables[];

/* route tables, one per resource file (listed in ngx_http_youdu_cgi.c) */
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_token_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_sync_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_sqlite_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_media_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_avatar_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_msg_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_notice_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_group_routes[];
extern const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_org_routes[];


/* replies (HTTP 200 always) */

/* data (reference stolen; NULL: no "encrypt") is encrypted for the app */
ngx_int_t yd_cgi_ok(ngx_http_youdu_ctx_t *ctx, json_t *data);
ngx_int_t yd_cgi_fail(ngx_http_youdu_ctx_t *ctx, ngx_int_t errcode,
    const char *fmt, ...);
/* yd_error() of the REST helpers, translated when ctx->cgi is set */


/* parameters: the decrypted payload first (keys compared case-
 * insensitively), then the query string.  "", 0-length arrays and JSON null
 * count as absent.
 * NGX_OK: found; NGX_DECLINED: absent; NGX_ERROR: present, wrong type */
ngx_int_t yd_cgi_str(ngx_http_youdu_ctx_t *ctx, const char *key,
    ngx_str_t *out);
ngx_int_t yd_cgi_int(ngx_http_youdu_ctx_t *ctx, const char *key,
    int64_t *out);
/* payload only; borrowed reference or NULL (absent or null) */
json_t *yd_cgi_field(ngx_http_youdu_ctx_t *ctx, const char *key);
/* a key of any JSON object, case-insensitively; borrowed or NULL */
json_t *yd_cgi_obj_get(json_t *obj, const char *key);
/* the first of several spellings ("groupId", "id") */
ngx_int_t yd_cgi_str_any(ngx_http_youdu_ctx_t *ctx, const char **keys,
    ngx_str_t *out);


#endif /* _NGX_HTTP_YOUDU_CGI_H_INCLUDED_ */
