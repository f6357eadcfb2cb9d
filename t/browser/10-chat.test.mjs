// Conversations: real-time chat between two browsers, unread badges, @mentions,
// recall, read receipts, typing, reconnect catch-up, history paging, pin/mute,
// phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, apiOk, uniq, until } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function direct(a, b) {
    const j = await apiOk('POST', '/conversations', { kind: 'direct', user_id: b.id }, await a.token());
    return j.conversation.id;
}
let n = 0;
const say = (tok, conv, text, extra = {}) => apiOk('POST', `/conversations/${conv}/messages`, { client_msg_id: uniq('c') + (++n), kind: 'text', text, ...extra }, tok);

const convItem = (page, id) => page.locator(`[data-test=conv-item][data-conv="${id}"]`);
const msgText = (page, text) => page.getByTestId('msg-list').getByTestId('msg-text').filter({ hasText: text });

async function send(page, text) {
    const box = page.getByTestId('composer-input');
    await box.fill(text);
    await box.press('Enter');
}

test('two people chat in real time; unread badges on the rail and the list', async () => {
    const alice = await newUser({ name: '王小明' }), bob = await newUser({ name: '李小红' });
    const conv = await direct(alice, bob);
    const a = await openApp(browser), b = await openApp(browser);
    await login(a.page, alice); await login(b.page, bob);
    await a.page.goto('/app/#/chats/' + conv);
    await a.page.getByTestId('chat-title').filter({ hasText: '李小红' }).waitFor();
    // B looks at the address book meanwhile
    await b.page.goto('/app/#/contacts');
    await send(a.page, '你好，李小红');
    await msgText(a.page, '你好，李小红').waitFor();
    await b.page.getByTestId('badge-chats').filter({ hasText: '1' }).waitFor();
    await send(a.page, '在吗？ https://example.com/x?a=1');
    await b.page.getByTestId('badge-chats').filter({ hasText: '2' }).waitFor();
    // the list shows the badge and the last message
    await b.page.goto('/app/#/chats');
    await convItem(b.page, conv).getByTestId('conv-badge').filter({ hasText: '2' }).waitFor();
    await convItem(b.page, conv).getByTestId('conv-preview').filter({ hasText: '在吗' }).waitFor();
    await shot(b.page, 'chat-list-unread');
    await convItem(b.page, conv).click();
    await msgText(b.page, '你好，李小红').waitFor();
    await b.page.getByTestId('unread-line').waitFor({ state: 'detached' });   // everything was unread: no line above the first
    const link = b.page.getByTestId('msg-list').locator('a.msg-link');
    assert.equal(await link.getAttribute('href'), 'https://example.com/x?a=1');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    // opening clears both badges
    await b.page.getByTestId('badge-chats').waitFor({ state: 'hidden' });
    await convItem(b.page, conv).getByTestId('conv-badge').waitFor({ state: 'detached' });
    // and back: B answers, A sees it on the left
    await send(b.page, '在的，请讲');
    await msgText(a.page, '在的，请讲').waitFor();
    const row = a.page.locator('.msg.theirs').filter({ hasText: '在的，请讲' });
    await row.waitFor();
    // A's message was read by B: "已读"
    await a.page.locator('.msg.mine').filter({ hasText: '你好，李小红' }).getByTestId('read-status').filter({ hasText: '已读' }).waitFor();
    await shot(a.page, 'chat-direct-desktop');
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});

test('@mention in a group chosen by keyboard; the mentioned sees [有人@我] and the highlight; group receipts "n/m 人已读"', async () => {
    const alice = await newUser({ name: '赵经理' }), bob = await newUser({ name: '李小红' }), carol = await newUser({ name: '李大刚' });
    const g = await apiOk('POST', '/conversations', { kind: 'group', name: uniq('项目组'), user_ids: [bob.id, carol.id] }, await alice.token());
    const conv = g.conversation.id;
    const a = await openApp(browser), b = await openApp(browser);
    await login(a.page, alice); await login(b.page, bob);
    await b.page.goto('/app/#/contacts');
    await a.page.goto('/app/#/chats/' + conv);
    await a.page.getByTestId('chat-sub').filter({ hasText: '3' }).waitFor();
    // the creation event is a centred grey line
    await a.page.getByTestId('msg-notice').filter({ hasText: '创建了群聊' }).waitFor();
    const box = a.page.getByTestId('composer-input');
    await box.click();
    await box.pressSequentially('请 @li');
    const options = a.page.getByTestId('mention-option');
    await options.filter({ hasText: '李小红' }).waitFor();
    await options.filter({ hasText: '李大刚' }).waitFor();
    assert.equal(await options.filter({ hasText: '所有人' }).count(), 0, '"li" does not match @all');
    for (let i = 0; i < 3 && !(await a.page.locator('.mention-item.on').textContent()).includes('李小红'); i++) await box.press('ArrowDown');
    await box.press('Enter');
    assert.match(await box.inputValue(), /^请 @李小红 $/);
    await box.pressSequentially('看一下文档');
    await box.press('Enter');
    const mine = a.page.locator('.msg.mine').filter({ hasText: '看一下文档' });
    await mine.getByTestId('mention').filter({ hasText: '@李小红' }).waitFor();
    // nobody has read it yet: 0 of 2
    await mine.getByTestId('read-status').filter({ hasText: '0/2 人已读' }).waitFor();
    // B's list: the [有人@我] tag and the badge
    await b.page.goto('/app/#/chats');
    const item = convItem(b.page, conv);
    await item.getByTestId('conv-preview').filter({ hasText: '[有人@我]' }).waitFor();
    await item.getByTestId('conv-badge').waitFor();
    await shot(b.page, 'chat-list-at-me');
    await item.click();
    await b.page.locator('.msg.theirs').getByTestId('mention').filter({ hasText: '@李小红' }).waitFor();
    // B read it: A's receipt moves live to 1 of 2, the tag goes away
    await mine.getByTestId('read-status').filter({ hasText: '1/2 人已读' }).waitFor();
    await item.getByTestId('conv-preview').filter({ hasText: '赵经理：' }).waitFor();
    assert.equal(await item.getByTestId('conv-preview').filter({ hasText: '[有人@我]' }).count(), 0);
    // the receipt opens the list of who read it
    await mine.getByTestId('read-status').click();
    const dlg = a.page.getByTestId('reads-dialog');
    await dlg.getByTestId('reads-read').filter({ hasText: '李小红' }).waitFor();
    await dlg.getByTestId('reads-unread').filter({ hasText: '李大刚' }).waitFor();
    await shot(a.page, 'chat-group-reads');
    await a.page.keyboard.press('Escape');
    // owners may mention everybody
    await box.pressSequentially('@');
    await options.filter({ hasText: '所有人' }).waitFor();
    await box.press('Enter');
    await box.pressSequentially('开会了');
    await box.press('Enter');
    await b.page.locator('.msg.theirs').filter({ hasText: '开会了' }).getByTestId('mention').filter({ hasText: '@所有人' }).waitFor();
    // B is looking at it: read at once, no badge
    await b.page.getByTestId('badge-chats').waitFor({ state: 'hidden' });
    await item.getByTestId('conv-badge').waitFor({ state: 'detached' });
    await shot(b.page, 'chat-group-desktop');
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});

test('recall turns the message into a notice on the other side without reload; typing indicator; reply with a quote', async () => {
    const alice = await newUser({ name: '周一' }), bob = await newUser({ name: '吴二' });
    const conv = await direct(alice, bob);
    const a = await openApp(browser), b = await openApp(browser);
    await login(a.page, alice); await login(b.page, bob);
    await a.page.goto('/app/#/chats/' + conv);
    await b.page.goto('/app/#/chats/' + conv);
    await b.page.getByTestId('chat-title').filter({ hasText: '周一' }).waitFor();
    // typing
    await a.page.getByTestId('composer-input').pressSequentially('这条消息发错了');
    await b.page.getByTestId('typing').filter({ hasText: '正在输入' }).waitFor();
    await a.page.getByTestId('composer-input').press('Enter');
    await msgText(b.page, '这条消息发错了').waitFor();
    // the message from that user ends the indicator
    await b.page.getByTestId('typing').filter({ hasText: '正在输入' }).waitFor({ state: 'detached' });
    // recall from the hover bar, confirmed
    const row = a.page.locator('.msg.mine').filter({ hasText: '这条消息发错了' });
    await row.hover();
    await row.getByTestId('act-recall').click();
    await a.page.getByTestId('confirm-ok').click();
    await a.page.getByTestId('msg-notice').filter({ hasText: '你撤回了一条消息' }).waitFor();
    await b.page.getByTestId('msg-notice').filter({ hasText: '周一 撤回了一条消息' }).waitFor();
    assert.equal(await msgText(b.page, '这条消息发错了').count(), 0, 'the text is gone');
    // reply: B quotes A's next message
    await a.page.getByTestId('composer-input').fill('周五交周报');
    await a.page.getByTestId('composer-input').press('Enter');
    const theirs = b.page.locator('.msg.theirs').filter({ hasText: '周五交周报' });
    await theirs.hover();
    await theirs.getByTestId('act-reply').click();
    await b.page.getByTestId('quote-bar').filter({ hasText: '周五交周报' }).waitFor();
    await b.page.getByTestId('composer-input').fill('收到');
    await b.page.getByTestId('composer-input').press('Enter');
    await a.page.locator('.msg.theirs').filter({ hasText: '收到' }).getByTestId('msg-quote').filter({ hasText: '周五交周报' }).waitFor();
    await shot(b.page, 'chat-recall');
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});

test('a reconnect loses nothing: 3 messages sent while B is offline show up in order', async () => {
    const alice = await newUser({ name: '郑三' }), bob = await newUser({ name: '孙四' });
    const conv = await direct(alice, bob);
    const other = await direct(await newUser({ name: '钱五' }), bob);
    const atok = await alice.token();
    await say(atok, conv, '离线前');
    const b = await openApp(browser);
    await login(b.page, bob);
    await b.page.goto('/app/#/chats/' + conv);
    await msgText(b.page, '离线前').waitFor();
    await b.context.setOffline(true);
    await b.page.evaluate(async () => { (await import('/app/js/push.js')).push.reconnect(); });
    await b.page.getByTestId('net-bar').waitFor();
    for (const s of ['离线一', '离线二', '离线三']) await say(atok, conv, s);
    await b.context.setOffline(false);
    for (const s of ['离线一', '离线二', '离线三']) await msgText(b.page, s).waitFor({ timeout: 30000 });
    const texts = await b.page.getByTestId('msg-list').getByTestId('msg-text').allTextContents();
    assert.deepEqual(texts, ['离线前', '离线一', '离线二', '离线三']);
    await b.page.getByTestId('net-bar').waitFor({ state: 'hidden' });
    await convItem(b.page, other).waitFor();
    // a gap: a message whose push notice got lost is fetched when the next one arrives
    await b.page.evaluate(async () => {
        const { bus } = await import('/app/js/bus.js');
        const emit = bus.emit;
        let dropped = false;
        bus.emit = (name, data) => { if (name === 'push:message' && !dropped) { dropped = true; return; } return emit.call(bus, name, data); };
    });
    await say(atok, conv, '丢失的通知');
    await say(atok, conv, '下一条');
    await msgText(b.page, '下一条').waitFor();
    await msgText(b.page, '丢失的通知').waitFor();
    const after = await b.page.getByTestId('msg-list').getByTestId('msg-text').allTextContents();
    assert.deepEqual(after.slice(-2), ['丢失的通知', '下一条']);
    // the browser itself logs the refused connections while offline
    b.errors.splice(0, b.errors.length, ...b.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)));
    b.assertNoErrors();
    await b.close();
});

test('history: the newest messages first, older pages when scrolling up, until the first', async () => {
    const alice = await newUser({ name: '历史甲' }), bob = await newUser({ name: '历史乙' });
    const conv = await direct(alice, bob);
    const tok = await alice.token();
    for (let i = 1; i <= 120; i++) await say(tok, conv, `第${i}条`);
    const b = await openApp(browser);
    await login(b.page, bob);
    await b.page.goto('/app/#/chats/' + conv);
    await msgText(b.page, '第120条').waitFor();
    assert.equal(await msgText(b.page, /^第1条$/).count(), 0, 'not everything at once');
    // the newest is in view
    const box = await b.page.getByTestId('chat-body').boundingBox();
    const last = await msgText(b.page, '第120条').boundingBox();
    assert.ok(last.y < box.y + box.height && last.y > box.y, 'newest message is visible');
    const first = b.page.getByTestId('msg-list').getByTestId('msg-text').getByText('第1条', { exact: true });
    await until(async () => {
        await b.page.getByTestId('chat-body').evaluate((el) => { el.scrollTop = 0; });
        return await first.count() > 0;
    }, 'the first message after scrolling up', 30000);
    await b.page.getByTestId('history-start').waitFor();
    const texts = await b.page.getByTestId('msg-list').getByTestId('msg-text').allTextContents();
    assert.equal(texts.length, 120);
    assert.deepEqual(texts, Array.from({ length: 120 }, (_, i) => `第${i + 1}条`));
    // B leaves; two more arrive; coming back, a line marks where the new ones start
    await b.page.goto('/app/#/contacts');
    await b.page.getByTestId('badge-chats').waitFor({ state: 'hidden' });
    await say(tok, conv, '新来的一');
    await say(tok, conv, '新来的二');
    await b.page.getByTestId('badge-chats').filter({ hasText: '2' }).waitFor();
    await b.page.goto('/app/#/chats/' + conv);
    await msgText(b.page, '新来的二').waitFor();
    const order = await b.page.getByTestId('msg-list').locator('[data-test=unread-line], [data-test=msg-text]').evaluateAll((els) => els.slice(-4).map((e) => e.textContent));
    assert.deepEqual(order, ['第120条', '以下为新消息', '新来的一', '新来的二']);
    b.assertNoErrors();
    await b.close();
});

test('pin and mute change the list order and the badges', async () => {
    const bob = await newUser({ name: '置顶测' });
    const p1 = await newUser({ name: '甲一' }), p2 = await newUser({ name: '乙二' }), p3 = await newUser({ name: '丙三' });
    const c1 = await direct(p1, bob), c2 = await direct(p2, bob), c3 = await direct(p3, bob);
    await say(await p1.token(), c1, '一');
    await say(await p1.token(), c1, '一二');
    const t2 = await p2.token();
    for (const s of ['二', '二二', '二三']) await say(t2, c2, s);
    await say(await p3.token(), c3, '三');
    const b = await openApp(browser);
    await login(b.page, bob);
    const order = async () => b.page.getByTestId('conv-item').evaluateAll((els) => els.map((e) => Number(e.dataset.conv)));
    await convItem(b.page, c1).waitFor();
    assert.deepEqual(await order(), [c3, c2, c1], 'newest activity first');
    await b.page.getByTestId('badge-chats').filter({ hasText: '6' }).waitFor();
    // pin the oldest: it goes to the top, marked
    await convItem(b.page, c1).click({ button: 'right' });
    await b.page.getByTestId('conv-pin').click();
    await convItem(b.page, c1).getByTestId('conv-pinned').waitFor();
    await until(async () => JSON.stringify(await order()) === JSON.stringify([c1, c3, c2]), 'pinned first');
    // mute c2: its badge turns grey and leaves the rail total
    await convItem(b.page, c2).hover();
    await convItem(b.page, c2).getByTestId('conv-more').click();
    await b.page.getByTestId('conv-mute').click();
    await convItem(b.page, c2).getByTestId('conv-muted').waitFor();
    await convItem(b.page, c2).locator('.conv-badge.dim').filter({ hasText: '3' }).waitFor();
    await b.page.getByTestId('badge-chats').filter({ hasText: /^3$/ }).waitFor();
    // a new message in a muted conversation does not raise the rail badge
    await say(t2, c2, '二四');
    await convItem(b.page, c2).locator('.conv-badge.dim').filter({ hasText: '4' }).waitFor();
    assert.equal(await b.page.getByTestId('badge-chats').textContent(), '3');
    await shot(b.page, 'chat-list-pin-mute');
    // the list's filter box
    await b.page.getByTestId('conv-search').fill('乙');
    await until(async () => JSON.stringify(await order()) === JSON.stringify([c2]), 'filtered list');
    // mark read from the menu
    await b.page.getByTestId('conv-search').fill('');
    await convItem(b.page, c3).click({ button: 'right' });
    await b.page.getByTestId('conv-read').click();
    await convItem(b.page, c3).getByTestId('conv-badge').waitFor({ state: 'detached' });
    await b.page.getByTestId('badge-chats').filter({ hasText: /^2$/ }).waitFor();
    // unpin: back to activity order
    await convItem(b.page, c1).click({ button: 'right' });
    await b.page.getByTestId('conv-pin').click();
    await until(async () => JSON.stringify(await order()) === JSON.stringify([c2, c3, c1]), 'activity order again');
    b.assertNoErrors();
    await b.close();
});

test('pin and mute on one device show on my other device at once', async () => {
    const me = await newUser({ name: '两台设备' });
    const p1 = await newUser({ name: '同事一' }), p2 = await newUser({ name: '同事二' });
    const c1 = await direct(p1, me), c2 = await direct(p2, me);
    await say(await p1.token(), c1, '早');
    await say(await p2.token(), c2, '午');
    const laptop = await openApp(browser), phone = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(laptop.page, me);
    await login(phone.page, me);
    const order = async (page) => page.getByTestId('conv-item').evaluateAll((els) => els.map((e) => Number(e.dataset.conv)));
    await convItem(phone.page, c1).waitFor();
    assert.deepEqual(await order(phone.page), [c2, c1]);
    await convItem(laptop.page, c1).click({ button: 'right' });
    await laptop.page.getByTestId('conv-pin').click();
    await convItem(phone.page, c1).getByTestId('conv-pinned').waitFor();
    await until(async () => JSON.stringify(await order(phone.page)) === JSON.stringify([c1, c2]), 'pinned first on the phone');
    await convItem(laptop.page, c2).click({ button: 'right' });
    await laptop.page.getByTestId('conv-mute').click();
    await convItem(phone.page, c2).getByTestId('conv-muted').waitFor();
    laptop.assertNoErrors(); phone.assertNoErrors();
    await laptop.close(); await phone.close();
});

test('phone layout: the list, then the chat full screen with a back button; drafts are kept', async () => {
    const alice = await newUser({ name: '手机甲' }), bob = await newUser({ name: '手机乙' });
    const conv = await direct(alice, bob);
    const tok = await alice.token();
    await say(tok, conv, '手机上看得清楚吗？这一条消息稍微长一点，看看气泡怎么换行。');
    await say(tok, conv, '第二条 😀');
    const b = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(b.page, bob);
    await convItem(b.page, conv).waitFor();
    await shot(b.page, 'chat-phone-list');
    await convItem(b.page, conv).click();
    await msgText(b.page, '第二条').waitFor();
    assert.equal(await b.page.locator('.pane-list').isVisible(), false, 'only the chat shows');
    const input = b.page.getByTestId('composer-input');
    const ib = await input.boundingBox();
    assert.ok(ib.y + ib.height <= 844 && ib.width > 200, 'composer on screen');
    // emoji picker inserts at the caret
    await input.fill('好的');
    await b.page.getByTestId('emoji-btn').click();
    await b.page.getByTestId('emoji-panel').waitFor();
    await b.page.getByTestId('emoji').first().click();
    assert.match(await input.inputValue(), /^好的\p{Extended_Pictographic}/u);
    await shot(b.page, 'chat-phone-chat');
    await b.page.keyboard.press('Escape');
    await b.page.getByTestId('chat-back').click();
    await convItem(b.page, conv).getByTestId('conv-preview').filter({ hasText: '[草稿]' }).waitFor();
    await shot(b.page, 'chat-phone-draft');
    b.assertNoErrors();
    await b.close();
});

test('a send whose reply got lost shows "not sent"; the retry reuses the client_msg_id, so nobody sees it twice', async () => {
    const alice = await newUser({ name: '重发甲' }), bob = await newUser({ name: '重发乙' });
    const conv = await direct(alice, bob);
    const a = await openApp(browser);
    await login(a.page, alice);
    await a.page.goto('/app/#/chats/' + conv);
    await a.page.getByTestId('chat-title').filter({ hasText: '重发乙' }).waitFor();
    // 1. the request never reaches the server: "not sent", then the retry with the same client_msg_id
    // 2. the server stores it but the answer is lost: the pushed copy replaces the pending bubble
    let bodies = [];
    await a.page.route(`**/api/v1/conversations/${conv}/messages`, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        bodies.push(JSON.parse(route.request().postData()));
        if (bodies.length === 1) return route.abort('connectionreset');
        if (bodies.length === 3) { await route.fetch(); return route.abort('connectionreset'); }
        return route.continue();
    });
    await send(a.page, '只应出现一次');
    await a.page.getByTestId('msg-failed').filter({ hasText: '发送失败' }).waitFor();
    await a.page.getByTestId('msg-retry').click();
    await a.page.locator('.msg.mine').filter({ hasText: '只应出现一次' }).getByTestId('read-status').waitFor();
    assert.equal(bodies.length, 2);
    assert.equal(bodies[1].client_msg_id, bodies[0].client_msg_id, 'the same client_msg_id');
    assert.equal(await msgText(a.page, '只应出现一次').count(), 1);
    assert.equal(await a.page.getByTestId('msg-failed').count(), 0);
    await send(a.page, '回复丢了');
    await a.page.locator('.msg.mine').filter({ hasText: '回复丢了' }).getByTestId('read-status').waitFor();
    assert.equal(await msgText(a.page, '回复丢了').count(), 1);
    const j = await apiOk('GET', `/conversations/${conv}/messages`, null, await bob.token());
    assert.deepEqual(j.messages.map((m) => m.body.text), ['只应出现一次', '回复丢了'], 'each stored once');
    a.errors.splice(0, a.errors.length, ...a.errors.filter((e) => !/ERR_CONNECTION_RESET|Failed to fetch/.test(e)));
    a.assertNoErrors();
    await a.close();
});

test('desktop notifications: other section or hidden conversation yes, the open one no, muted only when @mentioned', async () => {
    const alice = await newUser({ name: '通知甲' }), bob = await newUser({ name: '通知乙' });
    const conv = await direct(alice, bob);
    const atok = await alice.token();
    const b = await openApp(browser);
    // record what the page would show (headless chromium has no notification centre)
    await b.page.addInitScript(() => {
        window.__notes = [];
        window.Notification = class { constructor(title, opts) { window.__notes.push({ title, body: opts.body }); } close() {} static permission = 'granted'; static requestPermission() { return Promise.resolve('granted'); } };
    });
    await b.page.reload();
    await login(b.page, bob);
    const notes = () => b.page.evaluate(() => window.__notes);
    await b.page.goto('/app/#/contacts');
    await convItemReady(b.page, conv);
    await say(atok, conv, '开会提醒');
    await until(async () => (await notes()).some((n) => n.title === '通知甲' && n.body === '开会提醒'), 'a notification');
    // the title shows the unread count
    await until(async () => /^\(1\)/.test(await b.page.title()), 'title with the count');
    // looking at the conversation: no notification, and it is read
    await b.page.goto('/app/#/chats/' + conv);
    await msgText(b.page, '开会提醒').waitFor();
    await until(async () => !/^\(/.test(await b.page.title()), 'title without a count');
    const before = (await notes()).length;
    await say(atok, conv, '就在这里说');
    await msgText(b.page, '就在这里说').waitFor();
    // a muted group: nothing, except for an @mention
    const g = (await apiOk('POST', '/conversations', { kind: 'group', name: '通知群', user_ids: [bob.id] }, atok)).conversation.id;
    await b.page.goto('/app/#/chats');
    await convItem(b.page, g).click({ button: 'right' });
    await b.page.getByTestId('conv-mute').click();
    await convItem(b.page, g).getByTestId('conv-muted').waitFor();
    await say(atok, g, '群里闲聊');
    await convItem(b.page, g).getByTestId('conv-preview').filter({ hasText: '群里闲聊' }).waitFor();
    await say(atok, g, '@通知乙 请看', { mentions: [bob.id] });
    await until(async () => (await notes()).some((n) => /请看/.test(n.body)), 'the mention notification');
    const all = await notes();
    assert.equal(all.length, before + 1, 'nothing for the open conversation nor the muted chatter: ' + JSON.stringify(all));
    assert.match(all.at(-1).body, /\[有人@我\]/);
    b.assertNoErrors();
    await b.close();
});
async function convItemReady(page, id) { await page.locator('[data-view=shell]').waitFor(); return id; }

test('"new messages" button while reading older history; reading while scrolled up does not mark read', async () => {
    const alice = await newUser({ name: '新消甲' }), bob = await newUser({ name: '新消乙' });
    const conv = await direct(alice, bob);
    const tok = await alice.token();
    for (let i = 1; i <= 40; i++) await say(tok, conv, `旧消息${i}`);
    const b = await openApp(browser);
    await login(b.page, bob);
    await b.page.goto('/app/#/chats/' + conv);
    await msgText(b.page, '旧消息40').waitFor();
    await b.page.getByTestId('badge-chats').waitFor({ state: 'hidden' });
    await b.page.getByTestId('chat-body').evaluate((el) => { el.scrollTop = 0; });
    await msgText(b.page, /^旧消息1$/).waitFor();
    await say(tok, conv, '最新的一条');
    const btn = b.page.getByTestId('new-msgs');
    await btn.filter({ hasText: '1 条新消息' }).waitFor();
    // not seen yet: still unread
    await b.page.getByTestId('badge-chats').filter({ hasText: '1' }).waitFor();
    await btn.click();
    await btn.waitFor({ state: 'hidden' });
    const box = await b.page.getByTestId('chat-body').boundingBox();
    const last = await msgText(b.page, '最新的一条').boundingBox();
    assert.ok(last.y + last.height <= box.y + box.height + 1, 'scrolled to the newest');
    await b.page.getByTestId('badge-chats').waitFor({ state: 'hidden' });
    b.assertNoErrors();
    await b.close();
});

test('extension points: a message action starts the multi-select, header and composer tools get ctx', async () => {
    const alice = await newUser({ name: '扩展甲' }), bob = await newUser({ name: '扩展乙' });
    const conv = await direct(alice, bob);
    const tok = await alice.token();
    for (const s of ['选我一', '不选', '选我二']) await say(tok, conv, s);
    const a = await openApp(browser);
    await login(a.page, alice);
    await a.page.evaluate(async () => {
        const hooks = await import('/app/js/chat-hooks.js');
        hooks.messageActions.push({ id: 'pick', icon: 'forward', label: () => 'Pick', when: (m) => m.kind === 1,
            run: (m, ctx) => ctx.view.startSelection({ label: '确认转发', onConfirm: async (seqs) => { window.__picked = seqs; } }) });
        hooks.headerActions.push({ id: 'info', icon: 'users', label: () => 'Info', when: (c) => c.kind === 'direct', run: (c, ctx) => { window.__head = [c.id, ctx.conv.id, typeof ctx.view.reload]; } });
        hooks.composerTools.push({ id: 'hello', icon: 'plus', label: () => 'Hello', run: (composer) => composer.insertText('你好') });
    });
    await a.page.goto('/app/#/chats/' + conv);
    await msgText(a.page, '选我二').waitFor();
    await a.page.getByTestId('head-info').click();
    assert.deepEqual(await a.page.evaluate(() => window.__head), [conv, conv, 'function']);
    await a.page.getByTestId('tool-hello').click();
    assert.equal(await a.page.getByTestId('composer-input').inputValue(), '你好');
    // the action from the message's menu
    await a.page.locator('.msg').filter({ hasText: '选我一' }).click({ button: 'right' });
    await a.page.getByTestId('act-pick').click();
    await a.page.getByTestId('select-bar').waitFor();
    await a.page.getByTestId('select-confirm').filter({ hasText: '确认转发' }).waitFor();
    assert.equal(await a.page.getByTestId('composer').isVisible(), false, 'the bar replaces the composer');
    await a.page.locator('.msg').filter({ hasText: '选我二' }).click();
    await a.page.locator('.msg').filter({ hasText: '选我一' }).click();
    await a.page.getByTestId('select-count').filter({ hasText: '已选择 2 条' }).waitFor();
    await shot(a.page, 'chat-select');
    await a.page.getByTestId('select-confirm').click();
    await a.page.getByTestId('select-bar').waitFor({ state: 'hidden' });
    // Esc leaves the selection too
    await a.page.locator('.msg').filter({ hasText: '不选' }).click({ button: 'right' });
    await a.page.getByTestId('act-pick').click();
    await a.page.getByTestId('select-bar').waitFor();
    await a.page.keyboard.press('Escape');
    await a.page.getByTestId('select-bar').waitFor({ state: 'hidden' });
    const seqs = await a.page.evaluate(() => window.__picked);
    const j = await apiOk('GET', `/conversations/${conv}/messages`, null, tok);
    const seqOf = (text) => j.messages.find((m) => m.body.text === text).seq;
    assert.deepEqual(seqs, [seqOf('选我一'), seqOf('选我二')]);
    // scrollToSeq is what quotes use; reload() keeps the view
    assert.equal(await a.page.getByTestId('composer').isVisible(), true);
    a.assertNoErrors();
    await a.close();
});

test('an unnamed multi chat is called after its members; renaming it shows the new name and a system line', async () => {
    const a1 = await newUser({ name: '多人甲' }), a2 = await newUser({ name: '多人乙' }), a3 = await newUser({ name: '多人丙' });
    const tok = await a1.token();
    const conv = (await apiOk('POST', '/conversations', { kind: 'multi', user_ids: [a2.id, a3.id] }, tok)).conversation.id;
    const b = await openApp(browser);
    await login(b.page, a2);
    await convItem(b.page, conv).locator('.title').filter({ hasText: '多人甲、多人丙' }).waitFor();
    await convItem(b.page, conv).click();
    await b.page.getByTestId('chat-title').filter({ hasText: '多人甲、多人丙' }).waitFor();
    await apiOk('PATCH', `/conversations/${conv}`, { name: '周末爬山' }, tok);
    await b.page.getByTestId('chat-title').filter({ hasText: '周末爬山' }).waitFor();
    await b.page.getByTestId('msg-notice').filter({ hasText: '多人甲 将群名称修改为“周末爬山”' }).waitFor();
    await convItem(b.page, conv).locator('.title').filter({ hasText: '周末爬山' }).waitFor();
    b.assertNoErrors();
    await b.close();
});

test('a file send through ctx.view.send shows a pending bubble through the kind 3 renderer, then the stored message', async () => {
    const alice = await newUser({ name: '文件甲' }), bob = await newUser({ name: '文件乙' });
    const conv = await direct(alice, bob);
    const tok = await alice.token();
    const up = await fetch(process.env.TEST_YOUDU_URL + '/api/v1/files?name=' + encodeURIComponent('周报.txt'), {
        method: 'POST', headers: { Authorization: 'Bearer ' + tok, 'Content-Type': 'text/plain' }, body: 'hello' });
    const file = (await up.json()).file;
    assert.ok(file && file.id, 'uploaded');
    const a = await openApp(browser);
    await login(a.page, alice);
    await a.page.evaluate(async () => {
        const hooks = await import('/app/js/chat-hooks.js');
        const { h } = await import('/app/js/dom.js');
        hooks.messageRenderers[3] = (m) => h('div.test-file', { dataset: { test: 'file-bubble' } }, (m.body.pending ? '上传中 ' : '') + m.body.name);
        hooks.hooks.fileSender = async (f, ctx) => { window.__sent = await ctx.view.send({ kind: 'file', file_id: window.__fileId, body: { name: f.name, size: f.size } }); };
        // a composer tool that hands a file to composer.sendFile (pasting goes to the upload feature)
        hooks.composerTools.push({ id: 'testfile', icon: 'file', label: () => 'test file',
            run: (composer) => composer.sendFile(new File(['hello'], '周报.txt', { type: 'text/plain' })) });
    });
    await a.page.evaluate((id) => { window.__fileId = id; }, file.id);
    await a.page.goto('/app/#/chats/' + conv);
    await a.page.getByTestId('chat-title').filter({ hasText: '文件乙' }).waitFor();
    // the composer's sendFile goes to hooks.fileSender
    await a.page.getByTestId('tool-testfile').click();
    await a.page.locator('.msg.mine').getByTestId('file-bubble').filter({ hasText: /^周报\.txt$/ }).waitFor();
    const sent = await a.page.evaluate(() => window.__sent);
    assert.equal(sent.kind, 3);
    assert.equal(await a.page.locator('.msg.mine').count(), 1, 'one bubble: the pending one was replaced');
    a.assertNoErrors();
    await a.close();
});
