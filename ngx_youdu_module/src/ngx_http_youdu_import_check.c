
/*
 * youdu HTTP module: bulk import checks against the stored org chart
 * (merged department tree, parents, cycles, department paths, unique
 * accounts/mobiles/aliases) and the difference to write.
 */


#include "ngx_http_youdu_import.h"


static yd_imp_dept_t *
yd_imp_dept(yd_imp_t *imp, int64_t id)
{
    ngx_int_t  i;

    i = yd_imp_hash_find(&imp->dept_by_id, (u_char *) &id, sizeof(int64_t));

    return (i < 0) ? NULL : &imp->depts[i];
}


static yd_imp_dept_t *
yd_imp_dept_add(yd_imp_t *imp)
{
    yd_imp_dept_t  *d;

    if (imp->ndepts == imp->depts_cap) {
        return NULL;
    }

    d = &imp->depts[imp->ndepts++];
    ngx_memzero(d, sizeof(yd_imp_dept_t));

    return d;
}


/* key of the child lookup: parent id bytes followed by the name */

static ngx_int_t
yd_imp_child_add(yd_imp_t *imp, yd_imp_dept_t *d)
{
    u_char  *k;

    k = ngx_pnalloc(imp->pool, sizeof(int64_t) + d->name.len);
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(k, &d->parent_id, sizeof(int64_t));
    ngx_memcpy(k + sizeof(int64_t), d->name.data, d->name.len);

    (void) yd_imp_hash_add(&imp->dept_by_child, k,
                           sizeof(int64_t) + d->name.len, d - imp->depts);
    return NGX_OK;
}


ngx_int_t
yd_imp_load_depts(yd_imp_t *imp, ngx_youdu_db_result_t *res)
{
    u_char         *p;
    ngx_uint_t      i, j, cap;
    yd_imp_dept_t  *d;
    yd_imp_user_t  *u;

    /* room for database rows, file rows and departments made from paths */
    cap = res->nrows + imp->fdepts.nelts + 1;
    u = imp->users.elts;

    for (i = 0; i < imp->users.nelts; i++) {
        for (j = 0; u[i].uds && j < u[i].nuds && j < YD_IMP_MAX_UDS; j++) {
            for (p = u[i].uds[j].dpath.data;
                 p < u[i].uds[j].dpath.data + u[i].uds[j].dpath.len;
                 p++)
            {
                cap += (*p == '/');
            }

            cap += (u[i].uds[j].dpath.len != 0);
        }
    }

    imp->depts = ngx_pcalloc(imp->pool, cap * sizeof(yd_imp_dept_t));
    imp->depts_cap = cap;

    if (imp->depts == NULL
        || yd_imp_hash_init(imp->pool, &imp->dept_by_id, cap) != NGX_OK
        || yd_imp_hash_init(imp->pool, &imp->dept_by_child, cap) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < res->nrows; i++) {
        d = yd_imp_dept_add(imp);
        d->db = 1;
        d->id = yd_int(res, i, 0);
        d->parent_id = d->db_parent_id = yd_int(res, i, 1);
        d->name = d->db_name = *yd_cell(res, i, 2);
        d->sort_id = d->db_sort_id = yd_int(res, i, 3);
        d->alias = d->db_alias = *yd_cell(res, i, 4);
        d->db_path = *yd_cell(res, i, 5);

        (void) yd_imp_hash_add(&imp->dept_by_id, (u_char *) &d->id,
                               sizeof(int64_t), i);
    }

    return NGX_OK;
}


ngx_int_t
yd_imp_load_users(yd_imp_t *imp, ngx_youdu_db_result_t *res)
{
    ngx_uint_t        i;
    yd_imp_dbuser_t  *b;

    imp->ndbu = res->nrows;
    imp->dbu = ngx_pcalloc(imp->pool, (res->nrows + 1)
                                      * sizeof(yd_imp_dbuser_t));

    if (imp->dbu == NULL
        || yd_imp_hash_init(imp->pool, &imp->dbu_by_id, res->nrows) != NGX_OK
        || yd_imp_hash_init(imp->pool, &imp->dbu_by_account, res->nrows)
           != NGX_OK
        || yd_imp_hash_init(imp->pool, &imp->dbu_by_mobile, res->nrows)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < res->nrows; i++) {
        b = &imp->dbu[i];
        b->file = -1;
        b->id = yd_int(res, i, 0);
        b->account_lc = *yd_cell(res, i, 1);
        ngx_strlow(b->account_lc.data, b->account_lc.data, b->account_lc.len);
        b->name = *yd_cell(res, i, 2);
        b->gender = yd_int(res, i, 3);
        b->mobile = *yd_cell(res, i, 4);
        b->phone = *yd_cell(res, i, 5);
        b->email = *yd_cell(res, i, 6);
        b->title = *yd_cell(res, i, 7);
        b->enable_state = yd_int(res, i, 8);
        b->role = yd_int(res, i, 9);
        b->quit = (yd_int(res, i, 10) == 1);

        (void) yd_imp_hash_add(&imp->dbu_by_id, (u_char *) &b->id,
                               sizeof(int64_t), i);
        (void) yd_imp_hash_add(&imp->dbu_by_account, b->account_lc.data,
                               b->account_lc.len, i);

        if (b->mobile.len) {
            (void) yd_imp_hash_add(&imp->dbu_by_mobile, b->mobile.data,
                                   b->mobile.len, i);
        }
    }

    return NGX_OK;
}


/* rows come ordered by user_id, dept_id */

ngx_int_t
yd_imp_load_uds(yd_imp_t *imp, ngx_youdu_db_result_t *res)
{
    int64_t           uid;
    ngx_int_t         k;
    ngx_uint_t        i, j, n;
    yd_imp_ud_t      *all;
    yd_imp_dbuser_t  *b;

    all = ngx_pcalloc(imp->pool, (res->nrows + 1) * sizeof(yd_imp_ud_t));
    if (all == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < res->nrows; i = j) {
        uid = yd_int(res, i, 0);

        for (j = i; j < res->nrows && yd_int(res, j, 0) == uid; j++) {
            all[j].dept_id = yd_int(res, j, 1);
            all[j].position = *yd_cell(res, j, 2);
            all[j].weight = yd_int(res, j, 3);
            all[j].sort_id = yd_int(res, j, 4);
        }

        n = j - i;
        k = yd_imp_hash_find(&imp->dbu_by_id, (u_char *) &uid,
                             sizeof(int64_t));
        if (k >= 0) {
            b = &imp->dbu[k];
            b->uds = &all[i];
            b->nuds = n;
        }
    }

    return NGX_OK;
}


static int
yd_imp_ud_cmp(const void *a, const void *b)
{
    const yd_imp_ud_t  *x = a, *y = b;

    return (x->dept_id > y->dept_id) - (x->dept_id < y->dept_id);
}


static ngx_uint_t
yd_imp_str_eq(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || ngx_memcmp(a->data, b->data, a->len) == 0);
}


static void
yd_imp_merge_file_depts(yd_imp_t *imp)
{
    ngx_int_t       k;
    ngx_uint_t      i;
    yd_imp_dept_t  *fd, *d;

    fd = imp->fdepts.elts;

    for (i = 0; i < imp->fdepts.nelts; i++) {
        if (fd[i].id < 1) {
            continue;
        }

        k = yd_imp_hash_find(&imp->dept_by_id, (u_char *) &fd[i].id,
                             sizeof(int64_t));

        if (k >= 0 && imp->depts[k].in_file) {
            yd_imp_error(imp, fd[i].row, "departments", "id",
                         "department id %L appears twice in the file "
                         "(row %ui)", fd[i].id, imp->depts[k].row);
            continue;
        }

        if (k >= 0) {
            d = &imp->depts[k];

        } else {
            d = yd_imp_dept_add(imp);
            d->id = fd[i].id;
            (void) yd_imp_hash_add(&imp->dept_by_id, (u_char *) &d->id,
                                   sizeof(int64_t), d - imp->depts);
        }

        d->in_file = 1;
        d->row = fd[i].row;
        d->parent_id = fd[i].parent_id;
        d->name = fd[i].name;
        d->sort_id = fd[i].sort_id;
        d->alias = fd[i].alias;
    }
}


/* department paths of CSV rows: found by name from the root, or made */

static ngx_int_t
yd_imp_resolve_paths(yd_imp_t *imp)
{
    u_char         *p, *end, *slash, key[sizeof(int64_t) + 256];
    int64_t         cur, next_id;
    ngx_int_t       k;
    ngx_uint_t      i, j;
    ngx_str_t       seg;
    yd_imp_ud_t    *ud;
    yd_imp_dept_t  *d;
    yd_imp_user_t  *u;

    next_id = 0;

    for (i = 0; i < imp->ndepts; i++) {
        next_id = ngx_max(next_id, imp->depts[i].id);

        if (imp->depts[i].id != 0
            && yd_imp_child_add(imp, &imp->depts[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    next_id++;
    u = imp->users.elts;

    for (i = 0; i < imp->users.nelts; i++) {
        for (j = 0; u[i].uds && j < u[i].nuds && j < YD_IMP_MAX_UDS; j++) {
            ud = &u[i].uds[j];

            if (ud->dpath.len == 0) {
                continue;
            }

            cur = 0;
            end = ud->dpath.data + ud->dpath.len;

            for (p = ud->dpath.data; p < end; p = slash + 1) {
                slash = ngx_strlchr(p, end, '/');
                if (slash == NULL) {
                    slash = end;
                }

                seg.data = p;
                seg.len = slash - p;

                while (seg.len && seg.data[0] == ' ') {
                    seg.data++;
                    seg.len--;
                }

                while (seg.len && seg.data[seg.len - 1] == ' ') {
                    seg.len--;
                }

                if (seg.len == 0) {
                    continue;
                }

                if (seg.len > 200) {
                    break;
                }

                ngx_memcpy(key, &cur, sizeof(int64_t));
                ngx_memcpy(key + sizeof(int64_t), seg.data, seg.len);

                k = yd_imp_hash_find(&imp->dept_by_child, key,
                                     sizeof(int64_t) + seg.len);
                if (k >= 0) {
                    cur = imp->depts[k].id;
                    continue;
                }

                d = yd_imp_dept_add(imp);
                if (d == NULL) {
                    return NGX_ERROR;
                }

                d->id = next_id++;
                d->parent_id = cur;
                d->name = seg;
                d->in_file = 1;
                d->row = u[i].row;

                (void) yd_imp_hash_add(&imp->dept_by_id, (u_char *) &d->id,
                                       sizeof(int64_t), d - imp->depts);
                if (yd_imp_child_add(imp, d) != NGX_OK) {
                    return NGX_ERROR;
                }

                cur = d->id;
            }

            ud->dept_id = cur;
        }
    }

    return NGX_OK;
}


/* parents exist, no cycles; materialised path and depth of every node */

static ngx_int_t
yd_imp_tree(yd_imp_t *imp)
{
    u_char         *p;
    ngx_uint_t      i, k, n, bad, *stack;
    yd_imp_dept_t  *d, *parent, *root, *cyc;

    stack = ngx_palloc(imp->pool, (imp->ndepts + 1) * sizeof(ngx_uint_t));
    if (stack == NULL) {
        return NGX_ERROR;
    }

    root = yd_imp_dept(imp, 0);
    if (root == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&root->path, "/0/");
    root->depth = 0;
    root->visit = 2;

    for (i = 0; i < imp->ndepts; i++) {
        if (imp->depts[i].deleted || imp->depts[i].visit) {
            continue;
        }

        n = 0;
        bad = 0;
        d = &imp->depts[i];

        for ( ;; ) {
            d->visit = 1;
            stack[n++] = d - imp->depts;

            parent = yd_imp_dept(imp, d->parent_id);

            if (parent == NULL || parent->deleted) {
                if (d->in_file) {
                    yd_imp_error(imp, d->row, "departments", "parent_id",
                                 "parent department %L of department %L does "
                                 "not exist in the database or the file",
                                 d->parent_id, d->id);
                }

                bad = 1;
                break;
            }

            if (parent->visit == 1) {
                /* report it on a row of the file: stored rows had none */
                for (k = n; k > 0; k--) {
                    cyc = &imp->depts[stack[k - 1]];

                    if (cyc->in_file) {
                        yd_imp_error(imp, cyc->row, "departments",
                                     "parent_id",
                                     "department %L is in a parent cycle",
                                     cyc->id);
                        break;
                    }

                    if (cyc == parent) {
                        break;
                    }
                }

                bad = 1;
                break;
            }

            if (parent->visit == 3) {
                bad = 1;
                break;
            }

            if (parent->visit == 2) {
                break;
            }

            d = parent;
        }

        while (n) {
            d = &imp->depts[stack[--n]];

            if (bad) {
                d->visit = 3;
                continue;
            }

            parent = yd_imp_dept(imp, d->parent_id);

            d->depth = parent->depth + 1;
            d->path.data = ngx_pnalloc(imp->pool, parent->path.len
                                                  + NGX_INT64_LEN + 1);
            if (d->path.data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_sprintf(d->path.data, "%V%L/", &parent->path, d->id);
            d->path.len = p - d->path.data;
            d->visit = 2;

            if (d->path.len > 2048) {
                yd_imp_error(imp, d->row, "departments", "parent_id",
                             "department %L is nested too deep", d->id);
                d->visit = 3;
                bad = 1;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_check_aliases(yd_imp_t *imp)
{
    ngx_int_t       k;
    ngx_uint_t      i, pass;
    yd_imp_hash_t   h;
    yd_imp_dept_t  *d;

    if (yd_imp_hash_init(imp->pool, &h, imp->ndepts) != NGX_OK) {
        return NGX_ERROR;
    }

    /* stored aliases first, so that a clash is reported on the file row */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < imp->ndepts; i++) {
            d = &imp->depts[i];

            if (d->deleted || d->alias.len == 0 || d->in_file != pass) {
                continue;
            }

            if (yd_imp_hash_add(&h, d->alias.data, d->alias.len, i)
                == NGX_OK)
            {
                continue;
            }

            k = yd_imp_hash_find(&h, d->alias.data, d->alias.len);

            yd_imp_error(imp, d->row, "departments", "alias",
                         "alias \"%V\" is already used by department %L",
                         &d->alias, imp->depts[k].id);
        }
    }

    return NGX_OK;
}


static ngx_int_t
yd_imp_check_users(yd_imp_t *imp)
{
    ngx_int_t         k;
    ngx_uint_t        i, j, m, kept_super;
    yd_imp_hash_t     acc, mob;
    yd_imp_dept_t    *d;
    yd_imp_user_t    *u, *users;
    yd_imp_dbuser_t  *b;

    users = imp->users.elts;

    if (yd_imp_hash_init(imp->pool, &acc, imp->users.nelts) != NGX_OK
        || yd_imp_hash_init(imp->pool, &mob, imp->users.nelts) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < imp->users.nelts; i++) {
        u = &users[i];

        if (u->account_lc.len) {
            if (yd_imp_hash_add(&acc, u->account_lc.data, u->account_lc.len,
                                i) != NGX_OK)
            {
                k = yd_imp_hash_find(&acc, u->account_lc.data,
                                     u->account_lc.len);
                yd_imp_error(imp, u->row, "users", "account",
                             "account \"%V\" appears twice in the file "
                             "(row %ui)", &u->account, users[k].row);

            } else {
                u->db = yd_imp_hash_find(&imp->dbu_by_account,
                                         u->account_lc.data,
                                         u->account_lc.len);

                if (u->db >= 0 && imp->dbu[u->db].quit) {
                    /* its memberships wait in user_quit_depts */
                    yd_imp_error(imp, u->row, "users", "account",
                                 "account \"%V\" has resigned: restore it "
                                 "first (/cgi/user/restore)", &u->account);
                }

                if (u->db >= 0) {
                    imp->dbu[u->db].file = i;
                }
            }
        }

        if (u->mobile.len
            && yd_imp_hash_add(&mob, u->mobile.data, u->mobile.len, i)
               != NGX_OK)
        {
            k = yd_imp_hash_find(&mob, u->mobile.data, u->mobile.len);
            yd_imp_error(imp, u->row, "users", "mobile",
                         "mobile %V appears twice in the file (row %ui)",
                         &u->mobile, users[k].row);
        }

        if (u->uds == NULL || u->nuds > YD_IMP_MAX_UDS) {
            continue;
        }

        for (j = 0; j < u->nuds; j++) {
            d = yd_imp_dept(imp, u->uds[j].dept_id);

            if (d == NULL || d->deleted) {
                yd_imp_error(imp, u->row, "users", "departments",
                             "department %L does not exist in the database "
                             "or the file", u->uds[j].dept_id);
            }

            for (m = 0; m < j; m++) {
                if (u->uds[m].dept_id == u->uds[j].dept_id) {
                    yd_imp_error(imp, u->row, "users", "departments",
                                 "department %L is listed twice",
                                 u->uds[j].dept_id);
                }
            }
        }
    }

    /* replace: who goes; never the caller nor the last super admin */
    if (imp->replace) {
        kept_super = 0;

        for (i = 0; i < imp->ndbu; i++) {
            b = &imp->dbu[i];
            if (b->role == 2 && (b->file >= 0 || b->id == imp->ctx->me.uid)) {
                kept_super = 1;
            }
        }

        for (i = 0; i < imp->ndbu; i++) {
            b = &imp->dbu[i];
            /* administrators stay unless a super admin replaces;
             * resigned accounts keep their row and history */
            b->deleted = (b->file < 0 && !b->quit
                          && b->id != imp->ctx->me.uid
                          && !(b->role == 2 && !kept_super)
                          && !(b->role >= 1 && imp->ctx->me.role < 2));
        }
    }

    for (i = 0; i < imp->users.nelts; i++) {
        u = &users[i];

        if (u->mobile.len == 0) {
            continue;
        }

        k = yd_imp_hash_find(&imp->dbu_by_mobile, u->mobile.data,
                             u->mobile.len);

        if (k >= 0 && k != u->db && imp->dbu[k].file < 0
            && !imp->dbu[k].deleted)
        {
            yd_imp_error(imp, u->row, "users", "mobile",
                         "mobile %V is already used by account \"%V\"",
                         &u->mobile, &imp->dbu[k].account_lc);
        }
    }

    return NGX_OK;
}


static void
yd_imp_diff(yd_imp_t *imp)
{
    ngx_uint_t        i, j, k;
    yd_imp_dept_t    *d;
    yd_imp_user_t    *u;
    yd_imp_dbuser_t  *b;

    for (i = 0; i < imp->ndepts; i++) {
        d = &imp->depts[i];

        if (d->deleted) {
            imp->d_deleted++;
            continue;
        }

        if (!d->db) {
            d->changed = 1;
            imp->d_created++;
            continue;
        }

        if (d->id == 0) {
            continue;
        }

        d->changed = d->parent_id != d->db_parent_id
                     || d->sort_id != d->db_sort_id
                     || !yd_imp_str_eq(&d->name, &d->db_name)
                     || !yd_imp_str_eq(&d->alias, &d->db_alias)
                     || !yd_imp_str_eq(&d->path, &d->db_path);

        imp->d_updated += d->changed;
    }

    for (i = 0; i < imp->ndbu; i++) {
        imp->u_deleted += imp->dbu[i].deleted;
    }

    u = imp->users.elts;

    for (i = 0; i < imp->users.nelts; i++, u++) {
        ngx_qsort(u->uds, u->nuds, sizeof(yd_imp_ud_t), yd_imp_ud_cmp);

        if (u->db < 0) {
            u->changed = 1;
            imp->u_created++;
            continue;
        }

        b = &imp->dbu[u->db];

        /* CSV has no position/weight/sort_id: kept memberships keep theirs */
        for (j = 0; imp->csv && j < u->nuds; j++) {
            for (k = 0; k < b->nuds; k++) {
                if (b->uds[k].dept_id == u->uds[j].dept_id) {
                    u->uds[j].position = b->uds[k].position;
                    u->uds[j].weight = b->uds[k].weight;
                    u->uds[j].sort_id = b->uds[k].sort_id;
                    break;
                }
            }
        }

        u->changed = !yd_imp_str_eq(&u->name, &b->name)
                     || u->gender != b->gender
                     || !yd_imp_str_eq(&u->mobile, &b->mobile)
                     || !yd_imp_str_eq(&u->phone, &b->phone)
                     || !yd_imp_str_eq(&u->email, &b->email)
                     || !yd_imp_str_eq(&u->title, &b->title)
                     || u->enable_state != b->enable_state
                     || u->nuds != b->nuds;

        for (j = 0; !u->changed && j < u->nuds; j++) {
            u->changed = u->uds[j].dept_id != b->uds[j].dept_id
                         || u->uds[j].weight != b->uds[j].weight
                         || u->uds[j].sort_id != b->uds[j].sort_id
                         || !yd_imp_str_eq(&u->uds[j].position,
                                           &b->uds[j].position);
        }

        imp->u_updated += u->changed;
    }
}


/* replace: what the file names or uses, and their ancestors, stays */

static void
yd_imp_keep(yd_imp_t *imp, yd_imp_dept_t *d)
{
    ngx_uint_t  n;

    for (n = 0; d && !d->keep && n <= imp->ndepts; n++) {
        d->keep = 1;
        d = yd_imp_dept(imp, d->parent_id);
    }
}


static void yd_imp_check_admin_rows(yd_imp_t *imp);


ngx_int_t
yd_imp_check(yd_imp_t *imp)
{
    ngx_uint_t      i, j;
    yd_imp_user_t  *u;

    yd_imp_merge_file_depts(imp);

    if (yd_imp_resolve_paths(imp) != NGX_OK) {
        return NGX_ERROR;
    }

    if (imp->replace) {
        for (i = 0; i < imp->ndepts; i++) {
            if (imp->depts[i].in_file) {
                yd_imp_keep(imp, &imp->depts[i]);
            }
        }

        u = imp->users.elts;

        for (i = 0; i < imp->users.nelts; i++) {
            for (j = 0; u[i].uds && j < u[i].nuds && j < YD_IMP_MAX_UDS; j++)
            {
                yd_imp_keep(imp, yd_imp_dept(imp, u[i].uds[j].dept_id));
            }
        }

        for (i = 0; i < imp->ndepts; i++) {
            imp->depts[i].deleted = (!imp->depts[i].keep
                                     && imp->depts[i].id != 0);
        }
    }

    if (yd_imp_check_aliases(imp) != NGX_OK
        || yd_imp_tree(imp) != NGX_OK
        || yd_imp_check_users(imp) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (imp->nerrors == 0) {
        yd_imp_diff(imp);
        yd_imp_check_admin_rows(imp);
    }

    return NGX_OK;
}


/*
 * As with PATCH /admin/users/:id, only a super admin may change an
 * administrator's account; an unchanged row is fine (a re-imported export).
 */

static void
yd_imp_check_admin_rows(yd_imp_t *imp)
{
    ngx_uint_t      i;
    yd_imp_user_t  *u;

    if (imp->ctx->me.role >= 2) {
        return;
    }

    u = imp->users.elts;

    for (i = 0; i < imp->users.nelts; i++) {
        if (u[i].db >= 0 && u[i].changed && imp->dbu[u[i].db].role >= 1) {
            yd_imp_error(imp, u[i].row, "users", "account",
                         "\"%V\" is an administrator: only a super admin "
                         "may change it", &imp->dbu[u[i].db].account_lc);
        }
    }
}
