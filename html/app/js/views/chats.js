// The conversations section: the list (search, pinned first, unread badges,
// drafts, [@me], a menu per row) and the open conversation.
import { h, fill, icon, avatar, debounce } from '../dom.js';
import { t, register, fmtTime } from '../i18n.js';
import { scope } from '../bus.js';
import { session } from '../session.js';
import { org } from '../store/org.js';
import { convStore, localPreview } from '../store/convs.js';
import { navigate } from '../router.js';
import { menu, toast, emptyState } from '../ui.js';
import { listActions } from '../chat-hooks.js';
import { mountChat, groupAvatar } from './chat.js';
import { recallText, systemText } from './message.js';
import { notifyBanner } from '../notify.js';

register({
    'zh-CN': {
        'chats.title': '消息', 'chats.search': '搜索会话', 'chats.empty': '还没有会话，去通讯录找同事聊聊吧',
        'chats.no_match': '没有匹配的会话', 'chats.pick': '选择一个会话开始聊天', 'chats.draft': '[草稿]', 'chats.at_me': '[有人@我]',
        'chats.pin': '置顶', 'chats.unpin': '取消置顶', 'chats.mute': '消息免打扰', 'chats.unmute': '取消免打扰', 'chats.mark_read': '标为已读',
        'chats.more': '更多操作', 'chats.pinned': '已置顶', 'chats.muted': '免打扰', 'chats.go_contacts': '打开通讯录',
        'chats.sender': '{name}：', 'chats.system': '[系统消息]',
    },
    en: {
        'chats.title': 'Chats', 'chats.search': 'Search chats', 'chats.empty': 'No conversations yet: find a colleague in Contacts',
        'chats.no_match': 'No matching conversation', 'chats.pick': 'Pick a conversation to start chatting', 'chats.draft': '[Draft]', 'chats.at_me': '[@me]',
        'chats.pin': 'Pin', 'chats.unpin': 'Unpin', 'chats.mute': 'Mute', 'chats.unmute': 'Unmute', 'chats.mark_read': 'Mark as read',
        'chats.more': 'More', 'chats.pinned': 'Pinned', 'chats.muted': 'Muted', 'chats.go_contacts': 'Open Contacts',
        'chats.sender': '{name}: ', 'chats.system': '[System]',
    },
});

export function mount(el, route) {
    const sc = scope();
    const me = session.user;
    let filter = '';
    let chat = null;
    let openId = null;

    const searchInput = h('input', { type: 'search', placeholder: t('chats.search'), 'aria-label': t('chats.search'), dataset: { test: 'conv-search' },
        oninput: debounce(() => { filter = searchInput.value.trim().toLowerCase(); renderList(); }, 80) });
    const listEl = h('div.pane-body.conv-list', { role: 'list', dataset: { test: 'conv-list' } });
    const actions = h('div.conv-list-actions');
    // features may register their buttons after the section mounted (modules loaded later)
    function renderActions() {
        if (actions.childElementCount === listActions.length) return;
        actions.replaceChildren(...listActions.map((a) => h('button.icon-btn', {
            type: 'button', title: a.label(), 'aria-label': a.label(), dataset: { test: 'list-' + a.id }, onclick: () => a.run() }, icon(a.icon || 'plus'))));
    }
    renderActions();
    const listPane = h('aside.pane-list.conv-pane',
        h('header.pane-head', h('h2', t('chats.title')), actions),
        h('div.search-box', icon('search'), searchInput),
        notifyBanner(),
        listEl);
    const main = h('div.pane-main.chat-pane');
    fill(el, listPane, main);

    function previewText(c) {
        const lm = c.last_message;
        if (!lm) return '';
        if (lm.kind === 7) return recallText(c.id, lm.sender_id, null, me.id);
        if (lm.recalled) return recallText(c.id, lm.sender_id, lm.sender_id, me.id);
        if (lm.kind === 6) {
            const full = lm.body ? lm : convStore.message(c.id, lm.seq);
            return full && full.body ? systemLine(c, full) : (lm.preview || t('chats.system'));
        }
        const prefix = c.kind !== 'direct' && c.kind !== 'app' && lm.sender_id && lm.sender_id !== me.id ? t('chats.sender', { name: convStore.memberName(c.id, lm.sender_id) }) : '';
        return prefix + (lm.kind === 1 || lm.kind === 4 ? (lm.preview || '') : localPreview(lm.preview || ''));
    }
    function systemLine(c, lm) {
        return sysText({ ...lm, conv_id: c.id });
    }

    // what a row shows; the element is rebuilt only when this changes
    function rowData(c) {
        const draft = c.id !== openId ? convStore.draft(c.id) : '';
        const peer = c.kind === 'direct' && c.peer ? (org.user(c.peer.id) || c.peer) : null;
        return {
            id: c.id, kind: c.kind, name: convStore.displayName(c), peer: peer ? [peer.id, peer.name] : null,
            draft: draft ? draft.replace(/\s+/g, ' ') : '', atMe: convStore.atMe(c.id) && c.unread > 0,
            preview: draft ? '' : previewText(c), unread: c.unread || 0, muted: !!c.muted, pinned: !!c.pinned,
            time: fmtTime((c.last_message && c.last_message.created_at) || c.last_activity_at), active: c.id === openId,
        };
    }

    function row(c, d) {
        const av = d.peer ? avatar({ id: d.peer[0], name: d.peer[1] }, 42)
            : c.kind === 'app' ? avatar({ id: c.id, name: c.name }, 42) : groupAvatar({ ...c, name: d.name }, 42);
        const badge = d.unread > 0 ? h('span.badge.inline.conv-badge', { class: d.muted ? 'dim' : '', dataset: { test: 'conv-badge' } }, d.unread > 99 ? '99+' : String(d.unread)) : null;
        const sub = h('div.sub.conv-preview', { dataset: { test: 'conv-preview' } },
            d.atMe ? h('span.tag-at', t('chats.at_me')) : null,
            d.draft ? h('span.tag-draft', t('chats.draft')) : null,
            d.draft || d.preview);
        const more = h('button.icon-btn.conv-more', { type: 'button', title: t('chats.more'), 'aria-label': t('chats.more'), dataset: { test: 'conv-more' },
            onclick: (e) => { e.preventDefault(); e.stopPropagation(); rowMenu(e, convStore.get(c.id) || c); } }, icon('more'));
        return h('a.list-item.conv-item', {
            href: '#/chats/' + c.id, role: 'listitem',
            class: (d.active ? 'active' : '') + (d.pinned ? ' pinned' : '') + (d.muted ? ' muted' : ''),
            dataset: { test: 'conv-item', conv: c.id, name: d.name },
            oncontextmenu: (e) => { e.preventDefault(); rowMenu(e, convStore.get(c.id) || c); },
        }, h('span.conv-av', av),
        h('div.grow',
            h('div.conv-top', h('span.title', d.name), h('span.conv-time', d.time)),
            h('div.conv-bottom', sub,
                d.muted ? h('span.conv-flag', { title: t('chats.muted'), dataset: { test: 'conv-muted' } }, icon('mute')) : null,
                d.pinned ? h('span.conv-flag.pin', { title: t('chats.pinned'), dataset: { test: 'conv-pinned' } }, icon('pin')) : null,
                badge)),
        more);
    }
    const rows = new Map();     // conv id -> {sig, el}

    function rowMenu(e, c) {
        menu(e, [
            { label: c.pinned ? t('chats.unpin') : t('chats.pin'), icon: 'pin', testId: 'conv-pin', onClick: () => settings(c, { pinned: !c.pinned }) },
            { label: c.muted ? t('chats.unmute') : t('chats.mute'), icon: c.muted ? 'bell' : 'mute', testId: 'conv-mute', onClick: () => settings(c, { muted: !c.muted }) },
            c.unread > 0 ? { label: t('chats.mark_read'), icon: 'check', testId: 'conv-read', onClick: () => convStore.markRead(c.id, c.last_seq) } : null,
        ].filter(Boolean));
    }
    async function settings(c, s) {
        try { await convStore.setSettings(c.id, s); } catch (e) { toast(e.userMessage || String(e), 'error'); }
    }

    function renderList() {
        renderActions();
        const all = convStore.list();
        const shown = filter ? all.filter((c) => {
            const u = c.peer && org.user(c.peer.id);
            return [convStore.displayName(c), u && u.name_pinyin, u && u.name_initials, u && u.account].filter(Boolean).some((s) => String(s).toLowerCase().includes(filter));
        }) : all;
        if (!convStore.loaded && !all.length) { fill(listEl, h('div.empty', t('common.loading'))); return; }
        if (!shown.length) {
            fill(listEl, filter ? emptyState(t('chats.no_match')) : emptyState(t('chats.empty'), { label: t('chats.go_contacts'), onClick: () => navigate('#/contacts') }));
            return;
        }
        const els = shown.map((c) => {
            const d = rowData(c);
            const sig = JSON.stringify(d);
            let r = rows.get(c.id);
            if (!r || r.sig !== sig) { r = { sig, el: row(c, d) }; rows.set(c.id, r); }
            return r.el;
        });
        const cur = listEl.children;
        if (cur.length !== els.length || els.some((el, i) => cur[i] !== el)) {
            const top = listEl.scrollTop;
            listEl.replaceChildren(...els);
            listEl.scrollTop = top;
        }
    }

    function showChat(id) {
        if (chat && chat.convId === id) return;
        if (chat) { chat.unmount(); chat = null; }
        openId = id;
        if (!id) {
            fill(main, h('div.placeholder', h('img', { src: 'img/logo.svg', alt: '' }), t('chats.pick')));
        } else {
            chat = mountChat(main, id);
        }
        renderList();
    }

    function update(r) {
        const id = Number(r.parts[0]);
        showChat(Number.isInteger(id) && id > 0 ? id : null);
    }

    sc.on('convs:list', renderList);
    sc.on('org:changed', renderList);
    sc.on('org:ready', renderList);
    update(route);
    if (!convStore.loaded) convStore.load().catch((e) => toast(e.userMessage || String(e), 'error'));

    return {
        update,
        unmount() { sc.off(); if (chat) chat.unmount(); chat = null; },
    };
}

function sysText(m) { return systemText(m, session.user.id); }
