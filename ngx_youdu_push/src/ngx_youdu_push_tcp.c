
/*
 * youdu push: the raw TCP transport (docs/push.md "Raw TCP").  A frame
 * is a 4-byte big-endian payload length and the payload, one JSON
 * object; TCP has no control frames, so the heartbeat is a JSON ping and
 * a close is a last {"type":"close",...} frame before the FIN.
 */


#include "ngx_youdu_push_conn.h"


#define YD_TCP_HEADER  4


static ngx_int_t ngx_youdu_tcp_process(ngx_youdu_push_conn_t *pc);
static size_t ngx_youdu_tcp_header(u_char *out, ngx_uint_t opcode,
    size_t len);
static void ngx_youdu_tcp_ping(ngx_youdu_push_conn_t *pc);
static void ngx_youdu_tcp_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason);


const ngx_youdu_push_transport_t  ngx_youdu_push_tcp_transport = {
    "tcp",
    YD_TCP_HEADER,
    ngx_youdu_tcp_process,
    ngx_youdu_tcp_header,
    ngx_youdu_tcp_ping,
    ngx_youdu_tcp_close
};


/* NGX_OK: needs more input; NGX_DONE: stop reading for now */

static ngx_int_t
ngx_youdu_tcp_process(ngx_youdu_push_conn_t *pc)
{
    size_t     len, n;
    u_char    *p;
    ngx_int_t  rc;

    while (pc->rlen >= YD_TCP_HEADER) {
        p = pc->rbuf;
        len = ((size_t) p[0] << 24) | ((size_t) p[1] << 16)
              | ((size_t) p[2] << 8) | p[3];

        /* also what a client speaking another protocol gets */
        if (len > YD_PUSH_MAX_MESSAGE) {
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_TOO_BIG,
                                      "frame too large");
            return NGX_DONE;
        }

        n = YD_TCP_HEADER + len;

        if (pc->rlen < n) {
            return NGX_OK;
        }

        if (len == 0 && pc->state == YD_PUSH_OPEN) {
            ngx_youdu_push_conn_client_error(pc, "empty frame: each frame is "
                                             "a JSON object");
            rc = pc->state == YD_PUSH_CLOSING ? NGX_DONE : NGX_OK;

        } else {
            rc = ngx_youdu_push_conn_message(pc, p + YD_TCP_HEADER, len);
        }

        pc->rlen -= n;
        ngx_memmove(pc->rbuf, pc->rbuf + n, pc->rlen);

        if (rc != NGX_OK) {
            return NGX_DONE;
        }
    }

    return NGX_OK;
}


static size_t
ngx_youdu_tcp_header(u_char *out, ngx_uint_t opcode, size_t len)
{
    out[0] = (u_char) (len >> 24);
    out[1] = (u_char) (len >> 16);
    out[2] = (u_char) (len >> 8);
    out[3] = (u_char) len;

    return YD_TCP_HEADER;
}


static void
ngx_youdu_tcp_ping(ngx_youdu_push_conn_t *pc)
{
    ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT,
                                (u_char *) "{\"type\":\"ping\"}", 15, 0);
}


static void
ngx_youdu_tcp_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason)
{
    u_char  *p, buf[192];

    /* the client's fault: say what was wrong, as on any other bad input */
    switch (code) {

    case YD_WS_CLOSE_TOO_BIG:
        ngx_youdu_push_conn_send_error(pc, 40001, "frame too large: a frame "
                                       "is a 4-byte big-endian length (at "
                                       "most 65536) and that many bytes of "
                                       "JSON");
        break;

    case YD_WS_CLOSE_BAD_DATA:
        ngx_youdu_push_conn_send_error(pc, 40001, "invalid UTF-8 in a frame");
        break;

    default:
        break;
    }

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"type\":\"close\",\"code\":%ui,\"reason\":\"%s\"}",
                     code, reason);

    ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_TEXT, buf, p - buf, 1);
}
