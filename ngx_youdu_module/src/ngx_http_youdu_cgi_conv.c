
/*
 * youdu: what the /cgi group, session and send handlers share: their
 * state, ids, account lists, names, and a change to a conversation as one
 * yd_conv_drive() transaction with its audit row and the /cgi reply.
 */


#include "ngx_http_youdu_cgi_group.h"


/* the state: yd_conv_t in ctx->data, ours in c->in */

yd_cgi_grp_t *
yd_cgi_grp(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t  *c;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NULL;
    }

    if (c->in == NULL) {
        c->in = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_grp_t));
    }

    return c->in;
}


/* a conversation id: a decimal string (or number); NGX_OK or replied */

ngx_int_t
yd_cgi_conv_id(ngx_http_youdu_ctx_t *ctx, const char **keys, ngx_int_t miss,
    ngx_int_t bad, int64_t *id)
{
    ngx_int_t  rc;
    ngx_str_t  s;

    rc = yd_cgi_str_any(ctx, keys, &s);

    if (rc == NGX_DECLINED) {
        yd_cgi_fail(ctx, miss, "\"%s\" is missing", keys[0]);
        return NGX_DONE;
    }

    *id = (rc == NGX_OK && s.len > 0 && s.len <= 18)
          ? ngx_atoof(s.data, s.len) : NGX_ERROR;

    if (*id <= 0) {
        yd_cgi_fail(ctx, bad, "\"%s\" must be an id as returned by the "
                    "create call (a string of digits)", keys[0]);
        return NGX_DONE;
    }

    return NGX_OK;
}


/* after yd_conv_load_id(): the conversation exists, is of this kind (0:
 * a session: multi or group) and is not dissolved */

ngx_int_t
yd_cgi_conv_check(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, int64_t kind,
    const char *what)
{
    (void) yd_conv_load(ctx, 1, 0);

    if (c->kind == 0 || c->dissolved
        || (kind && c->kind != kind)
        || (kind == 0 && c->kind == YD_CONV_DIRECT))
    {
        yd_cgi_fail(ctx, YD_CGI_GROUP_NOTEXIST, "no %s with id \"%L\"",
                    what, c->conv_id);
        return NGX_DONE;
    }

    return NGX_OK;
}


/* a payload array of accounts appended to "into" (n: how many); absent:
 * n = 0.  NGX_OK or replied */

ngx_int_t
yd_cgi_accounts(ngx_http_youdu_ctx_t *ctx, const char *key, json_t *into,
    ngx_uint_t *n)
{
    json_t  *v, *e;
    size_t   i, len;

    *n = 0;

    v = yd_cgi_field(ctx, key);

    if (v == NULL) {
        return NGX_OK;
    }

    if (!json_is_array(v) || json_array_size(v) > YD_CGI_LIST_MAX) {
        yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                    "\"%s\" must be an array of at most %d accounts", key,
                    YD_CGI_LIST_MAX);
        return NGX_DONE;
    }

    json_array_foreach(v, i, e) {
        len = json_is_string(e) ? json_string_length(e) : 0;

        if (len == 0 || len > 255) {
            yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_USERLIST,
                        "\"%s\" must hold only account strings", key);
            return NGX_DONE;
        }

        json_array_append(into, e);
    }

    *n = json_array_size(v);

    return NGX_OK;
}


ngx_int_t
yd_cgi_json_text(ngx_http_youdu_ctx_t *ctx, json_t *v, ngx_str_t *out)
{
    char  *s;

    s = json_dumps(v, JSON_COMPACT|JSON_ENCODE_ANY);
    if (s == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_strlen(s);
    out->data = ngx_pnalloc(ctx->pool, out->len + 1);
    if (out->data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s, out->len + 1);
    free(s);

    return NGX_OK;
}


/* a group name or session title: NGX_OK (out->len may be 0 when not
 * required), or replied with 500001-500003 */

ngx_int_t
yd_cgi_name(ngx_http_youdu_ctx_t *ctx, const char *key, size_t max,
    ngx_uint_t required, ngx_str_t *out)
{
    ngx_int_t  rc;

    rc = yd_cgi_str(ctx, key, out);

    if (rc == NGX_DECLINED) {
        if (!required) {
            ngx_str_set(out, "");
            return NGX_OK;
        }

        yd_cgi_fail(ctx, YD_CGI_MISS_GROUPNAME, "\"%s\" is missing", key);
        return NGX_DONE;
    }

    rc = (rc == NGX_OK) ? yd_valid_text(out, max, 0) : YD_ERR_BAD_TYPE;

    if (rc == YD_ERR_TOO_LONG) {
        yd_cgi_fail(ctx, YD_CGI_OVERLIMIT_GROUPNAME,
                    "\"%s\" is longer than %uz characters", key, max);
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        yd_cgi_fail(ctx, YD_CGI_INVALID_FORMAT_GROUPNAME,
                    "\"%s\" must be a one-line UTF-8 string", key);
        return NGX_DONE;
    }

    return NGX_OK;
}


/*
 * the pre step of every change: the handler's own (g->inner, e.g. the
 * rows of a new conversation), then the audit row: actor NULL, "cgi.*",
 * the conversation as the target, the app in the detail
 */

ngx_int_t
yd_cgi_audit_pre(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    json_t        *detail;
    ngx_int_t      rc;
    ngx_str_t      text, *target;
    yd_cgi_grp_t  *g = c->in;

    if (g->audited) {
        return NGX_OK;
    }

    if (g->inner) {
        rc = g->inner(ctx, c, step);
        if (rc != NGX_OK) {
            return rc;
        }

        g->inner = NULL;
    }

    g->audited = 1;

    if (g->action == NULL) {
        return NGX_OK;
    }

    detail = json_pack("{s:s%,s:s%}", "app_id", ctx->cgi->app_id.data,
                       ctx->cgi->app_id.len, "name", c->name.data,
                       c->name.len);
    if (detail == NULL) {
        return NGX_ERROR;
    }

    rc = yd_cgi_json_text(ctx, detail, &text);
    json_decref(detail);

    target = yd_int_str(ctx->pool, c->conv_id);

    if (rc != NGX_OK || target == NULL) {
        return NGX_ERROR;
    }

    return yd_sql(ctx,
        "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
        "VALUES (NULL, ?, ?, ?, ?)",
        "zsss", g->action, target, &text, &ctx->client_ip);
}


/* members c->ids leave by this event (kicked) */

ngx_int_t
yd_cgi_remove_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    int64_t  lead[2];

    switch (step) {

    case 0:
        lead[0] = c->seq;
        lead[1] = c->conv_id;

        return yd_conv_in_sql(ctx,
            "UPDATE conversation_members SET left_at = UTC_TIMESTAMP(3), "
            "left_seq = ?, role = 0 WHERE conv_id = ? AND left_at IS NULL "
            "AND user_id IN (", lead, 2, ")");

    case 1:
        return yd_sql(ctx,
            "UPDATE conversations SET member_count = (SELECT COUNT(*) "
            "FROM conversation_members WHERE conv_id = ? AND left_at IS NULL) "
            "WHERE id = ?", "ii", c->conv_id, c->conv_id);

    default:
        return NGX_OK;
    }
}


ngx_int_t
yd_cgi_rename_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    if (step == 0) {
        return yd_sql(ctx, "UPDATE conversations SET name = ? WHERE id = ?",
                      "si", &c->name, c->conv_id);
    }

    return NGX_OK;
}


/* one change as a transaction with its event (the body is set) */

ngx_int_t
yd_cgi_change(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, const char *action,
    yd_conv_step_pt inner, yd_conv_step_pt write, yd_conv_step_pt done)
{
    yd_cgi_grp_t  *g = c->in;

    /* a previous change of this request is finished */
    if (c->event) {
        json_decref(c->event);
        c->event = NULL;
    }

    c->to = NULL;
    c->done = done;

    g->action = action;
    g->inner = inner;
    g->audited = 0;
    g->done_step = 0;

    return yd_conv_start(ctx, yd_cgi_audit_pre, write, NGX_HTTP_OK, 0);
}


ngx_int_t
yd_cgi_done_global(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    return yd_cgi_ok(ctx, NULL);
}
