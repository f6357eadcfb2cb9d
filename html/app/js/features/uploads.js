// Sending files and images: the attach tools (file picker, several files),
// drag-and-drop onto the chat view, paste from the clipboard (with a preview to
// confirm).  Each upload is a pending bubble at the bottom of the message list
// with a progress bar, cancel, and an error with retry; then the message
// (POST /files, then POST /conversations/:id/messages {kind, file_id}).
import { h, fill, icon } from '../dom.js';
import { t, register, fmtSize } from '../i18n.js';
import { api, upload } from '../api.js';
import { bus } from '../bus.js';
import { modal, toast } from '../ui.js';
import { composerTools, hooks } from '../chat-hooks.js';
import { newClientId, convStoreOf } from './common.js';
import { fileIcon, boxSize } from './media.js';

register({
    'zh-CN': {
        'files.attach': '发送文件', 'files.image': '发送图片', 'files.drop': '松开鼠标，发送给对方',
        'files.drop_sub': '可以同时拖入多个文件', 'files.uploading': '正在上传 {p}%', 'files.sending': '正在发送…',
        'files.cancel': '取消发送', 'files.retry': '重试', 'files.remove': '移除', 'files.failed': '发送失败：{msg}',
        'files.too_big': '“{name}”太大了（{size}），{kind}不能超过 {max}', 'files.kind_image': '图片', 'files.kind_file': '文件',
        'files.empty': '“{name}”是空文件，无法发送', 'files.paste_title': '发送剪贴板中的内容', 'files.paste_n': '发送 {n} 个文件？',
        'files.send': '发送', 'files.screenshot': '截图', 'files.no_conv': '请先打开一个聊天', 'files.left': '你已不在此会话中，无法发送',
        'files.big_image_as_file': '图片无法作为图片发送，已作为文件发送',
    },
    en: {
        'files.attach': 'Send a file', 'files.image': 'Send an image', 'files.drop': 'Drop to send',
        'files.drop_sub': 'You can drop several files at once', 'files.uploading': 'Uploading {p}%', 'files.sending': 'Sending…',
        'files.cancel': 'Cancel', 'files.retry': 'Retry', 'files.remove': 'Remove', 'files.failed': 'Not sent: {msg}',
        'files.too_big': '“{name}” is too large ({size}); {kind} can be at most {max}', 'files.kind_image': 'images', 'files.kind_file': 'files',
        'files.empty': '“{name}” is empty and cannot be sent', 'files.paste_title': 'Send from the clipboard', 'files.paste_n': 'Send {n} files?',
        'files.send': 'Send', 'files.screenshot': 'Screenshot', 'files.no_conv': 'Open a chat first', 'files.left': 'You are no longer in this conversation',
        'files.big_image_as_file': 'The image could not be sent as an image; it was sent as a file',
    },
});

// the server's defaults (youdu_image_max_size 20m, youdu_upload_max_size 100m); the
// server checks again and its 413 gets the same message
export const LIMITS = { image: 20 * 1024 * 1024, file: 100 * 1024 * 1024 };
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const jobs = new Map();     // conv id -> [job]
let nextId = 1;
const changed = (convId) => bus.emit('rich:uploads', { conv_id: convId });

export const isImage = (file) => IMAGE_TYPES.has((file.type || '').toLowerCase());

function tooBig(file, kind) {
    const max = LIMITS[kind];
    return file.size > max ? t('files.too_big', { name: file.name, size: fmtSize(file.size), kind: t('files.kind_' + kind), max: fmtSize(max) }) : null;
}

const pad = (n) => String(n).padStart(2, '0');
// a pasted screenshot is called image.png: give it a useful name
function nameOf(file) {
    const n = file.name || '';
    if (n && !/^image\.(png|jpe?g|gif|webp)$/i.test(n)) return n;
    const d = new Date();
    const ext = (file.type.split('/')[1] || 'png').replace('jpeg', 'jpg');
    return `${t('files.screenshot')}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.${ext}`;
}

// queues files for a conversation: sendFiles(convId, files, {quote})
export function sendFiles(convId, files, { quote } = {}) {
    for (const file of files) {
        const kind = isImage(file) ? 'image' : 'file';
        if (!file.size) { toast(t('files.empty', { name: file.name || '' }), 'error'); continue; }
        const big = tooBig(file, kind);
        if (big) { toast(big, 'error'); continue; }
        const job = { id: nextId++, convId, file, name: nameOf(file), kind, state: 'uploading', progress: 0, error: '',
            clientMsgId: newClientId(), fileId: null, quoteSeq: quote && quote.seq ? quote.seq : null, ctl: null, preview: null };
        if (kind === 'image') job.preview = URL.createObjectURL(file);
        if (!jobs.has(convId)) jobs.set(convId, []);
        jobs.get(convId).push(job);
        run(job);
    }
    changed(convId);
}

function drop(job) {
    const list = jobs.get(job.convId) || [];
    const i = list.indexOf(job);
    if (i >= 0) list.splice(i, 1);
    if (job.preview) URL.revokeObjectURL(job.preview);
    job.state = 'gone';
    changed(job.convId);
}

async function run(job) {
    job.error = '';
    try {
        if (!job.fileId) {
            job.state = 'uploading';
            job.progress = 0;
            job.ctl = new AbortController();
            changed(job.convId);
            let j;
            try {
                j = await upload(job.file, { name: job.name, signal: job.ctl.signal, onProgress: (p) => { job.progress = p; bus.emit('rich:progress', job); } });
            } catch (e) {
                // not an image the server accepts (type, damage, pixels): send it as a plain file
                if (job.kind === 'image' && (e.errcode === 40007 || e.errcode === 40010 || e.errcode === 41300) && job.file.size <= LIMITS.file) {
                    job.kind = 'file';
                    job.progress = 0;
                    j = await upload(new Blob([job.file], { type: 'application/octet-stream' }), { name: job.name, signal: job.ctl.signal,
                        onProgress: (p) => { job.progress = p; bus.emit('rich:progress', job); } });
                    toast(t('files.big_image_as_file'), 'info');
                } else throw e;
            }
            job.fileId = j.file.id;
            job.progress = 1;
        }
        job.state = 'sending';
        changed(job.convId);
        const body = { client_msg_id: job.clientMsgId, kind: job.kind, file_id: job.fileId };
        if (job.quoteSeq) body.quote_seq = job.quoteSeq;
        await api('POST', `/conversations/${job.convId}/messages`, body);
        // the chat helper's store puts it in the list at once (otherwise the push brings it)
        const store = await convStoreOf();
        if (store && store.syncAfter) await store.syncAfter(job.convId).catch(() => {});
        drop(job);
    } catch (e) {
        if (job.state === 'gone') return;
        if (e.name === 'AbortError') { drop(job); return; }
        job.state = 'failed';
        job.error = e.errcode === 41300 ? tooBig({ name: job.name, size: Math.max(job.file.size, LIMITS[job.kind] + 1) }, job.kind) : (e.userMessage || String(e));
        changed(job.convId);
    }
}

function cancel(job) {
    if (job.ctl && job.state === 'uploading') job.ctl.abort();
    drop(job);
}

// ---- the pending bubbles, below the last message of the chat view

function jobBubble(job) {
    const pct = Math.round(job.progress * 100);
    const bar = h('div.rich-up-bar', { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, dataset: { test: 'upload-progress' } },
        h('span'));
    bar.firstChild.style.width = pct + '%';
    const status = job.state === 'failed'
        ? h('div.rich-up-error', { role: 'alert', dataset: { test: 'upload-error' } }, job.error && t('files.failed', { msg: job.error }))
        : h('div.rich-up-status', { dataset: { test: 'upload-status' } }, job.state === 'sending' ? t('files.sending') : t('files.uploading', { p: pct }));
    let media;
    if (job.kind === 'image' && job.preview) {
        const { w, ratio } = boxSize({ width: job.w || 4, height: job.h || 3 }, 200);
        const img = h('img', { src: job.preview, alt: job.name });
        media = h('div.rich-up-img', img);
        media.style.width = w + 'px';
        media.style.aspectRatio = ratio;
        img.addEventListener('load', () => {
            if (!job.w) { job.w = img.naturalWidth; job.h = img.naturalHeight; const s = boxSize({ width: job.w, height: job.h }, 200); media.style.width = s.w + 'px'; media.style.aspectRatio = s.ratio; }
        });
    } else {
        media = h('div.rich-up-file', fileIcon(job.name, 34), h('div.rich-file-info', h('span.rich-file-name', job.name), h('span.rich-file-meta', fmtSize(job.file.size))));
    }
    const acts = job.state === 'failed'
        ? [h('button.link-btn', { type: 'button', dataset: { test: 'upload-retry' }, onclick: () => run(job) }, t('files.retry')),
           h('button.link-btn', { type: 'button', dataset: { test: 'upload-remove' }, onclick: () => drop(job) }, t('files.remove'))]
        : job.state === 'uploading'
            ? [h('button.icon-btn.rich-up-x', { type: 'button', title: t('files.cancel'), 'aria-label': t('files.cancel') + ' ' + job.name, dataset: { test: 'upload-cancel' }, onclick: () => cancel(job) }, icon('close'))]
            : [];
    const el = h('div.rich-up', { class: 'st-' + job.state, dataset: { test: 'upload', state: job.state, name: job.name } },
        h('div.rich-up-bubble', media, job.state === 'failed' ? null : bar, status), h('div.rich-up-acts', acts));
    job.bar = bar;
    job.statusEl = status;
    return el;
}

bus.on('rich:progress', (job) => {
    if (!job.bar || !job.bar.isConnected) return;
    const pct = Math.round(job.progress * 100);
    job.bar.firstChild.style.width = pct + '%';
    job.bar.setAttribute('aria-valuenow', pct);
    if (job.state === 'uploading') job.statusEl.textContent = t('files.uploading', { p: pct });
});

function mountTray(composer, ctx) {
    const convId = ctx.conv.id;
    const tray = h('div.rich-uploads', { dataset: { test: 'uploads' }, 'aria-live': 'polite' });
    const render = () => {
        const list = jobs.get(convId) || [];
        fill(tray, list.map(jobBubble));
        tray.hidden = !list.length;
    };
    const place = () => {
        const chat = composer.el.closest('.chat');
        const body = chat && chat.querySelector('.chat-body');
        if (!chat) return false;
        (body || chat).appendChild(tray);
        render();
        return { chat, body };
    };
    const off = bus.on('rich:uploads', ({ conv_id }) => {
        if (!composer.el.isConnected && tray.dataset.placed) { off(); return; }
        if (conv_id !== convId) return;
        const body = tray.parentElement;
        const atBottom = body ? body.scrollHeight - body.scrollTop - body.clientHeight < 80 : true;
        render();
        if (body && atBottom) body.scrollTop = body.scrollHeight;
    });
    return { place, tray };
}

// ---- drag and drop, paste

const hasFiles = (e) => e.dataTransfer && [...(e.dataTransfer.types || [])].includes('Files');

function mountDrop(chat, onFiles) {
    const zone = h('div.rich-drop', { hidden: true, dataset: { test: 'drop-zone' } },
        h('div.rich-drop-box', icon('attach'), h('b', t('files.drop')), h('span', t('files.drop_sub'))));
    if (getComputedStyle(chat).position === 'static') chat.style.position = 'relative';
    chat.appendChild(zone);
    let depth = 0;
    chat.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; e.preventDefault(); depth++; zone.hidden = false; });
    chat.addEventListener('dragover', (e) => { if (!hasFiles(e)) return; e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; zone.hidden = false; });
    chat.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) zone.hidden = true; });
    chat.addEventListener('drop', (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth = 0; zone.hidden = true;
        const files = [...(e.dataTransfer.files || [])];
        if (files.length) onFiles(files);
    });
}

export function confirmPaste(files, onSend) {
    const items = files.map((f) => {
        if (isImage(f)) {
            const url = URL.createObjectURL(f);
            const img = h('img', { src: url, alt: nameOf(f) });
            img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
            return h('figure.rich-paste-fig', h('div.rich-paste-img', img), h('figcaption.rich-file-meta', nameOf(f) + ' · ' + fmtSize(f.size)));
        }
        return h('div.rich-up-file', fileIcon(f.name, 34), h('div.rich-file-info', h('span.rich-file-name', f.name), h('span.rich-file-meta', fmtSize(f.size))));
    });
    return modal({
        title: t('files.paste_title'), testId: 'paste-preview',
        body: h('div.rich-paste', files.length > 1 ? h('p', t('files.paste_n', { n: files.length })) : null, items),
        actions: [{ label: t('common.cancel') }, { label: t('files.send'), primary: true, testId: 'paste-send', onClick: () => { onSend(files); } }],
    });
}

function pick(composer, ctx, accept) {
    const input = h('input', { type: 'file', multiple: true, accept: accept || null, hidden: true, dataset: { test: 'file-input' } });
    input.addEventListener('change', () => {
        const files = [...input.files];
        input.remove();
        files.forEach((f) => composer.sendFile(f));
    });
    (composer.el || document.body).appendChild(input);
    input.click();
}

// a file dropped anywhere else must not make the browser leave the app to show it
window.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
window.addEventListener('drop', (e) => { if (hasFiles(e)) e.preventDefault(); });

// signed out: stop every upload, forget them
bus.on('app:stopped', () => {
    for (const list of jobs.values()) for (const job of [...list]) { if (job.ctl) job.ctl.abort(); drop(job); }
    jobs.clear();
});

hooks.fileSender = async (file, ctx, { quote } = {}) => {
    const conv = ctx && ctx.conv;
    if (!conv) { toast(t('files.no_conv'), 'error'); return; }
    if (conv.left || conv.dissolved) { toast(t('files.left'), 'error'); return; }
    sendFiles(conv.id, [file], { quote });
};

composerTools.push({
    id: 'image', icon: 'image', label: () => t('files.image'),
    run: (composer, ctx) => pick(composer, ctx, 'image/png,image/jpeg,image/gif,image/webp'),
});
composerTools.push({
    id: 'attach', icon: 'attach', label: () => t('files.attach'), handlesPaste: true,
    run: (composer, ctx) => pick(composer, ctx),
    mount: (composer, ctx) => {
        const tray = mountTray(composer, ctx);
        const send = (files) => files.forEach((f) => composer.sendFile(f));
        // the composer is put into the chat view right after it is made
        const attach = () => {
            const placed = tray.place();
            if (!placed) return false;
            tray.tray.dataset.placed = '1';
            mountDrop(placed.chat, send);
            return true;
        };
        if (!attach()) setTimeout(() => { if (!attach()) requestAnimationFrame(attach); }, 0);
        const target = composer.textarea || composer.el;
        target.addEventListener('paste', (e) => {
            const files = [...((e.clipboardData && e.clipboardData.files) || [])];
            if (!files.length) return;
            e.preventDefault();
            confirmPaste(files, send);
        });
    },
});
