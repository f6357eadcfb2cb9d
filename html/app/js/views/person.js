// The person card, used everywhere a colleague is shown.
//
//   openPersonCard(userId, {anchor?}) -> {close()}
//       a pop-over next to `anchor` (an element or a click event) on wide
//       screens, a dialog (a bottom sheet on phones) otherwise
//   renderPerson(el, userId, {owner?, onBack?}) -> {show(userId), destroy()}
//       the same card filling `el` (the address book's main pane); call
//       destroy() when the element goes away
//
// Both follow the user live: an admin's edit ('org:changed') re-renders it,
// presence updates the online line.  Fields the server masks for the viewer
// ("***", docs/api.md "Confidentiality") are shown masked, never as links.
import { h, fill, icon } from '../dom.js';
import { t, register } from '../i18n.js';
import { bus } from '../bus.js';
import { api } from '../api.js';
import { org } from '../store/org.js';
import { session } from '../session.js';
import { navigate } from '../router.js';
import { toast, modal } from '../ui.js';
import { userAvatar } from '../avatars.js';

register({
    'zh-CN': {
        'person.title': '个人资料', 'person.online': '在线', 'person.offline': '离线',
        'person.on': '{devices}在线', 'person.sep': '、',
        'person.dev.web': '网页', 'person.dev.pc': '电脑', 'person.dev.mobile': '手机', 'person.dev.api': '接口',
        'person.send': '发消息', 'person.copy': '复制账号', 'person.copied': '账号已复制',
        'person.copy_failed': '无法复制，请手动选择账号', 'person.me': '我',
        'person.account': '账号', 'person.gender': '性别', 'person.male': '男', 'person.female': '女',
        'person.mobile': '手机', 'person.phone': '电话', 'person.email': '邮箱', 'person.position': '职位',
        'person.depts': '部门', 'person.hidden': '已被管理员隐藏',
        'person.gone': '该同事已不在通讯录中', 'person.disabled': '已停用',
        'person.not_activated': '未激活',
    },
    en: {
        'person.title': 'Profile', 'person.online': 'Online', 'person.offline': 'Offline',
        'person.on': 'Online on {devices}', 'person.sep': ', ',
        'person.dev.web': 'web', 'person.dev.pc': 'computer', 'person.dev.mobile': 'mobile', 'person.dev.api': 'API',
        'person.send': 'Send message', 'person.copy': 'Copy account', 'person.copied': 'Account copied',
        'person.copy_failed': 'Could not copy; select the account by hand', 'person.me': 'Me',
        'person.account': 'Account', 'person.gender': 'Gender', 'person.male': 'Male', 'person.female': 'Female',
        'person.mobile': 'Mobile', 'person.phone': 'Phone', 'person.email': 'Email', 'person.position': 'Title',
        'person.depts': 'Departments', 'person.hidden': 'hidden by the administrator',
        'person.gone': 'This colleague is no longer in the address book', 'person.disabled': 'Disabled',
        'person.not_activated': 'Not activated',
    },
});

const MASK = '***';

// device types of the presence event, grouped the way people talk about them
const DEVICE_GROUP = { web: 'web', pc: 'pc', mac: 'pc', linux: 'pc', android: 'mobile', ios: 'mobile', api: 'api' };
const DEVICE_ICON = { web: 'globe', pc: 'devices', mobile: 'phone', api: 'link' };

export function deviceGroups(devices) {
    const out = [];
    for (const d of devices || []) {
        const g = DEVICE_GROUP[d] || 'pc';
        if (!out.includes(g)) out.push(g);
    }
    return out;
}

export function presenceLine(userId) {
    const p = org.presence(userId);
    const el = h('div.person-presence', { dataset: { test: 'person-presence', online: p.online ? '1' : '0' } });
    fillPresence(el, p);
    return el;
}

function fillPresence(el, p) {
    el.dataset.online = p.online ? '1' : '0';
    if (!p.online) { fill(el, h('span.dot'), t('person.offline')); return; }
    const groups = deviceGroups(p.devices);
    const words = groups.map((g) => t('person.dev.' + g)).join(t('person.sep'));
    fill(el, h('span.dot.online'),
        h('span', groups.length ? t('person.on', { devices: words }) : t('person.online')),
        h('span.person-devices', groups.map((g) => h('span.person-device', { title: t('person.dev.' + g) }, icon(DEVICE_ICON[g])))));
}

// a value row: a link (tel:/mailto:), plain text, or the masked placeholder
function field(key, value, link) {
    if (value == null || value === '') return null;
    let v;
    if (value === MASK) {
        v = h('span.person-masked', { title: t('person.hidden'), dataset: { test: 'masked' } },
            icon('lock'), h('span', MASK), h('small', t('person.hidden')));
    } else if (link) {
        v = h('a', { href: link + value, dataset: { test: 'link' } }, value);
    } else {
        v = h('span', value);
    }
    return h('div.person-row', { dataset: { test: 'person-field-' + key } },
        h('div.person-label', t('person.' + key)), h('div.person-value', v));
}

async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        // no clipboard permission (http, an iframe): the old way
        const ta = h('textarea', { readonly: true, 'aria-hidden': 'true' });
        ta.value = text;
        ta.style.position = 'fixed';
        ta.style.opacity = '0';
        document.body.appendChild(ta);
        ta.select();
        let ok = false;
        try { ok = document.execCommand('copy'); } catch { ok = false; }
        ta.remove();
        return ok;
    }
}

export async function startChat(userId) {
    const j = await api('POST', '/conversations', { kind: 'direct', user_id: userId });
    navigate('#/chats/' + j.conversation.id);
    return j.conversation;
}

// the user from the address book, or from the server (not in the snapshot: disabled, just created)
async function loadUser(id) {
    await org.ready;
    const u = org.user(id);
    if (u) return u;
    try {
        const j = await api('GET', '/org/users/' + id);
        return j.user;
    } catch {
        return null;
    }
}

function deptRows(u) {
    const rows = [];
    for (const m of u.departments || []) {
        const path = org.dept(m.dept_id) ? org.path(m.dept_id) : (m.dept_name || '');
        if (!path) continue;
        rows.push(h('li.person-dept', h('span.person-dept-path', path),
            m.position ? h('span.person-dept-pos', m.position) : null));
    }
    return rows;
}

// the card's content for a user object; onDone() is called before navigating away
function cardBody(u, { onDone, large = true } = {}) {
    const me = session.user && session.user.id === u.id;
    const positions = [...new Set((u.departments || []).map((m) => m.position).filter(Boolean))];
    const state = u.enable_state === -1 ? t('person.disabled') : u.enable_state === 0 ? t('person.not_activated') : null;
    const send = me ? null : h('button.btn.btn-primary', {
        type: 'button', dataset: { test: 'person-send' },
        onclick: async (e) => {
            const b = e.currentTarget;
            b.disabled = true;
            try { onDone?.(); await startChat(u.id); } catch (err) { toast(err.userMessage || String(err), 'error'); } finally { b.disabled = false; }
        },
    }, icon('chat'), t('person.send'));
    const copy = h('button.btn', {
        type: 'button', dataset: { test: 'person-copy' },
        onclick: async () => { toast(await copyText(u.account) ? t('person.copied') : t('person.copy_failed'), 'info'); },
    }, icon('file'), t('person.copy'));
    const depts = deptRows(u);
    return h('div.person-card', { dataset: { test: 'person-card', user: u.id } },
        h('div.person-top',
            h('div.person-avatar', userAvatar(u, large ? 88 : 64)),
            h('div.person-id',
                h('h3.person-name', { dataset: { test: 'person-name' } }, u.name,
                    me ? h('span.person-tag', t('person.me')) : null,
                    state ? h('span.person-tag.warn', state) : null,
                    u.gender === 1 ? h('span.person-gender.f', { title: t('person.female'), 'aria-label': t('person.female') }, '♀')
                        : u.gender === 0 ? h('span.person-gender.m', { title: t('person.male'), 'aria-label': t('person.male') }, '♂') : null),
                u.title && u.title !== MASK ? h('div.person-title', u.title)
                    : positions.length ? h('div.person-title', positions.join(' · ')) : null,
                presenceLine(u.id))),
        h('div.person-actions', send, copy),
        h('div.person-rows',
            field('account', u.account),
            field('gender', u.gender === 1 ? t('person.female') : u.gender === 0 ? t('person.male') : ''),
            u.title === MASK ? field('position', MASK) : null,
            field('mobile', u.mobile, 'tel:'),
            field('phone', u.phone, 'tel:'),
            field('email', u.email, 'mailto:'),
            depts.length ? h('div.person-row', { dataset: { test: 'person-field-depts' } },
                h('div.person-label', t('person.depts')), h('ul.person-depts', depts)) : null));
}

function gone() {
    return h('div.person-card.person-gone', { dataset: { test: 'person-card' } },
        h('div.empty', icon('users'), h('p', t('person.gone'))));
}

// keeps a card element current: re-renders on org changes, updates presence
function follow(userId, rerender, owner) {
    const offs = [
        bus.on('org:changed', (c) => { if (c.all || (c.users || []).includes(userId)) rerender(); }),
        bus.on('presence', (ev) => {
            if (ev.user_id !== userId) return;
            for (const el of document.querySelectorAll(`.person-card[data-user="${userId}"] .person-presence`)) fillPresence(el, org.presence(userId));
        }),
    ];
    org.watchPresence(owner, [userId]);
    return () => { offs.forEach((f) => f()); org.watchPresence(owner, []); };
}

export function renderPerson(el, userId, { owner = 'person', onBack, backLabel } = {}) {
    let id = null, stop = null, ticket = 0;
    const head = h('div.pane-head.person-head',
        h('button.back.icon-btn.person-back', { type: 'button', 'aria-label': backLabel || t('common.back'), title: backLabel || t('common.back'),
            dataset: { test: 'person-back' }, onclick: () => onBack?.() }, icon('back')),
        h('h2', t('person.title')));
    const body = h('div.pane-body.person-pane');
    fill(el, head, body);
    async function draw() {
        const mine = ++ticket;
        const u = await loadUser(id);
        if (mine !== ticket) return;
        const scroll = body.scrollTop;
        fill(body, u ? cardBody(u) : gone());
        body.scrollTop = scroll;
    }
    function show(userId2) {
        if (userId2 === id) return;
        stop?.();
        id = userId2;
        fill(body);
        stop = follow(id, draw, owner);
        draw();
    }
    show(userId);
    return { show, destroy() { stop?.(); ticket++; } };
}

let openCard = null;

export function openPersonCard(userId, { anchor } = {}) {
    openCard?.close();
    const wrap = h('div.person-pop-body');
    let closeFn = () => {};
    let ticket = 0;
    async function draw() {
        const mine = ++ticket;
        const u = await loadUser(userId);
        if (mine !== ticket) return;
        fill(wrap, u ? cardBody(u, { onDone: () => closeFn(), large: false }) : gone());
    }
    const stop = follow(userId, draw, 'person-card');
    const offRoute = bus.on('route', () => closeFn());
    const cleanup = () => { stop(); offRoute(); ticket++; if (openCard && openCard.close === closeFn) openCard = null; };
    const at = anchor instanceof Event ? (anchor.currentTarget || anchor.target) : anchor;
    if (at instanceof Element && innerWidth > 720) {
        const pop = h('div.person-pop', { role: 'dialog', 'aria-label': t('person.title') },
            h('button.icon-btn.person-pop-close', { type: 'button', 'aria-label': t('common.close'), onclick: () => closeFn() }, icon('close')),
            wrap);
        document.body.appendChild(pop);
        const onDown = (e) => { if (!pop.contains(e.target) && !e.target.closest?.('.modal-back, .menu, .toast')) closeFn(); };
        const onKey = (e) => { if (e.key === 'Escape') { e.stopPropagation(); closeFn(); } };
        closeFn = () => {
            pop.remove(); cleanup();
            document.removeEventListener('mousedown', onDown, true);
            document.removeEventListener('keydown', onKey, true);
        };
        setTimeout(() => document.addEventListener('mousedown', onDown, true), 0);
        document.addEventListener('keydown', onKey, true);
        draw().then(() => place(pop, at));
        place(pop, at);
    } else {
        const m = modal({ title: t('person.title'), body: wrap, onClose: () => cleanup() });
        m.el.classList.add('person-modal');
        closeFn = () => m.close();
        draw();
    }
    openCard = { close: () => closeFn() };
    return openCard;
}

// next to the anchor, inside the window
function place(pop, at) {
    const r = at.getBoundingClientRect();
    const w = pop.offsetWidth, hh = pop.offsetHeight;
    let x = r.right + 8, y = r.top;
    if (x + w > innerWidth - 8) x = Math.max(8, r.left - w - 8);
    if (y + hh > innerHeight - 8) y = Math.max(8, innerHeight - hh - 8);
    pop.style.left = x + 'px';
    pop.style.top = y + 'px';
}
