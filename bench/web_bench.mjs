// Web client benchmark (run by hand, not part of the tests): how long an
// employee waits in a big company.  Against a running stack (./build.sh run):
//
//   cd t/browser && TEST_YOUDU_URL=http://127.0.0.1:8080 TEST_YOUDU_ADMIN_PASSWORD=<one-time or
//     changed password> USERS=10000 CONVS=200 node ../../bench/web_bench.mjs
//
// Imports USERS employees into one department (bulk import), gives one of
// them CONVS conversations with a message each, then measures in Debian's
// headless chromium: sign-in to a usable shell, the conversation list, the
// first chat, opening the big department in the address book, a pinyin
// search, and the JavaScript/CSS the client loads.
import { launch, apiOk, adminToken, uniq, BASE } from '../t/browser/lib/harness.mjs';

const USERS = Number(process.env.USERS || 10000);
const CONVS = Number(process.env.CONVS || 200);
const ms = (t0) => Math.round(performance.now() - t0);

const admin = await adminToken();
const tag = uniq('bench');
const deptId = 900000 + Math.floor(Math.random() * 90000);
const users = [];
for (let i = 0; i < USERS; i++) {
    users.push({ account: `${tag}u${i}`, name: `员工${i}号`, departments: [{ dept_id: deptId }] });
}
let t0 = performance.now();
const imp = await fetch(BASE + '/api/v1/admin/import?mode=upsert', {
    method: 'POST', headers: { Authorization: 'Bearer ' + admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ departments: [{ id: deptId, name: '大部门' + tag, parent_id: 0 }], users }) });
if (imp.status !== 200) throw new Error('import: ' + imp.status + ' ' + await imp.text());
console.log(`import of ${USERS} users: ${ms(t0)} ms`);

const me = { account: `${tag}me`, password: 'Bench-Pass-2026' };
const created = await apiOk('POST', '/admin/users', { ...me, name: '测试员', departments: [{ dept_id: deptId }] }, admin);
me.id = created.user.id;
const myTok = (await apiOk('POST', '/auth/login', { ...me, device_type: 'api' })).access_token;
const list = (await apiOk('GET', `/org/users?dept=${deptId}&limit=${Math.min(CONVS, 500)}`, null, myTok)).users
    .filter((u) => u.id !== me.id).slice(0, CONVS);
t0 = performance.now();
for (const u of list) {
    const c = (await apiOk('POST', '/conversations', { kind: 'direct', user_id: u.id }, myTok)).conversation;
    await apiOk('POST', `/conversations/${c.id}/messages`, { client_msg_id: uniq('m'), kind: 'text', text: '你好 ' + u.name }, myTok);
}
console.log(`${list.length} conversations with a message: ${ms(t0)} ms`);

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: BASE });
const page = await context.newPage();
// every module and stylesheet once (a reload revalidates them: 304, no body)
const seen = new Map();
page.on('response', async (r) => {
    const u = r.url();
    if (/\/app\/.*\.(js|css)$/.test(u) && r.status() === 200 && !seen.has(u)) {
        seen.set(u, 0);
        seen.set(u, (await r.body().catch(() => Buffer.alloc(0))).length);
    }
});
await page.goto('/app/');
await page.locator('#login-account').fill(me.account);
await page.locator('#login-password').fill(me.password);
t0 = performance.now();
await page.locator('#login-submit').click();
await page.locator('[data-view=shell]').waitFor();
console.log(`sign-in to the shell: ${ms(t0)} ms`);
await page.locator('[data-test=conv-item]').first().waitFor();
console.log(`sign-in to the conversation list (${list.length}): ${ms(t0)} ms`);
t0 = performance.now();
await page.locator('[data-test=conv-item]').first().click();
await page.getByTestId('msg-text').first().waitFor();
console.log(`open a chat with its history: ${ms(t0)} ms`);

t0 = performance.now();
await page.goto('/app/#/contacts/dept/' + deptId);
await page.locator('[data-test=members] [data-user]').filter({ hasText: '员工' }).first().waitFor();
console.log(`address book, department of ${USERS + 1} opened: ${ms(t0)} ms`);

t0 = performance.now();
await page.locator('[data-test=contacts-search]').fill('yg99');
await page.locator('[data-test=search-results] [data-user]').first().waitFor();
console.log(`initials search "yg99" to results: ${ms(t0)} ms (includes the 250 ms typing debounce)`);

const reload0 = performance.now();
await page.reload();
await page.locator('[data-view=shell]').waitFor();
console.log(`reload of a signed-in tab to the shell: ${ms(reload0)} ms`);
const mem = await page.evaluate(() => performance.memory ? Math.round(performance.memory.usedJSHeapSize / 1048576) : null);
const bytes = [...seen.values()].reduce((a, b) => a + b, 0);
console.log(`client code: ${seen.size} files, ${Math.round(bytes / 1024)} KiB of JS/CSS (uncompressed); JS heap after reload: ${mem} MiB`);
await browser.close();
