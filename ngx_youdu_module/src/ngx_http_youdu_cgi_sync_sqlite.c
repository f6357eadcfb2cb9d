
/*
 * youdu: the organisation as an SQLite file (PROTOCOL.md section 4.6).
 *
 * GET /cgi/org/sqlitefile/query?userId=&version= reads the org in one
 * snapshot; unless <files_path>/orgdb/org-v<version>.db.gz exists, a
 * thread-pool task builds the database (tables dept, user, dept_user,
 * meta with the fields of sections 4.4/4.5), gzips it and renames it into
 * place (older versions are removed).  The reply names that file.
 * GET /cgi/org/sqlitefile/download?fileId= answers with the header fileId
 * and the base64 ciphertext of the gzip file (encrypted in the thread).
 */


#include "ngx_http_youdu_cgi_sync.h"
#include <sqlite3.h>
#include <zlib.h>
#include <dirent.h>
#include <openssl/rand.h>


#define YD_ORGDB_DIR      "/orgdb"
#define YD_ORGDB_PREFIX   "org-v"


static ngx_int_t ngx_http_youdu_cgi_sqlite_query(ngx_http_youdu_ctx_t *ctx);
static ngx_int_t ngx_http_youdu_cgi_sqlite_download(
    ngx_http_youdu_ctx_t *ctx);


const ngx_http_youdu_cgi_route_t  ngx_http_youdu_cgi_sqlite_routes[] = {

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/org/sqlitefile/query",
        ngx_http_youdu_cgi_sqlite_query, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { NGX_HTTP_GET|NGX_HTTP_POST, "/org/sqlitefile/download",
        ngx_http_youdu_cgi_sqlite_download, YD_AUTH_NONE, 0, 0 },
      YD_CGI_ENV_NORMAL, YD_APP_RIGHT_ORG },

    { { 0, NULL, NULL, 0, 0, 0 }, 0, 0 }
};


typedef struct {
    yd_imp_t                imp;          /* for yd_imp_thread() */
    int64_t                 version;
    ngx_str_t               file_id;
    char                   *dir;          /* NUL-terminated */
    char                   *path;
    ngx_youdu_db_result_t  *depts;
    ngx_youdu_db_result_t  *users;
    ngx_youdu_db_result_t  *uds;
    ngx_str_t               out;          /* download: base64 ciphertext */
    ngx_uint_t              missing;
    const char             *error;
} yd_orgdb_t;


static yd_orgdb_t *
yd_orgdb_new(ngx_http_youdu_ctx_t *ctx, int64_t version)
{
    u_char                 *p;
    yd_orgdb_t             *od;
    ngx_youdu_core_conf_t  *ycf;

    ycf = ngx_youdu_core_conf(ngx_cycle);

    od = ngx_pcalloc(ctx->pool, sizeof(yd_orgdb_t));
    if (od == NULL) {
        return NULL;
    }

    od->imp.ctx = ctx;
    od->imp.pool = ctx->pool;
    od->version = version;
    ctx->data = od;

    od->dir = ngx_pnalloc(ctx->pool, ycf->files_path.len
                                     + sizeof(YD_ORGDB_DIR));
    od->path = ngx_pnalloc(ctx->pool, ycf->files_path.len
                                      + sizeof(YD_ORGDB_DIR) + 64);
    od->file_id.data = ngx_pnalloc(ctx->pool, 32);

    if (od->dir == NULL || od->path == NULL || od->file_id.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(od->dir, ycf->files_path.data, ycf->files_path.len);
    p = ngx_cpymem(p, YD_ORGDB_DIR, sizeof(YD_ORGDB_DIR) - 1);
    *p = '\0';

    od->file_id.len = ngx_sprintf(od->file_id.data, YD_ORGDB_PREFIX "%L",
                                  version) - od->file_id.data;

    *ngx_sprintf((u_char *) od->path, "%s/%V.db.gz", od->dir, &od->file_id)
        = '\0';

    return od;
}


/* thread pool: the database */

static int
yd_orgdb_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}


static ngx_int_t
yd_orgdb_rows(sqlite3 *db, const char *sql, ngx_youdu_db_result_t *res,
    const char *types)
{
    int            rc;
    ngx_str_t     *c;
    ngx_uint_t     i, k;
    sqlite3_stmt  *st;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return NGX_ERROR;
    }

    rc = SQLITE_DONE;

    for (i = 0; i < res->nrows; i++) {
        for (k = 0; types[k]; k++) {
            if (types[k] == 'i') {
                sqlite3_bind_int64(st, k + 1, yd_int(res, i, k));
                continue;
            }

            c = yd_cell(res, i, k);
            sqlite3_bind_text(st, k + 1, c->data ? (char *) c->data : "",
                              c->data ? (int) c->len : 0, SQLITE_STATIC);
        }

        rc = sqlite3_step(st);
        sqlite3_reset(st);

        if (rc != SQLITE_DONE) {
            break;
        }
    }

    sqlite3_finalize(st);

    return rc == SQLITE_DONE ? NGX_OK : NGX_ERROR;
}


/* the org version the file holds, a bound parameter like every row */

static ngx_int_t
yd_orgdb_meta(sqlite3 *db, int64_t version)
{
    int            rc;
    sqlite3_stmt  *st;

    if (sqlite3_prepare_v2(db, "INSERT INTO meta VALUES ('version', ?)", -1,
                           &st, NULL) != SQLITE_OK)
    {
        return NGX_ERROR;
    }

    /* the column's TEXT affinity stores the number as its decimal text */
    rc = sqlite3_bind_int64(st, 1, version);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }

    sqlite3_finalize(st);

    return rc == SQLITE_DONE ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
yd_orgdb_fill(yd_orgdb_t *od, const char *file)
{
    sqlite3  *db;
    ngx_int_t rc;

    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK)
    {
        sqlite3_close(db);
        return NGX_ERROR;
    }

    rc = (yd_orgdb_exec(db,
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "BEGIN;"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE dept (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " parentId INTEGER NOT NULL, sortId INTEGER NOT NULL,"
            " alias TEXT NOT NULL);"
            "CREATE TABLE user (gid INTEGER PRIMARY KEY,"
            " userId TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
            " gender INTEGER NOT NULL, mobile TEXT NOT NULL,"
            " phone TEXT NOT NULL, email TEXT NOT NULL,"
            " enableState INTEGER NOT NULL, shortCode TEXT NOT NULL);"
            "CREATE TABLE dept_user (deptId INTEGER NOT NULL,"
            " gid INTEGER NOT NULL, position TEXT NOT NULL,"
            " weight INTEGER NOT NULL, sortId INTEGER NOT NULL,"
            " PRIMARY KEY (deptId, gid));"
            "CREATE INDEX k_dept_user_gid ON dept_user (gid);") == SQLITE_OK
          && yd_orgdb_meta(db, od->version) == NGX_OK
          && yd_orgdb_rows(db, "INSERT INTO dept VALUES (?, ?, ?, ?, ?)",
                           od->depts, "itiit") == NGX_OK
          && yd_orgdb_rows(db, "INSERT INTO user VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           od->users, "ittitttit") == NGX_OK
          && yd_orgdb_rows(db, "INSERT INTO dept_user VALUES "
                           "(?, ?, ?, ?, ?)", od->uds, "iitii") == NGX_OK
          && yd_orgdb_exec(db, "COMMIT") == SQLITE_OK)
         ? NGX_OK : NGX_ERROR;

    if (sqlite3_close(db) != SQLITE_OK) {
        rc = NGX_ERROR;
    }

    return rc;
}


static ngx_int_t
yd_orgdb_gzip(const char *from, const char *to)
{
    int       fd, n;
    char      buf[65536];
    gzFile    gz;
    ngx_int_t rc = NGX_OK;

    fd = open(from, O_RDONLY);
    if (fd == -1) {
        return NGX_ERROR;
    }

    gz = gzopen(to, "wb6");
    if (gz == NULL) {
        close(fd);
        return NGX_ERROR;
    }

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (gzwrite(gz, buf, n) != n) {
            rc = NGX_ERROR;
            break;
        }
    }

    if (n < 0) {
        rc = NGX_ERROR;
    }

    close(fd);

    if (gzclose(gz) != Z_OK) {
        rc = NGX_ERROR;
    }

    return rc;
}


/* the files of older versions go: nobody is sent them again */

static void
yd_orgdb_prune(yd_orgdb_t *od)
{
    DIR            *d;
    char            path[4096];
    int64_t         v;
    size_t          n, plen = sizeof(YD_ORGDB_PREFIX) - 1;
    struct dirent  *e;

    d = opendir(od->dir);
    if (d == NULL) {
        return;
    }

    while ((e = readdir(d)) != NULL) {
        if (ngx_strncmp(e->d_name, YD_ORGDB_PREFIX, plen) != 0) {
            continue;
        }

        n = ngx_strlen(e->d_name);

        if (n <= plen + 6
            || ngx_strcmp(e->d_name + n - 6, ".db.gz") != 0)
        {
            continue;
        }

        v = ngx_atoof((u_char *) e->d_name + plen, n - plen - 6);

        if (v >= 0 && v < od->version
            && ngx_snprintf((u_char *) path, sizeof(path) - 1, "%s/%s%Z",
                            od->dir, e->d_name) < (u_char *) path + sizeof(path))
        {
            (void) unlink(path);
        }
    }

    closedir(d);
}


static void
yd_orgdb_build_task(void *data, ngx_log_t *log)
{
    char         tmp_db[4096], tmp_gz[4096];
    u_char       rnd[8], hex[17];
    yd_orgdb_t  *od = data;

    if (mkdir(od->dir, 0700) == -1 && ngx_errno != NGX_EEXIST) {
        od->error = "cannot create the folder of organisation files";
        return;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        od->error = "no randomness";
        return;
    }

    *ngx_hex_dump(hex, rnd, sizeof(rnd)) = '\0';
    ngx_snprintf((u_char *) tmp_db, sizeof(tmp_db), "%s/.tmp-%s.db%Z",
                 od->dir, hex);
    ngx_snprintf((u_char *) tmp_gz, sizeof(tmp_gz), "%s/.tmp-%s.gz%Z",
                 od->dir, hex);

    if (yd_orgdb_fill(od, tmp_db) != NGX_OK) {
        od->error = "cannot write the SQLite database";

    } else if (yd_orgdb_gzip(tmp_db, tmp_gz) != NGX_OK
               || rename(tmp_gz, od->path) == -1)
    {
        od->error = "cannot write the organisation file";
        (void) unlink(tmp_gz);
    }

    (void) unlink(tmp_db);

    if (od->error == NULL) {
        yd_orgdb_prune(od);
    }
}


static ngx_int_t
ngx_http_youdu_cgi_sqlite_query(ngx_http_youdu_ctx_t *ctx)
{
    json_t                 *data;
    ngx_str_t               uid;
    ngx_file_info_t         fi;
    yd_orgdb_t             *od = ctx->data;
    ngx_youdu_db_result_t  *res = ctx->res;

    switch (ctx->stage) {

    case 0:
        /* the file is the whole org (apps see it all); userId, when
         * given, must name a user */
        if (yd_cgi_str(ctx, "userId", &uid) == NGX_OK) {
            return yd_sql(ctx, "SELECT COUNT(*) FROM users WHERE account = ?",
                          "s", &uid);
        }

        ctx->stage = 1;
        ctx->held = 1;
        return yd_sql(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
                           "READ ONLY", "");

    case 1:
        if (yd_int(res, 0, 0) == 0) {
            return yd_cgi_fail(ctx, YD_CGI_USER_NOTEXIST,
                               "userId names no user");
        }

        ctx->held = 1;
        return yd_sql(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
                           "READ ONLY", "");

    case 2:
        return yd_sql(ctx, "SELECT version FROM org_state WHERE id = 1", "");

    case 3:
        od = yd_orgdb_new(ctx, yd_int(res, 0, 0));
        if (od == NULL) {
            return NGX_ERROR;
        }

        /* built already for this version (a stat: no blocking read) */
        if (ngx_file_info(od->path, &fi) == 0) {
            yd_release(ctx);
            ctx->stage = 7;
            return ngx_http_youdu_cgi_sqlite_query(ctx);
        }

        return yd_sql(ctx, "SELECT id, name, IFNULL(parent_id, 0), sort_id, "
                           "IFNULL(alias, '') FROM departments WHERE id <> 0 "
                           "ORDER BY id", "");

    case 4:
        od->depts = res;
        return yd_sql(ctx, "SELECT id, account, name, gender, "
                           "IFNULL(mobile, ''), phone, email, enable_state, "
                           "short_code FROM users WHERE quit_at IS NULL "
                           "ORDER BY id", "");

    case 5:
        od->users = res;
        /* the resigned have no memberships (user_quit_depts) */
        return yd_sql(ctx, "SELECT dept_id, user_id, position, weight, "
                           "sort_id FROM user_depts", "");

    case 6:
        od->uds = res;
        yd_release(ctx);
        return yd_imp_thread(&od->imp, yd_orgdb_build_task);

    default:
        if (od->error) {
            ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                          YD_LOG_TAG "org sqlite file: %s", od->error);
            return yd_cgi_fail(ctx, YD_CGI_INTERNALERR,
                               "the organisation file could not be made; "
                               "retry later");
        }

        data = json_object();
        if (data == NULL) {
            return NGX_ERROR;
        }

        json_object_set_new(data, "fileId", yd_jstr(&od->file_id));
        json_object_set_new(data, "version", json_integer(od->version));
        /* built before the reply: never a stale one while a newer one is
         * on its way */
        json_object_set_new(data, "generatingNew", json_false());

        return yd_cgi_ok(ctx, data);
    }
}


/* thread pool: the file, encrypted for the app */

static void
yd_orgdb_read_task(void *data, ngx_log_t *log)
{
    int             fd;
    u_char         *buf;
    ssize_t         n;
    struct stat     st;
    yd_orgdb_t     *od = data;
    ngx_http_youdu_cgi_t  *cgi = od->imp.ctx->cgi;

    fd = open(od->path, O_RDONLY);
    if (fd == -1) {
        od->missing = 1;
        return;
    }

    if (fstat(fd, &st) == -1 || st.st_size > 512 * 1024 * 1024) {
        close(fd);
        od->error = "cannot read the organisation file";
        return;
    }

    buf = ngx_pnalloc(od->imp.pool, st.st_size + 1);
    n = buf ? read(fd, buf, st.st_size) : -1;
    close(fd);

    if (n != st.st_size) {
        od->error = "cannot read the organisation file";
        return;
    }

    if (ngx_youdu_cgi_encrypt(od->imp.pool, cgi->key, &cgi->app_id, buf, n,
                              &od->out) != NGX_OK)
    {
        od->error = "cannot encrypt the organisation file";
    }
}


static ngx_int_t
ngx_http_youdu_cgi_sqlite_download(ngx_http_youdu_ctx_t *ctx)
{
    size_t       i, plen = sizeof(YD_ORGDB_PREFIX) - 1;
    int64_t      v;
    ngx_str_t    id, name;
    yd_orgdb_t  *od = ctx->data;

    static ngx_str_t  type = ngx_string("text/plain");

    if (ctx->stage == 0) {
        v = -1;

        if (yd_cgi_str(ctx, "fileId", &id) == NGX_OK && id.len > plen
            && id.len < plen + 19
            && ngx_strncmp(id.data, YD_ORGDB_PREFIX, plen) == 0)
        {
            for (i = plen; i < id.len; i++) {
                if (id.data[i] < '0' || id.data[i] > '9') {
                    break;
                }
            }

            if (i == id.len) {
                v = ngx_atoof(id.data + plen, id.len - plen);
            }
        }

        if (v < 0) {
            return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                               "no such file: use the fileId of "
                               "/cgi/org/sqlitefile/query");
        }

        od = yd_orgdb_new(ctx, v);
        if (od == NULL) {
            return NGX_ERROR;
        }

        return yd_imp_thread(&od->imp, yd_orgdb_read_task);
    }

    if (od->missing) {
        return yd_cgi_fail(ctx, YD_CGI_FILE_NOTEXIST,
                           "no such file (the organisation changed since): "
                           "query /cgi/org/sqlitefile/query again");
    }

    if (od->error) {
        ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                      YD_LOG_TAG "org sqlite file: %s", od->error);
        return yd_cgi_fail(ctx, YD_CGI_INTERNALERR, "internal error");
    }

    ngx_str_set(&name, "fileId");

    return yd_send_raw(ctx, NGX_HTTP_OK, &type, &name, &od->file_id,
                       od->out.data, od->out.len);
}
