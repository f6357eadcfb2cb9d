// The signed-in frame: the navigation rail (a bottom tab bar on phones) and
// one section at a time.  A section module exports
//   mount(el, route) -> {update(route), unmount()}
// and gets the part of the route after its name (#/chats/12 -> parts ['12']).
// A section with an open detail (parts not empty) gets .detail-open, which on
// narrow screens shows the detail pane instead of the list.
import { h, fill, icon, avatar } from '../dom.js';
import { t, register } from '../i18n.js';
import { bus } from '../bus.js';
import { session } from '../session.js';
import { current, navigate } from '../router.js';
import { org } from '../store/org.js';
import { userAvatar } from '../avatars.js';

register({
    'zh-CN': { 'nav.chats': '消息', 'nav.contacts': '通讯录', 'nav.apps': '应用', 'nav.settings': '设置',
               'net.connecting': '正在连接…', 'net.offline': '网络已断开，正在重连…' },
    en: { 'nav.chats': 'Chats', 'nav.contacts': 'Contacts', 'nav.apps': 'Apps', 'nav.settings': 'Settings',
          'net.connecting': 'Connecting…', 'net.offline': 'Offline, reconnecting…' },
});

const SECTIONS = [
    { id: 'chats', icon: 'chat', load: () => import('./chats.js') },
    { id: 'contacts', icon: 'contacts', load: () => import('./contacts.js') },
    { id: 'apps', icon: 'apps', load: () => import('./apps.js') },
    { id: 'settings', icon: 'settings', load: () => import('./settings.js') },
];

export function renderShell(root) {
    const badges = {};
    const buttons = SECTIONS.map((s) => {
        badges[s.id] = h('span.badge', { hidden: true, dataset: { test: 'badge-' + s.id } });
        return h('a.rail-item', { href: '#/' + s.id, dataset: { section: s.id }, title: t('nav.' + s.id) },
            icon(s.icon), h('span.rail-label', t('nav.' + s.id)), badges[s.id]);
    });
    const netBar = h('div.net-bar', { hidden: true, role: 'status', dataset: { test: 'net-bar' } });
    const me = session.user || {};
    const main = h('main.section-host');
    let meLink;
    fill(root, h('div.shell', { dataset: { view: 'shell' } },
        h('nav.rail', { 'aria-label': 'main' },
            meLink = h('a.rail-me', { href: '#/settings', title: me.name, dataset: { test: 'me' } }, avatar(me, 36)),
            buttons),
        h('div.shell-main', netBar, main)));

    let active = null;          // {id, inst}
    let loading = 0;
    async function show(route) {
        const s = SECTIONS.find((x) => x.id === route.section) || SECTIONS[0];
        buttons.forEach((b) => b.classList.toggle('active', b.dataset.section === s.id));
        main.dataset.section = s.id;
        main.classList.toggle('detail-open', route.parts.length > 0);
        if (active && active.id === s.id) { active.inst.update?.(route); return; }
        const ticket = ++loading;
        const mod = await s.load();
        if (ticket !== loading) return;
        if (active) active.inst.unmount?.();
        const el = h('section.section', { dataset: { section: s.id } });
        fill(main, el);
        active = { id: s.id, inst: mod.mount(el, route) || {} };
    }

    // my own picture once the address book knows it, and whenever it changes
    const showMe = () => { const u = org.user(me.id); if (u) fill(meLink, userAvatar(u, 36)); };
    const offs = [
        bus.on('org:ready', showMe),
        bus.on('org:changed', (c) => { if (c.all || (c.users || []).includes(me.id)) showMe(); }),
        bus.on('route', show),
        bus.on('badge', ({ section, count }) => {
            const b = badges[section];
            if (!b) return;
            b.hidden = !count;
            b.textContent = count > 99 ? '99+' : String(count || '');
        }),
        bus.on('push:state', (s) => {
            // a short blip is not worth a bar: show it after 1.5 s
            clearTimeout(netBar._t);
            if (s === 'online') { netBar.hidden = true; return; }
            netBar._t = setTimeout(() => { netBar.hidden = false; netBar.textContent = t(s === 'connecting' ? 'net.connecting' : 'net.offline'); }, 1500);
        }),
    ];
    show(current());
    return { unmount() { offs.forEach((f) => f()); if (active) active.inst.unmount?.(); } };
}

export { navigate };
