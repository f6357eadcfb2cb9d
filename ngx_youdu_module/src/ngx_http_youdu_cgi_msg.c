
/*
 * youdu: POST /cgi/msg/send (PROTOCOL.md 4.1): every msgType of the seed
 * product, checked and normalised into a card
 *   {"app":{"app_id","name"},"msgType":T,T:{...},"preview":"..."}
 * that is stored as a kind 4 message in each receiver's app conversation.
 * Media ids are the app's own (app_media); the card carries the file's
 * fields and message_files rows let the receivers download it.
 */


#include "ngx_http_youdu_cgi_msg.h"
#include "ngx_http_youdu_files.h"
#include "ngx_youdu_utf8.h"


#define YD_CGI_TEXT_MAX       600
#define YD_CGI_TITLE_MAX      128
#define YD_CGI_URL_MAX        2048
#define YD_CGI_DIGEST_MAX     512
#define YD_CGI_ARTICLE_MAX    10000
#define YD_CGI_ITEMS_MAX      5
#define YD_CGI_SYSMSG_MAX     50
#define YD_CGI_MEDIA_MAX      64
#define YD_CGI_PREVIEW_MAX    100
#define YD_CGI_CARD_MAX       (256 * 1024)


typedef struct {
    ngx_str_t                 media_id;
    json_t                   *obj;         /* gets the file's fields */
    ngx_uint_t                image;       /* must be an image */
} yd_cgi_media_ref_t;


typedef struct yd_cgi_send_s  yd_cgi_send_t;

typedef ngx_int_t (*yd_cgi_msg_parse_pt)(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
/* the fields of one mpnews or exlink article after its title */
typedef ngx_int_t (*yd_cgi_article_pt)(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *item, const char *where, json_t *out);

typedef struct {
    const char               *name;
    ngx_uint_t                rights;      /* beyond YD_APP_RIGHT_MSG */
    yd_cgi_msg_parse_pt       parse;
    const char               *right_name;
} yd_cgi_msg_type_t;


struct yd_cgi_send_s {
    yd_cgi_recv_t             rv;
    yd_cgi_deliver_t          d;
    const yd_cgi_msg_type_t  *type;
    json_t                   *content;
    ngx_str_t                 preview;
    ngx_array_t               media;       /* yd_cgi_media_ref_t */
    ngx_uint_t                phase;
};


static ngx_int_t ngx_http_youdu_cgi_msg_send(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t yd_cgi_msg_text(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_media(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_mpnews(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_link(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_exlink(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_sysmsg(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_sms(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);
static ngx_int_t yd_cgi_msg_mail(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_send_t *s, json_t *in);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_msg_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/msg/send",
        ngx_http_youdu_cgi_msg_send, YD_AUTH_NONE, 0, YD_CGI_NEED_PAYLOAD },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_MSG },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


static const yd_cgi_msg_type_t  yd_cgi_msg_types[] = {
    { "text", 0, yd_cgi_msg_text, NULL },
    { "image", 0, yd_cgi_msg_media, NULL },
    { "file", 0, yd_cgi_msg_media, NULL },
    { "voice", 0, yd_cgi_msg_media, NULL },
    { "video", 0, yd_cgi_msg_media, NULL },
    { "mpnews", 0, yd_cgi_msg_mpnews, NULL },
    { "link", 0, yd_cgi_msg_link, NULL },
    { "exlink", 0, yd_cgi_msg_exlink, NULL },
    { "sysMsg", YD_APP_RIGHT_SYSMSG, yd_cgi_msg_sysmsg, "system messages" },
    { "sms", YD_APP_RIGHT_SMS, yd_cgi_msg_sms, "SMS" },
    { "mail", YD_APP_RIGHT_MAIL, yd_cgi_msg_mail, "mail notices" },
    { NULL, 0, NULL, NULL }
};


static void
yd_cgi_send_cleanup(void *data)
{
    yd_cgi_send_t  *s = data;

    json_decref(s->content);
}


/* a string field copied into out (absent: "" unless required) */

static ngx_int_t
yd_cgi_put_str(ngx_http_youdu_ctx_t *ctx, json_t *in, const char *where,
    const char *key, ngx_uint_t required, size_t max, json_t *out,
    ngx_str_t *value)
{
    ngx_int_t  rc;
    ngx_str_t  v;

    rc = yd_cgi_get_str(ctx, in, where, key, required, max, &v);

    if (rc == NGX_DECLINED) {
        ngx_str_set(&v, "");

    } else if (rc != NGX_OK) {
        return rc;
    }

    json_object_set_new(out, key, json_stringn((char *) v.data, v.len));

    if (value) {
        *value = v;
    }

    return NGX_OK;
}


static ngx_int_t
yd_cgi_put_int(ngx_http_youdu_ctx_t *ctx, json_t *in, const char *where,
    const char *key, const char *alt, int64_t min, int64_t max, int64_t def,
    json_t *out)
{
    int64_t    v;
    ngx_int_t  rc;

    v = def;
    rc = yd_cgi_get_int(ctx, in, where, key, min, max, &v);

    if (rc == NGX_DECLINED && alt) {
        rc = yd_cgi_get_int(ctx, in, where, alt, min, max, &v);
    }

    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    json_object_set_new(out, key, json_integer(v));
    return NGX_OK;
}


static ngx_int_t
yd_cgi_want_object(ngx_http_youdu_ctx_t *ctx, json_t *in, const char *what)
{
    if (!json_is_object(in)) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s must be an object", what);
    }

    return NGX_OK;
}


/* the preview of the conversation list, at most YD_CGI_PREVIEW_MAX chars */

static ngx_int_t
yd_cgi_set_preview(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s,
    const char *prefix, ngx_str_t *text)
{
    u_char  *p, *q, *end;
    size_t   n, plen;

    plen = ngx_strlen(prefix);
    n = text ? text->len : 0;

    p = ngx_pnalloc(ctx->pool, plen + n + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s->preview.data = p;
    p = ngx_cpymem(p, prefix, plen);

    if (text) {
        /* whole characters only; line breaks become spaces */
        end = text->data + text->len;

        for (q = text->data, n = plen; q < end && n < YD_CGI_PREVIEW_MAX;
             n++)
        {
            if (*q < 0x80) {
                q++;

            } else if (ngx_utf8_decode(&q, end - q) > 0x10ffff) {
                break;
            }
        }

        p = ngx_cpymem(p, text->data, q - text->data);

        for (q = s->preview.data; q < p; q++) {
            if (*q == '\n' || *q == '\r' || *q == '\t') {
                *q = ' ';
            }
        }
    }

    s->preview.len = p - s->preview.data;
    return NGX_OK;
}


/* a media id of this app, resolved later */

static ngx_int_t
yd_cgi_media(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in,
    const char *where, ngx_uint_t required, ngx_uint_t image, json_t *out)
{
    ngx_int_t            rc;
    ngx_str_t            id;
    yd_cgi_media_ref_t  *ref;

    rc = yd_cgi_get_str(ctx, in, where, "media_id", required,
                        YD_CGI_MEDIA_MAX, &id);

    if (rc == NGX_DECLINED) {
        json_object_set_new(out, "media_id", json_string(""));
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    json_object_set_new(out, "media_id", json_stringn((char *) id.data,
                                                      id.len));

    ref = ngx_array_push(&s->media);
    if (ref == NULL) {
        return NGX_ERROR;
    }

    ref->media_id = id;
    ref->obj = out;
    ref->image = image;

    return NGX_OK;
}


/* the msgTypes */


static ngx_int_t
yd_cgi_msg_text(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    ngx_int_t  rc;
    ngx_str_t  text;

    rc = yd_cgi_want_object(ctx, in, "text");
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "text", "content", 1, YD_CGI_TEXT_MAX,
                            s->content, &text);
    }

    return (rc == NGX_OK) ? yd_cgi_set_preview(ctx, s, "", &text) : rc;
}


/* image, file, voice, video: {"media_id"} */

static ngx_int_t
yd_cgi_msg_media(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    ngx_int_t    rc;
    const char  *t = s->type->name;

    rc = yd_cgi_want_object(ctx, in, t);
    if (rc == NGX_OK) {
        rc = yd_cgi_media(ctx, s, in, t, 1, ngx_strcmp(t, "image") == 0,
                          s->content);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    /* a file's preview names it once the file is known */
    return yd_cgi_set_preview(ctx, s,
                              t[0] == 'i' ? "[image]"
                              : t[0] == 'v' && t[1] == 'o' ? "[voice]"
                              : t[0] == 'v' ? "[video]" : "[file]", NULL);
}


/* arrays of at most 5 items (a single object is one item) */

static ngx_int_t
yd_cgi_items(ngx_http_youdu_ctx_t *ctx, json_t *in, const char *what,
    size_t max, json_t **list)
{
    json_t  *v;
    size_t   i;

    if (json_is_object(in)) {
        *list = json_pack("[O]", in);

    } else if (json_is_array(in) && json_array_size(in) > 0
               && json_array_size(in) <= max)
    {
        json_array_foreach(in, i, v) {
            if (!json_is_object(v)) {
                return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                                   "%s[%uz] must be an object", what, i);
            }
        }

        *list = json_incref(in);

    } else {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "%s must be an array of 1 to %uz objects",
                           what, max);
    }

    return *list ? NGX_OK : NGX_ERROR;
}


/*
 * an array (at most 5) of articles, each with a "title" and the fields
 * its kind adds; the first title is the preview
 */

static ngx_int_t
yd_cgi_msg_articles(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in,
    const char *key, yd_cgi_article_pt fields)
{
    char        where[32];
    json_t     *list, *item, *out, *arr;
    size_t      i;
    ngx_int_t   rc;
    ngx_str_t   title, first;

    list = NULL;

    rc = yd_cgi_items(ctx, in, key, YD_CGI_ITEMS_MAX, &list);
    if (rc != NGX_OK) {
        return rc;
    }

    arr = json_array();
    if (arr == NULL) {
        json_decref(list);
        return NGX_ERROR;
    }

    json_object_set_new(s->content, "items", arr);
    ngx_str_null(&first);

    json_array_foreach(list, i, item) {
        ngx_sprintf((u_char *) where, "%s[%uz]%Z", key, i);

        out = json_object();
        if (out == NULL || json_array_append_new(arr, out) != 0) {
            rc = NGX_ERROR;
            break;
        }

        rc = yd_cgi_put_str(ctx, item, where, "title", 1, YD_CGI_TITLE_MAX,
                            out, &title);
        if (rc == NGX_OK) {
            rc = fields(ctx, s, item, where, out);
        }

        if (rc != NGX_OK) {
            break;
        }

        if (i == 0) {
            first = title;
        }
    }

    json_decref(list);

    return (rc == NGX_OK) ? yd_cgi_set_preview(ctx, s, "", &first) : rc;
}


static ngx_int_t
yd_cgi_mpnews_fields(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s,
    json_t *item, const char *where, json_t *out)
{
    ngx_int_t  rc;

    rc = yd_cgi_media(ctx, s, item, where, 0, 0, out);
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, item, where, "content", 0,
                            YD_CGI_ARTICLE_MAX, out, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, item, where, "digest", 0,
                            YD_CGI_DIGEST_MAX, out, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, item, where, "url", 0, YD_CGI_URL_MAX,
                            out, NULL);
    }
    if (rc == NGX_OK) {
        /* go-packagist/youdu spells it show_front */
        rc = yd_cgi_put_int(ctx, item, where, "showFront", "show_front",
                            0, 1, 0, out);
    }

    return rc;
}


static ngx_int_t
yd_cgi_msg_mpnews(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    return yd_cgi_msg_articles(ctx, s, in, "mpnews", yd_cgi_mpnews_fields);
}


static ngx_int_t
yd_cgi_link_fields(ngx_http_youdu_ctx_t *ctx, json_t *in, const char *where,
    json_t *out, ngx_str_t *title)
{
    ngx_int_t  rc;

    rc = yd_cgi_put_str(ctx, in, where, "title", 1, YD_CGI_TITLE_MAX, out,
                        title);
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, where, "url", 1, YD_CGI_URL_MAX, out,
                            NULL);
    }
    if (rc == NGX_OK) {
        /* 1: the client appends the user and an SSO token to the URL */
        rc = yd_cgi_put_int(ctx, in, where, "action", NULL, 0, 1, 0, out);
    }

    return rc;
}


static ngx_int_t
yd_cgi_msg_link(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    ngx_int_t  rc;
    ngx_str_t  title;

    rc = yd_cgi_want_object(ctx, in, "link");
    if (rc == NGX_OK) {
        rc = yd_cgi_link_fields(ctx, in, "link", s->content, &title);
    }

    return (rc == NGX_OK) ? yd_cgi_set_preview(ctx, s, "", &title) : rc;
}


static ngx_int_t
yd_cgi_exlink_fields(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s,
    json_t *item, const char *where, json_t *out)
{
    ngx_int_t  rc;

    rc = yd_cgi_put_str(ctx, item, where, "url", 1, YD_CGI_URL_MAX,
                        out, NULL);
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, item, where, "digest", 0,
                            YD_CGI_DIGEST_MAX, out, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_media(ctx, s, item, where, 0, 0, out);
    }
    /* the Java SDK's extra fields */
    if (rc == NGX_OK) {
        rc = yd_cgi_put_int(ctx, item, where, "link_type", NULL,
                            INT32_MIN, INT32_MAX, 0, out);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, item, where, "subtitle", 0,
                            YD_CGI_TITLE_MAX, out, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, item, where, "link_desc", 0,
                            YD_CGI_DIGEST_MAX, out, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_int(ctx, item, where, "date_hide", NULL,
                            INT32_MIN, INT32_MAX, 0, out);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_int(ctx, item, where, "tail_hide", NULL,
                            INT32_MIN, INT32_MAX, 0, out);
    }

    return rc;
}


static ngx_int_t
yd_cgi_msg_exlink(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    return yd_cgi_msg_articles(ctx, s, in, "exlink", yd_cgi_exlink_fields);
}


/* {"title","popDuration"?,"msg":[{"text":{"content"}}|{"link":{...}}]} */

static ngx_int_t
yd_cgi_msg_sysmsg(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    char        where[40];
    json_t     *msg, *item, *part, *arr, *out, *wrap;
    size_t      i;
    int64_t     pop;
    ngx_int_t   rc;
    ngx_str_t   title, text, first;

    rc = yd_cgi_want_object(ctx, in, "sysMsg");
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "sysMsg", "title", 0, YD_CGI_TITLE_MAX,
                            s->content, &title);
    }
    if (rc != NGX_OK) {
        return rc;
    }

    /* seconds the popup stays; <= 0 until closed; absent: the client's */
    rc = yd_cgi_get_int(ctx, in, "sysMsg", "popDuration", INT32_MIN,
                        INT32_MAX, &pop);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    json_object_set_new(s->content, "popDuration",
                        rc == NGX_OK ? json_integer(pop) : json_null());

    msg = yd_cgi_obj_get(in, "msg");

    if (!json_is_array(msg) || json_array_size(msg) == 0
        || json_array_size(msg) > YD_CGI_SYSMSG_MAX)
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "sysMsg.msg must be an array of 1 to %d "
                           "{\"text\":{\"content\"}} or {\"link\":{\"title\","
                           "\"url\",\"action\"}} objects", YD_CGI_SYSMSG_MAX);
    }

    arr = json_array();
    if (arr == NULL) {
        return NGX_ERROR;
    }

    json_object_set_new(s->content, "msg", arr);
    first = title;

    json_array_foreach(msg, i, item) {
        text.len = 0;
        part = json_is_object(item) ? yd_cgi_obj_get(item, "text") : NULL;

        wrap = json_object();
        out = json_object();
        if (wrap == NULL || out == NULL || json_array_append_new(arr, wrap)) {
            json_decref(out);
            return NGX_ERROR;
        }

        if (json_is_object(part)) {
            json_object_set_new(wrap, "text", out);
            ngx_sprintf((u_char *) where, "sysMsg.msg[%uz].text%Z", i);
            rc = yd_cgi_put_str(ctx, part, where, "content", 1, 2000, out,
                                &text);

        } else {
            part = json_is_object(item) ? yd_cgi_obj_get(item, "link")
                                        : NULL;

            if (!json_is_object(part)) {
                json_decref(out);
                return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                                   "sysMsg.msg[%uz] must be {\"text\":"
                                   "{\"content\"}} or {\"link\":{\"title\","
                                   "\"url\",\"action\"}}", i);
            }

            json_object_set_new(wrap, "link", out);
            ngx_sprintf((u_char *) where, "sysMsg.msg[%uz].link%Z", i);
            rc = yd_cgi_link_fields(ctx, part, where, out, &text);
        }

        if (rc != NGX_OK) {
            return rc;
        }

        if (first.len == 0) {
            first = text;
        }
    }

    return yd_cgi_set_preview(ctx, s, "", &first);
}


/* an inbound SMS reply: {"from","content"} */

static ngx_int_t
yd_cgi_msg_sms(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t   from, text, all;

    rc = yd_cgi_want_object(ctx, in, "sms");
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "sms", "from", 1, 32, s->content,
                            &from);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "sms", "content", 1, 1000, s->content,
                            &text);
    }
    if (rc != NGX_OK) {
        return rc;
    }

    all.data = ngx_pnalloc(ctx->pool, from.len + text.len + 2);
    if (all.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(all.data, from.data, from.len);
    *p++ = ':';
    *p++ = ' ';
    all.len = ngx_cpymem(p, text.data, text.len) - all.data;

    return yd_cgi_set_preview(ctx, s, "[SMS] ", &all);
}


/* a mail notice: {"action","subject","fromUser","fromEmail","time",
 * "link","unreadCount"}; time in seconds (milliseconds are converted) */

static ngx_int_t
yd_cgi_msg_mail(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s, json_t *in)
{
    u_char      buf[64];
    int64_t     t, unread;
    ngx_int_t   rc;
    ngx_str_t   action, subject, n;

    rc = yd_cgi_want_object(ctx, in, "mail");
    if (rc == NGX_OK) {
        rc = yd_cgi_get_str(ctx, in, "mail", "action", 0, 16, &action);
    }
    if (rc == NGX_DECLINED) {
        ngx_str_set(&action, "new");
        rc = NGX_OK;
    }
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(action.len == 3 && ngx_strncmp(action.data, "new", 3) == 0)
        && !(action.len == 6 && ngx_strncmp(action.data, "unread", 6) == 0))
    {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "mail.action must be \"new\" or \"unread\"");
    }

    json_object_set_new(s->content, "action",
                        json_stringn((char *) action.data, action.len));

    rc = yd_cgi_put_str(ctx, in, "mail", "subject", 0, 256, s->content,
                        &subject);
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "mail", "fromUser", 0, YD_CGI_TITLE_MAX,
                            s->content, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "mail", "fromEmail", 0, 256,
                            s->content, NULL);
    }
    if (rc == NGX_OK) {
        rc = yd_cgi_put_str(ctx, in, "mail", "link", 0, YD_CGI_URL_MAX,
                            s->content, NULL);
    }
    if (rc != NGX_OK) {
        return rc;
    }

    t = 0;
    rc = yd_cgi_get_int(ctx, in, "mail", "time", 0, INT64_MAX / 2, &t);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    /* the Java SDK's example sends milliseconds, the docs seconds */
    if (t > 100000000000LL) {
        t /= 1000;
    }

    json_object_set_new(s->content, "time", json_integer(t));

    unread = 0;
    rc = yd_cgi_get_int(ctx, in, "mail", "unreadCount", 0, INT32_MAX,
                        &unread);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    json_object_set_new(s->content, "unreadCount", json_integer(unread));

    if (action.len == 6) {
        n.data = buf;
        n.len = ngx_sprintf(buf, "%L unread", unread) - buf;
        return yd_cgi_set_preview(ctx, s, "[mail] ", &n);
    }

    return yd_cgi_set_preview(ctx, s, "[mail] ", &subject);
}


/* the handler */


static ngx_int_t
yd_cgi_send_parse(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s)
{
    json_t                   *in;
    ngx_int_t                 rc;
    ngx_str_t                 type;
    const yd_cgi_msg_type_t  *t;
    ngx_http_youdu_cgi_t     *cgi = ctx->cgi;

    rc = yd_cgi_get_str(ctx, cgi->data, "", "msgType", 1, 16, &type);
    if (rc != NGX_OK) {
        return rc;
    }

    for (t = yd_cgi_msg_types; t->name; t++) {
        if (ngx_strlen(t->name) == type.len
            && ngx_strncasecmp((u_char *) t->name, type.data, type.len) == 0)
        {
            break;
        }
    }

    if (t->name == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "unknown msgType \"%V\": text, image, file, "
                           "mpnews, link, exlink, sysMsg, sms, mail, voice "
                           "or video", &type);
    }

    if ((cgi->rights & t->rights) != t->rights) {
        return yd_cgi_fail(ctx, YD_CGI_NORIGHT,
                           "this app may not send %s (msgType %s): use the "
                           "built-in app for it or ask an admin for the "
                           "right", t->right_name, t->name);
    }

    s->type = t;

    /* the body sits under the key named by msgType (mpNews, Mail too) */
    in = yd_cgi_field(ctx, t->name);

    if (in == NULL) {
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "the message body \"%s\" is missing", t->name);
    }

    if (ngx_array_init(&s->media, ctx->pool, 2, sizeof(yd_cgi_media_ref_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = t->parse(ctx, s, in);
    if (rc != NGX_OK) {
        return rc;
    }

    return yd_cgi_recv_parse(ctx, &s->rv, t->rights == YD_APP_RIGHT_SYSMSG,
                             t->rights == YD_APP_RIGHT_MAIL);
}


/* the app's media of the message, with their files */

static ngx_int_t
yd_cgi_send_media_sql(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s)
{
    ngx_uint_t           i;
    yd_sqlb_t            b;
    yd_cgi_media_ref_t  *ref = s->media.elts;

    if (yd_sqlb_init(ctx->pool, &b, 400 + 3 * s->media.nelts,
                     s->media.nelts + 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    yd_sqlb_text(&b, "SELECT m.media_id, " YD_FILE_COLS " FROM app_media m "
                     "JOIN files f ON f.id = m.file_id "
                     "WHERE m.app_pk = ? AND m.media_id IN (");
    yd_sqlb_int(ctx->pool, &b, ctx->cgi->app_pk);

    for (i = 0; i < s->media.nelts; i++) {
        yd_sqlb_text(&b, i ? ", ?" : "?");
        yd_sqlb_str(&b, &ref[i].media_id);
    }

    yd_sqlb_text(&b, ")");

    return yd_sqlb_run(ctx, &b);
}


static ngx_int_t
yd_cgi_send_media_fill(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s)
{
    json_t                 *f;
    ngx_str_t              *cell, name;
    ngx_uint_t              i, r, j;
    yd_cgi_media_ref_t     *ref = s->media.elts;
    ngx_youdu_db_result_t  *res = ctx->res;

    s->d.file_ids = ngx_palloc(ctx->pool,
                               (s->media.nelts + 1) * sizeof(int64_t));
    if (s->d.file_ids == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->media.nelts; i++) {
        for (r = 0; r < res->nrows; r++) {
            cell = yd_cell(res, r, 0);

            if (cell->len == ref[i].media_id.len
                && ngx_strncmp(cell->data, ref[i].media_id.data, cell->len)
                   == 0)
            {
                break;
            }
        }

        if (r == res->nrows) {
            return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                               "no media \"%V\" of this app: upload it "
                               "with /cgi/media/upload first",
                               &ref[i].media_id);
        }

        /* the file columns follow the media id */
        if (ref[i].image && !yd_int(res, r, 1 + 5)) {
            return yd_cgi_fail(ctx, YD_CGI_INVALID_FILETYPE,
                               "media \"%V\" is not an image: send it as "
                               "msgType file", &ref[i].media_id);
        }

        /* yd_file_json() reads YD_FILE_COLS from column 0: shift the
         * row by the media id column */
        res->cells += 1;
        f = yd_file_json(res, r);
        res->cells -= 1;

        if (f == NULL) {
            return NGX_ERROR;
        }

        json_object_set(ref[i].obj, "file_id", json_object_get(f, "id"));
        json_object_set(ref[i].obj, "name", json_object_get(f, "name"));
        json_object_set(ref[i].obj, "size", json_object_get(f, "size"));
        json_object_set(ref[i].obj, "mime", json_object_get(f, "mime"));

        if (json_is_true(json_object_get(f, "is_image"))) {
            json_object_set(ref[i].obj, "width", json_object_get(f, "width"));
            json_object_set(ref[i].obj, "height",
                            json_object_get(f, "height"));
            json_object_set(ref[i].obj, "thumb", json_object_get(f, "thumb"));
        }

        json_decref(f);

        for (j = 0; j < s->d.nfiles; j++) {
            if (s->d.file_ids[j] == yd_int(res, r, 1)) {
                break;
            }
        }

        if (j == s->d.nfiles) {
            s->d.file_ids[s->d.nfiles++] = yd_int(res, r, 1);
        }

        if (ref[i].obj == s->content && s->type->name[0] == 'f') {
            /* "[file] report.pdf" */
            name = *yd_cell(res, r, 2);

            if (yd_cgi_set_preview(ctx, s, "[file] ", &name) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* the card as stored and pushed */

static ngx_int_t
yd_cgi_send_card(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s)
{
    char    *text;
    json_t  *card, *app;

    card = json_object();
    app = json_object();
    if (card == NULL || app == NULL) {
        json_decref(card);
        json_decref(app);
        return NGX_ERROR;
    }

    json_object_set_new(app, "app_id", yd_jstr(&ctx->cgi->app_id));
    json_object_set_new(app, "name", yd_jstr(&ctx->cgi->app_name));
    json_object_set_new(card, "app", app);
    json_object_set_new(card, "msgType", json_string(s->type->name));
    json_object_set(card, s->type->name, s->content);
    json_object_set_new(card, "preview", yd_jstr(&s->preview));

    text = json_dumps(card, JSON_COMPACT);
    json_decref(card);

    if (text == NULL) {
        return NGX_ERROR;
    }

    s->d.body.len = ngx_strlen(text);

    if (s->d.body.len > YD_CGI_CARD_MAX) {
        free(text);
        return yd_cgi_fail(ctx, YD_CGI_INVALID_REQUEST2,
                           "the message is too large (at most %d bytes "
                           "as JSON)", YD_CGI_CARD_MAX);
    }

    s->d.body.data = ngx_pnalloc(ctx->pool, s->d.body.len + 1);
    if (s->d.body.data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(s->d.body.data, text, s->d.body.len + 1);
    free(text);

    return NGX_OK;
}


static ngx_int_t
yd_cgi_send_audit(ngx_http_youdu_ctx_t *ctx, yd_cgi_send_t *s)
{
    char       *text;
    json_t     *detail;
    ngx_str_t  *d;

    detail = json_pack("{s:s%, s:s, s:I, s:I}",
                       "app_id", ctx->cgi->app_id.data,
                       ctx->cgi->app_id.len,
                       "msgType", s->type->name,
                       "receivers", (json_int_t) s->rv.nuids,
                       "invalid", (json_int_t) s->rv.ninvalid);
    text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);

    d = NULL;

    if (text) {
        d = ngx_palloc(ctx->pool, sizeof(ngx_str_t));
        if (d) {
            d->len = ngx_strlen(text);
            d->data = ngx_pnalloc(ctx->pool, d->len);
            if (d->data == NULL) {
                d = NULL;

            } else {
                ngx_memcpy(d->data, text, d->len);
            }
        }

        free(text);
    }

    return yd_sql(ctx,
        "INSERT INTO audit_log (actor_id, action, target, detail, ip) "
        "VALUES (NULL, 'cgi.msg.send', ?, ?, ?)",
        "sns", &ctx->cgi->app_id, d, &ctx->client_ip);
}


enum {
    YD_SEND_MEDIA = 0,
    YD_SEND_RECV,
    YD_SEND_DELIVER,
    YD_SEND_AUDIT,
    YD_SEND_REPLY
};


static ngx_int_t
ngx_http_youdu_cgi_msg_send(ngx_http_youdu_ctx_t *ctx)
{
    ngx_int_t            rc;
    yd_cgi_send_t       *s;
    ngx_pool_cleanup_t  *cln;

    s = ctx->data;

    if (ctx->stage == 0) {
        s = ngx_pcalloc(ctx->pool, sizeof(yd_cgi_send_t));
        cln = ngx_pool_cleanup_add(ctx->pool, 0);
        if (s == NULL || cln == NULL) {
            return NGX_ERROR;
        }

        s->content = json_object();
        if (s->content == NULL) {
            return NGX_ERROR;
        }

        cln->handler = yd_cgi_send_cleanup;
        cln->data = s;
        ctx->data = s;

        rc = yd_cgi_send_parse(ctx, s);
        if (rc != NGX_OK) {
            return rc;
        }

        if (s->media.nelts) {
            return yd_cgi_send_media_sql(ctx, s);
        }

        s->phase = YD_SEND_RECV;

        rc = yd_cgi_send_card(ctx, s);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    for ( ;; ) {

        switch (s->phase) {

        case YD_SEND_MEDIA:
            rc = yd_cgi_send_media_fill(ctx, s);
            if (rc == NGX_OK) {
                rc = yd_cgi_send_card(ctx, s);
            }

            if (rc != NGX_OK) {
                return rc;
            }

            s->phase = YD_SEND_RECV;
            break;

        case YD_SEND_RECV:
            rc = yd_cgi_recv_resolve(ctx, &s->rv);
            if (rc != NGX_OK) {
                return rc;
            }

            s->d.uids = s->rv.uids;
            s->d.nuids = s->rv.nuids;
            s->phase = s->d.nuids ? YD_SEND_DELIVER : YD_SEND_REPLY;
            break;

        case YD_SEND_DELIVER:
            rc = yd_cgi_deliver(ctx, &s->d);
            if (rc != NGX_OK) {
                return rc;
            }

            s->phase = YD_SEND_AUDIT;
            return yd_cgi_send_audit(ctx, s);

        case YD_SEND_AUDIT:
            s->phase = YD_SEND_REPLY;
            break;

        default:
            /* receivers that match nobody: 200007 naming them, the
             * others have it (docs/cgi.md) */
            return yd_cgi_recv_reply(ctx, &s->rv);
        }
    }
}
