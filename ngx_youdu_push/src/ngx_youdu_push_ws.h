
/*
 * youdu push: RFC 6455 framing.  Pure functions over buffers; the
 * connection state machine lives in ngx_youdu_push_conn.c.
 */

#ifndef _NGX_YOUDU_PUSH_WS_H_INCLUDED_
#define _NGX_YOUDU_PUSH_WS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define YD_WS_OP_CONT      0x0
#define YD_WS_OP_TEXT      0x1
#define YD_WS_OP_BINARY    0x2
#define YD_WS_OP_CLOSE     0x8
#define YD_WS_OP_PING      0x9
#define YD_WS_OP_PONG      0xa

#define YD_WS_CLOSE_NORMAL        1000
#define YD_WS_CLOSE_GOING_AWAY    1001
#define YD_WS_CLOSE_PROTOCOL      1002
#define YD_WS_CLOSE_UNSUPPORTED   1003
#define YD_WS_CLOSE_BAD_DATA      1007
#define YD_WS_CLOSE_POLICY        1008
#define YD_WS_CLOSE_TOO_BIG       1009
#define YD_WS_CLOSE_INTERNAL      1011
#define YD_WS_CLOSE_UNAUTHORIZED  4401
#define YD_WS_CLOSE_KICKED        4403

#define YD_WS_MAX_MESSAGE         65536
#define YD_WS_MAX_HEADER          14


typedef struct {
    ngx_uint_t                opcode;
    ngx_uint_t                fin;
    u_char                   *payload;   /* unmasked in place */
    size_t                    len;
    size_t                    frame_len; /* header + payload */
} ngx_youdu_ws_frame_t;


/* the 28-character Sec-WebSocket-Accept value for a client key */
ngx_int_t ngx_youdu_ws_accept(ngx_str_t *key, u_char *out);

/* a valid Sec-WebSocket-Key is 16 bytes, base64-encoded */
ngx_int_t ngx_youdu_ws_key_valid(ngx_str_t *key);

/*
 * Parses one client frame at p (n bytes available).  Returns NGX_OK with
 * f filled (payload unmasked), NGX_AGAIN when more bytes are needed, or a
 * close code (> 1000) when the frame breaks the protocol or the limits.
 */
ngx_int_t ngx_youdu_ws_parse(u_char *p, size_t n, ngx_youdu_ws_frame_t *f);

/* writes a server frame header (unmasked) to out; returns its length */
size_t ngx_youdu_ws_header(u_char *out, ngx_uint_t opcode, size_t len);


#endif /* _NGX_YOUDU_PUSH_WS_H_INCLUDED_ */
