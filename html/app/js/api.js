// REST calls to /api/v1 (docs/api.md).  Adds the bearer token, renews an
// expired access token once, and turns every failure into an ApiError with
// the server's stable errcode (or -1 for "no network").
import { session } from './session.js';
import { t, register, getLanguage } from './i18n.js';

// the server's messages are English; for the codes a person meets often the
// client has its own words (the server's text stays in the tooltip/console)
register({
    'zh-CN': {
        'errcode.40104': '账号或密码错误', 'errcode.40104.left': '账号或密码错误，还可尝试 {n} 次',
        'errcode.40105': '登录失败次数过多，账号已临时锁定，请稍后再试或联系管理员',
        'errcode.40106': '账号已被停用，请联系管理员', 'errcode.42900': '尝试次数过多，请一分钟后再试',
        'errcode.40302': '当前密码不正确', 'errcode.40300': '你没有权限执行此操作',
        'errcode.40401': '内容不存在或已无权查看', 'errcode.41300': '文件太大',
        'errcode.40006': '输入的内容不符合要求：{msg}', 'errcode.40900': '操作冲突：{msg}',
        'errcode.50300': '服务器繁忙，请稍后重试', 'errcode.50301': '服务暂时不可用，请稍后重试',
    },
    en: {},
});

export function errorText(code, serverMsg) {
    if (getLanguage() === 'en' || code === -1) return serverMsg || (code === -1 ? t('err.network') : t('err.server', { code }));
    if (code === 40104) {
        const m = /(\d+) attempts? left/.exec(serverMsg || '');
        return m ? t('errcode.40104.left', { n: m[1] }) : t('errcode.40104');
    }
    const key = 'errcode.' + code;
    const s = t(key, { msg: serverMsg || '' });
    return s === key ? (serverMsg || t('err.server', { code })) : s;
}

const BASE = '/api/v1';

export class ApiError extends Error {
    constructor(status, errcode, errmsg) {
        super(errmsg || (errcode === -1 ? t('err.network') : t('err.server', { code: errcode })));
        this.serverMessage = errmsg || '';
        this.status = status;
        this.errcode = errcode;
    }
    // what to show a person: the server's message is written for users
    get userMessage() {
        if (this.errcode === -1) return t('err.network');
        if (this.status >= 500 && this.errcode !== 50300 && this.errcode !== 50301) return t('err.server', { code: this.errcode });
        return errorText(this.errcode, this.serverMessage);
    }
}

function sessionTrouble(errcode) {
    if (errcode === 40108) { session.wipe(); return true; }
    if (errcode === 40103 || errcode === 40106 || errcode === 40101) { session.ended(errcode); return true; }
    return false;
}

// api('GET', '/conversations', null, {query: {limit: 50}}) -> parsed JSON
export async function api(method, path, body, opts = {}) {
    let url = BASE + path;
    if (opts.query) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(opts.query)) if (v != null) q.set(k, v);
        const s = q.toString();
        if (s) url += (url.includes('?') ? '&' : '?') + s;
    }
    for (let attempt = 0; ; attempt++) {
        const headers = { ...(opts.headers || {}) };
        const token = session.token();
        if (token) headers.Authorization = 'Bearer ' + token;
        let payload;
        if (body !== undefined && body !== null) {
            if (body instanceof Blob || body instanceof FormData) payload = body;
            else { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
        }
        let r;
        try {
            r = await fetch(url, { method, headers, body: payload, signal: opts.signal });
        } catch (e) {
            if (e.name === 'AbortError') throw e;
            throw new ApiError(0, -1, '');
        }
        if (opts.raw && r.ok) return r;
        let j = null;
        try { j = await r.json(); } catch { /* not JSON: a proxy error page */ }
        if (r.ok && j && (j.errcode === 0 || j.errcode === undefined)) return j;
        const code = j && typeof j.errcode === 'number' ? j.errcode : r.status * 100;
        if (code === 40102 && attempt === 0 && await session.refresh()) continue;
        if (r.status === 401) sessionTrouble(code);
        throw new ApiError(r.status, code, j && j.errmsg);
    }
}

// uploads a File/Blob with progress: upload(file, {name, onProgress(0..1), signal}) -> file object
// (path/method: another upload endpoint, e.g. {path: '/me/avatar', method: 'PUT'})
export function upload(file, { name, onProgress, signal, path, method } = {}) {
    const go = () => new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        const n = name || file.name || 'file';
        if (path) xhr.open(method || 'PUT', BASE + path);
        else xhr.open('POST', BASE + '/files?name=' + encodeURIComponent(n));
        xhr.setRequestHeader('Authorization', 'Bearer ' + session.token());
        xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
        xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
        xhr.onload = () => {
            let j = null;
            try { j = JSON.parse(xhr.responseText); } catch { /* ignore */ }
            if (xhr.status >= 200 && xhr.status < 300 && j && j.errcode === 0) resolve(j);
            else reject(new ApiError(xhr.status, j ? j.errcode : xhr.status * 100, j && j.errmsg));
        };
        xhr.onerror = () => reject(new ApiError(0, -1, ''));
        xhr.onabort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        if (signal) signal.addEventListener('abort', () => xhr.abort());
        xhr.send(file);
    });
    return go().catch(async (e) => {
        if (e.errcode === 40102 && await session.refresh()) return go();
        if (e.status === 401) sessionTrouble(e.errcode);
        throw e;
    });
}

// signed URLs for <img src> and links (an hour valid; renewed 5 minutes early)
const urlCache = new Map();
export async function fileUrls(fileId) {
    const c = urlCache.get(fileId);
    if (c && c.expires * 1000 - Date.now() > 300000) return c;
    const j = await api('GET', `/files/${fileId}/url`);
    urlCache.set(fileId, j);
    return j;
}

// an authorised image (avatars) as an object URL, cached per path; null when there is none
const blobCache = new Map();
export function authBlobUrl(path) {
    if (!blobCache.has(path)) {
        blobCache.set(path, api('GET', path, null, { raw: true })
            .then(async (r) => URL.createObjectURL(await r.blob()))
            .catch(() => null));
    }
    return blobCache.get(path);
}
export function forgetBlob(path) { blobCache.delete(path); }
