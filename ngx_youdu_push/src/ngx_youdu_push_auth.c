
/*
 * youdu push: a client authenticates with its access token in its first
 * message; the session row (not revoked, account enabled) is then read,
 * and read again at every heartbeat.  A session revoked by a remote wipe
 * is told so (40108, or "wipe": true in the kick) so that the device
 * deletes its local data.  The query holds a reference on the
 * connection state and ignores a client that left meanwhile.
 */


#include <jansson.h>

#include "ngx_youdu_auth.h"
#include "ngx_youdu_push_auth.h"
#include "ngx_youdu_push_bus.h"
#include "ngx_youdu_push_presence.h"


#define YD_PUSH_SESSION_SQL                                                   \
    "SELECT s.revoked_at IS NULL, u.enable_state, s.device_type, "            \
    "IFNULL(s.revoke_reason = 'wipe', 0) "                                   \
    "FROM sessions s JOIN users u ON u.id = s.user_id "                      \
    "WHERE s.id = ? AND s.user_id = ?"


static void ngx_youdu_push_db_acquired(void *data, ngx_youdu_db_conn_t *dc);
static void ngx_youdu_push_db_done(void *data, ngx_youdu_db_result_t *res);
static void ngx_youdu_push_checked(ngx_youdu_push_conn_t *pc,
    ngx_youdu_db_result_t *res);


ngx_int_t
ngx_youdu_push_auth(ngx_youdu_push_conn_t *pc, json_t *msg)
{
    json_t               *token;
    ngx_str_t             jwt;
    ngx_youdu_token_t     t;
    ngx_youdu_token_rc_e  rc;

    token = msg ? json_object_get(msg, "token") : NULL;

    if (!json_is_string(token)) {
        ngx_youdu_push_conn_send_error(pc, 40101, "send {\"type\":\"auth\","
                                       "\"token\":\"<access token>\"} first");
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_UNAUTHORIZED,
                                  "not authenticated");
        return NGX_DONE;
    }

    jwt.data = (u_char *) json_string_value(token);
    jwt.len = json_string_length(token);

    rc = ngx_youdu_token_verify(&jwt, &t);

    if (rc == YD_TOKEN_EXPIRED) {
        ngx_youdu_push_conn_send_error(pc, 40102, "access token expired: "
                                       "refresh it with /auth/refresh and "
                                       "reconnect");
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_UNAUTHORIZED,
                                  "token expired");
        return NGX_DONE;
    }

    if (rc != YD_TOKEN_OK) {
        ngx_youdu_push_conn_send_error(pc, 40101, "invalid access token: "
                                       "sign in again");
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_UNAUTHORIZED,
                                  "invalid token");
        return NGX_DONE;
    }

    pc->uid = t.uid;
    pc->sid = t.sid;
    pc->state = YD_PUSH_AUTHING;

    ngx_youdu_push_check(pc);

    return NGX_DONE;
}


void
ngx_youdu_push_conn_recheck(ngx_youdu_push_conn_t *pc)
{
    /* the heartbeat runs the check: bring it forward */
    if (pc->state == YD_PUSH_OPEN && !pc->checking && !pc->closed) {
        ngx_add_timer(&pc->timer, 1);
    }
}


void
ngx_youdu_push_check(ngx_youdu_push_conn_t *pc)
{
    pc->qpool = ngx_create_pool(1024, ngx_cycle->log);

    if (pc->qpool == NULL) {
        ngx_youdu_push_checked(pc, NULL);
        return;
    }

    pc->checking = 1;
    pc->refs++;

    ngx_youdu_db_acquire(&pc->waiter, ngx_cycle->log,
                         ngx_youdu_push_db_acquired, pc);
}


static void
ngx_youdu_push_db_acquired(void *data, ngx_youdu_db_conn_t *dc)
{
    ngx_youdu_push_conn_t  *pc = data;

    u_char                *p;
    ngx_youdu_db_param_t  *params;

    if (dc == NULL || pc->closed) {
        if (dc) {
            ngx_youdu_db_release(dc);
        }

        ngx_youdu_push_db_done(pc, NULL);
        return;
    }

    params = ngx_pcalloc(pc->qpool, 2 * sizeof(ngx_youdu_db_param_t));
    p = ngx_pnalloc(pc->qpool, 2 * NGX_INT64_LEN);

    if (params == NULL || p == NULL) {
        ngx_youdu_db_release(dc);
        ngx_youdu_push_db_done(pc, NULL);
        return;
    }

    params[0].value.data = p;
    params[0].value.len = ngx_sprintf(p, "%L", pc->sid) - p;
    p += NGX_INT64_LEN;
    params[1].value.data = p;
    params[1].value.len = ngx_sprintf(p, "%L", pc->uid) - p;

    pc->dc = dc;

    ngx_youdu_db_exec(dc, YD_PUSH_SESSION_SQL, params, 2, pc->qpool,
                      ngx_cycle->log, ngx_youdu_push_db_done, pc);
}


static void
ngx_youdu_push_db_done(void *data, ngx_youdu_db_result_t *res)
{
    ngx_youdu_push_conn_t  *pc = data;

    if (pc->dc) {
        ngx_youdu_db_release(pc->dc);
        pc->dc = NULL;
    }

    pc->checking = 0;

    if (!pc->closed) {
        ngx_youdu_push_checked(pc, res);
    }

    if (pc->qpool) {
        ngx_destroy_pool(pc->qpool);
        pc->qpool = NULL;
    }

    ngx_youdu_push_conn_unref(pc);
}


static void
ngx_youdu_push_checked(ngx_youdu_push_conn_t *pc, ngx_youdu_db_result_t *res)
{
    u_char            *p, buf[128];
    ngx_flag_t         ok, wipe;
    const char        *why;
    ngx_youdu_push_state_e  state = pc->state;

    if (state != YD_PUSH_AUTHING && state != YD_PUSH_OPEN) {
        return;
    }

    if (res == NULL || res->err_no) {
        if (state == YD_PUSH_AUTHING) {
            ngx_youdu_push_conn_send_error(pc, 50300, "server busy: reconnect "
                                           "in a few seconds");
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_INTERNAL,
                                      "try again later");
        }

        /* a failed re-check keeps the connection */
        return;
    }

    ok = 0;
    wipe = 0;
    why = "session revoked";

    if (res->nrows == 1 && res->ncols == 4
        && yd_cell(res, 0, 0)->data != NULL
        && yd_cell(res, 0, 1)->data != NULL)
    {
        if (ngx_atoi(yd_cell(res, 0, 0)->data, yd_cell(res, 0, 0)->len) != 1)
        {
            wipe = yd_cell(res, 0, 3)->len == 1
                   && yd_cell(res, 0, 3)->data[0] == '1';
            why = wipe ? "remote wipe" : "session revoked";

        } else if (yd_cell(res, 0, 1)->len != 1
                   || yd_cell(res, 0, 1)->data[0] != '1')
        {
            why = "account disabled";

        } else {
            ok = 1;
        }
    }

    if (ok && state == YD_PUSH_AUTHING && yd_cell(res, 0, 2)->data != NULL) {
        (void) ngx_cpystrn(pc->device, yd_cell(res, 0, 2)->data,
                           ngx_min(yd_cell(res, 0, 2)->len + 1,
                                   sizeof(pc->device)));
    }

    if (state == YD_PUSH_AUTHING) {
        if (!ok) {
            if (why[0] == 'a') {
                ngx_youdu_push_conn_send_error(pc, 40106, "account disabled: "
                                               "contact your administrator");
            } else if (wipe) {
                ngx_youdu_push_conn_send_error(pc, 40108, "this device was "
                                               "wiped remotely: delete local "
                                               "data and sign in again");
            } else {
                ngx_youdu_push_conn_send_error(pc, 40103, "this device was "
                                               "signed out: sign in again");
            }

            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_UNAUTHORIZED, why);
            return;
        }

        pc->state = YD_PUSH_OPEN;
        ngx_youdu_push_bus_add(pc);
        ngx_youdu_push_presence_set(pc, 1);

        p = ngx_sprintf(buf, "{\"type\":\"auth_ok\",\"user_id\":%L,"
                        "\"session_id\":%L}", pc->uid, pc->sid);
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT, buf, p - buf, 0);

        if (pc->timer.timer_set) {
            ngx_del_timer(&pc->timer);
        }

        ngx_add_timer(&pc->timer, pc->conf->recheck_interval);

        /* frames that arrived during the query */
        ngx_post_event(pc->c->read, &ngx_posted_events);
        return;
    }

    if (!ok) {
        p = ngx_sprintf(buf, "{\"type\":\"kicked\",\"reason\":\"%s\"%s}",
                        why, wipe ? ",\"wipe\":true" : "");
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT, buf, p - buf, 0);
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_KICKED, why);
    }
}
