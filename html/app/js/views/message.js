// One message of the chat view: bubbles for what people send, centred grey
// lines for system events and recalls.  Kinds 2..5 come from feature modules
// through chat-hooks messageRenderers; an unknown kind shows its preview.
import { h, avatar } from '../dom.js';
import { t, register, fmtTime } from '../i18n.js';
import { org } from '../store/org.js';
import { convStore, localPreview } from '../store/convs.js';
import { messageRenderers } from '../chat-hooks.js';

register({
    'zh-CN': {
        'chat.you': '你', 'chat.sep': '、',
        'chat.sys.created': '{by} 创建了群聊', 'chat.sys.created_named': '{by} 创建了群聊“{name}”',
        'chat.sys.renamed': '{by} 将群名称修改为“{name}”', 'chat.sys.renamed_empty': '{by} 清除了群名称',
        'chat.sys.member_added': '{by} 邀请 {users} 加入了群聊', 'chat.sys.member_removed': '{by} 将 {users} 移出了群聊',
        'chat.sys.member_left': '{users} 退出了群聊', 'chat.sys.admin_added': '{by} 将 {users} 设为管理员',
        'chat.sys.admin_removed': '{by} 取消了 {users} 的管理员身份', 'chat.sys.dissolved': '{by} 解散了该群',
        'chat.sys.unknown': '群设置已更新',
        'chat.recalled_by': '{who} 撤回了一条消息', 'chat.recalled_self': '你撤回了一条消息',
        'chat.recalled_other': '{who} 撤回了 {owner} 的一条消息', 'chat.recalled': '消息已撤回',
        'chat.unsupported': '[暂不支持的消息类型]',
        'chat.failed': '发送失败', 'chat.retry': '重新发送', 'chat.discard': '删除', 'chat.sending': '发送中…',
        'chat.read': '已读', 'chat.unread': '未读', 'chat.read_n': '{n}/{m} 人已读', 'chat.all_read': '全部已读',
        'chat.quote_of': '{name}：',
    },
    en: {
        'chat.you': 'You', 'chat.sep': ', ',
        'chat.sys.created': '{by} created the group', 'chat.sys.created_named': '{by} created the group “{name}”',
        'chat.sys.renamed': '{by} renamed the group to “{name}”', 'chat.sys.renamed_empty': '{by} cleared the group name',
        'chat.sys.member_added': '{by} added {users}', 'chat.sys.member_removed': '{by} removed {users}',
        'chat.sys.member_left': '{users} left the group', 'chat.sys.admin_added': '{by} made {users} an admin',
        'chat.sys.admin_removed': '{by} removed {users} as admin', 'chat.sys.dissolved': '{by} dissolved the group',
        'chat.sys.unknown': 'The group settings changed',
        'chat.recalled_by': '{who} recalled a message', 'chat.recalled_self': 'You recalled a message',
        'chat.recalled_other': '{who} recalled a message of {owner}', 'chat.recalled': 'Message recalled',
        'chat.unsupported': '[Message type not supported yet]',
        'chat.failed': 'Not sent', 'chat.retry': 'Resend', 'chat.discard': 'Delete', 'chat.sending': 'Sending…',
        'chat.read': 'Read', 'chat.unread': 'Unread', 'chat.read_n': '{n} of {m} read', 'chat.all_read': 'All read',
        'chat.quote_of': '{name}: ',
    },
});

export function whoName(convId, uid, me) {
    if (uid === me) return t('chat.you');
    return convStore.memberName(convId, uid);
}

// system event text (kind 6), in the reader's language
export function systemText(msg, me) {
    const b = msg.body || {};
    const by = b.by === me ? t('chat.you') : (b.by ? (org.user(b.by)?.name || b.by_name || org.name(b.by)) : (b.by_name || ''));
    const ids = b.user_ids || [];
    const users = ids.map((id) => whoName(msg.conv_id, id, me)).join(t('chat.sep'));
    switch (b.event) {
    case 'created': return t(b.name ? 'chat.sys.created_named' : 'chat.sys.created', { by, name: b.name || '' });
    case 'renamed': return t(b.name ? 'chat.sys.renamed' : 'chat.sys.renamed_empty', { by, name: b.name || '' });
    case 'member_left': return t('chat.sys.member_left', { users: users || by });
    case 'member_added': case 'member_removed': case 'admin_added': case 'admin_removed':
        return t('chat.sys.' + b.event, { by, users });
    case 'dissolved': return t('chat.sys.dissolved', { by });
    default: return t('chat.sys.unknown');
    }
}

export function recallText(convId, recaller, owner, me) {
    if (recaller === me && (owner == null || owner === me)) return t('chat.recalled_self');
    const who = whoName(convId, recaller, me);
    if (owner != null && owner !== recaller) return t('chat.recalled_other', { who, owner: whoName(convId, owner, me) });
    return t('chat.recalled_by', { who });
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'，。！？、）)\]】]+/gi;

// text with safe links (http/https only) and highlighted @mentions
export function richText(text, { mentionNames = [], mentionAll = false } = {}) {
    const out = [];
    const names = [...new Set(mentionNames.filter(Boolean))].sort((a, b) => b.length - a.length);
    if (mentionAll) names.unshift('所有人', 'all');
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const mRe = names.length ? new RegExp('@(' + names.map(esc).join('|') + ')', 'g') : null;
    let last = 0;
    const pushPlain = (s) => {
        if (!s) return;
        if (!mRe) { out.push(s); return; }
        let i = 0;
        mRe.lastIndex = 0;
        for (let m; (m = mRe.exec(s));) {
            if (m.index > i) out.push(s.slice(i, m.index));
            out.push(h('span.mention', { dataset: { test: 'mention' } }, m[0]));
            i = m.index + m[0].length;
        }
        if (i < s.length) out.push(s.slice(i));
    };
    URL_RE.lastIndex = 0;
    for (let m; (m = URL_RE.exec(text));) {
        pushPlain(text.slice(last, m.index));
        let url = m[0].replace(/[.,;:!?]+$/, '');
        let ok = false;
        try { const u = new URL(url); ok = u.protocol === 'http:' || u.protocol === 'https:'; } catch { ok = false; }
        out.push(ok ? h('a.msg-link', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url) : url);
        last = m.index + url.length;
        URL_RE.lastIndex = last;
    }
    pushPlain(text.slice(last));
    return out;
}

export function quoteBlock(q, convId, me, onClick) {
    if (!q) return null;
    return h('button.msg-quote', { type: 'button', dataset: { test: 'msg-quote' }, onclick: (e) => { e.stopPropagation(); onClick && onClick(q.seq); } },
        h('span.q-name', t('chat.quote_of', { name: q.sender_id ? whoName(convId, q.sender_id, me) : '' })),
        h('span.q-text', localPreview(q.preview || '')));
}

function textBody(msg, ctx) {
    const b = msg.body || {};
    const mentionNames = (b.mentions || []).map((id) => convStore.memberName(msg.conv_id, id));
    return h('div.msg-text', { dataset: { test: 'msg-text' } }, richText(b.text || '', { mentionNames, mentionAll: b.mention_all }));
}

export function bodyOf(msg, ctx) {
    if (msg.kind === 1) return textBody(msg, ctx);
    const r = messageRenderers[msg.kind];
    if (r) {
        try { const n = r(msg, ctx); if (n) return n; } catch (e) { console.error('renderer', msg.kind, e); }
    }
    const b = msg.body || {};
    return h('div.msg-text.msg-fallback', b.preview || b.text || t('chat.unsupported'));
}

// the centred grey line of a system event or a recall
export function noticeRow(text, seq) {
    return h('div.msg-notice', { dataset: { test: 'msg-notice', seq: seq ?? '' } }, h('span', text));
}

// a whole row: avatar, name (groups), bubble, status; opts: {showName, grouped, onAvatar, status: Node}
export function messageRow(msg, ctx, opts = {}) {
    const me = ctx.me.id;
    const convId = msg.conv_id;
    if (msg.kind === 6) return noticeRow(systemText(msg, me), msg.seq);
    if (msg.recalled) return noticeRow(recallText(convId, msg.recalled_by ?? msg.sender_id, msg.sender_id, me), msg.seq);
    const mine = msg.sender_id === me;
    const name = msg.sender_id ? convStore.memberName(convId, msg.sender_id) : ((msg.body && msg.body.app && msg.body.app.name) || '');
    const user = msg.sender_id ? (org.user(msg.sender_id) || { id: msg.sender_id, name }) : { id: 0, name };
    const b = msg.body || {};
    const bubble = h('div.bubble', { class: 'kind-' + msg.kind, title: fmtTime(msg.created_at, { full: true }) },
        b.quote ? quoteBlock(b.quote, convId, me, opts.onQuote) : null,
        bodyOf(msg, ctx));
    const row = h('div.msg', {
        class: (mine ? 'mine' : 'theirs') + (opts.grouped ? ' grouped' : '') + (opts.pending ? ' is-pending' : ''),
        dataset: { test: 'msg', seq: msg.seq || '', sender: msg.sender_id || '' },
    },
    h('div.msg-select', h('input', { type: 'checkbox', tabindex: -1, 'aria-label': 'select', dataset: { test: 'msg-check' } })),
    opts.grouped ? h('span.msg-av-space') : h('button.msg-av', { type: 'button', title: name, 'aria-label': name, onclick: () => opts.onAvatar && opts.onAvatar(msg.sender_id) }, avatar(user, 36)),
    h('div.msg-col',
        opts.showName && !mine && !opts.grouped ? h('div.msg-name', name) : null,
        h('div.msg-line', bubble, opts.actions || null),
        opts.status || null));
    return row;
}
