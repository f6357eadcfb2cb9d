// New group through the member picker (department browse + pinyin search), then
// the group settings drawer: rename, add and remove members, admins, my mute,
// dissolve; the other members' views follow in real time; phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, apiOk, adminToken, uniq } from './lib/harness.mjs';
import { until } from './lib/rich.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const member = (page, name) => page.getByTestId('group-members').getByTestId('group-member').filter({ hasText: name });

test('create a group in the picker, rename it, add and remove members; everybody sees it live', async () => {
    const tag = uniq('g');
    const dept = (await apiOk('POST', '/admin/departments', { name: '研发' + tag.slice(-6), parent_id: 0 }, await adminToken())).department;
    const alice = await newUser({ name: '群主' + tag.slice(-4) });
    const bob = await newUser({ name: '柏成员' + tag.slice(-4), departments: [{ dept_id: dept.id, position: '工程师' }] });
    const carol = await newUser({ name: '樊蔚然', title: '设计' + tag.slice(-6) });
    const dave = await newUser({ name: '戴新人' + tag.slice(-4), departments: [{ dept_id: dept.id }] });

    const a = await openApp(browser);
    const b = await openApp(browser, { viewport: { width: 390, height: 844 } });
    const c = await openApp(browser);
    await login(a.page, alice); await login(b.page, bob); await login(c.page, carol);

    // "+" -> new group: browse into the department for bob, search carol by pinyin
    await a.page.getByTestId('list-new-chat').click();
    await a.page.locator('.menu').getByTestId('new-group').click();
    const pick = a.page.getByTestId('member-picker');
    await pick.getByTestId('picker-dept').filter({ hasText: dept.name }).click();
    await pick.getByTestId('picker-user').filter({ hasText: bob.name }).filter({ hasText: '工程师' }).click();
    await pick.getByTestId('picker-search').fill('fanweiran');
    await pick.getByTestId('picker-user').filter({ hasText: '设计' + tag.slice(-6) }).click();
    await pick.getByTestId('picker-count').filter({ hasText: '已选 2 人' }).waitFor();
    await pick.getByTestId('picker-chip').filter({ hasText: bob.name }).waitFor();
    // a group needs a name
    await pick.getByTestId('picker-ok').click();
    await pick.locator('.form-error').filter({ hasText: '请填写名称' }).waitFor();
    await pick.getByTestId('picker-name').fill('项目组' + tag.slice(-4));
    await shot(a.page, 'groups-picker');
    await pick.getByTestId('picker-ok').click();
    await pick.waitFor({ state: 'detached' });
    await a.page.waitForURL(/#\/chats\/\d+$/);
    const conv = Number(/#\/chats\/(\d+)$/.exec(a.page.url())[1]);
    await a.page.getByTestId('chat-title').filter({ hasText: '项目组' + tag.slice(-4) }).waitFor();
    const detail = await apiOk('GET', `/conversations/${conv}`, null, await alice.token());
    assert.equal(detail.conversation.kind, 'group');
    assert.deepEqual(detail.members.map((m) => m.user_id).sort(), [alice.id, bob.id, carol.id].sort());

    // bob (phone) keeps the settings open, carol the chat
    await b.page.goto('/app/#/chats/' + conv);
    await b.page.getByTestId('head-group-settings').click();
    const bs = b.page.getByTestId('group-settings');
    await member(b.page, alice.name).getByTestId('role-owner').waitFor();
    await bs.getByTestId('group-name').filter({ hasText: '项目组' }).waitFor();
    assert.equal(await bs.getByTestId('group-rename').count(), 0, 'a member cannot rename');
    assert.equal(await bs.getByTestId('group-add').count(), 0, 'a member cannot add people');
    // once it has slid in, the drawer fills a phone screen
    await until(async () => { const r = await bs.boundingBox(); return r.width >= 389 && Math.abs(r.x) <= 1 && r.height >= 840; }, 'full-screen drawer');
    await c.page.goto('/app/#/chats/' + conv);
    await c.page.getByTestId('composer-input').waitFor();

    // the owner renames
    await a.page.getByTestId('head-group-settings').click();
    const as = a.page.getByTestId('group-settings');
    await as.getByTestId('group-rename').click();
    await a.page.getByTestId('rename-input').fill('发布小组' + tag.slice(-4));
    await a.page.getByTestId('rename-ok').click();
    await as.getByTestId('group-name').filter({ hasText: '发布小组' }).waitFor();
    await bs.getByTestId('group-name').filter({ hasText: '发布小组' }).waitFor();
    await c.page.getByTestId('chat-title').filter({ hasText: '发布小组' }).waitFor();

    // adds dave (search by account)
    await as.getByTestId('group-add').click();
    const pick2 = a.page.getByTestId('member-picker');
    await pick2.getByTestId('picker-search').fill(dave.account);
    await pick2.locator(`[data-test=picker-user][data-id="${dave.id}"]`).click();
    await pick2.getByTestId('picker-ok').click();
    await member(a.page, dave.name).waitFor();
    await member(b.page, dave.name).waitFor();
    await bs.filter({ hasText: '成员（4）' }).waitFor();
    await shot(a.page, 'groups-settings-owner');

    // removes carol: carol sees it in her chat and can no longer write
    await member(a.page, carol.name).getByTestId('member-menu').click();
    await a.page.locator('.menu').getByTestId('member-remove').click();
    await a.page.getByTestId('confirm').filter({ hasText: carol.name }).getByTestId('confirm-ok').click();
    await member(a.page, carol.name).waitFor({ state: 'detached' });
    await member(b.page, carol.name).waitFor({ state: 'detached' });
    await c.page.getByTestId('msg-notice').filter({ hasText: '移出了群聊' }).waitFor();
    await c.page.getByTestId('composer-blocked').waitFor({ state: 'visible' });

    // makes bob an admin: bob's drawer gets the admin badge and the add button
    await member(a.page, bob.name).getByTestId('member-menu').click();
    await a.page.locator('.menu').getByTestId('member-admin').click();
    await member(b.page, bob.name).getByTestId('role-admin').waitFor();
    await bs.getByTestId('group-add').waitFor();
    await bs.getByTestId('group-rename').waitFor();
    // the picker on a phone: chips above the list, current members ticked and greyed
    await bs.getByTestId('group-add').click();
    const bp = b.page.getByTestId('member-picker');
    await bp.getByTestId('picker-search').fill(dave.account);
    await bp.locator(`[data-test=picker-user][data-id="${dave.id}"][disabled]`).filter({ hasText: '已在群中' }).waitFor();
    const pb = await bp.boundingBox();
    assert.ok(pb.width <= 390 && pb.y + pb.height <= 845, 'the picker fits the phone');
    await shot(b.page, 'groups-picker-phone');
    await b.page.keyboard.press('Escape');
    await bp.waitFor({ state: 'detached' });
    await bs.waitFor({ state: 'visible' });

    // bob mutes the group for himself
    await bs.locator('.rich-switch').filter({ has: b.page.getByTestId('group-mute') }).click();
    await until(async () => (await apiOk('GET', `/conversations/${conv}`, null, await bob.token())).conversation.muted === true, 'muted');
    await shot(b.page, 'groups-settings-phone');

    // the owner dissolves it: bob's drawer says so
    await as.getByTestId('group-dissolve').click();
    await a.page.getByTestId('confirm-ok').click();
    await a.page.waitForURL(/#\/chats$/);
    await bs.getByTestId('group-gone').filter({ hasText: '该群已解散' }).waitFor();
    assert.equal(await bs.getByTestId('group-add').count(), 0, 'nothing to manage any more');
    a.assertNoErrors(); b.assertNoErrors(); c.assertNoErrors();
    await a.close(); await b.close(); await c.close();
});

test('a multi-person chat from the picker (in English); a member leaves it', async () => {
    const alice = await newUser({ name: '发起人' }), bob = await newUser({ name: '参与甲' }), carol = await newUser({ name: '参与乙' });
    const a = await openApp(browser), b = await openApp(browser);
    await a.page.evaluate(() => localStorage.setItem('yd.lang', 'en'));
    await a.page.reload();
    await login(a.page, alice); await login(b.page, bob);
    await a.page.getByTestId('list-new-chat').click();
    await a.page.locator('.menu').getByTestId('new-multi').filter({ hasText: 'New multi-person chat' }).click();
    const pick = a.page.getByTestId('member-picker');
    await pick.getByTestId('picker-count').filter({ hasText: 'Nobody selected yet' }).waitFor();
    for (const u of [bob, carol]) {
        await pick.getByTestId('picker-search').fill(u.account);
        await pick.locator(`[data-test=picker-user][data-id="${u.id}"]`).click();
    }
    await pick.getByTestId('picker-count').filter({ hasText: '2 selected' }).waitFor();
    await pick.getByTestId('picker-ok').filter({ hasText: 'Start chat' }).click();
    await a.page.waitForURL(/#\/chats\/\d+$/);
    const conv = Number(/#\/chats\/(\d+)$/.exec(a.page.url())[1]);
    await a.page.getByTestId('head-group-settings').click();
    await a.page.getByTestId('group-settings').filter({ hasText: 'Chat info' }).filter({ hasText: 'Members (3)' }).waitFor();
    await member(a.page, carol.name).getByTestId('member-menu').waitFor();
    await member(a.page, alice.name).filter({ hasText: 'Owner' }).waitFor();
    await until(async () => Math.abs((await a.page.getByTestId('group-settings').boundingBox()).x - (1280 - 360)) <= 1, 'drawer slid in');
    await shot(a.page, 'groups-multi-en');
    assert.equal(await a.page.getByTestId('group-leave').count(), 0, 'the owner of a multi-person chat cannot leave');
    await b.page.goto('/app/#/chats/' + conv);
    await b.page.getByTestId('head-group-settings').click();
    await b.page.getByTestId('group-leave').click();
    await b.page.getByTestId('confirm-ok').click();
    await b.page.waitForURL(/#\/chats$/);
    await member(a.page, bob.name).waitFor({ state: 'detached' });
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});
