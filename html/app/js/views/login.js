// Sign-in page (account + password, "remember this device"), and the
// forced password change of a first sign-in.
import { h, fill, icon } from '../dom.js';
import { t, register, getLanguage, setLanguage } from '../i18n.js';
import { session } from '../session.js';
import { api, errorText } from '../api.js';

register({
    'zh-CN': {
        'login.title': '登录有度', 'login.account': '账号', 'login.password': '密码',
        'login.remember': '记住此设备', 'login.remember.hint': '在公用电脑上请不要勾选',
        'login.submit': '登录', 'login.busy': '正在登录…',
        'login.need': '请输入账号和密码',
        'login.notice.wiped': '管理员或你本人已远程清除此设备上的数据，请重新登录。',
        'login.notice.revoked': '此设备已退出登录，请重新登录。',
        'login.notice.logout': '你已退出登录。',
        'login.notice.disabled': '账号已被停用，请联系管理员。',
        'login.tagline': '安全、私有部署的企业即时通讯',
        'pw.title': '请先修改密码', 'pw.hint': '首次登录或管理员重置密码后，需要设置新密码。至少 8 位，包含字母、数字、符号中的两种。',
        'pw.old': '当前密码', 'pw.new': '新密码', 'pw.repeat': '再次输入新密码', 'pw.mismatch': '两次输入的新密码不一致',
        'pw.submit': '修改并进入', 'pw.signout': '退出登录',
    },
    en: {
        'login.title': 'Sign in to Youdu', 'login.account': 'Account', 'login.password': 'Password',
        'login.remember': 'Remember this device', 'login.remember.hint': 'Leave unchecked on a shared computer',
        'login.submit': 'Sign in', 'login.busy': 'Signing in…',
        'login.need': 'Enter your account and password',
        'login.notice.wiped': 'The data of this device was wiped remotely. Sign in again.',
        'login.notice.revoked': 'This device was signed out. Sign in again.',
        'login.notice.logout': 'You have signed out.',
        'login.notice.disabled': 'Your account is disabled. Contact your administrator.',
        'login.tagline': 'Secure, self-hosted enterprise messaging',
        'pw.title': 'Change your password first', 'pw.hint': 'After your first sign-in or a reset you need a new password: at least 8 characters of two kinds (letters, digits, symbols).',
        'pw.old': 'Current password', 'pw.new': 'New password', 'pw.repeat': 'Repeat the new password', 'pw.mismatch': 'The new passwords differ',
        'pw.submit': 'Change and continue', 'pw.signout': 'Sign out',
    },
});

function langSwitch() {
    const other = getLanguage() === 'en' ? 'zh-CN' : 'en';
    return h('button.link-btn.lang-switch', { type: 'button', dataset: { test: 'lang-switch' },
        onclick: () => setLanguage(other) }, icon('globe'), other === 'en' ? 'English' : '中文');
}

// renderLogin(root, {notice, onSignedIn})
export function renderLogin(root, { notice, onSignedIn }) {
    const err = h('p.form-error', { role: 'alert', dataset: { test: 'login-error' } });
    const account = h('input#login-account', { name: 'account', autocomplete: 'username', required: true,
        placeholder: t('login.account'), 'aria-label': t('login.account'), maxlength: 64 });
    const password = h('input#login-password', { name: 'password', type: 'password', autocomplete: 'current-password',
        required: true, placeholder: t('login.password'), 'aria-label': t('login.password'), maxlength: 256 });
    const remember = h('input#login-remember', { type: 'checkbox', checked: localStorage.getItem('yd.remember') !== '0' });
    const submit = h('button#login-submit.btn.btn-primary.btn-block', { type: 'submit' }, t('login.submit'));
    const form = h('form.login-form', { novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        if (!account.value.trim() || !password.value) { err.textContent = t('login.need'); return; }
        submit.disabled = true; submit.textContent = t('login.busy');
        localStorage.setItem('yd.remember', remember.checked ? '1' : '0');
        const r = await session.login(account.value.trim(), password.value, remember.checked);
        submit.disabled = false; submit.textContent = t('login.submit');
        if (!r.ok) {
            err.textContent = errorText(r.errcode, r.errmsg);
            err.title = r.errmsg || '';
            password.select();
            return;
        }
        if (r.must_change_password) renderPasswordChange(root, { old: password.value, onDone: onSignedIn });
        else onSignedIn();
    } },
        h('label.field', h('span', t('login.account')), account),
        h('label.field', h('span', t('login.password')), password),
        h('label.check', { title: t('login.remember.hint') }, remember, h('span', t('login.remember'))),
        err, submit);
    fill(root, h('div.login-page', { dataset: { view: 'login' } },
        h('div.login-card',
            h('div.login-brand', h('img', { src: 'img/logo.svg', alt: '', width: 48, height: 48 }),
                h('div', h('h1', t('login.title')), h('p.muted', t('login.tagline')))),
            notice ? h('p.notice', { dataset: { test: 'login-notice' } }, t('login.notice.' + notice)) : null,
            form),
        h('footer.login-foot', langSwitch())));
    account.focus();
}

export function renderPasswordChange(root, { old, onDone }) {
    const err = h('p.form-error', { role: 'alert' });
    const f = (id, label, ac) => h('input', { id, type: 'password', autocomplete: ac, 'aria-label': label, placeholder: label });
    const oldIn = f('pw-old', t('pw.old'), 'current-password');
    if (old) oldIn.value = old;
    const newIn = f('pw-new', t('pw.new'), 'new-password');
    const rep = f('pw-repeat', t('pw.repeat'), 'new-password');
    const form = h('form.login-form', { onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        if (newIn.value !== rep.value) { err.textContent = t('pw.mismatch'); return; }
        try {
            await api('POST', '/auth/password', { old_password: oldIn.value, new_password: newIn.value });
            onDone();
        } catch (x) { err.textContent = x.userMessage; }
    } },
        h('p.muted', t('pw.hint')),
        h('label.field', h('span', t('pw.old')), oldIn),
        h('label.field', h('span', t('pw.new')), newIn),
        h('label.field', h('span', t('pw.repeat')), rep),
        err,
        h('button#pw-submit.btn.btn-primary.btn-block', { type: 'submit' }, t('pw.submit')),
        h('button.link-btn', { type: 'button', onclick: () => session.logout() }, t('pw.signout')));
    fill(root, h('div.login-page', { dataset: { view: 'password' } },
        h('div.login-card', h('div.login-brand', h('img', { src: 'img/logo.svg', alt: '', width: 48, height: 48 }),
            h('h1', t('pw.title'))), form)));
    (old ? newIn : oldIn).focus();
}
