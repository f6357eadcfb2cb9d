
/*
 * youdu REST error codes (documented in docs/api.md).  Stable: never
 * renumber; add new codes at the end of their group.
 */

#ifndef _NGX_HTTP_YOUDU_ERRORS_H_INCLUDED_
#define _NGX_HTTP_YOUDU_ERRORS_H_INCLUDED_


#define YD_OK                         0

/* 400: the request itself */
#define YD_ERR_BAD_REQUEST            40000
#define YD_ERR_BAD_JSON               40001
#define YD_ERR_BAD_UTF8               40002
#define YD_ERR_BAD_TYPE               40003
#define YD_ERR_MISSING_FIELD          40004
#define YD_ERR_TOO_LONG               40005
#define YD_ERR_BAD_VALUE              40006
#define YD_ERR_BAD_CONTENT_TYPE       40007
#define YD_ERR_BAD_QUERY              40008
#define YD_ERR_IMPORT_INVALID         40009
#define YD_ERR_BAD_IMAGE              40010
#define YD_ERR_EMPTY_FILE             40011

/* 401: who is asking */
#define YD_ERR_NO_TOKEN               40100
#define YD_ERR_BAD_TOKEN              40101
#define YD_ERR_TOKEN_EXPIRED          40102
#define YD_ERR_SESSION_REVOKED        40103
#define YD_ERR_BAD_CREDENTIALS        40104
#define YD_ERR_ACCOUNT_LOCKED         40105
#define YD_ERR_ACCOUNT_DISABLED       40106
#define YD_ERR_BAD_REFRESH            40107
#define YD_ERR_DEVICE_WIPED           40108

#define YD_DEVICE_WIPED_MSG                                                   \
    "this device was wiped remotely: delete local data and sign in again"

/* 403 */
#define YD_ERR_FORBIDDEN              40300
#define YD_ERR_PASSWORD_CHANGE        40301
#define YD_ERR_WRONG_PASSWORD         40302
#define YD_ERR_LINK_EXPIRED           40303
#define YD_ERR_BAD_LINK               40304

/* 404 / 405 */
#define YD_ERR_NO_ROUTE               40400
#define YD_ERR_NOT_FOUND              40401
#define YD_ERR_DEPT_NOT_FOUND         40402
#define YD_ERR_USER_NOT_FOUND         40403
#define YD_ERR_PARENT_NOT_FOUND       40404
#define YD_ERR_SESSION_NOT_FOUND      40405
#define YD_ERR_METHOD                 40500

/* 409: conflicts with stored data */
#define YD_ERR_CONFLICT               40900
#define YD_ERR_ACCOUNT_EXISTS         40901
#define YD_ERR_DEPT_EXISTS            40902
#define YD_ERR_DEPT_HAS_CHILDREN      40903
#define YD_ERR_DEPT_HAS_USERS         40904
#define YD_ERR_DEPT_CYCLE             40905
#define YD_ERR_MOBILE_EXISTS          40906
#define YD_ERR_ROOT_DEPT              40907
#define YD_ERR_LAST_SUPER             40908
#define YD_ERR_CHANGES_GONE           40909

/* 413 / 415 / 429 */
#define YD_ERR_TOO_LARGE              41300
#define YD_ERR_TOO_MANY               42900

/* 5xx: ours */
#define YD_ERR_INTERNAL               50000
#define YD_ERR_DB_UNAVAILABLE         50300
#define YD_ERR_REDIS_UNAVAILABLE      50301
#define YD_ERR_AUTH_UNAVAILABLE       50302
#define YD_ERR_TIMEOUT                50400


#endif /* _NGX_HTTP_YOUDU_ERRORS_H_INCLUDED_ */
