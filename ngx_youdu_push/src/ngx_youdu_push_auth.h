
/*
 * youdu push: authentication of a push client (the access token, then
 * the session row) and the periodic session re-check.
 */

#ifndef _NGX_YOUDU_PUSH_AUTH_H_INCLUDED_
#define _NGX_YOUDU_PUSH_AUTH_H_INCLUDED_


#include <jansson.h>

#include "ngx_youdu_push_conn.h"


/* msg: the first message if it is {"type":"auth"}, else NULL */
ngx_int_t ngx_youdu_push_auth(ngx_youdu_push_conn_t *pc, json_t *msg);

/* looks the session up again; kicks the client when it is gone */
void ngx_youdu_push_check(ngx_youdu_push_conn_t *pc);


#endif /* _NGX_YOUDU_PUSH_AUTH_H_INCLUDED_ */
