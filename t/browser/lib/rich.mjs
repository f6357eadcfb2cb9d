// Helpers of the rich-message browser tests (20-files, 21-forward, 22-groups).
import { deflateSync, crc32 } from 'node:zlib';
import { apiOk, uniq } from './harness.mjs';

// polls fn until it returns truthy (auto-waiting for plain values)
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

// bytes that do not compress and are easy to compare
export function randomBytes(n, seed = 7) {
    const b = Buffer.alloc(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x & 255; }
    return b;
}

export async function direct(a, b) {
    const j = await apiOk('POST', '/conversations', { kind: 'direct', user_id: b.id }, await a.token());
    return j.conversation.id;
}

let n = 0;
export const say = async (user, conv, text) => (await apiOk('POST', `/conversations/${conv}/messages`,
    { client_msg_id: uniq('r') + (++n), kind: 'text', text }, await user.token())).message;

export async function openChat(page, conv) {
    await page.goto('/app/#/chats/' + conv);
    await page.getByTestId('composer-input').waitFor();
}

// slow uploads down (Chromium's network emulation), so a progress bar can be seen
export async function throttle(page, bytesPerSecond) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
    return async () => { await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }); };
}
