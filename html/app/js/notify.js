// Desktop notifications for new messages and the unread count in the tab
// title.  Permission is asked from a button (a banner in the chat list),
// never on load.  Rules: only messages from others, only while the tab is
// hidden/unfocused or another conversation is open; muted conversations only
// when I am @mentioned; never in do-not-disturb or with desktop notices off;
// the text only when "preview" is on.
import { h, icon } from './dom.js';
import { t, register } from './i18n.js';
import { bus } from './bus.js';
import { prefs } from './store/prefs.js';
import { convStore, localPreview } from './store/convs.js';
import { navigate } from './router.js';
import { isLocked } from './lock.js';

register({
    'zh-CN': { 'notify.banner': '开启桌面通知，不错过新消息', 'notify.enable': '开启', 'notify.dismiss': '不再提示',
               'notify.hidden': '你收到了一条新消息', 'notify.at': '[有人@我] ' },
    en: { 'notify.banner': 'Turn on desktop notifications so you never miss a message', 'notify.enable': 'Turn on', 'notify.dismiss': 'Dismiss',
          'notify.hidden': 'You have a new message', 'notify.at': '[@me] ' },
});

const BASE_TITLE = document.title;
const supported = () => typeof Notification !== 'undefined';
const shown = new Map();    // conv id -> Notification

bus.on('badge', ({ section, count }) => {
    if (section !== 'chats') return;
    document.title = count > 0 ? `(${count > 99 ? '99+' : count}) ${BASE_TITLE}` : BASE_TITLE;
});

bus.on('convs:incoming', ({ conv, msg, mentioned }) => {
    if (!supported() || Notification.permission !== 'granted' || !conv) return;
    const p = prefs.get();
    if (!p.notify || p.notify.desktop === false || prefs.inDnd()) return;
    if (conv.muted && !mentioned) return;
    const looking = document.visibilityState === 'visible' && document.hasFocus() && convStore.active === conv.id;
    if (looking) return;
    const b = msg.body || {};
    // a locked app shows nothing of the message, not even who wrote it
    const locked = isLocked();
    const text = locked || p.notify.preview === false ? t('notify.hidden') : (b.text || localPreview(b.preview) || t('notify.hidden'));
    const sender = msg.sender_id ? convStore.memberName(conv.id, msg.sender_id) : '';
    const name = convStore.displayName(conv);
    const title = locked ? t('app.name') : conv.kind === 'direct' || !sender ? (name || sender) : `${name} · ${sender}`;
    try {
        shown.get(conv.id)?.close();
        const n = new Notification(title, { body: (mentioned ? t('notify.at') : '') + text, tag: 'yd-conv-' + conv.id, icon: 'img/logo.svg', silent: p.notify.sound === false });
        n.onclick = () => { window.focus(); navigate('#/chats/' + conv.id); n.close(); };
        shown.set(conv.id, n);
    } catch { /* some browsers only allow it from a service worker */ }
});

bus.on('app:stopped', () => { for (const n of shown.values()) n.close(); shown.clear(); document.title = BASE_TITLE; });

// the banner in the conversation list: shown while the browser has not been asked yet
export function notifyBanner() {
    if (!supported() || Notification.permission !== 'default' || localStorage.getItem('yd.notify.dismissed')) return null;
    const el = h('div.notify-banner', { dataset: { test: 'notify-banner' } }, icon('bell'), h('span', t('notify.banner')),
        h('button.btn.btn-sm.btn-primary', { type: 'button', dataset: { test: 'notify-enable' }, onclick: async () => {
            try { await Notification.requestPermission(); } catch { /* ignored */ }
            el.remove();
        } }, t('notify.enable')),
        h('button.icon-btn', { type: 'button', title: t('notify.dismiss'), 'aria-label': t('notify.dismiss'), onclick: () => { localStorage.setItem('yd.notify.dismissed', '1'); el.remove(); } }, icon('close')));
    return el;
}
