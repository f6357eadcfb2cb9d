
/*
 * youdu: message audit (PROTOCOL.md section 5.3, the built-in app
 * sysMsgMonitor).  When that app is enabled with a key and a callback URL,
 * every message a user stores (text, image, file) is also queued, in the
 * same transaction, as a callback to it; its files become media ids of the
 * app so it can fetch them with /cgi/media/get.
 *
 * Whether the app is set up is read at most every YD_AUDIT_RECHECK ms per
 * worker, so a send pays nothing more while auditing is off.
 */


#include "ngx_http_youdu_conv.h"

#include <openssl/rand.h>


#define YD_AUDIT_RECHECK   5000


typedef struct {
    int64_t                   app_pk;
    ngx_str_t                 media_id;
    ngx_str_t                 payload;
} yd_audit_t;


static int64_t      yd_audit_app_pk;
static ngx_msec_t   yd_audit_checked;
static ngx_uint_t   yd_audit_known;


static ngx_int_t yd_msg_audit_payload(ngx_http_youdu_ctx_t *ctx,
    yd_conv_t *c, yd_audit_t *au);


ngx_int_t
yd_msg_audit(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step)
{
    u_char      rnd[16];
    yd_conv_t  *c = ctx->data;
    yd_audit_t *au;

    switch (step) {

    case 0:
        if (c->sender_id == 0 || ctx->me.account.len == 0
            || c->ev_kind < YD_MSG_TEXT || c->ev_kind > YD_MSG_FILE)
        {
            return NGX_DONE;
        }

        if (yd_audit_known
            && ngx_current_msec - yd_audit_checked < YD_AUDIT_RECHECK)
        {
            if (yd_audit_app_pk == 0) {
                return NGX_DONE;
            }

            c->step++;
            goto found;
        }

        return yd_sql(ctx,
            "SELECT id FROM apps WHERE app_id = 'sysMsgMonitor' "
            "AND enabled = 1 AND aes_key IS NOT NULL AND callback_url <> ''",
            "");

    case 1:
        yd_audit_known = 1;
        yd_audit_checked = ngx_current_msec;
        yd_audit_app_pk = ctx->res->nrows ? yd_int(ctx->res, 0, 0) : 0;

        if (yd_audit_app_pk == 0) {
            return NGX_DONE;
        }

    found:

        au = ngx_pcalloc(ctx->pool, sizeof(yd_audit_t));
        if (au == NULL) {
            return NGX_ERROR;
        }

        au->app_pk = yd_audit_app_pk;
        c->audit = au;

        if (c->ev_kind == YD_MSG_TEXT) {
            c->step++;
            goto callback;
        }

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return NGX_ERROR;
        }

        au->media_id.data = ngx_pnalloc(ctx->pool, 2 * sizeof(rnd));
        if (au->media_id.data == NULL) {
            return NGX_ERROR;
        }

        au->media_id.len = ngx_hex_dump(au->media_id.data, rnd, sizeof(rnd))
                           - au->media_id.data;

        return yd_sql(ctx,
            "INSERT INTO app_media (media_id, app_pk, file_id, type) "
            "SELECT ?, ?, CAST(JSON_VALUE(?, '$.file_id') AS UNSIGNED), ?",
            "sisz", &au->media_id, au->app_pk, &c->body,
            c->ev_kind == YD_MSG_IMAGE ? "image" : "file");

    case 2:
    callback:
        au = c->audit;

        if (yd_msg_audit_payload(ctx, c, au) != NGX_OK) {
            return NGX_ERROR;
        }

        if (c->kind == YD_CONV_DIRECT) {
            /* a 1:1 message names its receiver */
            return yd_sql(ctx,
                "INSERT INTO app_callbacks (app_pk, payload) "
                "SELECT ?, JSON_SET(?, '$.receiver', u.account) "
                "FROM conversation_members m JOIN users u ON u.id = m.user_id "
                "WHERE m.conv_id = ? AND m.user_id <> ? LIMIT 1",
                "isii", au->app_pk, &au->payload, c->conv_id, c->sender_id);
        }

        return yd_sql(ctx,
            "INSERT INTO app_callbacks (app_pk, payload) VALUES (?, ?)",
            "is", au->app_pk, &au->payload);

    default:
        /* one wake-up is enough: the worker polls every due row */
        if (c->callback_id == 0 && ctx->res->affected) {
            c->callback_id = ctx->res->insert_id;
        }

        return NGX_DONE;
    }
}


/*
 * {"fromUser","createTime","msgId","sessionId","version","msgType", body}:
 * text {"content"}; file {"name","media_id","size"}; an image is a
 * "complex" of one {"image_id","name","size"} fragment
 */

static ngx_int_t
yd_msg_audit_payload(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c, yd_audit_t *au)
{
    char        *s;
    json_t      *obj, *body, *part, *arr;
    u_char       sid[NGX_INT64_LEN];
    json_error_t err;

    body = json_loadb((char *) c->body.data, c->body.len, 0, &err);
    obj = json_object();

    if (body == NULL || obj == NULL) {
        json_decref(body);
        json_decref(obj);
        return NGX_ERROR;
    }

    json_object_set_new(obj, "fromUser", yd_jstr(&ctx->me.account));
    json_object_set_new(obj, "createTime", json_integer(ngx_time()));
    json_object_set_new(obj, "msgId", json_integer(c->seq));
    json_object_set_new(obj, "sessionId",
                        json_stringn((char *) sid,
                                     ngx_sprintf(sid, "%L", c->conv_id) - sid));
    json_object_set_new(obj, "version", json_integer(c->seq));

    part = json_object();
    if (part == NULL) {
        json_decref(body);
        json_decref(obj);
        return NGX_ERROR;
    }

    if (c->ev_kind == YD_MSG_TEXT) {
        json_object_set(part, "content", json_object_get(body, "text"));
        json_object_set_new(obj, "msgType", json_string("text"));
        json_object_set_new(obj, "text", part);

    } else {
        json_object_set(part, "name", json_object_get(body, "name"));
        json_object_set(part, "size", json_object_get(body, "size"));
        json_object_set_new(part, c->ev_kind == YD_MSG_IMAGE ? "image_id"
                                                              : "media_id",
                            yd_jstr(&au->media_id));

        if (c->ev_kind == YD_MSG_IMAGE) {
            arr = json_array();
            json_array_append_new(arr, part);
            json_object_set_new(obj, "msgType", json_string("complex"));
            json_object_set_new(obj, "complex", arr);

        } else {
            json_object_set_new(obj, "msgType", json_string("file"));
            json_object_set_new(obj, "file", part);
        }
    }

    json_decref(body);

    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);

    if (s == NULL) {
        return NGX_ERROR;
    }

    au->payload.len = ngx_strlen(s);
    au->payload.data = ngx_pnalloc(ctx->pool, au->payload.len);

    if (au->payload.data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(au->payload.data, s, au->payload.len);
    free(s);

    return NGX_OK;
}
