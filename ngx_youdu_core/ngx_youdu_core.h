
/*
 * youdu: shared core used by the HTTP and push modules
 * (configuration, MariaDB pool, Redis client, tokens, password hashing).
 */

#ifndef _NGX_YOUDU_CORE_H_INCLUDED_
#define _NGX_YOUDU_CORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


#define YD_LOG_TAG  "youdu: "


typedef struct {
    ngx_str_t                 host;
    ngx_uint_t                port;
    ngx_str_t                 user;
    ngx_str_t                 password;
    ngx_str_t                 database;
    ngx_uint_t                pool_size;
    ngx_msec_t                connect_timeout;
    ngx_msec_t                query_timeout;
    ngx_msec_t                wait_timeout;
    ngx_uint_t                max_waiting;
} ngx_youdu_db_conf_t;


typedef struct {
    ngx_str_t                 host;
    ngx_uint_t                port;
    ngx_str_t                 password;
    ngx_msec_t                timeout;
} ngx_youdu_redis_conf_t;


typedef struct {
    ngx_flag_t                enabled;
    ngx_youdu_db_conf_t       db;
    ngx_youdu_redis_conf_t    redis;

    ngx_str_t                 jwt_key;
    time_t                    access_ttl;
    time_t                    refresh_ttl;

    ngx_uint_t                lockout_attempts;
    time_t                    lockout_time;

    time_t                    recall_window;  /* senders; 0: never */

    ngx_str_t                 files_path;
    ngx_flag_t                debug_endpoints;    /* tests only */

    void                     *kdf_pool;     /* ngx_thread_pool_t * */
} ngx_youdu_core_conf_t;


extern ngx_module_t  ngx_youdu_module;


#define ngx_youdu_core_conf(cycle)                                           \
    ((ngx_youdu_core_conf_t *) ngx_get_conf((cycle)->conf_ctx,               \
                                            ngx_youdu_module))


ngx_int_t ngx_youdu_read_secret(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *out);


#endif /* _NGX_YOUDU_CORE_H_INCLUDED_ */
