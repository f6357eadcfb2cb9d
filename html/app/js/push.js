// The WebSocket push channel (docs/push.md).  It only notifies: everything
// is also stored, so after a reconnect the stores catch up through REST
// (they listen for 'push:up' with {reconnect: true}).
//
// Events: 'push:<type>' for every server event (message, read, typing, org,
// presence, app_notice, popup, preferences...), 'push:up', 'push:down',
// 'push:state' ('connecting' | 'online' | 'offline').
import { bus } from './bus.js';
import { session } from './session.js';

const PING_EVERY = 20000;   // browsers cannot see WebSocket pings: ping in JSON
const PONG_WITHIN = 10000;

let ws = null;
let wanted = false;
let everUp = false;
let attempt = 0;
let retryTimer = null, pingTimer = null, pongTimer = null;
let state = 'offline';
const presenceOwners = new Map();   // owner -> Set of user ids: every view watches its own

function setState(s) {
    if (s === state) return;
    state = s;
    bus.emit('push:state', s);
}

function connect() {
    clearTimeout(retryTimer);
    if (!wanted || ws) return;
    setState('connecting');
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/push/ws';
    const sock = new WebSocket(url);
    ws = sock;
    let authed = false;
    sock.onopen = () => sock.send(JSON.stringify({ type: 'auth', token: session.token() }));
    sock.onmessage = (e) => {
        let ev;
        try { ev = JSON.parse(e.data); } catch { return; }
        clearTimeout(pongTimer);
        if (ev.type === 'auth_ok') {
            authed = true;
            attempt = 0;
            setState('online');
            sendPresence();
            const reconnect = everUp;
            everUp = true;
            bus.emit('push:up', { reconnect });
            schedulePing();
            return;
        }
        if (ev.type === 'error' && !authed) { sock._authError = ev.errcode; return; }
        if (ev.type === 'kicked') { sock._kicked = ev; return; }
        if (ev.type === 'pong') return;
        bus.emit('push:' + ev.type, ev);
    };
    sock.onclose = async (e) => {
        if (ws !== sock) return;
        ws = null;
        clearTimeout(pingTimer); clearTimeout(pongTimer);
        setState('offline');
        bus.emit('push:down', { code: e.code });
        if (!wanted) return;
        if (sock._kicked || sock._authError === 40108) {
            if ((sock._kicked && sock._kicked.wipe) || sock._authError === 40108) { wanted = false; session.wipe(); return; }
            wanted = false; session.ended(40103); return;   // 4403: signed out elsewhere, do not retry
        }
        if (e.code === 4401) {
            // an expired access token: renew it and come straight back
            if (sock._authError === 40102 && await session.refresh()) { connect(); return; }
            if (sock._authError && sock._authError !== 40102 && sock._authError !== 50300) {
                wanted = false; session.ended(sock._authError); return;
            }
        }
        retry();
    };
}

function retry() {
    // 0.5 s, 1 s, 2 s ... 30 s, with jitter so a restarted server is not stormed
    const base = Math.min(30000, 500 * 2 ** attempt++);
    retryTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
}

function schedulePing() {
    clearTimeout(pingTimer);
    pingTimer = setTimeout(() => {
        if (!ws || ws.readyState !== 1) return;
        ws.send('{"type":"ping"}');
        pongTimer = setTimeout(() => { if (ws) ws.close(4000, 'no pong'); }, PONG_WITHIN);
        schedulePing();
    }, PING_EVERY);
}

function sendPresence() {
    if (!ws || ws.readyState !== 1 || state !== 'online') return;
    const ids = new Set();
    for (const s of presenceOwners.values()) for (const id of s) ids.add(id);
    ws.send(JSON.stringify({ type: 'presence_sub', user_ids: [...ids].slice(0, 1000) }));
}

window.addEventListener('online', () => { if (wanted && !ws) { attempt = 0; connect(); } });

export const push = {
    start() { wanted = true; connect(); },
    stop() {
        wanted = false; everUp = false;
        clearTimeout(retryTimer);
        if (ws) { const s = ws; ws = null; s.close(1000); }
        setState('offline');
    },
    get state() { return state; },
    // drop the connection now (tests and "the network changed"): it reconnects and catches up
    reconnect() { if (ws) ws.close(4000, 'reconnect'); else connect(); },
    send(obj) { if (ws && ws.readyState === 1 && state === 'online') { ws.send(JSON.stringify(obj)); return true; } return false; },
    // watchPresence('contacts', [1,2,3]); watchPresence('contacts', []) stops
    watchPresence(owner, ids) {
        presenceOwners.set(owner, new Set(ids.filter((n) => Number.isInteger(n) && n > 0)));
        sendPresence();
    },
};
