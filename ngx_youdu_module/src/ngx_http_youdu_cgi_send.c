
/*
 * youdu: POST /cgi/session/send {"sender", "sessionId" | "receiver",
 * "msgType", <msgType>: {...}} (PROTOCOL.md 4.8): a message by the sender,
 * through the REST send path, into a session or group he is a member of,
 * or into his 1:1 conversation with the receiver (made when missing).
 * Media are the app's uploads (app_media); they become message_files rows
 * so that the members can download them.
 */


#include "ngx_http_youdu_cgi_group.h"
#include "ngx_http_youdu_files.h"


static const char  *yd_cgi_sid_keys[] = { "sessionId", NULL };


typedef struct {
    const char   *name;
    int64_t       kind;
} yd_cgi_msg_type_t;


static const yd_cgi_msg_type_t  yd_cgi_msg_types[] = {
    { "text", YD_MSG_TEXT },
    { "image", YD_MSG_IMAGE },
    { "file", YD_MSG_FILE },
    { "voice", YD_MSG_FILE },
    { "video", YD_MSG_FILE },
    { NULL, 0 }
};


static ngx_int_t
yd_cgi_send_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, ngx_uint_t step)
{
    yd_cgi_grp_t  *g = c->in;

    switch (step) {

    case 0:
        return yd_conv_select_to(ctx);

    case 1:
        /* under the seq lock: still a member */
        if (!yd_conv_in_result(ctx->res, ctx->me.uid)) {
            return yd_cgi_fail(ctx, YD_CGI_GROUP_ACCESS_ERROR,
                               "the sender is not a member of this "
                               "session");
        }

        c->to = ctx->res;

        if (g->msg.kind == YD_MSG_TEXT) {
            return NGX_OK;
        }

        return yd_file_link_sql(ctx, g->msg.file_id, c->conv_id, c->seq);

    default:
        return NGX_OK;
    }
}


static ngx_int_t
yd_cgi_send_parse(ngx_http_youdu_ctx_t *ctx, yd_cgi_grp_t *g)
{
    json_t                   *body, *v;
    ngx_int_t                 rc;
    ngx_str_t                 type;
    const yd_cgi_msg_type_t  *t;

    rc = yd_cgi_str(ctx, "sender", &g->sender);

    if (rc != NGX_OK) {
        return yd_cgi_fail(ctx, rc == NGX_DECLINED
                                ? YD_CGI_MISS_USERID
                                : YD_CGI_INVALID_FORMAT_USERID,
                           "\"sender\" must be the account of a user");
    }

    if (yd_cgi_str(ctx, "sessionId", &g->key) == NGX_ERROR
        || yd_cgi_str(ctx, "receiver", &g->receiver) == NGX_ERROR
        || (g->key.len == 0) == (g->receiver.len == 0))
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "give either \"sessionId\" (a session or "
                           "group) or \"receiver\" (an account, 1:1)");
    }

    if (yd_cgi_str(ctx, "msgType", &type) != NGX_OK) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "\"msgType\" is missing");
    }

    for (t = yd_cgi_msg_types; t->name; t++) {
        if (type.len == ngx_strlen(t->name)
            && ngx_strncmp(type.data, t->name, type.len) == 0)
        {
            break;
        }
    }

    if (t->name == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "\"msgType\" must be text, image, file, voice "
                           "or video");
    }

    g->msg.kind = t->kind;
    g->media_type = t->name;

    body = yd_cgi_field(ctx, t->name);

    if (!json_is_object(body)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "\"%s\" must be an object with the message",
                           t->name);
    }

    if (t->kind == YD_MSG_TEXT) {
        v = yd_cgi_obj_get(body, "content");

        if (!json_is_string(v) || json_string_length(v) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "\"text\" needs a non-empty \"content\"");
        }

        g->msg.text.data = (u_char *) json_string_value(v);
        g->msg.text.len = json_string_length(v);

        rc = yd_valid_text(&g->msg.text, YD_TEXT_MAX, 1);

        if (rc != NGX_OK) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               rc == YD_ERR_TOO_LONG
                               ? "\"content\" is longer than 5000 characters"
                               : "\"content\" has invalid characters");
        }

        return NGX_OK;
    }

    v = yd_cgi_obj_get(body, "media_id");

    if (v == NULL) {
        v = yd_cgi_obj_get(body, "mediaId");
    }

    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > 64)
    {
        return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                           "\"%s\" needs the \"media_id\" of an upload "
                           "(/cgi/media/upload)", t->name);
    }

    g->media_id.data = (u_char *) json_string_value(v);
    g->media_id.len = json_string_length(v);

    v = yd_cgi_obj_get(body, "name");

    if (json_is_string(v) && json_string_length(v)) {
        g->file_name.data = (u_char *) json_string_value(v);
        g->file_name.len = json_string_length(v);

        if (yd_valid_text(&g->file_name, YD_FILE_NAME_MAX, 0) != NGX_OK) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                               "\"name\" must be a file name of at most "
                               "%d characters", YD_FILE_NAME_MAX);
        }
    }

    return NGX_OK;
}


/* the body of a media message: the file's fields, the given name, the
 * media type for voice and video (stored as files) */

static ngx_int_t
yd_cgi_send_media_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    yd_cgi_grp_t *g)
{
    char       *preview;
    json_t     *extra;
    ngx_int_t   rc;

    extra = json_object();
    if (extra == NULL) {
        return NGX_ERROR;
    }

    if (g->file_name.len && g->msg.kind == YD_MSG_FILE) {
        json_object_set_new(extra, "name", yd_jstr(&g->file_name));

        preview = NULL;
        if (asprintf(&preview, "[file] %.*s", (int) g->file_name.len,
                     g->file_name.data) < 0)
        {
            preview = NULL;
        }

        json_object_set_new(extra, "preview",
                            preview ? json_string(preview) : json_null());
        free(preview);
    }

    if (ngx_strcmp(g->media_type, "voice") == 0
        || ngx_strcmp(g->media_type, "video") == 0)
    {
        json_object_set_new(extra, "media_type", json_string(g->media_type));
    }

    rc = yd_msg_body(ctx, c, &g->msg, ctx->res, extra);
    json_decref(extra);

    return rc;
}


ngx_int_t
ngx_http_youdu_cgi_session_send(ngx_http_youdu_ctx_t *ctx)
{
    int64_t                 a, b;
    ngx_int_t               rc;
    ngx_uint_t              i;
    yd_conv_t              *c;
    yd_cgi_grp_t           *g;
    ngx_youdu_db_result_t  *res = ctx->res;

    g = yd_cgi_grp(ctx);
    if (g == NULL) {
        return NGX_ERROR;
    }

    c = ctx->data;

    if (c->driving) {
        return yd_conv_drive(ctx);
    }

    switch (ctx->stage) {

    case 0:
        rc = yd_cgi_send_parse(ctx, g);
        if (rc != NGX_OK) {
            return rc;
        }

        return yd_sql(ctx,
            "SELECT id, name, account = ? FROM users "
            "WHERE account IN (?, ?) AND enable_state = 1",
            "sss", &g->sender, &g->sender,
            g->receiver.len ? &g->receiver : &g->sender);

    case 1:
        /* the sender's row is flagged; the other one is the receiver */
        for (a = -1, b = -1, i = 0; i < res->nrows; i++) {
            if (yd_int(res, i, 2)) {
                a = i;

            } else {
                b = i;
            }
        }

        if (a < 0) {
            return yd_cgi_fail(ctx, YD_CGI_ACCOUNT_NOTEXIST,
                               "\"sender\": no enabled user with account "
                               "\"%V\"", &g->sender);
        }

        ctx->me.uid = yd_int(res, a, 0);
        ctx->me.name = *yd_cell(res, a, 1);

        if (g->receiver.len == 0) {
            if (yd_cgi_conv_id(ctx, yd_cgi_sid_keys, YD_CGI_INVALID_REQUEST2,
                               YD_CGI_GROUP_NOTEXIST, &c->conv_id)
                != NGX_OK)
            {
                return NGX_DONE;
            }

            ctx->stage = 6;
            return yd_conv_load_id(ctx);
        }

        if (b < 0) {
            return yd_cgi_fail(ctx, YD_CGI_ACCOUNT_NOTEXIST,
                               "\"receiver\": %s \"%V\"",
                               res->nrows ? "the sender himself:"
                                          : "no enabled user with account",
                               &g->receiver);
        }

        g->peer = yd_int(res, b, 0);

        a = ngx_min(ctx->me.uid, g->peer);
        b = ngx_max(ctx->me.uid, g->peer);

        g->key.data = ngx_pnalloc(ctx->pool, 48);
        if (g->key.data == NULL) {
            return NGX_ERROR;
        }

        g->key.len = ngx_sprintf(g->key.data, "%L:%L", a, b) - g->key.data;

        /* usually it exists: no transaction */
        return yd_sql(ctx, "SELECT id FROM conversations WHERE direct_key = ?",
                      "s", &g->key);

    case 2:
        if (res->nrows) {
            c->conv_id = yd_int(res, 0, 0);
            ctx->stage = 6;
            return yd_conv_load_id(ctx);
        }

        return yd_begin(ctx);

    case 3:
        /* the 1:1 conversation, made as POST /conversations would; a
         * concurrent maker waits on the key and we get its row */
        return yd_sql(ctx,
            "INSERT INTO conversations (kind, direct_key, member_count, "
            "created_at, last_msg_at) VALUES (1, ?, 2, UTC_TIMESTAMP(3), "
            "UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
            "s", &g->key);

    case 4:
        c->conv_id = res->insert_id;

        return yd_sql(ctx,
            "INSERT IGNORE INTO conversation_members (conv_id, user_id, role, "
            "joined_seq) VALUES (?, ?, 0, 1), (?, ?, 0, 1)",
            "iiii", c->conv_id, ctx->me.uid, c->conv_id, g->peer);

    case 5:
        return yd_commit(ctx);

    case 6:
        /* every path resumes at 7 */
        return yd_conv_load_id(ctx);

    case 7:
        (void) yd_conv_load(ctx, 1, 0);

        if (c->kind == 0 || c->dissolved) {
            return yd_cgi_fail(ctx, YD_CGI_GROUP_NOTEXIST,
                               "no session or group with id \"%V\"",
                               &g->key);
        }

        if (!c->member || c->left) {
            return yd_cgi_fail(ctx, YD_CGI_GROUP_ACCESS_ERROR,
                               "\"%V\" is not a member of this session",
                               &g->sender);
        }

        if (g->msg.kind == YD_MSG_TEXT) {
            if (yd_msg_body(ctx, c, &g->msg, NULL, NULL) != NGX_OK) {
                return NGX_ERROR;
            }

            goto send;
        }

        return yd_sql(ctx,
            "SELECT " YD_FILE_COLS " FROM app_media am "
            "JOIN files f ON f.id = am.file_id "
            "WHERE am.media_id = ? AND am.app_pk = ?",
            "si", &g->media_id, ctx->cgi->app_pk);

    default:
        if (res->nrows == 0) {
            return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                               "no media \"%V\" uploaded by this app",
                               &g->media_id);
        }

        if (g->msg.kind == YD_MSG_IMAGE && !yd_int(res, 0, 5)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FILETYPE,
                               "media \"%V\" is not an image: send it as "
                               "\"file\"", &g->media_id);
        }

        g->msg.file_id = yd_int(res, 0, 0);

        if (yd_cgi_send_media_body(ctx, c, g) != NGX_OK) {
            return NGX_ERROR;
        }

        goto send;
    }

send:

    /* no client_msg_id: an app's send is not deduplicated */
    c->client_msg_id = NULL;
    c->dup = NULL;

    /* messages are not audited (they are the messages table) */
    return yd_cgi_change(ctx, c, NULL, NULL, yd_cgi_send_write,
                         yd_cgi_done_global);
}
