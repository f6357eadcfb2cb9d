
/*
 * youdu HTTP module: the "youdu_api" location handler.  Finds the route,
 * reads and checks the body, authenticates the caller, then runs the
 * route's handler (see ngx_http_youdu_module.h).
 */


#include "ngx_http_youdu_module.h"
#include "ngx_youdu_utf8.h"


static ngx_int_t ngx_http_youdu_handler(ngx_http_request_t *r);
static void ngx_http_youdu_body_ready(ngx_http_request_t *r);
static ngx_int_t ngx_http_youdu_parse_body(ngx_http_youdu_ctx_t *ctx);
static const ngx_http_youdu_route_t *ngx_http_youdu_find_route(
    ngx_http_youdu_ctx_t *ctx, ngx_uint_t *method_mismatch);
static ngx_int_t ngx_http_youdu_match(const char *pattern, ngx_str_t *path,
    ngx_str_t *args, ngx_uint_t *nargs);
static ngx_int_t ngx_http_youdu_early_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_int_t errcode, const char *msg);
static void ngx_http_youdu_cleanup(void *data);
static ngx_int_t ngx_http_youdu_clean_header(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out);
static ngx_int_t ngx_http_youdu_start(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_youdu_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_youdu_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_youdu_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_youdu_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

void ngx_http_youdu_auth_begin(ngx_http_youdu_ctx_t *ctx);
static char *ngx_http_youdu_cgi(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

void ngx_http_youdu_auth_resume(ngx_http_youdu_ctx_t *ctx);


static ngx_command_t  ngx_http_youdu_commands[] = {

    { ngx_string("youdu_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_youdu_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("youdu_cgi"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_youdu_cgi,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("youdu_upload_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_loc_conf_t, upload_max),
      NULL },

    { ngx_string("youdu_image_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_loc_conf_t, image_max),
      NULL },

    { ngx_string("youdu_image_max_pixels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_loc_conf_t, image_max_pixels),
      NULL },

    /* GET /cgi/face/conf.get: the face recognition vendor's credentials */
    { ngx_string("youdu_face_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_loc_conf_t, face_key),
      NULL },

    { ngx_string("youdu_face_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_youdu_loc_conf_t, face_secret),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_youdu_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_youdu_postconfiguration,      /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_youdu_create_loc_conf,        /* create location configuration */
    ngx_http_youdu_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_youdu_module = {
    NGX_MODULE_V1,
    &ngx_http_youdu_module_ctx,            /* module context */
    ngx_http_youdu_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


static const ngx_http_youdu_route_t  *ngx_http_youdu_tables[] = {
    ngx_http_youdu_misc_routes,
    ngx_http_youdu_auth_routes,
    ngx_http_youdu_self_routes,
    ngx_http_youdu_org_routes,
    ngx_http_youdu_admin_routes,
    ngx_http_youdu_import_routes,
    ngx_http_youdu_account_admin_routes,
    ngx_http_youdu_conv_routes,
    ngx_http_youdu_msg_routes,
    ngx_http_youdu_presence_routes,
    ngx_http_youdu_file_routes,
    ngx_http_youdu_avatar_routes,
    ngx_http_youdu_app_routes,
    ngx_http_youdu_callback_routes,
    ngx_http_youdu_app_conv_routes,
    ngx_http_youdu_sso_routes,
    ngx_http_youdu_wipe_routes,
    ngx_http_youdu_prefs_routes,
    NULL
};


static ngx_int_t
ngx_http_youdu_handler(ngx_http_request_t *r)
{
    off_t                          limit;
    ngx_uint_t                     mismatch;
    ngx_int_t                      rc;
    ngx_pool_cleanup_t            *cln;
    ngx_http_youdu_ctx_t          *ctx;
    ngx_http_youdu_loc_conf_t     *ylcf;
    const ngx_http_youdu_route_t  *route;

    ylcf = ngx_http_get_module_loc_conf(r, ngx_http_youdu_module);

    if (r->uri.len < ylcf->prefix.len
        || ngx_strncmp(r->uri.data, ylcf->prefix.data, ylcf->prefix.len) != 0)
    {
        return ngx_http_youdu_early_error(r, NGX_HTTP_NOT_FOUND,
                                          YD_ERR_NO_ROUTE, "no such endpoint");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_youdu_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_youdu_cleanup;
    cln->data = ctx;

    ctx->r = r;
    ctx->pool = r->pool;
    ctx->path.data = r->uri.data + ylcf->prefix.len;
    ctx->path.len = r->uri.len - ylcf->prefix.len;

    ngx_http_set_ctx(r, ctx, ngx_http_youdu_module);

    if (ylcf->cgi) {
        return ngx_http_youdu_cgi_begin(ctx);
    }

    route = ngx_http_youdu_find_route(ctx, &mismatch);

    if (route == NULL) {
        if (mismatch) {
            return ngx_http_youdu_early_error(r, NGX_HTTP_NOT_ALLOWED,
                                              YD_ERR_METHOD,
                                              "method not allowed here");
        }

        return ngx_http_youdu_early_error(r, NGX_HTTP_NOT_FOUND,
                                          YD_ERR_NO_ROUTE,
                                          "no such endpoint");
    }

    ctx->route = route;

    limit = route->body_limit ? (off_t) route->body_limit : YD_BODY_LIMIT;

    if (route->flags & YD_ROUTE_FILE_BODY) {
        limit = ngx_http_youdu_upload_limit(r, ylcf);
    }

    if (r->headers_in.content_length_n > limit) {
        return ngx_http_youdu_early_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          YD_ERR_TOO_LARGE,
                                          "request body too large");
    }

    ctx->body_limit = limit;

    if (route->flags & YD_ROUTE_FILE_BODY) {
        /* uploads stay on disk: the handler moves the temp file into the
         * storage; if it does not, the pool cleanup deletes it */
        r->request_body_in_file_only = 1;
        r->request_body_in_persistent_file = 1;
        r->request_body_in_clean_file = 1;
        r->request_body_file_log_level = 0;

    } else {
        r->request_body_in_single_buf = 1;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_youdu_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_youdu_cleanup(void *data)
{
    ngx_http_youdu_ctx_t  *ctx = data;

    if (ctx->body) {
        json_decref(ctx->body);
        ctx->body = NULL;
    }

    if (ctx->fail_ev.posted) {
        ngx_delete_posted_event(&ctx->fail_ev);
    }
}


/* errors before the body was read: discard it, reply, let nginx finalize */

static ngx_int_t
ngx_http_youdu_early_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_int_t errcode, const char *msg)
{
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, 128 + ngx_strlen(msg));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->pos, "{\"errcode\":%i,\"errmsg\":\"%s\"}", errcode,
                    msg);
    b->last = p;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_youdu_body_ready(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_youdu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_youdu_module);

    rc = ngx_http_youdu_collect_body(ctx);
    if (rc != NGX_OK) {
        return;   /* replied */
    }

    if (ngx_http_youdu_parse_body(ctx) != NGX_OK) {
        return;   /* replied */
    }

    /* behind a proxy, the realip module rewrites this address */
    ctx->client_ip = r->connection->addr_text;

    if (r->headers_in.user_agent
        && ngx_http_youdu_clean_header(r->pool,
                                       &r->headers_in.user_agent->value,
                                       &ctx->user_agent)
           != NGX_OK)
    {
        yd_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                 "out of memory");
        return;
    }

    if (ctx->route->auth == YD_AUTH_NONE) {
        (void) ngx_http_youdu_start(ctx);
        return;
    }

    if ((ctx->route->flags & YD_ROUTE_SIGNED) && r->args.len) {
        rc = ngx_http_youdu_file_url_auth(ctx);

        if (rc == NGX_OK) {
            (void) ngx_http_youdu_start(ctx);
            return;
        }

        if (rc == NGX_DONE) {
            return;   /* replied */
        }

        /* no signature: the Authorization header */
    }

    ngx_http_youdu_auth_begin(ctx);
}


/*
 * header text stored in the database (the User-Agent becomes a device name)
 * must be UTF-8 without control characters: other bytes become '?'
 */

static ngx_int_t
ngx_http_youdu_clean_header(ngx_pool_t *pool, ngx_str_t *in, ngx_str_t *out)
{
    size_t      i;
    ngx_uint_t  utf8;

    utf8 = ngx_youdu_utf8_valid(in->data, in->len);

    if (utf8 && !ngx_youdu_utf8_has_control(in->data, in->len)) {
        *out = *in;
        return NGX_OK;
    }

    out->data = ngx_pnalloc(pool, in->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = in->len;

    for (i = 0; i < in->len; i++) {
        out->data[i] = (in->data[i] < 0x20 || in->data[i] == 0x7f
                        || (!utf8 && in->data[i] >= 0x80))
                       ? '?' : in->data[i];
    }

    return NGX_OK;
}


/* starts the route handler at stage 0 */

static ngx_int_t
ngx_http_youdu_start(ngx_http_youdu_ctx_t *ctx)
{
    return ngx_http_youdu_run(ctx);
}


ngx_int_t
ngx_http_youdu_run(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->auth_stage = 0;
    ctx->stage = 0;

    rc = ctx->route->handler(ctx);

    if (rc == NGX_AGAIN || rc == NGX_DONE) {
        return rc;
    }

    return yd_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                    "internal error");
}


ngx_int_t
ngx_http_youdu_collect_body(ngx_http_youdu_ctx_t *ctx)
{
    off_t                 size, limit;
    u_char               *p;
    ssize_t               n;
    ngx_buf_t            *b;
    ngx_chain_t          *cl;
    ngx_http_request_t   *r = ctx->r;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        size += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    /* the limit the handler (or the /cgi framework) chose up front */
    limit = ctx->body_limit;

    if (limit == 0) {
        limit = ctx->route->body_limit ? (off_t) ctx->route->body_limit
                                       : YD_BODY_LIMIT;

        if (ctx->route->flags & YD_ROUTE_FILE_BODY) {
            limit = ngx_http_youdu_upload_limit(r,
                      ngx_http_get_module_loc_conf(r, ngx_http_youdu_module));
        }
    }

    if (size > limit) {
        return yd_error(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                        YD_ERR_TOO_LARGE,
                        "request body too large (limit %O bytes)", limit);
    }

    if (size == 0) {
        return NGX_OK;
    }

    if (ctx->route->flags & YD_ROUTE_FILE_BODY) {
        /* the handler reads r->request_body->temp_file */
        ctx->body_size = size;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) size + 1);
    if (p == NULL) {
        return yd_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, YD_ERR_INTERNAL,
                        "out of memory");
    }

    ctx->raw.data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* large bodies were spooled to a temp file by nginx */
            n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return yd_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                YD_ERR_INTERNAL, "cannot read request body");
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    *p = '\0';
    ctx->raw.len = p - ctx->raw.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_youdu_parse_body(ngx_http_youdu_ctx_t *ctx)
{
    ngx_str_t            *ct;
    json_error_t          err;
    ngx_http_request_t   *r = ctx->r;

    if (ctx->raw.len == 0
        || (ctx->route->flags & (YD_ROUTE_RAW_BODY|YD_ROUTE_FILE_BODY)))
    {
        return NGX_OK;
    }

    if (r->headers_in.content_type) {
        ct = &r->headers_in.content_type->value;

        /* "application/json", optionally with parameters; not
         * "application/jsonp" or "application/json-seq" */
        if (ct->len < 16
            || ngx_strncasecmp(ct->data, (u_char *) "application/json", 16)
               != 0
            || (ct->len > 16 && ct->data[16] != ';' && ct->data[16] != ' '
                && ct->data[16] != '\t'))
        {
            return yd_error(ctx, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                            YD_ERR_BAD_CONTENT_TYPE,
                            "send JSON with Content-Type: application/json");
        }
    }

    if (!ngx_youdu_utf8_valid(ctx->raw.data, ctx->raw.len)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_UTF8,
                        "request body is not valid UTF-8");
    }

    ctx->body = json_loadb((char *) ctx->raw.data, ctx->raw.len,
                           JSON_REJECT_DUPLICATES, &err);

    if (ctx->body == NULL) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_JSON,
                        "malformed JSON at line %d column %d: %s",
                        err.line, err.column, err.text);
    }

    if (!json_is_object(ctx->body)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_JSON,
                        "request body must be a JSON object");
    }

    return NGX_OK;
}


/* routing */


static const ngx_http_youdu_route_t *
ngx_http_youdu_find_route(ngx_http_youdu_ctx_t *ctx, ngx_uint_t *mismatch)
{
    ngx_uint_t                     t, method;
    const ngx_http_youdu_route_t  *rt;

    *mismatch = 0;
    method = ctx->r->method;

    if (method == NGX_HTTP_HEAD) {
        method = NGX_HTTP_GET;
    }

    for (t = 0; ngx_http_youdu_tables[t]; t++) {
        for (rt = ngx_http_youdu_tables[t]; rt->pattern; rt++) {
            if (ngx_http_youdu_match(rt->pattern, &ctx->path, ctx->args,
                                     &ctx->nargs)
                != NGX_OK)
            {
                continue;
            }

            if (!(rt->method & method)) {
                *mismatch = 1;
                continue;
            }

            return rt;
        }
    }

    return NULL;
}


/* "/org/users/:id" matches "/org/users/17"; ":" segments become args */

static ngx_int_t
ngx_http_youdu_match(const char *pattern, ngx_str_t *path, ngx_str_t *args,
    ngx_uint_t *nargs)
{
    u_char      *p, *end, *seg;
    const char  *pt;

    p = path->data;
    end = path->data + path->len;
    pt = pattern;
    *nargs = 0;

    while (*pt && p < end) {
        if (*pt == ':') {
            while (*pt && *pt != '/') {
                pt++;
            }

            seg = p;
            while (p < end && *p != '/') {
                p++;
            }

            if (p == seg || *nargs == YD_MAX_PATH_ARGS) {
                return NGX_DECLINED;
            }

            args[*nargs].data = seg;
            args[*nargs].len = p - seg;
            (*nargs)++;
            continue;
        }

        if ((u_char) *pt != *p) {
            return NGX_DECLINED;
        }

        pt++;
        p++;
    }

    /* a trailing slash is tolerated */
    if (p < end && *p == '/' && p + 1 == end && *pt == '\0') {
        p++;
    }

    return (*pt == '\0' && p == end) ? NGX_OK : NGX_DECLINED;
}


/*
 * an upload of unknown length (chunked) is stopped as soon as it passes
 * the route's limit, not when it is complete; nginx replies 413 (JSON by
 * error_page) and deletes what was spooled
 */

static ngx_int_t
ngx_http_youdu_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t           *cl;
    ngx_http_youdu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_youdu_module);

    if (ctx && ctx->route && (ctx->route->flags & YD_ROUTE_FILE_BODY)) {
        for (cl = in; cl; cl = cl->next) {
            ctx->body_seen += ngx_buf_size(cl->buf);
        }

        if (ctx->body_seen > ctx->body_limit) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          YD_LOG_TAG "upload larger than %O bytes refused",
                          ctx->body_limit);
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }

    return ngx_http_next_request_body_filter(r, in);
}


/* configuration */


static ngx_int_t
ngx_http_youdu_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_youdu_body_filter;

    return NGX_OK;
}


static void *
ngx_http_youdu_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_youdu_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_youdu_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->upload_max = NGX_CONF_UNSET;
    conf->image_max = NGX_CONF_UNSET;
    conf->image_max_pixels = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_youdu_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_youdu_loc_conf_t  *prev = parent;
    ngx_http_youdu_loc_conf_t  *conf = child;

    off_t                      max;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_str_value(conf->prefix, prev->prefix, "/api/v1");
    ngx_conf_merge_str_value(conf->face_key, prev->face_key, "");
    ngx_conf_merge_str_value(conf->face_secret, prev->face_secret, "");
    ngx_conf_merge_off_value(conf->upload_max, prev->upload_max,
                             100 * 1024 * 1024);
    ngx_conf_merge_off_value(conf->image_max, prev->image_max,
                             20 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->image_max_pixels, prev->image_max_pixels,
                              40000000);

    if (conf->image_max > conf->upload_max) {
        conf->image_max = conf->upload_max;
    }

    if (conf->api || conf->cgi) {
        /* nginx's own bound must let an upload through: a chunked body that
         * grows past it gets nginx's 413 (error_page: JSON); a /cgi form
         * carries base64, 4/3 of the file */
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        max = conf->cgi ? conf->upload_max / 3 * 4 + 65536 : conf->upload_max;

        if (clcf->client_max_body_size
            && clcf->client_max_body_size < max)
        {
            clcf->client_max_body_size = max;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_youdu_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_youdu_loc_conf_t  *ylcf = conf;

    ngx_str_t                 *value;
    ngx_youdu_core_conf_t     *ycf;
    ngx_http_core_loc_conf_t  *clcf;

    ycf = ngx_youdu_core_conf(cf->cycle);

    if (ycf == NULL || !ycf->enabled) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"youdu_api\" needs \"youdu_db\" in the main "
                           "context, before the http block");
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    ylcf->prefix = value[1];
    ylcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_youdu_handler;

    return NGX_CONF_OK;
}


/* "youdu_cgi": the Youdu open platform API in a "location /cgi/" */

static char *
ngx_http_youdu_cgi(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_youdu_loc_conf_t  *ylcf = conf;

    ngx_youdu_core_conf_t     *ycf;
    ngx_http_core_loc_conf_t  *clcf;

    ycf = ngx_youdu_core_conf(cf->cycle);

    if (ycf == NULL || !ycf->enabled) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"youdu_cgi\" needs \"youdu_db\" in the main "
                           "context, before the http block");
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&ylcf->prefix, "/cgi");
    ylcf->api = 1;
    ylcf->cgi = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_youdu_handler;

    return NGX_CONF_OK;
}
