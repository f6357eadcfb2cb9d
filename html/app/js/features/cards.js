// App cards: messages of kind 4 that enterprise apps send through
// /cgi/msg/send (docs/api.md "App conversations").  Body:
// {app: {app_id, name}, msgType, <msgType>: {...}, preview}.
// Registered as messageRenderers[4] of the chat view; renderCard(body) is
// usable on its own.  Every link is http(s) only and opens in a new tab
// without an opener; link action 1 asks for a single sign-on token first.
import { h, icon } from '../dom.js';
import { t, register, fmtTime, fmtSize } from '../i18n.js';
import { fileUrls } from '../api.js';
import { session } from '../session.js';
import { messageRenderers } from '../chat-hooks.js';
import { safeUrl, openSafe, ssoLink } from '../store/apps.js';
import { toast, modal } from '../ui.js';

register({
    'zh-CN': {
        'card.app': '应用消息', 'card.image': '图片', 'card.file': '文件', 'card.voice': '语音', 'card.video': '视频',
        'card.download': '下载', 'card.open': '查看详情', 'card.link': '打开链接', 'card.sso': '正在登录应用…',
        'card.mail.new': '新邮件', 'card.mail.unread': '未读邮件 {n} 封', 'card.mail.open': '打开邮箱',
        'card.mail.from': '发件人', 'card.sms': '短信', 'card.sms.from': '来自 {from}', 'card.sys': '系统消息',
        'card.unknown': '此版本暂不支持显示该消息', 'card.badUrl': '链接地址不安全，已拦截',
        'card.failed': '无法打开：{msg}',
    },
    en: {
        'card.app': 'App message', 'card.image': 'Image', 'card.file': 'File', 'card.voice': 'Voice', 'card.video': 'Video',
        'card.download': 'Download', 'card.open': 'Read more', 'card.link': 'Open link', 'card.sso': 'Signing in to the app…',
        'card.mail.new': 'New mail', 'card.mail.unread': '{n} unread mails', 'card.mail.open': 'Open mailbox',
        'card.mail.from': 'From', 'card.sms': 'SMS', 'card.sms.from': 'From {from}', 'card.sys': 'System message',
        'card.unknown': 'This message type cannot be shown yet', 'card.badUrl': 'The link is not a web address and was blocked',
        'card.failed': 'Could not open it: {msg}',
    },
});

// a link that only ever opens http(s) in a new tab; action 1: SSO token first
function cardLink(url, label, { action = 0, cls = 'card-link', test = 'card-link' } = {}) {
    const safe = safeUrl(url);
    if (!safe) return h('span.card-link.disabled', { title: t('card.badUrl') }, label);
    if (Number(action) !== 1) {
        return h('a', { class: cls, href: safe, target: '_blank', rel: 'noopener noreferrer', dataset: { test } }, label);
    }
    return h('a', { class: cls, href: safe, target: '_blank', rel: 'noopener noreferrer', dataset: { test, sso: '1' },
        onclick: async (e) => {
            e.preventDefault();
            try {
                const u = await ssoLink(safe, session.user && session.user.account);
                if (u) openSafe(u);
            } catch (x) { toast(t('card.failed', { msg: x.userMessage || String(x) }), 'error'); }
        } }, label);
}

// an image from a file id: a signed URL, the thumbnail in the card
function fileImage(fileId, { cls = 'card-img', alt = '' } = {}) {
    const img = h('img', { class: cls, alt, loading: 'lazy', decoding: 'async' });
    if (fileId) {
        fileUrls(fileId).then((u) => { img.src = u.thumb_url || u.url; img.dataset.full = u.url; })
            .catch(() => img.classList.add('broken'));
    } else img.classList.add('broken');
    return img;
}

function header(body, kindLabel) {
    const name = (body.app && body.app.name) || t('card.app');
    return h('div.card-head', icon('apps'), h('span.card-app', { dataset: { test: 'card-app' } }, name),
        kindLabel ? h('span.card-kind', kindLabel) : null);
}

function textBlock(s, cls = 'card-text') { return h('div', { class: cls }, String(s ?? '')); }

function showArticle(item) {
    modal({ title: item.title || '', wide: true, testId: 'card-article',
        body: h('div.card-article', item.digest ? h('p.muted', item.digest) : null, textBlock(item.content, 'card-article-text'),
            item.url ? h('p', cardLink(item.url, t('card.link'))) : null) });
}

function articles(items) {
    const list = Array.isArray(items) ? items : items ? [items] : [];
    return list.map((it, i) => {
        const cover = it.file_id ? fileImage(it.file_id, { cls: i === 0 ? 'card-cover' : 'card-thumb' }) : null;
        const text = h('div.card-art-text', h('div.card-title', it.title || ''),
            i === 0 && it.digest ? h('div.card-digest', it.digest) : null,
            i === 0 && it.subtitle ? h('div.card-digest', it.subtitle) : null);
        const inner = i === 0 ? [cover, text] : [text, cover];
        const cls = 'card-art' + (i === 0 ? ' first' : '');
        if (it.url && safeUrl(it.url)) {
            return h('a', { class: cls, href: safeUrl(it.url), target: '_blank', rel: 'noopener noreferrer', dataset: { test: 'card-link' } }, inner);
        }
        if (it.content) return h('button', { type: 'button', class: cls, dataset: { test: 'card-article-open' }, onclick: () => showArticle(it) }, inner);
        return h('div', { class: cls }, inner);
    });
}

function media(body, type) {
    const m = body[type] || {};
    if (type === 'image') {
        const img = fileImage(m.file_id, { alt: m.name || '' });
        if (m.width && m.height) { img.width = Math.min(240, m.width); img.height = Math.round(img.width * m.height / m.width); }
        return h('div.card-body',
            h('button.card-img-btn', { type: 'button', title: m.name || t('card.image'), onclick: async () => {
                try { openSafe((await fileUrls(m.file_id)).url); } catch (e) { toast(e.userMessage || String(e), 'error'); }
            } }, img));
    }
    const a = h('a.card-file', { href: '#', rel: 'noopener noreferrer', dataset: { test: 'card-file' },
        onclick: async (e) => {
            if (a.dataset.ready) return;
            e.preventDefault();
            try {
                const u = await fileUrls(m.file_id);
                a.href = u.url; a.dataset.ready = '1'; a.download = m.name || '';
                a.click();
            } catch (x) { toast(x.userMessage || String(x), 'error'); }
        } },
        h('span.card-file-ico', icon(type === 'file' ? 'file' : type === 'video' ? 'image' : 'file')),
        h('span.grow', h('span.card-title', m.name || t('card.' + type)), h('span.card-sub', [t('card.' + type), m.size != null ? fmtSize(m.size) : null].filter(Boolean).join(' · '))),
        icon('download'));
    return h('div.card-body', a);
}

const renderers = {
    text: (b) => h('div.card-body', textBlock((b.text || {}).content)),
    image: (b) => media(b, 'image'),
    file: (b) => media(b, 'file'),
    voice: (b) => media(b, 'voice'),
    video: (b) => media(b, 'video'),
    mpnews: (b) => h('div.card-body.card-arts', articles(b.mpnews && (b.mpnews.items || b.mpnews))),
    exlink: (b) => h('div.card-body.card-arts', articles(b.exlink && (b.exlink.items || b.exlink))),
    link: (b) => {
        const l = b.link || {};
        return h('div.card-body', h('div.card-title', l.title || l.url || ''),
            h('div.card-url', (safeUrl(l.url) || '').replace(/^https?:\/\//, '')),
            h('div.card-foot', cardLink(l.url, t('card.link'), { action: l.action, cls: 'card-link btn btn-sm' })));
    },
    sysMsg: (b) => {
        const s = b.sysMsg || {};
        return h('div.card-body', s.title ? h('div.card-title', s.title) : null,
            (s.msg || []).map((m) => m.text ? textBlock(m.text.content, 'card-text card-line')
                : m.link ? h('div.card-line', cardLink(m.link.url, m.link.title || m.link.url, { action: m.link.action })) : null));
    },
    mail: (b) => {
        const m = b.mail || {};
        const unread = m.action === 'unread';
        return h('div.card-body.card-mail', h('span.card-file-ico', icon('mail')),
            h('div.grow',
                h('div.card-title', unread ? t('card.mail.unread', { n: m.unreadCount ?? 0 }) : (m.subject || t('card.mail.new'))),
                !unread && (m.fromUser || m.fromEmail) ? h('div.card-sub', t('card.mail.from') + ': ' + [m.fromUser, m.fromEmail ? '<' + m.fromEmail + '>' : null].filter(Boolean).join(' ')) : null,
                !unread && m.time ? h('div.card-sub', fmtTime(Number(m.time), { full: true })) : null,
                m.link ? h('div.card-foot', cardLink(m.link, t('card.mail.open'), { cls: 'card-link btn btn-sm' })) : null));
    },
    sms: (b) => {
        const s = b.sms || {};
        return h('div.card-body', s.from ? h('div.card-sub', t('card.sms.from', { from: s.from })) : null, textBlock(s.content));
    },
};
const KIND_LABEL = { image: 'card.image', file: 'card.file', voice: 'card.voice', video: 'card.video', sysMsg: 'card.sys', mail: 'card.mail.new', sms: 'card.sms' };

// the card for a kind-4 message body
export function renderCard(body) {
    body = body || {};
    const type = body.msgType;
    const r = renderers[type];
    let inner;
    try {
        inner = r ? r(body) : h('div.card-body', textBlock(body.preview || t('card.unknown'), 'card-text muted'));
    } catch (e) {
        console.warn('card', type, e);
        inner = h('div.card-body', textBlock(body.preview || t('card.unknown'), 'card-text muted'));
    }
    return h('div.app-card', { class: 'app-card-' + (type || 'unknown'), dataset: { test: 'app-card', msgType: type || '' } },
        header(body, KIND_LABEL[type] ? t(KIND_LABEL[type]) : null), inner);
}

messageRenderers[4] = (msg) => renderCard(msg && msg.body);
