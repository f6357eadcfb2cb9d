// Security PIN lock.  The PIN never leaves the device: localStorage keeps
// only PBKDF2-SHA256 of it (WebCrypto, random 16-byte salt, 150,000
// iterations, 256 bits) under 'yd.pin.<user id>', with the count of wrong
// tries so a reload does not reset it.
//
// When a PIN is set the client locks
//   - on every start of the app (open, reload, back/forward cache), except
//     right after a sign-in with the password (guard() resolves at once then);
//   - after prefs.lock.idle_minutes without keyboard, pointer, wheel or touch
//     input in this tab (0: never);
//   - when lockNow() is called (the "lock now" button).
// While locked, <body> has .locked: every other child of <body> (the app,
// dialogs, menus, toasts, popups, also those added later) is display:none
// (css/settings.css) and the ones present are inert, so nothing of it
// can be seen, read by assistive technology or clicked; only #lock-screen
// shows (avatar, name, PIN entry).  5 wrong PINs sign the device out and wipe
// its local data (as a remote wipe); "forgot PIN" signs out and forgets the PIN.
//
// Test hook: localStorage 'yd.lock.idle_ms_test' = a number of milliseconds
// replaces the idle time (also when idle_minutes is 0) — for the browser tests
// only, which cannot wait a minute.
//
// API: guard(), hasPin(), setPin(pin), verifyPin(pin) -> bool, removePin(),
// lockNow(), isLocked(), events 'lock:changed' {locked}.
import { h, fill, icon, avatar } from './dom.js';
import { t, register } from './i18n.js';
import { bus } from './bus.js';
import { session, wipeLocalData } from './session.js';
import { prefs } from './store/prefs.js';
import { authBlobUrl } from './api.js';
import { confirmDialog } from './ui.js';

register({
    'zh-CN': {
        'lock.title': '有度已锁定', 'lock.enter': '请输入安全密码解锁', 'lock.pin': '安全密码',
        'lock.unlock': '解锁', 'lock.forgot': '忘记安全密码？', 'lock.wrong': '安全密码错误，还可尝试 {n} 次',
        'lock.short': '请输入 4–6 位数字', 'lock.checking': '正在验证…', 'lock.delete': '删除',
        'lock.forgot.title': '忘记安全密码', 'lock.forgot.text': '将退出登录并清除此设备上的安全密码，之后用账号密码重新登录即可。',
        'lock.forgot.ok': '退出登录',
        'lock.switch': '退出登录',
        'login.notice.pin': '安全密码连续输错 5 次，已退出登录并清除此设备上的数据。',
    },
    en: {
        'lock.title': 'Youdu is locked', 'lock.enter': 'Enter your security PIN to unlock', 'lock.pin': 'Security PIN',
        'lock.unlock': 'Unlock', 'lock.forgot': 'Forgot your PIN?', 'lock.wrong': 'Wrong PIN, {n} tries left',
        'lock.short': 'Enter 4–6 digits', 'lock.checking': 'Checking…', 'lock.delete': 'Delete',
        'lock.forgot.title': 'Forgot your PIN', 'lock.forgot.text': 'You will be signed out and the PIN of this device is removed. Sign in again with your password.',
        'lock.forgot.ok': 'Sign out',
        'lock.switch': 'Sign out',
        'login.notice.pin': 'The PIN was entered wrongly 5 times: this device was signed out and its data deleted.',
    },
});

const ITERATIONS = 150000;
const MAX_TRIES = 5;
export const IDLE_TEST_KEY = 'yd.lock.idle_ms_test';
export const PIN_RE = /^\d{4,6}$/;

let locked = false;
let justSignedIn = false;
let screen = null;
let lastActive = Date.now();
let idleTimer = null;

const keyOf = () => session.user ? 'yd.pin.' + session.user.id : null;
function record() {
    const k = keyOf();
    if (!k) return null;
    try {
        const r = JSON.parse(localStorage.getItem(k) || 'null');
        return r && r.hash && r.salt ? r : null;
    } catch { return null; }
}
function saveRecord(r) { const k = keyOf(); if (k) localStorage.setItem(k, JSON.stringify(r)); }

const b64 = (u8) => btoa(String.fromCharCode(...u8));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function derive(pin, salt, iterations) {
    const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveBits']);
    const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256);
    return new Uint8Array(bits);
}

export const hasPin = () => !!record();

export async function setPin(pin) {
    if (!PIN_RE.test(pin)) throw new Error('PIN must be 4-6 digits');
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const hash = await derive(pin, salt, ITERATIONS);
    saveRecord({ v: 1, alg: 'PBKDF2-SHA256', iter: ITERATIONS, salt: b64(salt), hash: b64(hash), fails: 0 });
    armIdle();
}

// checks without counting (settings: the current PIN before a change)
export async function verifyPin(pin) {
    const r = record();
    if (!r || !PIN_RE.test(pin)) return false;
    const got = await derive(pin, unb64(r.salt), r.iter || ITERATIONS);
    const want = unb64(r.hash);
    let diff = got.length ^ want.length;
    for (let i = 0; i < got.length && i < want.length; i++) diff |= got[i] ^ want[i];
    return diff === 0;
}

export function removePin() {
    const k = keyOf();
    if (k) localStorage.removeItem(k);
    armIdle();
}

export const isLocked = () => locked;

export function idleMs() {
    const test = Number(localStorage.getItem(IDLE_TEST_KEY));
    if (Number.isFinite(test) && test > 0) return test;
    const m = (prefs.get().lock || {}).idle_minutes || 0;
    return m > 0 ? m * 60000 : 0;
}

// --- the lock screen

function show(onUnlock) {
    if (screen) return;
    locked = true;
    document.body.classList.add('locked');
    for (const el of document.body.children) if (el.id !== 'lock-screen' && el.tagName !== 'SCRIPT') el.inert = true;
    document.querySelectorAll('.menu').forEach((m) => m.remove());
    const me = session.user || {};
    const pic = avatar(me, 72);
    authBlobUrl(`/org/users/${me.id}/avatar?size=large`).then((u) => { if (u) pic.append(h('img', { src: u, alt: '' })); });
    const err = h('p.form-error.lock-error', { role: 'alert', dataset: { test: 'lock-error' } });
    const dots = h('div.lock-dots', { 'aria-hidden': 'true' });
    const input = h('input#lock-pin.lock-input', {
        type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, pattern: '[0-9]*',
        'aria-label': t('lock.pin'), placeholder: t('lock.pin'), dataset: { test: 'lock-pin' },
        oninput: () => { input.value = input.value.replace(/\D/g, '').slice(0, 6); paint(); err.textContent = ''; },
    });
    const okBtn = h('button.btn.btn-primary.btn-block', { type: 'submit', dataset: { test: 'lock-unlock' } }, t('lock.unlock'));
    const paint = () => fill(dots, Array.from({ length: 6 }, (_, i) => h('span', { class: i < input.value.length ? 'on' : '' })));
    const press = (d) => { if (input.value.length < 6) { input.value += d; paint(); err.textContent = ''; } input.focus(); };
    const pad = h('div.lock-pad',
        ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => h('button.lock-key', { type: 'button', onclick: () => press(d) }, d)),
        h('span'),
        h('button.lock-key', { type: 'button', onclick: () => press('0') }, '0'),
        h('button.lock-key.lock-del', { type: 'button', 'aria-label': t('lock.delete'), title: t('lock.delete'),
            onclick: () => { input.value = input.value.slice(0, -1); paint(); input.focus(); } }, icon('back')));
    let busy = false;
    const form = h('form.lock-form', { onsubmit: async (e) => {
        e.preventDefault();
        if (busy) return;
        const pin = input.value;
        if (!PIN_RE.test(pin)) { err.textContent = t('lock.short'); return; }
        busy = true; okBtn.disabled = true; okBtn.textContent = t('lock.checking');
        const ok = await verifyPin(pin);
        busy = false; okBtn.disabled = false; okBtn.textContent = t('lock.unlock');
        const r = record();
        if (ok) {
            if (r && r.fails) { r.fails = 0; saveRecord(r); }
            hide();
            onUnlock?.();
            return;
        }
        if (!r) return;
        r.fails = (r.fails || 0) + 1;
        saveRecord(r);
        input.value = ''; paint();
        if (r.fails >= MAX_TRIES) { await tooManyTries(); return; }
        err.textContent = t('lock.wrong', { n: MAX_TRIES - r.fails });
        input.focus();
    } }, dots, input, err, okBtn);
    screen = h('div#lock-screen', { role: 'dialog', 'aria-modal': 'true', 'aria-label': t('lock.title'), dataset: { test: 'lock-screen' } },
        h('div.lock-card',
            h('div.lock-who', pic, h('div.lock-name', me.name || ''), h('div.lock-sub', icon('lock'), t('lock.enter'))),
            form, pad,
            h('button.link-btn.lock-forgot', { type: 'button', dataset: { test: 'lock-forgot' }, onclick: forgot }, t('lock.forgot'))));
    paint();
    document.body.appendChild(screen);
    const r = record();
    if (r && r.fails) err.textContent = t('lock.wrong', { n: MAX_TRIES - r.fails });
    setTimeout(() => input.focus(), 0);
    bus.emit('lock:changed', { locked: true });
}

function hide() {
    if (!screen) return;
    screen.remove();
    screen = null;
    locked = false;
    document.body.classList.remove('locked');
    for (const el of document.body.children) el.inert = false;
    lastActive = Date.now();
    bus.emit('lock:changed', { locked: false });
}

async function forgot() {
    // the confirmation is a modal: let it show above the lock screen
    screen.inert = true;
    const answer = confirmDialog({ title: t('lock.forgot.title'), text: t('lock.forgot.text'), ok: t('lock.forgot.ok'), danger: true });
    const dlg = [...document.querySelectorAll('body > .modal-back')].pop();
    if (dlg) dlg.classList.add('lock-allow');
    const ok = await answer;
    if (screen) screen.inert = false;
    if (!ok) return;
    removePin();
    hide();
    await session.logout();
}

async function tooManyTries() {
    const token = session.token();
    if (token) {
        try { await fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + token } }); } catch { /* wiped anyway */ }
    }
    await wipeLocalData();
    sessionStorage.setItem('yd.notice', 'pin');
    location.replace(location.pathname + '#/');
    location.reload();
}

// --- idle tracking

function onActivity() { if (!locked) lastActive = Date.now(); }
for (const ev of ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart']) {
    window.addEventListener(ev, onActivity, { passive: true, capture: true });
}

function armIdle() {
    clearInterval(idleTimer);
    idleTimer = null;
    if (!session.signedIn() || !hasPin()) return;
    lastActive = Date.now();
    // timestamps, not one long timer: a background tab's timers are throttled
    idleTimer = setInterval(() => {
        const ms = idleMs();
        if (!locked && ms > 0 && hasPin() && Date.now() - lastActive >= ms) lockNow();
    }, 500);
}

export function lockNow() {
    if (!hasPin() || locked) return false;
    show(null);
    return true;
}

// main.js: awaited before the shell is shown
export function guard() {
    const fresh = justSignedIn;
    justSignedIn = false;
    if (fresh || !session.signedIn() || !hasPin()) return Promise.resolve();
    return new Promise((resolve) => show(resolve));
}

bus.on('session:started', () => { justSignedIn = true; });
// back/forward cache: a page shown again counts as opening the app
window.addEventListener('pageshow', (e) => { if (e.persisted && session.signedIn()) lockNow(); });
bus.on('app:started', armIdle);
bus.on('prefs:changed', () => { lastActive = Date.now(); });
// signed out or wiped while locked (another device, the admin): the sign-in page must show
bus.on('session:ended', () => { clearInterval(idleTimer); idleTimer = null; hide(); });
