// App portal (js/views/apps.js): apps from the admin API, badges from
// /cgi/set.ent.notice (REST and live), single sign-on into a new tab whose
// token /cgi/identify accepts; app cards (kind 4) from /cgi/msg/send; popups
// from /cgi/popwindow and /cgi/event/publish.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, api, apiOk, uniq, adminToken, BASE } from './lib/harness.mjs';
import { newApp, cgiCall, cgiNotice, cgiUpload, identify } from './lib/cgi.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('empty state when no app is visible to the user', async () => {
    const u = await newUser();
    // the Perl tests before this file leave company-wide apps behind: disable
    // every app the user would see for the length of this test
    const admin = await adminToken();
    const visible = new Set((await apiOk('GET', '/apps', null, await u.token())).apps.map((x) => x.id));
    const disabled = [];
    try {
        for (let off = 0; ; off += 500) {
            const page = await apiOk('GET', `/admin/apps?offset=${off}&limit=500`, null, admin);
            for (const app of page.apps) {
                if (!visible.has(app.id) || !app.enabled) continue;
                await apiOk('PATCH', '/admin/apps/' + app.id, { enabled: false }, admin);
                disabled.push(app.id);
            }
            if (page.apps.length < 500) break;
        }
        assert.deepEqual((await apiOk('GET', '/apps', null, await u.token())).apps, [], 'no app left for the user');
        const a = await openApp(browser);
        await login(a.page, u);
        await a.page.goto('/app/#/apps');
        await a.page.getByTestId('apps-empty').filter({ hasText: '还没有可用的应用' }).waitFor();
        await shot(a.page, 'apps-empty');
        a.assertNoErrors();
        await a.close();
    } finally {
        for (const id of disabled) await apiOk('PATCH', '/admin/apps/' + id, { enabled: true }, admin);
    }
});

test('the portal lists the apps with badges; opening one signs in to it in a new tab', async () => {
    const u = await newUser({ name: '应用用户' });
    const withHome = await newApp({ name: uniq('报销'), description: '差旅与费用报销', home_url: BASE + '/sso-demo/?ydtoken=$TOKEN$&from=youdu' });
    const noHome = await newApp({ name: uniq('通知助手'), description: '只发送消息的应用' });
    const a = await openApp(browser);
    const { page, context } = a;
    await login(page, u);
    // a badge before the portal is opened: the rail shows it
    assert.equal((await cgiNotice(withHome, '/set.ent.notice', { account: u.account, count: 3, tip: '3 张待审批' })).errcode, 0);
    await page.reload();
    await page.getByTestId('badge-apps').filter({ hasText: /^3$/ }).waitFor();
    await page.locator('.rail-item[data-section=apps]').click();
    const tile = page.getByTestId('app-tile').filter({ hasText: withHome.name });
    await tile.filter({ hasText: '差旅与费用报销' }).waitFor();
    await page.getByTestId('app-tile').filter({ hasText: noHome.name }).waitFor();
    await tile.getByTestId('app-badge').filter({ hasText: /^3$/ }).waitFor();
    await tile.filter({ hasText: '3 张待审批' }).waitFor();
    // live: the push channel moves the badge
    await cgiNotice(withHome, '/set.ent.notice', { account: u.account, count: 5 });
    await tile.getByTestId('app-badge').filter({ hasText: /^5$/ }).waitFor();
    await page.getByTestId('badge-apps').filter({ hasText: /^5$/ }).waitFor();
    await shot(page, 'apps-portal');

    // opening: a new tab at the home URL with a fresh token, without an opener
    const [popup] = await Promise.all([context.waitForEvent('page'), tile.click()]);
    const url = new URL(popup.url() === 'about:blank' ? (await popup.waitForURL(/sso-demo/), popup.url()) : popup.url());
    assert.equal(url.pathname, '/sso-demo/');
    assert.equal(url.searchParams.get('from'), 'youdu');
    const token = url.searchParams.get('ydtoken');
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, 'a 43-character token');
    assert.equal(await popup.evaluate(() => window.opener), null, 'no window.opener');
    const who = await identify(token);
    assert.equal(who.status.code, 0, 'the app server trades the token for the user');
    assert.equal(who.userInfo.account, u.account);
    assert.equal((await identify(token)).status.code, 10, 'once');
    await popup.close();

    // count 0 clears the badge
    await cgiNotice(withHome, '/set.ent.notice', { account: u.account, count: 0 });
    await tile.getByTestId('app-badge').waitFor({ state: 'hidden' });
    await page.getByTestId('badge-apps').waitFor({ state: 'hidden' });

    // an app without a home URL explains itself
    await page.getByTestId('app-tile').filter({ hasText: noHome.name }).click();
    await page.getByTestId('app-info').filter({ hasText: '只发送消息的应用' }).getByTestId('app-info-hint').waitFor();
    await shot(page, 'apps-info');
    await page.keyboard.press('Escape');
    a.assertNoErrors();
    await a.close();
});

test('phone layout of the portal', async () => {
    const u = await newUser();
    await newApp({ name: uniq('OA'), home_url: BASE + '/sso-demo/?t=$TOKEN$' });
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(a.page, u);
    await a.page.goto('/app/#/apps');
    await a.page.getByTestId('app-tile').first().waitFor();
    await shot(a.page, 'apps-phone');
    a.assertNoErrors();
    await a.close();
});

// the app conversation of the user, through the REST API
async function appCards(u, appName, want) {
    const tok = await u.token();
    for (let i = 0; i < 50; i++) {
        const list = (await apiOk('GET', '/conversations', null, tok)).conversations;
        const c = list.find((x) => x.kind === 'app' && x.name === appName);
        if (c) {
            const m = (await apiOk('GET', `/conversations/${c.id}/messages`, null, tok)).messages.filter((x) => x.kind === 4);
            if (m.length >= want) return { conv: c, cards: m };
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no app conversation with ' + want + ' cards');
}

test('app cards from /cgi/msg/send render as cards with safe links (renderer on its own)', async () => {
    const u = await newUser({ name: '卡片用户' });
    const app = await newApp({ name: uniq('审批') });
    const send = async (msg) => {
        const r = await cgiCall(app, '/msg/send', { toUser: u.account, ...msg });
        assert.equal(r.errcode, 0, JSON.stringify(r));
    };
    await send({ msgType: 'text', text: { content: '你有一张报销单待审批\n金额 ¥1,280.00' } });
    await send({ msgType: 'link', link: { title: '查看报销单', url: BASE + '/sso-demo/expense?id=7', action: 0 } });
    await send({ msgType: 'link', link: { title: '单点登录打开', url: BASE + '/sso-demo/sso', action: 1 } });
    await send({ msgType: 'mpnews', mpnews: [{ title: '十二月公司通知', digest: '年会安排与放假时间', content: '年会在 12 月 20 日举行。\n请准时参加。' },
        { title: '第二条', url: BASE + '/sso-demo/news/2' }] });
    await send({ msgType: 'exlink', exlink: [{ title: '外部链接文章', url: 'https://example.com/a', digest: '摘要文字' }] });
    const { cards } = await appCards(u, app.name, 5);
    assert.deepEqual(cards.map((m) => m.body.msgType), ['text', 'link', 'link', 'mpnews', 'exlink']);

    const a = await openApp(browser);
    const { page, context } = a;
    await login(page, u);
    // the renderer the chat view uses (messageRenderers[4]), fed with the server's messages
    await page.evaluate(async (msgs) => {
        const hooks = await import('/app/js/chat-hooks.js');
        const box = document.createElement('div');
        box.id = 'card-test';
        Object.assign(box.style, { position: 'fixed', inset: '0', overflow: 'auto', background: '#f4f6f9', padding: '16px', zIndex: 80,
            display: 'flex', flexDirection: 'column', gap: '12px' });
        for (const m of msgs) box.append(hooks.messageRenderers[4](m, {}));
        box.append(hooks.messageRenderers[4]({ kind: 4, body: { app: { name: 'x' }, msgType: 'link', link: { title: '坏链接', url: 'javascript:alert(1)' } } }, {}));
        box.append(hooks.messageRenderers[4]({ kind: 4, body: { app: { name: 'x' }, msgType: 'sysMsg', sysMsg: { title: '系统维护',
            msg: [{ text: { content: '今晚 22:00 停机' } }, { link: { title: '详情', url: 'https://example.com/m', action: 0 } }] } } }, {}));
        box.append(hooks.messageRenderers[4]({ kind: 4, body: { app: { name: '邮件' }, msgType: 'mail', mail: { action: 'new', subject: '周报',
            fromUser: '李四', fromEmail: 'li@example.com', time: 1796000000, link: 'https://mail.example.com/1' } } }, {}));
        box.append(hooks.messageRenderers[4]({ kind: 4, body: { app: { name: '短信' }, msgType: 'sms', sms: { from: '10086', content: '验证码 123456' } } }, {}));
        document.body.append(box);
    }, cards);
    const box = page.locator('#card-test');
    const card = box.getByTestId('app-card');
    assert.equal(await card.count(), 9);
    await card.nth(0).getByTestId('card-app').filter({ hasText: app.name }).waitFor();
    await card.nth(0).filter({ hasText: '金额 ¥1,280.00' }).waitFor();
    const link = card.nth(1).getByTestId('card-link');
    assert.equal(await link.getAttribute('href'), BASE + '/sso-demo/expense?id=7');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.match(await link.getAttribute('rel'), /noopener/);
    await card.nth(3).filter({ hasText: '十二月公司通知' }).filter({ hasText: '年会安排与放假时间' }).waitFor();
    await card.nth(4).getByTestId('card-link').filter({ hasText: '外部链接文章' }).waitFor();
    assert.equal(await card.nth(5).locator('a').count(), 0, 'a javascript: URL is not a link');
    await card.nth(6).filter({ hasText: '今晚 22:00 停机' }).waitFor();
    await card.nth(7).filter({ hasText: 'li@example.com' }).waitFor();
    await card.nth(8).filter({ hasText: '验证码 123456' }).waitFor();
    await shot(page, 'app-cards');

    // an article with content only opens as text in a dialog
    await card.nth(3).getByTestId('card-article-open').click();
    await page.getByTestId('card-article').filter({ hasText: '请准时参加' }).waitFor();
    await page.keyboard.press('Escape');
    // action 1: the link gets the account and a fresh SSO token
    const [tab] = await Promise.all([context.waitForEvent('page'), card.nth(2).getByTestId('card-link').click()]);
    await tab.waitForURL(/sso-demo\/sso\?/);
    const url = new URL(tab.url());
    assert.equal(url.searchParams.get('account'), u.account);
    assert.match(url.searchParams.get('token'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await identify(url.searchParams.get('token'))).userInfo.account, u.account);
    await tab.close();
    a.assertNoErrors();
    await a.close();
});

test('popups and app events show at their corner and close', async () => {
    const u = await newUser();
    const app = await newApp({ name: uniq('提醒') });
    const a = await openApp(browser);
    const { page } = a;
    await login(page, u);
    await page.waitForFunction(() => document.querySelector('[data-test=net-bar]')?.hidden !== false);
    // the push channel must be up before a popup (they are not stored)
    const popup = page.getByTestId('app-popup');
    let r;
    for (let i = 0; i < 30; i++) {
        r = await cgiNotice(app, '/popwindow', { toUser: u.account, popWindow: { tip: '会议 10 分钟后开始', title: '会议提醒', duration: 3, position: 2, notice_id: 'm1' } });
        assert.equal(r.errcode, 0, JSON.stringify(r));
        try { await popup.first().waitFor({ timeout: 1000 }); break; } catch { /* not connected yet */ }
    }
    await popup.filter({ hasText: '会议 10 分钟后开始' }).filter({ hasText: '会议提醒' }).first().waitFor();
    const box = await popup.first().boundingBox();
    assert.ok(box.x > 640 && box.y < 100, 'top right: ' + JSON.stringify(box));
    await shot(page, 'app-popup');
    await popup.first().waitFor({ state: 'detached', timeout: 10000 });

    // a URL shows in a sandboxed frame (no same-origin rights), with a link to open it in a tab
    r = await cgiNotice(app, '/popwindow', { toUser: u.account, popWindow: { url: BASE + '/sso-demo/popup', title: '审批单', duration: -1, position: 3, notice_id: 'm2' } });
    assert.equal(r.errcode, 0, JSON.stringify(r));
    const framed = popup.filter({ hasText: '审批单' });
    await framed.waitFor();
    const sandbox = await framed.locator('iframe').getAttribute('sandbox');
    assert.ok(sandbox.includes('allow-scripts') && !sandbox.includes('allow-same-origin'), 'sandbox: ' + sandbox);
    assert.equal(await framed.locator('iframe').getAttribute('src'), BASE + '/sso-demo/popup');
    assert.match(await framed.locator('a.popup-open').getAttribute('rel'), /noopener/);
    const fb = await framed.boundingBox();
    assert.ok(fb.x > 640 && fb.y > 300, 'bottom right: ' + JSON.stringify(fb));
    await framed.getByTestId('popup-close').click();
    await framed.waitFor({ state: 'detached' });

    r = await cgiCall(app, '/event/publish', { eventId: 42, eventType: 'popWindow', toUser: u.account,
        popWindow: { tips: '张三邀请你语音通话', action: 1, timestamp: Date.now(), windowType: 'voip', windowInfo: {} } });
    assert.equal(r.errcode, 0, JSON.stringify(r));
    await popup.filter({ hasText: '张三邀请你语音通话' }).waitFor();
    await cgiCall(app, '/event/publish', { eventId: 42, eventType: 'popWindow', toUser: u.account,
        popWindow: { tips: '', action: 2, timestamp: Date.now(), windowType: 'voip', windowInfo: {} } });
    await popup.filter({ hasText: '张三邀请你语音通话' }).waitFor({ state: 'detached' });
    a.assertNoErrors();
    await a.close();
});

test('an app message appears as a card in the app conversation of the chat view, live too', async () => {
    const u = await newUser({ name: '会话卡片' });
    const app = await newApp({ name: uniq('考勤') });
    const send = async (msg) => assert.equal((await cgiCall(app, '/msg/send', { toUser: u.account, ...msg })).errcode, 0);
    await send({ msgType: 'text', text: { content: '今天 09:02 打卡成功' } });
    const a = await openApp(browser);
    const { page } = a;
    await login(page, u);
    const item = page.getByTestId('conv-item').filter({ hasText: app.name });
    await item.waitFor();
    await item.click();
    const cards = page.getByTestId('msg-list').getByTestId('app-card');
    await cards.filter({ hasText: '今天 09:02 打卡成功' }).getByTestId('card-app').filter({ hasText: app.name }).waitFor();
    // pushed while the conversation is open
    await send({ msgType: 'link', link: { title: '查看本月考勤', url: BASE + '/sso-demo/attendance', action: 0 } });
    const link = cards.filter({ hasText: '查看本月考勤' }).getByTestId('card-link');
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), BASE + '/sso-demo/attendance');
    assert.match(await link.getAttribute('rel'), /noopener/);
    // media: an image and a file the app uploaded
    const png = Buffer.from(await page.evaluate(() => {
        const cv = document.createElement('canvas');
        cv.width = 200; cv.height = 120;
        const g = cv.getContext('2d');
        g.fillStyle = '#2468f2'; g.fillRect(0, 0, 200, 120);
        return cv.toDataURL('image/png').split(',')[1];
    }), 'base64');
    await send({ msgType: 'image', image: { media_id: await cgiUpload(app, 'image', '考勤截图.png', png) } });
    await send({ msgType: 'file', file: { media_id: await cgiUpload(app, 'file', '考勤表.csv', Buffer.from('日期,上班\n12-01,09:02\n')) } });
    const img = cards.filter({ has: page.locator('img.card-img') }).locator('img.card-img');
    await img.waitFor();
    await page.waitForFunction(() => { const i = document.querySelector('[data-test=app-card] img.card-img'); return i && i.complete && i.naturalWidth > 0; });
    const fileCard = cards.getByTestId('card-file').filter({ hasText: '考勤表.csv' });
    await fileCard.waitFor();
    const [dl] = await Promise.all([page.waitForEvent('download'), fileCard.click()]);
    assert.equal(dl.suggestedFilename(), '考勤表.csv');
    await shot(page, 'app-conversation');
    a.assertNoErrors();
    await a.close();
});
