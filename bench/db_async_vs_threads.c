/*
 * youdu: MariaDB access from an event loop, two ways, measured outside nginx.
 *
 *   async    ONE thread, epoll, K connections with MYSQL_OPT_NONBLOCK; each
 *            request is a prepared statement run with mysql_stmt_execute_start
 *            / _cont and mysql_stmt_store_result_start / _cont, the wait mask
 *            mapped to epoll (this is what ngx_youdu_db.c does).
 *
 *   threads  the main thread (the "event loop") posts requests to a shared
 *            queue (mutex + condvar, like ngx_thread_task_post); T = K worker
 *            threads, each with its own blocking connection, run the same
 *            prepared statement, append the request to a done list and write
 *            an eventfd (like ngx_notify); the main thread, in epoll_wait on
 *            that eventfd, drains the done list and re-submits.
 *
 * Workload: closed loop with N requests in flight. Each request is
 * "SELECT user_id, revoked_at IS NULL FROM sessions WHERE id = ?" with a
 * random id; when it completes (as seen by the main thread) the result is
 * checked and a new request is submitted at once. In both modes requests
 * beyond K wait in a FIFO (the pool's wait queue / the thread pool's queue).
 * Latency runs from submit (enqueue) to completion seen by the main thread.
 *
 * Build: gcc -O2 -o /tmp/dbbench bench/db_async_vs_threads.c \
 *            $(pkg-config --cflags --libs libmariadb) -lpthread
 * Run:   /tmp/dbbench [-h host] [-P port] [-u user] [-p pass] [-D db]
 *            [-d seconds] [-w warmup_seconds] [-r rows]
 *            [-g N:K,N:K,...] [-s mariadbd_pid] [-m async|threads|both]
 *            [-n passes]
 *
 * -g lists the configurations: N requests in flight, K connections (= K
 * worker threads). -n repeats the whole grid; odd passes run async first,
 * even passes threads first, so neither mode always follows the other.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>


#define SQL "SELECT user_id, revoked_at IS NULL FROM sessions WHERE id = ?"


/* ---- configuration ---------------------------------------------------- */

static const char  *opt_host = "127.0.0.1";
static unsigned     opt_port = 23306;
static const char  *opt_user = "bench";
static const char  *opt_pass = "bench";
static const char  *opt_db = "benchdb";
static double       opt_duration = 10.0;
static double       opt_warmup = 1.0;
static long         opt_rows = 100000;
static long         opt_server_pid = 0;
static const char  *opt_grid = "16:16,64:16,256:16,64:64,256:256";
static const char  *opt_modes = "both";
static int          opt_passes = 1;


/* ---- helpers ---------------------------------------------------------- */

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}


static void
die(const char *what, const char *err)
{
    fprintf(stderr, "dbbench: %s: %s\n", what, err ? err : strerror(errno));
    exit(1);
}


/* the data set built by db_async_vs_threads.sh */
static long long
expected_user_id(long long id)
{
    return (id * 7) % 5000 + 1;
}


static long long
expected_active(long long id)
{
    return (id % 10 == 0) ? 0 : 1;
}


static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static long long
random_id(void)
{
    /* xorshift64*, main thread only */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (long long) ((rng_state * 2685821657736338717ull) >> 11)
           % opt_rows + 1;
}


/* ---- requests and statistics ----------------------------------------- */

typedef struct req_s  req_t;

struct req_s {
    req_t              *next;
    uint64_t            t_submit;
    long long           id;
    long long           user_id;
    long long           active;
    int                 err;
};


typedef struct {
    req_t              *head;
    req_t             **tail;
} fifo_t;


static void
fifo_init(fifo_t *q)
{
    q->head = NULL;
    q->tail = &q->head;
}


static void
fifo_push(fifo_t *q, req_t *r)
{
    r->next = NULL;
    *q->tail = r;
    q->tail = &r->next;
}


static req_t *
fifo_pop(fifo_t *q)
{
    req_t  *r = q->head;

    if (r) {
        q->head = r->next;
        if (q->head == NULL) {
            q->tail = &q->head;
        }
    }
    return r;
}


typedef struct {
    uint64_t            t_start;     /* start of measured window */
    uint64_t            t_end;
    int                 measuring;
    uint64_t            done;        /* completions inside the window */
    uint64_t            errors;
    uint64_t            wrong;
    uint64_t           *lat;         /* ns */
    size_t              nlat, cap;
} stats_t;


static stats_t  st;


static void
stats_complete(req_t *r, uint64_t t)
{
    if (r->err) {
        st.errors++;
    } else if (r->user_id != expected_user_id(r->id)
               || r->active != expected_active(r->id))
    {
        st.wrong++;
    }

    if (!st.measuring || t < st.t_start) {
        return;
    }

    st.done++;

    if (st.nlat == st.cap) {
        st.cap = st.cap ? st.cap * 2 : 1 << 20;
        st.lat = realloc(st.lat, st.cap * sizeof(uint64_t));
        if (st.lat == NULL) {
            die("realloc", NULL);
        }
    }
    st.lat[st.nlat++] = t - r->t_submit;
}


/* ---- CPU accounting --------------------------------------------------- */

typedef struct {
    double              self_cpu;    /* s, whole process, all threads */
    long                nvcsw, nivcsw;
    double              server_cpu;  /* s, mariadbd */
    unsigned long long  host_busy, host_total;   /* jiffies */
    unsigned long long  host_irq;                /* irq + softirq */
    uint64_t            t;
} cpu_snap_t;


static double
server_cpu_seconds(void)
{
    char                path[64], buf[1024], *p;
    unsigned long       ut, stt;
    FILE               *f;
    int                 i;

    if (opt_server_pid <= 0) {
        return 0;
    }

    snprintf(path, sizeof(path), "/proc/%ld/stat", opt_server_pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    if (fgets(buf, sizeof(buf), f) == NULL) {
        fclose(f);
        return 0;
    }
    fclose(f);

    p = strrchr(buf, ')');          /* skip "pid (comm)" */
    if (p == NULL) {
        return 0;
    }
    p += 2;
    for (i = 3; i < 14; i++) {      /* fields 14, 15: utime, stime */
        p = strchr(p, ' ');
        if (p == NULL) {
            return 0;
        }
        p++;
    }
    if (sscanf(p, "%lu %lu", &ut, &stt) != 2) {
        return 0;
    }
    return (double) (ut + stt) / sysconf(_SC_CLK_TCK);
}


static void
host_cpu(unsigned long long *busy, unsigned long long *total,
    unsigned long long *irq)
{
    unsigned long long  v[10] = { 0 };
    FILE               *f;
    int                 i;

    *busy = *total = *irq = 0;
    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return;
    }
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
               &v[8], &v[9]) >= 8)
    {
        /* guest time is already in user/nice */
        for (i = 0; i < 8; i++) {
            *total += v[i];
        }
        *busy = *total - v[3] - v[4];   /* minus idle, iowait */
        *irq = v[5] + v[6];
    }
    fclose(f);
}


static void
cpu_snap(cpu_snap_t *s)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    s->self_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                  + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    s->nvcsw = ru.ru_nvcsw;
    s->nivcsw = ru.ru_nivcsw;
    s->server_cpu = server_cpu_seconds();
    host_cpu(&s->host_busy, &s->host_total, &s->host_irq);
    s->t = now_ns();
}


/* ---- connections ------------------------------------------------------ */

static void
wait_fd(MYSQL *m, int status)
{
    struct pollfd  pfd;
    int            tmo = -1;

    pfd.fd = mysql_get_socket(m);
    pfd.events = 0;
    pfd.revents = 0;
    if (status & MYSQL_WAIT_READ) {
        pfd.events |= POLLIN;
    }
    if (status & MYSQL_WAIT_WRITE) {
        pfd.events |= POLLOUT;
    }
    if (status & MYSQL_WAIT_TIMEOUT) {
        tmo = (int) mysql_get_timeout_value_ms(m);
    }
    (void) poll(&pfd, 1, tmo);
}


static int
poll_status(MYSQL *m, int status)
{
    struct pollfd  pfd;
    int            tmo = -1, n, res = 0;

    pfd.fd = mysql_get_socket(m);
    pfd.events = 0;
    if (status & MYSQL_WAIT_READ) {
        pfd.events |= POLLIN;
    }
    if (status & MYSQL_WAIT_WRITE) {
        pfd.events |= POLLOUT;
    }
    if (status & MYSQL_WAIT_TIMEOUT) {
        tmo = (int) mysql_get_timeout_value_ms(m);
    }
    n = poll(&pfd, 1, tmo);
    if (n == 0) {
        return MYSQL_WAIT_TIMEOUT;
    }
    if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
        res |= MYSQL_WAIT_READ;
    }
    if (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) {
        res |= MYSQL_WAIT_WRITE;
    }
    return res;
}


/*
 * Open a connection and prepare the statement. Setup is not measured;
 * non-blocking connections are set up through the _start/_cont API (with
 * poll) so that nothing depends on mixing the two APIs.
 */
static MYSQL_STMT *
open_conn(MYSQL **mp, int nonblock)
{
    MYSQL        *m, *ret;
    MYSQL_STMT   *stmt;
    unsigned int  tmo = 10;
    int           status, rc;

    (void) wait_fd;

    m = mysql_init(NULL);
    if (m == NULL) {
        die("mysql_init", "out of memory");
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &tmo);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");

    if (nonblock) {
        mysql_options(m, MYSQL_OPT_NONBLOCK, 0);
        status = mysql_real_connect_start(&ret, m, opt_host, opt_user,
                                          opt_pass, opt_db, opt_port, NULL, 0);
        while (status) {
            status = mysql_real_connect_cont(&ret, m, poll_status(m, status));
        }
    } else {
        ret = mysql_real_connect(m, opt_host, opt_user, opt_pass, opt_db,
                                 opt_port, NULL, 0);
    }
    if (ret == NULL) {
        die("connect", mysql_error(m));
    }

    stmt = mysql_stmt_init(m);
    if (stmt == NULL) {
        die("mysql_stmt_init", mysql_error(m));
    }

    if (nonblock) {
        status = mysql_stmt_prepare_start(&rc, stmt, SQL, strlen(SQL));
        while (status) {
            status = mysql_stmt_prepare_cont(&rc, stmt, poll_status(m, status));
        }
    } else {
        rc = mysql_stmt_prepare(stmt, SQL, strlen(SQL));
    }
    if (rc != 0) {
        die("prepare", mysql_stmt_error(stmt));
    }

    *mp = m;
    return stmt;
}


/* per-connection bind buffers, the same in both modes */
typedef struct {
    MYSQL              *mysql;
    MYSQL_STMT         *stmt;
    MYSQL_BIND          param[1];
    MYSQL_BIND          result[2];
    long long           p_id;
    long long           r_user_id, r_active;
    my_bool             r_null[2], r_err[2];
} dbconn_t;


static void
dbconn_open(dbconn_t *dc, int nonblock)
{
    memset(dc, 0, sizeof(*dc));
    dc->stmt = open_conn(&dc->mysql, nonblock);

    dc->param[0].buffer_type = MYSQL_TYPE_LONGLONG;
    dc->param[0].buffer = &dc->p_id;

    dc->result[0].buffer_type = MYSQL_TYPE_LONGLONG;
    dc->result[0].buffer = &dc->r_user_id;
    dc->result[0].is_null = &dc->r_null[0];
    dc->result[0].error = &dc->r_err[0];
    dc->result[1].buffer_type = MYSQL_TYPE_LONGLONG;
    dc->result[1].buffer = &dc->r_active;
    dc->result[1].is_null = &dc->r_null[1];
    dc->result[1].error = &dc->r_err[1];

    if (mysql_stmt_bind_param(dc->stmt, dc->param) != 0) {
        die("bind_param", mysql_stmt_error(dc->stmt));
    }
}


static void
dbconn_close(dbconn_t *dc)
{
    mysql_stmt_close(dc->stmt);
    mysql_close(dc->mysql);
}


/* after store_result: read the (single) row into r */
static void
dbconn_fetch(dbconn_t *dc, req_t *r)
{
    int  rc;

    r->user_id = -1;
    r->active = -1;

    if (mysql_stmt_bind_result(dc->stmt, dc->result) != 0) {
        r->err = 1;
        mysql_stmt_free_result(dc->stmt);
        return;
    }
    rc = mysql_stmt_fetch(dc->stmt);
    if (rc == 0 && !dc->r_null[0] && !dc->r_null[1]) {
        r->user_id = dc->r_user_id;
        r->active = dc->r_active;
    } else if (rc == 1) {
        r->err = 1;
    }
    mysql_stmt_free_result(dc->stmt);
}


/* ---- run bookkeeping shared by both modes ----------------------------- */

typedef struct {
    const char         *mode;
    int                 inflight, conns;
    double              qps, p50_ms, p99_ms, p999_ms;
    double              cpu_ms_per_1k, srv_ms_per_1k, host_busy_pct;
    double              cs_per_q;
    double              other_pct;   /* CPU used by neither process */
    uint64_t            errors, wrong, queries;
} result_t;


static req_t *
make_reqs(int n)
{
    req_t  *reqs = calloc(n, sizeof(req_t));

    if (reqs == NULL) {
        die("calloc", NULL);
    }
    return reqs;
}


static void
req_renew(req_t *r)
{
    r->id = random_id();
    r->err = 0;
    r->user_id = -1;
    r->active = -1;
    r->t_submit = now_ns();
}


static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


static double
pct(double p)
{
    size_t  i;

    if (st.nlat == 0) {
        return 0;
    }
    i = (size_t) (p * (st.nlat - 1) + 0.5);
    return st.lat[i] / 1e6;
}


static void
stats_reset(void)
{
    free(st.lat);
    memset(&st, 0, sizeof(st));
}


static void
finish(result_t *res, cpu_snap_t *a, cpu_snap_t *b)
{
    double  secs = (b->t - a->t) / 1e9;
    double  q = (double) st.done;

    qsort(st.lat, st.nlat, sizeof(uint64_t), cmp_u64);

    res->queries = st.done;
    res->qps = q / secs;
    res->p50_ms = pct(0.50);
    res->p99_ms = pct(0.99);
    res->p999_ms = pct(0.999);
    res->cpu_ms_per_1k = q ? (b->self_cpu - a->self_cpu) * 1e6 / q : 0;
    res->srv_ms_per_1k = q ? (b->server_cpu - a->server_cpu) * 1e6 / q : 0;
    res->host_busy_pct = (b->host_total > a->host_total)
        ? 100.0 * (b->host_busy - a->host_busy)
                / (b->host_total - a->host_total)
        : 0;
    if (b->host_total > a->host_total) {
        /* irq/softirq time (loopback TCP) is charged to no process */
        double  host_s = (double) ((b->host_busy - a->host_busy)
                                   - (b->host_irq - a->host_irq))
                         / sysconf(_SC_CLK_TCK);
        double  ours_s = (b->self_cpu - a->self_cpu)
                         + (b->server_cpu - a->server_cpu);
        double  ncpu = (double) sysconf(_SC_NPROCESSORS_ONLN);

        res->other_pct = 100.0 * (host_s - ours_s) / (secs * ncpu);
        if (res->other_pct < 0) {
            res->other_pct = 0;
        }
    }
    res->cs_per_q = q ? (double) ((b->nvcsw + b->nivcsw)
                                  - (a->nvcsw + a->nivcsw)) / q
                      : 0;
    res->errors = st.errors;
    res->wrong = st.wrong;
}


/*
 * Called by the main loop after every wakeup: starts the measured window
 * after the warm-up, ends it after the duration. Returns 1 when done.
 */
static int
clock_tick(uint64_t t0, cpu_snap_t *a, cpu_snap_t *b)
{
    uint64_t  t = now_ns();

    if (!st.measuring && t >= t0 + (uint64_t) (opt_warmup * 1e9)) {
        cpu_snap(a);
        st.t_start = a->t;
        st.measuring = 1;
        st.done = st.errors = st.wrong = 0;
        return 0;
    }
    if (st.measuring && t >= st.t_start + (uint64_t) (opt_duration * 1e9)) {
        cpu_snap(b);
        st.t_end = b->t;
        return 1;
    }
    return 0;
}


/* ---- (a) event loop on the non-blocking API --------------------------- */

typedef enum { A_IDLE = 0, A_EXEC, A_STORE } a_state_e;

typedef struct aconn_s  aconn_t;

struct aconn_s {
    dbconn_t            db;
    int                 fd;
    uint32_t            events;      /* currently registered with epoll */
    a_state_e           state;
    req_t              *req;
    aconn_t            *next_idle;
};


static int       a_ep;
static aconn_t  *a_idle;
static fifo_t    a_wait;


static void a_start(aconn_t *c, req_t *r);


static void
a_arm(aconn_t *c, int status)
{
    struct epoll_event  ev;
    uint32_t            want = 0;

    if (status & MYSQL_WAIT_READ) {
        want |= EPOLLIN;
    }
    if (status & MYSQL_WAIT_WRITE) {
        want |= EPOLLOUT;
    }
    if (want == 0) {
        /* MYSQL_WAIT_TIMEOUT only: we set no read/write timeouts */
        want = EPOLLIN;
    }
    if (want != c->events) {
        ev.events = want;
        ev.data.ptr = c;
        if (epoll_ctl(a_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
            die("epoll_ctl(MOD)", NULL);
        }
        c->events = want;
    }
}


/* the request is done (ok or error): hand it back, take the next one */
static void
a_complete(aconn_t *c)
{
    req_t  *r = c->req, *next;

    c->req = NULL;
    c->state = A_IDLE;

    stats_complete(r, now_ns());

    /* closed loop: re-submit at once, behind whatever is waiting */
    req_renew(r);
    fifo_push(&a_wait, r);

    next = fifo_pop(&a_wait);
    a_start(c, next);
}


static void
a_fail(aconn_t *c)
{
    fprintf(stderr, "dbbench: async query failed: %s\n",
            mysql_stmt_error(c->db.stmt));
    c->req->err = 1;
    a_complete(c);
}


static void
a_stored(aconn_t *c, int rc)
{
    if (rc != 0) {
        a_fail(c);
        return;
    }
    dbconn_fetch(&c->db, c->req);
    a_complete(c);
}


static void
a_executed(aconn_t *c, int rc)
{
    int  status;

    if (rc != 0) {
        a_fail(c);
        return;
    }

    status = mysql_stmt_store_result_start(&rc, c->db.stmt);
    if (status) {
        c->state = A_STORE;
        a_arm(c, status);
        return;
    }
    a_stored(c, rc);
}


static void
a_start(aconn_t *c, req_t *r)
{
    int  status, rc;

    c->req = r;
    c->db.p_id = r->id;
    c->state = A_EXEC;

    status = mysql_stmt_execute_start(&rc, c->db.stmt);
    if (status) {
        a_arm(c, status);
        return;
    }
    a_executed(c, rc);
}


static void
a_event(aconn_t *c, uint32_t events)
{
    int  status = 0, rc;

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        status |= MYSQL_WAIT_READ;
    }
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        status |= MYSQL_WAIT_WRITE;
    }

    switch (c->state) {

    case A_EXEC:
        status = mysql_stmt_execute_cont(&rc, c->db.stmt, status);
        if (status) {
            a_arm(c, status);
            return;
        }
        a_executed(c, rc);
        return;

    case A_STORE:
        status = mysql_stmt_store_result_cont(&rc, c->db.stmt, status);
        if (status) {
            a_arm(c, status);
            return;
        }
        a_stored(c, rc);
        return;

    default:
        die("async", "event on an idle connection (server closed it?)");
    }
}


static void
run_async(int inflight, int nconns, result_t *res)
{
    struct epoll_event   ev, evs[512];
    aconn_t             *conns;
    req_t               *reqs, *r;
    cpu_snap_t           a, b;
    uint64_t             t0;
    int                  i, n;

    stats_reset();
    fifo_init(&a_wait);
    a_idle = NULL;

    a_ep = epoll_create1(EPOLL_CLOEXEC);
    if (a_ep < 0) {
        die("epoll_create1", NULL);
    }

    conns = calloc(nconns, sizeof(aconn_t));
    for (i = 0; i < nconns; i++) {
        dbconn_open(&conns[i].db, 1);
        conns[i].fd = mysql_get_socket(conns[i].db.mysql);
        conns[i].events = EPOLLIN;
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[i];
        if (epoll_ctl(a_ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) {
            die("epoll_ctl(ADD)", NULL);
        }
        conns[i].next_idle = a_idle;
        a_idle = &conns[i];
    }

    reqs = make_reqs(inflight);
    for (i = 0; i < inflight; i++) {
        req_renew(&reqs[i]);
        fifo_push(&a_wait, &reqs[i]);
    }

    t0 = now_ns();

    /* start as many as there are connections */
    while (a_idle && (r = fifo_pop(&a_wait)) != NULL) {
        aconn_t  *c = a_idle;

        a_idle = c->next_idle;
        a_start(c, r);
    }

    for ( ;; ) {
        n = epoll_wait(a_ep, evs, 512, 100);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait", NULL);
        }
        for (i = 0; i < n; i++) {
            a_event(evs[i].data.ptr, evs[i].events);
        }
        if (clock_tick(t0, &a, &b)) {
            break;
        }
    }

    finish(res, &a, &b);

    /* drain what is in flight so the connections close cleanly */
    for (i = 0; i < nconns; i++) {
        aconn_t  *c = &conns[i];
        int       status, rc;

        while (c->state != A_IDLE) {
            status = poll_status(c->db.mysql, c->events & EPOLLOUT
                                 ? MYSQL_WAIT_WRITE : MYSQL_WAIT_READ);
            if (c->state == A_EXEC) {
                status = mysql_stmt_execute_cont(&rc, c->db.stmt, status);
                if (status) {
                    a_arm(c, status);
                    continue;
                }
                if (rc == 0) {
                    status = mysql_stmt_store_result_start(&rc, c->db.stmt);
                    if (status) {
                        c->state = A_STORE;
                        a_arm(c, status);
                        continue;
                    }
                }
            } else {
                status = mysql_stmt_store_result_cont(&rc, c->db.stmt, status);
                if (status) {
                    a_arm(c, status);
                    continue;
                }
            }
            mysql_stmt_free_result(c->db.stmt);
            c->state = A_IDLE;
        }
        epoll_ctl(a_ep, EPOLL_CTL_DEL, c->fd, NULL);
        /* mysql_close() on a non-blocking handle: use the _start/_cont twin */
        mysql_stmt_close(c->db.stmt);
        {
            int st2 = mysql_close_start(c->db.mysql);

            while (st2) {
                st2 = mysql_close_cont(c->db.mysql,
                                       poll_status(c->db.mysql, st2));
            }
        }
    }

    close(a_ep);
    free(conns);
    free(reqs);
}


/* ---- (b) thread pool with blocking connections ------------------------ */

typedef struct {
    pthread_mutex_t     mtx;
    pthread_cond_t      cond;
    fifo_t              tasks;
    int                 stop;

    pthread_mutex_t     done_mtx;
    fifo_t              done;
    int                 efd;
} tpool_t;


typedef struct {
    tpool_t            *tp;
    dbconn_t            db;
    pthread_t           tid;
    int                 ready;
} worker_t;


static void
t_post(tpool_t *tp, req_t *r)
{
    /* as ngx_thread_task_post(): lock, append, signal, unlock */
    pthread_mutex_lock(&tp->mtx);
    fifo_push(&tp->tasks, r);
    pthread_cond_signal(&tp->cond);
    pthread_mutex_unlock(&tp->mtx);
}


static void *
t_worker(void *arg)
{
    worker_t  *w = arg;
    tpool_t   *tp = w->tp;
    req_t     *r;
    uint64_t   one = 1;
    int        rc;

    mysql_thread_init();

    for ( ;; ) {
        pthread_mutex_lock(&tp->mtx);
        while (tp->tasks.head == NULL && !tp->stop) {
            pthread_cond_wait(&tp->cond, &tp->mtx);
        }
        if (tp->stop) {
            pthread_mutex_unlock(&tp->mtx);
            break;
        }
        r = fifo_pop(&tp->tasks);
        pthread_mutex_unlock(&tp->mtx);

        w->db.p_id = r->id;
        rc = mysql_stmt_execute(w->db.stmt);
        if (rc == 0) {
            rc = mysql_stmt_store_result(w->db.stmt);
        }
        if (rc == 0) {
            dbconn_fetch(&w->db, r);
        } else {
            fprintf(stderr, "dbbench: threaded query failed: %s\n",
                    mysql_stmt_error(w->db.stmt));
            r->err = 1;
        }

        /* as ngx_thread_pool_cycle(): append to done list, ngx_notify() */
        pthread_mutex_lock(&tp->done_mtx);
        fifo_push(&tp->done, r);
        pthread_mutex_unlock(&tp->done_mtx);

        if (write(tp->efd, &one, sizeof(one)) != sizeof(one)) {
            die("write(eventfd)", NULL);
        }
    }

    mysql_thread_end();
    return NULL;
}


static void
run_threads(int inflight, int nthreads, result_t *res)
{
    struct epoll_event   ev, evs[8];
    tpool_t              tp;
    worker_t            *workers;
    req_t               *reqs, *r;
    fifo_t               batch;
    cpu_snap_t           a, b;
    uint64_t             t0, cnt, t;
    pthread_attr_t       attr;
    int                  ep, i, n;

    stats_reset();

    memset(&tp, 0, sizeof(tp));
    pthread_mutex_init(&tp.mtx, NULL);
    pthread_cond_init(&tp.cond, NULL);
    pthread_mutex_init(&tp.done_mtx, NULL);
    fifo_init(&tp.tasks);
    fifo_init(&tp.done);

    tp.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (tp.efd < 0) {
        die("eventfd", NULL);
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    ev.events = EPOLLIN | EPOLLET;   /* nginx registers its notify fd ET */
    ev.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tp.efd, &ev) != 0) {
        die("epoll_ctl(ADD eventfd)", NULL);
    }

    /* connections are opened from the main thread before the workers run */
    workers = calloc(nthreads, sizeof(worker_t));
    for (i = 0; i < nthreads; i++) {
        workers[i].tp = &tp;
        dbconn_open(&workers[i].db, 0);
    }

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (i = 0; i < nthreads; i++) {
        if (pthread_create(&workers[i].tid, &attr, t_worker, &workers[i])) {
            die("pthread_create", NULL);
        }
    }
    pthread_attr_destroy(&attr);

    reqs = make_reqs(inflight);

    t0 = now_ns();

    for (i = 0; i < inflight; i++) {
        req_renew(&reqs[i]);
        t_post(&tp, &reqs[i]);
    }

    for ( ;; ) {
        n = epoll_wait(ep, evs, 8, 100);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait", NULL);
        }

        if (n > 0) {
            /* as ngx_epoll_eventfd_handler() + ngx_thread_pool_handler() */
            if (read(tp.efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN) {
                die("read(eventfd)", NULL);
            }

            pthread_mutex_lock(&tp.done_mtx);
            batch = tp.done;
            if (batch.head == NULL) {
                batch.tail = &batch.head;
            }
            fifo_init(&tp.done);
            pthread_mutex_unlock(&tp.done_mtx);

            while ((r = batch.head) != NULL) {
                batch.head = r->next;
                t = now_ns();
                stats_complete(r, t);
                req_renew(r);
                t_post(&tp, r);
            }
        }

        if (clock_tick(t0, &a, &b)) {
            break;
        }
    }

    finish(res, &a, &b);

    pthread_mutex_lock(&tp.mtx);
    tp.stop = 1;
    pthread_cond_broadcast(&tp.cond);
    pthread_mutex_unlock(&tp.mtx);

    for (i = 0; i < nthreads; i++) {
        pthread_join(workers[i].tid, NULL);
        dbconn_close(&workers[i].db);
    }

    close(ep);
    close(tp.efd);
    pthread_mutex_destroy(&tp.mtx);
    pthread_cond_destroy(&tp.cond);
    pthread_mutex_destroy(&tp.done_mtx);
    free(workers);
    free(reqs);
}


/* ---- main ------------------------------------------------------------- */

static void
print_header(void)
{
    printf("%-8s %8s %6s %9s %8s %8s %8s %11s %11s %6s %6s %6s %s\n",
           "mode", "inflight", "conns", "q/s", "p50 ms", "p99 ms",
           "p99.9 ms", "cli CPU ms", "srv CPU ms", "host%", "other%",
           "cs/q", "errors");
    printf("%-8s %8s %6s %9s %8s %8s %8s %11s %11s %6s %6s %6s %s\n",
           "", "", "", "", "", "", "", "per 1k q", "per 1k q", "busy",
           "", "", "");
}


static void
print_row(const result_t *r)
{
    printf("%-8s %8d %6d %9.0f %8.3f %8.3f %8.3f %11.1f %11.1f %6.0f %6.0f "
           "%6.2f %" PRIu64 "/%" PRIu64 "\n",
           r->mode, r->inflight, r->conns, r->qps, r->p50_ms, r->p99_ms,
           r->p999_ms, r->cpu_ms_per_1k, r->srv_ms_per_1k, r->host_busy_pct,
           r->other_pct, r->cs_per_q, r->errors, r->wrong);
    fflush(stdout);
}


int
main(int argc, char **argv)
{
    int        ch, i, pass, do_async, do_threads;
    int        grid_n[32], grid_k[32], ngrid = 0;
    char      *grid, *tok, *save;

    while ((ch = getopt(argc, argv, "h:P:u:p:D:d:w:r:g:s:m:n:")) != -1) {
        switch (ch) {
        case 'h': opt_host = optarg; break;
        case 'P': opt_port = (unsigned) atoi(optarg); break;
        case 'u': opt_user = optarg; break;
        case 'p': opt_pass = optarg; break;
        case 'D': opt_db = optarg; break;
        case 'd': opt_duration = atof(optarg); break;
        case 'w': opt_warmup = atof(optarg); break;
        case 'r': opt_rows = atol(optarg); break;
        case 'g': opt_grid = optarg; break;
        case 's': opt_server_pid = atol(optarg); break;
        case 'm': opt_modes = optarg; break;
        case 'n': opt_passes = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        default:
            fprintf(stderr, "usage: see the comment at the top of %s\n",
                    __FILE__);
            return 2;
        }
    }

    do_async = strcmp(opt_modes, "threads") != 0;
    do_threads = strcmp(opt_modes, "async") != 0;

    grid = strdup(opt_grid);
    for (tok = strtok_r(grid, ",", &save); tok && ngrid < 32;
         tok = strtok_r(NULL, ",", &save))
    {
        if (sscanf(tok, "%d:%d", &grid_n[ngrid], &grid_k[ngrid]) != 2
            || grid_n[ngrid] < 1 || grid_k[ngrid] < 1)
        {
            die("bad -g entry", tok);
        }
        ngrid++;
    }

    if (mysql_library_init(0, NULL, NULL) != 0) {
        die("mysql_library_init", "failed");
    }

    printf("client library %s; %ld rows; %g s warm-up + %g s measured "
           "per run; %ld CPUs online\n\n",
           mysql_get_client_info(), opt_rows, opt_warmup, opt_duration,
           sysconf(_SC_NPROCESSORS_ONLN));
    print_header();

    for (pass = 0; pass < opt_passes; pass++) {
        if (pass > 0) {
            printf("\n");
        }
        for (i = 0; i < ngrid; i++) {
            /* connections never exceed the requests that could use them */
            int  k = grid_k[i] < grid_n[i] ? grid_k[i] : grid_n[i];
            int  j;

            for (j = 0; j < 2; j++) {
                int        threads = (pass % 2 == 0) ? j : !j;
                result_t   r;

                if ((threads && !do_threads) || (!threads && !do_async)) {
                    continue;
                }
                memset(&r, 0, sizeof(r));
                r.mode = threads ? "threads" : "async";
                r.inflight = grid_n[i];
                r.conns = k;
                if (threads) {
                    run_threads(grid_n[i], k, &r);
                } else {
                    run_async(grid_n[i], k, &r);
                }
                print_row(&r);
            }
        }
    }

    printf("\ncolumns: q/s = completions per second in the measured window; "
           "latency = submit to\ncompletion seen by the main thread; "
           "cli CPU = getrusage(RUSAGE_SELF) user+sys of\nthis process; "
           "srv CPU = mariadbd utime+stime from /proc; host%% = non-idle "
           "share of\nall CPUs; other%% = share of all CPUs used by neither "
           "this process nor mariadbd,\nirq/softirq excluded (another load on the host); "
           "cs/q = context switches of this process per query;\n"
           "errors = failed/wrong results.\n");

    stats_reset();
    free(grid);
    mysql_library_end();
    return 0;
}
