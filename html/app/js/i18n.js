// Chinese (default) and English.  Each module registers its own strings with
// register({ 'zh-CN': {...}, en: {...} }) so features do not share one file.
// t('key', {n: 3}) substitutes {n}; a missing key falls back to Chinese, then
// to the key itself (visible in review, never a crash).
const LANGS = ['zh-CN', 'en'];
const dicts = { 'zh-CN': {}, en: {} };
let lang = pickLanguage();

function pickLanguage() {
    const saved = localStorage.getItem('yd.lang');
    if (LANGS.includes(saved)) return saved;
    return 'zh-CN';
}

export function register(d) {
    for (const l of LANGS) Object.assign(dicts[l], d[l] || {});
}

export function t(key, params) {
    let s = dicts[lang][key] ?? dicts['zh-CN'][key] ?? key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] ?? m));
    return s;
}

export const getLanguage = () => lang;
export const languages = () => LANGS.slice();

// switching re-renders everything: the simplest way to keep every view consistent
export function setLanguage(l, { reload = true } = {}) {
    if (!LANGS.includes(l) || l === lang) return false;
    lang = l;
    localStorage.setItem('yd.lang', l);
    document.documentElement.lang = l;
    if (reload) location.reload();
    return true;
}

const pad = (n) => String(n).padStart(2, '0');
export function parseTime(iso) {
    if (!iso) return null;
    const d = new Date(typeof iso === 'number' ? iso * 1000 : iso);
    return isNaN(d) ? null : d;
}

// "14:05" today, "昨天 14:05" / "Yesterday", "3月5日" / "Mar 5" this year, else a full date
export function fmtTime(iso, { full = false } = {}) {
    const d = parseTime(iso);
    if (!d) return '';
    const now = new Date();
    const hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
    const day0 = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    const diff = (day0 - new Date(d.getFullYear(), d.getMonth(), d.getDate())) / 86400000;
    if (diff === 0) return hm;
    if (diff === 1) return t('time.yesterday') + (full ? ' ' + hm : '');
    const md = lang === 'en'
        ? d.toLocaleDateString('en', { month: 'short', day: 'numeric' })
        : `${d.getMonth() + 1}月${d.getDate()}日`;
    if (d.getFullYear() === now.getFullYear()) return md + (full ? ' ' + hm : '');
    const ymd = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    return ymd + (full ? ' ' + hm : '');
}

export function fmtSize(n) {
    if (n == null) return '';
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
    if (n < 1024 ** 3) return (n / 1024 / 1024).toFixed(1) + ' MB';
    return (n / 1024 ** 3).toFixed(2) + ' GB';
}

register({
    'zh-CN': {
        'time.yesterday': '昨天',
        'app.name': '有度',
        'common.ok': '确定', 'common.cancel': '取消', 'common.close': '关闭', 'common.save': '保存',
        'common.retry': '重试', 'common.loading': '加载中…', 'common.search': '搜索',
        'common.back': '返回', 'common.delete': '删除', 'common.none': '暂无',
        'err.network': '网络连接失败，请检查网络后重试',
        'err.server': '服务器出错了，请稍后重试（{code}）',
    },
    en: {
        'time.yesterday': 'Yesterday',
        'app.name': 'Youdu',
        'common.ok': 'OK', 'common.cancel': 'Cancel', 'common.close': 'Close', 'common.save': 'Save',
        'common.retry': 'Retry', 'common.loading': 'Loading…', 'common.search': 'Search',
        'common.back': 'Back', 'common.delete': 'Delete', 'common.none': 'Nothing here yet',
        'err.network': 'Cannot reach the server. Check your connection and try again.',
        'err.server': 'The server had a problem; try again shortly ({code}).',
    },
});
document.documentElement.lang = lang;
