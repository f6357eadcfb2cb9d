// Hash routes: #/chats, #/chats/12, #/contacts/user/5, #/apps, #/settings/devices.
import { bus } from './bus.js';

export function current() {
    const raw = location.hash.replace(/^#\/?/, '');
    const [path, qs] = raw.split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    return { section: parts[0] || 'chats', parts: parts.slice(1), query: new URLSearchParams(qs || '') };
}

export function navigate(hash, { replace = false } = {}) {
    if (!hash.startsWith('#')) hash = '#/' + hash.replace(/^\//, '');
    if (location.hash === hash) { bus.emit('route', current()); return; }
    if (replace) { history.replaceState(null, '', hash); bus.emit('route', current()); }
    else location.hash = hash;
}

window.addEventListener('hashchange', () => bus.emit('route', current()));
