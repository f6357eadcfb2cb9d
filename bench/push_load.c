/*
 * push_load: epoll load generator for the push benchmarks (bench/push_bench.sh).
 * One thread, non-blocking sockets, libc only.  Loopback use only.
 *
 *   push_load ws host=H port=P path=/push/ws tokens=FILE from=I count=N
 *                [src=127.0.0.2] [proto=youdu|nchan] [inflight=100]
 *                out=FILE status=FILE [max_time=900]
 *       Opens N WebSocket connections (tokens FILE lines I..I+N-1 for youdu;
 *       nchan needs none), authenticates each ({"type":"auth","token":...}
 *       then waits for auth_ok), answers pings, and for every text frame
 *       holding "bench T<ns> S<id>" appends "<id> <latency us>" to out
 *       (latency = CLOCK_MONOTONIC now - <ns>, the sender's clock just before
 *       its write: same host, same clock).  status is rewritten every 0.5 s:
 *       "target= started= ready= failed= closed= frames= marks=".
 *       SIGTERM/SIGINT: flush and exit.  Exits by itself after max_time s.
 *
 *   push_load send host=H port=P plan=FILE rate=R [duration=S | count=N]
 *                [conns=K] [body=youdu|raw] [tag=T]
 *       Open loop: request i is due at start + i/R; it goes out on the first
 *       idle keep-alive connection (K of them, one request in flight each;
 *       "backlog" counts due requests waiting for one).  plan lines are
 *       "<path> <bearer token or ->", used round-robin.  youdu body:
 *       {"client_msg_id":"T-i","kind":"text","text":"bench T<ns> ST-i"},
 *       raw body (nchan publish): "bench T<ns> ST-i".  Prints one summary
 *       line of key=value.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define RBUF 4096
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   /* RFC 6455 1.3 */

static volatile sig_atomic_t stop_flag;
static int ep;
static struct sockaddr_in dst;
static const char *host = "127.0.0.1";
static int port = 8080;

static void on_signal(int s) { (void) s; stop_flag = 1; }

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void
die(const char *m)
{
    fprintf(stderr, "push_load: %s: %s\n", m, strerror(errno));
    exit(2);
}

/* key=value arguments */
static int nargs;
static char **args;

static const char *
opt(const char *k, const char *def)
{
    size_t n = strlen(k);
    for (int i = 0; i < nargs; i++) {
        if (strncmp(args[i], k, n) == 0 && args[i][n] == '=') {
            return args[i] + n + 1;
        }
    }
    return def;
}

static long optl(const char *k, long def)
{
    const char *v = opt(k, NULL);
    return v ? strtol(v, NULL, 10) : def;
}

static char **
read_lines(const char *path, long *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        die(path);
    }
    long cap = 1024, cnt = 0;
    char **v = malloc(cap * sizeof(char *));
    char *line = NULL;
    size_t sz = 0;
    ssize_t len;
    while ((len = getline(&line, &sz, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (cnt == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(char *));
        }
        v[cnt++] = strdup(line);
    }
    free(line);
    fclose(f);
    *n = cnt;
    return v;
}

static int
new_socket(const char *src)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        inet_pton(AF_INET, src, &sa.sin_addr);
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *) &dst, sizeof(dst)) != 0
        && errno != EINPROGRESS)
    {
        close(fd);
        return -1;
    }
    return fd;
}

static void
ep_set(int fd, void *ptr, uint32_t events, int op)
{
    struct epoll_event e = { .events = events, .data.ptr = ptr };
    if (epoll_ctl(ep, op, fd, &e) != 0) {
        die("epoll_ctl");
    }
}

/* a growable byte buffer */
typedef struct { char *p; size_t len, cap; } buf_t;

static void
buf_add(buf_t *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

/* "bench T<ns> S<id>" in a frame or body: the mark */
static int
find_mark(const char *p, size_t len, uint64_t *t, const char **id, size_t *idlen)
{
    const char *m = memmem(p, len, "bench T", 7);
    if (m == NULL) {
        return 0;
    }
    const char *e = p + len, *q = m + 7;
    uint64_t v = 0;
    while (q < e && *q >= '0' && *q <= '9') {
        v = v * 10 + (uint64_t) (*q++ - '0');
    }
    if (q + 2 > e || q[0] != ' ' || q[1] != 'S') {
        return 0;
    }
    q += 2;
    const char *s = q;
    while (q < e && *q != '"' && *q != ' ' && *q != '\\') {
        q++;
    }
    *t = v;
    *id = s;
    *idlen = (size_t) (q - s);
    return 1;
}

/* ------------------------------------------------------------ ws mode */

enum { W_NEW, W_CONNECTING, W_UPGRADING, W_AUTHING, W_READY, W_DEAD };

typedef struct {
    int       fd;
    int       state;
    long      idx;
    size_t    rlen;
    uint64_t  skip;        /* payload bytes of an oversized frame to drop */
    char     *rbuf;
    buf_t     w;
    size_t    woff;
} wconn_t;

static struct {
    long target, started, ready, failed, closed, frames, marks, connecting;
    char first_error[200];
} ws;

static buf_t outbuf;
static int nchan_proto;

static void
note_error(const char *what, const char *detail, size_t dlen)
{
    if (ws.first_error[0] == '\0') {
        snprintf(ws.first_error, sizeof(ws.first_error), "%s %.*s", what,
                 (int) (dlen > 120 ? 120 : dlen), detail ? detail : "");
        for (char *p = ws.first_error; *p; p++) {
            if (*p == '\n' || *p == '\r') {
                *p = ' ';
            }
        }
    }
}

static void
w_kill(wconn_t *c, int failed)
{
    if (c->state == W_DEAD) {
        return;
    }
    if (c->state >= W_CONNECTING && c->state <= W_AUTHING) {
        ws.connecting--;
    }
    if (c->state == W_READY) {
        ws.closed++;
    } else if (failed) {
        ws.failed++;
    }
    c->state = W_DEAD;
    close(c->fd);
    free(c->rbuf);
    c->rbuf = NULL;
    free(c->w.p);
    c->w.p = NULL;
}

static void
w_flush(wconn_t *c)
{
    while (c->woff < c->w.len) {
        ssize_t n = write(c->fd, c->w.p + c->woff, c->w.len - c->woff);
        if (n < 0) {
            if (errno == EAGAIN) {
                ep_set(c->fd, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                return;
            }
            note_error("write", strerror(errno), strlen(strerror(errno)));
            w_kill(c, 1);
            return;
        }
        c->woff += (size_t) n;
    }
    c->w.len = c->woff = 0;
    ep_set(c->fd, c, EPOLLIN, EPOLL_CTL_MOD);
}

/* a masked client frame */
static void
w_frame(wconn_t *c, int opcode, const char *data, size_t len)
{
    unsigned char h[8];
    size_t hl = 0;
    h[hl++] = (unsigned char) (0x80 | opcode);
    if (len < 126) {
        h[hl++] = (unsigned char) (0x80 | len);
    } else {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char) (len >> 8);
        h[hl++] = (unsigned char) len;
    }
    unsigned char mask[4] = { 0x37, 0xfa, 0x21, (unsigned char) c->idx };
    buf_add(&c->w, h, hl);
    buf_add(&c->w, mask, 4);
    size_t off = c->w.len;
    buf_add(&c->w, data, len);
    for (size_t i = 0; i < len; i++) {
        c->w.p[off + i] ^= mask[i & 3];
    }
}

static void
w_text(wconn_t *c, const char *p, size_t len)
{
    uint64_t t;
    const char *id;
    size_t idlen;

    ws.frames++;

    if (c->state == W_AUTHING) {
        if (memmem(p, len, "\"auth_ok\"", 9)) {
            c->state = W_READY;
            ws.connecting--;
            ws.ready++;
        } else {
            note_error("auth:", p, len);
        }
        return;
    }

    if (find_mark(p, len, &t, &id, &idlen)) {
        char line[128];
        uint64_t now = now_ns();
        int n = snprintf(line, sizeof(line), "%.*s %llu\n", (int) idlen, id,
                         (unsigned long long) (now > t ? (now - t) / 1000 : 0));
        buf_add(&outbuf, line, (size_t) n);
        ws.marks++;
    }
}

/* frames in rbuf; returns -1 when the connection is gone */
static int
w_frames(wconn_t *c)
{
    while (c->rlen >= 2) {
        unsigned char *b = (unsigned char *) c->rbuf;
        int op = b[0] & 0x0f;
        uint64_t len = b[1] & 0x7f;
        size_t hl = 2;
        if (b[1] & 0x80) {
            note_error("masked server frame", NULL, 0);
            w_kill(c, 1);
            return -1;
        }
        if (len == 126) {
            if (c->rlen < 4) {
                return 0;
            }
            len = (uint64_t) b[2] << 8 | b[3];
            hl = 4;
        } else if (len == 127) {
            if (c->rlen < 10) {
                return 0;
            }
            len = 0;
            for (int i = 2; i < 10; i++) {
                len = len << 8 | b[i];
            }
            hl = 10;
        }
        if (hl + len > c->rlen) {
            if (hl + len <= RBUF) {
                return 0;
            }
            /* larger than the buffer: look at what is here, drop the rest */
            if (op == 1) {
                w_text(c, c->rbuf + hl, c->rlen - hl);
            }
            c->skip = hl + len - c->rlen;
            c->rlen = 0;
            return 0;
        }
        char *p = c->rbuf + hl;
        switch (op) {
        case 1:
            w_text(c, p, (size_t) len);
            break;
        case 8:
            if (c->state != W_READY) {
                note_error("closed before ready:", p + 2, len > 2 ? len - 2 : 0);
            } else {
                note_error("closed:", p + 2, len > 2 ? len - 2 : 0);
            }
            w_kill(c, 1);
            return -1;
        case 9:
            w_frame(c, 10, p, (size_t) len);
            w_flush(c);
            if (c->state == W_DEAD) {
                return -1;
            }
            break;
        default:
            break;
        }
        size_t fl = hl + (size_t) len;
        memmove(c->rbuf, c->rbuf + fl, c->rlen - fl);
        c->rlen -= fl;
    }
    return 0;
}

static void
w_read(wconn_t *c, char **tokens)
{
    for (;;) {
        ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n <= 0) {
            if (c->state != W_READY) {
                note_error("eof before ready", NULL, 0);
            }
            w_kill(c, 1);
            return;
        }
        if (c->skip) {
            size_t d = (uint64_t) n < c->skip ? (size_t) n : (size_t) c->skip;
            c->skip -= d;
            memmove(c->rbuf + c->rlen, c->rbuf + c->rlen + d, (size_t) n - d);
            n -= (ssize_t) d;
        }
        c->rlen += (size_t) n;

        if (c->state == W_UPGRADING) {
            char *e = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
            if (e == NULL) {
                if (c->rlen == RBUF) {
                    w_kill(c, 1);
                    return;
                }
                continue;
            }
            size_t hl = (size_t) (e + 4 - c->rbuf);
            if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0
                || memmem(c->rbuf, hl, WS_ACCEPT, sizeof(WS_ACCEPT) - 1) == NULL)
            {
                note_error("upgrade:", c->rbuf, c->rlen);
                w_kill(c, 1);
                return;
            }
            memmove(c->rbuf, c->rbuf + hl, c->rlen - hl);
            c->rlen -= hl;
            if (nchan_proto) {
                c->state = W_READY;
                ws.connecting--;
                ws.ready++;
            } else {
                char msg[2300];
                int ml = snprintf(msg, sizeof(msg),
                                  "{\"type\":\"auth\",\"token\":\"%s\"}",
                                  tokens[c->idx]);
                c->state = W_AUTHING;
                w_frame(c, 1, msg, (size_t) ml);
                w_flush(c);
                if (c->state == W_DEAD) {
                    return;
                }
            }
        }
        if (w_frames(c) < 0) {
            return;
        }
    }
}

static void
w_start(wconn_t *c, const char *src, const char *path)
{
    c->fd = new_socket(src);
    ws.started++;
    if (c->fd < 0) {
        note_error("socket/connect:", strerror(errno), strlen(strerror(errno)));
        c->state = W_DEAD;
        ws.failed++;
        return;
    }
    c->rbuf = malloc(RBUF);
    c->state = W_CONNECTING;
    ws.connecting++;
    ep_set(c->fd, c, EPOLLOUT, EPOLL_CTL_ADD);
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", path, host, port);
    buf_add(&c->w, req, (size_t) n);
}

static void
write_status(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return;
    }
    fprintf(f, "target=%ld started=%ld ready=%ld failed=%ld closed=%ld frames=%ld "
            "marks=%ld error=%s\n", ws.target, ws.started, ws.ready, ws.failed,
            ws.closed, ws.frames, ws.marks, ws.first_error[0] ? ws.first_error : "-");
    fclose(f);
    rename(tmp, path);
}

static void
flush_out(FILE *out)
{
    if (outbuf.len) {
        fwrite(outbuf.p, 1, outbuf.len, out);
        fflush(out);
        outbuf.len = 0;
    }
}

static int
ws_mode(void)
{
    long ntok = 0;
    char **tokens = NULL;
    const char *path = opt("path", "/push/ws");
    const char *src = opt("src", NULL);
    long from = optl("from", 0), count = optl("count", 1);
    long inflight = optl("inflight", 100);
    long max_time = optl("max_time", 900);
    const char *status = opt("status", "/dev/null");
    FILE *out = fopen(opt("out", "/dev/null"), "a");

    if (out == NULL) {
        die("out");
    }
    nchan_proto = strcmp(opt("proto", "youdu"), "nchan") == 0;
    if (!nchan_proto) {
        tokens = read_lines(opt("tokens", "tokens.txt"), &ntok);
        if (from + count > ntok) {
            fprintf(stderr, "push_load: %ld tokens, need %ld\n", ntok, from + count);
            return 2;
        }
    }

    wconn_t *cs = calloc((size_t) count, sizeof(wconn_t));
    for (long i = 0; i < count; i++) {
        cs[i].idx = from + i;
        cs[i].fd = -1;
    }
    ws.target = count;

    uint64_t t0 = now_ns(), next_tick = 0;
    long next = 0;
    struct epoll_event evs[256];

    while (!stop_flag) {
        while (next < count && ws.connecting < inflight) {
            w_start(&cs[next++], src, path);
        }
        int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            wconn_t *c = evs[i].data.ptr;
            if (c->state == W_DEAD) {
                continue;
            }
            if (c->state == W_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    note_error("connect:", strerror(err), strlen(strerror(err)));
                    w_kill(c, 1);
                    continue;
                }
                c->state = W_UPGRADING;
                w_flush(c);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && c->w.len) {
                w_flush(c);
                if (c->state == W_DEAD) {
                    continue;
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                w_read(c, tokens);
            }
        }
        uint64_t now = now_ns();
        if (now >= next_tick) {
            next_tick = now + 500000000ull;
            flush_out(out);
            write_status(status);
        }
        if (now - t0 > (uint64_t) max_time * 1000000000ull) {
            break;
        }
    }
    flush_out(out);
    write_status(status);
    fclose(out);
    return 0;
}

/* ------------------------------------------------------------ send mode */

enum { H_CONNECTING, H_IDLE, H_BUSY };

typedef struct {
    int       fd;
    int       state;
    uint64_t  t_send;
    size_t    rlen;
    char      rbuf[16384];
} hconn_t;

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void
h_reconnect(hconn_t *h)
{
    close(h->fd);
    h->fd = new_socket(NULL);
    if (h->fd < 0) {
        die("reconnect");
    }
    h->state = H_CONNECTING;
    h->rlen = 0;
    ep_set(h->fd, h, EPOLLOUT, EPOLL_CTL_ADD);
}

static int
send_mode(void)
{
    long nplan;
    char **plan = read_lines(opt("plan", "plan.txt"), &nplan);
    double rate = atof(opt("rate", "100"));
    double duration = atof(opt("duration", "0"));
    long count = optl("count", 0);
    long nconns = optl("conns", 16);
    int raw = strcmp(opt("body", "youdu"), "raw") == 0;
    const char *tag = opt("tag", "m");
    long total = count ? count : (long) (rate * duration + 0.5);

    if (nplan == 0 || total <= 0 || rate <= 0) {
        fprintf(stderr, "push_load send: empty plan or nothing to send\n");
        return 2;
    }

    char **ppath = malloc(nplan * sizeof(char *)), **ptok = malloc(nplan * sizeof(char *));
    for (long i = 0; i < nplan; i++) {
        char *sp = strchr(plan[i], ' ');
        ppath[i] = plan[i];
        ptok[i] = "-";
        if (sp) {
            *sp = '\0';
            ptok[i] = sp + 1;
        }
    }

    hconn_t *hs = calloc((size_t) nconns, sizeof(hconn_t));
    int *idle = malloc(nconns * sizeof(int));
    int nidle = 0;
    long nconnecting = 0;
    for (long i = 0; i < nconns; i++) {
        hs[i].fd = new_socket(NULL);
        if (hs[i].fd < 0) {
            die("connect");
        }
        hs[i].state = H_CONNECTING;
        nconnecting++;
        ep_set(hs[i].fd, &hs[i], EPOLLOUT, EPOLL_CTL_ADD);
    }

    uint64_t *lat = malloc((size_t) total * sizeof(uint64_t));
    long issued = 0, done = 0, ok = 0, errors = 0, other = 0, max_backlog = 0;
    long reconnects = 0, nlat = 0;
    int first_other = 0;
    char first_body[160] = "";
    struct epoll_event evs[256];
    uint64_t t0 = 0, deadline = now_ns() + 10000000000ull;

    /* all connections up before the clock starts */
    while (nconnecting && now_ns() < deadline && !stop_flag) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            hconn_t *h = evs[i].data.ptr;
            int err = 0;
            socklen_t el = sizeof(err);
            getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                errno = err;
                die("connect");
            }
            h->state = H_IDLE;
            idle[nidle++] = (int) (h - hs);
            ep_set(h->fd, h, EPOLLIN, EPOLL_CTL_MOD);
            nconnecting--;
        }
    }
    if (nconnecting) {
        fprintf(stderr, "push_load send: connections not established\n");
        return 2;
    }

    t0 = now_ns();
    uint64_t hard_end = t0 + (uint64_t) ((double) total / rate * 1e9) + 30000000000ull;

    while (done < total && !stop_flag && now_ns() < hard_end) {
        uint64_t now = now_ns();
        long due = (long) ((double) (now - t0) / 1e9 * rate) + 1;
        if (due > total) {
            due = total;
        }
        while (issued < due && nidle) {
            hconn_t *h = &hs[idle[--nidle]];
            long p = issued % nplan;
            char body[256], req[4096];
            h->t_send = now_ns();
            int bl = raw
                ? snprintf(body, sizeof(body), "bench T%llu S%s-%ld",
                           (unsigned long long) h->t_send, tag, issued)
                : snprintf(body, sizeof(body),
                           "{\"client_msg_id\":\"%s-%ld\",\"kind\":\"text\","
                           "\"text\":\"bench T%llu S%s-%ld\"}", tag, issued,
                           (unsigned long long) h->t_send, tag, issued);
            int rl = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                              "%s%s%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
                              ppath[p], host, port,
                              strcmp(ptok[p], "-") ? "Authorization: Bearer " : "",
                              strcmp(ptok[p], "-") ? ptok[p] : "",
                              strcmp(ptok[p], "-") ? "\r\n" : "",
                              raw ? "text/plain" : "application/json", bl, body);
            if (write(h->fd, req, (size_t) rl) != rl) {
                die("write (request not sent in one piece)");
            }
            h->state = H_BUSY;
            h->rlen = 0;
            issued++;
        }
        if (due - issued > max_backlog) {
            max_backlog = due - issued;
        }

        /* wake up for the next due request */
        int timeout = 1;
        if (issued < total && issued >= due) {
            double next_at = (double) issued / rate * 1e9;
            double wait = (next_at - (double) (now_ns() - t0)) / 1e6;
            timeout = wait < 0 ? 0 : (int) wait;
        } else if (issued >= total) {
            timeout = 100;
        }
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            hconn_t *h = evs[i].data.ptr;
            if (h->state == H_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    errno = err;
                    die("reconnect");
                }
                h->state = H_IDLE;
                idle[nidle++] = (int) (h - hs);
                ep_set(h->fd, h, EPOLLIN, EPOLL_CTL_MOD);
                continue;
            }
            ssize_t r = read(h->fd, h->rbuf + h->rlen, sizeof(h->rbuf) - 1 - h->rlen);
            if (r < 0 && errno == EAGAIN) {
                continue;
            }
            if (r <= 0) {
                /* closed without "Connection: close": the request is lost */
                if (h->state == H_BUSY) {
                    errors++;
                    done++;
                } else {
                    for (int k = 0; k < nidle; k++) {
                        if (idle[k] == (int) (h - hs)) {
                            idle[k] = idle[--nidle];
                            break;
                        }
                    }
                }
                h_reconnect(h);
                continue;
            }
            h->rlen += (size_t) r;
            h->rbuf[h->rlen] = '\0';
            char *e = strstr(h->rbuf, "\r\n\r\n");
            if (e == NULL) {
                continue;
            }
            char *cl = strcasestr(h->rbuf, "\r\nContent-Length:");
            size_t blen = cl && cl < e ? (size_t) strtoul(cl + 17, NULL, 10) : 0;
            if (h->rlen < (size_t) (e + 4 - h->rbuf) + blen) {
                continue;
            }
            int st = atoi(h->rbuf + 9);
            lat[nlat++] = now_ns() - h->t_send;
            done++;
            if (st >= 200 && st < 300) {
                ok++;
            } else {
                other++;
                if (!first_other) {
                    first_other = st;
                    snprintf(first_body, sizeof(first_body), "%.*s",
                             (int) blen > 150 ? 150 : (int) blen, e + 4);
                }
            }
            char *cc = strcasestr(h->rbuf, "\r\nConnection: close");
            if (cc && cc < e) {
                /* keepalive_requests reached: a fresh connection */
                reconnects++;
                h_reconnect(h);
                continue;
            }
            h->state = H_IDLE;
            idle[nidle++] = (int) (h - hs);
        }
    }

    double secs = (double) (now_ns() - t0) / 1e9;
    long nl = nlat;
    qsort(lat, (size_t) nl, sizeof(uint64_t), cmp_u64);
    printf("sent=%ld done=%ld ok=%ld http_other=%ld first_other=%d conn_errors=%ld "
           "secs=%.2f achieved_rate=%.0f resp_p50_ms=%.2f resp_p99_ms=%.2f "
           "resp_max_ms=%.2f max_backlog=%ld reconnects=%ld%s%s\n",
           issued, done, ok, other, first_other, errors, secs,
           (double) issued / secs,
           nl ? lat[nl / 2] / 1e6 : 0, nl ? lat[(nl * 99) / 100] / 1e6 : 0,
           nl ? lat[nl - 1] / 1e6 : 0, max_backlog, reconnects,
           first_body[0] ? " first_other_body=" : "", first_body);
    return (ok == total) ? 0 : 1;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: push_load ws|send key=value...\n");
        return 2;
    }
    nargs = argc - 2;
    args = argv + 2;
    host = opt("host", "127.0.0.1");
    port = (int) optl("port", 8080);
    if (strncmp(host, "127.", 4) != 0) {
        fprintf(stderr, "push_load: loopback addresses only\n");
        return 2;
    }
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t) port);
    inet_pton(AF_INET, host, &dst.sin_addr);

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        die("epoll_create1");
    }
    if (strcmp(argv[1], "ws") == 0) {
        return ws_mode();
    }
    if (strcmp(argv[1], "send") == 0) {
        return send_mode();
    }
    fprintf(stderr, "push_load: unknown mode %s\n", argv[1]);
    return 2;
}
