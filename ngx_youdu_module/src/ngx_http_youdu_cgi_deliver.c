
/*
 * youdu: delivering one app message as cards (messages.kind 4) in the
 * app conversations of its receivers (conversations.kind 4, one per app
 * and user, created on first use).
 *
 * Receivers go YD_CGI_BATCH at a time, each batch one short transaction
 * of five multi-row statements (create-or-bump the conversations, read
 * their seqs, members of new ones, the messages, their files; in one
 * order, so concurrent sends of an app wait rather than deadlock; a
 * deadlock all the same reruns the batch), then one
 * EVAL that publishes every card's push notice.  So a send to the whole
 * company never holds a transaction, a lock or the event loop for long;
 * a batch that fails leaves the earlier ones delivered.
 */


#include "ngx_http_youdu_cgi_msg.h"


#define YD_DL_RETRIES         5
#define YD_DL_BATCH_BYTES     (4 * 1024 * 1024)   /* of cards per INSERT */


enum {
    YD_DL_TIME = 0,
    YD_DL_TIME_DONE,
    YD_DL_BATCH,
    YD_DL_UPSERT,
    YD_DL_SELECT,
    YD_DL_MEMBERS,
    YD_DL_MESSAGES,
    YD_DL_FILES,
    YD_DL_COMMIT,
    YD_DL_PUBLISH,
    YD_DL_NEXT
};


static ngx_int_t yd_cgi_deliver_upsert(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_deliver_t *d);
static ngx_int_t yd_cgi_deliver_select(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_deliver_t *d);
static ngx_int_t yd_cgi_deliver_rows(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_deliver_t *d, ngx_uint_t files);
static ngx_int_t yd_cgi_deliver_members(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_deliver_t *d);
static ngx_int_t yd_cgi_deliver_publish(ngx_http_youdu_ctx_t *ctx,
    yd_cgi_deliver_t *d);
static void yd_cgi_deliver_cleanup(void *data);


/* ARGV: the card, its time, then (user, conversation, seq) triples: the
 * notice of each, as yd_conv_publish() writes it for any message */
static const char  yd_cgi_deliver_lua[] =
    "local b,t=ARGV[1],ARGV[2] "
    "for i=3,#ARGV,3 do "
      "local u,c,s=ARGV[i],ARGV[i+1],ARGV[i+2] "
      "redis.call('PUBLISH','yd:push','{\"t\":\"msg\",\"conv\":'..c.."
        "',\"seq\":'..s..',\"to\":['..u..'],\"ev\":{\"type\":\"message\","
        "\"conv_id\":'..c..',\"seq\":'..s..',\"sender_id\":null,"
        "\"client_msg_id\":null,\"kind\":4,\"body\":'..b..',"
        "\"created_at\":\"'..t..'\",\"recalled\":false}}') "
    "end "
    "return 0";


/* NGX_AGAIN while working, NGX_OK when every batch is delivered */

ngx_int_t
yd_cgi_deliver(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d)
{
    ngx_pool_cleanup_t  *cln;

    for ( ;; ) {

        if (d->phase >= YD_DL_SELECT && d->phase <= YD_DL_COMMIT
            && ctx->res->err_no)
        {
            /* concurrent sends to the same new users may deadlock on the
             * unique key: InnoDB rolled the batch back, run it again */
            if (ctx->res->err_no != YD_DB_ER_LOCK_DEADLOCK
                || d->retries++ == YD_DL_RETRIES)
            {
                return yd_db_failed(ctx);
            }

            ngx_log_error(NGX_LOG_INFO, ctx->r->connection->log, 0,
                          YD_LOG_TAG "cgi: app message batch deadlocked, "
                          "retrying");

            d->phase = YD_DL_BATCH;
            continue;
        }

        switch (d->phase) {

        case YD_DL_TIME:
            cln = ngx_pool_cleanup_add(ctx->pool, 0);
            if (cln == NULL) {
                return NGX_ERROR;
            }

            cln->handler = yd_cgi_deliver_cleanup;
            cln->data = d;

            /* every card of the send has the same time */
            d->phase = YD_DL_TIME_DONE;
            return yd_sql(ctx,
                "SELECT CAST(UTC_TIMESTAMP(3) AS CHAR), "
                "yd_iso(UTC_TIMESTAMP(3))", "");

        case YD_DL_TIME_DONE:
            d->now = *yd_cell(ctx->res, 0, 0);
            d->now_iso = *yd_cell(ctx->res, 0, 1);
            d->pos = 0;
            d->phase = YD_DL_BATCH;
            break;

        case YD_DL_BATCH:
            if (d->pos >= d->nuids) {
                return NGX_OK;
            }

            /* the card travels once per row: big cards, smaller batches */
            d->count = ngx_min(d->nuids - d->pos, YD_CGI_BATCH);
            d->count = ngx_min(d->count,
                               ngx_max(1, YD_DL_BATCH_BYTES
                                          / (d->body.len + 64)));

            if (d->bpool) {
                ngx_destroy_pool(d->bpool);
            }

            d->bpool = ngx_create_pool(16384, ctx->r->connection->log);
            if (d->bpool == NULL) {
                return NGX_ERROR;
            }

            d->phase = YD_DL_UPSERT;
            return yd_begin(ctx);

        case YD_DL_UPSERT:
            d->phase = YD_DL_SELECT;
            return yd_cgi_deliver_upsert(ctx, d);

        case YD_DL_SELECT:
            d->phase = YD_DL_MEMBERS;
            return yd_cgi_deliver_select(ctx, d);

        case YD_DL_MEMBERS:
            d->convs = ctx->res;

            if (d->convs->nrows != d->count) {
                ngx_log_error(NGX_LOG_ALERT, ctx->r->connection->log, 0,
                              YD_LOG_TAG "cgi: %ui app conversations "
                              "for %ui users", d->convs->nrows, d->count);
                return NGX_ERROR;
            }

            d->phase = YD_DL_MESSAGES;

            if (yd_cgi_deliver_members(ctx, d) == NGX_AGAIN) {
                return NGX_AGAIN;
            }

            break;

        case YD_DL_MESSAGES:
            d->phase = YD_DL_FILES;
            return yd_cgi_deliver_rows(ctx, d, 0);

        case YD_DL_FILES:
            d->phase = YD_DL_COMMIT;

            if (d->nfiles) {
                /* recipients may download what the card shows */
                return yd_cgi_deliver_rows(ctx, d, 1);
            }

            break;

        case YD_DL_COMMIT:
            d->phase = YD_DL_PUBLISH;
            return yd_commit(ctx);

        case YD_DL_PUBLISH:
            d->phase = YD_DL_NEXT;

            if (yd_cgi_deliver_publish(ctx, d) == NGX_AGAIN) {
                return NGX_AGAIN;
            }

            break;

        default: /* YD_DL_NEXT */
            d->pos += d->count;
            d->retries = 0;
            d->phase = YD_DL_BATCH;
            break;
        }
    }
}


static void
yd_cgi_deliver_cleanup(void *data)
{
    yd_cgi_deliver_t  *d = data;

    if (d->bpool) {
        ngx_destroy_pool(d->bpool);
        d->bpool = NULL;
    }
}


/* the batch's conversations: created with seq 1, or seq + 1; the name
 * follows the app's */

static ngx_int_t
yd_cgi_deliver_upsert(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d)
{
    u_char     *p;
    ngx_str_t   key;
    ngx_uint_t  i;
    yd_sqlb_t   b;

    if (yd_sqlb_init(d->bpool, &b, 400 + 32 * d->count, 5 * d->count)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    yd_sqlb_text(&b, "INSERT INTO conversations (kind, name, direct_key, "
                     "app_pk, member_count, last_seq, created_at, "
                     "last_msg_at) VALUES ");

    for (i = 0; i < d->count; i++) {
        p = ngx_pnalloc(d->bpool, 48);
        if (p == NULL) {
            return NGX_ERROR;
        }

        key.data = p;
        key.len = ngx_sprintf(p, "app:%L:%L", ctx->cgi->app_pk,
                              d->uids[d->pos + i]) - p;

        yd_sqlb_text(&b, i ? ", (4, ?, ?, ?, 1, 1, ?, ?)"
                           : "(4, ?, ?, ?, 1, 1, ?, ?)");
        yd_sqlb_str(&b, &ctx->cgi->app_name);
        yd_sqlb_str(&b, &key);
        yd_sqlb_int(d->bpool, &b, ctx->cgi->app_pk);
        yd_sqlb_str(&b, &d->now);
        yd_sqlb_str(&b, &d->now);
    }

    b.allow_error = 1;
    yd_sqlb_text(&b, " ON DUPLICATE KEY UPDATE name = VALUES(name), "
                     "last_seq = last_seq + 1, "
                     "last_msg_at = VALUES(last_msg_at)");

    return yd_sqlb_run(ctx, &b);
}


/* the batch's conversations, their new seqs and users */

static ngx_int_t
yd_cgi_deliver_select(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d)
{
    u_char     *p;
    ngx_str_t   key;
    ngx_uint_t  i;
    yd_sqlb_t   b;

    if (yd_sqlb_init(d->bpool, &b, 400 + 8 * d->count, d->count) != NGX_OK) {
        return NGX_ERROR;
    }

    b.allow_error = 1;

    yd_sqlb_text(&b, "SELECT id, last_seq, "
                     "CAST(SUBSTRING_INDEX(direct_key, ':', -1) "
                     "AS UNSIGNED) FROM conversations "
                     "WHERE direct_key IN (");

    for (i = 0; i < d->count; i++) {
        p = ngx_pnalloc(d->bpool, 48);
        if (p == NULL) {
            return NGX_ERROR;
        }

        key.data = p;
        key.len = ngx_sprintf(p, "app:%L:%L", ctx->cgi->app_pk,
                              d->uids[d->pos + i]) - p;

        yd_sqlb_text(&b, i ? ", ?" : "?");
        yd_sqlb_str(&b, &key);
    }

    yd_sqlb_text(&b, ")");

    return yd_sqlb_run(ctx, &b);
}


/*
 * the cards (files 0) or their message_files rows, as VALUES: an INSERT
 * ... SELECT FROM conversations would lock the rows it scans, those of
 * concurrent batches too, and deadlock with them
 */

static ngx_int_t
yd_cgi_deliver_rows(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d,
    ngx_uint_t files)
{
    ngx_uint_t              i, k, n;
    yd_sqlb_t               b;
    ngx_youdu_db_result_t  *res = d->convs;

    n = files ? res->nrows * d->nfiles : res->nrows;

    if (yd_sqlb_init(d->bpool, &b, 200 + 48 * n, 4 * n) != NGX_OK) {
        return NGX_ERROR;
    }

    b.allow_error = 1;

    yd_sqlb_text(&b, files
                 ? "INSERT IGNORE INTO message_files (file_id, conv_id, seq) "
                   "VALUES "
                 : "INSERT INTO messages (conv_id, seq, sender_id, "
                   "client_msg_id, kind, body, created_at) VALUES ");

    for (i = 0, n = 0; i < res->nrows; i++) {
        if (!files) {
            yd_sqlb_text(&b, n++ ? ", (?, ?, NULL, NULL, 4, ?, ?)"
                                 : "(?, ?, NULL, NULL, 4, ?, ?)");
            yd_sqlb_str(&b, yd_cell(res, i, 0));
            yd_sqlb_str(&b, yd_cell(res, i, 1));
            yd_sqlb_str(&b, &d->body);
            yd_sqlb_str(&b, &d->now);
            continue;
        }

        for (k = 0; k < d->nfiles; k++) {
            yd_sqlb_text(&b, n++ ? ", (?, ?, ?)" : "(?, ?, ?)");
            yd_sqlb_int(d->bpool, &b, d->file_ids[k]);
            yd_sqlb_str(&b, yd_cell(res, i, 0));
            yd_sqlb_str(&b, yd_cell(res, i, 1));
        }
    }

    return yd_sqlb_run(ctx, &b);
}


/* the only member of each conversation created by this batch (seq 1) */

static ngx_int_t
yd_cgi_deliver_members(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d)
{
    ngx_uint_t              i, n;
    yd_sqlb_t               b;
    ngx_youdu_db_result_t  *res = d->convs;

    if (yd_sqlb_init(d->bpool, &b, 200 + 20 * res->nrows, 2 * res->nrows)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    b.allow_error = 1;
    yd_sqlb_text(&b, "INSERT IGNORE INTO conversation_members (conv_id, "
                     "user_id, role, joined_seq) VALUES ");

    for (i = 0, n = 0; i < res->nrows; i++) {
        if (yd_int(res, i, 1) != 1) {
            continue;
        }

        yd_sqlb_text(&b, n++ ? ", (?, ?, 0, 1)" : "(?, ?, 0, 1)");
        yd_sqlb_str(&b, yd_cell(res, i, 0));
        yd_sqlb_str(&b, yd_cell(res, i, 2));
    }

    if (n == 0) {
        return NGX_OK;
    }

    return yd_sqlb_run(ctx, &b);
}


/* after COMMIT, best effort (clients that miss it catch up by sync) */

static ngx_int_t
yd_cgi_deliver_publish(ngx_http_youdu_ctx_t *ctx, yd_cgi_deliver_t *d)
{
    size_t                 *argvlen;
    ngx_str_t              *s;
    ngx_uint_t              i, n, k;
    const char            **argv;
    ngx_youdu_db_result_t  *res = d->convs;

    n = 5 + 3 * res->nrows;

    argv = ngx_palloc(d->bpool, n * sizeof(char *));
    argvlen = ngx_palloc(d->bpool, n * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argv[1] = yd_cgi_deliver_lua;
    argv[2] = "0";
    argv[3] = (const char *) d->body.data;
    argv[4] = (const char *) d->now_iso.data;
    argvlen[0] = 4;
    argvlen[1] = sizeof(yd_cgi_deliver_lua) - 1;
    argvlen[2] = 1;
    argvlen[3] = d->body.len;
    argvlen[4] = d->now_iso.len;

    for (i = 0, k = 5; i < res->nrows; i++) {
        s = yd_cell(res, i, 2);
        argv[k] = (const char *) s->data;
        argvlen[k++] = s->len;

        s = yd_cell(res, i, 0);
        argv[k] = (const char *) s->data;
        argvlen[k++] = s->len;

        s = yd_cell(res, i, 1);
        argv[k] = (const char *) s->data;
        argvlen[k++] = s->len;
    }

    return yd_redis(ctx, (int) k, argv, argvlen);
}
