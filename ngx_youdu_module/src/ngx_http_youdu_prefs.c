
/*
 * youdu HTTP module: a user's preferences, shared by all his devices
 * (docs/api.md "Preferences"): do not disturb, notifications, language,
 * idle lock.  The row keeps only what the user set (known keys only), the
 * reply lays it over the defaults; a change bumps the version and is
 * pushed to every device of the user as {"type":"preferences",...}.
 */


#include "ngx_http_youdu_module.h"
#include "ngx_http_youdu_cgi_msg.h"      /* yd_cgi_push() */


#define YD_PREFS_BODY_MAX   (16 * 1024)
#define YD_PREFS_IDLE_MAX   1440       /* minutes: a day */

#define YD_PREFS_DEFAULTS                                                     \
    "{\"dnd\":{\"enabled\":false,\"from\":\"22:00\",\"to\":\"08:00\"},"       \
    "\"notify\":{\"desktop\":true,\"preview\":true,\"sound\":true},"          \
    "\"language\":\"zh-CN\",\"lock\":{\"idle_minutes\":0}}"


typedef enum {
    YD_PREF_BOOL = 0,
    YD_PREF_TIME,                  /* "HH:MM", 00:00 .. 23:59 */
    YD_PREF_LANG,
    YD_PREF_MINUTES
} ngx_http_youdu_pref_kind_e;


typedef struct {
    const char                   *group;   /* NULL: a top-level value */
    const char                   *key;
    ngx_http_youdu_pref_kind_e    kind;
} ngx_http_youdu_pref_t;


typedef struct {
    json_t                       *patch;   /* the request body */
    json_t                       *stored;  /* known keys of the row */
    json_t                       *merged;
    int64_t                       version;
} ngx_http_youdu_prefs_t;


static ngx_int_t ngx_http_youdu_prefs_get(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_prefs_put(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_prefs_check(ngx_http_youdu_ctx_t *ctx,
    json_t *body);
static ngx_int_t ngx_http_youdu_pref_valid(const ngx_http_youdu_pref_t *p,
    json_t *v, const char **why);
static json_t *ngx_http_youdu_pref_get(json_t *obj,
    const ngx_http_youdu_pref_t *p);
static ngx_int_t ngx_http_youdu_pref_set(json_t *obj,
    const ngx_http_youdu_pref_t *p, json_t *v);
static json_t *ngx_http_youdu_prefs_known(json_t *from);
static json_t *ngx_http_youdu_prefs_reply(json_t *stored, int64_t version,
    ngx_uint_t event);
static ngx_int_t ngx_http_youdu_prefs_ok(ngx_http_youdu_ctx_t *ctx,
    json_t *stored, int64_t version);
static void ngx_http_youdu_prefs_cleanup(void *data);


static const ngx_http_youdu_pref_t  ngx_http_youdu_prefs[] = {
    { "dnd", "enabled", YD_PREF_BOOL },
    { "dnd", "from", YD_PREF_TIME },
    { "dnd", "to", YD_PREF_TIME },
    { "notify", "desktop", YD_PREF_BOOL },
    { "notify", "preview", YD_PREF_BOOL },
    { "notify", "sound", YD_PREF_BOOL },
    { NULL, "language", YD_PREF_LANG },
    { "lock", "idle_minutes", YD_PREF_MINUTES },
    { NULL, NULL, 0 }
};


const ngx_http_youdu_route_t  ngx_http_youdu_prefs_routes[] = {
    { NGX_HTTP_GET, "/me/preferences", ngx_http_youdu_prefs_get,
      YD_AUTH_USER, 0, 0 },
    { NGX_HTTP_PUT, "/me/preferences", ngx_http_youdu_prefs_put,
      YD_AUTH_USER, YD_PREFS_BODY_MAX, 0 },
    { 0, NULL, NULL, 0, 0, 0 }
};


static ngx_http_youdu_prefs_t *
ngx_http_youdu_prefs_new(ngx_http_youdu_ctx_t *ctx)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_youdu_prefs_t  *st;

    st = ngx_pcalloc(ctx->pool, sizeof(ngx_http_youdu_prefs_t));
    if (st == NULL) {
        return NULL;
    }

    /* the JSON values are jansson's (malloc): freed with the request */
    cln = ngx_pool_cleanup_add(ctx->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_youdu_prefs_cleanup;
    cln->data = st;
    ctx->data = st;

    return st;
}


static void
ngx_http_youdu_prefs_cleanup(void *data)
{
    ngx_http_youdu_prefs_t  *st = data;

    json_decref(st->stored);
    json_decref(st->merged);
}


/* the row's JSON text, reduced to the known keys with valid values */

static json_t *
ngx_http_youdu_prefs_row(ngx_youdu_db_result_t *res)
{
    json_t     *obj, *known;
    ngx_str_t  *c;

    if (res->nrows == 0 || (c = yd_cell(res, 0, 0))->data == NULL) {
        return json_object();
    }

    obj = json_loadb((const char *) c->data, c->len, 0, NULL);
    known = ngx_http_youdu_prefs_known(obj);
    json_decref(obj);

    return known;
}


/* GET /me/preferences */

static ngx_int_t
ngx_http_youdu_prefs_get(ngx_http_youdu_ctx_t *ctx)
{
    ngx_http_youdu_prefs_t  *st;

    switch (ctx->stage) {

    case 0:
        return yd_sql(ctx,
            "SELECT prefs, version FROM user_preferences WHERE user_id = ?",
            "i", ctx->me.uid);

    default:
        st = ngx_http_youdu_prefs_new(ctx);
        if (st == NULL) {
            return NGX_ERROR;
        }

        st->stored = ngx_http_youdu_prefs_row(ctx->res);
        if (st->stored == NULL) {
            return NGX_ERROR;
        }

        st->version = ctx->res->nrows ? yd_int(ctx->res, 0, 1) : 0;

        return ngx_http_youdu_prefs_ok(ctx, st->stored, st->version);
    }
}


/*
 * PUT /me/preferences: a partial object merged key by key into the stored
 * one.  The row is locked (inserted empty first, so that two first
 * changes of the user do not deadlock on a gap lock) and read, merged,
 * written with version + 1, committed, then published on yd:push.
 */

static ngx_int_t
ngx_http_youdu_prefs_put(ngx_http_youdu_ctx_t *ctx)
{
    char                         *s;
    json_t                       *v, *ev;
    ngx_int_t                     rc;
    ngx_str_t                     text;
    ngx_http_youdu_prefs_t       *st = ctx->data;
    const ngx_http_youdu_pref_t  *p;

    switch (ctx->stage) {

    case 0:
        if (yd_require_body(ctx) != NGX_OK
            || ngx_http_youdu_prefs_check(ctx, ctx->body) != NGX_OK)
        {
            return NGX_DONE;
        }

        st = ngx_http_youdu_prefs_new(ctx);
        if (st == NULL) {
            return NGX_ERROR;
        }

        st->patch = ctx->body;

        return yd_begin(ctx);

    case 1:
        return yd_sql(ctx,
            "INSERT INTO user_preferences (user_id, prefs, version) "
            "VALUES (?, '{}', 0) ON DUPLICATE KEY UPDATE version = version",
            "i", ctx->me.uid);

    case 2:
        return yd_sql(ctx,
            "SELECT prefs, version FROM user_preferences WHERE user_id = ? "
            "FOR UPDATE", "i", ctx->me.uid);

    case 3:
        st->stored = ngx_http_youdu_prefs_row(ctx->res);
        st->merged = json_deep_copy(st->stored);

        if (st->stored == NULL || st->merged == NULL) {
            return NGX_ERROR;
        }

        st->version = ctx->res->nrows ? yd_int(ctx->res, 0, 1) : 0;

        for (p = ngx_http_youdu_prefs; p->key; p++) {
            v = ngx_http_youdu_pref_get(st->patch, p);

            if (v && ngx_http_youdu_pref_set(st->merged, p, v) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        if (json_equal(st->stored, st->merged)) {
            /* nothing changes: no new version, no event (the empty row a
             * first call inserted is rolled back with the reply) */
            return ngx_http_youdu_prefs_ok(ctx, st->stored, st->version);
        }

        s = json_dumps(st->merged, JSON_COMPACT | JSON_SORT_KEYS);
        if (s == NULL) {
            return NGX_ERROR;
        }

        text.len = ngx_strlen(s);
        text.data = ngx_pnalloc(ctx->pool, text.len);
        if (text.data == NULL) {
            free(s);
            return NGX_ERROR;
        }

        ngx_memcpy(text.data, s, text.len);
        free(s);

        st->version++;

        return yd_sql(ctx,
            "UPDATE user_preferences SET prefs = ?, version = ?, "
            "updated_at = UTC_TIMESTAMP(3) WHERE user_id = ?",
            "sii", &text, st->version, ctx->me.uid);

    case 4:
        return yd_commit(ctx);

    case 5:
        /* best effort, as every push notice: devices that miss it read
         * GET /me/preferences when they reconnect */
        ev = ngx_http_youdu_prefs_reply(st->merged, st->version, 1);

        rc = yd_cgi_push(ctx, "preferences", &ctx->me.uid, 1, ev);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        /* fall through */

    default:
        return ngx_http_youdu_prefs_ok(ctx, st->merged, st->version);
    }
}


/* every key of the body known and valid; NGX_OK, or replied (NGX_DONE) */

static ngx_int_t
ngx_http_youdu_prefs_check(ngx_http_youdu_ctx_t *ctx, json_t *body)
{
    json_t                       *v, *sub;
    ngx_int_t                     err;
    const char                   *key, *skey, *why;
    const ngx_http_youdu_pref_t  *p;

    if (json_object_size(body) == 0) {
        yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_MISSING_FIELD,
                 "nothing to change: send at least one preference");
        return NGX_DONE;
    }

    json_object_foreach(body, key, v) {

        for (p = ngx_http_youdu_prefs; p->key; p++) {
            if (ngx_strcmp(p->group ? p->group : p->key, key) == 0) {
                break;
            }
        }

        if (p->key == NULL) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                     "unknown preference \"%s\" (known: dnd, notify, "
                     "language, lock)", key);
            return NGX_DONE;
        }

        if (p->group == NULL) {
            err = ngx_http_youdu_pref_valid(p, v, &why);

            if (err != YD_OK) {
                yd_error(ctx, NGX_HTTP_BAD_REQUEST, err,
                         "preference \"%s\" %s", key, why);
                return NGX_DONE;
            }

            continue;
        }

        if (!json_is_object(v)) {
            yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_TYPE,
                     "preference \"%s\" must be an object", key);
            return NGX_DONE;
        }

        json_object_foreach(v, skey, sub) {

            for (p = ngx_http_youdu_prefs; p->key; p++) {
                if (p->group && ngx_strcmp(p->group, key) == 0
                    && ngx_strcmp(p->key, skey) == 0)
                {
                    break;
                }
            }

            if (p->key == NULL) {
                yd_error(ctx, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                         "unknown preference \"%s.%s\"", key, skey);
                return NGX_DONE;
            }

            err = ngx_http_youdu_pref_valid(p, sub, &why);

            if (err != YD_OK) {
                yd_error(ctx, NGX_HTTP_BAD_REQUEST, err,
                         "preference \"%s.%s\" %s", key, skey, why);
                return NGX_DONE;
            }
        }
    }

    return NGX_OK;
}


/* YD_OK, or YD_ERR_BAD_TYPE / YD_ERR_BAD_VALUE with the rule in why */

static ngx_int_t
ngx_http_youdu_pref_valid(const ngx_http_youdu_pref_t *p, json_t *v,
    const char **why)
{
    size_t       len;
    json_int_t   n;
    const char  *s;

    switch (p->kind) {

    case YD_PREF_BOOL:
        *why = "must be true or false";
        return json_is_boolean(v) ? YD_OK : YD_ERR_BAD_TYPE;

    case YD_PREF_MINUTES:
        if (!json_is_integer(v)) {
            *why = "must be an integer (minutes)";
            return YD_ERR_BAD_TYPE;
        }

        n = json_integer_value(v);

        if (n < 0 || n > YD_PREFS_IDLE_MAX) {
            *why = "must be between 0 (no idle lock) and 1440 minutes";
            return YD_ERR_BAD_VALUE;
        }

        return YD_OK;

    case YD_PREF_TIME:
        if (!json_is_string(v)) {
            *why = "must be a string \"HH:MM\"";
            return YD_ERR_BAD_TYPE;
        }

        s = json_string_value(v);
        len = json_string_length(v);

        if (len != 5 || s[2] != ':'
            || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9'
            || (s[0] == '2' && s[1] > '3')
            || s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
        {
            *why = "must be a time of day \"HH:MM\" (00:00 to 23:59)";
            return YD_ERR_BAD_VALUE;
        }

        return YD_OK;

    default: /* YD_PREF_LANG */
        if (!json_is_string(v)) {
            *why = "must be a string";
            return YD_ERR_BAD_TYPE;
        }

        s = json_string_value(v);
        len = json_string_length(v);

        if ((len != 5 || ngx_strncmp(s, "zh-CN", 5) != 0)
            && (len != 2 || ngx_strncmp(s, "en", 2) != 0))
        {
            *why = "must be \"zh-CN\" or \"en\"";
            return YD_ERR_BAD_VALUE;
        }

        return YD_OK;
    }
}


/* the value of p in obj (borrowed), or NULL */

static json_t *
ngx_http_youdu_pref_get(json_t *obj, const ngx_http_youdu_pref_t *p)
{
    if (!json_is_object(obj)) {
        return NULL;
    }

    if (p->group) {
        obj = json_object_get(obj, p->group);

        if (!json_is_object(obj)) {
            return NULL;
        }
    }

    return json_object_get(obj, p->key);
}


static ngx_int_t
ngx_http_youdu_pref_set(json_t *obj, const ngx_http_youdu_pref_t *p,
    json_t *v)
{
    json_t  *g;

    if (p->group) {
        g = json_object_get(obj, p->group);

        if (!json_is_object(g)) {
            g = json_object();
            if (g == NULL || json_object_set_new(obj, p->group, g) != 0) {
                return NGX_ERROR;
            }
        }

        obj = g;
    }

    return json_object_set(obj, p->key, v) == 0 ? NGX_OK : NGX_ERROR;
}


/* a new object with the known, valid preferences of from (may be NULL) */

static json_t *
ngx_http_youdu_prefs_known(json_t *from)
{
    json_t                       *obj, *v;
    const char                   *why;
    const ngx_http_youdu_pref_t  *p;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    for (p = ngx_http_youdu_prefs; p->key; p++) {
        v = ngx_http_youdu_pref_get(from, p);

        if (v && ngx_http_youdu_pref_valid(p, v, &why) == YD_OK
            && ngx_http_youdu_pref_set(obj, p, v) != NGX_OK)
        {
            json_decref(obj);
            return NULL;
        }
    }

    return obj;
}


/*
 * {"preferences": the defaults with the stored values laid over them,
 * "version"}; event: with "type": "preferences" (the push event)
 */

static json_t *
ngx_http_youdu_prefs_reply(json_t *stored, int64_t version, ngx_uint_t event)
{
    json_t                       *all, *obj, *v;
    const ngx_http_youdu_pref_t  *p;

    all = json_loads(YD_PREFS_DEFAULTS, 0, NULL);
    if (all == NULL) {
        return NULL;
    }

    for (p = ngx_http_youdu_prefs; p->key; p++) {
        v = ngx_http_youdu_pref_get(stored, p);

        if (v && ngx_http_youdu_pref_set(all, p, v) != NGX_OK) {
            json_decref(all);
            return NULL;
        }
    }

    if (event) {
        obj = json_pack("{sssosI}", "type", "preferences", "preferences", all,
                        "version", (json_int_t) version);
    } else {
        obj = json_pack("{sosI}", "preferences", all,
                        "version", (json_int_t) version);
    }

    return obj;
}


/* the reply of both methods */

static ngx_int_t
ngx_http_youdu_prefs_ok(ngx_http_youdu_ctx_t *ctx, json_t *stored,
    int64_t version)
{
    json_t  *obj;

    obj = ngx_http_youdu_prefs_reply(stored, version, 0);
    if (obj == NULL) {
        return NGX_ERROR;
    }

    return yd_ok(ctx, obj);
}
