// Shared widgets: toasts, modal dialogs, confirmations, pop-up menus.
import { h, icon } from './dom.js';
import { t } from './i18n.js';

// toast('已发送') / toast(err.userMessage, 'error'); stays longer for errors
export function toast(text, kind = 'info', ms) {
    const el = h('div.toast', { class: 'toast-' + kind, role: kind === 'error' ? 'alert' : 'status' }, text);
    document.getElementById('toasts').appendChild(el);
    setTimeout(() => el.classList.add('out'), (ms || (kind === 'error' ? 6000 : 2500)));
    setTimeout(() => el.remove(), (ms || (kind === 'error' ? 6000 : 2500)) + 400);
    return el;
}

// modal({title, body: Node, actions: [{label, primary, danger, onClick -> false keeps it open}], onClose, wide})
// -> {el, close()}.  Esc and the backdrop close it; focus goes to the first field.
export function modal({ title, body, actions = [], onClose, wide = false, testId }) {
    const prev = document.activeElement;
    let closed = false;
    const close = () => {
        if (closed) return;
        closed = true;
        back.remove();
        document.removeEventListener('keydown', onKey, true);
        if (onClose) onClose();
        if (prev && prev.focus) prev.focus();
    };
    const onKey = (e) => { if (e.key === 'Escape') { e.stopPropagation(); close(); } };
    const foot = actions.length ? h('div.modal-actions', actions.map((a) => h('button', {
        type: 'button', class: 'btn' + (a.primary ? ' btn-primary' : '') + (a.danger ? ' btn-danger' : ''),
        dataset: a.testId ? { test: a.testId } : undefined,
        onclick: async (e) => {
            if (!a.onClick) return close();
            const btn = e.currentTarget;
            btn.disabled = true;
            try { if ((await a.onClick()) !== false) close(); } finally { btn.disabled = false; }
        },
    }, a.label))) : null;
    const box = h('div.modal', { role: 'dialog', 'aria-modal': 'true', 'aria-label': title, class: wide ? 'modal-wide' : '',
        dataset: testId ? { test: testId } : undefined },
        h('div.modal-head', h('h2', title),
            h('button.icon-btn', { type: 'button', 'aria-label': t('common.close'), onclick: close }, icon('close'))),
        h('div.modal-body', body), foot);
    const back = h('div.modal-back', { onmousedown: (e) => { if (e.target === back) close(); } }, box);
    document.body.appendChild(back);
    document.addEventListener('keydown', onKey, true);
    setTimeout(() => { const f = box.querySelector('input, textarea, select, .modal-actions .btn-primary'); if (f) f.focus(); }, 0);
    return { el: box, close };
}

export function confirmDialog({ title, text, ok, danger = false }) {
    return new Promise((resolve) => {
        let answered = false;
        modal({
            title, body: h('p.confirm-text', text), testId: 'confirm',
            onClose: () => { if (!answered) resolve(false); },
            actions: [
                { label: t('common.cancel') },
                { label: ok || t('common.ok'), primary: !danger, danger, testId: 'confirm-ok',
                  onClick: () => { answered = true; resolve(true); } },
            ],
        });
    });
}

// menu(event or element, [{label, icon, danger, onClick}|null (separator)])
export function menu(at, items) {
    document.querySelectorAll('.menu').forEach((m) => m.remove());
    const el = h('div.menu', { role: 'menu' }, items.map((it) => it ? h('button.menu-item', {
        type: 'button', role: 'menuitem', class: it.danger ? 'danger' : '', dataset: it.testId ? { test: it.testId } : undefined,
        onclick: () => { el.remove(); it.onClick(); },
    }, it.icon ? icon(it.icon) : null, it.label) : h('hr')));
    document.body.appendChild(el);
    let x, y;
    if (at instanceof Event && at.clientX) { x = at.clientX; y = at.clientY; }
    else { const r = (at.currentTarget || at).getBoundingClientRect(); x = r.left; y = r.bottom + 4; }
    const w = el.offsetWidth, hgt = el.offsetHeight;
    el.style.left = Math.max(4, Math.min(x, innerWidth - w - 4)) + 'px';
    el.style.top = Math.max(4, Math.min(y, innerHeight - hgt - 4)) + 'px';
    const off = (e) => { if (!el.contains(e.target)) { el.remove(); document.removeEventListener('mousedown', off, true); } };
    setTimeout(() => document.addEventListener('mousedown', off, true), 0);
    el.querySelector('button')?.focus();
    return el;
}

// an empty-state or error block with an optional action
export function emptyState(text, action) {
    return h('div.empty', h('p', text), action ? h('button.btn', { type: 'button', onclick: action.onClick }, action.label) : null);
}
