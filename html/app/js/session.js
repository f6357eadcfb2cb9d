// The signed-in session: tokens, who I am, refresh, sign-out and remote wipe.
//
// "Remember this device" keeps the session in localStorage (survives a
// browser restart, shared by the tabs of this browser); otherwise it lives in
// sessionStorage and ends with the tab.  Refresh tokens rotate and a reused
// one revokes the whole session, so tabs sharing localStorage refresh under a
// Web Lock and re-read the storage first: only one tab ever spends a token.
import { bus } from './bus.js';

const KEY = 'yd.session';
const BASE = '/api/v1';
let cur = load();

function load() {
    for (const st of [sessionStorage, localStorage]) {
        try {
            const s = JSON.parse(st.getItem(KEY) || 'null');
            if (s && s.refresh_token) return { ...s, remember: st === localStorage };
        } catch { /* a damaged entry is ignored */ }
    }
    return null;
}

function save() {
    if (!cur) return;
    const st = cur.remember ? localStorage : sessionStorage;
    const { remember, ...data } = cur;
    st.setItem(KEY, JSON.stringify(data));
}

// another tab refreshed or signed out
window.addEventListener('storage', (e) => {
    if (e.key !== KEY || !cur || !cur.remember) return;
    const next = load();
    if (!next) { cur = null; bus.emit('session:ended', { reason: 'signed_out' }); return; }
    cur = next;
});

export const session = {
    get user() { return cur && cur.user; },
    get id() { return cur && cur.session_id; },
    get remembered() { return !!(cur && cur.remember); },
    signedIn() { return !!cur; },
    token() { return cur && cur.access_token; },

    // -> {ok:true} | {ok:false, status, errcode, errmsg}
    async login(account, password, remember) {
        let r, j;
        try {
            r = await fetch(BASE + '/auth/login', {
                method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ account, password, device_type: 'web', device_name: deviceName() }),
            });
            j = await r.json();
        } catch {
            return { ok: false, status: 0, errcode: -1, errmsg: '' };
        }
        if (!r.ok || j.errcode !== 0) return { ok: false, status: r.status, errcode: j.errcode, errmsg: j.errmsg };
        cur = { ...pick(j), remember: !!remember };
        save();
        bus.emit('session:started', cur.user);
        return { ok: true, must_change_password: j.must_change_password };
    },

    // a new access token; concurrent callers share one refresh
    refresh() {
        if (!cur) return Promise.resolve(false);
        if (!this._refreshing) {
            const spent = cur.refresh_token;
            const run = async () => {
                const fresh = load();                    // another tab may have done it
                if (fresh && fresh.refresh_token !== spent) { cur = fresh; return true; }
                let r, j;
                try {
                    r = await fetch(BASE + '/auth/refresh', {
                        method: 'POST', headers: { 'Content-Type': 'application/json' },
                        body: JSON.stringify({ refresh_token: spent }),
                    });
                    j = await r.json();
                } catch { return false; }                // offline: keep the session, retry later
                if (r.ok && j.errcode === 0) {
                    cur = { ...cur, ...pick(j), user: cur.user };
                    save();
                    return true;
                }
                if (j && j.errcode === 40108) { session.wipe(); return false; }
                if (r.status === 401 || r.status === 403) session.ended(j && j.errcode);
                return false;
            };
            const locked = navigator.locks ? navigator.locks.request('yd-refresh', run) : run();
            this._refreshing = locked.finally(() => { this._refreshing = null; });
        }
        return this._refreshing;
    },

    async logout() {
        const token = this.token();
        if (token) {
            try {
                await fetch(BASE + '/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
            } catch { /* signed out locally anyway */ }
        }
        this.clear();
        bus.emit('session:ended', { reason: 'logout' });
    },

    // the server says this session is over (revoked, disabled, password changed elsewhere)
    ended(errcode) {
        if (!cur) return;
        this.clear();
        bus.emit('session:ended', { reason: 'revoked', errcode });
    },

    // remote wipe: every trace of the account on this device goes
    async wipe() {
        cur = null;
        await wipeLocalData();
        bus.emit('session:ended', { reason: 'wiped' });
    },

    clear() {
        cur = null;
        localStorage.removeItem(KEY);
        sessionStorage.removeItem(KEY);
    },

    setUser(u) { if (cur) { cur.user = { ...cur.user, ...u }; save(); } },
};

function pick(j) {
    return {
        access_token: j.access_token, refresh_token: j.refresh_token, session_id: j.session_id ?? cur?.session_id,
        user: j.user, expires_at: Date.now() + (j.expires_in || 900) * 1000,
    };
}

function deviceName() {
    const ua = navigator.userAgent;
    const b = /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Firefox\//.test(ua) ? 'Firefox'
        : /Safari\//.test(ua) ? 'Safari' : 'Browser';
    const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android'
        : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : '';
    return (b + (os ? ' on ' + os : '')).slice(0, 64);
}

// localStorage, sessionStorage, IndexedDB and Cache Storage of this origin
export async function wipeLocalData() {
    try { localStorage.clear(); } catch { /* ignore */ }
    try { sessionStorage.clear(); } catch { /* ignore */ }
    try {
        if (indexedDB.databases) {
            for (const db of await indexedDB.databases()) if (db.name) indexedDB.deleteDatabase(db.name);
        }
    } catch { /* ignore */ }
    try {
        if (window.caches) for (const k of await caches.keys()) await caches.delete(k);
    } catch { /* ignore */ }
    // the notice on the sign-in page survives the wipe on purpose
    sessionStorage.setItem('yd.notice', 'wiped');
}
