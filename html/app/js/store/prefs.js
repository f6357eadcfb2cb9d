// The user's preferences, shared by his devices (GET/PUT /me/preferences;
// pushed as {"type":"preferences"}).  The security PIN is not among them: it
// never leaves the device (lock.js).
//
// prefs.get().dnd.enabled ...; await prefs.set({dnd: {enabled: true}}); 'prefs:changed'
import { api } from '../api.js';
import { bus } from '../bus.js';
import { setLanguage } from '../i18n.js';

const DEFAULTS = {
    dnd: { enabled: false, from: '22:00', to: '08:00' },
    notify: { desktop: true, preview: true, sound: true },
    language: 'zh-CN',
    lock: { idle_minutes: 0 },
};
let cur = structuredClone(DEFAULTS);
let version = 0;

function merge(base, part) {
    const out = structuredClone(base);
    for (const [k, v] of Object.entries(part || {})) {
        out[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...(out[k] || {}), ...v } : v;
    }
    return out;
}

function apply(p, v) {
    cur = merge(DEFAULTS, p);
    version = v || version;
    bus.emit('prefs:changed', cur);
    // the language follows the account once he chose one (version 0: never saved)
    if (version > 0 && p && p.language) setLanguage(p.language);
}

bus.on('push:preferences', (ev) => { if (!ev.version || ev.version >= version) apply(ev.preferences, ev.version); });

export const prefs = {
    get: () => cur,
    async load() {
        try {
            const j = await api('GET', '/me/preferences');
            apply(j.preferences, j.version);
        } catch { /* the defaults stay; the next push or load fixes it */ }
        return cur;
    },
    async set(part) {
        const j = await api('PUT', '/me/preferences', part);
        apply(j.preferences, j.version);
        return cur;
    },
    // is "now" inside the do-not-disturb window (which may cross midnight)?
    inDnd(now = new Date()) {
        const d = cur.dnd;
        if (!d || !d.enabled) return false;
        const m = now.getHours() * 60 + now.getMinutes();
        const [fh, fm] = d.from.split(':').map(Number), [th, tm] = d.to.split(':').map(Number);
        const f = fh * 60 + fm, t = th * 60 + tm;
        return f === t ? true : f < t ? (m >= f && m < t) : (m >= f || m < t);
    },
};

bus.on('app:started', () => prefs.load());
