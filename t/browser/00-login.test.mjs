// Sign-in, remembered device, sign-out, wrong password, phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, api, apiOk, adminToken, BASE } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the client is served with a strict CSP and / leads to it', async () => {
    const r = await fetch(BASE + '/', { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location').replace(/^https?:\/\/[^/]+/, ''), '/app/');
    const app = await fetch(BASE + '/app/');
    assert.equal(app.status, 200);
    assert.match(app.headers.get('content-security-policy'), /script-src 'self'/);
    assert.match(await app.text(), /js\/main\.js/);
});

test('wrong password shows the server message; the right one opens the app', async () => {
    const u = await newUser({ name: '登录测试' });
    const a = await openApp(browser);
    await a.page.locator('#login-account').fill(u.account);
    await a.page.locator('#login-password').fill('wrong-password-1');
    await a.page.locator('#login-submit').click();
    await assert.doesNotReject(a.page.getByTestId('login-error').filter({ hasText: /密码|password/ }).waitFor());
    await shot(a.page, 'login-error');
    await login(a.page, u);
    await a.page.locator('.rail-item[data-section=chats].active').waitFor();
    await shot(a.page, 'shell-desktop');
    a.assertNoErrors();
    await a.close();
});

test('a remembered device stays signed in after a reload; one not remembered asks again in a new tab', async () => {
    const u = await newUser();
    const a = await openApp(browser);
    await login(a.page, u, { remember: true });
    await a.page.reload();
    await a.page.locator('[data-view=shell]').waitFor();
    // not remembered: a new tab of the same browser asks again
    const b = await openApp(browser);
    await login(b.page, u, { remember: false });
    const p2 = await b.context.newPage();
    await p2.goto('/app/');
    await p2.locator('[data-view=login]').waitFor();
    a.assertNoErrors();
    await a.close(); await b.close();
});

test('phone layout: the rail becomes a bottom tab bar', async () => {
    const u = await newUser();
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(a.page, u);
    const box = await a.page.locator('nav.rail').boundingBox();
    assert.ok(box.y > 700, 'tab bar at the bottom, got y=' + box.y);
    assert.ok(box.width >= 380, 'tab bar spans the screen');
    await shot(a.page, 'shell-phone');
    a.assertNoErrors();
    await a.close();
});

test('a password an admin reset must be changed at the next sign-in, then the app opens', async () => {
    const u = await newUser({ name: '改密码' });
    await apiOk('POST', `/admin/users/${u.id}/password`, { password: 'Reset-Pass-77', must_change: true }, await adminToken());
    const a = await openApp(browser);
    await a.page.locator('#login-account').fill(u.account);
    await a.page.locator('#login-password').fill('Reset-Pass-77');
    await a.page.locator('#login-submit').click();
    await a.page.locator('[data-view=password]').waitFor();
    // the old password is carried over from the sign-in form; a weak new one is refused
    await a.page.locator('#pw-new').fill('short');
    await a.page.locator('#pw-repeat').fill('short');
    await a.page.locator('#pw-submit').click();
    await a.page.locator('[data-view=password] .form-error').filter({ hasText: /\S/ }).waitFor();
    await a.page.locator('#pw-new').fill('Brand-New-Pass-88');
    await a.page.locator('#pw-repeat').fill('Brand-New-Pass-88');
    await a.page.locator('#pw-submit').click();
    await a.page.locator('[data-view=shell]').waitFor();
    const r = await api('POST', '/auth/login', { account: u.account, password: 'Brand-New-Pass-88', device_type: 'api' });
    assert.equal(r.status, 200, 'the new password works');
    assert.equal(r.json.must_change_password, false);
    a.assertNoErrors();
    await a.close();
});
