
/*
 * youdu HTTP module: open-platform apps as the rest of the server sees
 * them (administration in ngx_http_youdu_api_apps.c).
 *
 * Who may see an app: an enabled app is visible to a user when its
 * scope_all is set, or an app_scope row names the user (kind 2), or names
 * one of the user's departments or an ancestor of one (kind 1;
 * departments.path is '/0/3/17/', so dept 3 covers 17: the scope's ids are
 * looked up in the user's few paths, never the other way round).
 */

#ifndef _NGX_HTTP_YOUDU_APPS_H_INCLUDED_
#define _NGX_HTTP_YOUDU_APPS_H_INCLUDED_


/* macros only and no includes: t/050-apps-admin.t expands them with cpp
 * and runs them against the database */

#define YD_APP_SCOPE_DEPT     1          /* app_scope.kind */
#define YD_APP_SCOPE_USER     2


/*
 * YD_APP_VISIBLE_COND(u, a): an SQL boolean, "user u may see app a", where
 * u and a are SQL expressions such as "u.id" and "a.id" (u appears twice
 * and a once: a placeholder for u is bound twice).  Its aliases start
 * with "yv_".
 */
#define YD_APP_VISIBLE_COND(u, a)                                            \
    "EXISTS (SELECT 1 FROM apps yv_a WHERE yv_a.id = " a " "                 \
    "AND yv_a.enabled = 1 AND (yv_a.scope_all = 1 "                          \
    "OR EXISTS (SELECT 1 FROM app_scope yv_s WHERE yv_s.app_pk = yv_a.id "   \
    "AND yv_s.kind = 2 AND yv_s.target_id = " u ") "                         \
    "OR EXISTS (SELECT 1 FROM user_depts yv_ud "                             \
    "JOIN departments yv_m ON yv_m.id = yv_ud.dept_id "                      \
    "JOIN app_scope yv_s ON yv_s.app_pk = yv_a.id AND yv_s.kind = 1 "        \
    "AND yv_m.path LIKE CONCAT('%/', yv_s.target_id, '/%') "                 \
    "WHERE yv_ud.user_id = " u ")))"

/*
 * YD_APP_VISIBLE_SQL: the same with two placeholders, user id first, then
 * apps.id, e.g.
 *     yd_sql(ctx, "SELECT " YD_APP_VISIBLE_SQL, "ii", uid, app_pk)
 * gives 1 or 0.
 */
#define YD_APP_VISIBLE_SQL                                                   \
    "EXISTS (SELECT 1 FROM (SELECT CAST(? AS UNSIGNED) AS uid, "             \
    "CAST(? AS UNSIGNED) AS aid) yv_p WHERE "                                \
    YD_APP_VISIBLE_COND("yv_p.uid", "yv_p.aid") ")"


#endif /* _NGX_HTTP_YOUDU_APPS_H_INCLUDED_ */
