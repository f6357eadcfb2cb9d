// The address book: department tree, members, search (pinyin initials,
// highlight, keyboard, paging), the person card (masked confidential fields,
// links, send message), live refresh from admin edits, presence dots,
// avatars, and the phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newUser, openApp, login, shot, apiOk, adminToken, uniq, until, makePng, BASE } from './lib/harness.mjs';

let browser, admin;
let deptA, deptB, viewer, colleague, secret, zhang, third;
const tag = uniq('ct');

async function newDept(name, parent = 0) {
    const j = await apiOk('POST', '/admin/departments', { name, parent_id: parent }, admin);
    return j.department;
}

// a small PNG (an avatar), built by hand
async function openContacts(a, hash = '#/contacts') {
    await a.page.evaluate((h) => { location.hash = h; }, hash);
    await a.page.getByTestId('dept-tree').waitFor();
}

before(async () => {
    browser = await launch();
    admin = await adminToken();
    deptA = await newDept('研发中心' + tag);
    deptB = await newDept('前端组' + tag, deptA.id);
    viewer = await newUser({ name: '观察者' + tag, departments: [{ dept_id: deptA.id, position: '经理' }] });
    colleague = await newUser({ name: '同事' + tag, departments: [{ dept_id: deptB.id, position: '工程师' }] });
    // a Chinese name with rare initials, and a mobile only admins may see
    zhang = await newUser({ name: '欧阳' + tag.slice(-4).replace(/\d/g, (d) => '零一二三四五六七八九'[d]),
                            departments: [{ dept_id: deptB.id }] });
    const mob = '+86-139' + String(Date.now() % 100000000).padStart(8, '0');
    secret = await newUser({ name: '保密' + tag, mobile: mob, email: tag + '@example.com', title: '架构师',
                             confidential: ['mobile'], departments: [{ dept_id: deptB.id, position: '组长' }] });
    third = await newUser({ name: '改名前' + tag, departments: [{ dept_id: deptB.id }] });
});
after(async () => { await browser?.close(); });

test('the tree shows the departments; expanding one and choosing it lists its members', async () => {
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a);
    const p = a.page;
    // the root is open: the top-level department is there, its child not yet
    await p.getByTestId('dept-' + deptA.id).filter({ hasText: deptA.name }).waitFor();
    assert.equal(await p.getByTestId('dept-' + deptB.id).count(), 0, 'children are rendered lazily');
    await p.getByTestId('dept-toggle-' + deptA.id).click();
    const nodeB = p.getByTestId('dept-' + deptB.id);
    await nodeB.waitFor();
    // the count of B: its four members
    assert.equal((await nodeB.locator('.ct-node-count').textContent()).trim(), '4');
    await nodeB.click();
    await p.waitForURL(new RegExp('#/contacts/dept/' + deptB.id + '$'));
    const members = p.getByTestId('members');
    await members.getByTestId('member-' + secret.id).filter({ hasText: secret.name }).waitFor();
    assert.match(await members.getByTestId('member-' + secret.id).textContent(), /组长/, 'position under the name');
    for (const u of [colleague, zhang, third]) await members.getByTestId('member-' + u.id).waitFor();
    // breadcrumbs: root / A / B
    const crumbs = await p.getByTestId('crumbs').textContent();
    assert.ok(crumbs.includes(deptA.name) && crumbs.includes(deptB.name), 'breadcrumbs show the path: ' + crumbs);
    // A lists B as a sub-department and the viewer as a member
    await p.getByTestId('crumbs').getByText(deptA.name).click();
    await members.getByTestId('subdept-' + deptB.id).waitFor();
    await members.getByTestId('member-' + viewer.id).waitFor();
    await shot(p, 'contacts-desktop');
    // the keyboard works the tree: left closes A, right opens it again, down reaches B
    await p.getByTestId('dept-' + deptA.id).locator('a').focus();
    await p.keyboard.press('ArrowLeft');
    await p.getByTestId('dept-' + deptB.id).waitFor({ state: 'detached' });
    await p.keyboard.press('ArrowRight');
    await p.keyboard.press('ArrowDown');
    assert.equal(await p.evaluate(() => document.activeElement.closest('[data-dept]')?.dataset.dept), String(deptB.id));
    await p.keyboard.press('Enter');
    await p.waitForURL(new RegExp('#/contacts/dept/' + deptB.id + '$'));
    a.assertNoErrors();
    await a.close();
});

test('search: pinyin initials find a Chinese name, highlighted; arrows and Enter open the card; paging', async () => {
    // 35 people with one shared prefix for paging
    const prefix = 'pg' + tag;
    const users = Array.from({ length: 35 }, (_, i) => ({ account: `${prefix}.${i}`, name: `翻页${prefix}${String(i).padStart(2, '0')}`,
                                                          dept_ids: [deptA.id] }));
    await apiOk('POST', '/admin/import', { users }, admin);
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a);
    const p = a.page;
    const box = p.getByTestId('contacts-search');
    const initials = (await apiOk('GET', '/org/users/' + zhang.id, null, admin)).user.name_initials;
    await box.fill(initials);
    const hit = p.getByTestId('result-' + zhang.id);
    await hit.waitFor();
    assert.ok((await hit.locator('mark').count()) > 0, 'the match is highlighted');
    assert.match(await hit.textContent(), new RegExp(deptB.name), 'the result shows the department path');
    await shot(p, 'contacts-search');
    // the full pinyin finds him too, and says why he matched
    const pinyin = (await apiOk('GET', '/org/users/' + zhang.id, null, admin)).user.name_pinyin;
    await box.fill(pinyin);
    await hit.filter({ hasText: '拼音' }).waitFor();
    await box.fill(initials);
    await hit.waitFor();
    // keyboard: down to our hit, Enter opens the card
    const rows = p.getByTestId('search-results').locator('.ct-result');
    const n = await rows.count();
    let idx = -1;
    for (let i = 0; i < n; i++) if ((await rows.nth(i).getAttribute('data-user')) === String(zhang.id)) idx = i;
    assert.ok(idx >= 0);
    for (let i = 0; i < idx; i++) await box.press('ArrowDown');
    await box.press('ArrowDown');
    await box.press('ArrowUp');
    assert.equal(await rows.nth(idx).getAttribute('aria-selected'), 'true', 'arrows move the selection');
    await box.press('Enter');
    await p.waitForURL(new RegExp('#/contacts/user/' + zhang.id + '$'));
    await p.getByTestId('person-name').filter({ hasText: zhang.name }).waitFor();

    // paging: 30 first, "more" brings the other 5
    await box.fill(prefix);
    await p.getByTestId('results-count').filter({ hasText: '35' }).waitFor();
    assert.equal(await rows.count(), 30);
    await p.getByTestId('search-more').click();
    await p.waitForFunction(() => document.querySelectorAll('.ct-result').length === 35);
    assert.equal(await p.getByTestId('search-more').count(), 0, 'no more button at the end');
    // Esc clears the search and the tree is back
    await box.press('Escape');
    await p.getByTestId('dept-tree').waitFor();
    a.assertNoErrors();
    await a.close();
});

test('the card: a confidential mobile is masked, never a link; the email is a mailto link; copy; own card has no "send"', async () => {
    const a = await openApp(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
    await login(a.page, viewer);
    await openContacts(a, '#/contacts/user/' + secret.id);
    const p = a.page;
    const card = p.getByTestId('person-card');
    await card.getByTestId('person-name').filter({ hasText: secret.name }).waitFor();
    const mobile = card.getByTestId('person-field-mobile');
    assert.match(await mobile.textContent(), /\*\*\*/);
    assert.match(await mobile.textContent(), /管理员隐藏/, 'the lock hint says why');
    assert.equal(await mobile.locator('a').count(), 0, 'a masked value is not a link');
    const mail = card.getByTestId('person-field-email').locator('a');
    assert.equal(await mail.getAttribute('href'), 'mailto:' + tag + '@example.com');
    assert.match(await card.getByTestId('person-field-depts').textContent(), new RegExp(`${deptA.name} / ${deptB.name}.*组长`));
    assert.match(await card.textContent(), /架构师/);
    assert.match(await card.getByTestId('person-field-account').textContent(), new RegExp(secret.account));
    await card.getByTestId('person-copy').click();
    await p.locator('.toast').filter({ hasText: '已复制' }).waitFor();
    assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret.account);
    await shot(p, 'contacts-card');
    // one's own card: no "send message"
    await p.evaluate((id) => { location.hash = '#/contacts/user/' + id; }, viewer.id);
    await card.getByTestId('person-name').filter({ hasText: viewer.name }).waitFor();
    assert.equal(await card.getByTestId('person-send').count(), 0);
    a.assertNoErrors();
    await a.close();
});

test('live refresh: an admin adds, renames and removes people while the department is open', async () => {
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a);
    const p = a.page;
    await p.getByTestId('dept-toggle-' + deptA.id).click();
    await p.getByTestId('dept-' + deptB.id).click();
    const members = p.getByTestId('members');
    await members.getByTestId('member-' + third.id).waitFor();
    await p.evaluate(() => { window.__sameDocument = true; });

    const added = await newUser({ name: '新同事' + tag, departments: [{ dept_id: deptB.id }] });
    await members.getByTestId('member-' + added.id).filter({ hasText: '新同事' + tag }).waitFor();
    await apiOk('PATCH', '/admin/users/' + third.id, { name: '改名后' + tag }, admin);
    await members.getByTestId('member-' + third.id).filter({ hasText: '改名后' + tag }).waitFor();
    await apiOk('DELETE', '/admin/users/' + added.id, null, admin);
    await members.getByTestId('member-' + added.id).waitFor({ state: 'detached' });
    // a new department under the open one shows in the tree, which kept its expanded state
    const sub = await newDept('新小组' + tag, deptB.id);
    await members.getByTestId('subdept-' + sub.id).waitFor();
    await p.getByTestId('dept-' + deptB.id).waitFor();
    assert.equal(await p.getByTestId('dept-' + deptB.id).getAttribute('aria-expanded'), 'false');
    assert.equal(await p.getByTestId('dept-' + deptA.id).getAttribute('aria-expanded'), 'true', 'A stays expanded');
    assert.equal((await p.getByTestId('dept-' + deptB.id).locator('.ct-node-count').textContent()).trim(), '4');
    assert.equal(await p.evaluate(() => window.__sameDocument), true, 'no reload');
    await apiOk('DELETE', '/admin/departments/' + sub.id, null, admin);
    await members.getByTestId('subdept-' + sub.id).waitFor({ state: 'detached' });
    a.assertNoErrors();
    await a.close();
});

test('presence: a colleague signing in turns his dot green, closing turns it grey', async () => {
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a, '#/contacts/dept/' + deptB.id);
    const row = a.page.getByTestId('members').getByTestId('member-' + colleague.id);
    await row.waitFor();
    assert.equal(await row.locator('.dot.online').count(), 0, 'offline first');
    const b = await openApp(browser);
    await login(b.page, colleague);
    await row.locator('.dot.online').waitFor({ timeout: 15000 });
    // the card says where he is online
    await row.click();
    await a.page.getByTestId('person-presence').filter({ hasText: /网页.*在线/ }).waitFor();
    await shot(a.page, 'contacts-presence');
    await b.close();
    await row.locator('.dot:not(.online)').waitFor({ timeout: 15000 });
    await a.page.getByTestId('person-presence').filter({ hasText: '离线' }).waitFor();
    a.assertNoErrors();
    await a.close();
});

test('"send message" opens the direct conversation', async () => {
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a, '#/contacts/user/' + colleague.id);
    const p = a.page;
    await p.getByTestId('person-name').filter({ hasText: colleague.name }).waitFor();
    await p.getByTestId('person-send').click();
    await p.waitForURL(/#\/chats\/\d+$/);
    const id = Number(new URL(p.url()).hash.split('/').pop());
    const j = await apiOk('GET', '/conversations/' + id, null, await viewer.token());
    assert.equal(j.conversation.kind, 'direct');
    assert.equal(j.conversation.peer.id, colleague.id);
    assert.deepEqual(j.members.map((m) => m.user_id).sort((x, y) => x - y), [viewer.id, colleague.id].sort((x, y) => x - y));
    a.assertNoErrors();
    await a.close();
});

test('avatars: a user with a picture shows it, others keep their initials; openPersonCard pops up next to an anchor', async () => {
    const res = await fetch(BASE + '/api/v1/admin/users/' + zhang.id + '/avatar',
        { method: 'PUT', headers: { Authorization: 'Bearer ' + admin, 'Content-Type': 'image/png' }, body: makePng(64, 64) });
    assert.equal(res.status, 200, 'avatar set');
    await until(async () => (await apiOk('GET', '/org/users/' + zhang.id, null, admin)).user.has_avatar, 'has_avatar');
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a, '#/contacts/dept/' + deptB.id);
    const p = a.page;
    const row = p.getByTestId('members').getByTestId('member-' + zhang.id);
    await row.locator('.avatar img').waitFor();
    assert.ok(await row.locator('.avatar img').evaluate((img) => img.complete && img.naturalWidth > 0), 'the picture loaded');
    assert.equal(await p.getByTestId('members').getByTestId('member-' + colleague.id).locator('.avatar img').count(), 0);
    // the large picture on the card
    await row.click();
    const big = p.getByTestId('person-card').locator('.person-avatar .avatar img');
    await big.waitFor();
    // a new picture replaces the cached one without a reload (the user's version moved)
    const before = await row.locator('.avatar img').getAttribute('src');
    const res2 = await fetch(BASE + '/api/v1/admin/users/' + zhang.id + '/avatar',
        { method: 'PUT', headers: { Authorization: 'Bearer ' + admin, 'Content-Type': 'image/png' }, body: makePng(80, 80, 40) });
    assert.equal(res2.status, 200, 'second avatar set');
    await p.waitForFunction(([sel, old]) => { const i = document.querySelector(sel); return i && i.src !== old && i.complete; },
        [`[data-test=member-${zhang.id}] .avatar img`, before]);
    // the API other views use: a pop-over next to the element
    await p.evaluate(async (id) => {
        const m = await import('/app/js/views/person.js');
        m.openPersonCard(id, { anchor: document.querySelector('[data-test=crumbs]') });
    }, secret.id);
    const pop = p.locator('.person-pop');
    await pop.getByTestId('person-name').filter({ hasText: secret.name }).waitFor();
    await shot(p, 'contacts-popover');
    await p.keyboard.press('Escape');
    await pop.waitFor({ state: 'detached' });
    a.assertNoErrors();
    await a.close();
});

test('phone layout: tree, then members with a back button, then the card', async () => {
    // a tree taller than the phone: it must scroll inside the screen, above the tab bar
    const many = [];
    for (let i = 0; i < 24; i++) many.push(await newDept(`分组${String(i).padStart(2, '0')}${tag}`, deptA.id));
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(a.page, viewer);
    await openContacts(a);
    const p = a.page;
    await p.getByTestId('dept-toggle-' + deptA.id).click();
    await p.getByTestId('dept-' + many[23].id).waitFor();
    const tree = await p.getByTestId('dept-tree').evaluate((el) => ({ bottom: el.getBoundingClientRect().bottom,
        scrollable: el.scrollHeight > el.clientHeight, rail: document.querySelector('nav.rail').getBoundingClientRect().top }));
    assert.ok(tree.scrollable, 'the tree scrolls');
    assert.ok(tree.bottom <= tree.rail + 1, `the tree ends above the tab bar (${tree.bottom} > ${tree.rail})`);
    await p.getByTestId('dept-' + many[23].id).scrollIntoViewIfNeeded();
    assert.ok(await p.getByTestId('dept-' + many[23].id).isVisible());
    await p.getByTestId('dept-tree').evaluate((el) => { el.scrollTop = 0; });
    await shot(p, 'contacts-phone-tree');
    await p.getByTestId('dept-' + deptB.id).click();
    const members = p.getByTestId('members');
    await members.getByTestId('member-' + secret.id).waitFor();
    assert.equal(await p.getByTestId('dept-tree').isVisible(), false, 'the tree gives way to the members');
    await shot(p, 'contacts-phone-members');
    await members.getByTestId('member-' + secret.id).click();
    await p.getByTestId('person-name').filter({ hasText: secret.name }).waitFor();
    assert.equal(await members.isVisible(), false, 'the card fills the screen');
    const sendBox = await p.getByTestId('person-send').boundingBox();
    assert.ok(sendBox && sendBox.x >= 0 && sendBox.x + sendBox.width <= 390, 'the buttons fit the screen');
    await shot(p, 'contacts-phone-card');
    await p.getByTestId('person-back').click();
    await members.getByTestId('member-' + secret.id).waitFor();
    await p.getByTestId('members-back').click();
    await p.getByTestId('dept-tree').waitFor();
    a.assertNoErrors();
    await a.close();
});

test('a large department (2,000 people) renders only what is on screen and scrolls', async () => {
    const big = await newDept('大部门' + tag);
    const users = Array.from({ length: 2000 }, (_, i) => ({ account: `big${tag}.${i}`, name: `成员${String(i).padStart(4, '0')}`,
                                                            dept_ids: [big.id] }));
    await apiOk('POST', '/admin/import', { users }, admin);
    const a = await openApp(browser);
    await login(a.page, viewer);
    await openContacts(a, '#/contacts/dept/' + big.id);
    const p = a.page;
    const members = p.getByTestId('members');
    await members.locator('.ct-row').first().waitFor();
    const rendered = await members.locator('.ct-row').count();
    assert.ok(rendered < 80, 'only a window of rows is in the DOM, got ' + rendered);
    // the middle of the list; an admin renames somebody there: the row changes, the list does not jump
    await members.evaluate((el) => { el.scrollTop = 1000 * 60; });
    await members.locator('.ct-row').filter({ hasText: '成员1003' }).waitFor();
    const target = (await apiOk('GET', `/org/users?q=big${tag}.1003&limit=1`, null, admin)).users[0];
    assert.equal(target.name, '成员1003');
    await apiOk('PATCH', '/admin/users/' + target.id, { name: '成员1003改' }, admin);
    await members.getByTestId('member-' + target.id).filter({ hasText: '成员1003改' }).waitFor();
    assert.equal(await members.evaluate((el) => el.scrollTop), 1000 * 60, 'the scroll position stays');
    await members.evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await members.locator('.ct-row').filter({ hasText: '成员1999' }).waitFor();
    assert.equal((await p.getByTestId('dept-' + big.id).locator('.ct-node-count').textContent()).trim(), '2000');
    a.assertNoErrors();
    await a.close();
});

test('English: the address book and the card speak English', async () => {
    const a = await openApp(browser, { locale: 'en' });
    await a.page.evaluate(() => localStorage.setItem('yd.lang', 'en'));
    await a.page.reload();
    await login(a.page, viewer);
    await openContacts(a, '#/contacts/user/' + secret.id);
    const p = a.page;
    assert.match(await p.getByTestId('contacts-search').getAttribute('placeholder'), /Search name, pinyin/);
    const card = p.getByTestId('person-card');
    await card.getByTestId('person-name').filter({ hasText: secret.name }).waitFor();
    assert.match(await card.getByTestId('person-field-mobile').textContent(), /Mobile\s*\*\*\*\s*hidden by the administrator/);
    assert.match(await card.getByTestId('person-send').textContent(), /Send message/);
    assert.match(await p.locator('.ct-head-count').textContent(), /^\d+ people$/);
    await shot(p, 'contacts-card-en');
    a.assertNoErrors();
    await a.close();
});
