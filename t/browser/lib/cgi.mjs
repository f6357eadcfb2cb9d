// A small client of the open platform API (/cgi, docs/cgi.md) for the
// browser tests, written from the spec with node:crypto (as t/lib/Youdu/Cgi.pm
// does with CryptX): the AES envelope, gettoken, calls and the notice routes.
//
//   const app = await newApp({ name, home_url });       // POST /api/v1/admin/apps (scope all)
//   await cgiCall(app, '/msg/send', { toUser, msgType: 'text', text: { content } });
//   await cgiNotice(app, '/set.ent.notice', { account, count: 3, tip });
//   const mediaId = await cgiUpload(app, 'image', 'a.png', buffer);
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BASE, apiOk, adminToken } from './harness.mjs';

const keyOf = (b64) => {
    const k = Buffer.from(b64, 'base64');
    if (k.length !== 32) throw new Error('EncodingAESKey is not 32 bytes');
    return k;
};

// AES-256-CBC, IV = the key's first 16 bytes, random(16) | be32(len) | payload | appId, padded to 32
export function cgiEncrypt(keyB64, appId, payload) {
    const key = keyOf(keyB64);
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    let buf = Buffer.concat([randomBytes(16), len, body, Buffer.from(appId, 'utf8')]);
    const n = 32 - (buf.length % 32);
    buf = Buffer.concat([buf, Buffer.alloc(n, n)]);
    const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    c.setAutoPadding(false);
    return Buffer.concat([c.update(buf), c.final()]).toString('base64');
}

// -> {payload (string), appId}; throws on a bad padding or length
export function cgiDecrypt(keyB64, b64) {
    const key = keyOf(keyB64);
    const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    d.setAutoPadding(false);
    const p = Buffer.concat([d.update(Buffer.from(b64, 'base64')), d.final()]);
    const n = p[p.length - 1];
    if (n < 1 || n > 32) throw new Error('bad padding ' + n);
    const plain = p.subarray(0, p.length - n);
    const len = plain.readUInt32BE(16);
    if (20 + len > plain.length) throw new Error('bad length field');
    return { payload: plain.subarray(20, 20 + len).toString('utf8'), appId: plain.subarray(20 + len).toString('utf8') };
}

async function post(path, body) {
    const r = await fetch(BASE + '/cgi' + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
    return j;
}

const envelope = (app, payload) => ({ buin: 1000, appId: app.app_id,
    encrypt: cgiEncrypt(app.aes_key, app.app_id, typeof payload === 'string' ? payload : JSON.stringify(payload)) });

export async function cgiToken(app) {
    const j = await post('/gettoken', envelope(app, String(Math.floor(Date.now() / 1000))));
    if (j.errcode) throw new Error(`gettoken: ${j.errcode} ${j.errmsg}`);
    const { payload, appId } = cgiDecrypt(app.aes_key, j.encrypt);
    if (appId !== app.app_id) throw new Error('gettoken reply made for ' + appId);
    return JSON.parse(payload).accessToken;
}

// -> {errcode, errmsg, data (the decrypted reply, if any)}
export async function cgiCall(app, path, payload) {
    const tok = await cgiToken(app);
    const j = await post(path + '?accessToken=' + encodeURIComponent(tok), envelope(app, payload));
    const data = j.encrypt ? JSON.parse(cgiDecrypt(app.aes_key, j.encrypt).payload) : null;
    return { errcode: j.errcode, errmsg: j.errmsg, data };
}

// media/upload: a form with the envelope fields and the encrypted file -> mediaId
export async function cgiUpload(app, type, name, bytes) {
    const tok = await cgiToken(app);
    const form = new FormData();
    form.set('buin', '1000');
    form.set('appId', app.app_id);
    form.set('encrypt', cgiEncrypt(app.aes_key, app.app_id, JSON.stringify({ type, name })));
    form.set('file', new Blob([cgiEncrypt(app.aes_key, app.app_id, bytes)], { type: 'text/plain' }), name);
    const r = await fetch(BASE + '/cgi/media/upload?accessToken=' + encodeURIComponent(tok), { method: 'POST', body: form });
    const j = await r.json();
    if (j.errcode) throw new Error(`media/upload: ${j.errcode} ${j.errmsg}`);
    return JSON.parse(cgiDecrypt(app.aes_key, j.encrypt).payload).mediaId;
}

// set.ent.notice and popwindow: {"app_id", "msg_encrypt"}, no token
export async function cgiNotice(app, path, payload) {
    const j = await post(path, { app_id: app.app_id, msg_encrypt: cgiEncrypt(app.aes_key, app.app_id, JSON.stringify(payload)) });
    return { errcode: j.errcode, errmsg: j.errmsg };
}

// a custom app through the admin API: {id, app_id, name, aes_key, home_url, ...}
export async function newApp(fields = {}) {
    const j = await apiOk('POST', '/admin/apps', { scope: { all: true }, ...fields }, await adminToken());
    return { ...j.app, aes_key: j.aes_key, callback_token: j.callback_token };
}

// GET /cgi/identify?token= (no app, no crypto) -> the reply
export async function identify(token) {
    const r = await fetch(BASE + '/cgi/identify?token=' + encodeURIComponent(token));
    return r.json();
}
