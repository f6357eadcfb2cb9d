// The app portal (#/apps): the enterprise apps the user may open, as a grid
// of tiles (logo or initials, name, description, badge).  Opening one asks
// for a single sign-on token and opens the app's home URL in a new tab; an
// app without a home URL shows its description and a hint.
import { h, fill, icon } from '../dom.js';
import { t, register } from '../i18n.js';
import { fileUrls } from '../api.js';
import { scope } from '../bus.js';
import { apps, openApp } from '../store/apps.js';
import { toast, modal, emptyState } from '../ui.js';

register({
    'zh-CN': {
        'apps.title': '应用', 'apps.empty': '你的企业还没有可用的应用', 'apps.empty.sub': '管理员在管理后台添加应用后，会显示在这里。',
        'apps.noHome': '这个应用没有网页入口', 'apps.noHome.hint': '它会通过“应用消息”给你发送通知，可在消息列表中查看。',
        'apps.open': '打开', 'apps.opening': '正在打开…', 'apps.failed': '无法打开应用：{msg}',
        'apps.opened': '已在新标签页中打开“{name}”', 'apps.badge': '{n} 条未读', 'apps.builtin': '系统应用',
        'apps.loadFailed': '应用列表加载失败：{msg}', 'apps.refresh': '刷新',
    },
    en: {
        'apps.title': 'Apps', 'apps.empty': 'Your company has no apps yet', 'apps.empty.sub': 'Apps your administrator adds appear here.',
        'apps.noHome': 'This app has no web page', 'apps.noHome.hint': 'It sends you notices as app messages: see them in your chats.',
        'apps.open': 'Open', 'apps.opening': 'Opening…', 'apps.failed': 'Could not open the app: {msg}',
        'apps.opened': '“{name}” opened in a new tab', 'apps.badge': '{n} unread', 'apps.builtin': 'System app',
        'apps.loadFailed': 'Could not load the apps: {msg}', 'apps.refresh': 'Refresh',
    },
});

const TILE_COLORS = ['#2468f2', '#12a37f', '#f59f00', '#e8590c', '#7048e8', '#0c8599', '#d6336c', '#5c940d'];

export function appLogo(app, size = 48) {
    const name = app.name || '?';
    const text = /^[\u4e00-\u9fff]/.test(name) ? name.slice(0, 2) : name.trim().slice(0, 2).toUpperCase();
    let hash = 0;
    for (const c of String(app.app_id || name)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
    const el = h('span.app-logo', { style: { width: size + 'px', height: size + 'px', fontSize: Math.round(size * 0.36) + 'px',
        background: TILE_COLORS[hash % TILE_COLORS.length] }, 'aria-hidden': 'true' }, text);
    if (app.logo_file_id) {
        fileUrls(app.logo_file_id).then((u) => {
            const img = h('img', { src: u.thumb_url || u.url, alt: '' });
            img.onerror = () => img.remove();
            el.append(img);
        }).catch(() => {});
    }
    return el;
}

export function mount(el) {
    const sc = scope();
    const grid = h('div.apps-body');
    fill(el, h('div.apps-main',
        h('div.pane-head', h('h2', t('apps.title')),
            h('button.icon-btn', { type: 'button', title: t('apps.refresh'), 'aria-label': t('apps.refresh'), onclick: () => load(true) }, icon('recall'))),
        h('div.pane-body', grid)));

    let list = [];
    const tiles = new Map();      // app_id -> badge element
    function paintBadges() {
        for (const [id, b] of tiles) {
            const n = apps.count(id);
            b.hidden = !n;
            b.textContent = n > 99 ? '99+' : String(n || '');
            b.title = t('apps.badge', { n });
            const tip = (apps.notice(id) || {}).tip;
            const tipEl = b.closest('.app-tile')?.querySelector('.app-tip');
            if (tipEl) { tipEl.textContent = n && tip ? tip : ''; tipEl.hidden = !(n && tip); }
        }
    }
    function draw() {
        tiles.clear();
        if (!list.length) {
            fill(grid, h('div.apps-empty', { dataset: { test: 'apps-empty' } }, icon('apps'),
                h('p', t('apps.empty')), h('p.muted', t('apps.empty.sub'))));
            return;
        }
        fill(grid, h('div.apps-grid', list.map((a) => {
            const badge = h('span.badge', { hidden: true, dataset: { test: 'app-badge' } });
            tiles.set(a.app_id, badge);
            return h('button.app-tile', { type: 'button', dataset: { test: 'app-tile', appId: a.app_id }, title: a.description || a.name,
                onclick: (e) => open(a, e.currentTarget) },
                h('span.app-logo-wrap', appLogo(a, 52), badge),
                h('span.app-name', a.name),
                h('span.app-desc', a.description || (a.home_url ? '' : t('apps.noHome'))),
                h('span.app-tip', { hidden: true }));
        })));
        paintBadges();
    }
    async function load(fresh) {
        if (!list.length) fill(grid, h('div.empty', t('common.loading')));
        try { list = await apps.list({ fresh }); } catch (e) {
            fill(grid, emptyState(t('apps.loadFailed', { msg: e.userMessage || String(e) }), { label: t('common.retry'), onClick: () => load(true) }));
            return;
        }
        draw();
    }
    async function open(a, btn) {
        if (!a.home_url) { showInfo(a); return; }
        btn.classList.add('busy');
        try {
            if (await openApp(a)) toast(t('apps.opened', { name: a.name }), 'success', 1800);
            else showInfo(a);
        } catch (e) { toast(t('apps.failed', { msg: e.userMessage || String(e) }), 'error'); } finally { btn.classList.remove('busy'); }
    }
    sc.on('apps:notices', paintBadges);
    load(true);
    return { update() {}, unmount() { sc.off(); } };
}

function showInfo(a) {
    modal({
        title: a.name, testId: 'app-info',
        body: h('div.app-info', appLogo(a, 64),
            h('div', a.description ? h('p', a.description) : null,
                h('div.app-info-hint', { dataset: { test: 'app-info-hint' } }, icon('bell'),
                    h('div', h('strong', t('apps.noHome')), h('p', t('apps.noHome.hint')))))),
        actions: [{ label: t('common.close'), primary: true }],
    });
}
