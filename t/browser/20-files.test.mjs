// Files and images: the file picker with a progress bar, drag-and-drop of an
// image, paste of a screenshot, size limits, an upload error with retry; the
// other person sees the thumbnail (right aspect ratio), the lightbox, and the
// file card, and downloads the same bytes; phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, newUser, openApp, login, shot, apiOk, uniq, BASE } from './lib/harness.mjs';
import { until, makePng, randomBytes, direct, openChat, throttle } from './lib/rich.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const list = (page) => page.getByTestId('msg-list');

// a synthetic drag-and-drop of files onto the chat view
async function dropFiles(page, files) {
    await page.evaluate((fs) => {
        const dt = new DataTransfer();
        for (const f of fs) dt.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
        const chat = document.querySelector('[data-test=chat]');
        chat.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
        chat.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
        window.__dropDt = dt;
    }, files.map((f) => ({ ...f, bytes: [...f.bytes] })));
    await page.getByTestId('drop-zone').waitFor({ state: 'visible' });
    await page.evaluate(() => {
        const chat = document.querySelector('[data-test=chat]');
        chat.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__dropDt }));
    });
    await page.getByTestId('drop-zone').waitFor({ state: 'hidden' });
}

test('a file through the picker (progress bar), an image dropped, a screenshot pasted; the other side sees and downloads them', async () => {
    const alice = await newUser({ name: '周文件' }), bob = await newUser({ name: '吴接收' });
    const conv = await direct(alice, bob);
    const a = await openApp(browser), b = await openApp(browser);
    await login(a.page, alice); await login(b.page, bob);
    await openChat(a.page, conv);
    await openChat(b.page, conv);

    // 1. a PDF through the picker, uploaded slowly enough to watch the progress bar
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(1536 * 1024, 11)]);
    const unthrottle = await throttle(a.page, 512 * 1024);
    const [chooser] = await Promise.all([a.page.waitForEvent('filechooser'), a.page.getByTestId('tool-attach').click()]);
    assert.ok(chooser.isMultiple(), 'the picker takes several files');
    await chooser.setFiles({ name: '季度报告.pdf', mimeType: 'application/pdf', buffer: pdf });
    const up = a.page.getByTestId('upload').filter({ hasText: '季度报告.pdf' });
    await up.getByTestId('upload-progress').waitFor({ state: 'visible' });
    await up.getByTestId('upload-status').filter({ hasText: /正在上传 \d+%/ }).waitFor();
    await until(async () => Number(await up.getByTestId('upload-progress').getAttribute('aria-valuenow')) > 0, 'progress moves');
    await shot(a.page, 'files-uploading');
    await unthrottle();
    await up.waitFor({ state: 'detached', timeout: 30000 });
    await list(a.page).getByTestId('msg-file').filter({ hasText: '季度报告.pdf' }).waitFor();

    // 2. an image dropped onto the chat view (400 x 300: a thumbnail is made)
    const png = makePng(400, 300);
    await dropFiles(a.page, [{ name: 'photo.png', type: 'image/png', bytes: png }]);
    await list(a.page).getByTestId('msg-image').first().waitFor();

    // 3. a screenshot pasted into the composer: a preview to confirm first
    const shotPng = makePng(120, 200, 99);
    await a.page.evaluate((bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' }));
        document.querySelector('[data-test=composer-input]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, [...shotPng]);
    const preview = a.page.getByTestId('paste-preview');
    await preview.locator('img').waitFor();
    await shot(a.page, 'files-paste-preview');
    await preview.getByTestId('paste-send').click();
    await until(async () => (await list(a.page).getByTestId('msg-image').count()) === 2, 'two images on the sender side');

    // the receiver: the file card with its size, two thumbnails in boxes of their aspect ratio
    const card = list(b.page).getByTestId('msg-file').filter({ hasText: '季度报告.pdf' });
    await card.waitFor();
    await card.filter({ hasText: '1.5 MB' }).waitFor();
    await until(async () => (await list(b.page).getByTestId('msg-image').count()) === 2, 'two images on the receiver side');
    const imgs = list(b.page).getByTestId('msg-image');
    await until(() => imgs.nth(0).evaluate((el) => el.classList.contains('loaded') && el.querySelector('img').naturalWidth > 0), 'thumbnail loaded');
    const box0 = await imgs.nth(0).boundingBox();
    assert.ok(Math.abs(box0.width / box0.height - 400 / 300) < 0.05, `landscape box ${box0.width}x${box0.height}`);
    const box1 = await imgs.nth(1).boundingBox();
    assert.ok(Math.abs(box1.width / box1.height - 120 / 200) < 0.05, `portrait box ${box1.width}x${box1.height}`);
    const src = await imgs.nth(0).locator('img').getAttribute('src');
    assert.match(src, /\/files\/\d+\/thumb\?/, 'the list shows the thumbnail');
    await shot(b.page, 'files-receiver');

    // the lightbox: the large image, arrows to the next one, Esc closes
    await imgs.nth(0).click();
    const lb = b.page.getByTestId('lightbox');
    await lb.waitFor();
    await until(() => lb.getByTestId('lightbox-image').evaluate((el) => /\/files\/\d+\?/.test(el.src) && el.naturalWidth === 400), 'large image shown');
    await lb.filter({ hasText: '1 / 2' }).waitFor();
    await b.page.keyboard.press('ArrowRight');
    await lb.filter({ hasText: '2 / 2' }).waitFor();
    await until(() => lb.getByTestId('lightbox-image').evaluate((el) => el.naturalWidth === 120), 'second image shown');
    await shot(b.page, 'files-lightbox');
    await b.page.keyboard.press('Escape');
    await lb.waitFor({ state: 'detached' });

    // the download has the original name and the same bytes
    const [dl] = await Promise.all([b.page.waitForEvent('download'), card.getByTestId('file-download').click()]);
    assert.equal(dl.suggestedFilename(), '季度报告.pdf');
    const got = await readFile(await dl.path());
    assert.ok(got.equals(pdf), 'downloaded bytes match the upload');
    a.assertNoErrors(); b.assertNoErrors();
    await a.close(); await b.close();
});

test('too large files are refused with a clear message; a failed upload can be retried', async () => {
    const alice = await newUser({ name: '郑重试' }), bob = await newUser({ name: '王对方' });
    const conv = await direct(alice, bob);
    const a = await openApp(browser);
    await login(a.page, alice);
    await openChat(a.page, conv);
    // an image over the 20 MB image limit (made in the page: nothing goes over the wire)
    await a.page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(21 * 1024 * 1024)], 'huge.png', { type: 'image/png' }));
        const chat = document.querySelector('[data-test=chat]');
        chat.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    });
    await a.page.locator('.toast-error').filter({ hasText: /huge\.png.*太大.*20\.0 MB/ }).waitFor();
    assert.equal(await a.page.getByTestId('upload').count(), 0, 'nothing queued');

    // cancelled while uploading: the bubble goes, nothing is sent
    const unthrottle = await throttle(a.page, 64 * 1024);
    const [ch0] = await Promise.all([a.page.waitForEvent('filechooser'), a.page.getByTestId('tool-attach').click()]);
    await ch0.setFiles({ name: 'cancel-me.bin', mimeType: 'application/octet-stream', buffer: randomBytes(2 * 1024 * 1024, 3) });
    const up0 = a.page.getByTestId('upload').filter({ hasText: 'cancel-me.bin' });
    await up0.getByTestId('upload-progress').waitFor();
    await up0.getByTestId('upload-cancel').click();
    await up0.waitFor({ state: 'detached' });
    await unthrottle();

    // the server is busy once: the bubble says so and offers a retry, which sends it
    let fail = true;
    await a.page.route('**/api/v1/files?**', (route) => {
        if (!fail) return route.continue();
        fail = false;
        return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ errcode: 50300, errmsg: 'database busy' }) });
    });
    const [chooser] = await Promise.all([a.page.waitForEvent('filechooser'), a.page.getByTestId('tool-attach').click()]);
    await chooser.setFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('meeting notes\n') });
    const up = a.page.getByTestId('upload').filter({ hasText: 'notes.txt' });
    await up.getByTestId('upload-error').filter({ hasText: /发送失败.*服务器繁忙/ }).waitFor();
    await shot(a.page, 'files-failed');
    await up.getByTestId('upload-retry').click();
    await list(a.page).getByTestId('msg-file').filter({ hasText: 'notes.txt' }).waitFor();
    await up.waitFor({ state: 'detached' });
    const msgs = (await apiOk('GET', `/conversations/${conv}/messages`, null, await alice.token())).messages;
    assert.deepEqual(msgs.filter((m) => m.kind === 3).map((m) => m.body.name), ['notes.txt'], 'the cancelled file was never sent');
    a.assertNoErrors();
    await a.close();
});

test('phone: images and file cards fit the screen; the lightbox fills it', async () => {
    const alice = await newUser({ name: '孙手机' }), bob = await newUser({ name: '钱发送' });
    const conv = await direct(alice, bob);
    const tok = await bob.token();
    const up = async (name, type, bytes) => (await fetch(BASE + '/api/v1/files?name=' + encodeURIComponent(name),
        { method: 'POST', headers: { Authorization: 'Bearer ' + tok, 'Content-Type': type }, body: bytes }).then((r) => r.json())).file.id;
    const img = await up('wide.png', 'image/png', makePng(1200, 500));
    const doc = await up('方案说明-最终版-很长的文件名称.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', randomBytes(48000));
    await apiOk('POST', `/conversations/${conv}/messages`, { client_msg_id: uniq('p'), kind: 'image', file_id: img }, tok);
    await apiOk('POST', `/conversations/${conv}/messages`, { client_msg_id: uniq('p'), kind: 'file', file_id: doc }, tok);
    const a = await openApp(browser, { viewport: { width: 390, height: 844 } });
    await login(a.page, alice);
    await openChat(a.page, conv);
    const im = list(a.page).getByTestId('msg-image');
    await until(() => im.evaluate((el) => el.classList.contains('loaded')), 'thumbnail loaded');
    const bi = await im.boundingBox();
    assert.ok(bi.x >= 0 && bi.x + bi.width <= 390, 'image inside the screen');
    assert.ok(Math.abs(bi.width / bi.height - 1200 / 500) < 0.06, 'aspect ratio kept on the phone');
    const fc = list(a.page).getByTestId('msg-file');
    await fc.filter({ hasText: '47 KB' }).waitFor();
    const bf = await fc.boundingBox();
    assert.ok(bf.x + bf.width <= 390, 'file card inside the screen');
    await shot(a.page, 'files-phone');
    await im.click();
    const lb = a.page.getByTestId('lightbox');
    await until(() => lb.getByTestId('lightbox-image').evaluate((el) => el.naturalWidth === 1200), 'large image');
    const bl = await lb.getByTestId('lightbox-image').boundingBox();
    assert.ok(bl.width <= 390 && bl.width > 300, 'the large image fills the width');
    await shot(a.page, 'files-phone-lightbox');
    await a.page.getByTestId('lightbox-close').click();
    await lb.waitFor({ state: 'detached' });
    a.assertNoErrors();
    await a.close();
});
