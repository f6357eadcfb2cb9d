
/*
 * youdu: the RTX organisation export (PROTOCOL.md section 9) as the bulk
 * import's JSON document, in the thread pool.
 *
 * libxml2 reads the encoding declaration (GB2312/GBK via iconv) and hands
 * out UTF-8.  Untrusted input: no network (XML_PARSE_NONET), entities are
 * never substituted (no XML_PARSE_NOENT), and any document type declaration
 * is refused before and while parsing, so neither external entities (XXE)
 * nor entity expansion ("billion laughs") can happen.
 *
 *   Sys_User      Item ID UserName Name Gender Mobile Phone Email
 *                      AccountState (1: disabled)
 *   RTX_Dept      Item DeptID DeptName PDeptID (0: top level) SortID
 *   RTX_DeptUser  Item DeptID UserID (a Sys_User ID; several per user)
 *   RTX_UserDetail Item ID Position
 *
 * RTX has no gids: users are matched by UserName (the account).  A user in
 * no department goes to the root.
 */


#include "ngx_http_youdu_cgi_sync.h"
#include <libxml/parser.h>
#include <libxml/tree.h>


void
yd_sync_xml_init(void)
{
    static ngx_uint_t  done;

    /* libxml2's global state, before any thread uses it */
    if (!done) {
        xmlInitParser();
        done = 1;
    }
}


static void
yd_sync_xml_no_dtd(void *data, const xmlChar *name, const xmlChar *eid,
    const xmlChar *sid)
{
    xmlParserCtxtPtr  ctxt = data;

    /* a DTD is the door to XXE and entity expansion: stop here */
    ctxt->_private = (void *) 1;
    xmlStopParser(ctxt);
}


/* quick refusal of what the parser would otherwise get to see */

static ngx_int_t
yd_sync_xml_precheck(yd_imp_t *imp, ngx_str_t *x)
{
    if (x->len >= 2 && (x->data[0] == 0 || x->data[1] == 0
                        || (x->data[0] == 0xFE && x->data[1] == 0xFF)
                        || (x->data[0] == 0xFF && x->data[1] == 0xFE)))
    {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                           "UTF-16 XML is not accepted: send GB2312, GBK "
                           "or UTF-8");
    }

    if (ngx_strlcasestrn(x->data, x->data + x->len, (u_char *) "<!DOCTYPE",
                         9 - 1) != NULL
        || ngx_strlcasestrn(x->data, x->data + x->len, (u_char *) "<!ENTITY",
                            8 - 1) != NULL)
    {
        return yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                           "XML with a document type declaration (DTD or "
                           "entities) is refused");
    }

    return NGX_OK;
}


static json_t *
yd_sync_xattr(xmlNodePtr n, const char *name)
{
    json_t   *v;
    xmlChar  *s;

    s = xmlGetNoNsProp(n, (const xmlChar *) name);
    if (s == NULL) {
        return NULL;
    }

    v = json_string((const char *) s);
    xmlFree(s);

    return v;
}


/* an integer attribute; absent or empty: def; not a number: the text (the
 * import reports the type) */

static json_t *
yd_sync_xint(xmlNodePtr n, const char *name, int64_t def)
{
    json_t     *v;
    xmlChar    *s;
    ngx_int_t   neg, k;
    size_t      len;

    s = xmlGetNoNsProp(n, (const xmlChar *) name);
    if (s == NULL) {
        return json_integer(def);
    }

    len = ngx_strlen(s);
    neg = (len && s[0] == '-');

    if (len == 0) {
        v = json_integer(def);

    } else {
        k = (len - neg > 10 || len == (size_t) neg)
            ? NGX_ERROR : ngx_atoi(s + neg, len - neg);
        v = (k == NGX_ERROR) ? json_string((const char *) s)
                             : json_integer(neg ? -k : k);
    }

    xmlFree(s);

    return v;
}


static ngx_uint_t
yd_sync_xname(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE
           && xmlStrcmp(n->name, (const xmlChar *) name) == 0;
}


static xmlNodePtr
yd_sync_xtable(xmlNodePtr db, const char *name)
{
    xmlNodePtr  n;

    for (n = db->children; n; n = n->next) {
        if (yd_sync_xname(n, name)) {
            return n;
        }
    }

    return NULL;
}


static json_t *
yd_sync_xml_build(yd_imp_t *imp, xmlNodePtr db)
{
    size_t      i;
    json_t     *doc, *depts, *users, *byid, *o, *u, *d, *m, *uid, *pos;
    json_t     *v;
    xmlNodePtr  t, n;

    doc = json_object();
    depts = json_array();
    users = json_array();
    byid = json_object();          /* Sys_User ID -> user object */

    if (doc == NULL || depts == NULL || users == NULL || byid == NULL) {
        goto failed;
    }

    json_object_set(doc, "departments", depts);
    json_object_set(doc, "users", users);

    t = yd_sync_xtable(db, "RTX_Dept");

    for (n = t ? t->children : NULL; n; n = n->next) {
        if (!yd_sync_xname(n, "Item")) {
            continue;
        }

        o = json_object();
        if (o == NULL || json_array_append_new(depts, o) != 0) {
            goto failed;
        }

        json_object_set_new(o, "id", yd_sync_xint(n, "DeptID", -1));
        json_object_set_new(o, "parent_id", yd_sync_xint(n, "PDeptID", 0));
        json_object_set_new(o, "sort_id", yd_sync_xint(n, "SortID", 0));

        v = yd_sync_xattr(n, "DeptName");
        if (v) {
            json_object_set_new(o, "name", v);
        }
    }

    t = yd_sync_xtable(db, "Sys_User");

    for (n = t ? t->children : NULL; n; n = n->next) {
        if (!yd_sync_xname(n, "Item")) {
            continue;
        }

        o = json_object();
        if (o == NULL || json_array_append_new(users, o) != 0) {
            goto failed;
        }

        v = yd_sync_xattr(n, "UserName");
        json_object_set_new(o, "account", v ? v : json_string(""));

        v = yd_sync_xattr(n, "Name");
        if (v) {
            json_object_set_new(o, "name", v);
        }

        v = yd_sync_xint(n, "Gender", 0);
        json_object_set_new(o, "gender",
                            (json_is_integer(v) && json_integer_value(v) == 1)
                            ? json_integer(1) : json_integer(0));
        json_decref(v);

        v = yd_sync_xint(n, "AccountState", 0);
        json_object_set_new(o, "enable_state",
                            (json_is_integer(v) && json_integer_value(v) == 1)
                            ? json_integer(-1) : json_integer(1));
        json_decref(v);

        if ((v = yd_sync_xattr(n, "Mobile"))) {
            json_object_set_new(o, "mobile", v);
        }

        if ((v = yd_sync_xattr(n, "Phone"))) {
            json_object_set_new(o, "phone", v);
        }

        if ((v = yd_sync_xattr(n, "Email"))) {
            json_object_set_new(o, "email", v);
        }

        json_object_set_new(o, "departments", json_array());

        uid = yd_sync_xattr(n, "ID");
        if (uid && json_string_length(uid)) {
            json_object_set(byid, json_string_value(uid), o);
        }

        json_decref(uid);
    }

    t = yd_sync_xtable(db, "RTX_UserDetail");

    for (n = t ? t->children : NULL; n; n = n->next) {
        if (!yd_sync_xname(n, "Item")) {
            continue;
        }

        uid = yd_sync_xattr(n, "ID");
        u = uid ? json_object_get(byid, json_string_value(uid)) : NULL;
        json_decref(uid);

        if (u && (pos = yd_sync_xattr(n, "Position"))) {
            json_object_set_new(u, "title", pos);
        }
    }

    t = yd_sync_xtable(db, "RTX_DeptUser");

    for (n = t ? t->children : NULL; n; n = n->next) {
        if (!yd_sync_xname(n, "Item")) {
            continue;
        }

        uid = yd_sync_xattr(n, "UserID");
        u = uid ? json_object_get(byid, json_string_value(uid)) : NULL;
        json_decref(uid);

        if (u == NULL) {
            /* a membership of a user not exported: nothing to place */
            continue;
        }

        m = json_object();
        if (m == NULL) {
            goto failed;
        }

        json_object_set_new(m, "dept_id", yd_sync_xint(n, "DeptID", -1));

        /* the job title is the position in each department too */
        pos = json_object_get(u, "title");
        if (pos) {
            json_object_set(m, "position", pos);
        }

        json_array_append_new(json_object_get(u, "departments"), m);
    }

    /* nobody is left without a department */
    json_array_foreach(users, i, u) {
        d = json_object_get(u, "departments");

        if (json_array_size(d) == 0) {
            m = json_object();
            if (m == NULL) {
                goto failed;
            }

            json_object_set_new(m, "dept_id", json_integer(0));
            json_array_append_new(d, m);
        }
    }

    json_decref(byid);
    json_decref(depts);
    json_decref(users);

    return doc;

failed:

    json_decref(doc);
    json_decref(depts);
    json_decref(users);
    json_decref(byid);

    return NULL;
}


json_t *
yd_sync_map_xml(yd_sync_job_t *job, yd_imp_t *imp)
{
    json_t            *doc;
    xmlDocPtr          x;
    xmlNodePtr         root, db;
    xmlErrorPtr        err;
    xmlParserCtxtPtr   ctxt;

    if (yd_sync_xml_precheck(imp, &job->xml) != NGX_OK) {
        return NULL;
    }

    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        return NULL;
    }

    ctxt->sax->internalSubset = yd_sync_xml_no_dtd;
    ctxt->sax->externalSubset = yd_sync_xml_no_dtd;
    ctxt->_private = NULL;

    x = xmlCtxtReadMemory(ctxt, (const char *) job->xml.data,
                          (int) job->xml.len, NULL, NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR
                          | XML_PARSE_NOWARNING);

    if (ctxt->_private != NULL || (x && (x->intSubset || x->extSubset))) {
        if (x) {
            xmlFreeDoc(x);
        }

        xmlFreeParserCtxt(ctxt);
        (void) yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                           "XML with a document type declaration (DTD or "
                           "entities) is refused");
        return NULL;
    }

    if (x == NULL || !ctxt->wellFormed) {
        err = xmlCtxtGetLastError(ctxt);

        (void) yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                           "the XML is not well-formed (line %d: %s)",
                           err ? err->line : 0,
                           (err && err->message) ? err->message
                                                 : "unreadable");
        if (x) {
            xmlFreeDoc(x);
        }

        xmlFreeParserCtxt(ctxt);
        return NULL;
    }

    xmlFreeParserCtxt(ctxt);

    root = xmlDocGetRootElement(x);
    db = NULL;

    if (root) {
        db = yd_sync_xname(root, "Database") ? root
                                              : yd_sync_xtable(root,
                                                               "Database");
    }

    if (db == NULL || yd_sync_xtable(db, "Sys_User") == NULL) {
        xmlFreeDoc(x);
        (void) yd_imp_fail(imp, NGX_HTTP_BAD_REQUEST, YD_ERR_BAD_VALUE,
                           "not an RTX organisation export: expected "
                           "<Database> with <Sys_User>, <RTX_Dept> and "
                           "<RTX_DeptUser> (see docs/cgi.md)");
        return NULL;
    }

    doc = yd_sync_xml_build(imp, db);
    xmlFreeDoc(x);

    return doc;
}
