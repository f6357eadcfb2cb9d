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
