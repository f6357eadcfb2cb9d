// The app portal's data: the apps the user may open (GET /apps) and their
// badges (GET /apps/notices, live push:app_notice).  The rail's "apps" badge
// is the sum of the counts.  Also openApp(app) (single sign-on into a new
// tab) and safeUrl(), shared with the app cards and popups.
//
// apps.list() -> Promise<[app]>, apps.count(app_id), apps.notice(app_id),
// event 'apps:notices' (the Map of app_id -> notice)
import { api } from '../api.js';
import { bus } from '../bus.js';

let listP = null;
const notices = new Map();      // app_id -> {app_id, app_name, count, tip, pop_wind, updated_at}

function emitBadge() {
    let n = 0;
    for (const x of notices.values()) n += Math.max(0, Number(x.count) || 0);
    bus.emit('badge', { section: 'apps', count: n });
    bus.emit('apps:notices', notices);
}

async function loadNotices() {
    try {
        const j = await api('GET', '/apps/notices');
        notices.clear();
        for (const x of j.notices || []) if (x.count > 0) notices.set(x.app_id, x);
        emitBadge();
    } catch { /* the next push or reconnect fixes it */ }
}

bus.on('app:started', loadNotices);
bus.on('push:up', ({ reconnect }) => { if (reconnect) { loadNotices(); listP = null; } });
bus.on('app:stopped', () => { notices.clear(); listP = null; });
bus.on('push:app_notice', (ev) => {
    if (!ev || !ev.app_id) return;
    if (ev.count > 0) notices.set(ev.app_id, { ...notices.get(ev.app_id), ...ev, updated_at: new Date().toISOString() });
    else notices.delete(ev.app_id);
    emitBadge();
});
// the org changed (scope, a new app...): read the portal again next time
bus.on('push:org', () => { listP = null; });

export const apps = {
    list({ fresh = false } = {}) {
        if (!listP || fresh) {
            listP = api('GET', '/apps').then((j) => j.apps || []);
            listP.catch(() => { listP = null; });
        }
        return listP;
    },
    count: (appId) => (notices.get(appId) || {}).count || 0,
    notice: (appId) => notices.get(appId) || null,
};

// an http(s) URL as a string, else null (javascript:, data: ... never open)
export function safeUrl(u) {
    if (typeof u !== 'string' || !u) return null;
    try {
        const x = new URL(u, location.href);
        return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
    } catch { return null; }
}

// opens a URL in a new tab without giving it window.opener
export function openSafe(u) {
    const url = safeUrl(u);
    if (!url) return false;
    window.open(url, '_blank', 'noopener,noreferrer');
    return true;
}

// the app's home page with a fresh single sign-on token (POST /sso/token {app_id})
export async function openApp(app) {
    const j = await api('POST', '/sso/token', { app_id: app.app_id });
    if (!j.url) return false;
    return openSafe(j.url);
}

// a card link with action 1: the URL with the user's account and a fresh SSO token appended
export async function ssoLink(url, account) {
    const base = safeUrl(url);
    if (!base) return null;
    const j = await api('POST', '/sso/token', {});
    const u = new URL(base);
    if (account) u.searchParams.set('account', account);
    u.searchParams.set('token', j.token);
    return u.href;
}
