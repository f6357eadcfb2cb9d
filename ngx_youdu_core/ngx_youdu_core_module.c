
/*
 * youdu: the core module.  Main-context directives shared by the HTTP and
 * push modules (database, Redis, token keys), and per-worker start-up of the
 * database pool and the Redis client.
 */


#include <ngx_thread_pool.h>

#include "ngx_youdu_core.h"
#include "ngx_youdu_db.h"
#include "ngx_youdu_redis.h"


static void *ngx_youdu_core_create_conf(ngx_cycle_t *cycle);
static char *ngx_youdu_core_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_youdu_core_db(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_youdu_core_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_youdu_core_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_youdu_core_kv(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_youdu_core_init_process(ngx_cycle_t *cycle);
static void ngx_youdu_core_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_youdu_core_commands[] = {

    { ngx_string("youdu_db"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_1MORE,
      ngx_youdu_core_db,
      0,
      0,
      NULL },

    { ngx_string("youdu_redis"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_1MORE,
      ngx_youdu_core_redis,
      0,
      0,
      NULL },

    { ngx_string("youdu_jwt_key_file"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_youdu_core_jwt_key_file,
      0,
      0,
      NULL },

    { ngx_string("youdu_access_token_ttl"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, access_ttl),
      NULL },

    { ngx_string("youdu_refresh_token_ttl"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, refresh_ttl),
      NULL },

    { ngx_string("youdu_lockout_attempts"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, lockout_attempts),
      NULL },

    { ngx_string("youdu_lockout_time"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, lockout_time),
      NULL },

    { ngx_string("youdu_recall_window"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, recall_window),
      NULL },

    { ngx_string("youdu_files_path"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, files_path),
      NULL },

    { ngx_string("youdu_debug_endpoints"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_youdu_core_conf_t, debug_endpoints),
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_youdu_core_module_ctx = {
    ngx_string("youdu_core"),
    ngx_youdu_core_create_conf,
    ngx_youdu_core_init_conf
};


ngx_module_t  ngx_youdu_module = {
    NGX_MODULE_V1,
    &ngx_youdu_core_module_ctx,            /* module context */
    ngx_youdu_core_commands,               /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_youdu_core_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_youdu_core_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_youdu_core_create_conf(ngx_cycle_t *cycle)
{
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_pcalloc(cycle->pool, sizeof(ngx_youdu_core_conf_t));
    if (ycf == NULL) {
        return NULL;
    }

    ycf->enabled = NGX_CONF_UNSET;
    ycf->access_ttl = NGX_CONF_UNSET;
    ycf->refresh_ttl = NGX_CONF_UNSET;
    ycf->lockout_attempts = NGX_CONF_UNSET_UINT;
    ycf->lockout_time = NGX_CONF_UNSET;
    ycf->recall_window = NGX_CONF_UNSET;
    ycf->debug_endpoints = NGX_CONF_UNSET;

    return ycf;
}


static char *
ngx_youdu_core_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_youdu_core_conf_t  *ycf = conf;

    ngx_conf_init_value(ycf->enabled, 0);
    ngx_conf_init_value(ycf->access_ttl, 900);
    ngx_conf_init_value(ycf->refresh_ttl, 30 * 86400);
    ngx_conf_init_uint_value(ycf->lockout_attempts, 5);
    ngx_conf_init_value(ycf->lockout_time, 900);
    ngx_conf_init_value(ycf->recall_window, 120);
    ngx_conf_init_value(ycf->debug_endpoints, 0);

    if (ycf->enabled && ycf->jwt_key.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"youdu_jwt_key_file\" is required with \"youdu_db\"");
        return NGX_CONF_ERROR;
    }

    if (ycf->enabled && ycf->files_path.len == 0) {
        ngx_str_set(&ycf->files_path, "files");
    }

    if (ycf->enabled
        && ngx_conf_full_name(cycle, &ycf->files_path, 1) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* reads a secret file (first line, trailing whitespace removed) */

ngx_int_t
ngx_youdu_read_secret(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *out)
{
    u_char           *buf;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         name;
    ngx_file_info_t   fi;

    name = *path;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot open secret file \"%V\"", &name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || ngx_file_size(&fi) > 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" is unreadable or too large",
                           &name);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    buf = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, (size_t) ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n < 0) {
        return NGX_ERROR;
    }

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "secret file \"%V\" is empty",
                           &name);
        return NGX_ERROR;
    }

    buf[n] = '\0';
    out->data = buf;
    out->len = n;

    return NGX_OK;
}


static char *
ngx_youdu_core_kv(ngx_conf_t *cf, ngx_str_t *arg, ngx_str_t *key,
    ngx_str_t *value)
{
    u_char  *eq;

    eq = ngx_strlchr(arg->data, arg->data + arg->len, '=');
    if (eq == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\", expected key=value", arg);
        return NGX_CONF_ERROR;
    }

    key->data = arg->data;
    key->len = eq - arg->data;
    value->data = eq + 1;
    value->len = arg->data + arg->len - eq - 1;

    return NGX_CONF_OK;
}


/* C strings for the client libraries: copy with a terminating NUL */

static ngx_int_t
ngx_youdu_core_cstr(ngx_conf_t *cf, ngx_str_t *src, ngx_str_t *dst)
{
    dst->data = ngx_pnalloc(cf->pool, src->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->data[src->len] = '\0';
    dst->len = src->len;

    return NGX_OK;
}


static char *
ngx_youdu_core_db(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_youdu_core_conf_t  *ycf = conf;

    ngx_int_t             n;
    ngx_str_t            *value, key, val, file;
    ngx_uint_t            i;
    ngx_youdu_db_conf_t  *db = &ycf->db;

    if (db->database.len) {
        return "is duplicate";
    }

    ngx_str_set(&db->host, "127.0.0.1");
    db->port = 3306;
    ngx_str_set(&db->user, "youdu");
    ngx_str_set(&db->password, "");
    ngx_str_set(&db->database, "youdu");
    db->pool_size = 16;
    db->connect_timeout = 3000;
    db->query_timeout = 30000;
    db->wait_timeout = 5000;
    db->max_waiting = 4096;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_youdu_core_kv(cf, &value[i], &key, &val) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

        if (key.len == 4 && ngx_strncmp(key.data, "host", 4) == 0) {
            if (ngx_youdu_core_cstr(cf, &val, &db->host) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else if (key.len == 4 && ngx_strncmp(key.data, "port", 4) == 0) {
            n = ngx_atoi(val.data, val.len);
            if (n <= 0 || n > 65535) {
                goto invalid;
            }
            db->port = n;

        } else if (key.len == 4 && ngx_strncmp(key.data, "user", 4) == 0) {
            if (ngx_youdu_core_cstr(cf, &val, &db->user) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else if (key.len == 13
                   && ngx_strncmp(key.data, "password_file", 13) == 0)
        {
            file = val;
            if (ngx_youdu_read_secret(cf, &file, &db->password) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else if (key.len == 8
                   && ngx_strncmp(key.data, "database", 8) == 0)
        {
            if (ngx_youdu_core_cstr(cf, &val, &db->database) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else if (key.len == 4 && ngx_strncmp(key.data, "pool", 4) == 0) {
            n = ngx_atoi(val.data, val.len);
            if (n <= 0 || n > 1024) {
                goto invalid;
            }
            db->pool_size = n;

        } else if (key.len == 11
                   && ngx_strncmp(key.data, "max_waiting", 11) == 0)
        {
            n = ngx_atoi(val.data, val.len);
            if (n <= 0) {
                goto invalid;
            }
            db->max_waiting = n;

        } else if (key.len == 15
                   && ngx_strncmp(key.data, "connect_timeout", 15) == 0)
        {
            n = ngx_parse_time(&val, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }
            db->connect_timeout = n;

        } else if (key.len == 13
                   && ngx_strncmp(key.data, "query_timeout", 13) == 0)
        {
            n = ngx_parse_time(&val, 0);
            if (n == NGX_ERROR) {
                goto invalid;
            }
            db->query_timeout = n;

        } else if (key.len == 12
                   && ngx_strncmp(key.data, "wait_timeout", 12) == 0)
        {
            n = ngx_parse_time(&val, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }
            db->wait_timeout = n;

        } else {
            goto invalid;
        }
    }

    ycf->enabled = 1;

    /* password hashing runs in nginx's "default" thread pool */
    ycf->kdf_pool = ngx_thread_pool_add(cf, NULL);
    if (ycf->kdf_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_youdu_core_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_youdu_core_conf_t  *ycf = conf;

    ngx_int_t                n;
    ngx_str_t               *value, key, val;
    ngx_uint_t               i;
    ngx_youdu_redis_conf_t  *rc = &ycf->redis;

    if (rc->host.len) {
        return "is duplicate";
    }

    ngx_str_set(&rc->host, "127.0.0.1");
    rc->port = 6379;
    rc->timeout = 2000;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_youdu_core_kv(cf, &value[i], &key, &val) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

        if (key.len == 4 && ngx_strncmp(key.data, "host", 4) == 0) {
            if (ngx_youdu_core_cstr(cf, &val, &rc->host) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else if (key.len == 4 && ngx_strncmp(key.data, "port", 4) == 0) {
            n = ngx_atoi(val.data, val.len);
            if (n <= 0 || n > 65535) {
                goto invalid;
            }
            rc->port = n;

        } else if (key.len == 7 && ngx_strncmp(key.data, "timeout", 7) == 0) {
            n = ngx_parse_time(&val, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }
            rc->timeout = n;

        } else if (key.len == 13
                   && ngx_strncmp(key.data, "password_file", 13) == 0)
        {
            if (ngx_youdu_read_secret(cf, &val, &rc->password) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

        } else {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_youdu_core_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_youdu_core_conf_t  *ycf = conf;

    ngx_str_t  *value;

    if (ycf->jwt_key.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_youdu_read_secret(cf, &value[1], &ycf->jwt_key) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ycf->jwt_key.len < 32) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the key in \"%V\" is too short, use at least "
                           "32 characters", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_youdu_core_init_process(ngx_cycle_t *cycle)
{
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(cycle);

    if (ycf == NULL || !ycf->enabled) {
        return NGX_OK;
    }

    /* hiredis writes to sockets the peer may have closed */
    signal(SIGPIPE, SIG_IGN);

    if (ngx_youdu_db_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_youdu_redis_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_youdu_core_exit_process(ngx_cycle_t *cycle)
{
    ngx_youdu_redis_exit_worker(cycle);
    ngx_youdu_db_exit_worker(cycle);
}
