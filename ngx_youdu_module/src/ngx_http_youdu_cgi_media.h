
/*
 * youdu: media and avatars of the open platform (PROTOCOL.md 4.3, 4.5
 * items 15-16) and the REST avatar routes.  Uploads are multipart forms
 * whose file part is base64 ciphertext; downloads are base64 ciphertext
 * with the metadata in an "Encrypt" header.  Everything that touches the
 * file's bytes runs in the thread pool (ngx_http_youdu_cgi_media_job.c,
 * ngx_http_youdu_cgi_stream.c).
 */

#ifndef _NGX_HTTP_YOUDU_CGI_MEDIA_H_INCLUDED_
#define _NGX_HTTP_YOUDU_CGI_MEDIA_H_INCLUDED_


#include "ngx_http_youdu_cgi.h"
#include "ngx_http_youdu_files.h"


#define YD_MEDIA_FILE         1
#define YD_MEDIA_IMAGE        2
#define YD_MEDIA_VOICE        3
#define YD_MEDIA_VIDEO        4

#define YD_AVATAR_LARGE       480      /* square side, pixels at most */
#define YD_AVATAR_SMALL       96

#define YD_MEDIA_FIELD_MAX    (64 * 1024)   /* a text field of the form */


typedef enum {
    YD_STREAM_OK = 0,
    YD_STREAM_BASE64,         /* not base64 of whole AES blocks */
    YD_STREAM_PADDING,
    YD_STREAM_LENGTH,         /* the length field does not fit */
    YD_STREAM_APPID,          /* the trailer is not the app's id */
    YD_STREAM_TOO_LARGE,      /* the length field is over the limit */
    YD_STREAM_IO
} yd_stream_rc_e;


/* an upload (media or avatar) in the thread pool */
typedef struct {
    yd_file_job_t             file;      /* the store job; file.src is the
                                            decrypted temp file */
    /* in */
    char                     *form;      /* nginx's temp file of the body */
    off_t                     form_size;
    u_char                    key[YD_CGI_KEY_LEN];
    ngx_str_t                 app_id;
    ngx_uint_t                avatar;
    off_t                     upload_max;

    /* the form */
    u_char                   *encrypt;   /* malloc */
    size_t                    encrypt_len;
    u_char                   *form_app;  /* malloc */
    size_t                    form_app_len;
    u_char                    user[256];
    size_t                    user_len;
    off_t                     part_start;
    off_t                     part_stop;
    ngx_uint_t                has_part;  /* 2: named "file", 1: another
                                            part with a filename */

    /* out */
    ngx_int_t                 errcode;   /* YD_CGI_*; 0 and file.status:
                                            the store's error */
    ngx_uint_t                type;      /* YD_MEDIA_* */

    /* the handler's, after the task */
    int64_t                   file_id;
    u_char                    media_id[33];
} yd_media_job_t;


/* a download in the thread pool: the file as base64 ciphertext in an
 * unlinked temp file */
typedef struct {
    char                     *path;
    char                     *dir;
    ngx_str_t                 name;      /* for the Encrypt header */
    u_char                    key[YD_CGI_KEY_LEN];
    ngx_str_t                 app_id;

    int                       fd;        /* out, -1: none */
    off_t                     size;      /* out: the file's bytes */
    off_t                     len;       /* out: the text's */
    ngx_uint_t                missing;   /* out: the stored file is gone */
    ngx_uint_t                failed;
} yd_media_dl_t;


/* ngx_http_youdu_cgi_stream.c (thread side) */
yd_stream_rc_e yd_cgi_stream_decrypt(const u_char *key, ngx_str_t *appid,
    int in, off_t from, off_t to, int out, off_t max, off_t *size);
ngx_int_t yd_cgi_stream_encrypt(const u_char *key, ngx_str_t *appid, int in,
    off_t size, int out, off_t *out_len);

/* ngx_http_youdu_cgi_media_job.c (thread side) */
void yd_media_upload_thread(void *data, ngx_log_t *log);
void yd_media_download_thread(void *data, ngx_log_t *log);
void yd_avatar_rest_thread(void *data, ngx_log_t *log);
void yd_media_job_free(yd_media_job_t *job);

/* ngx_http_youdu_cgi_media.c: shared by the media and avatar handlers */
ngx_int_t yd_media_upload_start(ngx_http_youdu_ctx_t *ctx,
    ngx_uint_t avatar);
ngx_int_t yd_media_upload_failed(ngx_http_youdu_ctx_t *ctx,
    yd_media_job_t *job);
/* name NULL: the job's */
ngx_int_t yd_media_insert_file(ngx_http_youdu_ctx_t *ctx, yd_file_job_t *job,
    int64_t uploader, ngx_str_t *name);
/* the next stage calls yd_media_download_send(); ctx->data is replaced */
ngx_int_t yd_media_download_start(ngx_http_youdu_ctx_t *ctx, ngx_str_t *sha,
    ngx_uint_t thumb, ngx_str_t *name);
ngx_int_t yd_media_download_send(ngx_http_youdu_ctx_t *ctx);
const char *yd_media_mime(yd_file_job_t *f);


#endif /* _NGX_HTTP_YOUDU_CGI_MEDIA_H_INCLUDED_ */
