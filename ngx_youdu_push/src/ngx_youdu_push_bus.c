
/*
 * youdu push: fan-in from Redis to the local connections of this worker.
 * Users are indexed in an rbtree keyed by user id; each node lists the
 * user's connections (several devices).  Delivery only queues frames and
 * posts write events, so no connection closes while a list is walked.
 */


#include <jansson.h>

#include "ngx_youdu_redis_sub.h"
#include "ngx_youdu_push_bus.h"
#include "ngx_youdu_push_presence.h"


typedef struct {
    ngx_rbtree_node_t         node;     /* key: user id */
    ngx_queue_t               conns;
} ngx_youdu_push_user_t;


static void ngx_youdu_push_bus_message(ngx_str_t *channel,
    ngx_str_t *payload);
static void ngx_youdu_push_bus_user_event(json_t *notice);
static void ngx_youdu_push_bus_org(ngx_str_t *payload);
static void ngx_youdu_push_bus_presence(json_t *notice);
static void ngx_youdu_push_bus_recheck(json_t *notice);
static ngx_youdu_push_user_t *ngx_youdu_push_bus_lookup(int64_t uid);


/*
 * DESIGN.md section 8: typing notices are the first thing dropped for a
 * client that reads slowly, long before its queue reaches the limit that
 * closes it
 */
#define ngx_youdu_push_bus_busy(pc)                                           \
    ((pc)->out_frames >= YD_PUSH_MAX_QUEUED_FRAMES / 2                        \
     || (pc)->out_bytes >= YD_PUSH_MAX_QUEUED_BYTES / 2)


static const char  *ngx_youdu_push_channels[] = { "yd:push", "yd:org", NULL };

static ngx_rbtree_t        ngx_youdu_push_users;
static ngx_rbtree_node_t   ngx_youdu_push_sentinel;
static ngx_queue_t         ngx_youdu_push_all;
static ngx_log_t          *ngx_youdu_push_log;
static ngx_uint_t          ngx_youdu_push_bus_started;


/* once per worker, whichever endpoint (http, stream) asks first */

ngx_int_t
ngx_youdu_push_bus_init(ngx_cycle_t *cycle)
{
    if (ngx_youdu_push_bus_started) {
        return NGX_OK;
    }

    ngx_rbtree_init(&ngx_youdu_push_users, &ngx_youdu_push_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&ngx_youdu_push_all);
    ngx_youdu_push_log = cycle->log;

    if (ngx_youdu_redis_sub_start(cycle, ngx_youdu_push_channels,
                                  ngx_youdu_push_bus_message)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    ngx_youdu_push_bus_started = 1;

    return NGX_OK;
}


void
ngx_youdu_push_bus_exit(ngx_cycle_t *cycle)
{
    if (ngx_youdu_push_bus_started) {
        ngx_youdu_push_bus_started = 0;
        ngx_youdu_redis_sub_stop();
    }
}


void
ngx_youdu_push_bus_add(ngx_youdu_push_conn_t *pc)
{
    ngx_youdu_push_user_t  *u;

    if (pc->in_bus) {
        return;
    }

    u = ngx_youdu_push_bus_lookup(pc->uid);

    if (u == NULL) {
        u = ngx_alloc(sizeof(ngx_youdu_push_user_t), ngx_youdu_push_log);
        if (u == NULL) {
            return;
        }

        ngx_memzero(u, sizeof(ngx_youdu_push_user_t));
        u->node.key = (ngx_rbtree_key_t) pc->uid;
        ngx_queue_init(&u->conns);
        ngx_rbtree_insert(&ngx_youdu_push_users, &u->node);
    }

    ngx_queue_insert_tail(&u->conns, &pc->user_link);
    ngx_queue_insert_tail(&ngx_youdu_push_all, &pc->all_link);
    pc->user_node = u;
    pc->in_bus = 1;
}


void
ngx_youdu_push_bus_remove(ngx_youdu_push_conn_t *pc)
{
    ngx_youdu_push_user_t  *u;

    if (!pc->in_bus) {
        return;
    }

    u = pc->user_node;

    ngx_youdu_push_presence_set(pc, 0);

    ngx_queue_remove(&pc->user_link);
    ngx_queue_remove(&pc->all_link);
    pc->user_node = NULL;
    pc->in_bus = 0;

    if (ngx_queue_empty(&u->conns)) {
        ngx_rbtree_delete(&ngx_youdu_push_users, &u->node);
        ngx_free(u);
    }
}


/* {"t":"recheck","user_id":U}: U's sessions changed (REST revoke, disable) */

static void
ngx_youdu_push_bus_recheck(json_t *notice)
{
    json_t                 *id;
    ngx_queue_t            *q;
    ngx_youdu_push_user_t  *u;

    id = json_object_get(notice, "user_id");

    if (!json_is_integer(id)) {
        ngx_log_error(NGX_LOG_ERR, ngx_youdu_push_log, 0,
                      YD_LOG_TAG "push: recheck notice without user_id");
        return;
    }

    u = ngx_youdu_push_bus_lookup(json_integer_value(id));
    if (u == NULL) {
        return;
    }

    for (q = ngx_queue_head(&u->conns);
         q != ngx_queue_sentinel(&u->conns);
         q = ngx_queue_next(q))
    {
        ngx_youdu_push_conn_recheck(ngx_queue_data(q, ngx_youdu_push_conn_t,
                                                   user_link));
    }
}


static ngx_youdu_push_user_t *
ngx_youdu_push_bus_lookup(int64_t uid)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    key = (ngx_rbtree_key_t) uid;
    node = ngx_youdu_push_users.root;
    sentinel = ngx_youdu_push_users.sentinel;

    while (node != sentinel) {
        if (key < node->key) {
            node = node->left;

        } else if (key > node->key) {
            node = node->right;

        } else {
            return (ngx_youdu_push_user_t *) node;
        }
    }

    return NULL;
}


static void
ngx_youdu_push_bus_message(ngx_str_t *channel, ngx_str_t *payload)
{
    json_t        *notice;
    const char    *t;
    json_error_t   err;

    if (channel->len == 6 && ngx_strncmp(channel->data, "yd:org", 6) == 0) {
        ngx_youdu_push_bus_org(payload);
        return;
    }

    notice = json_loadb((const char *) payload->data, payload->len, 0, &err);

    if (notice == NULL || !json_is_object(notice)) {
        ngx_log_error(NGX_LOG_ERR, ngx_youdu_push_log, 0,
                      YD_LOG_TAG "push: ignoring a malformed notice on %V",
                      channel);
        json_decref(notice);
        return;
    }

    t = json_string_value(json_object_get(notice, "t"));

    if (t && ngx_strcmp(t, "presence") == 0) {
        ngx_youdu_push_bus_presence(notice);

    } else if (t && ngx_strcmp(t, "recheck") == 0) {
        ngx_youdu_push_bus_recheck(notice);

    } else {
        /* msg, read, typing, and the open platform's app_notice, popup and
         * app_event (docs/push.md): "ev" goes to the users in "to" */
        ngx_youdu_push_bus_user_event(notice);
    }

    json_decref(notice);
}


static void
ngx_youdu_push_bus_user_event(json_t *notice)
{
    char                   *text;
    size_t                  i, len;
    json_t                 *to, *ev, *id, *t;
    ngx_uint_t              droppable;
    ngx_queue_t            *q;
    ngx_youdu_push_user_t  *u;
    ngx_youdu_push_conn_t  *pc;

    to = json_object_get(notice, "to");
    ev = json_object_get(notice, "ev");
    t = json_object_get(notice, "t");

    droppable = json_is_string(t)
                && ngx_strcmp(json_string_value(t), "typing") == 0;

    if (!json_is_array(to) || !json_is_object(ev)) {
        ngx_log_error(NGX_LOG_ERR, ngx_youdu_push_log, 0,
                      YD_LOG_TAG "push: notice without \"to\" or \"ev\"");
        return;
    }

    text = NULL;
    len = 0;

    for (i = 0; i < json_array_size(to); i++) {
        id = json_array_get(to, i);

        if (!json_is_integer(id)) {
            continue;
        }

        u = ngx_youdu_push_bus_lookup(json_integer_value(id));
        if (u == NULL) {
            continue;
        }

        if (text == NULL) {
            text = json_dumps(ev, JSON_COMPACT);
            if (text == NULL) {
                return;
            }

            len = ngx_strlen(text);
        }

        for (q = ngx_queue_head(&u->conns);
             q != ngx_queue_sentinel(&u->conns);
             q = ngx_queue_next(q))
        {
            pc = ngx_queue_data(q, ngx_youdu_push_conn_t, user_link);

            if (droppable && ngx_youdu_push_bus_busy(pc)) {
                continue;
            }

            ngx_youdu_push_conn_send_text(pc, (u_char *) text, len);
        }
    }

    free(text);
}


static void
ngx_youdu_push_bus_org(ngx_str_t *payload)
{
    u_char                 *p, buf[64];
    ngx_int_t               v;
    ngx_queue_t            *q;
    ngx_youdu_push_conn_t  *pc;

    v = ngx_atoi(payload->data, payload->len);

    if (v == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_youdu_push_log, 0,
                      YD_LOG_TAG "push: ignoring a bad yd:org version");
        return;
    }

    p = ngx_sprintf(buf, "{\"type\":\"org\",\"version\":%i}", v);

    for (q = ngx_queue_head(&ngx_youdu_push_all);
         q != ngx_queue_sentinel(&ngx_youdu_push_all);
         q = ngx_queue_next(q))
    {
        pc = ngx_queue_data(q, ngx_youdu_push_conn_t, all_link);
        ngx_youdu_push_conn_send_text(pc, buf, p - buf);
    }
}


/*
 * {"t":"presence","user_id","online","devices"} goes to every local
 * connection that subscribed to the user (the index of subscriptions is in
 * ngx_youdu_push_presence.c: no walk over the worker's connections).
 */

static void
ngx_youdu_push_bus_presence(json_t *notice)
{
    char    *text;
    json_t  *ev, *uid;
    int64_t  id;

    uid = json_object_get(notice, "user_id");

    if (!json_is_integer(uid)) {
        ngx_log_error(NGX_LOG_ERR, ngx_youdu_push_log, 0,
                      YD_LOG_TAG "push: presence notice without user_id");
        return;
    }

    id = json_integer_value(uid);

    if (!ngx_youdu_push_presence_watched(id)) {
        return;
    }

    ev = json_pack("{s:s, s:O, s:O, s:O}", "type", "presence",
                   "user_id", uid,
                   "online", json_object_get(notice, "online"),
                   "devices", json_object_get(notice, "devices"));
    if (ev == NULL) {
        return;
    }

    text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);

    if (text == NULL) {
        return;
    }

    ngx_youdu_push_presence_deliver(id, (u_char *) text, ngx_strlen(text));

    free(text);
}
