// One conversation on screen: header, history (infinite scroll upwards,
// date separators, own messages on the right, pending/failed sends), the
// typing line, the composer, hover actions and read receipts.  Features plug
// in through chat-hooks.js (renderers, actions, tools, header buttons).
import { h, icon, avatar, throttle } from '../dom.js';
import { t, register, parseTime, fmtTime } from '../i18n.js';
import { scope } from '../bus.js';
import { session } from '../session.js';
import { org } from '../store/org.js';
import { convStore } from '../store/convs.js';
import { navigate } from '../router.js';
import { api } from '../api.js';
import { toast, modal, confirmDialog, menu, emptyState } from '../ui.js';
import { messageActions, headerActions } from '../chat-hooks.js';
import { messageRow, noticeRow, recallText } from './message.js';
import { createComposer } from './composer.js';

register({
    'zh-CN': {
        'chat.members_n': '{n} 人', 'chat.online': '在线', 'chat.offline': '离线', 'chat.typing_one': '{name} 正在输入…',
        'chat.typing_many': '{names} 正在输入…', 'chat.typing_direct': '对方正在输入…',
        'chat.new_msgs': '{n} 条新消息', 'chat.load_more': '加载更早的消息', 'chat.history_start': '以上是全部消息',
        'chat.not_found': '会话不存在，或你已不在其中', 'chat.act.reply': '回复', 'chat.act.copy': '复制', 'chat.act.recall': '撤回',
        'chat.act.more': '更多', 'chat.copied': '已复制', 'chat.recall_q': '撤回这条消息？', 'chat.recall_text': '撤回后，所有人都将看不到这条消息。',
        'chat.recall_ok': '撤回', 'chat.selected_n': '已选择 {n} 条', 'chat.select_hint': '点击消息以选择',
        'chat.unread_below': '以下为新消息', 'chat.reads_title': '消息接收情况', 'chat.reads_read': '已读 ({n})', 'chat.reads_unread': '未读 ({n})', 'chat.app': '应用',
    },
    en: {
        'chat.members_n': '{n} members', 'chat.online': 'Online', 'chat.offline': 'Offline', 'chat.typing_one': '{name} is typing…',
        'chat.typing_many': '{names} are typing…', 'chat.typing_direct': 'typing…',
        'chat.new_msgs': '{n} new messages', 'chat.load_more': 'Load earlier messages', 'chat.history_start': 'This is the beginning of the conversation',
        'chat.not_found': 'This conversation does not exist or you are no longer in it', 'chat.act.reply': 'Reply', 'chat.act.copy': 'Copy', 'chat.act.recall': 'Recall',
        'chat.act.more': 'More', 'chat.copied': 'Copied', 'chat.recall_q': 'Recall this message?', 'chat.recall_text': 'Nobody will see this message any more.',
        'chat.recall_ok': 'Recall', 'chat.selected_n': '{n} selected', 'chat.select_hint': 'Click messages to select them',
        'chat.unread_below': 'New messages', 'chat.reads_title': 'Read receipts', 'chat.reads_read': 'Read ({n})', 'chat.reads_unread': 'Unread ({n})', 'chat.app': 'App',
    },
});

const RECALL_WINDOW_MS = 2 * 60 * 1000;     // youdu_recall_window default; the server decides
const GROUP_GAP_MS = 3 * 60 * 1000;
const SEP_GAP_MS = 10 * 60 * 1000;
const isContent = (m) => m && m.kind >= 1 && m.kind <= 5 && !m.recalled && m.seq > 0;

// the built-in actions (features push theirs after these)
messageActions.unshift(
    { id: 'reply', icon: 'reply', label: () => t('chat.act.reply'),
      when: (m, ctx) => isContent(m) && !ctx.conv.left && !ctx.conv.dissolved && [1, 2, 3, 5].includes(m.kind),
      run: (m, ctx) => ctx.composer.setQuote(m) },
    { id: 'copy', icon: 'copy', label: () => t('chat.act.copy'),
      when: (m) => isContent(m) && m.kind === 1,
      run: async (m) => { try { await navigator.clipboard.writeText(m.body.text || ''); toast(t('chat.copied'), 'success'); } catch { toast(t('chat.copied')); } } },
    { id: 'recall', icon: 'recall', label: () => t('chat.act.recall'),
      when: (m, ctx) => {
          if (!isContent(m) || ctx.conv.left || ctx.conv.dissolved) return false;
          if (ctx.conv.kind === 'group' && ctx.conv.my_role >= 1) return true;
          const at = parseTime(m.created_at);
          return m.sender_id === ctx.me.id && at && Date.now() - at.getTime() < RECALL_WINDOW_MS;
      },
      run: async (m, ctx) => {
          if (!await confirmDialog({ title: t('chat.recall_q'), text: t('chat.recall_text'), ok: t('chat.recall_ok'), danger: true })) return;
          try { await convStore.recall(ctx.conv.id, m.seq); } catch (e) { toast(e.userMessage || String(e), 'error'); }
      } },
);

export function mountChat(host, convId, { onMissing } = {}) {
    const sc = scope();
    const me = session.user;
    let conv = convStore.get(convId) || null;
    let composer = null;
    let selection = null;         // {label, onConfirm, seqs: Set}
    let newCount = 0;
    let destroyed = false;
    const nodes = new Map();      // key -> {sig, el, status}
    const seps = new Map();       // key of the message after it -> {label, el}
    let firstRender = true;
    let unreadFrom = 0;           // the first seq that was unread when the conversation was opened

    const view = {
        get conv() { return conv; },
        reload: () => reload(),
        scrollToSeq: (seq) => scrollToSeq(seq),
        startSelection: (opts) => startSelection(opts),
        endSelection: () => endSelection(),
        members: () => convStore.members(convId),
        // a send with the pending/failed/retry bubble: {kind: 'text', text, mentions?, mention_all?, quote?}
        // or {kind: 'image'|'file', file_id, body: {name, size, mime, width, height, preview...} (shown while pending), quote?}
        send: (msg) => convStore.send(convId, msg),
    };
    const ctx = { get conv() { return conv; }, me, view, get composer() { return composer; } };

    const titleEl = h('h2', { dataset: { test: 'chat-title' } });
    const subEl = h('div.chat-sub', { dataset: { test: 'chat-sub' } });
    const headAv = h('span.chat-head-av');
    const headBtns = h('div.chat-head-actions');
    const head = h('header.pane-head.chat-head',
        h('button.back.icon-btn', { type: 'button', 'aria-label': t('common.back'), title: t('common.back'), dataset: { test: 'chat-back' }, onclick: () => navigate('#/chats') }, icon('back')),
        headAv, h('div.chat-head-text', titleEl, subEl), headBtns);
    const list = h('div.msg-list', { dataset: { test: 'msg-list' } });
    const topLine = h('div.history-top');
    const body = h('div.chat-body', { dataset: { test: 'chat-body' } }, topLine, list);
    const newBtn = h('button.new-msgs', { type: 'button', hidden: true, dataset: { test: 'new-msgs' }, onclick: () => { toBottom(); } }, icon('chevron'), h('span'));
    const typingEl = h('div.typing-line', { dataset: { test: 'typing' }, 'aria-live': 'polite' });
    const selBar = h('div.select-bar', { hidden: true, dataset: { test: 'select-bar' } });
    const composerHost = h('div.composer-host');
    const root = h('div.chat', { dataset: { test: 'chat', conv: convId } }, head, h('div.chat-mid', body, newBtn), typingEl, selBar, composerHost);
    host.replaceChildren(root);

    const emptyNote = h('div.chat-empty', t('common.none'));
    const unreadLine = h('div.unread-line', { dataset: { test: 'unread-line' } }, h('span', t('chat.unread_below')));
    const atBottom = () => body.scrollHeight - body.scrollTop - body.clientHeight < 48;
    function toBottom() { body.scrollTop = body.scrollHeight; stick = true; newCount = 0; newBtn.hidden = true; maybeSeen(); }

    function maybeSeen() {
        if (destroyed || !conv) return;
        if (document.visibilityState === 'visible' && document.hasFocus() && atBottom()) convStore.seen(convId);
    }

    // ---- header
    function renderHead() {
        if (!conv) return;
        titleEl.textContent = convStore.displayName(conv);
        titleEl.title = titleEl.textContent;
        if (conv.kind === 'direct' && conv.peer) {
            const p = org.presence(conv.peer.id);
            subEl.replaceChildren(h('span.dot', { class: p.online ? 'online' : '' }), p.online ? t('chat.online') : t('chat.offline'));
            headAv.replaceChildren(avatar(org.user(conv.peer.id) || conv.peer, 34));
        } else if (conv.kind === 'app') {
            subEl.textContent = t('chat.app');
            headAv.replaceChildren(avatar({ id: conv.id, name: conv.name }, 34));
        } else {
            subEl.textContent = t('chat.members_n', { n: conv.member_count || 0 });
            headAv.replaceChildren(groupAvatar(conv.name ? conv : { ...conv, name: convStore.displayName(conv) }, 34));
        }
        // the buttons stay the same elements (a click must not land on one being replaced); only their visibility follows conv
        if (headBtns.childElementCount !== headerActions.length) {
            headBtns.replaceChildren(...headerActions.map((a) => {
                const b = h('button.icon-btn', { type: 'button', title: a.label(), 'aria-label': a.label(), dataset: { test: 'head-' + a.id }, onclick: () => a.run(conv, ctx) }, icon(a.icon || 'more'));
                b._action = a;
                return b;
            }));
        }
        for (const b of headBtns.children) { let on = false; try { on = !b._action.when || !!b._action.when(conv); } catch { on = false; } b.hidden = !on; }
        if (composer) {
            composer.setBlocked(conv.dissolved ? t('chat.dissolved_notice') : conv.left ? t('chat.left_notice') : '');
        }
    }

    function renderTyping() {
        const ids = convStore.typingUsers(convId);
        if (!ids.length) { typingEl.replaceChildren(); typingEl.classList.remove('on'); return; }
        const text = conv && conv.kind === 'direct' ? t('chat.typing_direct')
            : ids.length === 1 ? t('chat.typing_one', { name: convStore.memberName(convId, ids[0]) })
                : t('chat.typing_many', { names: ids.map((i) => convStore.memberName(convId, i)).join(t('chat.sep')) });
        typingEl.replaceChildren(h('span.typing-dots', h('i'), h('i'), h('i')), text);
        typingEl.classList.add('on');
        clearTimeout(typingEl._t);
        typingEl._t = setTimeout(renderTyping, 5200);
    }

    // ---- messages
    function actionsFor(m) {
        return messageActions.filter((a) => { try { return a.when ? a.when(m, ctx) : true; } catch { return false; } });
    }
    function openMenu(e, m) {
        const acts = actionsFor(m);
        if (!acts.length) return;
        e.preventDefault();
        menu(e, acts.map((a) => ({ label: a.label(), icon: a.icon, danger: a.id === 'recall', testId: 'act-' + a.id, onClick: () => a.run(m, ctx) })));
    }
    // the hover bar: the first three actions that apply now (recall depends on the time), the rest under "more"
    function fillBar(bar, m) {
        const acts = actionsFor(m);
        bar.hidden = !acts.length;
        bar.replaceChildren(...acts.slice(0, 3).map((a) => h('button.icon-btn', {
            type: 'button', title: a.label(), 'aria-label': a.label(), dataset: { test: 'act-' + a.id },
            onclick: (e) => { e.stopPropagation(); a.run(m, ctx); } }, icon(a.icon || 'more'))),
        acts.length > 3 ? h('button.icon-btn', { type: 'button', title: t('chat.act.more'), 'aria-label': t('chat.act.more'), dataset: { test: 'act-more' },
            onclick: (e) => { e.stopPropagation(); openMenu(e, m); } }, icon('more')) : '');
    }
    function hoverBar(m) {
        const bar = h('div.msg-actions');
        fillBar(bar, m);
        bar._refresh = () => fillBar(bar, m);
        return bar;
    }

    function statusNode(m) {
        if (!conv || conv.kind === 'app') return null;
        const el = h('button.msg-status', { type: 'button', dataset: { test: 'read-status' }, onclick: () => showReads(m) });
        updateStatus(el, m, false);
        return el;
    }
    function updateStatus(el, m, fetch) {
        const r = convStore.reads(convId, m.seq, { fetch });
        if (!r) { el.textContent = ''; el.classList.add('empty'); return; }
        el.classList.remove('empty');
        const total = r.read.size + r.unread.size;
        if (conv.kind === 'direct') {
            el.textContent = r.read.size ? t('chat.read') : t('chat.unread');
            el.classList.toggle('is-read', r.read.size > 0);
        } else {
            el.textContent = r.unread.size === 0 && total ? t('chat.all_read') : t('chat.read_n', { n: r.read.size, m: total });
            el.classList.toggle('is-read', r.unread.size === 0);
        }
    }
    // the newest of my messages get their receipts (older ones on demand)
    function refreshStatuses() {
        let budget = 20;
        const keys = [...nodes.keys()].reverse();
        for (const k of keys) {
            const n = nodes.get(k);
            if (!n.status) continue;
            updateStatus(n.status, n.msg, budget-- > 0);
        }
    }
    async function showReads(m) {
        let r;
        try { r = await convStore.readsFresh(convId, m.seq); } catch (e) { toast(e.userMessage || String(e), 'error'); return; }
        const col = (title, map, test) => h('div.reads-col', { dataset: { test } }, h('h3', title),
            h('div.reads-list', [...map].map(([id, name]) => h('div.reads-user', avatar(org.user(id) || { id, name }, 28), h('span', org.user(id)?.name || name)))));
        modal({ title: t('chat.reads_title'), testId: 'reads-dialog', body: h('div.reads', col(t('chat.reads_read', { n: r.read.size }), r.read, 'reads-read'), col(t('chat.reads_unread', { n: r.unread.size }), r.unread, 'reads-unread')) });
    }

    function items() {
        const msgs = convStore.messages(convId);
        const out = [];
        for (const m of msgs) {
            if (m.kind === 7) {
                const target = m.body && convStore.message(convId, m.body.recall_seq);
                if (target) continue;   // the recalled message itself shows the notice
            }
            out.push({ key: 'm' + m.seq, msg: m });
        }
        for (const p of convStore.pending(convId)) {
            const kind = p.kind === 'image' ? 2 : p.kind === 'file' ? 3 : 1;
            const bodyP = kind === 1 ? { text: p.text, mentions: p.mentions || [], mention_all: p.mention_all, quote: p.quote }
                : { ...(p.body || {}), file_id: p.file_id, quote: p.quote, pending: true };
            out.push({ key: 'p' + p.client_msg_id, pending: p, msg: {
                seq: 0, conv_id: convId, sender_id: me.id, kind, created_at: p.created_at, body: bodyP, client_msg_id: p.client_msg_id } });
        }
        return out;
    }

    function buildRow(it, grouped) {
        const m = it.msg;
        if (m.kind === 7) return noticeRow(recallText(convId, m.sender_id, null, me.id), m.seq);
        const mine = m.sender_id === me.id;
        const pendingState = it.pending && it.pending.state;
        let status = null;
        if (it.pending) {
            status = pendingState === 'failed'
                ? h('div.msg-failed', { dataset: { test: 'msg-failed' }, title: it.pending.error || '' }, icon('close'), t('chat.failed'),
                    h('button.link-btn', { type: 'button', dataset: { test: 'msg-retry' }, onclick: () => convStore.retry(convId, it.pending.client_msg_id).catch(() => {}) }, t('chat.retry')),
                    h('button.link-btn', { type: 'button', onclick: () => convStore.discard(convId, it.pending.client_msg_id) }, t('chat.discard')))
                : h('div.msg-sending', { dataset: { test: 'msg-sending' } }, t('chat.sending'));
        } else if (mine && isContent(m)) status = statusNode(m);
        const row = messageRow(m, ctx, {
            showName: conv && conv.kind !== 'direct', grouped, pending: !!it.pending, status,
            actions: it.pending || m.kind === 6 || m.recalled || selection ? null : hoverBar(m),
            onQuote: (seq) => scrollToSeq(seq),
            onAvatar: (uid) => uid && navigate('#/contacts/user/' + uid),
        });
        if (!it.pending && isContent(m)) {
            row.addEventListener('contextmenu', (e) => { if (!selection) openMenu(e, m); });
            row.addEventListener('mouseenter', () => { const bar = row.querySelector('.msg-actions'); if (bar && bar._refresh) bar._refresh(); });
            // touch screens: a long press opens the same menu
            let press = null;
            row.addEventListener('touchstart', (e) => {
                if (selection || e.touches.length !== 1) return;
                const tt = e.touches[0];
                press = setTimeout(() => { press = null; openMenu({ clientX: tt.clientX, clientY: tt.clientY, preventDefault() {}, currentTarget: row }, m); }, 550);
            }, { passive: true });
            const cancel = () => { clearTimeout(press); press = null; };
            row.addEventListener('touchend', cancel);
            row.addEventListener('touchmove', cancel, { passive: true });
            row.classList.add('selectable');
            row.addEventListener('click', (e) => {
                if (!selection) return;
                e.preventDefault();
                if (selection.seqs.has(m.seq)) selection.seqs.delete(m.seq); else selection.seqs.add(m.seq);
                syncSelection();
            });
        }
        return { el: row, status: it.pending ? null : (mine && isContent(m) ? status : null) };
    }

    function render({ older = false, forceBottom = false } = {}) {
        if (destroyed) return;
        // messages that came while the window was not looked at get the "new messages" line too
        if (!unreadFrom && conv && conv.unread > 0 && conv.last_read_seq && !(document.visibilityState === 'visible' && document.hasFocus())) unreadFrom = conv.last_read_seq + 1;
        const wasBottom = atBottom();
        const prevH = body.scrollHeight, prevTop = body.scrollTop;
        const its = items();
        const out = [];
        const seen = new Set();
        let prev = null;
        for (const it of its) {
            const m = it.msg;
            const at = parseTime(m.created_at), pat = prev && parseTime(prev.created_at);
            const newDay = !prev || !at || !pat || at.toDateString() !== pat.toDateString();
            const sep = newDay || (at && pat && at - pat > SEP_GAP_MS);
            if (unreadFrom && m.seq === unreadFrom && prev) out.push(unreadLine);
            if (sep && at) {
                const label = fmtTime(m.created_at, { full: true });
                let sn = seps.get(it.key);
                if (!sn || sn.label !== label) { sn = { label, el: h('div.msg-sep', { dataset: { test: 'date-sep' } }, h('span', label)) }; seps.set(it.key, sn); }
                out.push(sn.el);
            }
            const grouped = !sep && prev && prev.sender_id === m.sender_id && [1, 2, 3, 4, 5].includes(prev.kind) && !prev.recalled
                && [1, 2, 3, 4, 5].includes(m.kind) && !m.recalled && at && pat && at - pat < GROUP_GAP_MS;
            const sig = [m.kind, m.recalled ? 1 : 0, m.recalled_by ?? '', grouped ? 1 : 0, it.pending ? it.pending.state : '', selection ? 1 : 0, conv ? conv.kind : ''].join('|');
            let n = nodes.get(it.key);
            if (!n || n.sig !== sig || n.msg !== m && !it.pending) {
                const b = buildRow(it, grouped);
                n = { sig, el: b.el, status: b.status, msg: m };
                nodes.set(it.key, n);
            }
            seen.add(it.key);
            out.push(n.el);
            prev = m;
        }
        for (const k of [...nodes.keys()]) if (!seen.has(k)) nodes.delete(k);
        const st = convStore.cacheState(convId);
        topLine.replaceChildren(...[st.loaded && !st.hasOlder && its.length ? h('span', { dataset: { test: 'history-start' } }, t('chat.history_start'))
            : st.loaded && st.hasOlder ? h('button.link-btn', { type: 'button', dataset: { test: 'load-more' }, onclick: () => older_() }, t('chat.load_more')) : null].filter(Boolean));
        for (const k of [...seps.keys()]) if (!seen.has(k)) seps.delete(k);
        if (!its.length && st.loaded) out.push(emptyNote);
        // touch the DOM only when something changed (a click in progress must not lose its target)
        const cur = list.children;
        if (cur.length !== out.length || out.some((n, i) => cur[i] !== n)) list.replaceChildren(...out);
        if (selection) syncSelection();
        if (older) body.scrollTop = prevTop + (body.scrollHeight - prevH);
        else if (forceBottom || wasBottom || firstRender) body.scrollTop = body.scrollHeight;
        if (st.loaded) firstRender = false;
        refreshStatuses();
        maybeSeen();
        // the first page does not fill the screen: fetch more
        if (st.loaded && st.hasOlder && body.scrollHeight <= body.clientHeight + 40) older_();
    }

    let olderBusy = false;
    async function older_() {
        if (olderBusy) return false;
        olderBusy = true;
        try { return await convStore.loadOlder(convId); } catch (e) { toast(e.userMessage || String(e), 'error'); return false; } finally { olderBusy = false; }
    }

    async function scrollToSeq(seq) {
        for (let guard = 0; guard < 100 && !convStore.message(convId, seq); guard++) {
            const st = convStore.cacheState(convId);
            if (!st.hasOlder || (st.first && st.first <= seq)) break;
            if (!await convStore.loadOlder(convId)) break;
        }
        const el = list.querySelector(`[data-seq="${Number(seq)}"]`);
        if (!el) return false;
        el.scrollIntoView({ block: 'center' });
        el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
        return true;
    }

    // ---- multi-select (merged forward and friends)
    function startSelection({ label, onConfirm }) {
        selection = { label, onConfirm, seqs: new Set() };
        root.classList.add('selecting');
        composerHost.hidden = true;
        selBar.hidden = false;
        render();
    }
    function endSelection() {
        selection = null;
        root.classList.remove('selecting');
        composerHost.hidden = false;
        selBar.hidden = true;
        render();
    }
    function syncSelection() {
        if (!selection) return;
        for (const row of list.querySelectorAll('.msg.selectable')) {
            const on = selection.seqs.has(Number(row.dataset.seq));
            row.classList.toggle('selected', on);
            const cb = row.querySelector('.msg-select input');
            if (cb) cb.checked = on;
        }
        const n = selection.seqs.size;
        const ok = h('button.btn.btn-primary', { type: 'button', disabled: !n, dataset: { test: 'select-confirm' }, onclick: async () => {
            const s = selection; if (!s) return;
            ok.disabled = true;
            try { await s.onConfirm([...s.seqs].sort((a, b) => a - b)); endSelection(); } catch (e) { ok.disabled = false; if (e) toast(e.userMessage || String(e), 'error'); }
        } }, selection.label || t('common.ok'));
        selBar.replaceChildren(h('span.select-count', { dataset: { test: 'select-count' } }, n ? t('chat.selected_n', { n }) : t('chat.select_hint')),
            h('button.btn', { type: 'button', dataset: { test: 'select-cancel' }, onclick: endSelection }, t('common.cancel')), ok);
    }

    async function reload() {
        try { conv = await convStore.reload(convId) && convStore.get(convId); } catch (e) { toast(e.userMessage || String(e), 'error'); }
        renderHead(); render();
    }

    // ---- events
    let stick = true;
    body.addEventListener('scroll', () => { stick = atBottom(); }, { passive: true });
    const ro = new ResizeObserver(() => { if (stick && !destroyed) body.scrollTop = body.scrollHeight; });
    ro.observe(list);
    body.addEventListener('scroll', throttle(() => {
        if (body.scrollTop < 300) { const st = convStore.cacheState(convId); if (st.loaded && st.hasOlder) older_(); }
        if (atBottom()) { newCount = 0; newBtn.hidden = true; maybeSeen(); }
    }, 120));
    sc.on('convs:messages', ({ conv_id, older }) => {
        if (conv_id !== convId) return;
        const wasBottom = atBottom();
        const before = list.querySelectorAll('.msg, .msg-notice').length;
        render({ older });
        if (!older && !wasBottom) {
            const after = list.querySelectorAll('.msg, .msg-notice').length;
            if (after > before) { newCount += after - before; newBtn.querySelector('span').textContent = t('chat.new_msgs', { n: newCount }); newBtn.hidden = false; }
        }
    });
    sc.on('convs:list', () => { const c = convStore.get(convId); if (c) { const kindChanged = !conv; conv = c; renderHead(); if (kindChanged) render(); } });
    sc.on('convs:members', ({ conv_id }) => { if (conv_id === convId) { convStore.members(convId).then(() => { renderHead(); }).catch(() => {}); } });
    sc.on('convs:reads', ({ conv_id }) => { if (conv_id === convId || conv_id === 0) refreshStatuses(); });
    sc.on('convs:typing', ({ conv_id }) => { if (conv_id === convId) renderTyping(); });
    sc.on('presence', (ev) => { if (conv && conv.peer && ev.user_id === conv.peer.id) renderHead(); });
    sc.on('org:changed', () => renderHead());
    const onKey = (e) => { if (e.key === 'Escape' && selection && !document.querySelector('.modal-back')) { e.stopPropagation(); endSelection(); } };
    document.addEventListener('keydown', onKey);
    const onVis = () => maybeSeen();
    document.addEventListener('visibilitychange', onVis);
    window.addEventListener('focus', onVis);

    async function start() {
        convStore.setActive(convId);
        if (!conv) {
            try { await convStore.load(); } catch { /* below */ }
            conv = convStore.get(convId);
            if (!conv) {
                try { conv = await convStore.fetch(convId); } catch (e) {
                    if (destroyed) return;
                    root.replaceChildren(head, emptyState(e.status === 404 ? t('chat.not_found') : (e.userMessage || String(e))));
                    titleEl.textContent = '';
                    onMissing && onMissing();
                    return;
                }
            }
        }
        if (destroyed) return;
        if (conv.unread > 0 && conv.last_read_seq) unreadFrom = conv.last_read_seq + 1;
        composer = createComposer({ conv, ctx, onSent: () => { setTimeout(() => toBottom(), 0); } });
        composerHost.replaceChildren(composer.el);
        renderHead();
        if (conv.kind === 'direct' && conv.peer) org.watchPresence('chat', [conv.peer.id]);
        // an app conversation tells its app that the user came in (the server rate-limits it)
        if (conv.kind === 'app') api('POST', `/conversations/${convId}/enter`).catch(() => {});
        render();
        convStore.members(convId).then(() => { if (!destroyed) { renderHead(); render(); } }).catch(() => {});
        try { await convStore.loadInitial(convId); } catch (e) { toast(e.userMessage || String(e), 'error'); }
        if (destroyed) return;
        render({ forceBottom: true });
        composer.focus();
    }
    start();

    return {
        convId,
        unmount() {
            destroyed = true;
            sc.off();
            document.removeEventListener('visibilitychange', onVis);
            document.removeEventListener('keydown', onKey);
            ro.disconnect();
            window.removeEventListener('focus', onVis);
            if (convStore.active === convId) convStore.setActive(null);
            org.watchPresence('chat', []);
            composer && composer.destroy();
        },
    };
}

// a group's avatar: its name's initials on a colour of its id, with a small group mark
export function groupAvatar(conv, size) {
    const name = (conv.name || '').trim();
    const a = avatar({ id: conv.id, name: name || '#' }, size);
    a.classList.add('group-av');
    // the first characters of the name ("项目组" -> "项目"), not its last digits
    const chars = [...name.replace(/[\s\p{P}\p{S}]/gu, '')];
    const words = name.split(/[\s\p{P}\p{S}]+/u).filter(Boolean);
    if (!chars.length) a.replaceChildren(icon('users'));
    else if (/[\u4e00-\u9fff]/.test(chars[0])) a.textContent = chars.slice(0, 2).join('');
    else a.textContent = (words.length > 1 ? words[0][0] + words[1][0] : chars.slice(0, 2).join('')).toUpperCase();
    return a;
}

