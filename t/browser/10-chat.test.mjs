// Conversations: real-time chat between two browsers, unread badges, @mentions,
// recall, read receipts, typing, reconnect catch-up, history paging, pin/mute,
// phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, apiOk, uniq } from './lib/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// polls fn until it returns truthy (Playwright-style auto-waiting for plain values)
async function until(fn, what, ms = 15000) {
    const end = Date.now() + ms;
    let last;
    for (;;) {
        try { last = await fn(); if (last) return last; } catch (e) { last = e; }
        if (Date.now() > end) throw new Error('timed out waiting for ' + what + ' (last: ' + last + ')');
        await new Promise((r) => setTimeout(r, 150));
    }
}

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
