
/*
 * youdu push: the settings shared by the WebSocket (http) and raw TCP
 * (stream) endpoints, with the same defaults and checks in both.
 */


#include "ngx_youdu_push_conn.h"


void
ngx_youdu_push_conf_init(ngx_youdu_push_conf_t *conf)
{
    conf->auth_timeout = NGX_CONF_UNSET_MSEC;
    conf->recheck_interval = NGX_CONF_UNSET_MSEC;
    conf->idle_timeout = NGX_CONF_UNSET_MSEC;
    conf->send_timeout = NGX_CONF_UNSET_MSEC;
    conf->presence_ttl = NGX_CONF_UNSET;
}


char *
ngx_youdu_push_conf_merge(ngx_conf_t *cf, ngx_youdu_push_conf_t *conf,
    ngx_youdu_push_conf_t *prev)
{
    ngx_conf_merge_msec_value(conf->auth_timeout, prev->auth_timeout, 10000);
    ngx_conf_merge_msec_value(conf->recheck_interval,
                              prev->recheck_interval, 30000);
    ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout, 0);
    ngx_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    ngx_conf_merge_sec_value(conf->presence_ttl, prev->presence_ttl, 90);

    if (conf->recheck_interval < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"youdu_push_recheck_interval\" must be at "
                           "least 1s");
        return NGX_CONF_ERROR;
    }

    /* each connection refreshes its presence once per interval */
    if ((ngx_msec_t) conf->presence_ttl * 1000
        < conf->recheck_interval + 1000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"youdu_push_presence_ttl\" must exceed "
                           "\"youdu_push_recheck_interval\" by at least 1s");
        return NGX_CONF_ERROR;
    }

    /* a client answering every heartbeat must never look idle */
    if (conf->idle_timeout && conf->idle_timeout < conf->recheck_interval * 2)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"youdu_push_idle_timeout\" must be at least "
                           "twice \"youdu_push_recheck_interval\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
