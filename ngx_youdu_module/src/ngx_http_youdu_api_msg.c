
/*
 * youdu HTTP module: messages: send (idempotent by client_msg_id), sync and
 * history, read marks, read receipts, recall.
 */


#include "ngx_http_youdu_conv.h"
#include "ngx_http_youdu_files.h"


#define YD_SYNC_DEFAULT       100
#define YD_SYNC_MAX           500
/* a page of big merged forwards could be huge: past this many bytes of
 * bodies a page ends early (it always holds one message) */
#define YD_SYNC_MAX_BYTES     (2 * 1024 * 1024)
#define YD_MENTIONS_MAX       1000


/* the fields of one kind of message: NGX_OK or replied */
typedef ngx_int_t (*yd_msg_parse_pt)(ngx_http_youdu_ctx_t *ctx,
    yd_msg_in_t *in);

typedef struct {
    const char               *name;
    int64_t                   kind;
    yd_msg_parse_pt           parse;
} yd_msg_kind_t;


static ngx_int_t yd_msg_parse_text(ngx_http_youdu_ctx_t *ctx,
    yd_msg_in_t *in);
static ngx_int_t yd_msg_parse_file(ngx_http_youdu_ctx_t *ctx,
    yd_msg_in_t *in);


static const yd_msg_kind_t  yd_msg_kinds[] = {
    { "text", YD_MSG_TEXT, yd_msg_parse_text },
    { "image", YD_MSG_IMAGE, yd_msg_parse_file },
    { "file", YD_MSG_FILE, yd_msg_parse_file },
    { NULL, 0, NULL }
};


/* a resend: the original message, never a second one */

ngx_int_t
yd_msg_dup(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    json_t                 *obj;
    ngx_youdu_db_result_t  *res = ctx->res;

    if (step == 0) {
        /* a locking read sees the latest committed row */
        return yd_sql(ctx,
            "SELECT " YD_MSG_COLS " FROM messages m "
            "WHERE m.sender_id = ? AND m.client_msg_id = ? "
            "LOCK IN SHARE MODE", "is", ctx->me.uid, c->client_msg_id);
    }

    if (res->nrows == 0) {
        return NGX_ERROR;
    }

    if (yd_int(res, 0, 0) != c->conv_id) {
        return yd_error(ctx, NGX_HTTP_CONFLICT, YD_ERR_CONFLICT,
                        "this client_msg_id was already used in another "
                        "conversation");
    }

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "message", yd_conv_event(res, 0));
    json_object_set_new(obj, "duplicate", json_true());

    /* replying rolls back the seq this attempt took */
    return yd_ok(ctx, obj);
}


/*
 * inside the transaction, after the seq row lock that every membership
 * change also takes: the sender is still a member
 */

ngx_int_t
yd_msg_send_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    yd_msg_in_t  *in = c->in;

    switch (step) {

    case 0:
        /* the current members: the sender must be one, and they are whom
         * the message goes to (yd_conv_finish() need not ask again) */
        return yd_conv_select_to(ctx);

    case 1:
        if (!yd_conv_in_result(ctx->res, ctx->me.uid)) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "you are no longer a member of this "
                            "conversation");
        }

        c->to = ctx->res;

        if (in->kind == YD_MSG_TEXT) {
            return NGX_OK;
        }

        /* the sender's own upload, or one he may read (forwarding) */
        return yd_file_access_sql(ctx, ctx->me.uid, in->file_id);

    case 2:
        if (ctx->res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no file with id %L", in->file_id);
        }

        if (in->kind == YD_MSG_IMAGE && !yd_int(ctx->res, 0, 5)) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "file %L is not an image: send it as kind "
                            "\"file\"", in->file_id);
        }

        if (yd_msg_body(ctx, c, in, ctx->res, NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        /* download access follows this message */
        return yd_file_link_sql(ctx, in->file_id, c->conv_id, c->seq);

    default:
        return NGX_OK;
    }
}


/*
 * as stored: text {"text", "mentions", "mention_all", "quote"}; image and
 * file: the file's fields, so clients render it without another request,
 * {"file_id", "name", "size", "mime", ("width", "height", "thumb"),
 * "preview", "quote"}.  The quoted message is in c->saved (or none).
 */

static json_t *
yd_msg_quote(yd_conv_t *c, yd_msg_in_t *in)
{
    json_t  *quote;

    if (in->quote_seq == 0) {
        return json_null();
    }

    quote = json_object();
    if (quote == NULL) {
        return NULL;
    }

    json_object_set_new(quote, "seq", json_integer(in->quote_seq));
    json_object_set_new(quote, "sender_id", yd_json_cell_int(c->saved, 0, 0));
    json_object_set_new(quote, "preview", yd_json_cell(c->saved, 0, 1));

    return quote;
}


static json_t *
yd_msg_file_fields(yd_msg_in_t *in, ngx_youdu_db_result_t *file)
{
    char    *preview;
    json_t  *obj, *f;

    f = yd_file_json(file, 0);
    obj = json_object();
    if (f == NULL || obj == NULL) {
        json_decref(f);
        json_decref(obj);
        return NULL;
    }

    json_object_set_new(obj, "file_id", json_integer(in->file_id));
    json_object_set(obj, "name", json_object_get(f, "name"));
    json_object_set(obj, "size", json_object_get(f, "size"));
    json_object_set(obj, "mime", json_object_get(f, "mime"));

    if (in->kind == YD_MSG_IMAGE) {
        json_object_set(obj, "width", json_object_get(f, "width"));
        json_object_set(obj, "height", json_object_get(f, "height"));
        json_object_set(obj, "thumb", json_object_get(f, "thumb"));
        json_object_set_new(obj, "preview", json_string("[image]"));

    } else {
        preview = NULL;
        if (asprintf(&preview, "[file] %s",
                     json_string_value(json_object_get(f, "name"))) < 0)
        {
            preview = NULL;
        }

        json_object_set_new(obj, "preview",
                            preview ? json_string(preview) : json_null());
        free(preview);
    }

    json_decref(f);
    return obj;
}


ngx_int_t
yd_msg_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, yd_msg_in_t *in,
    ngx_youdu_db_result_t *file, json_t *extra)
{
    char        *s;
    json_t      *obj, *list, *quote;
    ngx_uint_t   i;

    obj = file ? yd_msg_file_fields(in, file) : json_object();
    quote = yd_msg_quote(c, in);
    list = file ? json_null() : json_array();

    if (obj == NULL || list == NULL || quote == NULL) {
        json_decref(obj);
        json_decref(list);
        json_decref(quote);
        return NGX_ERROR;
    }

    if (file == NULL) {
        for (i = 0; i < c->nids; i++) {
            json_array_append_new(list, json_integer(c->ids[i]));
        }

        json_object_set_new(obj, "text", yd_jstr(&in->text));
        json_object_set_new(obj, "mentions", list);
        json_object_set_new(obj, "mention_all",
                            json_boolean(in->mention_all));
    }

    json_object_set_new(obj, "quote", quote);

    if (extra) {
        json_object_update(obj, extra);
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

    c->sender_id = ctx->me.uid;
    c->client_msg_id = &in->client_msg_id;
    c->ev_kind = in->kind;
    c->dup = yd_msg_dup;

    return NGX_OK;
}


static ngx_int_t
yd_msg_text(ngx_http_youdu_ctx_t *ctx, ngx_str_t *out)
{
    json_t     *v;
    ngx_int_t   rc;

    v = json_object_get(ctx->body, "text");

    if (v == NULL || json_is_null(v)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "field \"text\" is required");
    }

    if (!json_is_string(v)) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                        "field \"text\" must be a string");
    }

    out->len = json_string_length(v);
    out->data = ngx_pnalloc(ctx->pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, json_string_value(v), out->len);
    out->data[out->len] = '\0';

    if (out->len == 0) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                        "field \"text\" must not be empty");
    }

    /* messages may span lines */
    rc = yd_valid_text(out, YD_TEXT_MAX, 1);

    if (rc == YD_ERR_TOO_LONG) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_TOO_LONG,
                        "field \"text\" is longer than %d characters",
                        YD_TEXT_MAX);
    }

    if (rc != NGX_OK) {
        return yd_error(ctx, NGX_HTTP_BAD_REQUEST,
                        rc == YD_ERR_BAD_UTF8 ? YD_ERR_BAD_UTF8
                                              : YD_ERR_BAD_VALUE,
                        "field \"text\" contains invalid characters");
    }

    return NGX_OK;
}


static ngx_int_t
yd_msg_parse_text(ngx_http_youdu_ctx_t *ctx, yd_msg_in_t *in)
{
    ngx_int_t  rc;

    rc = yd_msg_text(ctx, &in->text);
    if (rc != NGX_OK) {
        return rc;
    }

    if (yd_conv_ids(ctx, ctx->body, "mentions", 0, YD_MENTIONS_MAX)
           != NGX_OK
        || yd_json_bool(ctx, ctx->body, "mention_all", 0, &in->mention_all,
                        NULL) != NGX_OK)
    {
        return NGX_DONE;
    }

    return NGX_OK;
}


/* image and file: an uploaded file (POST /files) */

static ngx_int_t
yd_msg_parse_file(ngx_http_youdu_ctx_t *ctx, yd_msg_in_t *in)
{
    if (yd_json_int(ctx, ctx->body, "file_id", 1, 1, YD_SEQ_MAX,
                    &in->file_id, NULL) != NGX_OK)
    {
        return NGX_DONE;
    }

    return NGX_OK;
}


/* POST /conversations/:id/messages */

static ngx_int_t
ngx_http_youdu_msg_send(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_str_t               kind;
    yd_conv_t              *c;
    yd_msg_in_t            *in;
    const yd_msg_kind_t    *k;
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
        in = ngx_pcalloc(ctx->pool, sizeof(yd_msg_in_t));
        if (in == NULL) {
            return NGX_ERROR;
        }

        c->in = in;

        if (yd_require_body(ctx) != NGX_OK
            || yd_json_str(ctx, ctx->body, "client_msg_id", 1, 64,
                           &in->client_msg_id, NULL) != NGX_OK
            || yd_json_str(ctx, ctx->body, "kind", 1, 16, &kind, NULL)
               != NGX_OK)
        {
            return NGX_DONE;
        }

        for (k = yd_msg_kinds; k->name; k++) {
            if (ngx_strcmp(kind.data, k->name) == 0) {
                break;
            }
        }

        if (k->name == NULL) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "\"kind\" must be \"text\", \"image\" or "
                            "\"file\"");
        }

        in->kind = k->kind;

        rc = k->parse(ctx, in);
        if (rc != NGX_OK) {
            return rc;
        }

        if (yd_json_int(ctx, ctx->body, "quote_seq", 0, 1, YD_SEQ_MAX,
                        &in->quote_seq, NULL) != NGX_OK)
        {
            return NGX_DONE;
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

        if (in->mention_all
            && !(c->kind == YD_CONV_GROUP && c->role >= YD_MEMBER_ADMIN))
        {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "only the owner and admins of a group may "
                            "mention everyone");
        }

        if (c->nids) {
            return yd_conv_in_sql(ctx,
                "SELECT COUNT(*) FROM conversation_members "
                "WHERE conv_id = ? AND left_at IS NULL AND user_id IN (",
                &c->conv_id, 1, ")");
        }

        /* no mentions (most messages): one statement less */
        ctx->stage = 2;
        goto quote;

    case 2:
        if ((ngx_uint_t) yd_int(res, 0, 0) != c->nids) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                            "\"mentions\" may only list members of the "
                            "conversation");
        }

    quote:

        if (in->quote_seq == 0) {
            goto send;
        }

        return yd_sql(ctx,
            "SELECT sender_id, IF(recalled, '', "
            "LEFT(" YD_MSG_PREVIEW("body") ", 60)) "
            "FROM messages WHERE conv_id = ? AND seq = ? AND seq >= ? "
            "AND " YD_MSG_USER_KINDS, "iii", c->conv_id, in->quote_seq,
            c->joined_seq);

    default:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no message %L to quote in this conversation",
                            in->quote_seq);
        }

        c->saved = res;
        goto send;
    }

send:

    /* an image or file message gets its body once the file is checked,
     * inside the transaction */
    if (in->kind == YD_MSG_TEXT
        && yd_msg_body(ctx, c, in, NULL, NULL) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a reply to an app also goes to the app (a callback) */
    return yd_conv_start(ctx, NULL,
                         c->kind == YD_CONV_APP ? yd_app_reply_write
                                                : yd_msg_send_write,
                         NGX_HTTP_CREATED, 0);
}


/*
 * GET /conversations/:id/messages?after=S|before=S&limit=N: what the
 * caller may read: from his joined_seq, up to the seq at which he left
 */

static ngx_int_t
ngx_http_youdu_msg_list(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *list, *ev;
    int64_t                 after, before, limit, hi, last;
    ngx_int_t               rc;
    size_t                  bytes;
    ngx_uint_t              i, n;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        if (yd_query_int(ctx, "after", -1, 0, YD_SEQ_MAX, &after) != NGX_OK
            || yd_query_int(ctx, "before", -1, 1, YD_SEQ_MAX, &before)
               != NGX_OK
            || yd_query_int(ctx, "limit", YD_SYNC_DEFAULT, 1, YD_SYNC_MAX,
                            &limit) != NGX_OK)
        {
            return NGX_DONE;
        }

        if (after >= 0 && before >= 0) {
            return yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_QUERY,
                            "give either \"after\" or \"before\", not both");
        }

        c->flag = (before >= 0);
        c->seq = c->flag ? before : ngx_max(after, 0);
        c->target = limit;

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

        if (c->flag) {
            return yd_sql(ctx,
                "SELECT " YD_MSG_COLS " FROM messages m "
                "WHERE m.conv_id = ? AND m.seq < ? AND m.seq >= ? "
                "AND m.seq <= ? ORDER BY m.seq DESC LIMIT ?",
                "iiiii", c->conv_id, c->seq, c->joined_seq, hi,
                c->target + 1);
        }

        return yd_sql(ctx,
            "SELECT " YD_MSG_COLS " FROM messages m "
            "WHERE m.conv_id = ? AND m.seq > ? AND m.seq >= ? "
            "AND m.seq <= ? ORDER BY m.seq LIMIT ?",
            "iiiii", c->conv_id, c->seq, c->joined_seq, hi, c->target + 1);

    default:
        obj = json_object();
        list = json_array();
        if (obj == NULL || list == NULL) {
            json_decref(obj);
            json_decref(list);
            return NGX_ERROR;
        }

        n = ngx_min(res->nrows, (ngx_uint_t) c->target);

        /* rows come nearest to the cursor first, in both directions */
        for (i = 0, bytes = 0; i < n; i++) {
            bytes += yd_cell(res, i, 5)->len;

            if (i > 0 && bytes > YD_SYNC_MAX_BYTES) {
                break;
            }
        }

        n = i;

        for (i = 0; i < n; i++) {
            /* history is read backwards but returned in ascending order */
            ev = yd_conv_event(res, c->flag ? n - 1 - i : i);
            if (ev == NULL) {
                json_decref(obj);
                json_decref(list);
                return NGX_ERROR;
            }

            json_array_append_new(list, ev);
        }

        last = c->left ? ngx_min(c->left_seq, c->last_seq) : c->last_seq;

        json_object_set_new(obj, "messages", list);
        json_object_set_new(obj, "has_more", json_boolean(res->nrows > n));
        json_object_set_new(obj, "last_seq", json_integer(last));
        json_object_set_new(obj, "joined_seq", json_integer(c->joined_seq));

        return yd_ok(ctx, obj);
    }
}


/* POST /conversations/:id/read {"seq"}: never moves backwards */

static ngx_int_t
ngx_http_youdu_msg_read(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj;
    ngx_int_t               rc;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK
            || yd_json_int(ctx, ctx->body, "seq", 1, 0, YD_SEQ_MAX,
                           &c->target, NULL) != NGX_OK)
        {
            return NGX_DONE;
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

        return yd_sql(ctx,
            "UPDATE conversation_members m JOIN conversations c "
            "ON c.id = m.conv_id SET m.last_read_seq = "
            "GREATEST(m.last_read_seq, LEAST(?, c.last_seq)) "
            "WHERE m.conv_id = ? AND m.user_id = ?",
            "iii", c->target, c->conv_id, ctx->me.uid);

    case 2:
        c->flag = (res->affected > 0);

        return yd_sql(ctx,
            "SELECT m.last_read_seq, GREATEST(0, CAST(c.last_seq AS SIGNED) "
            "- GREATEST(CAST(m.last_read_seq AS SIGNED), "
            "CAST(m.joined_seq AS SIGNED) - 1)) "
            "FROM conversation_members m JOIN conversations c "
            "ON c.id = m.conv_id WHERE m.conv_id = ? AND m.user_id = ?",
            "ii", c->conv_id, ctx->me.uid);

    case 3:
        c->saved = res;

        if (!c->flag) {
            goto reply;
        }

        return yd_conv_select_to(ctx);

    case 4:
        c->to = res;

        c->event = json_object();
        if (c->event == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(c->event, "type", json_string("read"));
        json_object_set_new(c->event, "conv_id", json_integer(c->conv_id));
        json_object_set_new(c->event, "user_id", json_integer(ctx->me.uid));
        json_object_set_new(c->event, "seq", yd_json_cell_int(c->saved, 0, 0));

        if (yd_conv_publish(ctx, "read", c->event) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        goto reply;
    }

reply:

    obj = json_object();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(obj, "last_read_seq",
                        yd_json_cell_int(c->saved, 0, 0));
    json_object_set_new(obj, "unread", yd_json_cell_int(c->saved, 0, 1));

    return yd_ok(ctx, obj);
}


/* GET /conversations/:id/messages/:seq/reads: for the sender only */

static ngx_int_t
ngx_http_youdu_msg_reads(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *obj, *read, *unread, *e;
    ngx_int_t               rc;
    ngx_uint_t              i;
    yd_conv_t              *c;
    ngx_youdu_db_result_t  *res = ctx->res;

    c = yd_conv_state(ctx);
    if (c == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->stage) {

    case 0:
        if (yd_arg_int(ctx, 1, &c->target) != NGX_OK) {
            return NGX_DONE;
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

        return yd_sql(ctx,
            "SELECT sender_id FROM messages "
            "WHERE conv_id = ? AND seq = ? AND seq >= ?",
            "iii", c->conv_id, c->target, c->joined_seq);

    case 2:
        if (res->nrows == 0) {
            return yd_error(ctx, NGX_HTTP_NOT_FOUND, YD_ERR_NOT_FOUND,
                            "no message %L in this conversation", c->target);
        }

        if (yd_int(res, 0, 0) != ctx->me.uid) {
            return yd_error(ctx, NGX_HTTP_FORBIDDEN, YD_ERR_FORBIDDEN,
                            "only the sender may see who read a message");
        }

        /* the members who could read it: joined before it, still here */
        return yd_sql(ctx,
            "SELECT m.user_id, u.name, m.last_read_seq >= ? "
            "FROM conversation_members m JOIN users u ON u.id = m.user_id "
            "WHERE m.conv_id = ? AND m.left_at IS NULL AND m.user_id <> ? "
            "AND m.joined_seq <= ? ORDER BY m.user_id",
            "iiii", c->target, c->conv_id, ctx->me.uid, c->target);

    default:
        obj = json_object();
        read = json_array();
        unread = json_array();
        if (obj == NULL || read == NULL || unread == NULL) {
            json_decref(obj);
            json_decref(read);
            json_decref(unread);
            return NGX_ERROR;
        }

        for (i = 0; i < res->nrows; i++) {
            e = json_object();
            if (e == NULL) {
                continue;
            }

            json_object_set_new(e, "user_id", yd_json_cell_int(res, i, 0));
            json_object_set_new(e, "name", yd_json_cell(res, i, 1));
            json_array_append_new(yd_int(res, i, 2) ? read : unread, e);
        }

        json_object_set_new(obj, "read_count",
                            json_integer(json_array_size(read)));
        json_object_set_new(obj, "member_count", json_integer(res->nrows));
        json_object_set_new(obj, "read", read);
        json_object_set_new(obj, "unread", unread);

        return yd_ok(ctx, obj);
    }
}


const ngx_http_youdu_route_t  ngx_http_youdu_msg_routes[] = {
    { NGX_HTTP_POST, "/conversations/:id/messages", ngx_http_youdu_msg_send,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/conversations/:id/messages", ngx_http_youdu_msg_list,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_POST, "/conversations/:id/read", ngx_http_youdu_msg_read,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/conversations/:id/messages/:seq/reads",
      ngx_http_youdu_msg_reads, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_POST, "/conversations/:id/messages/:seq/recall",
      ngx_http_youdu_msg_recall, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_POST, "/conversations/:id/forward",
      ngx_http_youdu_msg_forward, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_GET, "/conversations/:id/messages/:seq/forward",
      ngx_http_youdu_msg_forward_items, YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_POST, "/conversations/:id/typing", ngx_http_youdu_msg_typing,
      YD_AUTH_USER, 0, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};
