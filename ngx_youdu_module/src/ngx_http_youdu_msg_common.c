
/*
 * youdu HTTP module: conversation helpers shared by the conversation and
 * message handlers: membership loading, appending one event to the
 * conversation's sequence, the event object, the push notice.
 */


#include "ngx_http_youdu_conv.h"
#include "ngx_http_youdu_cgi.h"


static void
yd_conv_cleanup(void *data)
{
    yd_conv_t  *c = data;

    if (c->event) {
        json_decref(c->event);
    }

    if (c->reply) {
        json_decref(c->reply);
    }
}


yd_conv_t *
yd_conv_state(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t           *c;
    ngx_pool_cleanup_t  *cln;

    if (ctx->data) {
        return ctx->data;
    }

    c = ngx_pcalloc(ctx->pool, sizeof(yd_conv_t));
    if (c == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(ctx->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = yd_conv_cleanup;
    cln->data = c;

    ctx->data = c;
    return c;
}


/*
 * step 0: reads path argument "arg" as the conversation id and loads the
 * conversation with the caller's membership; step 1: fills the state.
 */

ngx_int_t
yd_conv_load(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step, ngx_uint_t arg)
{
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    if (step == 0) {
        if (yd_arg_int(ctx, arg, &c->conv_id) != NGX_OK) {
            return NGX_DONE;
        }

        return yd_conv_load_id(ctx);
    }

    if (res->nrows == 0) {
        return NGX_OK;
    }

    c->kind = yd_int(res, 0, 0);
    c->name = *yd_cell(res, 0, 1);
    c->owner_id = yd_int(res, 0, 2);
    c->last_seq = yd_int(res, 0, 3);
    c->member_count = yd_int(res, 0, 4);
    c->dissolved = yd_int(res, 0, 5);
    c->member = (yd_cell(res, 0, 6)->data != NULL);
    c->role = yd_int(res, 0, 6);
    c->joined_seq = yd_int(res, 0, 7);
    c->left = yd_int(res, 0, 8);
    c->left_seq = yd_int(res, 0, 9);
    c->last_read_seq = yd_int(res, 0, 10);

    return NGX_OK;
}


/* the load of c->conv_id with the membership of ctx->me.uid (0: none) */

ngx_int_t
yd_conv_load_id(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t  *c = ctx->data;

    return yd_sql(ctx,
        "SELECT c.kind, c.name, IFNULL(c.owner_id, 0), c.last_seq, "
        "c.member_count, c.dissolved_at IS NOT NULL, m.role, "
        "m.joined_seq, m.left_at IS NOT NULL, IFNULL(m.left_seq, 0), "
        "m.last_read_seq "
        "FROM conversations c LEFT JOIN conversation_members m "
        "ON m.conv_id = c.id AND m.user_id = ? WHERE c.id = ?",
        "ii", ctx->me.uid, c->conv_id);
}


/*
 * who may go on: never a member -> 404 (the conversation's existence is
 * not revealed); current: must not have left and the conversation must not
 * be dissolved.
 */

ngx_int_t
yd_conv_require(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t current)
{
    if (c->kind == 0 || !c->member || (current && c->dissolved)) {
        yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                 "no conversation with id %L", c->conv_id);
        return NGX_DONE;
    }

    if (current && c->left) {
        yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                 "you are no longer a member of this conversation");
        return NGX_DONE;
    }

    return NGX_OK;
}


/* inside a transaction: take the next seq (the row lock orders senders) */

ngx_int_t
yd_conv_next_seq(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step)
{
    yd_conv_t  *c = ctx->data;

    switch (step) {

    case 0:
        return yd_sql(ctx,
            "UPDATE conversations SET last_seq = last_seq + 1, "
            "last_msg_at = UTC_TIMESTAMP(3) "
            "WHERE id = ? AND dissolved_at IS NULL", "i", c->conv_id);

    case 1:
        if (ctx->res->affected == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no conversation with id %L", c->conv_id);
        }

        /* the event's time is the database's, read with its seq */
        return yd_sql(ctx,
            "SELECT last_seq, CAST(last_msg_at AS CHAR), "
            "yd_iso(last_msg_at) FROM conversations WHERE id = ?",
            "i", c->conv_id);

    default:
        c->seq = yd_int(ctx->res, 0, 0);
        c->last_seq = c->seq;
        c->created_at = *yd_cell(ctx->res, 0, 1);
        c->created_iso = *yd_cell(ctx->res, 0, 2);
        return NGX_OK;
    }
}


/*
 * inside a transaction, after yd_conv_next_seq(): stores the event;
 * NGX_DECLINED: the sender already used this client_msg_id
 */

ngx_int_t
yd_conv_insert(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step)
{
    ngx_str_t  *sender;
    yd_conv_t  *c = ctx->data;

    switch (step) {

    case 0:
        sender = NULL;

        if (c->sender_id) {
            sender = yd_int_str(ctx->pool, c->sender_id);
            if (sender == NULL) {
                return NGX_ERROR;
            }
        }

        return yd_sql_try(ctx,
            "INSERT INTO messages (conv_id, seq, sender_id, client_msg_id, "
            "kind, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            "iinniss", c->conv_id, c->seq, sender, c->client_msg_id,
            c->ev_kind, &c->body, &c->created_at);

    default:
        if (ctx->res->err_no == YD_DB_ER_DUP_ENTRY) {
            return NGX_DECLINED;
        }

        if (ctx->res->err_no) {
            return yd_db_failed(ctx);
        }

        /* what reading the row back would give, without the round trip */
        c->event = yd_conv_new_event(c);
        return c->event ? NGX_OK : NGX_ERROR;
    }
}


/* whether a one-column result of user ids (ascending) holds uid */

ngx_uint_t
yd_conv_in_result(ngx_youdu_db_result_t *res, int64_t uid)
{
    int64_t     v;
    ngx_uint_t  lo, hi, mid;

    lo = 0;
    hi = res->nrows;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        v = yd_int(res, mid, 0);

        if (v == uid) {
            return 1;
        }

        if (v < uid) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


/* the members to notify; the caller keeps ctx->res in c->to */

ngx_int_t
yd_conv_select_to(ngx_http_youdu_ctx_t *ctx)
{
    yd_conv_t  *c = ctx->data;

    return yd_sql(ctx,
        "SELECT user_id FROM conversation_members WHERE conv_id = ? "
        "AND (left_at IS NULL OR left_seq = ?) ORDER BY user_id",
        "ii", c->conv_id, c->seq);
}


/*
 * the end of every change: who to notify (current members and those who
 * left by this very event), COMMIT, the notice, then the reply:
 * c->reply (or {}) + "message": the event
 */

ngx_int_t
yd_conv_finish(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step, ngx_uint_t status)
{
    json_t     *obj;
    int64_t     id;
    yd_conv_t  *c = ctx->data;

    switch (step) {

    case 0:
        if (c->to == NULL) {
            return yd_conv_select_to(ctx);
        }

        /* the write step already read them: straight to the commit */
        c->step++;
        return yd_commit(ctx);

    case 1:
        c->to = ctx->res;
        return yd_commit(ctx);

    case 2:
        if (yd_conv_publish(ctx, "msg", c->event) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    case 3:
        if (c->callback_id) {
            id = c->callback_id;
            c->callback_id = 0;

            if (yd_app_callback_wake(ctx, id) == NGX_AGAIN) {
                return NGX_AGAIN;
            }
        }

        /* fall through */

    default:
        if (c->done) {
            return c->done(ctx, c, 0);
        }

        obj = c->reply ? c->reply : json_object();
        c->reply = NULL;
        if (obj == NULL) {
            return NGX_ERROR;
        }

        if (c->event) {
            json_object_set(obj, "message", c->event);
        }

        return yd_ok_status(ctx, status, obj);
    }
}


/*
 * after COMMIT, best effort: PUBLISH yd:push {"t","conv","seq","to","ev"}.
 * NGX_AGAIN: sent (the handler resumes); NGX_DECLINED: Redis is down or
 * nothing to send, go on.
 */

ngx_int_t
yd_conv_publish(ngx_http_youdu_ctx_t *ctx, const char *type, json_t *ev)
{
    char                   *s;
    size_t                  argvlen[3];
    json_t                 *obj, *to;
    ngx_str_t               payload;
    ngx_uint_t              i;
    yd_conv_t              *c = ctx->data;
    const char             *argv[3];
    ngx_youdu_db_result_t  *res = c->to;

    if (ev == NULL || res == NULL) {
        return NGX_DECLINED;
    }

    obj = json_object();
    to = json_array();
    if (obj == NULL || to == NULL) {
        json_decref(obj);
        json_decref(to);
        return NGX_DECLINED;
    }

    for (i = 0; i < res->nrows; i++) {
        json_array_append_new(to, json_integer(yd_int(res, i, 0)));
    }

    json_object_set_new(obj, "t", json_string(type));
    json_object_set_new(obj, "conv", json_integer(c->conv_id));
    if (ngx_strcmp(type, "msg") == 0) {
        json_object_set_new(obj, "seq", json_integer(c->seq));
    }
    json_object_set_new(obj, "to", to);
    json_object_set(obj, "ev", ev);

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        return NGX_DECLINED;
    }

    payload.len = ngx_strlen(s);
    payload.data = ngx_pnalloc(ctx->pool, payload.len + 1);
    if (payload.data == NULL) {
        free(s);
        return NGX_DECLINED;
    }

    ngx_memcpy(payload.data, s, payload.len + 1);
    free(s);

    argv[0] = "PUBLISH";
    argv[1] = "yd:push";
    argv[2] = (const char *) payload.data;
    argvlen[0] = 7;
    argvlen[1] = 7;
    argvlen[2] = payload.len;

    return yd_redis(ctx, 3, argv, argvlen);
}


/* a system event's body: {"event", "by", "text", ...extra} */

ngx_int_t
yd_conv_system_body(ngx_http_youdu_ctx_t *ctx, const char *event,
    json_t *extra)
{
    char       *s;
    json_t     *obj;
    yd_conv_t  *c = ctx->data;

    obj = extra ? extra : json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "event", json_string(event));

    if (ctx->cgi && ctx->me.uid == 0) {
        /* an app (/cgi) acting on its own: "by" is nobody */
        json_object_set_new(obj, "by", json_null());
        json_object_set_new(obj, "by_name", yd_jstr(&ctx->cgi->app_name));
        json_object_set_new(obj, "by_app", yd_jstr(&ctx->cgi->app_id));

    } else {
        json_object_set_new(obj, "by", json_integer(ctx->me.uid));
        json_object_set_new(obj, "by_name", yd_jstr(&ctx->me.name));
    }

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        return NGX_ERROR;
    }

    c->body.len = ngx_strlen(s);
    c->body.data = ngx_pnalloc(ctx->pool, c->body.len + 1);
    if (c->body.data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(c->body.data, s, c->body.len + 1);
    free(s);

    c->sender_id = 0;
    c->client_msg_id = NULL;
    c->ev_kind = YD_MSG_SYSTEM;

    return NGX_OK;
}


/* one row of YD_MSG_COLS as the event object sync returns and push sends */

json_t *
yd_conv_event(ngx_youdu_db_result_t *res, ngx_uint_t row)
{
    json_t      *ev, *body;
    ngx_str_t   *b;
    ngx_uint_t   recalled;

    ev = json_object();
    if (ev == NULL) {
        return NULL;
    }

    recalled = yd_int(res, row, 7);
    b = yd_cell(res, row, 5);

    if (recalled) {
        body = json_pack("{sb}", "recalled", 1);

    } else {
        body = (b->data == NULL) ? NULL
               : json_loadb((char *) b->data, b->len, 0, NULL);
    }

    json_object_set_new(ev, "type", json_string("message"));
    json_object_set_new(ev, "conv_id", yd_json_cell_int(res, row, 0));
    json_object_set_new(ev, "seq", yd_json_cell_int(res, row, 1));
    json_object_set_new(ev, "sender_id", yd_json_cell_int(res, row, 2));
    json_object_set_new(ev, "client_msg_id", yd_json_cell(res, row, 3));
    json_object_set_new(ev, "kind", yd_json_cell_int(res, row, 4));
    json_object_set_new(ev, "body", body ? body : json_object());
    json_object_set_new(ev, "created_at", yd_json_cell(res, row, 6));
    json_object_set_new(ev, "recalled", json_boolean(recalled));

    return ev;
}


/* the event yd_conv_insert() just stored, as yd_conv_event() reads it */

json_t *
yd_conv_new_event(yd_conv_t *c)
{
    json_t  *ev, *body;

    ev = json_object();
    if (ev == NULL) {
        return NULL;
    }

    body = json_loadb((char *) c->body.data, c->body.len, 0, NULL);

    json_object_set_new(ev, "type", json_string("message"));
    json_object_set_new(ev, "conv_id", json_integer(c->conv_id));
    json_object_set_new(ev, "seq", json_integer(c->seq));
    json_object_set_new(ev, "sender_id", c->sender_id
                                         ? json_integer(c->sender_id)
                                         : json_null());
    json_object_set_new(ev, "client_msg_id", c->client_msg_id
                                             ? yd_jstr(c->client_msg_id)
                                             : json_null());
    json_object_set_new(ev, "kind", json_integer(c->ev_kind));
    json_object_set_new(ev, "body", body ? body : json_object());
    json_object_set_new(ev, "created_at", yd_jstr(&c->created_iso));
    json_object_set_new(ev, "recalled", json_false());

    return ev;
}


const char *
yd_conv_kind_name(int64_t kind)
{
    switch (kind) {
    case YD_CONV_DIRECT:
        return "direct";
    case YD_CONV_MULTI:
        return "multi";
    case YD_CONV_APP:
        return "app";
    default:
        return "group";
    }
}


/* an array of user ids (positive integers, duplicates dropped) */

ngx_int_t
yd_conv_ids(ngx_http_youdu_ctx_t *ctx, json_t *obj, const char *key,
    ngx_uint_t required, ngx_uint_t max)
{
    json_t      *v, *e;
    int64_t      id;
    size_t       i;
    ngx_uint_t   j, n;
    yd_conv_t   *c = ctx->data;

    c->nids = 0;

    v = obj ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        if (required) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                     "field \"%s\" is required", key);
            return NGX_DONE;
        }

        return NGX_OK;
    }

    if (!json_is_array(v)) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                 "field \"%s\" must be an array of user ids", key);
        return NGX_DONE;
    }

    n = json_array_size(v);

    if (n > max) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                 "field \"%s\" has more than %ui entries", key, max);
        return NGX_DONE;
    }

    c->ids = ngx_palloc(ctx->pool, (n + 1) * sizeof(int64_t));
    if (c->ids == NULL) {
        return NGX_ERROR;
    }

    json_array_foreach(v, i, e) {
        if (!json_is_integer(e)) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                     "field \"%s\" must contain only integer user ids", key);
            return NGX_DONE;
        }

        id = json_integer_value(e);

        if (id <= 0) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "field \"%s\" contains an invalid user id %L", key, id);
            return NGX_DONE;
        }

        for (j = 0; j < c->nids; j++) {
            if (c->ids[j] == id) {
                break;
            }
        }

        if (j == c->nids) {
            c->ids[c->nids++] = id;
        }
    }

    return NGX_OK;
}


ngx_int_t
yd_conv_param(ngx_pool_t *pool, ngx_youdu_db_param_t *p, int64_t v)
{
    ngx_str_t  *s;

    s = yd_int_str(pool, v);
    if (s == NULL) {
        return NGX_ERROR;
    }

    p->value = *s;
    return NGX_OK;
}


/*
 * runs head + "?, ?, ..." (one per c->ids) + tail; the parameters are
 * lead[0..nlead) then the ids.  The list is padded to a power of two by
 * repeating the last id (harmless in IN), so that few statement texts
 * reach the per-connection statement cache.
 */

ngx_int_t
yd_conv_in_sql(ngx_http_youdu_ctx_t *ctx, const char *head, int64_t *lead,
    ngx_uint_t nlead, const char *tail)
{
    u_char                *sql, *p;
    size_t                 len;
    ngx_uint_t             i, n, slots;
    yd_conv_t             *c = ctx->data;
    ngx_youdu_db_param_t  *prm;

    slots = 0;

    if (c->nids) {
        for (slots = 4; slots < c->nids; slots *= 2) { /* void */ }
    }

    len = ngx_strlen(head) + 3 * slots + 8 + ngx_strlen(tail) + 1;

    sql = ngx_pnalloc(ctx->pool, len);
    prm = ngx_pcalloc(ctx->pool,
                      (nlead + slots + 1) * sizeof(ngx_youdu_db_param_t));
    if (sql == NULL || prm == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(sql, head, ngx_strlen(head));

    if (slots == 0) {
        /* IN () is invalid SQL: match nothing */
        p = ngx_cpymem(p, "0", 1);
    }

    for (i = 0; i < slots; i++) {
        p = ngx_cpymem(p, i ? ", ?" : "?", i ? 3 : 1);
    }

    p = ngx_cpymem(p, tail, ngx_strlen(tail));
    *p = '\0';

    n = 0;

    for (i = 0; i < nlead; i++) {
        if (yd_conv_param(ctx->pool, &prm[n++], lead[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < slots; i++) {
        if (yd_conv_param(ctx->pool, &prm[n++],
                          c->ids[ngx_min(i, c->nids - 1)])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return yd_sql_params(ctx, (char *) sql, prm, n, 0);
}
