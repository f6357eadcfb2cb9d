// Settings: #/settings/<page>, the list of pages on the left, the page on the
// right (phones: the list, then the page with a back button).
// Pages: profile (name, departments, avatar, password), devices (sign out or
// wipe another device), security (the device-only PIN and the idle lock),
// notify (desktop notifications, preview, sound, do not disturb), language,
// about; "sign out" at the end of the list.
import { h, fill, icon, avatar } from '../dom.js';
import { t, register, getLanguage, setLanguage, fmtTime } from '../i18n.js';
import { api, upload, authBlobUrl, forgetBlob } from '../api.js';
import { session } from '../session.js';
import { scope } from '../bus.js';
import { org } from '../store/org.js';
import { prefs } from '../store/prefs.js';
import { navigate } from '../router.js';
import { toast, modal, confirmDialog, emptyState } from '../ui.js';
import { hasPin, setPin, verifyPin, removePin, lockNow, PIN_RE } from '../lock.js';

export const CLIENT_VERSION = '1.0.0';

register({
    'zh-CN': {
        'settings.title': '设置',
        'settings.profile': '个人信息', 'settings.profile.sub': '头像、部门、登录密码',
        'settings.devices': '登录设备', 'settings.devices.sub': '查看并管理已登录的设备',
        'settings.security': '安全密码', 'settings.security.sub': '锁定网页版，保护聊天内容',
        'settings.notify': '通知与免打扰', 'settings.notify.sub': '桌面通知、声音、免打扰时段',
        'settings.language': '语言', 'settings.language.sub': '中文',
        'settings.about': '关于', 'settings.about.sub': '版本信息',
        'settings.signout': '退出登录', 'settings.signout.confirm': '确定要退出登录吗？',
        'settings.saved': '已保存', 'settings.loadFailed': '加载失败：{msg}',
        // profile
        'settings.account': '账号', 'settings.jobTitle': '职务', 'settings.depts': '部门', 'settings.email': '邮箱',
        'settings.mobile': '手机', 'settings.phone': '电话', 'settings.role': '角色',
        'settings.role.0': '员工', 'settings.role.1': '管理员', 'settings.role.2': '超级管理员',
        'settings.avatar.change': '更换头像', 'settings.avatar.title': '预览新头像',
        'settings.avatar.hint': '图片会裁剪为居中的正方形，支持 PNG、JPEG、GIF、WebP，最大 20 MB。',
        'settings.avatar.save': '设为头像', 'settings.avatar.done': '头像已更新', 'settings.avatar.notImage': '请选择一张图片',
        'settings.pw.title': '修改登录密码',
        'settings.pw.hint': '至少 8 位，包含字母、数字、符号中的至少两种，且不能与当前密码相同。修改后其他设备会退出登录。',
        'settings.pw.old': '当前密码', 'settings.pw.new': '新密码', 'settings.pw.repeat': '再次输入新密码',
        'settings.pw.submit': '修改密码', 'settings.pw.mismatch': '两次输入的新密码不一致',
        'settings.pw.weak': '新密码至少 8 位，且包含字母、数字、符号中的两种', 'settings.pw.same': '新密码不能与当前密码相同',
        'settings.pw.need': '请填写当前密码和新密码', 'settings.pw.done': '密码已修改，其他设备已退出登录',
        // devices
        'settings.devices.this': '本机', 'settings.devices.ip': 'IP {ip}', 'settings.devices.seen': '最近活动 {time}',
        'settings.devices.since': '登录于 {time}',
        'settings.devices.signout': '退出登录', 'settings.devices.wipe': '远程清除',
        'settings.devices.signout.title': '让此设备退出登录', 'settings.devices.signout.text': '“{name}”将退出登录，再次使用需重新输入密码。',
        'settings.devices.wipe.title': '远程清除此设备', 'settings.devices.wipe.text': '警告：“{name}”下次联网时将退出登录，并删除该设备上有度的全部本地数据（聊天记录缓存、文件、通讯录、设置）。此操作无法撤销。设备丢失或被盗时使用。',
        'settings.devices.wipe.ok': '清除该设备', 'settings.devices.signedOut': '已让该设备退出登录',
        'settings.devices.wiped': '已向该设备发出远程清除', 'settings.devices.none': '没有其他已登录的设备',
        'settings.devices.hint': '如果发现不认识的设备，请立即让它退出登录并修改密码。',
        'settings.log.title': '最近的登录记录', 'settings.log.none': '暂无登录记录',
        'settings.log.ok': '登录成功', 'settings.log.bad_password': '密码错误', 'settings.log.unknown_account': '账号不存在',
        'settings.log.locked': '账号已锁定', 'settings.log.disabled': '账号已停用', 'settings.log.rate_limited': '尝试过于频繁',
        'settings.log.auth_unavailable': '认证服务不可用',
        'device.web': '网页版', 'device.pc': 'Windows 客户端', 'device.mac': 'Mac 客户端', 'device.linux': 'Linux 客户端',
        'device.android': 'Android', 'device.ios': 'iPhone / iPad', 'device.api': '接口调用',
        // security
        'settings.pin.none': '尚未设置安全密码', 'settings.pin.on': '已设置安全密码',
        'settings.pin.about': '安全密码是 4–6 位数字，只保存在此浏览器中（加密摘要），不会上传到服务器。设置后，每次打开或刷新网页版都需要输入它；连续输错 5 次将退出登录并清除此设备上的数据。',
        'settings.pin.set': '设置安全密码', 'settings.pin.change': '修改安全密码', 'settings.pin.remove': '关闭安全密码',
        'settings.pin.current': '当前安全密码', 'settings.pin.new': '新安全密码（4–6 位数字）', 'settings.pin.repeat': '再次输入',
        'settings.pin.bad': '安全密码须为 4–6 位数字', 'settings.pin.mismatch': '两次输入不一致',
        'settings.pin.wrong': '当前安全密码不正确', 'settings.pin.saved': '安全密码已设置',
        'settings.pin.changed': '安全密码已修改', 'settings.pin.removed': '安全密码已关闭',
        'settings.pin.lockNow': '立即锁定', 'settings.pin.idle': '无操作自动锁定',
        'settings.pin.idle.0': '从不', 'settings.pin.idle.n': '{n} 分钟', 'settings.pin.idle.60': '1 小时',
        'settings.pin.idle.hint': '此设置会同步到你的所有设备；只有设置了安全密码的设备才会锁定。',
        'settings.pin.idle.needPin': '此设备尚未设置安全密码，不会自动锁定。',
        // notifications
        'settings.notify.desktop': '桌面通知', 'settings.notify.desktop.sub': '收到新消息时在系统通知中心提示',
        'settings.notify.perm.granted': '浏览器已允许通知', 'settings.notify.perm.default': '浏览器尚未允许通知',
        'settings.notify.perm.denied': '浏览器已禁止通知，请在浏览器的网站设置中允许', 'settings.notify.perm.unsupported': '此浏览器不支持桌面通知',
        'settings.notify.perm.ask': '允许通知',
        'settings.notify.preview': '显示消息内容', 'settings.notify.preview.sub': '关闭后通知中只显示“你有一条新消息”',
        'settings.notify.sound': '提示音', 'settings.notify.sound.sub': '收到新消息时播放声音',
        'settings.dnd': '免打扰', 'settings.dnd.sub': '在设定时段内不弹出通知、不播放声音，消息照常接收',
        'settings.dnd.from': '开始', 'settings.dnd.to': '结束', 'settings.dnd.now': '当前处于免打扰时段',
        'settings.dnd.night': '结束时间早于开始时间时表示跨越午夜',
        // language
        'settings.language.hint': '切换后页面会重新加载；语言设置会同步到你的其他设备。',
        // about
        'settings.about.client': '网页版版本', 'settings.about.server': '服务器', 'settings.about.status': '服务器状态',
        'settings.about.ok': '连接正常（时差 {n} 秒）', 'settings.about.down': '无法连接服务器',
        'settings.about.session': '当前会话', 'settings.about.text': '有度是私有部署的企业即时通讯。遇到问题请联系你的管理员。',
        'settings.about.reload': '重新加载网页版',
    },
    en: {
        'settings.title': 'Settings',
        'settings.profile': 'My profile', 'settings.profile.sub': 'Avatar, departments, password',
        'settings.devices': 'Devices', 'settings.devices.sub': 'Devices signed in to your account',
        'settings.security': 'Security PIN', 'settings.security.sub': 'Lock the web client',
        'settings.notify': 'Notifications & do not disturb', 'settings.notify.sub': 'Desktop notifications, sound, quiet hours',
        'settings.language': 'Language', 'settings.language.sub': 'English',
        'settings.about': 'About', 'settings.about.sub': 'Version',
        'settings.signout': 'Sign out', 'settings.signout.confirm': 'Sign out of Youdu?',
        'settings.saved': 'Saved', 'settings.loadFailed': 'Could not load: {msg}',
        'settings.account': 'Account', 'settings.jobTitle': 'Title', 'settings.depts': 'Departments', 'settings.email': 'Email',
        'settings.mobile': 'Mobile', 'settings.phone': 'Phone', 'settings.role': 'Role',
        'settings.role.0': 'Employee', 'settings.role.1': 'Administrator', 'settings.role.2': 'Super administrator',
        'settings.avatar.change': 'Change avatar', 'settings.avatar.title': 'Your new avatar',
        'settings.avatar.hint': 'The picture is cropped to its centre square. PNG, JPEG, GIF or WebP, up to 20 MB.',
        'settings.avatar.save': 'Use this picture', 'settings.avatar.done': 'Avatar updated', 'settings.avatar.notImage': 'Choose a picture',
        'settings.pw.title': 'Change password',
        'settings.pw.hint': 'At least 8 characters of two kinds (letters, digits, symbols), different from the current one. Your other devices will be signed out.',
        'settings.pw.old': 'Current password', 'settings.pw.new': 'New password', 'settings.pw.repeat': 'Repeat the new password',
        'settings.pw.submit': 'Change password', 'settings.pw.mismatch': 'The new passwords differ',
        'settings.pw.weak': 'The new password needs at least 8 characters of two kinds', 'settings.pw.same': 'The new password must differ from the current one',
        'settings.pw.need': 'Fill in your current and your new password', 'settings.pw.done': 'Password changed; your other devices were signed out',
        'settings.devices.this': 'This device', 'settings.devices.ip': 'IP {ip}', 'settings.devices.seen': 'Last active {time}',
        'settings.devices.since': 'Signed in {time}',
        'settings.devices.signout': 'Sign out', 'settings.devices.wipe': 'Remote wipe',
        'settings.devices.signout.title': 'Sign this device out', 'settings.devices.signout.text': '“{name}” will be signed out and must sign in with the password again.',
        'settings.devices.wipe.title': 'Wipe this device', 'settings.devices.wipe.text': 'Warning: the next time “{name}” goes online it is signed out and ALL Youdu data on it (cached chats, files, contacts, settings) is deleted. This cannot be undone. Use it for a lost or stolen device.',
        'settings.devices.wipe.ok': 'Wipe the device', 'settings.devices.signedOut': 'The device was signed out',
        'settings.devices.wiped': 'The device will be wiped', 'settings.devices.none': 'No other device is signed in',
        'settings.devices.hint': 'If you see a device you do not know, sign it out and change your password at once.',
        'settings.log.title': 'Recent sign-ins', 'settings.log.none': 'No sign-ins yet',
        'settings.log.ok': 'Signed in', 'settings.log.bad_password': 'Wrong password', 'settings.log.unknown_account': 'Unknown account',
        'settings.log.locked': 'Account locked', 'settings.log.disabled': 'Account disabled', 'settings.log.rate_limited': 'Too many attempts',
        'settings.log.auth_unavailable': 'Authentication service unavailable',
        'device.web': 'Web', 'device.pc': 'Windows app', 'device.mac': 'Mac app', 'device.linux': 'Linux app',
        'device.android': 'Android', 'device.ios': 'iPhone / iPad', 'device.api': 'API',
        'settings.pin.none': 'No security PIN set', 'settings.pin.on': 'Security PIN is on',
        'settings.pin.about': 'A PIN of 4–6 digits kept only in this browser (as a salted hash); it is never sent to the server. With a PIN, the web client asks for it every time it is opened or reloaded; 5 wrong PINs sign this device out and delete its data.',
        'settings.pin.set': 'Set a PIN', 'settings.pin.change': 'Change PIN', 'settings.pin.remove': 'Turn the PIN off',
        'settings.pin.current': 'Current PIN', 'settings.pin.new': 'New PIN (4–6 digits)', 'settings.pin.repeat': 'Repeat it',
        'settings.pin.bad': 'The PIN must be 4–6 digits', 'settings.pin.mismatch': 'The PINs differ',
        'settings.pin.wrong': 'The current PIN is wrong', 'settings.pin.saved': 'PIN set',
        'settings.pin.changed': 'PIN changed', 'settings.pin.removed': 'PIN turned off',
        'settings.pin.lockNow': 'Lock now', 'settings.pin.idle': 'Lock when idle for',
        'settings.pin.idle.0': 'Never', 'settings.pin.idle.n': '{n} minutes', 'settings.pin.idle.60': '1 hour',
        'settings.pin.idle.hint': 'This setting is shared by all your devices; only devices with a PIN lock.',
        'settings.pin.idle.needPin': 'This device has no PIN, so it does not lock.',
        'settings.notify.desktop': 'Desktop notifications', 'settings.notify.desktop.sub': 'Show new messages in the system notification area',
        'settings.notify.perm.granted': 'The browser allows notifications', 'settings.notify.perm.default': 'The browser has not allowed notifications yet',
        'settings.notify.perm.denied': 'The browser blocks notifications: allow them in the site settings', 'settings.notify.perm.unsupported': 'This browser has no desktop notifications',
        'settings.notify.perm.ask': 'Allow notifications',
        'settings.notify.preview': 'Show message text', 'settings.notify.preview.sub': 'Off: notifications only say “New message”',
        'settings.notify.sound': 'Sound', 'settings.notify.sound.sub': 'Play a sound for new messages',
        'settings.dnd': 'Do not disturb', 'settings.dnd.sub': 'No notifications or sounds in these hours; messages still arrive',
        'settings.dnd.from': 'From', 'settings.dnd.to': 'To', 'settings.dnd.now': 'Do not disturb is active now',
        'settings.dnd.night': 'An end before the start spans midnight',
        'settings.language.hint': 'The page reloads; your other devices follow.',
        'settings.about.client': 'Web client', 'settings.about.server': 'Server', 'settings.about.status': 'Server status',
        'settings.about.ok': 'Connected (clock difference {n} s)', 'settings.about.down': 'The server cannot be reached',
        'settings.about.session': 'Session', 'settings.about.text': 'Youdu is self-hosted enterprise messaging. Ask your administrator for help.',
        'settings.about.reload': 'Reload the web client',
    },
});

const PAGES = [
    { id: 'profile', icon: 'users', render: renderProfile },
    { id: 'devices', icon: 'devices', render: renderDevices },
    { id: 'security', icon: 'lock', render: renderSecurity },
    { id: 'notify', icon: 'bell', render: renderNotify },
    { id: 'language', icon: 'globe', render: renderLanguage },
    { id: 'about', icon: 'link', render: renderAbout },
];

export function mount(el, route) {
    const items = PAGES.map((p) => h('a.list-item.settings-item', { href: '#/settings/' + p.id, dataset: { page: p.id, test: 'settings-' + p.id } },
        h('span.settings-ico', icon(p.icon)),
        h('div.grow', h('div.title', t('settings.' + p.id)), h('div.sub', t('settings.' + p.id + '.sub'))),
        icon('chevron', 'settings-chev')));
    const list = h('div.pane-list',
        h('div.pane-head', h('h2', t('settings.title'))),
        h('div.pane-body.settings-list', items,
            h('button.list-item.settings-item.settings-signout', { type: 'button', dataset: { test: 'settings-signout' },
                onclick: async () => { if (await confirmDialog({ title: t('settings.signout'), text: t('settings.signout.confirm'), ok: t('settings.signout'), danger: true })) session.logout(); } },
            h('span.settings-ico', icon('logout')), h('div.grow', h('div.title', t('settings.signout'))))));
    const title = h('h2');
    const body = h('div.pane-body');
    const main = h('div.pane-main.settings-main',
        h('div.pane-head', h('button.back.icon-btn', { type: 'button', 'aria-label': t('common.back'), title: t('common.back'),
            onclick: () => navigate('#/settings') }, icon('back')), title),
        body);
    fill(el, list, main);

    let curPage = null, pageScope = null;
    function update(r) {
        const id = PAGES.some((p) => p.id === r.parts[0]) ? r.parts[0] : 'profile';
        items.forEach((it) => it.classList.toggle('active', it.dataset.page === id && (r.parts.length > 0 || innerWidth > 720)));
        if (id === curPage) return;
        curPage = id;
        pageScope?.off();
        pageScope = scope();
        const page = PAGES.find((p) => p.id === id);
        title.textContent = t('settings.' + id);
        const wrap = h('div.settings-page', { dataset: { page: id, test: 'settings-page-' + id } });
        fill(body, wrap);
        page.render(wrap, pageScope);
    }
    update(route);
    return { update, unmount() { pageScope?.off(); } };
}

// --- small building blocks

const card = (...c) => h('section.settings-card', ...c);
const cardHead = (text, extra) => h('div.settings-card-head', h('h3', text), extra || null);
function row(label, value, test) {
    return h('div.settings-row', h('div.settings-row-label', label), h('div.settings-row-value', { dataset: test ? { test } : undefined }, value || '—'));
}
function toggle(label, sub, test, onchange) {
    const input = h('input.switch', { type: 'checkbox', role: 'switch', dataset: { test }, onchange: () => onchange(input.checked, input) });
    const el = h('label.settings-toggle', h('div.grow', h('div.settings-toggle-title', label), sub ? h('div.settings-toggle-sub', sub) : null), input);
    return { el, input };
}
function failed(el, e, retry) {
    fill(el, emptyState(t('settings.loadFailed', { msg: e.userMessage || String(e) }), { label: t('common.retry'), onClick: retry }));
}
async function savePrefs(part, control) {
    try { await prefs.set(part); toast(t('settings.saved'), 'success', 1200); return true; } catch (e) {
        toast(e.userMessage || String(e), 'error');
        return false;
    } finally { if (control) control.disabled = false; }
}

// --- My profile

function renderProfile(el) {
    const me = session.user || {};
    const pic = h('div.settings-avatar', avatar(me, 88));
    const showAvatar = () => authBlobUrl(`/org/users/${me.id}/avatar?size=large`).then((u) => {
        fill(pic, avatar(me, 88));
        if (u) pic.firstChild.append(h('img', { src: u, alt: '', dataset: { test: 'profile-avatar-img' } }));
    });
    showAvatar();
    const file = h('input.visually-hidden', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', dataset: { test: 'avatar-file' },
        'aria-label': t('settings.avatar.change'), onchange: () => { const f = file.files[0]; file.value = ''; if (f) previewAvatar(f, showAvatar); } });
    const name = h('div.settings-name', me.name || '');
    const sub = h('div.muted', me.account || '');
    const info = h('div.settings-rows', row(t('settings.account'), me.account));
    fill(el,
        card(h('div.settings-me', pic,
            h('div.grow', name, sub),
            h('button.btn', { type: 'button', dataset: { test: 'avatar-change' }, onclick: () => file.click() }, icon('image'), t('settings.avatar.change')), file),
        info),
        passwordCard());
    (async () => {
        try {
            const [m, u] = await Promise.all([api('GET', '/auth/me'), api('GET', `/org/users/${me.id}`).catch(() => null)]);
            await Promise.race([org.ready, new Promise((r) => setTimeout(r, 3000))]);
            name.textContent = m.name;
            sub.textContent = [m.account, m.title].filter(Boolean).join(' · ');
            const depts = ((u && u.user && u.user.departments) || []).map((d) => h('div', { dataset: { test: 'profile-dept' } },
                (org.path(d.dept_id) || d.dept_name || String(d.dept_id)) + (d.position ? ' · ' + d.position : '')));
            fill(info,
                row(t('settings.account'), m.account, 'profile-account'),
                row(t('settings.depts'), depts.length ? depts : null, 'profile-depts'),
                row(t('settings.jobTitle'), m.title),
                row(t('settings.email'), m.email),
                row(t('settings.mobile'), m.mobile),
                m.phone ? row(t('settings.phone'), m.phone) : null,
                row(t('settings.role'), t('settings.role.' + (m.role || 0))));
        } catch (e) { toast(e.userMessage || String(e), 'error'); }
    })();
}

function previewAvatar(f, after) {
    if (!/^image\//.test(f.type)) { toast(t('settings.avatar.notImage'), 'error'); return; }
    const url = URL.createObjectURL(f);
    const err = h('p.form-error', { role: 'alert' });
    const bar = h('div.settings-progress', h('span'));
    modal({
        title: t('settings.avatar.title'), testId: 'avatar-dialog',
        onClose: () => URL.revokeObjectURL(url),
        body: h('div.avatar-preview', h('img', { src: url, alt: '', dataset: { test: 'avatar-preview' } }),
            h('p.muted', t('settings.avatar.hint')), bar, err),
        actions: [{ label: t('common.cancel') }, { label: t('settings.avatar.save'), primary: true, testId: 'avatar-save', onClick: async () => {
            err.textContent = '';
            try {
                await upload(f, { path: '/me/avatar', method: 'PUT', onProgress: (p) => { bar.firstChild.style.width = Math.round(p * 100) + '%'; } });
            } catch (e) { err.textContent = e.userMessage || String(e); return false; }
            const id = session.user.id;
            for (const s of ['small', 'large']) forgetBlob(`/org/users/${id}/avatar?size=${s}`);
            forgetBlob(`/org/users/${id}/avatar`);
            toast(t('settings.avatar.done'), 'success');
            after();
            return true;
        } }],
    });
}

function passwordCard() {
    const err = h('p.form-error', { role: 'alert', dataset: { test: 'pw-error' } });
    const f = (id, label, ac) => h('label.field', h('span', label), h('input', { id, type: 'password', autocomplete: ac, maxlength: 256 }));
    const oldF = f('set-pw-old', t('settings.pw.old'), 'current-password');
    const newF = f('set-pw-new', t('settings.pw.new'), 'new-password');
    const repF = f('set-pw-repeat', t('settings.pw.repeat'), 'new-password');
    const val = (l) => l.querySelector('input').value;
    const btn = h('button.btn.btn-primary', { type: 'submit', dataset: { test: 'pw-submit' } }, t('settings.pw.submit'));
    const form = h('form.settings-form', { novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        const o = val(oldF), n = val(newF), r = val(repF);
        const kinds = [/[A-Za-z]/, /\d/, /[^A-Za-z\d]/].filter((re) => re.test(n)).length;
        if (!o || !n) { err.textContent = t('settings.pw.need'); return; }
        if (n.length < 8 || kinds < 2) { err.textContent = t('settings.pw.weak'); return; }
        if (n === o) { err.textContent = t('settings.pw.same'); return; }
        if (n !== r) { err.textContent = t('settings.pw.mismatch'); return; }
        btn.disabled = true;
        try {
            await api('POST', '/auth/password', { old_password: o, new_password: n });
            form.reset();
            toast(t('settings.pw.done'), 'success');
        } catch (x) { err.textContent = x.userMessage; err.title = x.serverMessage || ''; } finally { btn.disabled = false; }
    } }, h('p.muted.settings-hint', t('settings.pw.hint')), oldF, newF, repF, err, h('div.settings-actions', btn));
    return card(cardHead(t('settings.pw.title')), form);
}

// --- Devices

function deviceLabel(s) { return s.device_name || t('device.' + s.device_type) || s.device_type; }

function renderDevices(el) {
    const load = async () => {
        fill(el, h('div.empty', t('common.loading')));
        let j;
        try { j = await api('GET', '/auth/sessions'); } catch (e) { failed(el, e, load); return; }
        const list = [...j.sessions].sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0) || String(b.last_seen).localeCompare(String(a.last_seen)));
        const others = list.filter((s) => !s.current && s.id !== session.id);
        fill(el,
            h('p.muted.settings-hint', t('settings.devices.hint')),
            card(h('div.device-list', list.map((s) => deviceRow(s, load)))),
            others.length ? null : h('p.muted.settings-hint', { dataset: { test: 'devices-none' } }, t('settings.devices.none')),
            logCard);
    };
    const logCard = card(cardHead(t('settings.log.title')), h('div.empty', t('common.loading')));
    api('GET', '/auth/login-log', null, { query: { limit: 10 } }).then((j) => {
        const rows = (j.entries || []).map((e) => h('div.log-row', { dataset: { test: 'login-log' }, class: e.result === 'ok' ? '' : 'bad' },
            h('span.log-time', fmtTime(e.at, { full: true })),
            h('span.log-what', t('settings.log.' + e.result) === 'settings.log.' + e.result ? e.result : t('settings.log.' + e.result)),
            h('span.log-where', [t('device.' + e.device_type), e.ip].filter(Boolean).join(' · '))));
        logCard.lastChild.replaceWith(rows.length ? h('div.log-list', rows) : h('p.muted.settings-hint', t('settings.log.none')));
    }).catch((e) => logCard.lastChild.replaceWith(h('p.form-error', e.userMessage || String(e))));
    load();
}

function deviceRow(s, reload) {
    const mine = s.current || s.id === session.id;
    const name = deviceLabel(s);
    const typeIcon = ['android', 'ios'].includes(s.device_type) ? 'phone' : 'devices';
    const act = async (kind) => {
        const wipe = kind === 'wipe';
        const ok = await confirmDialog({
            title: t(wipe ? 'settings.devices.wipe.title' : 'settings.devices.signout.title'),
            text: t(wipe ? 'settings.devices.wipe.text' : 'settings.devices.signout.text', { name }),
            ok: t(wipe ? 'settings.devices.wipe.ok' : 'settings.devices.signout'), danger: true,
        });
        if (!ok) return;
        try {
            if (wipe) await api('POST', `/auth/sessions/${s.id}/wipe`);
            else await api('DELETE', `/auth/sessions/${s.id}`);
            toast(t(wipe ? 'settings.devices.wiped' : 'settings.devices.signedOut'), 'success');
        } catch (e) { toast(e.userMessage || String(e), 'error'); }
        reload();
    };
    return h('div.device', { dataset: { test: 'device', sessionId: String(s.id), current: mine ? '1' : '0' } },
        h('span.device-ico', icon(typeIcon)),
        h('div.grow',
            h('div.device-name', name, mine ? h('span.tag', { dataset: { test: 'device-current' } }, t('settings.devices.this')) : null),
            h('div.device-sub', [t('device.' + s.device_type), s.ip ? t('settings.devices.ip', { ip: s.ip }) : null].filter(Boolean).join(' · ')),
            h('div.device-sub', [s.last_seen ? t('settings.devices.seen', { time: fmtTime(s.last_seen, { full: true }) }) : null,
                s.created_at ? t('settings.devices.since', { time: fmtTime(s.created_at, { full: true }) }) : null].filter(Boolean).join(' · '))),
        mine ? null : h('div.device-actions',
            h('button.btn.btn-sm', { type: 'button', dataset: { test: 'device-signout' }, onclick: () => act('signout') }, icon('logout'), t('settings.devices.signout')),
            h('button.btn.btn-sm.btn-danger-outline', { type: 'button', dataset: { test: 'device-wipe' }, onclick: () => act('wipe') }, icon('trash'), t('settings.devices.wipe'))));
}

// --- Security PIN

function pinInput(id, label, test) {
    return h('label.field', h('span', label), h('input.pin-field', { id, type: 'password', inputmode: 'numeric', autocomplete: 'off',
        maxlength: 6, pattern: '[0-9]*', dataset: { test } }));
}

function renderSecurity(el, sc) {
    const draw = () => {
        const on = hasPin();
        const err = h('p.form-error', { role: 'alert', dataset: { test: 'pin-error' } });
        const cur = on ? pinInput('pin-current', t('settings.pin.current'), 'pin-current') : null;
        const nw = pinInput('pin-new', t('settings.pin.new'), 'pin-new');
        const rep = pinInput('pin-repeat', t('settings.pin.repeat'), 'pin-repeat');
        const v = (l) => l.querySelector('input').value;
        const btn = h('button.btn.btn-primary', { type: 'submit', dataset: { test: 'pin-save' } }, t(on ? 'settings.pin.change' : 'settings.pin.set'));
        const form = h('form.settings-form.pin-form', { novalidate: true, onsubmit: async (e) => {
            e.preventDefault();
            err.textContent = '';
            if (!PIN_RE.test(v(nw))) { err.textContent = t('settings.pin.bad'); return; }
            if (v(nw) !== v(rep)) { err.textContent = t('settings.pin.mismatch'); return; }
            btn.disabled = true;
            try {
                if (on && !(await verifyPin(v(cur)))) { err.textContent = t('settings.pin.wrong'); return; }
                await setPin(v(nw));
                toast(t(on ? 'settings.pin.changed' : 'settings.pin.saved'), 'success');
                draw();
            } finally { btn.disabled = false; }
        } }, cur, nw, rep, err, h('div.settings-actions', btn,
            on ? h('button.btn', { type: 'button', dataset: { test: 'pin-remove' }, onclick: () => askRemove(draw) }, t('settings.pin.remove')) : null));

        const sel = h('select#pin-idle', { dataset: { test: 'pin-idle' }, onchange: async () => {
            sel.disabled = true;
            if (!(await savePrefs({ lock: { idle_minutes: Number(sel.value) } }, sel))) sel.value = String(prefs.get().lock.idle_minutes || 0);
        } }, [0, 1, 5, 15, 30, 60].map((n) => h('option', { value: String(n) },
            n === 0 ? t('settings.pin.idle.0') : n === 60 ? t('settings.pin.idle.60') : t('settings.pin.idle.n', { n }))));
        const idleNow = prefs.get().lock.idle_minutes || 0;
        if (![0, 1, 5, 15, 30, 60].includes(idleNow)) sel.append(h('option', { value: String(idleNow) }, t('settings.pin.idle.n', { n: idleNow })));
        sel.value = String(idleNow);
        fill(el,
            card(h('div.pin-status', { class: on ? 'on' : '' }, icon(on ? 'check' : 'lock'),
                h('span', { dataset: { test: 'pin-status' } }, t(on ? 'settings.pin.on' : 'settings.pin.none')),
                on ? h('button.btn.btn-sm', { type: 'button', dataset: { test: 'lock-now' }, onclick: () => lockNow() }, icon('lock'), t('settings.pin.lockNow')) : null),
            h('p.muted.settings-hint', t('settings.pin.about'))),
            card(cardHead(t(on ? 'settings.pin.change' : 'settings.pin.set')), form),
            card(h('label.settings-row.settings-select', h('div.settings-row-label', t('settings.pin.idle')), sel),
                h('p.muted.settings-hint', t('settings.pin.idle.hint')),
                on ? null : h('p.settings-warn', t('settings.pin.idle.needPin'))));
    };
    sc.on('prefs:changed', () => { const s = el.querySelector('#pin-idle'); if (s && document.activeElement !== s) s.value = String(prefs.get().lock.idle_minutes || 0); });
    draw();
}

function askRemove(after) {
    const err = h('p.form-error', { role: 'alert' });
    const cur = pinInput('pin-remove-current', t('settings.pin.current'), 'pin-remove-current');
    modal({
        title: t('settings.pin.remove'), testId: 'pin-remove-dialog', body: h('div', cur, err),
        actions: [{ label: t('common.cancel') }, { label: t('settings.pin.remove'), danger: true, testId: 'pin-remove-ok', onClick: async () => {
            if (!(await verifyPin(cur.querySelector('input').value))) { err.textContent = t('settings.pin.wrong'); return false; }
            removePin();
            toast(t('settings.pin.removed'), 'success');
            after();
            return true;
        } }],
    });
}

// --- Notifications and do not disturb

function renderNotify(el, sc) {
    const desktop = toggle(t('settings.notify.desktop'), t('settings.notify.desktop.sub'), 'pref-desktop',
        (v, i) => { i.disabled = true; savePrefs({ notify: { desktop: v } }, i); });
    const perm = h('div.perm-line', { dataset: { test: 'notify-permission' } });
    const preview = toggle(t('settings.notify.preview'), t('settings.notify.preview.sub'), 'pref-preview',
        (v, i) => { i.disabled = true; savePrefs({ notify: { preview: v } }, i); });
    const sound = toggle(t('settings.notify.sound'), t('settings.notify.sound.sub'), 'pref-sound',
        (v, i) => { i.disabled = true; savePrefs({ notify: { sound: v } }, i); });
    const dnd = toggle(t('settings.dnd'), t('settings.dnd.sub'), 'pref-dnd',
        (v, i) => { i.disabled = true; savePrefs({ dnd: { enabled: v } }, i); });
    const time = (key, test) => {
        const i = h('input', { type: 'time', id: 'dnd-' + key, dataset: { test }, required: true,
            onchange: () => { if (/^\d\d:\d\d$/.test(i.value)) savePrefs({ dnd: { [key]: i.value } }); } });
        return i;
    };
    const from = time('from', 'pref-dnd-from'), to = time('to', 'pref-dnd-to');
    const times = h('div.dnd-times',
        h('label.field', h('span', t('settings.dnd.from')), from),
        h('label.field', h('span', t('settings.dnd.to')), to));
    const now = h('p.dnd-now', { dataset: { test: 'dnd-now' } }, icon('moon'), t('settings.dnd.now'));
    const night = h('p.muted.settings-hint', t('settings.dnd.night'));

    const drawPerm = () => {
        if (!('Notification' in window)) { fill(perm, h('span.muted', t('settings.notify.perm.unsupported'))); return; }
        const p = Notification.permission;
        fill(perm, h('span', { class: 'perm perm-' + p }, t('settings.notify.perm.' + p)),
            p === 'default' ? h('button.btn.btn-sm', { type: 'button', dataset: { test: 'notify-ask' }, onclick: async () => {
                try { await Notification.requestPermission(); } catch { /* old callback form */ }
                drawPerm();
            } }, icon('bell'), t('settings.notify.perm.ask')) : null);
    };
    const sync = () => {
        const p = prefs.get();
        desktop.input.checked = !!p.notify.desktop;
        preview.input.checked = !!p.notify.preview;
        sound.input.checked = !!p.notify.sound;
        dnd.input.checked = !!p.dnd.enabled;
        if (document.activeElement !== from) from.value = p.dnd.from;
        if (document.activeElement !== to) to.value = p.dnd.to;
        times.classList.toggle('off', !p.dnd.enabled);
        now.hidden = !prefs.inDnd();
    };
    fill(el,
        card(desktop.el, perm, preview.el, sound.el),
        card(dnd.el, times, night, now));
    drawPerm();
    sync();
    sc.on('prefs:changed', sync);
    // the permission can change in the browser's site settings meanwhile
    const onFocus = () => drawPerm();
    window.addEventListener('focus', onFocus);
    sc.add(() => window.removeEventListener('focus', onFocus));
}

// --- Language

function renderLanguage(el) {
    const cur = getLanguage();
    const opt = (l, label) => h('button.lang-option', { type: 'button', class: l === cur ? 'on' : '', 'aria-pressed': String(l === cur),
        dataset: { test: 'lang-' + l }, onclick: async () => {
            if (l === getLanguage()) return;
            try { await prefs.set({ language: l }); } catch (e) { toast(e.userMessage || String(e), 'error'); }
            setLanguage(l);             // reloads (a no-op when the preferences push already did)
        } }, h('span.grow', label), l === cur ? icon('check') : null);
    fill(el, card(h('div.lang-list', opt('zh-CN', '中文（简体）'), opt('en', 'English'))),
        h('p.muted.settings-hint', t('settings.language.hint')));
}

// --- About

function renderAbout(el) {
    const status = h('span', t('common.loading'));
    fill(el, card(h('div.about-brand', h('img', { src: 'img/logo.svg', alt: '', width: 56, height: 56 }),
        h('div', h('div.settings-name', t('app.name')), h('p.muted', t('settings.about.text')))),
    h('div.settings-rows',
        row(t('settings.about.client'), CLIENT_VERSION, 'about-version'),
        row(t('settings.about.server'), location.host),
        row(t('settings.about.status'), status, 'about-status'),
        row(t('settings.about.session'), session.id ? '#' + session.id : null))),
    card(h('div.about-links',
        h('button.link-btn', { type: 'button', onclick: () => location.reload() }, icon('recall'), t('settings.about.reload')))));
    const t0 = Date.now();
    api('GET', '/ping').then((j) => {
        const skew = Math.round(j.time - (t0 + Date.now()) / 2000);
        status.textContent = t('settings.about.ok', { n: Math.abs(skew) });
    }).catch(() => { status.textContent = t('settings.about.down'); });
}
