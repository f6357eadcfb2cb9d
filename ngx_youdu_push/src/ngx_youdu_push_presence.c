
/*
 * youdu push: presence.  Every authenticated connection owns one field of
 * yd:pres:<uid>, written on auth, refreshed at each heartbeat and deleted
 * on close by one Lua script (atomic, publishes the change on yd:push).
 * Redis callbacks here never touch a connection that closed meanwhile:
 * updates do not reference the connection at all, subscription snapshots
 * hold a reference and check pc->closed.
 */


#include "ngx_youdu_redis.h"
#include "ngx_youdu_presence.h"
#include "ngx_youdu_push_presence.h"
#include "ngx_youdu_push_node.h"


/*
 * The worker's index of subscriptions: one tree node per watched user id,
 * listing the subscriptions to it; a connection's subscriptions are one
 * array (pc->subs), each entry linked into its user's list.  A change of
 * one user's presence costs a tree lookup and its subscribers, however
 * many connections the worker holds.
 */

typedef struct {
    ngx_rbtree_node_t         node;     /* key: the watched user id */
    ngx_queue_t               subs;     /* ngx_youdu_push_sub_t.link */
} ngx_youdu_push_watched_t;


typedef struct {
    ngx_queue_t               link;
    ngx_youdu_push_watched_t *watched;
    ngx_youdu_push_conn_t    *pc;
} ngx_youdu_push_sub_t;


static void ngx_youdu_push_presence_updated(void *data, redisReply *reply);
static void ngx_youdu_push_presence_loaded(void *data, redisReply *reply);
static int ngx_youdu_push_presence_cmp(const void *a, const void *b);
static ngx_youdu_push_watched_t *ngx_youdu_push_presence_lookup(int64_t uid);
static ngx_int_t ngx_youdu_push_presence_index(ngx_youdu_push_conn_t *pc,
    int64_t *ids, ngx_uint_t n);


static ngx_rbtree_t        ngx_youdu_push_watched;
static ngx_rbtree_node_t   ngx_youdu_push_watched_sentinel;


void
ngx_youdu_push_presence_set(ngx_youdu_push_conn_t *pc, ngx_uint_t on)
{
    u_char       key[48], now[NGX_INT64_LEN], ttl[NGX_INT64_LEN],
                 uid[NGX_INT64_LEN];
    size_t       argvlen[10];
    const char  *argv[10];

    if (on && pc->pres_field[0] == '\0') {
        (void) ngx_sprintf(pc->pres_field, "%s:%P:%uA%Z", ngx_youdu_push_node_id(),
                           ngx_pid, pc->c->number);
    }

    if (!on && !pc->pres_on) {
        return;
    }

    argv[0] = "EVAL";
    argv[1] = YD_PRES_LUA_UPDATE;
    argv[2] = "1";
    argv[3] = (char *) key;
    argvlen[3] = ngx_sprintf(key, YD_PRES_KEY_PREFIX "%L", pc->uid) - key;
    argv[4] = on ? "on" : "off";
    argv[5] = (char *) pc->pres_field;
    argv[6] = (char *) pc->device;
    argv[7] = (char *) now;
    argvlen[7] = ngx_sprintf(now, "%T", ngx_time()) - now;
    argv[8] = (char *) ttl;
    argvlen[8] = ngx_sprintf(ttl, "%T", pc->conf->presence_ttl) - ttl;
    argv[9] = (char *) uid;
    argvlen[9] = ngx_sprintf(uid, "%L", pc->uid) - uid;

    argvlen[0] = 4;
    argvlen[1] = sizeof(YD_PRES_LUA_UPDATE) - 1;
    argvlen[2] = 1;
    argvlen[4] = on ? 2 : 3;
    argvlen[5] = ngx_strlen(pc->pres_field);
    argvlen[6] = ngx_strlen(pc->device);

    /* hiredis copies the arguments; the callback needs no connection */
    if (ngx_youdu_redis_command(ngx_youdu_push_presence_updated, NULL, 10,
                                argv, argvlen)
        == NGX_OK)
    {
        pc->pres_on = on;
        return;
    }

    /*
     * Redis is down: "on" is retried at the next heartbeat; a field that
     * could not be deleted goes stale after the TTL
     */
    if (!on) {
        pc->pres_on = 0;
    }
}


static void
ngx_youdu_push_presence_updated(void *data, redisReply *reply)
{
    /* nothing to do: errors are logged by the Redis layer, NULL is retried */
}


ngx_int_t
ngx_youdu_push_presence_sub(ngx_youdu_push_conn_t *pc, json_t *msg)
{
    size_t       i, n, k, *argvlen;
    u_char      *p;
    json_t      *ids, *id;
    int64_t     *subs, v;
    ngx_int_t    rc;
    ngx_pool_t  *pool;
    const char **argv;

    ids = json_object_get(msg, "user_ids");

    if (!json_is_array(ids) || json_array_size(ids) > YD_PRES_MAX_SUBS) {
        return NGX_DECLINED;
    }

    n = json_array_size(ids);
    subs = NULL;

    if (n) {
        subs = ngx_alloc(n * sizeof(int64_t), pc->c->log);
        if (subs == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        id = json_array_get(ids, i);
        v = json_is_integer(id) ? json_integer_value(id) : 0;

        if (v < 1) {
            ngx_free(subs);
            return NGX_DECLINED;
        }

        subs[i] = v;
    }

    /* sorted and distinct: one index entry and one answer per id */
    if (n) {
        ngx_qsort(subs, n, sizeof(int64_t), ngx_youdu_push_presence_cmp);

        for (i = 1, k = 1; i < n; i++) {
            if (subs[i] != subs[k - 1]) {
                subs[k++] = subs[i];
            }
        }

        n = k;
    }

    if (ngx_youdu_push_presence_index(pc, subs, n) != NGX_OK) {
        ngx_free(subs);
        return NGX_ERROR;
    }

    if (n == 0) {
        return NGX_OK;
    }

    /* the current state of each, in one script run */
    pool = ngx_create_pool(4096, pc->c->log);
    if (pool == NULL) {
        ngx_free(subs);
        return NGX_ERROR;
    }

    argv = ngx_palloc(pool, (4 + 2 * n) * sizeof(char *));
    argvlen = ngx_palloc(pool, (4 + 2 * n) * sizeof(size_t));
    p = ngx_pnalloc(pool, n * (sizeof(YD_PRES_KEY_PREFIX) + 2 * NGX_INT64_LEN)
                          + NGX_INT64_LEN + 16);

    if (argv == NULL || argvlen == NULL || p == NULL) {
        ngx_destroy_pool(pool);
        ngx_free(subs);
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = YD_PRES_LUA_READ;
    argvlen[1] = sizeof(YD_PRES_LUA_READ) - 1;
    argv[2] = (char *) p;
    argvlen[2] = ngx_sprintf(p, "%ui", n) - p;
    p += argvlen[2];
    argv[3 + n] = (char *) p;
    argvlen[3 + n] = ngx_sprintf(p, "%T", ngx_time()) - p;
    p += argvlen[3 + n];

    for (i = 0; i < n; i++) {
        argv[3 + i] = (char *) p;
        argvlen[3 + i] = ngx_sprintf(p, YD_PRES_KEY_PREFIX "%L", subs[i]) - p;
        p += argvlen[3 + i];
        argv[4 + n + i] = (char *) p;
        argvlen[4 + n + i] = ngx_sprintf(p, "%L", subs[i]) - p;
        p += argvlen[4 + n + i];
    }

    pc->refs++;

    rc = ngx_youdu_redis_command(ngx_youdu_push_presence_loaded, pc,
                                 (int) (4 + 2 * n), argv, argvlen);

    ngx_destroy_pool(pool);
    ngx_free(subs);

    if (rc != NGX_OK) {
        pc->refs--;
        ngx_youdu_push_conn_send_error(pc, 50301, "presence is unavailable "
                                       "right now: send presence_sub again "
                                       "later");
    }

    return NGX_OK;
}


static void
ngx_youdu_push_presence_loaded(void *data, redisReply *reply)
{
    ngx_youdu_push_conn_t  *pc = data;

    char          *text;
    size_t         i;
    json_t        *list, *item, *ev;
    json_error_t   err;

    if (pc->closed || pc->state != YD_PUSH_OPEN) {
        ngx_youdu_push_conn_unref(pc);
        return;
    }

    list = NULL;

    if (reply && reply->type == REDIS_REPLY_STRING) {
        list = json_loadb(reply->str, reply->len, 0, &err);
    }

    if (!json_is_array(list)) {
        ngx_youdu_push_conn_send_error(pc, 50301, "presence is unavailable "
                                       "right now: send presence_sub again "
                                       "later");
        json_decref(list);
        ngx_youdu_push_conn_unref(pc);
        return;
    }

    for (i = 0; i < json_array_size(list); i++) {
        item = json_array_get(list, i);

        ev = json_pack("{s:s, s:O, s:O, s:O}", "type", "presence",
                       "user_id", json_object_get(item, "user_id"),
                       "online", json_object_get(item, "online"),
                       "devices", json_object_get(item, "devices"));
        if (ev == NULL) {
            continue;
        }

        text = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);

        if (text) {
            ngx_youdu_push_conn_send_batch(pc, (u_char *) text,
                                           ngx_strlen(text));
            free(text);
        }
    }

    json_decref(list);
    ngx_youdu_push_conn_unref(pc);
}


/* replaces the connection's subscriptions by ids (sorted, distinct) */

static ngx_int_t
ngx_youdu_push_presence_index(ngx_youdu_push_conn_t *pc, int64_t *ids,
    ngx_uint_t n)
{
    ngx_uint_t                 i;
    ngx_youdu_push_sub_t      *subs;
    ngx_youdu_push_watched_t  *w;

    subs = NULL;

    if (n) {
        subs = ngx_alloc(n * sizeof(ngx_youdu_push_sub_t), pc->c->log);
        if (subs == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_youdu_push_presence_unsub(pc);

    if (ngx_youdu_push_watched.root == NULL) {
        ngx_rbtree_init(&ngx_youdu_push_watched,
                        &ngx_youdu_push_watched_sentinel,
                        ngx_rbtree_insert_value);
    }

    for (i = 0; i < n; i++) {
        w = ngx_youdu_push_presence_lookup(ids[i]);

        if (w == NULL) {
            w = ngx_alloc(sizeof(ngx_youdu_push_watched_t), pc->c->log);
            if (w == NULL) {
                /* keep what is linked so far: a shorter subscription */
                break;
            }

            w->node.key = (ngx_rbtree_key_t) ids[i];
            ngx_queue_init(&w->subs);
            ngx_rbtree_insert(&ngx_youdu_push_watched, &w->node);
        }

        subs[i].watched = w;
        subs[i].pc = pc;
        ngx_queue_insert_tail(&w->subs, &subs[i].link);
    }

    pc->subs = subs;
    pc->nsubs = i;

    return NGX_OK;
}


void
ngx_youdu_push_presence_unsub(ngx_youdu_push_conn_t *pc)
{
    ngx_uint_t                 i;
    ngx_youdu_push_sub_t      *subs = pc->subs;
    ngx_youdu_push_watched_t  *w;

    for (i = 0; i < pc->nsubs; i++) {
        w = subs[i].watched;
        ngx_queue_remove(&subs[i].link);

        if (ngx_queue_empty(&w->subs)) {
            ngx_rbtree_delete(&ngx_youdu_push_watched, &w->node);
            ngx_free(w);
        }
    }

    ngx_free(subs);
    pc->subs = NULL;
    pc->nsubs = 0;
}


ngx_uint_t
ngx_youdu_push_presence_watched(int64_t uid)
{
    return ngx_youdu_push_presence_lookup(uid) != NULL;
}


/* queueing a frame never closes a connection synchronously (overflow is
 * handled by a posted event), so the list stays intact while walked */

void
ngx_youdu_push_presence_deliver(int64_t uid, u_char *text, size_t len)
{
    ngx_queue_t               *q;
    ngx_youdu_push_sub_t      *sub;
    ngx_youdu_push_watched_t  *w;

    w = ngx_youdu_push_presence_lookup(uid);
    if (w == NULL) {
        return;
    }

    for (q = ngx_queue_head(&w->subs);
         q != ngx_queue_sentinel(&w->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_youdu_push_sub_t, link);
        ngx_youdu_push_conn_send_text(sub->pc, text, len);
    }
}


static ngx_youdu_push_watched_t *
ngx_youdu_push_presence_lookup(int64_t uid)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    if (ngx_youdu_push_watched.root == NULL) {
        return NULL;
    }

    key = (ngx_rbtree_key_t) uid;
    node = ngx_youdu_push_watched.root;
    sentinel = ngx_youdu_push_watched.sentinel;

    while (node != sentinel) {
        if (key < node->key) {
            node = node->left;

        } else if (key > node->key) {
            node = node->right;

        } else {
            return (ngx_youdu_push_watched_t *) node;
        }
    }

    return NULL;
}


static int
ngx_youdu_push_presence_cmp(const void *a, const void *b)
{
    int64_t  x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}
