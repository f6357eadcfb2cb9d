// The message composer: textarea (Enter sends, Shift+Enter a new line),
// emoji picker, @mention autocomplete, the quote bar, typing notices and
// the tools features add (chat-hooks composerTools; files via hooks.fileSender).
import { h, icon, avatar } from '../dom.js';
import { t, register } from '../i18n.js';
import { org } from '../store/org.js';
import { convStore, localPreview } from '../store/convs.js';
import { composerTools, hooks } from '../chat-hooks.js';
import { toast } from '../ui.js';
import { EMOJI } from '../emoji.js';
import { whoName } from './message.js';

register({
    'zh-CN': { 'chat.placeholder': '输入消息，Enter 发送，Shift+Enter 换行', 'chat.send': '发送', 'chat.emoji': '表情',
               'chat.mention': '提及成员 (@)', 'chat.mention_all': '所有人', 'chat.mention_all_hint': '通知全体成员',
               'chat.reply_to': '回复 {name}', 'chat.cancel_quote': '取消引用', 'chat.too_long': '消息太长（最多 5000 字）',
               'chat.no_file': '暂不支持发送文件', 'chat.left_notice': '你已不在此会话中，无法发送消息', 'chat.dissolved_notice': '该群已解散' },
    en: { 'chat.placeholder': 'Type a message; Enter sends, Shift+Enter for a new line', 'chat.send': 'Send', 'chat.emoji': 'Emoji',
          'chat.mention': 'Mention someone (@)', 'chat.mention_all': 'all', 'chat.mention_all_hint': 'Notify every member',
          'chat.reply_to': 'Replying to {name}', 'chat.cancel_quote': 'Cancel reply', 'chat.too_long': 'The message is too long (5,000 characters at most)',
          'chat.no_file': 'Sending files is not available', 'chat.left_notice': 'You are no longer in this conversation and cannot send messages', 'chat.dissolved_notice': 'This group was dissolved' },
});

const TYPING_EVERY = 3000;

export function createComposer({ conv, ctx, onSent }) {
    const convId = conv.id;
    const me = ctx.me.id;
    let quote = null;                       // the message being replied to
    const mentionMap = new Map();           // "@Name" -> user id (chosen from the list)
    let mentionAll = false;
    let lastTyping = 0;
    let popup = null, popupItems = [], popupIndex = 0, popupRange = null;

    const ta = h('textarea.composer-input', {
        rows: 1, placeholder: t('chat.placeholder'), 'aria-label': t('chat.placeholder'), maxlength: 5000,
        dataset: { test: 'composer-input' },
    });
    ta.value = convStore.draft(convId);
    const quoteBar = h('div.quote-bar', { hidden: true, dataset: { test: 'quote-bar' } });
    const emojiPanel = h('div.emoji-panel', { hidden: true, dataset: { test: 'emoji-panel' } });
    const mentionBox = h('div.mention-popup', { hidden: true, role: 'listbox', dataset: { test: 'mention-popup' } });
    const sendBtn = h('button.btn.btn-primary.send-btn', { type: 'button', dataset: { test: 'send' }, onclick: () => send() }, t('chat.send'));
    const emojiBtn = h('button.icon-btn', { type: 'button', title: t('chat.emoji'), 'aria-label': t('chat.emoji'), dataset: { test: 'emoji-btn' },
        onclick: (e) => { e.stopPropagation(); toggleEmoji(); } }, icon('emoji'));
    const atBtn = conv.kind === 'direct' || conv.kind === 'app' ? null : h('button.icon-btn', { type: 'button', title: t('chat.mention'), 'aria-label': t('chat.mention'),
        onclick: () => { insertText('@'); onInput(); } }, icon('at'));
    const toolBtns = [];
    const api = {
        el: null,
        insertText, setQuote, focus: () => ta.focus(),
        async sendFile(file) {
            if (typeof hooks.fileSender !== 'function') { toast(t('chat.no_file'), 'error'); return; }
            return hooks.fileSender(file, ctx, { quote: takeQuote() });
        },
        get quote() { return quote; },
        get textarea() { return ta; },
    };
    for (const tool of composerTools) {
        toolBtns.push(h('button.icon-btn', { type: 'button', title: tool.label(), 'aria-label': tool.label(), dataset: { test: 'tool-' + tool.id },
            onclick: () => tool.run(api, ctx) }, icon(tool.icon || 'plus')));
    }
    const toolbar = h('div.composer-tools', emojiBtn, atBtn, toolBtns);
    const blocked = h('div.composer-blocked', { hidden: true, dataset: { test: 'composer-blocked' } });
    const el = h('div.composer', { dataset: { test: 'composer' } }, quoteBar, mentionBox, emojiPanel, toolbar,
        h('div.composer-row', ta, sendBtn), blocked);
    api.el = el;
    for (const tool of composerTools) { try { tool.mount && tool.mount(api, ctx); } catch (e) { console.error('composer tool', tool.id, e); } }

    function autosize() {
        ta.style.height = 'auto';
        ta.style.height = Math.min(ta.scrollHeight, 180) + 'px';
    }
    const saveDraft = () => convStore.setDraft(convId, ta.value);

    function insertText(s) {
        const start = ta.selectionStart ?? ta.value.length, end = ta.selectionEnd ?? start;
        ta.setRangeText(s, start, end, 'end');
        ta.focus();
        autosize(); saveDraft();
    }

    function setQuote(msg) {
        quote = msg;
        if (!msg) { quoteBar.hidden = true; return; }
        const b = msg.body || {};
        const preview = msg.kind === 1 ? (b.text || '').slice(0, 60) : localPreview(b.preview || b.text || '');
        quoteBar.replaceChildren(icon('reply'),
            h('div.quote-bar-text', h('b', t('chat.reply_to', { name: whoName(convId, msg.sender_id, me) })), h('span', preview)),
            h('button.icon-btn', { type: 'button', title: t('chat.cancel_quote'), 'aria-label': t('chat.cancel_quote'), dataset: { test: 'quote-cancel' },
                onclick: () => { setQuote(null); ta.focus(); } }, icon('close')));
        quoteBar.hidden = false;
        ta.focus();
    }
    function takeQuote() { const q = quote; setQuote(null); return q; }

    async function send() {
        const text = ta.value;
        if (!text.trim()) return;
        if ([...text].length > 5000) { toast(t('chat.too_long'), 'error'); return; }
        const mentions = [];
        for (const [tag, id] of mentionMap) if (text.includes(tag) && !mentions.includes(id)) mentions.push(id);
        const all = mentionAll && (text.includes('@' + t('chat.mention_all')) || text.includes('@所有人') || text.includes('@all'));
        const q = takeQuote();
        ta.value = ''; autosize(); saveDraft();
        mentionMap.clear(); mentionAll = false;
        closeMentions();
        lastTyping = 0;
        onSent && onSent();
        try {
            await convStore.send(convId, { text, mentions, mention_all: all || undefined, quote: q ? { seq: q.seq, sender_id: q.sender_id, preview: q.kind === 1 ? (q.body.text || '').slice(0, 60) : (q.body.preview || '') } : null });
        } catch { /* the bubble shows "not sent" with a retry */ }
    }

    // ---- emoji
    let emojiTab = 0;
    function renderEmoji() {
        const tabs = h('div.emoji-tabs', EMOJI.map((c, i) => h('button.emoji-tab', {
            type: 'button', class: i === emojiTab ? 'on' : '', title: t('emoji.' + c.id), 'aria-label': t('emoji.' + c.id),
            onclick: (e) => { e.stopPropagation(); emojiTab = i; renderEmoji(); } }, c.icon)));
        const grid = h('div.emoji-grid', EMOJI[emojiTab].list.map((em) => h('button.emoji', {
            type: 'button', 'aria-label': em, dataset: { test: 'emoji' },
            onclick: (e) => { e.stopPropagation(); insertText(em); } }, em)));
        emojiPanel.replaceChildren(h('div.emoji-title', t('emoji.' + EMOJI[emojiTab].id)), grid, tabs);
    }
    function toggleEmoji(force) {
        const show = force ?? emojiPanel.hidden;
        if (show) renderEmoji();
        emojiPanel.hidden = !show;
    }
    const outside = (e) => { if (!emojiPanel.hidden && !emojiPanel.contains(e.target) && e.target !== emojiBtn) toggleEmoji(false); };
    document.addEventListener('mousedown', outside);

    // ---- @mentions
    async function candidates(q) {
        let list = [];
        try { list = await convStore.members(convId); } catch { list = []; }
        const ql = q.toLowerCase();
        const out = [];
        for (const m of list) {
            if (m.user_id === me) continue;
            const u = org.user(m.user_id) || {};
            const name = u.name || m.name || '';
            const keys = [name, u.name_pinyin, u.name_initials, u.account].filter(Boolean).map((s) => String(s).toLowerCase().replace(/\s+/g, ''));
            if (!ql || keys.some((k) => k.startsWith(ql)) || name.toLowerCase().includes(ql)) out.push({ id: m.user_id, name, sub: u.account || '' });
            if (out.length >= 8) break;
        }
        const c = convStore.get(convId) || conv;
        if (c.kind === 'group' && c.my_role >= 1) {
            const allWord = t('chat.mention_all');
            if (!ql || allWord.startsWith(ql) || 'all'.startsWith(ql) || '所有人'.startsWith(ql) || 'suoyouren'.startsWith(ql)) out.unshift({ id: 'all', name: allWord, sub: t('chat.mention_all_hint') });
        }
        return out;
    }
    function closeMentions() { mentionBox.hidden = true; popupItems = []; popupRange = null; }
    function renderMentions() {
        mentionBox.replaceChildren(...popupItems.map((it, i) => h('button.mention-item', {
            type: 'button', role: 'option', class: i === popupIndex ? 'on' : '', 'aria-selected': String(i === popupIndex),
            dataset: { test: 'mention-option' },
            onmousedown: (e) => { e.preventDefault(); pick(i); },
        }, it.id === 'all' ? h('span.avatar.at-all', icon('at')) : avatar(org.user(it.id) || { id: it.id, name: it.name }, 26),
        h('span.mi-name', it.name), h('span.mi-sub', it.sub))));
        mentionBox.hidden = !popupItems.length;
        mentionBox.querySelector('.on')?.scrollIntoView({ block: 'nearest' });
    }
    function pick(i) {
        const it = popupItems[i];
        if (!it || !popupRange) return;
        const tag = '@' + it.name;
        ta.setRangeText(tag + ' ', popupRange[0], popupRange[1], 'end');
        if (it.id === 'all') mentionAll = true; else mentionMap.set(tag, it.id);
        closeMentions();
        ta.focus(); autosize(); saveDraft();
    }
    let mentionTicket = 0;
    async function onInput() {
        if (conv.kind === 'direct' || conv.kind === 'app') return;
        const pos = ta.selectionStart;
        const before = ta.value.slice(0, pos);
        const m = /(^|[\s(（])@([^\s@]{0,20})$/.exec(before);
        if (!m) { closeMentions(); return; }
        const ticket = ++mentionTicket;
        const items = await candidates(m[2]);
        if (ticket !== mentionTicket) return;
        popupItems = items; popupIndex = 0;
        popupRange = [pos - m[2].length - 1, pos];
        renderMentions();
    }

    ta.addEventListener('input', () => {
        autosize(); saveDraft(); onInput();
        if (ta.value.trim() && Date.now() - lastTyping >= TYPING_EVERY && !(convStore.get(convId) || {}).left) {
            lastTyping = Date.now();
            convStore.sendTyping(convId);
        }
    });
    ta.addEventListener('keydown', (e) => {
        if (!mentionBox.hidden && popupItems.length) {
            if (e.key === 'ArrowDown') { e.preventDefault(); popupIndex = (popupIndex + 1) % popupItems.length; renderMentions(); return; }
            if (e.key === 'ArrowUp') { e.preventDefault(); popupIndex = (popupIndex - 1 + popupItems.length) % popupItems.length; renderMentions(); return; }
            if ((e.key === 'Enter' || e.key === 'Tab') && !e.isComposing) { e.preventDefault(); pick(popupIndex); return; }
            if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeMentions(); return; }
        }
        if (e.key === 'Escape' && quote) { setQuote(null); return; }
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); send(); }
    });
    ta.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== ta) closeMentions(); }, 150));
    ta.addEventListener('paste', (e) => {
        const files = [...(e.clipboardData?.files || [])];
        if (files.length && typeof hooks.fileSender === 'function' && !composerTools.some((x) => x.handlesPaste)) {
            e.preventDefault();
            files.forEach((f) => api.sendFile(f));
        }
    });
    requestAnimationFrame(autosize);

    api.setBlocked = (text) => {
        blocked.hidden = !text;
        blocked.textContent = text || '';
        el.classList.toggle('is-blocked', !!text);
    };
    api.destroy = () => { saveDraft(); document.removeEventListener('mousedown', outside); };
    return api;
}
