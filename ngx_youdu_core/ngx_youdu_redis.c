
/*
 * youdu: hiredis <-> nginx event adapter (the shape of hiredis's own
 * adapters/libevent.h), with nginx timers for what hiredis 0.14 lacks:
 * connect timeout, command timeout, reconnect backoff.
 *
 * Events are level-triggered: hiredis reads a bounded chunk per call, so an
 * edge-triggered read could leave bytes unread with no further wakeup.
 */


#include "ngx_youdu_redis.h"


#define YD_REDIS_BACKOFF_MIN  100
#define YD_REDIS_BACKOFF_MAX  5000


typedef struct {
    ngx_youdu_redis_pt        handler;
    void                     *data;
} ngx_youdu_redis_cb_t;


typedef struct {
    ngx_youdu_redis_conf_t   *conf;
    ngx_log_t                *log;
    redisAsyncContext        *ac;
    ngx_connection_t         *c;
    ngx_event_t               retry;
    ngx_event_t               watchdog;
    ngx_msec_t                backoff;
    ngx_msec_t                connect_started;
    ngx_msec_t                last_reply;
    ngx_uint_t                pending;
    unsigned                  connected:1;
    unsigned                  exiting:1;
    unsigned                  failing:1;
} ngx_youdu_redis_t;


static void ngx_youdu_redis_connect(void);
static void ngx_youdu_redis_schedule_retry(void);
static void ngx_youdu_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_youdu_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_youdu_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_youdu_redis_auth_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_youdu_redis_cleanup(void *privdata);
static void ngx_youdu_redis_retry_handler(ngx_event_t *ev);
static void ngx_youdu_redis_watchdog_handler(ngx_event_t *ev);


static ngx_youdu_redis_t  *yd_redis;


ngx_int_t
ngx_youdu_redis_init_worker(ngx_cycle_t *cycle)
{
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(cycle);

    if (ycf == NULL || !ycf->enabled || ycf->redis.host.len == 0) {
        return NGX_OK;
    }

    yd_redis = ngx_pcalloc(cycle->pool, sizeof(ngx_youdu_redis_t));
    if (yd_redis == NULL) {
        return NGX_ERROR;
    }

    yd_redis->conf = &ycf->redis;
    yd_redis->log = cycle->log;
    yd_redis->backoff = YD_REDIS_BACKOFF_MIN;

    yd_redis->retry.handler = ngx_youdu_redis_retry_handler;
    yd_redis->retry.log = cycle->log;
    yd_redis->retry.cancelable = 1;

    yd_redis->watchdog.handler = ngx_youdu_redis_watchdog_handler;
    yd_redis->watchdog.log = cycle->log;
    yd_redis->watchdog.cancelable = 1;

    ngx_youdu_redis_connect();

    ngx_add_timer(&yd_redis->watchdog, 500);

    return NGX_OK;
}


void
ngx_youdu_redis_exit_worker(ngx_cycle_t *cycle)
{
    if (yd_redis == NULL) {
        return;
    }

    yd_redis->exiting = 1;

    if (yd_redis->retry.timer_set) {
        ngx_del_timer(&yd_redis->retry);
    }

    if (yd_redis->watchdog.timer_set) {
        ngx_del_timer(&yd_redis->watchdog);
    }

    if (yd_redis->ac) {
        redisAsyncFree(yd_redis->ac);
    }
}


ngx_uint_t
ngx_youdu_redis_connected(void)
{
    return yd_redis != NULL && yd_redis->connected;
}


ngx_int_t
ngx_youdu_redis_command(ngx_youdu_redis_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_youdu_redis_cb_t  *cb;

    if (yd_redis == NULL || !yd_redis->connected) {
        return NGX_DECLINED;
    }

    cb = ngx_alloc(sizeof(ngx_youdu_redis_cb_t), yd_redis->log);
    if (cb == NULL) {
        return NGX_ERROR;
    }

    cb->handler = handler;
    cb->data = data;

    if (redisAsyncCommandArgv(yd_redis->ac, ngx_youdu_redis_reply, cb, argc,
                              argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(cb);
        return NGX_DECLINED;
    }

    if (yd_redis->pending++ == 0) {
        yd_redis->last_reply = ngx_current_msec;
    }

    return NGX_OK;
}


static void
ngx_youdu_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_youdu_redis_cb_t  *cb = privdata;

    if (yd_redis->pending) {
        yd_redis->pending--;
    }

    yd_redis->last_reply = ngx_current_msec;

    if (r && ((redisReply *) r)->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                      YD_LOG_TAG "redis error: %s", ((redisReply *) r)->str);
    }

    cb->handler(cb->data, r);
    ngx_free(cb);
}


/* connection management */


static void
ngx_youdu_redis_connect(void)
{
    redisAsyncContext  *ac;
    ngx_connection_t   *c;

    ac = redisAsyncConnect((char *) yd_redis->conf->host.data,
                           (int) yd_redis->conf->port);

    if (ac == NULL) {
        ngx_youdu_redis_schedule_retry();
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                      YD_LOG_TAG "redis connect to %V:%ui failed: %s",
                      &yd_redis->conf->host, yd_redis->conf->port, ac->errstr);
        redisAsyncFree(ac);
        ngx_youdu_redis_schedule_retry();
        return;
    }

    c = ngx_youdu_redis_attach(ac, yd_redis->log, ngx_youdu_redis_cleanup,
                               ngx_youdu_redis_on_connect,
                               ngx_youdu_redis_on_disconnect);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_youdu_redis_schedule_retry();
        return;
    }

    yd_redis->ac = ac;
    yd_redis->c = c;
    yd_redis->connect_started = ngx_current_msec;

}


ngx_connection_t *
ngx_youdu_redis_attach(redisAsyncContext *ac, ngx_log_t *log,
    void (*cleanup)(void *privdata), redisConnectCallback *on_connect,
    redisDisconnectCallback *on_disconnect)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, log);
    if (c == NULL) {
        return NULL;
    }

    c->data = ac;
    c->read->handler = ngx_youdu_redis_read_handler;
    c->write->handler = ngx_youdu_redis_write_handler;
    c->read->log = log;
    c->write->log = log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_youdu_redis_add_read;
    ac->ev.delRead = ngx_youdu_redis_del_read;
    ac->ev.addWrite = ngx_youdu_redis_add_write;
    ac->ev.delWrite = ngx_youdu_redis_del_write;
    ac->ev.cleanup = cleanup;

    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);

    /* connect completes on the first write event */
    ngx_youdu_redis_add_write(c);

    return c;
}


static void
ngx_youdu_redis_schedule_retry(void)
{
    if (yd_redis->exiting || yd_redis->retry.timer_set) {
        return;
    }

    ngx_add_timer(&yd_redis->retry, yd_redis->backoff);
    yd_redis->backoff = ngx_min(yd_redis->backoff * 2, YD_REDIS_BACKOFF_MAX);
}


static void
ngx_youdu_redis_on_connect(const redisAsyncContext *ac, int status)
{
    const char  *argv[2];
    size_t       argvlen[2];

    if (status != REDIS_OK) {
        if (!yd_redis->failing) {
            ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                          YD_LOG_TAG "cannot connect to Redis at %V:%ui: %s",
                          &yd_redis->conf->host, yd_redis->conf->port,
                          ac->errstr);
        }

        yd_redis->failing = 1;
        /* hiredis frees the context after this returns */
        return;
    }

    if (yd_redis->failing) {
        ngx_log_error(NGX_LOG_NOTICE, yd_redis->log, 0,
                      YD_LOG_TAG "Redis connection restored");
    }

    yd_redis->failing = 0;
    yd_redis->connected = 1;
    yd_redis->backoff = YD_REDIS_BACKOFF_MIN;

    if (yd_redis->conf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) yd_redis->conf->password.data;
        argvlen[1] = yd_redis->conf->password.len;

        redisAsyncCommandArgv((redisAsyncContext *) ac,
                              ngx_youdu_redis_auth_reply, NULL, 2, argv,
                              argvlen);
    }
}


static void
ngx_youdu_redis_auth_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply  *reply = r;

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                      YD_LOG_TAG "Redis AUTH failed: %s", reply->str);
    }
}


static void
ngx_youdu_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK && !yd_redis->exiting) {
        ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                      YD_LOG_TAG "Redis connection lost: %s",
                      ac->errstr[0] ? ac->errstr : "closed");
        yd_redis->failing = 1;
    }

    yd_redis->connected = 0;
    yd_redis->pending = 0;
}


static void
ngx_youdu_redis_retry_handler(ngx_event_t *ev)
{
    if (yd_redis->ac == NULL && !yd_redis->exiting) {
        ngx_youdu_redis_connect();
    }
}


static void
ngx_youdu_redis_watchdog_handler(ngx_event_t *ev)
{
    redisAsyncContext  *ac = yd_redis->ac;

    if (ac) {
        if (!yd_redis->connected
            && ngx_current_msec - yd_redis->connect_started
               > yd_redis->conf->timeout)
        {
            ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                          YD_LOG_TAG "Redis connect timed out");
            yd_redis->failing = 1;
            redisAsyncFree(ac);

        } else if (yd_redis->pending
                   && ngx_current_msec - yd_redis->last_reply
                      > yd_redis->conf->timeout)
        {
            ngx_log_error(NGX_LOG_ERR, yd_redis->log, 0,
                          YD_LOG_TAG "Redis did not answer within %M ms, "
                          "reconnecting", yd_redis->conf->timeout);
            /* fails every pending command with a NULL reply */
            redisAsyncFree(ac);
        }
    }

    if (!yd_redis->exiting) {
        ngx_add_timer(&yd_redis->watchdog, 500);
    }
}


/* event glue */


void
ngx_youdu_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleRead(c->data);
}


void
ngx_youdu_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleWrite(c->data);
}


void
ngx_youdu_redis_add_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          YD_LOG_TAG "cannot add Redis read event");
        }
    }
}


void
ngx_youdu_redis_del_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


void
ngx_youdu_redis_add_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          YD_LOG_TAG "cannot add Redis write event");
        }
    }
}


void
ngx_youdu_redis_del_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis frees the context and closes the socket; we drop our wrapper */

void
ngx_youdu_redis_detach(ngx_connection_t *c)
{
    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
}



static void
ngx_youdu_redis_cleanup(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_youdu_redis_detach(c);

    if (yd_redis->c == c) {
        yd_redis->c = NULL;
        yd_redis->ac = NULL;
        yd_redis->connected = 0;
        yd_redis->pending = 0;
        ngx_youdu_redis_schedule_retry();
    }
}
