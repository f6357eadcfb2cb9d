
/*
 * youdu push: RFC 6455 frame parsing and emission, handshake accept key,
 * and the WebSocket transport of the push connection (control frames,
 * fragmented messages, close frames).
 */


#include <openssl/sha.h>

#include "ngx_youdu_push_conn.h"


#define YD_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


static ngx_int_t ngx_youdu_ws_process(ngx_youdu_push_conn_t *pc);
static ngx_int_t ngx_youdu_ws_frame(ngx_youdu_push_conn_t *pc,
    ngx_youdu_ws_frame_t *f);
static void ngx_youdu_ws_ping(ngx_youdu_push_conn_t *pc);
static void ngx_youdu_ws_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason);


const ngx_youdu_push_transport_t  ngx_youdu_push_ws_transport = {
    "ws",
    YD_WS_MAX_HEADER,
    ngx_youdu_ws_process,
    ngx_youdu_ws_header,
    ngx_youdu_ws_ping,
    ngx_youdu_ws_close
};


ngx_int_t
ngx_youdu_ws_accept(ngx_str_t *key, u_char *out)
{
    u_char     buf[64 + sizeof(YD_WS_GUID)];
    u_char     digest[SHA_DIGEST_LENGTH];
    ngx_str_t  src, dst;

    if (key->len > 64) {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, key->data, key->len);
    ngx_memcpy(buf + key->len, YD_WS_GUID, sizeof(YD_WS_GUID) - 1);

    SHA1(buf, key->len + sizeof(YD_WS_GUID) - 1, digest);

    src.data = digest;
    src.len = SHA_DIGEST_LENGTH;
    dst.data = out;

    ngx_encode_base64(&dst, &src);

    return NGX_OK;
}


ngx_int_t
ngx_youdu_ws_key_valid(ngx_str_t *key)
{
    u_char     buf[32];
    ngx_str_t  dst;

    if (key->len != 24) {
        return NGX_ERROR;
    }

    dst.data = buf;

    if (ngx_decode_base64(&dst, key) != NGX_OK || dst.len != 16) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_youdu_ws_parse(u_char *p, size_t n, ngx_youdu_ws_frame_t *f)
{
    size_t     hlen, i;
    uint64_t   len;
    u_char    *mask;

    if (n < 2) {
        return NGX_AGAIN;
    }

    if (p[0] & 0x70) {
        return YD_WS_CLOSE_PROTOCOL;        /* no extensions negotiated */
    }

    f->fin = (p[0] & 0x80) ? 1 : 0;
    f->opcode = p[0] & 0x0f;

    switch (f->opcode) {
    case YD_WS_OP_CONT:
    case YD_WS_OP_TEXT:
    case YD_WS_OP_BINARY:
        break;

    case YD_WS_OP_CLOSE:
    case YD_WS_OP_PING:
    case YD_WS_OP_PONG:
        if (!f->fin || (p[1] & 0x7f) > 125) {
            return YD_WS_CLOSE_PROTOCOL;
        }
        break;

    default:
        return YD_WS_CLOSE_PROTOCOL;
    }

    if (!(p[1] & 0x80)) {
        return YD_WS_CLOSE_PROTOCOL;        /* clients must mask */
    }

    len = p[1] & 0x7f;
    hlen = 2;

    if (len == 126) {
        if (n < 4) {
            return NGX_AGAIN;
        }

        len = ((uint64_t) p[2] << 8) | p[3];
        hlen = 4;

    } else if (len == 127) {
        if (n < 10) {
            return NGX_AGAIN;
        }

        len = 0;

        for (i = 2; i < 10; i++) {
            len = (len << 8) | p[i];
        }

        if (len >> 63) {
            return YD_WS_CLOSE_PROTOCOL;
        }

        hlen = 10;
    }

    if (len > YD_WS_MAX_MESSAGE) {
        return YD_WS_CLOSE_TOO_BIG;
    }

    hlen += 4;

    if (n < hlen + len) {
        return NGX_AGAIN;
    }

    mask = p + hlen - 4;
    f->payload = p + hlen;
    f->len = (size_t) len;
    f->frame_len = hlen + (size_t) len;

    for (i = 0; i < f->len; i++) {
        f->payload[i] ^= mask[i & 3];
    }

    return NGX_OK;
}


size_t
ngx_youdu_ws_header(u_char *out, ngx_uint_t opcode, size_t len)
{
    out[0] = (u_char) (0x80 | opcode);

    if (len < 126) {
        out[1] = (u_char) len;
        return 2;
    }

    if (len < 65536) {
        out[1] = 126;
        out[2] = (u_char) (len >> 8);
        out[3] = (u_char) len;
        return 4;
    }

    out[1] = 127;
    out[2] = 0;
    out[3] = 0;
    out[4] = 0;
    out[5] = 0;
    out[6] = (u_char) ((uint64_t) len >> 24);
    out[7] = (u_char) (len >> 16);
    out[8] = (u_char) (len >> 8);
    out[9] = (u_char) len;

    return 10;
}


/* the transport */


/* NGX_OK: needs more input; NGX_DONE: stop reading for now */

static ngx_int_t
ngx_youdu_ws_process(ngx_youdu_push_conn_t *pc)
{
    ngx_int_t             rc;
    ngx_youdu_ws_frame_t  f;

    while (pc->rlen) {
        rc = ngx_youdu_ws_parse(pc->rbuf, pc->rlen, &f);

        if (rc == NGX_AGAIN) {
            return NGX_OK;
        }

        if (rc != NGX_OK) {
            ngx_youdu_push_conn_close(pc, rc, rc == YD_WS_CLOSE_TOO_BIG
                                              ? "frame too large"
                                              : "protocol error");
            return NGX_DONE;
        }

        rc = ngx_youdu_ws_frame(pc, &f);

        pc->rlen -= f.frame_len;
        ngx_memmove(pc->rbuf, pc->rbuf + f.frame_len, pc->rlen);

        if (rc != NGX_OK) {
            return NGX_DONE;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_youdu_ws_frame(ngx_youdu_push_conn_t *pc, ngx_youdu_ws_frame_t *f)
{
    ngx_uint_t  code;

    switch (f->opcode) {

    case YD_WS_OP_PING:
        ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_PONG, f->payload, f->len, 0);
        return NGX_OK;

    case YD_WS_OP_PONG:
        return NGX_OK;

    case YD_WS_OP_CLOSE:
        if (f->len == 0) {
            code = YD_WS_CLOSE_NORMAL;

        } else {
            code = f->len >= 2 ? (f->payload[0] << 8 | f->payload[1]) : 0;

            if (!((code >= 1000 && code <= 1003)
                  || (code >= 1007 && code <= 1011)
                  || (code >= 3000 && code <= 4999)))
            {
                code = YD_WS_CLOSE_PROTOCOL;
            }
        }

        pc->peer_closed = 1;
        ngx_youdu_push_conn_close(pc, code, "");
        return NGX_DONE;

    case YD_WS_OP_BINARY:
        ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_UNSUPPORTED,
                                  "text frames only");
        return NGX_DONE;

    case YD_WS_OP_TEXT:
        if (pc->msg_opcode) {
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_PROTOCOL,
                                      "new message inside a fragmented one");
            return NGX_DONE;
        }

        if (f->fin) {
            return ngx_youdu_push_conn_message(pc, f->payload, f->len);
        }

        if (pc->msg == NULL) {
            pc->msg = ngx_alloc(YD_WS_MAX_MESSAGE, pc->c->log);
            if (pc->msg == NULL) {
                ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_INTERNAL,
                                          "no memory");
                return NGX_DONE;
            }
        }

        ngx_memcpy(pc->msg, f->payload, f->len);
        pc->msg_len = f->len;
        pc->msg_opcode = YD_WS_OP_TEXT;
        return NGX_OK;

    default: /* YD_WS_OP_CONT */
        if (!pc->msg_opcode) {
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_PROTOCOL,
                                      "continuation without a message");
            return NGX_DONE;
        }

        if (pc->msg_len + f->len > YD_WS_MAX_MESSAGE) {
            ngx_youdu_push_conn_close(pc, YD_WS_CLOSE_TOO_BIG,
                                      "message too large");
            return NGX_DONE;
        }

        ngx_memcpy(pc->msg + pc->msg_len, f->payload, f->len);
        pc->msg_len += f->len;

        if (!f->fin) {
            return NGX_OK;
        }

        pc->msg_opcode = 0;
        return ngx_youdu_push_conn_message(pc, pc->msg, pc->msg_len);
    }
}


static void
ngx_youdu_ws_ping(ngx_youdu_push_conn_t *pc)
{
    ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_PING, NULL, 0, 0);
}


static void
ngx_youdu_ws_close(ngx_youdu_push_conn_t *pc, ngx_uint_t code,
    const char *reason)
{
    u_char  buf[128];
    size_t  len;

    buf[0] = (u_char) (code >> 8);
    buf[1] = (u_char) code;
    len = ngx_min(ngx_strlen(reason), 120);
    ngx_memcpy(buf + 2, reason, len);

    ngx_youdu_push_conn_enqueue(pc, YD_WS_OP_CLOSE, buf, 2 + len, 1);
}
