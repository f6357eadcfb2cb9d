// Helpers of the rich-message browser tests (20-files, 21-forward, 22-groups).
import { apiOk, uniq, until, makePng } from './harness.mjs';

// until() and makePng() live in the harness (other test files use them too)
export { until, makePng };

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
