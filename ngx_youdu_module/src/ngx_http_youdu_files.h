
/*
 * youdu HTTP module: uploaded files and images (storage, thumbnails,
 * authorised download), shared with the message handlers that send or
 * forward them.
 */

#ifndef _NGX_HTTP_YOUDU_FILES_H_INCLUDED_
#define _NGX_HTTP_YOUDU_FILES_H_INCLUDED_


#include "ngx_http_youdu_module.h"


#define YD_FILE_NAME_MAX      255
#define YD_MIME_MAX           100
#define YD_THUMB_SIDE         240
#define YD_FILE_URL_TTL       3600     /* seconds a signed URL is valid */

/* image types recognised by their magic bytes */
#define YD_IMG_NONE           0
#define YD_IMG_PNG            1
#define YD_IMG_JPEG           2
#define YD_IMG_GIF            3
#define YD_IMG_WEBP           4


/* the columns yd_file_json() reads, in order (table alias f) */
#define YD_FILE_COLS                                                         \
    "f.id, f.name, f.size, f.mime, f.sha256, f.is_image, f.width, "          \
    "f.height, f.has_thumb, f.thumb_width, f.thumb_height, "                 \
    "yd_iso(f.created_at), f.uploader_id"


/*
 * the work of one upload in the thread pool: hash, check the image, make
 * the thumbnail, move the temp file into the storage.  The event loop does
 * not touch it until the task is done.
 */
typedef struct {
    /* in */
    char                     *src;          /* the temp file */
    char                     *dir;          /* youdu_files_path */
    off_t                     size;
    ngx_uint_t                want;         /* YD_IMG_*: declared image */
    ngx_uint_t                max_pixels;
    off_t                     image_max;
    ngx_uint_t                thumb_side;   /* 0: YD_THUMB_SIDE */
    char                      boundary[72]; /* multipart/form-data */

    /* out */
    ngx_uint_t                status;       /* 0: stored */
    ngx_int_t                 errcode;
    char                      err[200];
    u_char                    sha[65];
    ngx_uint_t                width;        /* as displayed (EXIF) */
    ngx_uint_t                height;
    ngx_uint_t                orientation;  /* EXIF 1..8 (JPEG) */
    ngx_uint_t                has_thumb;
    ngx_uint_t                thumb_width;
    ngx_uint_t                thumb_height;

    /* multipart/form-data: the file part */
    char                      part_path[NGX_MAX_PATH];
    u_char                    name[YD_FILE_NAME_MAX * 4 + 1];
    size_t                    name_len;
    u_char                    mime[YD_MIME_MAX + 1];
    size_t                    mime_len;
} yd_file_job_t;


/* ngx_http_youdu_file_store.c (thread pool side) */
ngx_uint_t yd_file_image_type(ngx_str_t *mime);
size_t yd_file_mime_clean(const u_char *in, size_t len, u_char *out);
ngx_int_t yd_file_clean_name(ngx_str_t *name);
const char *yd_file_image_mime(ngx_uint_t type);
void yd_file_store(yd_file_job_t *job);

/* an image (job->src, job->want) cropped to its centre square, side
 * pixels at most, as a PNG that replaces job->src (avatars) */
ngx_int_t yd_file_square(yd_file_job_t *job, ngx_uint_t side);
ngx_uint_t yd_file_magic(u_char *h, size_t n);

/* ngx_http_youdu_file_multipart.c (thread pool side) */

/* one part of a form: h..h+len its headers (lines ending in CRLF), the
 * content start..stop of fd; NGX_DECLINED: go on with the next part */
typedef ngx_int_t (*yd_file_part_pt)(yd_file_job_t *job, void *data, int fd,
    u_char *h, size_t len, off_t start, off_t stop);

ngx_int_t yd_file_multipart(yd_file_job_t *job);
ngx_int_t yd_file_parts(yd_file_job_t *job, yd_file_part_pt handler,
    void *data);
ngx_int_t yd_file_part_header(u_char *h, size_t len, const char *name,
    ngx_str_t *value);
void yd_file_part_param(u_char *h, u_char *end, const char *key,
    ngx_str_t *out, u_char *buf, size_t size);

/* ngx_http_youdu_api_files.c */
typedef void (*yd_file_task_pt)(void *data, ngx_log_t *log);

ngx_int_t yd_file_boundary(ngx_http_request_t *r, ngx_str_t *mime,
    yd_file_job_t *job);
ngx_int_t yd_file_post_task(ngx_http_youdu_ctx_t *ctx,
    yd_file_task_pt handler, void *data);

/* ngx_http_youdu_file_serve.c */
ngx_int_t yd_file_access_sql(ngx_http_youdu_ctx_t *ctx, int64_t uid,
    int64_t file_id);
ngx_int_t yd_file_link_sql(ngx_http_youdu_ctx_t *ctx, int64_t file_id,
    int64_t conv_id, int64_t seq);
json_t *yd_file_json(ngx_youdu_db_result_t *res, ngx_uint_t row);
ngx_int_t yd_file_path(ngx_pool_t *pool, ngx_str_t *sha, ngx_uint_t thumb,
    ngx_str_t *path);
ngx_int_t yd_file_send(ngx_http_youdu_ctx_t *ctx, ngx_youdu_db_result_t *res,
    ngx_uint_t thumb);
void yd_file_request_mime(ngx_http_request_t *r, ngx_str_t *out);
ngx_int_t yd_file_sign(ngx_http_youdu_ctx_t *ctx, int64_t file_id,
    int64_t uid, time_t exp, ngx_str_t *query);


#endif /* _NGX_HTTP_YOUDU_FILES_H_INCLUDED_ */
