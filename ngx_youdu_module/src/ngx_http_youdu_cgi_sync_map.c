
/*
 * youdu: the replaceall payload (Youdu's names) as the bulk import's JSON
 * document, in the thread pool.  Values are carried over as they are, so
 * the import's own field rules judge them (a wrong type is a row error of
 * the job); only what the import does not know is checked here: sibling
 * departments must not share a sortId.
 */


#include "ngx_http_youdu_cgi_sync.h"


/* the value under any spelling of a key, JSON null as absent */

static json_t *
yd_sync_get(json_t *o, const char *key)
{
    json_t  *v = yd_cgi_obj_get(o, key);

    return (v && !json_is_null(v)) ? v : NULL;
}


/* the import's key <- Youdu's key */
typedef const char  *yd_sync_keys_t[2];

static yd_sync_keys_t  yd_sync_dept_keys[] = {
    { "id", "id" }, { "parent_id", "parentId" }, { "name", "name" },
    { "sort_id", "sortId" }, { "alias", "alias" }, { NULL, NULL }
};

static yd_sync_keys_t  yd_sync_user_keys[] = {
    { "account", "userId" }, { "name", "name" }, { "gender", "gender" },
    { "mobile", "mobile" }, { "phone", "phone" }, { "email", "email" },
    { "enable_state", "enableState" }, { NULL, NULL }
};

static yd_sync_keys_t  yd_sync_ud_keys[] = {
    { "position", "position" }, { "weight", "weight" },
    { "sort_id", "sortId" }, { NULL, NULL }
};


static void
yd_sync_put(json_t *dst, json_t *src, yd_sync_keys_t *keys)
{
    json_t  *v;

    for ( /* void */ ; keys[0][0]; keys++) {
        v = yd_sync_get(src, keys[0][1]);

        if (v) {
            json_object_set(dst, keys[0][0], v);
        }
    }
}


/* an object with the import's keys; anything else as it is (the import
 * reports it) */

static json_t *
yd_sync_renamed(json_t *src, yd_sync_keys_t *keys)
{
    json_t  *o;

    if (!json_is_object(src)) {
        return json_incref(src);
    }

    o = json_object();
    if (o) {
        yd_sync_put(o, src, keys);
    }

    return o;
}


/* sibling sortIds differ (0: not given) */

static void
yd_sync_check_sort(yd_imp_t *imp, json_t *depts)
{
    size_t   i, k;
    json_t  *a, *b, *pa, *pb, *sa, *sb;

    for (i = 0; i < json_array_size(depts); i++) {
        a = json_array_get(depts, i);
        pa = yd_sync_get(a, "parent_id");
        sa = yd_sync_get(a, "sort_id");

        if (!json_is_integer(pa) || !json_is_integer(sa)
            || json_integer_value(sa) == 0)
        {
            continue;
        }

        for (k = 0; k < i; k++) {
            b = json_array_get(depts, k);
            pb = yd_sync_get(b, "parent_id");
            sb = yd_sync_get(b, "sort_id");

            if (json_is_integer(pb) && json_is_integer(sb)
                && json_integer_value(pb) == json_integer_value(pa)
                && json_integer_value(sb) == json_integer_value(sa))
            {
                yd_imp_error(imp, i + 1, "departments", "sort_id",
                             "sortId %L is also used by deptList[%uz] under "
                             "the same parent %L: sibling sortIds must "
                             "differ", json_integer_value(sa), k,
                             json_integer_value(pa));
                break;
            }
        }
    }
}


/* dept [ids] and deptDetail [{deptId,position,weight,sortId}] as one list */

static json_t *
yd_sync_user_depts(yd_imp_t *imp, json_t *u, ngx_uint_t row)
{
    size_t   i, k;
    json_t  *ids, *det, *out, *e, *m, *id;

    ids = yd_sync_get(u, "dept");
    det = yd_sync_get(u, "deptDetail");

    if (ids && !json_is_array(ids)) {
        /* the import says what is wrong */
        return json_incref(ids);
    }

    if (det && !json_is_array(det)) {
        yd_imp_error(imp, row, "users", "deptDetail",
                     "deptDetail must be an array of {deptId, position, "
                     "weight, sortId}");
        det = NULL;
    }

    out = json_array();
    if (out == NULL) {
        return NULL;
    }

    json_array_foreach(ids, i, e) {
        m = json_object();
        if (m == NULL) {
            json_decref(out);
            return NULL;
        }

        json_object_set(m, "dept_id", e);

        json_array_foreach(det, k, id) {
            if (json_is_integer(e) && json_equal(yd_sync_get(id, "deptId"), e))
            {
                yd_sync_put(m, id, yd_sync_ud_keys);
                break;
            }
        }

        json_array_append_new(out, m);
    }

    /* details of departments missing from "dept" add them */
    json_array_foreach(det, k, id) {
        e = yd_sync_get(id, "deptId");

        if (!json_is_object(id) || e == NULL) {
            yd_imp_error(imp, row, "users", "deptDetail",
                         "each deptDetail item needs a deptId");
            continue;
        }

        for (i = 0; i < json_array_size(ids); i++) {
            if (json_equal(json_array_get(ids, i), e)) {
                break;
            }
        }

        if (ids && i < json_array_size(ids)) {
            continue;
        }

        m = json_object();
        if (m == NULL) {
            json_decref(out);
            return NULL;
        }

        json_object_set(m, "dept_id", e);
        yd_sync_put(m, id, yd_sync_ud_keys);
        json_array_append_new(out, m);
    }

    return out;
}


/* authType and passwd (user/setauth's fields): -1 and "" when not given */

static ngx_int_t
yd_sync_user_auth(yd_imp_t *imp, json_t *u, ngx_uint_t row, json_t *auth)
{
    size_t   i;
    u_char   md5[32];
    json_t  *t, *pw, *id, *e;

    t = yd_sync_get(u, "authType");
    pw = yd_sync_get(u, "passwd");
    id = yd_sync_get(u, "userId");

    if ((t == NULL && pw == NULL) || !json_is_string(id)) {
        return NGX_OK;
    }

    if (t && (!json_is_integer(t) || json_integer_value(t) < 0
              || json_integer_value(t) > 2))
    {
        yd_imp_error(imp, row, "users", "authType",
                     "authType must be 0 (local), 1 (RTX) or 2 (third "
                     "party)");
        return NGX_OK;
    }

    if (pw) {
        if (!json_is_string(pw) || json_string_length(pw) != 32) {
            yd_imp_error(imp, row, "users", "passwd",
                         "passwd must be the 32 hex digits of the MD5 of "
                         "the password");
            return NGX_OK;
        }

        for (i = 0; i < 32; i++) {
            md5[i] = ngx_tolower(json_string_value(pw)[i]);

            if (!((md5[i] >= '0' && md5[i] <= '9')
                  || (md5[i] >= 'a' && md5[i] <= 'f')))
            {
                yd_imp_error(imp, row, "users", "passwd",
                             "passwd must be the 32 hex digits of the MD5 "
                             "of the password");
                return NGX_OK;
            }
        }
    }

    e = json_pack("[Oi s#]", id, t ? (int) json_integer_value(t) : -1,
                  pw ? (char *) md5 : "", pw ? 32 : 0);

    if (e == NULL || json_array_append_new(auth, e) != 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static json_t *
yd_sync_user(yd_imp_t *imp, json_t *u, ngx_uint_t row)
{
    json_t  *o, *d;

    o = yd_sync_renamed(u, yd_sync_user_keys);
    if (o == NULL || !json_is_object(u)) {
        return o;
    }

    d = yd_sync_user_depts(imp, u, row);
    if (d == NULL) {
        json_decref(o);
        return NULL;
    }

    json_object_set_new(o, "departments", d);

    return o;
}


json_t *
yd_sync_map_replaceall(yd_sync_job_t *job, yd_imp_t *imp)
{
    size_t   i;
    char    *text;
    json_t  *doc, *depts, *users, *a, *e, *m, *auth;

    doc = json_object();
    depts = json_array();
    users = json_array();
    auth = json_array();

    if (doc == NULL || depts == NULL || users == NULL || auth == NULL) {
        goto failed;
    }

    json_object_set(doc, "departments", depts);
    json_object_set(doc, "users", users);

    a = yd_sync_get(job->payload, "deptList");

    json_array_foreach(a, i, e) {
        m = yd_sync_renamed(e, yd_sync_dept_keys);
        if (m == NULL || json_array_append_new(depts, m) != 0) {
            goto failed;
        }
    }

    yd_sync_check_sort(imp, depts);

    a = yd_sync_get(job->payload, "userList");

    json_array_foreach(a, i, e) {
        m = yd_sync_user(imp, e, i + 1);
        if (m == NULL || json_array_append_new(users, m) != 0
            || yd_sync_user_auth(imp, e, i + 1, auth) != NGX_OK)
        {
            goto failed;
        }
    }

    if (json_array_size(auth)) {
        text = json_dumps(auth, JSON_COMPACT);
        if (text == NULL) {
            goto failed;
        }

        job->auth.len = ngx_strlen(text);
        job->auth.data = ngx_pnalloc(imp->pool, job->auth.len);

        if (job->auth.data == NULL) {
            free(text);
            goto failed;
        }

        ngx_memcpy(job->auth.data, text, job->auth.len);
        free(text);
    }

    json_decref(depts);
    json_decref(users);
    json_decref(auth);

    return doc;

failed:

    json_decref(doc);
    json_decref(depts);
    json_decref(users);
    json_decref(auth);

    return NULL;
}
