
/*
 * youdu HTTP module: merged forward (kind 5).  Messages of one conversation
 * the caller can read go as one bundle into another one he is a member of.
 * The bundle is a snapshot: later recalls or edits in the source do not
 * change it.
 */


#include "ngx_http_youdu_conv.h"


#define YD_FORWARD_MAX_SEQS    100
#define YD_FORWARD_TITLE_MAX   100
/* the stored body (messages.body is MEDIUMTEXT since sql/007) */
#define YD_FORWARD_MAX_BODY    (256 * 1024)
/* bundles inside bundles; keeps the JSON within MariaDB's depth limit of
 * 32 that the preview queries (JSON_VALUE) rely on */
#define YD_FORWARD_MAX_DEPTH   5


typedef struct {
    ngx_str_t                 client_msg_id;
    ngx_str_t                 title;        /* len 0: the default */
    int64_t                   from;
    int64_t                  *seqs;         /* as given, no duplicates */
    ngx_uint_t                nseqs;

    /* the source conversation as the caller sees it */
    int64_t                   src_kind;
    ngx_str_t                 src_name;
    ngx_str_t                 peer_name;    /* direct: the other member */
    int64_t                   lo;           /* joined_seq */
    int64_t                   hi;           /* left_seq, or YD_SEQ_MAX */

    /* the files of the image and file items, at any depth: linked to the
     * new message so that its readers may download them */
    ngx_array_t               files;        /* int64_t */
} yd_fwd_in_t;


/* the columns of the items query, in order */
enum {
    YD_FWD_SEQ = 0,
    YD_FWD_SENDER,
    YD_FWD_SENDER_NAME,
    YD_FWD_KIND,
    YD_FWD_BODY,
    YD_FWD_CREATED,
    YD_FWD_RECALLED
};


static ngx_int_t yd_fwd_parse(ngx_http_youdu_ctx_t *ctx, yd_fwd_in_t *in);
static ngx_int_t yd_fwd_check(ngx_http_youdu_ctx_t *ctx, yd_fwd_in_t *in,
    ngx_youdu_db_result_t *res);
static ngx_int_t yd_fwd_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    yd_fwd_in_t *in, ngx_youdu_db_result_t *res);
static ngx_uint_t yd_fwd_walk(yd_fwd_in_t *in, json_t *body,
    ngx_uint_t limit);
static ngx_int_t yd_fwd_file(yd_fwd_in_t *in, json_t *body);
static ngx_int_t yd_fwd_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);


/*
 * POST /conversations/:id/forward
 * {"client_msg_id", "from_conv_id", "seqs": [..], "title"?}
 */

ngx_int_t
ngx_http_youdu_msg_forward(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t               rc;
    yd_conv_t              *c;
    yd_fwd_in_t            *in;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    in = c->in;

    switch (ctx->stage) {

    case 0:
        in = ngx_pcalloc(ctx->pool, sizeof(yd_fwd_in_t));
        if (in == NULL) {
            return NGX_ERROR;
        }

        c->in = in;

        if (ngx_array_init(&in->files, ctx->pool, 4, sizeof(int64_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc = yd_fwd_parse(ctx, in);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load(ctx, 1, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (yd_conv_require(ctx, c, 1) != NGX_OK) {
            return NGX_DONE;
        }

        if (c->kind == YD_CONV_APP) {
            /* an app's callbacks have no merged forward */
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "messages cannot be forwarded to an app");
        }

        /* a resend gets the original even if the source changed since */
        c->client_msg_id = &in->client_msg_id;
        return yd_msg_dup(ctx, c, 0);

    case 2:
        if (res->nrows) {
            return yd_msg_dup(ctx, c, 1);
        }

        return yd_sql(ctx,
            "SELECT c.kind, c.name, m.joined_seq, m.left_at IS NOT NULL, "
            "IFNULL(m.left_seq, 0), IFNULL(pu.name, '') "
            "FROM conversations c JOIN conversation_members m "
            "ON m.conv_id = c.id AND m.user_id = ? "
            "LEFT JOIN conversation_members pm ON c.kind = 1 "
            "AND pm.conv_id = c.id AND pm.user_id <> m.user_id "
            "LEFT JOIN users pu ON pu.id = pm.user_id "
            "WHERE c.id = ?", "ii", ctx->me.uid, in->from);

    case 3:
        /* never a member: as if it did not exist (a dissolved group or a
         * conversation he left can still be read, so forwarded from) */
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no conversation with id %L (from_conv_id)",
                            in->from);
        }

        in->src_kind = yd_int(res, 0, 0);
        in->src_name = *yd_cell(res, 0, 1);
        in->lo = yd_int(res, 0, 2);
        in->hi = yd_int(res, 0, 3) ? yd_int(res, 0, 4) : YD_SEQ_MAX;
        in->peer_name = *yd_cell(res, 0, 5);

        c->ids = in->seqs;
        c->nids = in->nseqs;

        return yd_conv_in_sql(ctx,
            "SELECT m.seq, m.sender_id, IFNULL(u.name, ''), m.kind, m.body, "
            "yd_iso(m.created_at), m.recalled FROM messages m "
            "LEFT JOIN users u ON u.id = m.sender_id "
            "WHERE m.conv_id = ? AND m.seq IN (", &in->from, 1,
            ") ORDER BY m.seq");

    default:
        rc = yd_fwd_check(ctx, in, res);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = yd_fwd_body(ctx, c, in, res);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_conv_start(ctx, NULL, yd_fwd_write, NGX_HTTP_CREATED, 0);
    }
}


static ngx_int_t
yd_fwd_parse(ngx_http_youdu_ctx_t *ctx, yd_fwd_in_t *in)
{
    json_t      *v, *e;
    size_t       i;
    int64_t      seq;
    ngx_uint_t   j;

    if (yd_require_body(ctx) != NGX_OK
        || yd_json_str(ctx, ctx->body, "client_msg_id", 1, 64,
                       &in->client_msg_id, NULL) != NGX_OK
        || yd_json_int(ctx, ctx->body, "from_conv_id", 1, 1, YD_SEQ_MAX,
                       &in->from, NULL) != NGX_OK
        || yd_json_str(ctx, ctx->body, "title", 0, YD_FORWARD_TITLE_MAX,
                       &in->title, NULL) != NGX_OK)
    {
        return NGX_DONE;
    }

    v = json_object_get(ctx->body, "seqs");

    if (v == NULL || json_is_null(v)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "field \"seqs\" is required");
    }

    if (!json_is_array(v)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                        "field \"seqs\" must be an array of message seqs");
    }

    in->nseqs = 0;

    if (json_array_size(v) == 0) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "field \"seqs\" must not be empty");
    }

    if (json_array_size(v) > YD_FORWARD_MAX_SEQS) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "at most %d messages can be forwarded at once",
                        YD_FORWARD_MAX_SEQS);
    }

    in->seqs = ngx_palloc(ctx->pool, json_array_size(v) * sizeof(int64_t));
    if (in->seqs == NULL) {
        return NGX_ERROR;
    }

    json_array_foreach(v, i, e) {
        if (!json_is_integer(e)) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                            "field \"seqs\" must contain only integers");
        }

        seq = json_integer_value(e);

        if (seq < 1 || seq > YD_SEQ_MAX) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "field \"seqs\" contains an invalid seq %L",
                            seq);
        }

        for (j = 0; j < in->nseqs; j++) {
            if (in->seqs[j] == seq) {
                return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                                "field \"seqs\" lists seq %L twice", seq);
            }
        }

        in->seqs[in->nseqs++] = seq;
    }

    return NGX_OK;
}


/* every seq asked for, in the order given: the first problem is reported */

static ngx_int_t
yd_fwd_check(ngx_http_youdu_ctx_t *ctx, yd_fwd_in_t *in,
    ngx_youdu_db_result_t *res)
{
    int64_t     seq, kind;
    ngx_uint_t  i, row;

    for (i = 0; i < in->nseqs; i++) {
        seq = in->seqs[i];

        for (row = 0; row < res->nrows; row++) {
            if (yd_int(res, row, YD_FWD_SEQ) == seq) {
                break;
            }
        }

        if (row == res->nrows || seq < in->lo || seq > in->hi) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no message %L you can read in conversation %L",
                            seq, in->from);
        }

        kind = yd_int(res, row, YD_FWD_KIND);

        if (kind == YD_MSG_SYSTEM || kind == YD_MSG_RECALL) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "seq %L is a %s event, not a message: it cannot "
                            "be forwarded", seq,
                            kind == YD_MSG_SYSTEM ? "system" : "recall");
        }

        if (yd_int(res, row, YD_FWD_RECALLED)) {
            return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                            "message %L was recalled: it cannot be "
                            "forwarded", seq);
        }
    }

    return NGX_OK;
}


/*
 * {"title", "text": "[Chat history] <title>" (the preview conversation
 * lists and quotes show, and what a client that does not know kind 5
 * displays), "items": [{"sender_id", "sender_name", "kind", "body",
 * "created_at"}]} in seq order; item bodies are copied as stored
 */

static ngx_int_t
yd_fwd_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, yd_fwd_in_t *in,
    ngx_youdu_db_result_t *res)
{
    char        *s;
    u_char      *p, *title;
    size_t       len;
    json_t      *obj, *items, *item, *body;
    ngx_str_t   *b, t;
    ngx_uint_t   row, depth, d;

    if (in->title.len) {
        t = in->title;

    } else {
        /* "Chat history of A and B", of the group, or unnamed ad hoc */
        len = sizeof("Chat history of  and ") + ctx->me.name.len
              + ngx_max(in->src_name.len, in->peer_name.len);

        title = ngx_pnalloc(ctx->pool, len);
        if (title == NULL) {
            return NGX_ERROR;
        }

        if (in->src_kind == YD_CONV_DIRECT && in->peer_name.len) {
            p = ngx_sprintf(title, "Chat history of %V and %V",
                            &ctx->me.name, &in->peer_name);

        } else if (in->src_kind == YD_CONV_DIRECT) {
            p = ngx_sprintf(title, "Chat history of %V", &ctx->me.name);

        } else if (in->src_name.len) {
            p = ngx_sprintf(title, "Chat history of %V", &in->src_name);

        } else {
            p = ngx_cpymem(title, "Group chat history",
                           sizeof("Group chat history") - 1);
        }

        t.data = title;
        t.len = p - title;
    }

    len = sizeof("[Chat history] ") - 1 + t.len;
    p = ngx_pnalloc(ctx->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "[Chat history] %V", &t);

    obj = json_object();
    items = json_array();
    if (obj == NULL || items == NULL) {
        json_decref(obj);
        json_decref(items);
        return NGX_ERROR;
    }

    /* the preview before the items, where JSON_VALUE finds it at once */
    json_object_set_new(obj, "title", yd_jstr(&t));
    json_object_set_new(obj, "text", json_stringn((char *) p, len));
    json_object_set_new(obj, "items", items);

    depth = 1;

    /* rows come in seq order and were all checked */
    for (row = 0; row < res->nrows; row++) {
        b = yd_cell(res, row, YD_FWD_BODY);
        body = json_loadb((char *) b->data, b->len, 0, NULL);

        if (body == NULL) {
            body = json_object();
        }

        switch (yd_int(res, row, YD_FWD_KIND)) {

        case YD_MSG_FORWARD:
            d = 1 + yd_fwd_walk(in, body, YD_FORWARD_MAX_DEPTH);
            depth = ngx_max(depth, d);
            break;

        case YD_MSG_IMAGE:
        case YD_MSG_FILE:
            if (yd_fwd_file(in, body) != NGX_OK) {
                json_decref(body);
                json_decref(obj);
                return NGX_ERROR;
            }

            break;
        }

        item = json_object();
        if (item == NULL || body == NULL) {
            json_decref(item);
            json_decref(body);
            json_decref(obj);
            return NGX_ERROR;
        }

        json_object_set_new(item, "sender_id",
                            yd_json_cell_int(res, row, YD_FWD_SENDER));
        json_object_set_new(item, "sender_name",
                            yd_json_cell(res, row, YD_FWD_SENDER_NAME));
        json_object_set_new(item, "kind",
                            yd_json_cell_int(res, row, YD_FWD_KIND));
        json_object_set_new(item, "body", body);
        json_object_set_new(item, "created_at",
                            yd_json_cell(res, row, YD_FWD_CREATED));

        json_array_append_new(items, item);
    }

    if (depth > YD_FORWARD_MAX_DEPTH) {
        json_decref(obj);
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                        "forwarded chat histories can be nested at most %d "
                        "deep", YD_FORWARD_MAX_DEPTH);
    }

    s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);

    if (s == NULL) {
        return NGX_ERROR;
    }

    c->body.len = ngx_strlen(s);

    if (c->body.len > YD_FORWARD_MAX_BODY) {
        free(s);
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_TOO_LONG,
                        "the selected messages are too large together "
                        "(%uz bytes, at most %d): forward fewer of them",
                        c->body.len, YD_FORWARD_MAX_BODY);
    }

    c->body.data = ngx_pnalloc(ctx->pool, c->body.len + 1);
    if (c->body.data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(c->body.data, s, c->body.len + 1);
    free(s);

    c->sender_id = ctx->me.uid;
    c->ev_kind = YD_MSG_FORWARD;
    c->dup = yd_msg_dup;

    return NGX_OK;
}


/*
 * how many bundles deep a stored forward body is (at most limit + 1); notes
 * the files of its image and file items on the way
 */

static ngx_uint_t
yd_fwd_walk(yd_fwd_in_t *in, json_t *body, ngx_uint_t limit)
{
    json_t      *items, *item, *kind;
    size_t       i;
    ngx_uint_t   d, max;

    max = 1;

    if (limit == 0) {
        return max;
    }

    items = json_object_get(body, "items");

    json_array_foreach(items, i, item) {
        kind = json_object_get(item, "kind");

        if (!json_is_integer(kind)) {
            continue;
        }

        switch (json_integer_value(kind)) {

        case YD_MSG_FORWARD:
            d = 1 + yd_fwd_walk(in, json_object_get(item, "body"), limit - 1);
            max = ngx_max(max, d);
            break;

        case YD_MSG_IMAGE:
        case YD_MSG_FILE:
            (void) yd_fwd_file(in, json_object_get(item, "body"));
            break;
        }
    }

    return max;
}


static ngx_int_t
yd_fwd_file(yd_fwd_in_t *in, json_t *body)
{
    json_t      *v;
    int64_t      id, *p;
    ngx_uint_t   i;

    v = json_object_get(body, "file_id");

    if (!json_is_integer(v)) {
        return NGX_OK;
    }

    id = json_integer_value(v);
    p = in->files.elts;

    for (i = 0; i < in->files.nelts; i++) {
        if (p[i] == id) {
            return NGX_OK;
        }
    }

    p = ngx_array_push(&in->files);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = id;

    return NGX_OK;
}


/*
 * inside the transaction, once the seq is taken (the lock every membership
 * change takes too): the sender is still a member of the target, then the
 * files of the bundle are linked to the new message (a file that is gone
 * meanwhile is skipped)
 */

static ngx_int_t
yd_fwd_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    int64_t       lead[2];
    yd_fwd_in_t  *in = c->in;

    switch (step) {

    case 0:
        /* the current members: the sender must be one, and they are whom
         * the forward goes to */
        return yd_conv_select_to(ctx);

    case 1:
        if (!yd_conv_in_result(ctx->res, ctx->me.uid)) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "you are no longer a member of this "
                            "conversation");
        }

        c->to = ctx->res;

        if (in->files.nelts == 0) {
            return NGX_OK;
        }

        c->ids = in->files.elts;
        c->nids = in->files.nelts;

        lead[0] = c->conv_id;
        lead[1] = c->seq;

        return yd_conv_in_sql(ctx,
            "INSERT IGNORE INTO message_files (file_id, conv_id, seq) "
            "SELECT id, ?, ? FROM files WHERE id IN (", lead, 2, ")");

    default:
        return NGX_OK;
    }
}


/*
 * GET /conversations/:id/messages/:seq/forward?offset=&limit=: the items
 * of a forward the caller can read, a page at a time
 */

ngx_int_t
ngx_http_youdu_msg_forward_items(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *body, *items, *page;
    int64_t                 offset, limit, hi, *page_in;
    size_t                  i, n;
    ngx_int_t               rc;
    ngx_str_t              *b;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        if (yd_arg_int(ctx, 1, &c->target) != NGX_OK
            || yd_page(ctx, &offset, &limit) != NGX_OK)
        {
            return NGX_DONE;
        }

        page_in = ngx_palloc(ctx->pool, 2 * sizeof(int64_t));
        if (page_in == NULL) {
            return NGX_ERROR;
        }

        page_in[0] = offset;
        page_in[1] = limit;
        c->in = page_in;

        return yd_conv_load(ctx, 0, 0);

    case 1:
        rc = yd_conv_load(ctx, 1, 0);
        if (rc != NGX_OK) {
            return rc;
        }

        if (yd_conv_require(ctx, c, 0) != NGX_OK) {
            return NGX_DONE;
        }

        hi = c->left ? c->left_seq : YD_SEQ_MAX;

        return yd_sql(ctx,
            "SELECT kind, recalled, body FROM messages "
            "WHERE conv_id = ? AND seq = ? AND seq >= ? AND seq <= ?",
            "iiii", c->conv_id, c->target, c->joined_seq, hi);

    default:
        if (res->nrows == 0 || yd_int(res, 0, 0) != YD_MSG_FORWARD) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no forwarded chat history %L in this "
                            "conversation", c->target);
        }

        if (yd_int(res, 0, 1)) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "message %L was recalled", c->target);
        }

        b = yd_cell(res, 0, 2);
        body = json_loadb((char *) b->data, b->len, 0, NULL);
        items = json_object_get(body, "items");

        obj = json_object();
        page = json_array();
        if (body == NULL || !json_is_array(items) || obj == NULL
            || page == NULL)
        {
            json_decref(body);
            json_decref(obj);
            json_decref(page);
            return NGX_ERROR;
        }

        page_in = c->in;
        offset = page_in[0];
        limit = page_in[1];
        n = json_array_size(items);

        for (i = offset; i < n && i < (size_t) (offset + limit); i++) {
            json_array_append(page, json_array_get(items, i));
        }

        json_object_set(obj, "title", json_object_get(body, "title"));
        json_object_set_new(obj, "items", page);
        json_object_set_new(obj, "total", json_integer(n));
        json_object_set_new(obj, "offset", json_integer(offset));
        json_object_set_new(obj, "limit", json_integer(limit));
        json_decref(body);

        return yd_ok(ctx, obj);
    }
}
