// Merged forward: select two messages, forward them to another chat with a
// title; the receiver sees the "chat history" card and opens its items; a
// single image forwarded to a colleague without a chat yet; a forward of a
// forward opens nested; phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, apiOk, uniq, BASE } from './lib/harness.mjs';
import { until, makePng, direct, say, openChat } from './lib/rich.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const list = (page) => page.getByTestId('msg-list');
const row = (page, text) => list(page).getByTestId('msg').filter({ hasText: text });

test('forward two selected messages to another chat; the receiver opens the history; nested and image forwards', async () => {
    const tag = uniq('');
    const alice = await newUser({ name: '转发人' + tag.slice(-3) });
    const bob = await newUser({ name: '原聊天' + tag.slice(-3) });
    const carol = await newUser({ name: '收件人' + tag.slice(-3) });
    const dave = await newUser({ name: '新同事' + tag.slice(-3) });
    const ab = await direct(alice, bob);
    const ac = await direct(alice, carol);
    await say(bob, ab, '明天十点开会');
    await say(alice, ab, '好的，我准备材料');
    await say(bob, ab, '这条不转发');
    const btok = await bob.token();
    const f = await fetch(BASE + '/api/v1/files?name=chart.png', { method: 'POST',
        headers: { Authorization: 'Bearer ' + btok, 'Content-Type': 'image/png' }, body: makePng(320, 240) }).then((r) => r.json());
    await apiOk('POST', `/conversations/${ab}/messages`, { client_msg_id: uniq('i'), kind: 'image', file_id: f.file.id }, btok);

    const a = await openApp(browser), c = await openApp(browser);
    await login(a.page, alice); await login(c.page, carol);
    await openChat(a.page, ab);
    await openChat(c.page, ac);

    // multi-select from a message's menu, tick two messages, forward
    await row(a.page, '明天十点开会').click({ button: 'right' });
    await a.page.locator('.menu').getByTestId('act-multi-select').click();
    await a.page.getByTestId('select-bar').waitFor();
    await row(a.page, '明天十点开会').click();
    await row(a.page, '好的，我准备材料').click();
    await a.page.getByTestId('select-count').filter({ hasText: '2' }).waitFor();
    await a.page.getByTestId('select-confirm').click();
    const dlg = a.page.getByTestId('forward-dialog');
    await dlg.filter({ hasText: '共 2 条消息' }).waitFor();
    await dlg.getByTestId('forward-search').fill('收件人');
    await dlg.getByTestId('forward-target').filter({ hasText: carol.name }).first().click();
    await dlg.getByTestId('forward-chip').filter({ hasText: carol.name }).waitFor();
    await dlg.getByTestId('forward-title').fill('会议安排');
    await shot(a.page, 'forward-dialog');
    await dlg.getByTestId('forward-send').click();
    await a.page.locator('.toast').filter({ hasText: '已转发' }).waitFor();
    await dlg.waitFor({ state: 'detached' });

    // the receiver: the card with the title and the first lines, live
    const card = list(c.page).getByTestId('msg-forward').filter({ hasText: '会议安排' });
    await card.waitFor();
    await card.filter({ hasText: bob.name + '：明天十点开会' }).waitFor();
    await card.filter({ hasText: alice.name + '：好的，我准备材料' }).waitFor();
    assert.equal(await card.filter({ hasText: '这条不转发' }).count(), 0, 'only the selected messages');
    await shot(c.page, 'forward-card');
    await card.click();
    const view = c.page.getByTestId('forward-view');
    await view.locator('.modal-head h2').filter({ hasText: '会议安排' }).waitFor();
    const items = view.getByTestId('forward-item');
    await until(async () => (await items.count()) === 2, 'two items');
    await items.nth(0).filter({ hasText: bob.name }).filter({ hasText: '明天十点开会' }).waitFor();
    await items.nth(1).filter({ hasText: alice.name }).filter({ hasText: '好的，我准备材料' }).waitFor();
    await shot(c.page, 'forward-items');
    await c.page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });

    // one image to a colleague who has no chat with alice yet (found in the directory)
    await row(a.page, '').filter({ has: a.page.getByTestId('msg-image') }).click({ button: 'right' });
    await a.page.locator('.menu').getByTestId('act-forward').click();
    await dlg.waitFor();
    await dlg.getByTestId('forward-search').fill(dave.name);
    await dlg.getByTestId('forward-target').filter({ hasText: dave.name }).click();
    await dlg.getByTestId('forward-send').click();
    await dlg.waitFor({ state: 'detached' });
    const d = await openApp(browser);
    await login(d.page, dave);
    await d.page.getByTestId('conv-item').filter({ hasText: alice.name }).click();
    const dcard = list(d.page).getByTestId('msg-forward');
    await dcard.filter({ hasText: '[图片]' }).waitFor();
    await dcard.click();
    const dview = d.page.getByTestId('forward-view');
    const thumb = dview.getByTestId('msg-image');
    await until(() => thumb.evaluate((el) => el.classList.contains('loaded') && el.querySelector('img').naturalWidth > 0), 'forwarded image loads for the receiver');
    // the lightbox over the dialog: Esc closes the lightbox only, then the dialog
    await thumb.click();
    const lb = d.page.getByTestId('lightbox');
    await until(() => lb.getByTestId('lightbox-image').evaluate((el) => el.naturalWidth === 320), 'large forwarded image');
    await d.page.keyboard.press('Escape');
    await lb.waitFor({ state: 'detached' });
    await dview.waitFor({ state: 'visible' });
    await d.page.keyboard.press('Escape');
    await dview.waitFor({ state: 'detached' });

    // carol forwards the history on to alice: a forward inside a forward opens nested
    await list(c.page).getByTestId('msg').filter({ has: c.page.getByTestId('msg-forward') }).click({ button: 'right' });
    await c.page.locator('.menu').getByTestId('act-forward').click();
    const cdlg = c.page.getByTestId('forward-dialog');
    await cdlg.getByTestId('forward-target').filter({ hasText: alice.name }).click();
    await cdlg.getByTestId('forward-send').click();
    await cdlg.waitFor({ state: 'detached' });
    await openChat(a.page, ac);
    const outer = list(a.page).getByTestId('msg-forward').filter({ hasText: '[聊天记录] 会议安排' });
    await outer.waitFor();
    await outer.click();
    const v1 = a.page.getByTestId('forward-view');
    // the item is alice's history message, which carol passed on
    await v1.getByTestId('forward-item').filter({ hasText: alice.name }).waitFor();
    await v1.getByTestId('msg-forward').click();
    await until(async () => (await a.page.getByTestId('forward-view').count()) === 2, 'nested dialog');
    const v2 = a.page.getByTestId('forward-view').nth(1);
    await v2.getByTestId('forward-item').filter({ hasText: '明天十点开会' }).waitFor();
    await shot(a.page, 'forward-nested');
    a.assertNoErrors(); c.assertNoErrors(); d.assertNoErrors();
    await a.close(); await c.close(); await d.close();
});

test('phone: the forward dialog and the history fit the screen', async () => {
    const alice = await newUser({ name: '手机转发' }), bob = await newUser({ name: '手机接收' });
    const ab = await direct(alice, bob);
    await say(alice, ab, '第一条消息');
    await say(bob, ab, '第二条消息，比较长一些，看看在手机上怎么换行显示');
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(a.page, alice);
    await openChat(a.page, ab);
    // a long press is a context menu on phones
    await row(a.page, '第一条消息').click({ button: 'right' });
    await a.page.locator('.menu').getByTestId('act-multi-select').click();
    await row(a.page, '第一条消息').click();
    await row(a.page, '第二条消息').click();
    await a.page.getByTestId('select-confirm').click();
    const dlg = a.page.getByTestId('forward-dialog');
    await dlg.getByTestId('forward-target').filter({ hasText: bob.name }).click();
    const box = await dlg.boundingBox();
    assert.ok(box.width <= 390 && box.y + box.height <= 844, 'the dialog fits');
    await shot(a.page, 'forward-dialog-phone');
    await dlg.getByTestId('forward-send').click();
    await dlg.waitFor({ state: 'detached' });
    const card = list(a.page).getByTestId('msg-forward');
    await card.waitFor();
    await card.click();
    await a.page.getByTestId('forward-view').getByTestId('forward-item').nth(1).waitFor();
    await shot(a.page, 'forward-items-phone');
    a.assertNoErrors();
    await a.close();
});

test('a long history pages its items: 50 first, then the rest on "load more"', async () => {
    const alice = await newUser({ name: '长记录' }), bob = await newUser({ name: '长对方' });
    const ab = await direct(alice, bob);
    const seqs = [];
    for (let i = 1; i <= 60; i++) seqs.push((await say(i % 2 ? alice : bob, ab, '第' + i + '条')).seq);
    await apiOk('POST', `/conversations/${ab}/forward`, { client_msg_id: uniq('f'), from_conv_id: ab, seqs, title: '六十条记录' }, await alice.token());
    const a = await openApp(browser);
    await login(a.page, alice);
    await openChat(a.page, ab);
    const card = list(a.page).getByTestId('msg-forward').filter({ hasText: '六十条记录' });
    // the card shows the first lines only
    await card.filter({ hasText: '第1条' }).filter({ hasText: '第4条' }).waitFor();
    assert.equal(await card.filter({ hasText: '第5条' }).count(), 0, 'four lines on the card');
    await card.click();
    const view = a.page.getByTestId('forward-view');
    await view.filter({ hasText: '共 60 条' }).waitFor();
    const items = view.getByTestId('forward-item');
    await until(async () => (await items.count()) === 50, 'first page of 50');
    await view.getByRole('button', { name: '加载更多' }).click();
    await until(async () => (await items.count()) === 60, 'all 60');
    await items.nth(59).filter({ hasText: '第60条' }).waitFor();
    await view.getByRole('button', { name: '加载更多' }).waitFor({ state: 'hidden' });
    a.assertNoErrors();
    await a.close();
});
