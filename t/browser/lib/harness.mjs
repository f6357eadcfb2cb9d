// Browser tests of the web client: Debian's chromium driven by playwright-core
// against the private stack `./build.sh test` started (TEST_YOUDU_* variables).
//
//   import { launch, newUser, openApp, login, shot, api } from './lib/harness.mjs';
//   const browser = await launch();
//   const alice = await newUser({ name: '张三' });          // through the admin API
//   const a = await openApp(browser);                       // a fresh context + page
//   await login(a.page, alice);                             // via the sign-in form
//   ... assertions on what the user sees ...
//   await shot(a.page, 'chat-alice');                       // run/test/screenshots/chat-alice.png
//   a.assertNoErrors();                                     // no uncaught exception in the page
import { chromium, selectors } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import assert from 'node:assert/strict';

export const BASE = process.env.TEST_YOUDU_URL || 'http://127.0.0.1:18080';
const RUN_DIR = process.env.TEST_YOUDU_RUN_DIR || '/tmp';
const ADMIN_PASSWORD = 'Admin-Pass-2026';   // the same as t/lib/Youdu/Test.pm
export const SHOTS = join(RUN_DIR, 'screenshots');
// page.getByTestId('x') finds data-test="x" (the attribute the client uses)
selectors.setTestIdAttribute('data-test');

export async function api(method, path, body, token) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    let payload;
    if (body !== undefined && body !== null) {
        if (body instanceof Uint8Array || typeof body === 'string') payload = body;
        else { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    }
    const r = await fetch(BASE + '/api/v1' + path, { method, headers, body: payload });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text };
}

export async function apiOk(method, path, body, token) {
    const r = await api(method, path, body, token);
    if (r.status >= 300 || !r.json || r.json.errcode !== 0) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
}

async function tryLogin(account, password) {
    const r = await api('POST', '/auth/login', { account, password, device_type: 'api' });
    return r.status === 200 ? r.json : null;
}

// the super admin; the first caller replaces the one-time password (as the Perl tests do)
let adminTok = null;
export async function adminToken() {
    if (adminTok) return adminTok;
    let j = await tryLogin('admin', ADMIN_PASSWORD);
    if (!j) {
        const first = process.env.TEST_YOUDU_ADMIN_PASSWORD;
        const f = await tryLogin('admin', first);
        if (!f) throw new Error('admin sign-in failed');
        await apiOk('POST', '/auth/password', { old_password: first, new_password: ADMIN_PASSWORD }, f.access_token);
        j = await tryLogin('admin', ADMIN_PASSWORD);
    }
    adminTok = j.access_token;
    return adminTok;
}

let seq = 0;
export function uniq(prefix = 'w') { return `${prefix}${process.pid}${Date.now() % 100000}${++seq}`; }

// an employee made through the admin API: {id, account, password, name, token()}
export async function newUser(fields = {}) {
    const account = fields.account || uniq('web');
    const password = fields.password || 'Passw0rd-' + account;
    const j = await apiOk('POST', '/admin/users', {
        name: fields.name || 'Web ' + account, departments: fields.departments || [{ dept_id: 0 }],
        ...fields, account, password,
    }, await adminToken());
    const u = { id: j.user.id, account, password, name: j.user.name };
    u.token = async () => (await tryLogin(account, password)).access_token;
    return u;
}

export async function launch() {
    return chromium.launch({
        executablePath: process.env.TEST_CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
               '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
}

// a fresh browser profile (context) with one page on the web client.
// {viewport: {width, height}} for phone layouts; errors collects uncaught page errors
export async function openApp(browser, { viewport = { width: 1280, height: 800 }, locale = 'zh-CN', permissions = [] } = {}) {
    const context = await browser.newContext({ viewport, locale, baseURL: BASE, acceptDownloads: true });
    if (permissions.length) await context.grantPermissions(permissions, { origin: BASE });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e && e.stack || e)));
    page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push('console: ' + m.text()); });
    await page.goto('/app/');
    return {
        context, page, errors,
        assertNoErrors() { assert.deepEqual(errors, [], 'no uncaught errors in the page'); },
        async close() { await context.close(); },
    };
}

// signs in through the form and waits for the app shell
export async function login(page, user, { remember = true } = {}) {
    await page.locator('#login-account').fill(user.account);
    await page.locator('#login-password').fill(user.password);
    await page.locator('#login-remember').setChecked(remember);
    await page.locator('#login-submit').click();
    await page.locator('[data-view=shell]').waitFor();
}

export async function shot(page, name) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: false });
}

// polls fn until it returns truthy: Playwright waits for locators, this is for
// plain values (API state, list orders)
export async function until(fn, what, ms = 15000) {
    const end = Date.now() + ms;
    let last;
    for (;;) {
        try { last = await fn(); if (last) return last; } catch (e) { last = e; }
        if (Date.now() > end) throw new Error('timed out waiting for ' + what + ' (last: ' + last + ')');
        await new Promise((r) => setTimeout(r, 150));
    }
}

function chunk(type, data) {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
}

// a real PNG of w x h: a colour gradient with a stripe, so thumbnails decode
export function makePng(w, h, seed = 0) {
    const raw = Buffer.alloc((w * 3 + 1) * h);
    for (let y = 0; y < h; y++) {
        raw[y * (w * 3 + 1)] = 0;
        for (let x = 0; x < w; x++) {
            const o = y * (w * 3 + 1) + 1 + x * 3;
            raw[o] = (x * 255 / w + seed) & 255; raw[o + 1] = (y * 255 / h) & 255; raw[o + 2] = (Math.abs(x - y) < 8 ? 255 : 90);
        }
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
        chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
