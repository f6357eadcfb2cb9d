// Image (kind 2) and file (kind 3) messages: a thumbnail in a box of the
// image's aspect ratio (so the list never jumps when it loads), a lightbox
// viewer, and file cards with a type icon and a download of the original name
// through the signed URL (docs/api.md "Files and images").
import { h, icon } from '../dom.js';
import { t, register, fmtSize } from '../i18n.js';
import { fileUrls } from '../api.js';
import { toast } from '../ui.js';
import { messageRenderers } from '../chat-hooks.js';

register({
    'zh-CN': {
        'media.open_image': '查看图片', 'media.download': '下载', 'media.close': '关闭', 'media.prev': '上一张',
        'media.next': '下一张', 'media.broken': '图片无法加载', 'media.count': '{i} / {n}', 'media.viewer': '图片查看器',
        'media.open': '打开',
    },
    en: {
        'media.open_image': 'View image', 'media.download': 'Download', 'media.close': 'Close', 'media.prev': 'Previous',
        'media.next': 'Next', 'media.broken': 'The image cannot be loaded', 'media.count': '{i} of {n}', 'media.viewer': 'Image viewer',
        'media.open': 'Open',
    },
});

// ---- file types: an icon colour and a short label by extension
const TYPES = [
    ['pdf', /^pdf$/],
    ['doc', /^(docx?|odt|rtf|wps|pages)$/],
    ['xls', /^(xlsx?|ods|csv|numbers|et)$/],
    ['ppt', /^(pptx?|odp|key|dps)$/],
    ['zip', /^(zip|rar|7z|tar|gz|tgz|bz2|xz)$/],
    ['img', /^(png|jpe?g|gif|webp|bmp|svg|heic|tiff?)$/],
    ['audio', /^(mp3|wav|m4a|aac|flac|ogg|amr)$/],
    ['video', /^(mp4|mov|avi|mkv|webm|flv|wmv)$/],
    ['code', /^(js|ts|c|h|py|java|go|rs|json|xml|html?|css|sh|sql|ya?ml)$/],
    ['txt', /^(txt|md|log|ini|conf)$/],
];

export function extOf(name) {
    const m = /\.([a-z0-9]{1,8})$/i.exec(name || '');
    return m ? m[1].toLowerCase() : '';
}

export function fileType(name) {
    const ext = extOf(name);
    for (const [type, re] of TYPES) if (re.test(ext)) return type;
    return 'other';
}

export function fileIcon(name, size = 40) {
    const ext = extOf(name);
    const el = h('span.rich-ficon', { class: 'ft-' + fileType(name), 'aria-hidden': 'true' },
        icon('file'), h('span.rich-ficon-ext', (ext || '?').slice(0, 4).toUpperCase()));
    el.style.width = size + 'px';
    el.style.height = Math.round(size * 1.2) + 'px';
    return el;
}

// starts a download of the original name through a fresh signed URL
export async function download(fileId, name) {
    try {
        const u = await fileUrls(fileId);
        const a = h('a', { href: u.url, download: name || (u.file && u.file.name) || 'file', rel: 'noopener' });
        a.hidden = true;
        document.body.appendChild(a);
        a.click();
        a.remove();
    } catch (e) {
        toast(e.userMessage || String(e), 'error');
    }
}

// ---- images

// the size shown in the list: the image scaled to fit max x max (never enlarged), at least 48 px
export function boxSize(body, max = 240) {
    const w = body.width || (body.thumb && body.thumb.width) || max;
    const hh = body.height || (body.thumb && body.thumb.height) || Math.round(max * 0.75);
    const s = Math.min(1, max / Math.max(w, hh));
    return { w: Math.max(48, Math.round(w * s)), h: Math.max(48, Math.round(hh * s)), ratio: w + ' / ' + hh };
}

export function imageBox(body, { max = 240 } = {}) {
    const { w, ratio } = boxSize(body, max);
    const img = h('img', { alt: body.name || t('rich.image'), decoding: 'async', loading: 'lazy', draggable: 'false' });
    const box = h('button.rich-img', {
        type: 'button', 'aria-label': t('media.open_image') + (body.name ? ' ' + body.name : ''),
        dataset: { test: 'msg-image', fileId: body.file_id, name: body.name || '' },
        onclick: (e) => { e.stopPropagation(); openViewer(box); },
    }, img);
    box.style.width = w + 'px';
    box.style.aspectRatio = ratio;
    img.addEventListener('load', () => box.classList.add('loaded'));
    img.addEventListener('error', () => { box.classList.add('broken'); box.title = t('media.broken'); });
    if (body.file_id) {
        fileUrls(body.file_id)
            .then((u) => { img.src = u.thumb_url || u.url; })
            .catch(() => { box.classList.add('broken'); box.title = t('media.broken'); });
    }
    return box;
}

// the lightbox: the large image, its name, download; Esc closes, arrows go through
// the other images of the same list (the chat view or a dialog)
export function openViewer(fromBox) {
    const scopeEl = fromBox.closest('.modal, .pane-main, [data-images]') || document.body;
    const all = [...scopeEl.querySelectorAll('.rich-img[data-file-id]')].filter((b) => b.dataset.fileId);
    let i = Math.max(0, all.indexOf(fromBox));
    const prev = document.activeElement;
    const img = h('img.rich-lb-img', { alt: '', dataset: { test: 'lightbox-image' } });
    const name = h('span.rich-lb-name');
    const count = h('span.rich-lb-count');
    const dl = h('button.icon-btn', { type: 'button', title: t('media.download'), 'aria-label': t('media.download'), dataset: { test: 'lightbox-download' },
        onclick: () => download(all[i].dataset.fileId, all[i].dataset.name) }, icon('download'));
    const close = () => { el.remove(); window.removeEventListener('keydown', onKey, true); if (prev && prev.focus) prev.focus(); };
    const btnPrev = h('button.rich-lb-nav.prev', { type: 'button', 'aria-label': t('media.prev'), onclick: () => go(-1) }, icon('back'));
    const btnNext = h('button.rich-lb-nav.next', { type: 'button', 'aria-label': t('media.next'), onclick: () => go(1) }, icon('chevron'));
    const stage = h('div.rich-lb-stage', { onclick: (e) => { if (e.target === stage) close(); } }, img);
    const el = h('div.rich-lb', { role: 'dialog', 'aria-modal': 'true', 'aria-label': t('media.viewer'), dataset: { test: 'lightbox' } },
        h('div.rich-lb-bar', name, count, h('span.grow'), dl,
            h('button.icon-btn', { type: 'button', title: t('media.close'), 'aria-label': t('media.close'), dataset: { test: 'lightbox-close' }, onclick: close }, icon('close'))),
        stage, btnPrev, btnNext);
    let ticket = 0;
    async function show() {
        const b = all[i];
        const my = ++ticket;
        name.textContent = b.dataset.name || '';
        count.textContent = all.length > 1 ? t('media.count', { i: i + 1, n: all.length }) : '';
        btnPrev.hidden = i === 0;
        btnNext.hidden = i >= all.length - 1;
        // the thumbnail at once, the large image as soon as it is there
        const thumb = b.querySelector('img');
        img.src = thumb && thumb.src ? thumb.src : '';
        img.classList.remove('sharp');
        try {
            const u = await fileUrls(b.dataset.fileId);
            if (my !== ticket) return;
            const big = new Image();
            big.onload = () => { if (my === ticket) { img.src = u.url; img.classList.add('sharp'); } };
            big.src = u.url;
        } catch (e) { toast(e.userMessage || String(e), 'error'); }
    }
    function go(d) { const n = i + d; if (n >= 0 && n < all.length) { i = n; show(); } }
    const onKey = (e) => {
        if (e.key === 'Escape') { e.stopPropagation(); e.preventDefault(); close(); }
        else if (e.key === 'ArrowLeft') { e.preventDefault(); go(-1); }
        else if (e.key === 'ArrowRight') { e.preventDefault(); go(1); }
    };
    if (!all.length) all.push(fromBox);
    // on window, before a dialog's own Esc (document): a lightbox over a dialog closes alone
    window.addEventListener('keydown', onKey, true);
    document.body.appendChild(el);
    show();
    el.querySelector('[data-test=lightbox-close]').focus();
    return { close };
}

// ---- files

export function fileCard(body) {
    const name = body.name || 'file';
    const get = (e) => { e.preventDefault(); e.stopPropagation(); download(body.file_id, name); };
    return h('div.rich-file', { dataset: { test: 'msg-file' } },
        fileIcon(name),
        h('div.rich-file-info',
            h('a.rich-file-name', { href: '#', title: name, onclick: get, dataset: { test: 'file-name' } }, name),
            h('span.rich-file-meta', fmtSize(body.size))),
        h('button.icon-btn.rich-file-dl', { type: 'button', title: t('media.download'), 'aria-label': t('media.download') + ' ' + name,
            dataset: { test: 'file-download' }, onclick: get }, icon('download')));
}

messageRenderers[2] = (msg) => (msg.body && msg.body.file_id ? imageBox(msg.body) : null);
messageRenderers[3] = (msg) => (msg.body && msg.body.file_id ? fileCard(msg.body) : null);
