// Security PIN (js/lock.js): set in settings, lock on reload, wrong and right
// PIN, idle lock (the test-only key yd.lock.idle_ms_test), lock now, forgot
// PIN, 5 wrong PINs wipe the device.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, api } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function setPin(page, pin) {
    await page.goto('/app/#/settings/security');
    await page.getByTestId('pin-status').filter({ hasText: '尚未设置安全密码' }).waitFor();
    await page.getByTestId('pin-new').fill(pin);
    await page.getByTestId('pin-repeat').fill(pin);
    await page.getByTestId('pin-save').click();
    await page.getByTestId('pin-status').filter({ hasText: '已设置安全密码' }).waitFor();
}

async function enterPin(page, pin) {
    await page.getByTestId('lock-pin').fill(pin);
    await page.getByTestId('lock-unlock').click();
}

test('a PIN set in settings locks the app on reload; a wrong PIN is refused, the right one unlocks', async () => {
    const u = await newUser({ name: '锁屏用户' });
    const a = await openApp(browser);
    const { page } = a;
    await login(page, u);
    // the form checks the PIN
    await page.goto('/app/#/settings/security');
    await page.getByTestId('pin-new').fill('12a');
    await page.getByTestId('pin-repeat').fill('12a');
    await page.getByTestId('pin-save').click();
    await page.getByTestId('pin-error').filter({ hasText: '4–6 位数字' }).waitFor();
    await page.getByTestId('pin-new').fill('2468');
    await page.getByTestId('pin-repeat').fill('2469');
    await page.getByTestId('pin-save').click();
    await page.getByTestId('pin-error').filter({ hasText: '不一致' }).waitFor();
    await setPin(page, '2468');
    await shot(page, 'settings-pin');

    // only a salted hash is stored, never the PIN
    const stored = await page.evaluate((id) => localStorage.getItem('yd.pin.' + id), u.id);
    const rec = JSON.parse(stored);
    assert.ok(rec.iter >= 100000, 'PBKDF2 with at least 100k iterations');
    assert.ok(rec.salt && rec.hash, 'salt and hash stored');
    assert.ok(!stored.includes('2468'), 'the PIN itself is not stored');

    await page.reload();
    const lock = page.getByTestId('lock-screen');
    await lock.waitFor();
    await lock.getByText('锁屏用户').waitFor();
    // nothing of the app is on the page: the shell is not even rendered, the root is hidden
    assert.equal(await page.locator('[data-view=shell]').count(), 0, 'the shell is not shown while locked');
    assert.equal(await page.locator('#root').isVisible(), false, '#root hidden');
    await shot(page, 'lock-screen');

    await enterPin(page, '1357');
    await page.getByTestId('lock-error').filter({ hasText: '还可尝试 4 次' }).waitFor();
    assert.equal(await page.locator('[data-view=shell]').count(), 0);
    // the count survives a reload
    await page.reload();
    await page.getByTestId('lock-error').filter({ hasText: '还可尝试 4 次' }).waitFor();
    await enterPin(page, '2468');
    await page.locator('[data-view=shell]').waitFor();
    assert.equal(await lock.count(), 0, 'the lock screen is gone');
    // a good PIN resets the count
    await page.reload();
    await lock.waitFor();
    assert.equal(await page.getByTestId('lock-error').textContent(), '');
    // the PIN pad works too
    for (const d of '2468') await page.locator('.lock-key', { hasText: d }).click();
    await page.getByTestId('lock-unlock').click();
    await page.locator('[data-view=shell]').waitFor();
    a.assertNoErrors();
    await a.close();
});

test('idle lock (test override of the idle time) hides the open app; lock now; change and remove the PIN', async () => {
    const u = await newUser({ name: '空闲锁定' });
    const a = await openApp(browser);
    const { page } = a;
    await login(page, u);
    await setPin(page, '86420');
    // idle_minutes is a shared preference; 1 minute is too slow for a test: the override
    await page.getByTestId('pin-idle').selectOption('5');
    await page.locator('.toast', { hasText: '已保存' }).waitFor();
    await page.evaluate(() => localStorage.setItem('yd.lock.idle_ms_test', '1500'));
    await page.goto('/app/#/chats');
    await page.locator('[data-view=shell]').waitFor();
    // no input: it locks by itself
    await page.getByTestId('lock-screen').waitFor({ timeout: 20000 });
    assert.equal(await page.locator('[data-view=shell]').isVisible(), false, 'the shell is hidden, not just covered');
    assert.equal(await page.locator('#root').evaluate((el) => el.inert), true, 'and inert');
    await enterPin(page, '86420');
    await page.locator('[data-view=shell]').waitFor({ state: 'visible' });

    // lock now
    await page.evaluate(() => localStorage.removeItem('yd.lock.idle_ms_test'));
    await page.goto('/app/#/settings/security');
    await page.getByTestId('lock-now').click();
    await page.getByTestId('lock-screen').waitFor();
    assert.equal(await page.getByTestId('settings-page-security').isVisible(), false);
    await enterPin(page, '86420');
    await page.getByTestId('settings-page-security').waitFor({ state: 'visible' });

    // change: the current PIN is checked
    await page.getByTestId('pin-current').fill('11111');
    await page.getByTestId('pin-new').fill('1234');
    await page.getByTestId('pin-repeat').fill('1234');
    await page.getByTestId('pin-save').click();
    await page.getByTestId('pin-error').filter({ hasText: '当前安全密码不正确' }).waitFor();
    await page.getByTestId('pin-current').fill('86420');
    await page.getByTestId('pin-save').click();
    await page.locator('.toast', { hasText: '安全密码已修改' }).waitFor();
    await page.reload();
    await enterPin(page, '1234');
    await page.getByTestId('settings-page-security').waitFor();
    // remove
    await page.getByTestId('pin-remove').click();
    await page.getByTestId('pin-remove-current').fill('1234');
    await page.getByTestId('pin-remove-ok').click();
    await page.getByTestId('pin-status').filter({ hasText: '尚未设置安全密码' }).waitFor();
    await page.reload();
    await page.locator('[data-view=shell]').waitFor();
    assert.equal(await page.getByTestId('lock-screen').count(), 0, 'no lock without a PIN');
    a.assertNoErrors();
    await a.close();
});

test('forgot PIN signs out; 5 wrong PINs sign out and wipe the local data (phone layout)', async () => {
    const u = await newUser({ name: '忘记密码' });
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    const { page } = a;
    await login(page, u);
    await setPin(page, '5555');
    await page.reload();
    await page.getByTestId('lock-screen').waitFor();
    await shot(page, 'lock-screen-phone');
    await page.getByTestId('lock-forgot').click();
    await page.getByTestId('confirm-ok').click();
    await page.locator('[data-view=login]').waitFor();
    assert.equal(await page.evaluate((id) => localStorage.getItem('yd.pin.' + id), u.id), null, 'the PIN is forgotten');

    // again, now with 5 wrong tries
    await login(page, u);
    await setPin(page, '5555');
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem('yd.session')).access_token);
    await page.reload();
    for (let i = 1; i <= 4; i++) {
        await enterPin(page, '0000');
        await page.getByTestId('lock-error').filter({ hasText: `还可尝试 ${5 - i} 次` }).waitFor();
    }
    await enterPin(page, '0000');
    await page.getByTestId('login-notice').filter({ hasText: '安全密码连续输错 5 次' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'localStorage is empty');
    const me = await api('GET', '/auth/me', null, token);
    assert.equal(me.status, 401, 'the session was signed out on the server');
    await shot(page, 'lock-wiped-phone');
    a.assertNoErrors();
    await a.close();
});
