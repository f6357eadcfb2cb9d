
/*
 * youdu push: RFC 6455 frame parsing and emission, handshake accept key.
 */


#include <openssl/sha.h>

#include "ngx_youdu_push_ws.h"


#define YD_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


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
