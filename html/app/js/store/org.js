// The address book, kept in memory: the snapshot once, then the change feed
// whenever the push channel says the version moved (docs/api.md
// "Address-book sync").  Presence for the users views show.
//
// Events: 'org:ready', 'org:changed' {users: [ids], departments: [ids]},
// 'presence' {user_id, online, devices}.
import { api, ApiError } from '../api.js';
import { bus } from '../bus.js';
import { push } from '../push.js';

const users = new Map();        // id -> user (with departments: [{dept_id, position, ...}])
const depts = new Map();        // id -> department
const presence = new Map();     // id -> {online, devices}
let version = 0;
let readyResolve;
const ready = new Promise((r) => { readyResolve = r; });
let syncing = null;

function put(u) { users.set(u.id, u); }

async function loadSnapshot() {
    const j = await api('GET', '/org/snapshot');
    users.clear(); depts.clear();
    for (const d of j.departments) depts.set(d.id, d);
    for (const u of j.users) put(u);
    version = j.version;
}

// follows the change feed up to the current version; falls back to the snapshot
async function catchUp() {
    if (syncing) return syncing;
    syncing = (async () => {
        const changed = { users: [], departments: [] };
        try {
            for (;;) {
                const j = await api('GET', '/org/changes', null, { query: { since: version } });
                for (const d of j.departments) { depts.set(d.id, d); changed.departments.push(d.id); }
                for (const u of j.users) { put(u); changed.users.push(u.id); }
                for (const id of j.deleted_departments) { depts.delete(id); changed.departments.push(id); }
                for (const id of j.deleted_users) { users.delete(id); changed.users.push(id); }
                version = j.version;
                if (!j.has_more) break;
            }
        } catch (e) {
            if (!(e instanceof ApiError) || e.errcode !== 40909) throw e;
            await loadSnapshot();
            changed.all = true;
        }
        if (changed.all || changed.users.length || changed.departments.length) bus.emit('org:changed', changed);
    })().finally(() => { syncing = null; });
    return syncing;
}

bus.on('push:org', (ev) => { if (ev.version > version) catchUp().catch(() => {}); });
bus.on('push:up', ({ reconnect }) => { if (reconnect && version) catchUp().catch(() => {}); });
bus.on('push:presence', (ev) => {
    presence.set(ev.user_id, { online: ev.online, devices: ev.devices || [] });
    bus.emit('presence', ev);
});

const collator = new Intl.Collator('zh-CN');
const bySort = (a, b) => (a.sort_id - b.sort_id) || collator.compare(a.name, b.name) || (a.id - b.id);

export const org = {
    ready,
    async load() {
        try { await loadSnapshot(); } finally { readyResolve(); }
        bus.emit('org:ready');
    },
    catchUp,
    get version() { return version; },
    user: (id) => users.get(id),
    dept: (id) => depts.get(id),
    name(id) { const u = users.get(id); return u ? u.name : '#' + id; },
    allUsers: () => [...users.values()],
    allDepts: () => [...depts.values()],
    // sub-departments of a department, in the org's order
    children: (id) => [...depts.values()].filter((d) => d.parent_id === id).sort(bySort),
    // the department's direct members, ordered like the desktop client (weight, sort, name)
    members(id) {
        const out = [];
        for (const u of users.values()) {
            const m = (u.departments || []).find((x) => x.dept_id === id);
            if (m) out.push([u, m]);
        }
        out.sort((a, b) => (b[1].weight - a[1].weight) || (a[1].sort_id - b[1].sort_id)
            || collator.compare(a[0].name, b[0].name));
        return out.map(([u, m]) => ({ ...u, position: m.position }));
    },
    // "Company / Sales / East"
    path(id) {
        const parts = [];
        for (let d = depts.get(id), n = 0; d && n < 64; d = depts.get(d.parent_id), n++) parts.unshift(d.name);
        return parts.join(' / ');
    },
    // the server's search (name, pinyin, initials, account, mobile): docs/api.md "Search"
    async search(q, { limit = 50, offset = 0 } = {}) {
        const j = await api('GET', '/org/users', null, { query: { q, limit, offset } });
        for (const u of j.users) if (!users.has(u.id)) put(u);
        return j;
    },
    presence: (id) => presence.get(id) || { online: false, devices: [] },
    watchPresence(owner, ids) { push.watchPresence(owner, ids); },
};
