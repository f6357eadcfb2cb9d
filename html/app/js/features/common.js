// Small helpers shared by the rich-message features (files, forward, groups).
import { h } from '../dom.js';
import { t, register } from '../i18n.js';

register({
    'zh-CN': {
        'rich.image': '[图片]', 'rich.file': '[文件] {name}', 'rich.history': '[聊天记录] {title}',
        'rich.card': '[卡片消息]', 'rich.unknown': '[消息]',
    },
    en: {
        'rich.image': '[Image]', 'rich.file': '[File] {name}', 'rich.history': '[Chat history] {title}',
        'rich.card': '[Card]', 'rich.unknown': '[Message]',
    },
});

export function newClientId() {
    const id = crypto.randomUUID ? crypto.randomUUID()
        : Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
    return id.slice(0, 64);
}

// one line of text for a message body of any kind (forward cards, item lists)
export function previewOf(kind, body) {
    const b = body || {};
    if (b.recalled) return '';
    switch (kind) {
    case 1: return b.text || '';
    case 2: return t('rich.image');
    case 3: return t('rich.file', { name: b.name || '' });
    case 5: return t('rich.history', { title: b.title || '' });
    case 4: return b.preview || t('rich.card');
    default: return b.preview || b.text || t('rich.unknown');
    }
}

// the chat helper's conversation store, when it is there (branch web-chat): the
// features work without it through the REST API alone
let storeP = null;
export function convStoreOf() {
    if (!storeP) storeP = import('../store/convs.js').then((m) => m.convStore || null).catch(() => null);
    return storeP;
}

// a labelled toggle switch (<input type=checkbox role=switch>)
export function switchRow(label, checked, onChange, testId) {
    const input = h('input', { type: 'checkbox', role: 'switch', checked, dataset: testId ? { test: testId } : undefined });
    input.addEventListener('change', async () => {
        input.disabled = true;
        try { await onChange(input.checked); } catch { input.checked = !input.checked; } finally { input.disabled = false; }
    });
    return h('label.rich-switch', h('span.grow', label), input, h('span.rich-switch-ui', { 'aria-hidden': 'true' }));
}
