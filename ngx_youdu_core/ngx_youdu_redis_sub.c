
/*
 * youdu: Redis SUBSCRIBE context.  Same event glue as the command context
 * (ngx_youdu_redis.c); its own reconnect timer with exponential backoff and
 * a connect timeout.  Every reply callback handles reply == NULL (hiredis
 * calls the subscription callback with NULL when the context goes away).
 */


#include "ngx_youdu_redis_sub.h"


#define YD_SUB_BACKOFF_MIN  100
#define YD_SUB_BACKOFF_MAX  3000
#define YD_SUB_MAX_USERS    4
#define YD_SUB_MAX_CHANNELS 15


/* one caller of ngx_youdu_redis_sub_start(): its channels and handler */
typedef struct {
    const char              **channels;
    ngx_youdu_redis_msg_pt    handler;
} ngx_youdu_redis_sub_user_t;


typedef struct {
    ngx_youdu_redis_conf_t   *conf;
    ngx_log_t                *log;
    ngx_youdu_redis_sub_user_t  users[YD_SUB_MAX_USERS];
    ngx_uint_t                nusers;
    redisAsyncContext        *ac;
    ngx_connection_t         *c;
    ngx_event_t               retry;
    ngx_event_t               watchdog;
    ngx_msec_t                backoff;
    ngx_msec_t                connect_started;
    unsigned                  connected:1;
    unsigned                  subscribed:1;
    unsigned                  exiting:1;
    unsigned                  failing:1;
} ngx_youdu_redis_sub_t;


static void ngx_youdu_redis_sub_connect(void);
static void ngx_youdu_redis_sub_subscribe(const redisAsyncContext *ac,
    ngx_youdu_redis_sub_user_t *only);
static void ngx_youdu_redis_sub_schedule_retry(void);
static void ngx_youdu_redis_sub_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_youdu_redis_sub_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_youdu_redis_sub_auth_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_youdu_redis_sub_message(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_youdu_redis_sub_cleanup(void *privdata);
static void ngx_youdu_redis_sub_retry_handler(ngx_event_t *ev);
static void ngx_youdu_redis_sub_watchdog_handler(ngx_event_t *ev);


static ngx_youdu_redis_sub_t  *yd_sub;


ngx_int_t
ngx_youdu_redis_sub_start(ngx_cycle_t *cycle, const char **channels,
    ngx_youdu_redis_msg_pt handler)
{
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(cycle);

    if (ycf == NULL || !ycf->enabled || ycf->redis.host.len == 0) {
        return NGX_DECLINED;
    }

    /* several parts of a worker share its subscription connection */
    if (yd_sub) {
        if (yd_sub->nusers == YD_SUB_MAX_USERS) {
            return NGX_ERROR;
        }

        yd_sub->users[yd_sub->nusers].channels = channels;
        yd_sub->users[yd_sub->nusers].handler = handler;
        yd_sub->nusers++;

        if (yd_sub->connected && yd_sub->ac) {
            ngx_youdu_redis_sub_subscribe(yd_sub->ac,
                                          &yd_sub->users[yd_sub->nusers - 1]);
        }

        return NGX_OK;
    }

    yd_sub = ngx_pcalloc(cycle->pool, sizeof(ngx_youdu_redis_sub_t));
    if (yd_sub == NULL) {
        return NGX_ERROR;
    }

    yd_sub->conf = &ycf->redis;
    yd_sub->log = cycle->log;
    yd_sub->users[0].channels = channels;
    yd_sub->users[0].handler = handler;
    yd_sub->nusers = 1;
    yd_sub->backoff = YD_SUB_BACKOFF_MIN;

    yd_sub->retry.handler = ngx_youdu_redis_sub_retry_handler;
    yd_sub->retry.log = cycle->log;
    yd_sub->retry.cancelable = 1;

    yd_sub->watchdog.handler = ngx_youdu_redis_sub_watchdog_handler;
    yd_sub->watchdog.log = cycle->log;
    yd_sub->watchdog.cancelable = 1;

    ngx_youdu_redis_sub_connect();

    ngx_add_timer(&yd_sub->watchdog, 500);

    return NGX_OK;
}


void
ngx_youdu_redis_sub_stop(void)
{
    if (yd_sub == NULL) {
        return;
    }

    yd_sub->exiting = 1;

    if (yd_sub->retry.timer_set) {
        ngx_del_timer(&yd_sub->retry);
    }

    if (yd_sub->watchdog.timer_set) {
        ngx_del_timer(&yd_sub->watchdog);
    }

    if (yd_sub->ac) {
        redisAsyncFree(yd_sub->ac);
    }

    yd_sub = NULL;
}


ngx_uint_t
ngx_youdu_redis_sub_subscribed(void)
{
    return yd_sub != NULL && yd_sub->subscribed;
}


static void
ngx_youdu_redis_sub_connect(void)
{
    redisAsyncContext  *ac;
    ngx_connection_t   *c;

    ac = redisAsyncConnect((char *) yd_sub->conf->host.data,
                           (int) yd_sub->conf->port);

    if (ac == NULL) {
        ngx_youdu_redis_sub_schedule_retry();
        return;
    }

    if (ac->err) {
        if (!yd_sub->failing) {
            ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                          YD_LOG_TAG "redis subscribe connect to %V:%ui "
                          "failed: %s", &yd_sub->conf->host,
                          yd_sub->conf->port, ac->errstr);
        }

        yd_sub->failing = 1;
        redisAsyncFree(ac);
        ngx_youdu_redis_sub_schedule_retry();
        return;
    }

    /*
     * a subscribed connection only receives: TCP keepalive is what notices
     * a peer that vanished without closing (PING is awkward in subscribed
     * mode with hiredis 0.14)
     */
    (void) redisEnableKeepAlive(&ac->c);

    c = ngx_youdu_redis_attach(ac, yd_sub->log, ngx_youdu_redis_sub_cleanup,
                               ngx_youdu_redis_sub_on_connect,
                               ngx_youdu_redis_sub_on_disconnect);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_youdu_redis_sub_schedule_retry();
        return;
    }

    yd_sub->ac = ac;
    yd_sub->c = c;
    yd_sub->connect_started = ngx_current_msec;
}


static void
ngx_youdu_redis_sub_schedule_retry(void)
{
    if (yd_sub == NULL || yd_sub->exiting || yd_sub->retry.timer_set) {
        return;
    }

    ngx_add_timer(&yd_sub->retry, yd_sub->backoff);
    yd_sub->backoff = ngx_min(yd_sub->backoff * 2, YD_SUB_BACKOFF_MAX);
}


static void
ngx_youdu_redis_sub_on_connect(const redisAsyncContext *ac, int status)
{
    size_t       argvlen[2];
    const char  *argv[2];

    if (status != REDIS_OK) {
        if (!yd_sub->failing) {
            ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                          YD_LOG_TAG "cannot connect to Redis for "
                          "subscriptions: %s", ac->errstr);
        }

        yd_sub->failing = 1;
        return;
    }

    yd_sub->connected = 1;

    if (yd_sub->conf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) yd_sub->conf->password.data;
        argvlen[1] = yd_sub->conf->password.len;

        redisAsyncCommandArgv((redisAsyncContext *) ac,
                              ngx_youdu_redis_sub_auth_reply, NULL, 2, argv,
                              argvlen);
    }

    ngx_youdu_redis_sub_subscribe(ac, NULL);
}


/* SUBSCRIBE to every user's channels, or only to one user's */

static void
ngx_youdu_redis_sub_subscribe(const redisAsyncContext *ac,
    ngx_youdu_redis_sub_user_t *only)
{
    int          argc;
    size_t       argvlen[YD_SUB_MAX_CHANNELS + 1];
    ngx_uint_t   u, i;
    const char  *argv[YD_SUB_MAX_CHANNELS + 1];

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argc = 1;

    for (u = 0; u < yd_sub->nusers; u++) {
        if (only && only != &yd_sub->users[u]) {
            continue;
        }

        for (i = 0; yd_sub->users[u].channels[i]
                    && argc <= YD_SUB_MAX_CHANNELS; i++)
        {
            argv[argc] = yd_sub->users[u].channels[i];
            argvlen[argc] = ngx_strlen(argv[argc]);
            argc++;
        }
    }

    if (redisAsyncCommandArgv((redisAsyncContext *) ac,
                              ngx_youdu_redis_sub_message, NULL, argc, argv,
                              argvlen)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                      YD_LOG_TAG "cannot send SUBSCRIBE");
    }
}


static void
ngx_youdu_redis_sub_auth_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply  *reply = r;

    if (reply && reply->type == REDIS_REPLY_ERROR && yd_sub) {
        ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                      YD_LOG_TAG "Redis AUTH failed: %s", reply->str);
    }
}


static void
ngx_youdu_redis_sub_message(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_str_t    kind, channel, payload;
    ngx_uint_t   u, i;
    redisReply  *reply = r;

    if (reply == NULL || yd_sub == NULL || yd_sub->exiting) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                      YD_LOG_TAG "Redis SUBSCRIBE failed: %s", reply->str);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    kind.data = (u_char *) reply->element[0]->str;
    kind.len = reply->element[0]->len;

    if (kind.len == 9 && ngx_strncmp(kind.data, "subscribe", 9) == 0) {
        if (!yd_sub->subscribed && yd_sub->failing) {
            ngx_log_error(NGX_LOG_NOTICE, yd_sub->log, 0,
                          YD_LOG_TAG "Redis subscriptions restored");
        }

        yd_sub->subscribed = 1;
        yd_sub->failing = 0;
        yd_sub->backoff = YD_SUB_BACKOFF_MIN;
        return;
    }

    if (kind.len != 7 || ngx_strncmp(kind.data, "message", 7) != 0
        || reply->element[2]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    channel.data = (u_char *) reply->element[1]->str;
    channel.len = reply->element[1]->len;
    payload.data = (u_char *) reply->element[2]->str;
    payload.len = reply->element[2]->len;

    for (u = 0; yd_sub && u < yd_sub->nusers; u++) {
        for (i = 0; yd_sub->users[u].channels[i]; i++) {
            if (ngx_strlen(yd_sub->users[u].channels[i]) == channel.len
                && ngx_strncmp(yd_sub->users[u].channels[i], channel.data,
                               channel.len) == 0)
            {
                yd_sub->users[u].handler(&channel, &payload);
                break;
            }
        }
    }
}


static void
ngx_youdu_redis_sub_on_disconnect(const redisAsyncContext *ac, int status)
{
    if (yd_sub == NULL) {
        return;
    }

    if (!yd_sub->exiting) {
        ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                      YD_LOG_TAG "Redis subscribe connection lost: %s",
                      ac->errstr[0] ? ac->errstr : "closed");
        yd_sub->failing = 1;
    }

    yd_sub->connected = 0;
    yd_sub->subscribed = 0;
}


static void
ngx_youdu_redis_sub_retry_handler(ngx_event_t *ev)
{
    if (yd_sub && yd_sub->ac == NULL && !yd_sub->exiting) {
        ngx_youdu_redis_sub_connect();
    }
}


static void
ngx_youdu_redis_sub_watchdog_handler(ngx_event_t *ev)
{
    if (yd_sub == NULL) {
        return;
    }

    if (yd_sub->ac && !yd_sub->connected
        && ngx_current_msec - yd_sub->connect_started > yd_sub->conf->timeout)
    {
        ngx_log_error(NGX_LOG_ERR, yd_sub->log, 0,
                      YD_LOG_TAG "Redis subscribe connect timed out");
        yd_sub->failing = 1;
        redisAsyncFree(yd_sub->ac);
    }

    if (yd_sub && !yd_sub->exiting) {
        ngx_add_timer(&yd_sub->watchdog, 500);
    }
}


/* hiredis frees the context and closes the socket; we drop our wrapper */

static void
ngx_youdu_redis_sub_cleanup(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_youdu_redis_detach(c);

    if (yd_sub && yd_sub->c == c) {
        yd_sub->c = NULL;
        yd_sub->ac = NULL;
        yd_sub->connected = 0;
        yd_sub->subscribed = 0;
        ngx_youdu_redis_sub_schedule_retry();
    }
}
