// Merged forward (docs/api.md "Merged forward"): forward one message or a
// selection as one "chat history" message into one or more conversations or
// colleagues; the kind 5 card and the dialog that lists its items.
import { h, fill, icon, avatar, debounce } from '../dom.js';
import { t, register, fmtTime } from '../i18n.js';
import { api } from '../api.js';
import { modal, toast } from '../ui.js';
import { org } from '../store/org.js';
import { session } from '../session.js';
import { messageActions, messageRenderers } from '../chat-hooks.js';
import { newClientId, previewOf } from './common.js';
import { imageBox, fileCard } from './media.js';

register({
    'zh-CN': {
        'fwd.forward': '转发', 'fwd.multi': '多选', 'fwd.title': '转发给', 'fwd.search': '搜索聊天或同事',
        'fwd.recent': '最近聊天', 'fwd.contacts': '同事', 'fwd.none': '没有找到', 'fwd.send': '发送',
        'fwd.send_n': '发送（{n}）', 'fwd.heading': '标题（可选）', 'fwd.heading_ph': '不填写则使用默认标题（如“{title}”）', 'fwd.default_title': '聊天记录', 'fwd.default_eg': 'X 和 Y 的聊天记录',
        'fwd.count': '共 {n} 条消息', 'fwd.pick_target': '请选择要转发到的聊天', 'fwd.done': '已转发',
        'fwd.done_n': '已转发到 {n} 个聊天', 'fwd.partial': '部分转发失败：{msg}', 'fwd.card_foot': '聊天记录',
        'fwd.history': '聊天记录', 'fwd.more': '加载更多', 'fwd.items_n': '共 {n} 条', 'fwd.members': '{n} 人',
        'fwd.remove': '移除 {name}', 'fwd.loading': '加载中…',
    },
    en: {
        'fwd.forward': 'Forward', 'fwd.multi': 'Select', 'fwd.title': 'Forward to', 'fwd.search': 'Search chats or colleagues',
        'fwd.recent': 'Recent chats', 'fwd.contacts': 'Colleagues', 'fwd.none': 'Nothing found', 'fwd.send': 'Send',
        'fwd.send_n': 'Send ({n})', 'fwd.heading': 'Title (optional)', 'fwd.heading_ph': 'Leave empty for the default (like “{title}”)', 'fwd.default_title': 'Chat history', 'fwd.default_eg': 'Chat history of X and Y',
        'fwd.count': '{n} messages', 'fwd.pick_target': 'Choose where to forward to', 'fwd.done': 'Forwarded',
        'fwd.done_n': 'Forwarded to {n} chats', 'fwd.partial': 'Some forwards failed: {msg}', 'fwd.card_foot': 'Chat history',
        'fwd.history': 'Chat history', 'fwd.more': 'Load more', 'fwd.items_n': '{n} messages', 'fwd.members': '{n} people',
        'fwd.remove': 'Remove {name}', 'fwd.loading': 'Loading…',
    },
});

const FORWARDABLE = new Set([1, 2, 3, 4, 5]);
const canForward = (m) => !!(m && m.seq && !m.recalled && FORWARDABLE.has(m.kind) && !(m.body && m.body.recalled));

// ---- the target picker

function convAvatar(c) {
    if (c.kind === 'direct' && c.peer) return avatar(org.user(c.peer.id) || { id: c.peer.id, name: c.peer.name || c.name }, 32);
    const a = avatar({ id: c.id, name: c.name || '#' }, 32);
    a.classList.add('rich-conv-av');
    return a;
}

// openForward({fromConvId, seqs, onSent}) -> the dialog
export function openForward({ fromConvId, seqs, onSent }) {
    const me = session.user && session.user.id;
    const chosen = new Map();   // key 'c<id>' | 'u<id>' -> {key, conv?, user?, name}
    let convs = null;
    let query = '';
    let ticket = 0;
    const search = h('input', { type: 'search', placeholder: t('fwd.search'), 'aria-label': t('fwd.search'), dataset: { test: 'forward-search' } });
    const list = h('div.pick-list.fwd-targets', { role: 'list', dataset: { test: 'forward-targets' } });
    const chips = h('div.pick-chips.fwd-chips', { dataset: { test: 'forward-chips' } });
    const heading = h('input', { type: 'text', maxlength: 100, placeholder: t('fwd.heading_ph', { title: t('fwd.default_eg') }), dataset: { test: 'forward-title' } });
    const err = h('p.form-error', { role: 'alert' });
    const body = h('div.fwd',
        h('p.fwd-count', t('fwd.count', { n: seqs.length })),
        h('div.pick-search', icon('search'), search),
        chips, list,
        h('label.field.fwd-heading', h('span', t('fwd.heading')), heading),
        err);
    let sendBtn;
    const dlg = modal({
        title: t('fwd.title'), body, testId: 'forward-dialog',
        actions: [
            { label: t('common.cancel') },
            { label: t('fwd.send'), primary: true, testId: 'forward-send', onClick: send },
        ],
    });
    sendBtn = dlg.el.querySelector('[data-test=forward-send]');

    function toggle(entry) {
        if (chosen.has(entry.key)) chosen.delete(entry.key); else chosen.set(entry.key, entry);
        render();
    }

    function row(entry, sub, av) {
        const on = chosen.has(entry.key);
        return h('button.pick-row', { type: 'button', role: 'listitem', class: on ? 'on' : '', 'aria-pressed': String(on),
            dataset: { test: 'forward-target', name: entry.name }, onclick: () => toggle(entry) },
        h('input', { type: 'checkbox', checked: on, tabindex: -1, 'aria-hidden': 'true' }), av,
        h('span.grow', h('span.title', entry.name), sub ? h('span.sub', sub) : null));
    }

    function convEntry(c) { return { key: 'c' + c.id, conv: c, name: c.name || t('fwd.default_title') }; }

    async function render() {
        fill(chips, [...chosen.values()].map((e) => h('span.pick-chip', { dataset: { test: 'forward-chip' } }, h('span', e.name),
            h('button.pick-chip-x', { type: 'button', 'aria-label': t('fwd.remove', { name: e.name }), onclick: () => { chosen.delete(e.key); render(); } }, icon('close')))));
        sendBtn.textContent = chosen.size > 1 ? t('fwd.send_n', { n: chosen.size }) : t('fwd.send');
        const my = ++ticket;
        if (!convs) { fill(list, h('p.empty', t('fwd.loading'))); return; }
        const q = query.toLowerCase();
        const hits = convs.filter((c) => !q || (c.name || '').toLowerCase().includes(q));
        const out = [];
        if (hits.length) {
            out.push(h('div.pick-head', t('fwd.recent')));
            for (const c of hits.slice(0, q ? 20 : 50)) {
                out.push(row(convEntry(c), c.kind === 'direct' ? '' : t('fwd.members', { n: c.member_count || 0 }), convAvatar(c)));
            }
        }
        if (q) {
            let users = [];
            try { users = (await org.search(query, { limit: 20 })).users; } catch { users = []; }
            if (my !== ticket) return;
            // a colleague with a direct chat already listed above is not shown twice
            const peers = new Set(convs.filter((c) => c.kind === 'direct' && c.peer).map((c) => c.peer.id));
            users = users.filter((u) => u.id !== me && !peers.has(u.id));
            if (users.length) {
                out.push(h('div.pick-head', t('fwd.contacts')));
                for (const u of users) out.push(row({ key: 'u' + u.id, user: u, name: u.name }, u.title || u.account || '', avatar(org.user(u.id) || u, 32)));
            }
        }
        if (my !== ticket) return;
        fill(list, out.length ? out : h('p.empty', t('fwd.none')));
    }

    async function send() {
        err.textContent = '';
        if (!chosen.size) { err.textContent = t('fwd.pick_target'); return false; }
        const title = heading.value.replace(/[\r\n]+/g, ' ').trim();
        let ok = 0;
        const failed = [];
        for (const e of [...chosen.values()]) {
            try {
                let convId = e.conv && e.conv.id;
                if (!convId) convId = (await api('POST', '/conversations', { kind: 'direct', user_id: e.user.id })).conversation.id;
                const b = { client_msg_id: newClientId(), from_conv_id: fromConvId, seqs };
                if (title) b.title = title;
                await api('POST', `/conversations/${convId}/forward`, b);
                chosen.delete(e.key);
                ok++;
            } catch (x) {
                failed.push(e.name + ': ' + (x.userMessage || String(x)));
            }
        }
        if (failed.length) { err.textContent = t('fwd.partial', { msg: failed.join('; ') }); render(); return false; }
        toast(ok > 1 ? t('fwd.done_n', { n: ok }) : t('fwd.done'), 'success');
        if (onSent) onSent();
        return true;
    }

    search.addEventListener('input', debounce(() => { query = search.value.trim(); render(); }, 200));
    render();
    api('GET', '/conversations', null, { query: { limit: 200 } }).then((j) => {
        convs = j.conversations.filter((c) => c.kind !== 'app' && !c.dissolved && !c.left);
        render();
    }).catch((e) => { convs = []; err.textContent = e.userMessage || String(e); render(); });
    return dlg;
}

messageActions.push({
    id: 'forward', icon: 'forward', label: () => t('fwd.forward'),
    when: (m) => canForward(m),
    run: (m, ctx) => openForward({ fromConvId: ctx.conv.id, seqs: [m.seq] }),
});
messageActions.push({
    id: 'multi-select', icon: 'check', label: () => t('fwd.multi'),
    when: (m, ctx) => canForward(m) && !!(ctx && ctx.view && ctx.view.startSelection),
    run: (m, ctx) => ctx.view.startSelection({
        label: t('fwd.forward'), initial: [m.seq], selected: [m.seq],
        onConfirm: (seqs) => {
            const list = [...new Set((seqs || []).map(Number).filter(Boolean))].sort((a, b) => a - b);
            if (!list.length) return false;
            openForward({ fromConvId: ctx.conv.id, seqs: list });
        },
    }),
});

// ---- the card (kind 5) and its items

function itemLines(items, n = 4) {
    return items.slice(0, n).map((it) => h('div.fwd-line', h('span.fwd-line-who', (it.sender_name || org.name(it.sender_id)) + '：'),
        h('span.fwd-line-text', previewOf(it.kind, it.body))));
}

export function forwardCard(body, onOpen) {
    const items = Array.isArray(body.items) ? body.items : [];
    return h('button.fwd-card', { type: 'button', dataset: { test: 'msg-forward' }, onclick: (e) => { e.stopPropagation(); onOpen(); } },
        h('div.fwd-card-title', body.title || t('fwd.history')),
        h('div.fwd-card-lines', itemLines(items)),
        h('div.fwd-card-foot', icon('forward'), t('fwd.card_foot'), items.length ? h('span.fwd-card-n', t('fwd.items_n', { n: items.length })) : null));
}

function itemContent(it) {
    const b = it.body || {};
    switch (it.kind) {
    case 1: return h('div.fwd-item-text', b.quote && b.quote.preview ? h('div.fwd-item-quote', b.quote.preview) : null, b.text || '');
    case 2: return b.file_id ? imageBox(b, { max: 200 }) : h('div.fwd-item-text', previewOf(2, b));
    case 3: return b.file_id ? fileCard(b) : h('div.fwd-item-text', previewOf(3, b));
    case 5: return forwardCard(b, () => openItems({ title: b.title, items: b.items || [] }));
    default: return h('div.fwd-item-text', previewOf(it.kind, b));
    }
}

function itemRow(it) {
    const u = org.user(it.sender_id) || { id: it.sender_id || 0, name: it.sender_name || '' };
    return h('div.fwd-item', { dataset: { test: 'forward-item' } },
        avatar({ ...u, name: it.sender_name || u.name }, 32),
        h('div.fwd-item-main',
            h('div.fwd-item-head', h('span.fwd-item-who', it.sender_name || u.name), h('span.fwd-item-time', fmtTime(it.created_at, { full: true }))),
            itemContent(it)));
}

// the items dialog: from the server (convId + seq, paged) or from a nested body
export function openItems({ convId, seq, title, items: given }) {
    const list = h('div.fwd-items', { dataset: { test: 'forward-items', images: '1' } });
    const more = h('button.btn.btn-sm.fwd-more', { type: 'button', hidden: true, onclick: () => page() }, t('fwd.more'));
    const sub = h('p.fwd-count');
    const dlg = modal({ title: title || t('fwd.history'), body: h('div', sub, list, more), wide: true, testId: 'forward-view' });
    let offset = 0;
    const LIMIT = 50;
    async function page() {
        more.disabled = true;
        try {
            let items, total;
            if (given) { items = given.slice(offset, offset + LIMIT); total = given.length; }
            else {
                const j = await api('GET', `/conversations/${convId}/messages/${seq}/forward`, null, { query: { offset, limit: LIMIT } });
                items = j.items; total = j.total;
                if (j.title) dlg.el.querySelector('.modal-head h2').textContent = j.title;
            }
            offset += items.length;
            for (const it of items) list.appendChild(itemRow(it));
            sub.textContent = t('fwd.items_n', { n: total });
            more.hidden = offset >= total || !items.length;
        } catch (e) {
            toast(e.userMessage || String(e), 'error');
        } finally { more.disabled = false; }
    }
    page();
    return dlg;
}

messageRenderers[5] = (msg, ctx) => {
    const b = msg.body || {};
    if (b.recalled) return null;
    const convId = msg.conv_id || (ctx && ctx.conv && ctx.conv.id);
    return forwardCard(b, () => openItems({ convId, seq: msg.seq, title: b.title }));
};
