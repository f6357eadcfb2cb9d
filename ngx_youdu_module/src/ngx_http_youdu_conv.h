
/*
 * youdu HTTP module: conversations and messages, shared between the
 * conversation handlers and the message handlers.
 */

#ifndef _NGX_HTTP_YOUDU_CONV_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CONV_H_INCLUDED_


#include "ngx_http_youdu_module.h"


#define YD_CONV_DIRECT        1
#define YD_CONV_MULTI         2
#define YD_CONV_GROUP         3
#define YD_CONV_APP           4   /* an app's messages to one user (cgi) */

#define YD_MEMBER             0
#define YD_MEMBER_ADMIN       1
#define YD_MEMBER_OWNER       2

#define YD_MSG_TEXT           1
#define YD_MSG_IMAGE          2
#define YD_MSG_FILE           3
#define YD_MSG_CARD           4
#define YD_MSG_FORWARD        5
#define YD_MSG_SYSTEM         6
#define YD_MSG_RECALL         7

#define YD_MULTI_MAX          200
#define YD_GROUP_MAX          5000
#define YD_TEXT_MAX           5000
#define YD_SEQ_MAX            ((int64_t) 1 << 62)

/* kinds a user sends (text .. merged forward): quotable and recallable */
#define YD_MSG_USER_KINDS     "kind BETWEEN 1 AND 5"

/* a message's one-line preview: its text, or "[image]", "[file] name" */
#define YD_MSG_PREVIEW(body)                                                 \
    "IFNULL(JSON_VALUE(" body ", '$.text'), "                                \
    "IFNULL(JSON_VALUE(" body ", '$.preview'), ''))"

/* the columns yd_conv_event() reads, in order (table alias m) */
#define YD_MSG_COLS                                                          \
    "m.conv_id, m.seq, m.sender_id, m.client_msg_id, m.kind, m.body, "       \
    "yd_iso(m.created_at), m.recalled"


typedef struct yd_conv_s  yd_conv_t;

/* a step of a change: NGX_AGAIN (statement started), NGX_OK (done), or a
 * reply was sent (NGX_DONE) */
typedef ngx_int_t (*yd_conv_step_pt)(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);


/* a handler's state: the conversation as the caller sees it, and the one
 * event the request appends */
struct yd_conv_s {
    int64_t                   conv_id;
    int64_t                   kind;
    int64_t                   owner_id;
    int64_t                   last_seq;
    int64_t                   member_count;
    ngx_str_t                 name;
    ngx_uint_t                dissolved;

    ngx_uint_t                member;      /* a row exists (current or left) */
    ngx_uint_t                left;
    int64_t                   role;
    int64_t                   joined_seq;
    int64_t                   left_seq;
    int64_t                   last_read_seq;

    /* the event being appended */
    int64_t                   seq;
    ngx_str_t                 created_at;  /* DATETIME(3) text, for INSERT */
    ngx_str_t                 created_iso; /* as the API shows it */
    int64_t                   sender_id;   /* 0: system */
    ngx_str_t                *client_msg_id;
    int64_t                   ev_kind;
    ngx_str_t                 body;
    ngx_youdu_db_result_t    *to;          /* user ids to notify */
    json_t                   *event;

    /* handler specific */
    int64_t                   target;
    int64_t                  *ids;
    ngx_uint_t                nids;
    ngx_uint_t                flag;
    json_t                   *reply;
    ngx_youdu_db_result_t    *saved;
    void                     *in;          /* the handler's parsed input */
    void                     *app;         /* a reply to an app (kind 4) */
    int64_t                   callback_id; /* app_callbacks row to wake the
                                              callback worker for */
    void                     *audit;       /* the copy for sysMsgMonitor */

    /* yd_conv_drive(): BEGIN, pre, next seq, write, insert the event,
     * reload the conversation (want_obj), finish; dup on a resend */
    ngx_uint_t                driving;
    ngx_uint_t                phase;
    ngx_uint_t                step;
    ngx_uint_t                status;
    ngx_uint_t                want_obj;
    yd_conv_step_pt           pre;
    yd_conv_step_pt           write;
    yd_conv_step_pt           dup;
    yd_conv_step_pt           done;        /* the reply instead of the REST
                                              one (/cgi); called once */
};


/* a message as a sender gives it (REST send, /cgi/session/send) */
typedef struct {
    ngx_str_t                 client_msg_id;
    int64_t                   kind;
    ngx_str_t                 text;
    ngx_uint_t                mention_all;
    int64_t                   quote_seq;
    int64_t                   file_id;
} yd_msg_in_t;


yd_conv_t *yd_conv_state(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_conv_load(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step,
    ngx_uint_t arg);
ngx_int_t yd_conv_load_id(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_conv_require(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t current);
ngx_int_t yd_conv_next_seq(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step);
ngx_int_t yd_conv_insert(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step);
ngx_int_t yd_conv_select_to(ngx_http_youdu_ctx_t *ctx);
ngx_uint_t yd_conv_in_result(ngx_youdu_db_result_t *res, int64_t uid);
ngx_int_t yd_conv_finish(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step,
    ngx_uint_t status);
ngx_int_t yd_conv_publish(ngx_http_youdu_ctx_t *ctx, const char *type,
    json_t *ev);
ngx_int_t yd_conv_system_body(ngx_http_youdu_ctx_t *ctx, const char *event,
    json_t *extra);
ngx_int_t yd_conv_drive(ngx_http_youdu_ctx_t *ctx);
ngx_int_t yd_conv_start(ngx_http_youdu_ctx_t *ctx, yd_conv_step_pt pre,
    yd_conv_step_pt write, ngx_uint_t status, ngx_uint_t want_obj);
ngx_uint_t yd_conv_manager(yd_conv_t *c);
ngx_int_t yd_conv_obj_sql(ngx_http_youdu_ctx_t *ctx);
json_t *yd_conv_obj(ngx_youdu_db_result_t *res, ngx_uint_t row);
json_t *yd_conv_event(ngx_youdu_db_result_t *res, ngx_uint_t row);
json_t *yd_conv_new_event(yd_conv_t *c);
const char *yd_conv_kind_name(int64_t kind);
ngx_int_t yd_conv_ids(ngx_http_youdu_ctx_t *ctx, json_t *obj,
    const char *key, ngx_uint_t required, ngx_uint_t max);
ngx_int_t yd_conv_load_check(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t manager);
ngx_int_t yd_conv_ids_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    const char *event, json_t *extra);

/* ngx_http_youdu_api_conv.c: the rows of a new multi or group (owner:
 * ctx->me.uid, members: c->ids) */
ngx_int_t yd_conv_create_pre(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);

/* ngx_http_youdu_msg_members.c: handlers of the conversation routes */
ngx_int_t yd_conv_add_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);
ngx_int_t ngx_http_youdu_conv_add_members(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_conv_remove_member(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_conv_add_admin(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_conv_remove_admin(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_conv_dissolve(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_msg_recall.c */
ngx_int_t ngx_http_youdu_msg_recall(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_api_msg.c: the answer to a resend (client_msg_id already
 * used), shared with other writers of messages */
ngx_int_t yd_msg_dup(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);
/* the stored body of a text (file NULL) or of an image or file (a row of
 * YD_FILE_COLS), with the fields of extra (may be NULL) added */
ngx_int_t yd_msg_body(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    yd_msg_in_t *in, ngx_youdu_db_result_t *file, json_t *extra);

/* ngx_http_youdu_api_msg.c: the write step of a send */
ngx_int_t yd_msg_send_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);

/* ngx_http_youdu_app_reply.c: a send into an app conversation, also
 * queued as a callback to the app */
ngx_int_t yd_app_reply_write(ngx_http_youdu_ctx_t *ctx, yd_conv_t *c,
    ngx_uint_t step);
ngx_int_t yd_app_callback_wake(ngx_http_youdu_ctx_t *ctx, int64_t id);

/* ngx_http_youdu_msg_audit.c: a drive phase after the insert; NGX_DONE when
 * finished (or nothing to do) */
ngx_int_t yd_msg_audit(ngx_http_youdu_ctx_t *ctx, ngx_uint_t step);

/* ngx_http_youdu_msg_forward.c */
ngx_int_t ngx_http_youdu_msg_forward(ngx_http_youdu_ctx_t *ctx);
ngx_int_t ngx_http_youdu_msg_forward_items(ngx_http_youdu_ctx_t *ctx);

/* ngx_http_youdu_msg_typing.c */
ngx_int_t ngx_http_youdu_msg_typing(ngx_http_youdu_ctx_t *ctx);

ngx_int_t yd_conv_param(ngx_pool_t *pool, ngx_youdu_db_param_t *p,
    int64_t v);
ngx_int_t yd_conv_in_sql(ngx_http_youdu_ctx_t *ctx, const char *head,
    int64_t *lead, ngx_uint_t nlead, const char *tail);


#endif /* _NGX_HTTP_YOUDU_CONV_H_INCLUDED_ */
