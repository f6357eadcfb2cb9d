// App popups (docs/push.md): push:popup (/cgi/popwindow) shows a small
// window at the requested corner with the title and the tip, or the URL in a
// sandboxed iframe (plus a link to open it in a tab); it closes after
// `duration` seconds (0/unset 5 s, -1 when closed by hand); the same
// notice_id replaces the previous one.  push:app_event (/cgi/event/publish)
// shows popWindow.tips with action 1 and closes it with action 2 (same eventId).
import { h, icon } from '../dom.js';
import { t, register } from '../i18n.js';
import { bus } from '../bus.js';
import { safeUrl } from '../store/apps.js';

register({
    'zh-CN': { 'popup.open': '在新标签页打开', 'popup.event': '应用通知' },
    en: { 'popup.open': 'Open in a new tab', 'popup.event': 'App notice' },
});

const open = new Map();     // key -> {el, timer}
let layer = null;

function host() {
    if (!layer || !layer.isConnected) { layer = h('div#app-popups'); document.body.appendChild(layer); }
    return layer;
}

function close(key) {
    const p = open.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    p.el.remove();
    open.delete(key);
}

// showPopup({key, app, title, tip, url, width, height, duration (s), position 0..4}) -> element
export function showPopup({ key, app, title, tip, url, width, height, duration, position }) {
    close(key);
    const pos = [0, 1, 2, 3, 4].includes(Number(position)) ? Number(position) : 3;
    const safe = safeUrl(url);
    const w = Math.max(240, Math.min(Number(width) || (safe ? 420 : 320), innerWidth - 24));
    const hh = safe ? Math.max(160, Math.min(Number(height) || 300, innerHeight - 120)) : null;
    const body = safe
        ? h('div.popup-body', h('iframe', { src: safe, title: title || app || '', sandbox: 'allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox',
            referrerpolicy: 'no-referrer', style: { height: hh + 'px' } }),
            h('a.popup-open', { href: safe, target: '_blank', rel: 'noopener noreferrer' }, icon('link'), t('popup.open')))
        : h('div.popup-body', h('p.popup-tip', tip || ''));
    const el = h('div.app-popup', { class: 'pos-' + pos, role: 'dialog', 'aria-label': title || app || '', dataset: { test: 'app-popup' }, style: { width: w + 'px' } },
        h('div.popup-head', icon('bell'),
            h('div.grow', h('div.popup-title', title || app || t('popup.event')), app && title ? h('div.popup-app', app) : null),
            h('button.icon-btn', { type: 'button', 'aria-label': t('common.close'), title: t('common.close'), dataset: { test: 'popup-close' }, onclick: () => close(key) }, icon('close'))),
        body);
    host().appendChild(el);
    const d = Number(duration);
    const secs = d === -1 ? 0 : d > 0 ? d : 5;
    open.set(key, { el, timer: secs ? setTimeout(() => close(key), secs * 1000) : null });
    return el;
}

bus.on('push:popup', (ev) => {
    const p = (ev && ev.popWindow) || {};
    showPopup({ key: 'n:' + (ev.app_id || '') + ':' + (p.notice_id ?? Math.random()), app: ev.app_name, title: p.title,
        tip: p.tip, url: p.url, width: p.width, height: p.height, duration: p.duration, position: p.position });
});

bus.on('push:app_event', (ev) => {
    const p = (ev && ev.popWindow) || {};
    const key = 'e:' + (ev.app_id || '') + ':' + ev.eventId;
    if (Number(p.action) === 2) { close(key); return; }
    const info = p.windowInfo || {};
    showPopup({ key, app: ev.app_name, title: info.title || ev.app_name, tip: p.tips || info.tip || '', url: info.url,
        width: info.width, height: info.height, duration: info.duration ?? -1, position: info.position ?? 3 });
});

bus.on('app:stopped', () => { for (const k of [...open.keys()]) close(k); });
