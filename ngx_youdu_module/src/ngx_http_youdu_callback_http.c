
/*
 * youdu: a small HTTP/1.1 client for callbacks, on nginx events.  One
 * request per connection (Connection: close), one timer for the whole
 * exchange, the response capped at YD_CB_MAX_REPLY.  Host names are looked
 * up with getaddrinfo() in the thread pool, never on the event loop.
 */


#include <netdb.h>
#include <ngx_thread_pool.h>
#include <ngx_event_connect.h>

#include "ngx_http_youdu_callback.h"


typedef struct {
    ngx_pool_t               *pool;
    ngx_log_t                *log;
    ngx_youdu_cb_http_pt      done;
    void                     *data;

    ngx_str_t                 host;        /* NUL-terminated */
    in_port_t                 port;
    ngx_str_t                 name;        /* host:port, for the log */
    unsigned                  https:1;
    unsigned                  finished:1;
    unsigned                  resolving:1;
    unsigned                  timed_out:1;

    ngx_peer_connection_t     peer;
    ngx_addr_t                addr;

    ngx_buf_t                *out;
    ngx_buf_t                *in;

    ngx_event_t               timer;
    ngx_event_t               fail_ev;     /* failures before any I/O */
    ngx_event_t               go_ev;

    ngx_uint_t                status;
    ngx_str_t                 body;
    ngx_str_t                 err;
} ngx_youdu_cb_http_t;


typedef struct {
    ngx_youdu_cb_http_t      *hr;
    char                     *host;
    char                      port[8];
    struct sockaddr_storage   sa;
    socklen_t                 socklen;
    int                       rc;
} ngx_youdu_cb_resolve_t;


static ngx_int_t ngx_youdu_cb_http_parse_url(ngx_youdu_cb_http_t *hr,
    ngx_str_t *url, ngx_str_t *path);
static void ngx_youdu_cb_http_resolve_thread(void *data, ngx_log_t *log);
static void ngx_youdu_cb_http_resolved(ngx_event_t *ev);
static void ngx_youdu_cb_http_go(ngx_event_t *ev);
static void ngx_youdu_cb_http_connect(ngx_youdu_cb_http_t *hr);
static void ngx_youdu_cb_http_connected(ngx_event_t *wev);
static void ngx_youdu_cb_http_start(ngx_youdu_cb_http_t *hr);
#if (NGX_SSL)
static void ngx_youdu_cb_http_handshaked(ngx_connection_t *c);
#endif
static void ngx_youdu_cb_http_write(ngx_event_t *wev);
static void ngx_youdu_cb_http_read(ngx_event_t *rev);
static ngx_int_t ngx_youdu_cb_http_parse(ngx_youdu_cb_http_t *hr,
    ngx_uint_t eof);
static ngx_int_t ngx_youdu_cb_http_dechunk(ngx_youdu_cb_http_t *hr,
    u_char *p, u_char *last);
static void ngx_youdu_cb_http_timeout(ngx_event_t *ev);
static void ngx_youdu_cb_http_fail_handler(ngx_event_t *ev);
static void ngx_youdu_cb_http_fail(ngx_youdu_cb_http_t *hr, const char *what,
    ngx_err_t err);
static void ngx_youdu_cb_http_finish(ngx_youdu_cb_http_t *hr, ngx_int_t rc);


#if (NGX_SSL)
ngx_ssl_t *ngx_youdu_callback_ssl(void);
#endif


void
ngx_youdu_cb_http_post(ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *url,
    ngx_str_t *query, ngx_str_t *body, ngx_msec_t timeout,
    ngx_youdu_cb_http_pt done, void *data)
{
    u_char                  *p;
    size_t                   len;
    ngx_str_t                path;
    ngx_uint_t               has_query;
    ngx_thread_task_t       *task;
    ngx_youdu_cb_http_t     *hr;
    ngx_youdu_core_conf_t   *ycf;
    ngx_youdu_cb_resolve_t  *rs;

    hr = ngx_pcalloc(pool, sizeof(ngx_youdu_cb_http_t));
    if (hr == NULL) {
        /* nothing to report through: the caller's pool is exhausted */
        done(data, NGX_ERROR, 0, NULL, NULL);
        return;
    }

    hr->pool = pool;
    hr->log = log;
    hr->done = done;
    hr->data = data;

    hr->timer.handler = ngx_youdu_cb_http_timeout;
    hr->timer.data = hr;
    hr->timer.log = log;

    hr->fail_ev.handler = ngx_youdu_cb_http_fail_handler;
    hr->fail_ev.data = hr;
    hr->fail_ev.log = log;

    ngx_add_timer(&hr->timer, timeout);

    if (ngx_youdu_cb_http_parse_url(hr, url, &path) != NGX_OK) {
        ngx_youdu_cb_http_fail(hr, "invalid callback URL", 0);
        return;
    }

#if !(NGX_SSL)
    if (hr->https) {
        ngx_youdu_cb_http_fail(hr, "https is not available", 0);
        return;
    }
#endif

    has_query = (ngx_strlchr(path.data, path.data + path.len, '?') != NULL);

    len = sizeof("POST  HTTP/1.1\r\n") - 1 + path.len + 1 + query->len
          + sizeof("Host: \r\n") - 1 + hr->name.len
          + sizeof("Content-Type: application/json; charset=utf-8\r\n") - 1
          + sizeof("Content-Length: \r\n") - 1 + NGX_SIZE_T_LEN
          + sizeof("User-Agent: youdu\r\nConnection: close\r\n\r\n") - 1
          + body->len;

    hr->out = ngx_create_temp_buf(pool, len);
    hr->in = ngx_create_temp_buf(pool, YD_CB_MAX_REPLY);
    if (hr->out == NULL || hr->in == NULL) {
        ngx_youdu_cb_http_fail(hr, "out of memory", 0);
        return;
    }

    p = ngx_sprintf(hr->out->last, "POST %V%c%V HTTP/1.1\r\n"
                    "Host: %V\r\n"
                    "Content-Type: application/json; charset=utf-8\r\n"
                    "Content-Length: %uz\r\n"
                    "User-Agent: youdu\r\nConnection: close\r\n\r\n",
                    &path, has_query ? '&' : '?', query, &hr->name,
                    body->len);
    hr->out->last = ngx_cpymem(p, body->data, body->len);

    /* a numeric host needs no lookup; connect from a posted event so
     * that done() never runs inside this function */
    if (ngx_parse_addr(pool, &hr->addr, hr->host.data, hr->host.len)
        == NGX_OK)
    {
        ngx_inet_set_port(hr->addr.sockaddr, hr->port);
        hr->go_ev.handler = ngx_youdu_cb_http_go;
        hr->go_ev.data = hr;
        hr->go_ev.log = log;
        ngx_post_event(&hr->go_ev, &ngx_posted_events);
        return;
    }

    ycf = ngx_youdu_core_conf(ngx_cycle);

    task = ngx_thread_task_alloc(pool, sizeof(ngx_youdu_cb_resolve_t));
    if (task == NULL || ycf->kdf_pool == NULL) {
        ngx_youdu_cb_http_fail(hr, "cannot look up the host", 0);
        return;
    }

    rs = task->ctx;
    rs->hr = hr;
    rs->host = (char *) hr->host.data;
    ngx_sprintf((u_char *) rs->port, "%ui%Z", (ngx_uint_t) hr->port);

    task->handler = ngx_youdu_cb_http_resolve_thread;
    task->event.handler = ngx_youdu_cb_http_resolved;
    task->event.data = rs;
    task->event.log = log;

    if (ngx_thread_task_post(ycf->kdf_pool, task) != NGX_OK) {
        ngx_youdu_cb_http_fail(hr, "cannot look up the host", 0);
        return;
    }

    /* the task uses the pool: nothing may finish before it is back */
    hr->resolving = 1;
}


static void
ngx_youdu_cb_http_go(ngx_event_t *ev)
{
    ngx_youdu_cb_http_connect(ev->data);
}


/* http[s]://host[:port][/path[?query]]; host may be [v6] */

static ngx_int_t
ngx_youdu_cb_http_parse_url(ngx_youdu_cb_http_t *hr, ngx_str_t *url,
    ngx_str_t *path)
{
    u_char     *p, *last, *host, *host_end, *port;
    ngx_int_t   n;

    p = url->data;
    last = url->data + url->len;

    if (url->len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;
        hr->port = 80;

    } else if (url->len > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        p += 8;
        hr->port = 443;
        hr->https = 1;

    } else {
        return NGX_ERROR;
    }

    host = p;

    if (p < last && *p == '[') {
        while (p < last && *p != ']') {
            p++;
        }

        if (p == last) {
            return NGX_ERROR;
        }

        p++;

    } else {
        while (p < last && *p != ':' && *p != '/' && *p != '?') {
            if (*p <= ' ' || *p == '@' || *p >= 0x7f) {
                return NGX_ERROR;
            }
            p++;
        }
    }

    host_end = p;

    if (host_end == host) {
        return NGX_ERROR;
    }

    hr->name.data = host;

    if (p < last && *p == ':') {
        port = ++p;
        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        n = ngx_atoi(port, p - port);
        if (n < 1 || n > 65535) {
            return NGX_ERROR;
        }

        hr->port = (in_port_t) n;
    }

    hr->name.len = p - host;

    if (p < last && *p != '/' && *p != '?') {
        return NGX_ERROR;
    }

    /* the request line takes the rest as it is: no spaces or controls */
    for (path->data = p; p < last; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return NGX_ERROR;
        }
    }

    path->len = last - path->data;

    if (path->len == 0) {
        ngx_str_set(path, "/");

    } else if (path->data[0] == '?') {
        path->data = ngx_pnalloc(hr->pool, path->len + 1);
        if (path->data == NULL) {
            return NGX_ERROR;
        }

        path->data[0] = '/';
        ngx_memcpy(path->data + 1, last - path->len, path->len);
        path->len++;
    }

    if (host[0] == '[') {
        host++;
        host_end--;
    }

    hr->host.len = host_end - host;
    hr->host.data = ngx_pnalloc(hr->pool, hr->host.len + 1);
    if (hr->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(hr->host.data, host, hr->host.len);
    hr->host.data[hr->host.len] = '\0';

    return NGX_OK;
}


static void
ngx_youdu_cb_http_resolve_thread(void *data, ngx_log_t *log)
{
    ngx_youdu_cb_resolve_t  *rs = data;

    struct addrinfo   hints, *res, *ai;

    ngx_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    rs->rc = getaddrinfo(rs->host, rs->port, &hints, &res);
    if (rs->rc != 0) {
        return;
    }

    /* IPv4 first: "localhost" may list ::1 where nothing listens */
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            break;
        }
    }

    if (ai == NULL) {
        ai = res;
    }

    if (ai->ai_addrlen <= sizeof(struct sockaddr_storage)) {
        ngx_memcpy(&rs->sa, ai->ai_addr, ai->ai_addrlen);
        rs->socklen = ai->ai_addrlen;

    } else {
        rs->rc = EAI_FAIL;
    }

    freeaddrinfo(res);
}


static void
ngx_youdu_cb_http_resolved(ngx_event_t *ev)
{
    ngx_youdu_cb_resolve_t  *rs = ev->data;

    ngx_youdu_cb_http_t  *hr = rs->hr;

    hr->resolving = 0;

    if (hr->timed_out) {
        ngx_youdu_cb_http_finish(hr, NGX_ETIMEDOUT);
        return;
    }

    if (rs->rc != 0) {
        hr->err.data = ngx_pnalloc(hr->pool, 128);
        if (hr->err.data) {
            hr->err.len = ngx_snprintf(hr->err.data, 128,
                                       "cannot resolve \"%V\": %s",
                                       &hr->host, gai_strerror(rs->rc))
                          - hr->err.data;
        }

        ngx_youdu_cb_http_finish(hr, NGX_ERROR);
        return;
    }

    hr->addr.sockaddr = ngx_palloc(hr->pool, rs->socklen);
    if (hr->addr.sockaddr == NULL) {
        ngx_youdu_cb_http_fail(hr, "out of memory", 0);
        return;
    }

    ngx_memcpy(hr->addr.sockaddr, &rs->sa, rs->socklen);
    hr->addr.socklen = rs->socklen;

    ngx_youdu_cb_http_connect(hr);
}


static void
ngx_youdu_cb_http_connect(ngx_youdu_cb_http_t *hr)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    hr->peer.sockaddr = hr->addr.sockaddr;
    hr->peer.socklen = hr->addr.socklen;
    hr->peer.name = &hr->name;
    hr->peer.get = ngx_event_get_peer;
    hr->peer.log = hr->log;
    hr->peer.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&hr->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        hr->peer.connection = NULL;
        ngx_youdu_cb_http_fail(hr, "connect failed", ngx_socket_errno);
        return;
    }

    c = hr->peer.connection;
    c->data = hr;
    c->pool = hr->pool;
    /* an error may show on either event first */
    c->read->handler = ngx_youdu_cb_http_connected;
    c->write->handler = ngx_youdu_cb_http_connected;

    if (rc == NGX_OK) {
        ngx_youdu_cb_http_start(hr);
    }
}


static void
ngx_youdu_cb_http_connected(ngx_event_t *ev)
{
    int                   err;
    socklen_t             len;
    ngx_connection_t     *c = ev->data;
    ngx_youdu_cb_http_t  *hr = c->data;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_youdu_cb_http_fail(hr, "connect", err);
        return;
    }

    ngx_youdu_cb_http_start(hr);
}


static void
ngx_youdu_cb_http_start(ngx_youdu_cb_http_t *hr)
{
    ngx_connection_t  *c = hr->peer.connection;

    c->read->handler = ngx_youdu_cb_http_read;
    c->write->handler = ngx_youdu_cb_http_write;

#if (NGX_SSL)
    if (hr->https) {
        ngx_int_t  rc;

        if (ngx_youdu_callback_ssl() == NULL
            || ngx_ssl_create_connection(ngx_youdu_callback_ssl(), c,
                                         NGX_SSL_CLIENT)
               != NGX_OK)
        {
            ngx_youdu_cb_http_fail(hr, "TLS setup failed", 0);
            return;
        }

        if (ngx_inet_addr(hr->host.data, hr->host.len) == INADDR_NONE
            && ngx_strlchr(hr->host.data, hr->host.data + hr->host.len, ':')
               == NULL)
        {
            SSL_set_tlsext_host_name(c->ssl->connection,
                                     (char *) hr->host.data);
        }

        rc = ngx_ssl_handshake(c);

        if (rc == NGX_AGAIN) {
            c->ssl->handler = ngx_youdu_cb_http_handshaked;
            return;
        }

        ngx_youdu_cb_http_handshaked(c);
        return;
    }
#endif

    ngx_youdu_cb_http_write(c->write);
}


#if (NGX_SSL)

static void
ngx_youdu_cb_http_handshaked(ngx_connection_t *c)
{
    long                        verify;
    ngx_youdu_cb_http_t        *hr = c->data;
    ngx_youdu_callback_conf_t  *cbcf;

    if (!c->ssl->handshaked) {
        ngx_youdu_cb_http_fail(hr, "TLS handshake failed", 0);
        return;
    }

    cbcf = ngx_youdu_callback_conf();

    if (cbcf->ssl_verify) {
        verify = SSL_get_verify_result(c->ssl->connection);

        if (verify != X509_V_OK) {
            hr->err.data = ngx_pnalloc(hr->pool, 160);
            if (hr->err.data) {
                hr->err.len = ngx_snprintf(hr->err.data, 160,
                                           "TLS certificate: %s",
                                           X509_verify_cert_error_string(
                                               verify))
                              - hr->err.data;
            }

            ngx_youdu_cb_http_finish(hr, NGX_ERROR);
            return;
        }

        if (ngx_ssl_check_host(c, &hr->host) != NGX_OK) {
            ngx_youdu_cb_http_fail(hr,
                                   "TLS certificate does not match the host",
                                   0);
            return;
        }
    }

    c->write->handler = ngx_youdu_cb_http_write;
    c->read->handler = ngx_youdu_cb_http_read;

    ngx_youdu_cb_http_write(c->write);
}

#endif


static void
ngx_youdu_cb_http_write(ngx_event_t *wev)
{
    ssize_t               n;
    ngx_buf_t            *b;
    ngx_connection_t     *c = wev->data;
    ngx_youdu_cb_http_t  *hr = c->data;

    b = hr->out;

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_youdu_cb_http_fail(hr, "send failed", 0);
            }
            return;
        }

        if (n == NGX_ERROR) {
            ngx_youdu_cb_http_fail(hr, "send failed", ngx_socket_errno);
            return;
        }

        b->pos += n;
    }

    /* sent: from now on only the response matters */
    wev->handler = ngx_youdu_cb_http_read;

    ngx_youdu_cb_http_read(c->read);
}


static void
ngx_youdu_cb_http_read(ngx_event_t *rev)
{
    ssize_t               n;
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_connection_t     *c = rev->data;
    ngx_youdu_cb_http_t  *hr = c->data;

    if (rev->write) {
        /* a write event after the request went out */
        return;
    }

    b = hr->in;

    for ( ;; ) {
        if (b->last == b->end) {
            ngx_youdu_cb_http_fail(hr, "response too large", 0);
            return;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_youdu_cb_http_fail(hr, "read failed", 0);
            }
            return;
        }

        if (n == NGX_ERROR) {
            ngx_youdu_cb_http_fail(hr, "read failed", ngx_socket_errno);
            return;
        }

        if (n > 0) {
            b->last += n;
        }

        rc = ngx_youdu_cb_http_parse(hr, n == 0);

        if (rc == NGX_OK) {
            ngx_youdu_cb_http_finish(hr, NGX_OK);
            return;
        }

        if (rc == NGX_ERROR) {
            if (hr->err.len == 0) {
                ngx_str_set(&hr->err, "bad HTTP response");
            }

            ngx_youdu_cb_http_finish(hr, NGX_ERROR);
            return;
        }

        if (n == 0) {
            ngx_youdu_cb_http_fail(hr, "connection closed early", 0);
            return;
        }
    }
}


/* NGX_OK complete, NGX_AGAIN more bytes needed, NGX_ERROR malformed */

static ngx_int_t
ngx_youdu_cb_http_parse(ngx_youdu_cb_http_t *hr, ngx_uint_t eof)
{
    u_char     *p, *last, *eol, *hdr_end, *colon, *v;
    size_t      vlen;
    off_t       clen;
    ngx_uint_t  chunked, status;

    p = hr->in->pos;
    last = hr->in->last;

    for ( ;; ) {
        hdr_end = ngx_strnstr(p, "\r\n\r\n", last - p);
        if (hdr_end == NULL) {
            return eof ? NGX_ERROR : NGX_AGAIN;
        }

        if (last - p < 12 || ngx_strncmp(p, "HTTP/1.", 7) != 0
            || p[8] != ' ' || p[9] < '1' || p[9] > '5')
        {
            return NGX_ERROR;
        }

        status = ngx_atoi(p + 9, 3);
        if (status == (ngx_uint_t) NGX_ERROR) {
            return NGX_ERROR;
        }

        if (status >= 200) {
            break;
        }

        /* 1xx: an interim response, the real one follows */
        p = hdr_end + 4;
    }

    hr->status = status;
    clen = -1;
    chunked = 0;

    eol = ngx_strnstr(p, "\r\n", hdr_end + 2 - p);
    if (eol == NULL) {
        return NGX_ERROR;
    }

    for (p = eol + 2; p < hdr_end; p = eol + 2) {
        eol = ngx_strnstr(p, "\r\n", hdr_end + 2 - p);
        if (eol == NULL) {
            return NGX_ERROR;
        }

        colon = ngx_strlchr(p, eol, ':');
        if (colon == NULL) {
            return NGX_ERROR;
        }

        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
            /* void */
        }

        vlen = eol - v;
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
            vlen--;
        }

        if (colon - p == 14
            && ngx_strncasecmp(p, (u_char *) "Content-Length", 14) == 0)
        {
            clen = ngx_atoof(v, vlen);
            if (clen < 0) {
                return NGX_ERROR;
            }

        } else if (colon - p == 17
                   && ngx_strncasecmp(p, (u_char *) "Transfer-Encoding", 17)
                      == 0
                   && ngx_strlcasestrn(v, v + vlen, (u_char *) "chunked", 6)
                      != NULL)
        {
            chunked = 1;
        }
    }

    p = hdr_end + 4;

    if (chunked) {
        return ngx_youdu_cb_http_dechunk(hr, p, last);
    }

    if (clen >= 0) {
        if (last - p < clen) {
            return NGX_AGAIN;
        }

        hr->body.data = p;
        hr->body.len = (size_t) clen;
        return NGX_OK;
    }

    if (hr->status == 204 || hr->status == 304) {
        hr->body.len = 0;
        return NGX_OK;
    }

    /* no length: the body ends with the connection */
    if (!eof) {
        return NGX_AGAIN;
    }

    hr->body.data = p;
    hr->body.len = last - p;

    return NGX_OK;
}


/* decodes into a copy so a partial body can be parsed again later */

static ngx_int_t
ngx_youdu_cb_http_dechunk(ngx_youdu_cb_http_t *hr, u_char *p, u_char *last)
{
    u_char      *eol, *out, *semi;
    ngx_int_t    size;

    out = ngx_pnalloc(hr->pool, last - p + 1);
    if (out == NULL) {
        return NGX_ERROR;
    }

    hr->body.data = out;
    hr->body.len = 0;

    for ( ;; ) {
        eol = ngx_strnstr(p, "\r\n", last - p);
        if (eol == NULL) {
            return NGX_AGAIN;
        }

        semi = ngx_strlchr(p, eol, ';');
        size = ngx_hextoi(p, (semi ? semi : eol) - p);
        if (size == NGX_ERROR || size > YD_CB_MAX_REPLY) {
            return NGX_ERROR;
        }

        p = eol + 2;

        if (size == 0) {
            /* trailers are ignored; the body is complete */
            return NGX_OK;
        }

        if (last - p < size + 2) {
            return NGX_AGAIN;
        }

        ngx_memcpy(out + hr->body.len, p, size);
        hr->body.len += size;
        p += size;

        if (p[0] != '\r' || p[1] != '\n') {
            return NGX_ERROR;
        }

        p += 2;
    }
}


static void
ngx_youdu_cb_http_timeout(ngx_event_t *ev)
{
    ngx_youdu_cb_http_t  *hr = ev->data;

    ngx_str_set(&hr->err, "timed out");

    if (hr->resolving) {
        hr->timed_out = 1;
        return;
    }

    ngx_youdu_cb_http_finish(hr, NGX_ETIMEDOUT);
}


static void
ngx_youdu_cb_http_fail_handler(ngx_event_t *ev)
{
    ngx_youdu_cb_http_finish(ev->data, NGX_ERROR);
}


/* records why; the caller hears of it from a posted event, never from
 * inside ngx_youdu_cb_http_post() */

static void
ngx_youdu_cb_http_fail(ngx_youdu_cb_http_t *hr, const char *what,
    ngx_err_t err)
{
    u_char  *p;

    hr->err.data = ngx_pnalloc(hr->pool, 160);

    if (hr->err.data) {
        p = ngx_snprintf(hr->err.data, 160, "%s", what);
        if (err) {
            p = ngx_snprintf(p, hr->err.data + 160 - p, ": ");
            p = ngx_strerror(err, p, hr->err.data + 160 - p);
        }

        hr->err.len = p - hr->err.data;
    }

    if (hr->timer.timer_set) {
        ngx_del_timer(&hr->timer);
    }

    if (hr->peer.connection) {
        ngx_youdu_cb_http_finish(hr, NGX_ERROR);
        return;
    }

    ngx_post_event(&hr->fail_ev, &ngx_posted_events);
}


static void
ngx_youdu_cb_http_finish(ngx_youdu_cb_http_t *hr, ngx_int_t rc)
{
    ngx_connection_t  *c;

    if (hr->finished) {
        return;
    }

    hr->finished = 1;

    if (hr->timer.timer_set) {
        ngx_del_timer(&hr->timer);
    }

    if (hr->fail_ev.posted) {
        ngx_delete_posted_event(&hr->fail_ev);
    }

    if (hr->go_ev.posted) {
        ngx_delete_posted_event(&hr->go_ev);
    }

    c = hr->peer.connection;

    if (c) {
        hr->peer.connection = NULL;

#if (NGX_SSL)
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        ngx_close_connection(c);
    }

    if (rc != NGX_OK && hr->err.len == 0) {
        ngx_str_set(&hr->err, "failed");
    }

    hr->done(hr->data, rc, hr->status, rc == NGX_OK ? &hr->body : NULL,
             &hr->err);
}
