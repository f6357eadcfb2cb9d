// Conversations and their messages, kept in memory for the session
// (docs/api.md "Conversations and messages", docs/push.md).
//
// The list comes from GET /conversations; each conversation that was opened
// (or has unread messages) gets a message cache filled by sync: ?before= for
// history, ?after= to catch up.  Push events are applied as they come; a gap
// in seq (seq > last + 1) or a reconnect triggers a sync, so nothing is lost.
//
// Events (bus):
//   'convs:list'                 the list or a conversation's row changed
//   'convs:messages' {conv_id}   the message cache of a conversation changed
//   'convs:reads' {conv_id}      read receipts of own messages changed
//   'convs:typing' {conv_id}     somebody started/stopped typing there
//   'convs:incoming' {conv, msg, mentioned}  a new message from somebody else (notifications)
//   'badge' {section: 'chats', count}        unread of the conversations that are not muted
import { api } from '../api.js';
import { bus } from '../bus.js';
import { session } from '../session.js';
import { org } from './org.js';
import { t, register } from '../i18n.js';

register({
    'zh-CN': { 'chats.unnamed': '群聊', 'pv.image': '[图片]', 'pv.file': '[文件]', 'pv.forward': '[聊天记录]' },
    en: { 'chats.unnamed': 'Group chat', 'pv.image': '[image]', 'pv.file': '[file]', 'pv.forward': '[Chat history]' },
});

const PAGE = 50;
const TYPING_MS = 5000;
const SEND_TIMEOUT = 20000;

const convs = new Map();        // id -> conversation row (list shape + detail fields)
const caches = new Map();       // id -> {bySeq: Map, first, last, hasOlder, loaded, loading}
const pending = new Map();      // id -> [{client_msg_id, kind, text, mentions, mention_all, quote, state, created_at}]
const members = new Map();      // id -> {list: [{user_id,name,role}], byId: Map, loadedAt}
const reads = new Map();        // 'conv:seq' -> {read: Map id->name, unread: Map id->name, member_count, loading}
const typing = new Map();       // conv id -> Map user id -> expiry (ms)
const atMe = new Set();         // conv ids with an unread mention of me
const readMarks = new Map();    // conv id -> Map user id -> highest read seq seen (from push:read)
let listLoaded = false, listLoading = null, started = false;
let activeId = null;            // the conversation on screen (chat view), or null
const readTimers = new Map();

const me = () => (session.user ? session.user.id : 0);
const draftKey = () => 'yd.drafts.' + me();

function loadDrafts() {
    try { return JSON.parse(localStorage.getItem(draftKey()) || '{}'); } catch { return {}; }
}
let drafts = {};

function emitList() { bus.emit('convs:list'); emitBadge(); }
function emitBadge() {
    let n = 0;
    for (const c of convs.values()) if (!c.muted && c.unread > 0) n += c.unread;
    bus.emit('badge', { section: 'chats', count: n });
}

function cacheOf(id) {
    let c = caches.get(id);
    if (!c) { c = { bySeq: new Map(), first: 0, last: 0, hasOlder: true, loaded: false, loading: null, older: null }; caches.set(id, c); }
    return c;
}

// ---- the list

async function fetchList() {
    const out = [];
    for (let offset = 0; ; offset += 200) {
        const j = await api('GET', '/conversations', null, { query: { offset, limit: 200 } });
        out.push(...j.conversations);
        if (!j.has_more || !j.conversations.length || offset > 5000) break;
    }
    const seen = new Set();
    for (const row of out) {
        seen.add(row.id);
        const old = convs.get(row.id);
        const merged = { ...(old || {}), ...row };
        if (old && old.last_message && row.last_message && old.last_message.seq > row.last_message.seq) merged.last_message = old.last_message;
        convs.set(row.id, merged);
        if (row.unread === 0) atMe.delete(row.id);
    }
    for (const id of [...convs.keys()]) if (!seen.has(id) && id !== activeId) convs.delete(id);
    listLoaded = true;
    emitList();
    scanMentions();
    // unnamed multi chats are called after their members
    const unnamed = out.filter((c) => !c.name && c.kind === 'multi' && !members.has(c.id)).slice(0, 30);
    Promise.all(unnamed.map((c) => convStore.members(c.id).catch(() => {}))).then(() => { if (unnamed.length) emitList(); });
}

function loadList() {
    if (!listLoading) listLoading = fetchList().finally(() => { listLoading = null; });
    return listLoading;
}

// conversations with unread messages: fetch those messages (a few) to know if one mentions me
async function scanMentions() {
    const todo = [...convs.values()].filter((c) => c.unread > 0 && c.kind !== 'direct' && c.kind !== 'app').slice(0, 20);
    for (const c of todo) {
        try {
            const n = Math.min(c.unread, 100);
            const j = await api('GET', `/conversations/${c.id}/messages`, null, { query: { before: c.last_seq + 1, limit: n } });
            const cache = cacheOf(c.id);
            if (!cache.loaded) {
                putMessages(c.id, j.messages, { older: true });
                cache.hasOlder = j.messages.length ? j.has_more || j.messages[0].seq > (j.joined_seq || 1) : false;
                cache.loaded = true;
            }
            for (const m of j.messages) if (m.seq > (c.last_read_seq || 0) && mentionsMe(m)) atMe.add(c.id);
        } catch { /* best effort */ }
    }
    if (todo.length) emitList();
}

export function mentionsMe(m) {
    if (!m || m.kind !== 1 || m.recalled || m.sender_id === me()) return false;
    const b = m.body || {};
    return !!(b.mention_all || (Array.isArray(b.mentions) && b.mentions.includes(me())));
}

function sortKey(c) {
    return (c.last_message && c.last_message.created_at) || c.last_activity_at || c.created_at || '';
}

export function listSorted() {
    return [...convs.values()].filter((c) => !c.dissolved && !c.left_hidden).sort((a, b) =>
        (b.pinned - a.pinned) || (sortKey(b) < sortKey(a) ? -1 : sortKey(b) > sortKey(a) ? 1 : b.id - a.id));
}

// ---- messages

function putMessages(id, list, { older = false } = {}) {
    const c = cacheOf(id);
    for (const m of list) {
        if (!m || !m.seq) continue;
        const prev = c.bySeq.get(m.seq);
        if (prev && prev.recalled && !m.recalled) continue;
        c.bySeq.set(m.seq, m);
        if (m.kind === 7 && m.body && m.body.recall_seq) markRecalled(id, m.body.recall_seq, m.sender_id);
        if (!c.first || m.seq < c.first) c.first = m.seq;
        if (older && m.seq > c.last) c.last = m.seq;
        // the server's copy of one of my pending sends
        if (m.client_msg_id && m.sender_id === me()) dropPending(id, m.client_msg_id);
    }
    advance(c);
}

// c.last = the highest seq up to which the cache has everything
function advance(c) {
    while (c.bySeq.has(c.last + 1)) c.last++;
}

function markRecalled(id, seq, by) {
    const c = cacheOf(id);
    const m = c.bySeq.get(seq);
    if (m && !(m.recalled && m.recalled_by != null)) c.bySeq.set(seq, { ...m, recalled: true, body: { recalled: true }, recalled_by: by ?? m.sender_id });
    const conv = convs.get(id);
    if (conv && conv.last_message && conv.last_message.seq === seq) conv.last_message = { ...conv.last_message, recalled: true };
}

function dropPending(id, cmid) {
    const p = pending.get(id);
    if (!p) return;
    const i = p.findIndex((x) => x.client_msg_id === cmid);
    if (i >= 0) p.splice(i, 1);
}

async function syncAfter(id) {
    const c = cacheOf(id);
    if (c.syncing) { c.again = true; return c.syncing; }
    c.syncing = (async () => {
        do {
            c.again = false;
            for (let guard = 0; guard < 50; guard++) {
                const j = await api('GET', `/conversations/${id}/messages`, null, { query: { after: c.last, limit: 200 } });
                putMessages(id, j.messages);
                for (const m of j.messages) noteLast(id, m, false);
                if (!j.has_more || !j.messages.length) break;
            }
        } while (c.again);
        bus.emit('convs:messages', { conv_id: id });
    })().finally(() => { c.syncing = null; });
    return c.syncing;
}

// the newest page, the first time a conversation is opened
async function loadInitial(id) {
    const c = cacheOf(id);
    if (c.loaded) return syncAfter(id);
    if (!c.loading) {
        c.loading = (async () => {
            const j = await api('GET', `/conversations/${id}/messages`, null, { query: { before: 1e15, limit: PAGE } });
            putMessages(id, j.messages, { older: true });
            c.hasOlder = j.messages.length ? (j.has_more && j.messages[0].seq > (j.joined_seq || 1)) : false;
            if (!j.messages.length) c.last = Math.max(c.last, j.last_seq || 0);
            c.loaded = true;
            const conv = convs.get(id);
            if (conv && j.last_seq > (conv.last_seq || 0)) conv.last_seq = j.last_seq;
            bus.emit('convs:messages', { conv_id: id });
        })().finally(() => { c.loading = null; });
    }
    return c.loading;
}

async function loadOlder(id) {
    const c = cacheOf(id);
    if (!c.loaded || !c.hasOlder) return false;
    if (c.older) return c.older;
    c.older = (async () => {
        const j = await api('GET', `/conversations/${id}/messages`, null, { query: { before: c.first, limit: PAGE } });
        putMessages(id, j.messages, { older: true });
        c.hasOlder = j.messages.length > 0 && j.has_more && j.messages[0].seq > (j.joined_seq || 1);
        bus.emit('convs:messages', { conv_id: id, older: true });
        return true;
    })().finally(() => { c.older = null; });
    return c.older;
}

// the conversation row follows its newest event
function noteLast(id, m, live) {
    const conv = convs.get(id);
    if (!conv) return;
    if (m.seq > (conv.last_seq || 0)) {
        const mine = m.sender_id === me();
        if (!mine && m.seq > (conv.last_read_seq || 0)) conv.unread = Math.max(0, (conv.unread || 0) + (m.seq - (conv.last_seq || m.seq - 1)));
        conv.last_seq = m.seq;
    }
    if (!conv.last_message || m.seq >= conv.last_message.seq) {
        if (m.kind === 7) {
            // a recall: the list shows "X recalled a message"
            conv.last_message = { seq: m.seq, sender_id: m.sender_id, kind: 7, preview: '', created_at: m.created_at, recalled: false };
        } else {
            conv.last_message = { seq: m.seq, sender_id: m.sender_id, kind: m.kind, preview: previewOf(m), created_at: m.created_at, recalled: !!m.recalled, body: m.body };
        }
        conv.last_activity_at = m.created_at;
    }
    if (m.kind === 6 && m.body) applySystem(conv, m);
    if (live && mentionsMe(m) && m.seq > (conv.last_read_seq || 0)) atMe.add(id);
}

function applySystem(conv, m) {
    const b = m.body;
    if (b.event === 'renamed' && b.name != null) conv.name = b.name;
    if (b.event === 'dissolved') conv.dissolved = true;
    const ids = b.user_ids || [];
    if (b.event === 'member_added') conv.member_count = (conv.member_count || 0) + ids.length;
    if (b.event === 'member_removed' || b.event === 'member_left') {
        conv.member_count = Math.max(0, (conv.member_count || 0) - (ids.length || 1));
        if (ids.includes(me()) || (b.event === 'member_left' && b.by === me() && !ids.length)) conv.left = true;
    }
    if (['member_added', 'member_removed', 'member_left', 'admin_added', 'admin_removed'].includes(b.event)) {
        members.delete(conv.id);
        if (ids.includes(me()) && (b.event === 'admin_added' || b.event === 'admin_removed')) conv.my_role = b.event === 'admin_added' ? 1 : 0;
        bus.emit('convs:members', { conv_id: conv.id });
    }
}

export function previewOf(m) {
    const b = m.body || {};
    if (m.recalled) return '';
    if (m.kind === 5) return localPreview('[Chat history] ' + (b.title || ''));
    return localPreview(b.preview || b.text || '');
}

// the server writes the previews of images, files and forwards in English
// ("[image]", "[file] <name>", "[Chat history] <title>"): say them in the
// user's language
export function localPreview(s) {
    if (typeof s !== 'string') return '';
    if (s === '[image]') return t('pv.image');
    if (s.startsWith('[file] ')) return t('pv.file') + ' ' + s.slice(7);
    if (s.startsWith('[Chat history] ')) return t('pv.forward') + ' ' + s.slice(15);
    return s;
}

async function onPushMessage(ev) {
    const id = ev.conv_id;
    if (!convs.has(id)) {
        // a conversation I was just added to (or a new direct chat): fetch the list again
        if (started) await loadList().catch(() => {});
        if (!convs.has(id)) return;
    }
    const c = caches.get(id);
    if (c && c.loaded) {
        const gap = ev.seq > c.last + 1;
        putMessages(id, [ev]);
        // a gap: fetch what is missing (the sync fills it and c.last moves on)
        if (gap) syncAfter(id).catch(() => {});
    } else if (ev.kind === 7 && ev.body) {
        markRecalled(id, ev.body.recall_seq, ev.sender_id);
    }
    noteLast(id, ev, true);
    const conv = convs.get(id);
    // from somebody else: a colleague, or an app's card (no sender)
    if ((ev.sender_id ? ev.sender_id !== me() : ev.kind === 4) && ev.kind !== 7 && ev.kind !== 6) {
        if (ev.sender_id) clearTyping(id, ev.sender_id);
        bus.emit('convs:incoming', { conv, msg: ev, mentioned: mentionsMe(ev) });
    }
    bus.emit('convs:messages', { conv_id: id });
    emitList();
}

function onPushRead(ev) {
    const id = ev.conv_id;
    const conv = convs.get(id);
    if (ev.user_id === me()) {
        if (conv && ev.seq > (conv.last_read_seq || 0)) {
            conv.last_read_seq = ev.seq;
            conv.unread = Math.max(0, (conv.last_seq || 0) - ev.seq);
            if (!conv.unread) atMe.delete(id);
            emitList();
        }
        return;
    }
    let marks = readMarks.get(id);
    if (!marks) readMarks.set(id, marks = new Map());
    if ((marks.get(ev.user_id) || 0) < ev.seq) marks.set(ev.user_id, ev.seq);
    let changed = false;
    for (const [key, r] of reads) {
        const [cid, seq] = key.split(':').map(Number);
        if (cid !== id || seq > ev.seq) continue;
        if (r.unread.has(ev.user_id)) {
            r.read.set(ev.user_id, r.unread.get(ev.user_id));
            r.unread.delete(ev.user_id);
            changed = true;
        }
    }
    if (changed) bus.emit('convs:reads', { conv_id: id });
}

function onPushTyping(ev) {
    if (ev.user_id === me()) return;
    let m = typing.get(ev.conv_id);
    if (!m) typing.set(ev.conv_id, m = new Map());
    m.set(ev.user_id, Date.now() + TYPING_MS);
    bus.emit('convs:typing', { conv_id: ev.conv_id });
    setTimeout(() => bus.emit('convs:typing', { conv_id: ev.conv_id }), TYPING_MS + 50);
}

function clearTyping(id, uid) {
    const m = typing.get(id);
    if (m && m.delete(uid)) bus.emit('convs:typing', { conv_id: id });
}

// after a reconnect: the list again, then what each cached conversation missed
async function catchUp() {
    await loadList();
    const ids = [...caches.keys()].filter((id) => caches.get(id).loaded && convs.has(id));
    for (const id of ids) {
        const conv = convs.get(id);
        const c = caches.get(id);
        if (conv.last_seq > c.last || id === activeId) await syncAfter(id).catch(() => {});
    }
    for (const [key] of reads) reads.delete(key);     // receipts may have moved meanwhile
    bus.emit('convs:reads', { conv_id: 0 });
    emitList();
}

// ---- sending

function newClientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)).slice(0, 64);
}

async function deliver(id, p) {
    p.state = 'pending';
    bus.emit('convs:messages', { conv_id: id });
    const body = { client_msg_id: p.client_msg_id, kind: p.kind };
    if (p.kind === 'text') {
        body.text = p.text;
        if (p.mentions && p.mentions.length) body.mentions = p.mentions;
        if (p.mention_all) body.mention_all = true;
    } else body.file_id = p.file_id;
    if (p.quote) body.quote_seq = p.quote.seq;
    // a send that hangs becomes "not sent" (the retry is safe: same client_msg_id)
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), SEND_TIMEOUT);
    try {
        const j = await api('POST', `/conversations/${id}/messages`, body, { signal: ctl.signal });
        clearTimeout(timer);
        dropPending(id, p.client_msg_id);
        const c = cacheOf(id);
        if (c.loaded) {
            const gap = j.message.seq > c.last + 1;
            putMessages(id, [j.message]);
            if (gap) syncAfter(id).catch(() => {});
        }
        noteLast(id, j.message, false);
        const conv = convs.get(id);
        markRead(id, j.message.seq);
        if (conv) { conv.last_read_seq = Math.max(conv.last_read_seq || 0, j.message.seq); }
        bus.emit('convs:messages', { conv_id: id });
        emitList();
        return j.message;
    } catch (e) {
        clearTimeout(timer);
        p.state = 'failed';
        p.error = e.userMessage || (e.name === 'AbortError' ? t('err.network') : String(e));
        bus.emit('convs:messages', { conv_id: id });
        throw e;
    }
}

// ---- read marks

async function markRead(id, seq) {
    const conv = convs.get(id);
    if (!conv || conv.left) return;
    try {
        const j = await api('POST', `/conversations/${id}/read`, { seq });
        conv.last_read_seq = Math.max(conv.last_read_seq || 0, j.last_read_seq);
        conv.unread = j.unread;
        if (!j.unread) atMe.delete(id);
        emitList();
    } catch { /* next time */ }
}

export const convStore = {
    get loaded() { return listLoaded; },
    load: loadList,
    list: listSorted,
    get: (id) => convs.get(id),
    // a conversation not in the list yet (a new direct chat opened from the address book)
    async fetch(id) {
        const j = await api('GET', `/conversations/${id}`, null, { query: { limit: 500 } });
        const old = convs.get(id) || {};
        convs.set(id, { unread: 0, last_message: null, ...old, ...j.conversation });
        setMembers(id, j.members);
        emitList();
        return convs.get(id);
    },
    async members(id, { force = false } = {}) {
        const m = members.get(id);
        if (m && !force) return m.list;
        const j = await api('GET', `/conversations/${id}`, null, { query: { limit: 500 } });
        const old = convs.get(id) || {};
        convs.set(id, { ...old, ...j.conversation, unread: old.unread ?? 0, last_message: old.last_message ?? null });
        setMembers(id, j.members);
        return j.members;
    },
    // what to call a conversation: its name, or for an unnamed multi chat its members' names
    displayName(c) {
        if (!c) return '';
        if (c.name) return c.name;
        const m = members.get(c.id);
        if (!m) return t('chats.unnamed');
        const names = m.list.filter((x) => x.user_id !== me()).map((x) => convStore.memberName(c.id, x.user_id));
        return names.slice(0, 4).join('、') + (names.length > 4 ? '…' : '') || t('chats.unnamed');
    },
    memberName(id, uid) {
        const m = members.get(id);
        const x = m && m.byId.get(uid);
        const u = org.user(uid);
        return u ? u.name : x ? x.name : org.name(uid);
    },
    messages(id) {
        const c = caches.get(id);
        if (!c) return [];
        return [...c.bySeq.values()].sort((a, b) => a.seq - b.seq);
    },
    message(id, seq) { const c = caches.get(id); return c && c.bySeq.get(seq); },
    pending: (id) => pending.get(id) || [],
    cacheState(id) { const c = cacheOf(id); return { loaded: c.loaded, hasOlder: c.hasOlder, first: c.first, last: c.last }; },
    loadInitial, loadOlder, syncAfter,
    async reload(id) {
        const conv = await convStore.members(id, { force: true });
        await syncAfter(id).catch(() => {});
        emitList();
        bus.emit('convs:members', { conv_id: id });
        return conv;
    },
    send(id, msg) {
        const q = msg.quote;
        if (q && q.preview == null) {
            const b = q.body || {};
            msg = { ...msg, quote: { seq: q.seq, sender_id: q.sender_id, preview: q.kind === 1 ? (b.text || '').slice(0, 60) : (b.preview || b.text || '') } };
        }
        const p = { client_msg_id: newClientId(), kind: 'text', state: 'pending', created_at: new Date().toISOString(), ...msg };
        if (!pending.has(id)) pending.set(id, []);
        pending.get(id).push(p);
        return deliver(id, p);
    },
    // the same client_msg_id again: the server never stores a second copy
    retry(id, cmid) {
        const p = (pending.get(id) || []).find((x) => x.client_msg_id === cmid);
        if (p) return deliver(id, p);
    },
    discard(id, cmid) { dropPending(id, cmid); bus.emit('convs:messages', { conv_id: id }); },
    async recall(id, seq) {
        const j = await api('POST', `/conversations/${id}/messages/${seq}/recall`);
        const c = cacheOf(id);
        if (c.loaded) {
            const gap = j.message.seq > c.last + 1;
            putMessages(id, [j.message]);
            if (gap) syncAfter(id).catch(() => {});
        } else markRecalled(id, seq, me());
        noteLast(id, j.message, false);
        markRead(id, j.message.seq);
        bus.emit('convs:messages', { conv_id: id });
        emitList();
    },
    markRead,
    // the view calls this while the conversation is on screen and the window is looked at
    seen(id) {
        const conv = convs.get(id);
        if (!conv) return;
        const c = caches.get(id);
        const last = Math.max(conv.last_seq || 0, c ? c.last : 0);
        if (last > (conv.last_read_seq || 0) || conv.unread > 0) {
            clearTimeout(readTimers.get(id));
            readTimers.set(id, setTimeout(() => markRead(id, last), 150));
        }
    },
    setActive(id) { activeId = id; },
    get active() { return activeId; },
    atMe: (id) => atMe.has(id),
    async setSettings(id, settings) {
        const j = await api('PUT', `/conversations/${id}/settings`, settings);
        const conv = convs.get(id);
        if (conv) Object.assign(conv, { muted: j.conversation.muted, pinned: j.conversation.pinned });
        emitList();
    },
    draft: (id) => drafts[id] || '',
    setDraft(id, text) {
        const had = !!drafts[id];
        if (text && text.trim()) drafts[id] = text; else delete drafts[id];
        try { localStorage.setItem(draftKey(), JSON.stringify(drafts)); } catch { /* full */ }
        if (had !== !!drafts[id]) bus.emit('convs:list');
    },
    typingUsers(id) {
        const m = typing.get(id);
        if (!m) return [];
        const now = Date.now();
        for (const [uid, exp] of m) if (exp <= now) m.delete(uid);
        return [...m.keys()];
    },
    sendTyping(id) { return api('POST', `/conversations/${id}/typing`).catch(() => {}); },
    // read receipts of one of my messages: {read: Map, unread: Map, member_count} (fetched once, then live)
    reads(id, seq, { fetch = true } = {}) {
        const key = id + ':' + seq;
        const r = reads.get(key);
        if (r && !r.stale) return r.loading ? null : r;
        if (!fetch) return null;
        const entry = { read: new Map(), unread: new Map(), member_count: 0, loading: true };
        reads.set(key, entry);
        readQueue.push(async () => {
            try {
                const j = await api('GET', `/conversations/${id}/messages/${seq}/reads`);
                for (const u of j.read) entry.read.set(u.user_id, u.name);
                for (const u of j.unread) entry.unread.set(u.user_id, u.name);
                // marks that moved while we asked
                const marks = readMarks.get(id);
                if (marks) for (const [uid, s] of marks) if (s >= seq && entry.unread.has(uid)) { entry.read.set(uid, entry.unread.get(uid)); entry.unread.delete(uid); }
                entry.member_count = j.member_count;
            } catch { reads.delete(key); return; } finally { entry.loading = false; }
            bus.emit('convs:reads', { conv_id: id });
        });
        pumpReads();
        return null;
    },
    async readsFresh(id, seq) {
        const j = await api('GET', `/conversations/${id}/messages/${seq}/reads`);
        const entry = { read: new Map(j.read.map((u) => [u.user_id, u.name])), unread: new Map(j.unread.map((u) => [u.user_id, u.name])), member_count: j.member_count };
        reads.set(id + ':' + seq, entry);
        bus.emit('convs:reads', { conv_id: id });
        return entry;
    },
};

// a few receipts at a time, newest first (the view asks for those it shows)
const readQueue = [];
let readRunning = 0;
function pumpReads() {
    while (readRunning < 3 && readQueue.length) {
        const job = readQueue.pop();
        readRunning++;
        job().finally(() => { readRunning--; pumpReads(); });
    }
}

function setMembers(id, list) {
    members.set(id, { list, byId: new Map(list.map((m) => [m.user_id, m])), loadedAt: Date.now() });
}

function reset() {
    convs.clear(); caches.clear(); pending.clear(); members.clear(); reads.clear(); typing.clear(); atMe.clear(); readMarks.clear();
    listLoaded = false; activeId = null; started = false;
    emitBadge();
}

bus.on('app:started', () => {
    started = true;
    drafts = loadDrafts();
    loadList().catch(() => {});
});
bus.on('app:stopped', reset);
bus.on('push:message', (ev) => { if (started) onPushMessage(ev).catch((e) => console.warn('push message', e)); });
bus.on('push:read', (ev) => { if (started) onPushRead(ev); });
bus.on('push:typing', (ev) => { if (started) onPushTyping(ev); });
// mute/pin changed on another of my devices
bus.on('push:conv_settings', (ev) => {
    const conv = started && convs.get(ev.conv_id);
    if (!conv) return;
    if ('muted' in ev) conv.muted = ev.muted;
    if ('pinned' in ev) conv.pinned = ev.pinned;
    emitList();
});
bus.on('push:up', ({ reconnect }) => { if (started && reconnect) catchUp().catch(() => {}); });
