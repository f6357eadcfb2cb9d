// Settings: profile (departments, avatar, password), devices (sign out and
// remote wipe of another device), notifications/DND persisted as
// preferences, language switch, about, sign out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, api, apiOk, adminToken, uniq } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// a PNG made by the browser's canvas
async function pngFrom(page, color) {
    const dataUrl = await page.evaluate((c) => {
        const cv = document.createElement('canvas');
        cv.width = 120; cv.height = 80;
        const g = cv.getContext('2d');
        g.fillStyle = c; g.fillRect(0, 0, 120, 80);
        return cv.toDataURL('image/png');
    }, color);
    return Buffer.from(dataUrl.split(',')[1], 'base64');
}

test('my profile: name, account, department path, new avatar, password change with clear errors', async () => {
    const admin = await adminToken();
    const dname = uniq('研发');
    const d = await apiOk('POST', '/admin/departments', { name: dname, parent_id: 0 }, admin);
    const u = await newUser({ name: '资料用户', title: '工程师', departments: [{ dept_id: d.department.id, position: '组长' }] });
    const a = await openApp(browser);
    const { page } = a;
    await login(page, u);
    await page.getByTestId('me').click();
    await page.getByTestId('settings-page-profile').waitFor();
    await page.getByTestId('profile-account').filter({ hasText: u.account }).waitFor();
    await page.getByTestId('profile-dept').filter({ hasText: dname }).filter({ hasText: '组长' }).waitFor();
    await page.locator('.settings-name', { hasText: '资料用户' }).waitFor();

    // avatar: pick a file, preview, save; the server has it afterwards
    assert.equal((await api('GET', `/org/users/${u.id}/avatar`, null, await u.token())).status, 404);
    await page.getByTestId('avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await pngFrom(page, '#12a37f') });
    await page.getByTestId('avatar-preview').waitFor();
    await shot(page, 'settings-avatar-preview');
    await page.getByTestId('avatar-save').click();
    await page.locator('.toast', { hasText: '头像已更新' }).waitFor();
    await page.getByTestId('profile-avatar-img').waitFor();
    assert.equal((await api('GET', `/org/users/${u.id}/avatar`, null, await u.token())).status, 200, 'the avatar is stored');

    // password: client checks, then the server's answer
    const pw = async (o, n, r) => {
        await page.locator('#set-pw-old').fill(o);
        await page.locator('#set-pw-new').fill(n);
        await page.locator('#set-pw-repeat').fill(r);
        await page.getByTestId('pw-submit').click();
    };
    await pw(u.password, 'short', 'short');
    await page.getByTestId('pw-error').filter({ hasText: '至少 8 位' }).waitFor();
    await pw(u.password, 'NewPass-2026x', 'NewPass-2026y');
    await page.getByTestId('pw-error').filter({ hasText: '不一致' }).waitFor();
    await pw('wrong-password-1', 'NewPass-2026x', 'NewPass-2026x');
    await page.getByTestId('pw-error').filter({ hasText: '当前密码不正确' }).waitFor();
    await pw(u.password, 'NewPass-2026x', 'NewPass-2026x');
    await page.locator('.toast', { hasText: '密码已修改' }).waitFor();
    assert.equal((await api('POST', '/auth/login', { account: u.account, password: 'NewPass-2026x', device_type: 'api' })).status, 200, 'the new password works');
    await shot(page, 'settings-profile');
    a.assertNoErrors();
    await a.close();
});

test('devices: the other device is listed and signed out from here; it ends on the sign-in page', async () => {
    const u = await newUser({ name: '两台设备' });
    const a = await openApp(browser);
    const b = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(a.page, u);
    await login(b.page, u);
    await a.page.goto('/app/#/settings/devices');
    const rows = a.page.getByTestId('device');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2, 'two devices');
    const mine = rows.filter({ has: a.page.getByTestId('device-current') });
    assert.equal(await mine.count(), 1, 'one is marked as this device');
    assert.equal(await mine.getByTestId('device-signout').count(), 0, 'this device has no sign-out button here');
    await mine.filter({ hasText: '本机' }).waitFor();
    await shot(a.page, 'settings-devices');
    const other = rows.filter({ hasNot: a.page.getByTestId('device-current') });
    await other.filter({ hasText: '127.0.0.1' }).waitFor();
    await other.getByTestId('device-signout').click();
    await a.page.getByTestId('confirm').filter({ hasText: '退出登录' }).waitFor();
    await a.page.getByTestId('confirm-ok').click();
    await b.page.getByTestId('login-notice').filter({ hasText: '此设备已退出登录' }).waitFor({ timeout: 20000 });
    await a.page.getByTestId('devices-none').waitFor();
    assert.equal(await rows.count(), 1);
    // the sign-ins of both devices are in the history
    await a.page.getByTestId('login-log').nth(1).waitFor();
    assert.ok(await a.page.getByTestId('login-log').filter({ hasText: '登录成功' }).count() >= 2, 'two successful sign-ins listed');
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});

test('remote wipe: the other device loses all its local data and is told so', async () => {
    const u = await newUser({ name: '远程清除' });
    const a = await openApp(browser);
    const b = await openApp(browser);
    await login(a.page, u);
    await login(b.page, u);
    await b.page.evaluate(() => { localStorage.setItem('yd.cache.test', 'secret'); });
    assert.ok(await b.page.evaluate(() => localStorage.length) >= 2);
    await a.page.goto('/app/#/settings/devices');
    const other = a.page.getByTestId('device').filter({ hasNot: a.page.getByTestId('device-current') });
    await other.getByTestId('device-wipe').click();
    await a.page.getByTestId('confirm').filter({ hasText: '无法撤销' }).waitFor();
    await shot(a.page, 'settings-wipe-confirm');
    await a.page.getByTestId('confirm-ok').click();
    await b.page.getByTestId('login-notice').filter({ hasText: '远程清除' }).waitFor({ timeout: 20000 });
    assert.equal(await b.page.evaluate(() => localStorage.length), 0, 'localStorage of the wiped device is empty');
    await shot(b.page, 'login-wiped');
    // the wiping device is still signed in
    await a.page.getByTestId('devices-none').waitFor();
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});

test('notifications and do not disturb persist (reload, and GET /me/preferences agrees)', async () => {
    const u = await newUser();
    const a = await openApp(browser, { permissions: ['notifications'] });
    const { page } = a;
    await login(page, u);
    await page.goto('/app/#/settings/notify');
    await page.getByTestId('notify-permission').filter({ hasText: '浏览器已允许通知' }).waitFor();
    const preview = page.getByTestId('pref-preview'), dnd = page.getByTestId('pref-dnd'), sound = page.getByTestId('pref-sound');
    assert.equal(await preview.isChecked(), true);
    assert.equal(await dnd.isChecked(), false);
    await preview.uncheck();
    await page.locator('.toast', { hasText: '已保存' }).first().waitFor();
    await dnd.check();
    await sound.uncheck();
    await page.getByTestId('pref-dnd-from').fill('21:30');
    await page.getByTestId('pref-dnd-from').dispatchEvent('change');
    const tok = await u.token();
    let p;
    for (let i = 0; i < 50; i++) {
        p = (await apiOk('GET', '/me/preferences', null, tok)).preferences;
        if (p.dnd.enabled && p.dnd.from === '21:30' && !p.notify.sound && !p.notify.preview) break;
        await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual({ dnd: p.dnd.enabled, from: p.dnd.from, preview: p.notify.preview, sound: p.notify.sound, desktop: p.notify.desktop },
        { dnd: true, from: '21:30', preview: false, sound: false, desktop: true }, 'the server has the choices');
    await page.reload();
    await page.getByTestId('settings-page-notify').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-test=pref-dnd]')?.checked === true);
    assert.equal(await preview.isChecked(), false, 'preview off after reload');
    assert.equal(await sound.isChecked(), false, 'sound off after reload');
    assert.equal(await page.getByTestId('pref-dnd-from').inputValue(), '21:30');
    await shot(page, 'settings-notify');
    a.assertNoErrors();
    await a.close();
});

test('language: English switches the labels and is saved as a preference; about shows the version', async () => {
    const u = await newUser();
    const a = await openApp(browser);
    const { page } = a;
    await login(page, u);
    await page.goto('/app/#/settings/language');
    await page.getByTestId('lang-en').click();
    await page.locator('.rail-item[data-section=settings]', { hasText: 'Settings' }).waitFor();
    await page.getByTestId('settings-devices').filter({ hasText: 'Devices' }).waitFor();
    await page.locator('.pane-head h2', { hasText: 'Language' }).waitFor();
    assert.equal((await apiOk('GET', '/me/preferences', null, await u.token())).preferences.language, 'en');
    await page.goto('/app/#/settings/about');
    await page.getByTestId('about-version').filter({ hasText: /\d+\.\d+/ }).waitFor();
    await page.getByTestId('about-status').filter({ hasText: 'Connected' }).waitFor();
    await shot(page, 'settings-about-en');
    // sign out from the list
    await page.getByTestId('settings-signout').click();
    await page.getByTestId('confirm-ok').click();
    await page.locator('[data-view=login]').waitFor();
    await page.locator('#login-submit', { hasText: 'Sign in' }).waitFor();
    a.assertNoErrors();
    await a.close();
});

test('phone layout: the list, then a page with a back button', async () => {
    const u = await newUser();
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    const { page } = a;
    await login(page, u);
    await page.goto('/app/#/settings');
    await page.getByTestId('settings-security').waitFor();
    assert.equal(await page.locator('.settings-main').isVisible(), false, 'only the list');
    await shot(page, 'settings-list-phone');
    await page.getByTestId('settings-notify').click();
    await page.getByTestId('settings-page-notify').waitFor();
    assert.equal(await page.locator('.settings-list').isVisible(), false, 'only the page');
    await shot(page, 'settings-notify-phone');
    await page.locator('.settings-main .back').click();
    await page.getByTestId('settings-security').waitFor();
    a.assertNoErrors();
    await a.close();
});
