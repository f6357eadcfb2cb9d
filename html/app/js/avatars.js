// A user's avatar: the coloured initials everybody has (dom.js avatar()),
// upgraded to the real picture when the user has one (user.has_avatar, see
// docs/api.md "Org chart: reading").  Pictures are fetched with the access
// token (GET /org/users/:id/avatar) as object URLs, at most once per user,
// size and user version: setting an avatar moves the user's version.
//
//   import { userAvatar } from './avatars.js';
//   row.append(userAvatar(user, 36));        // an element, right away
import { avatar } from './dom.js';
import { authBlobUrl, forgetBlob } from './api.js';

const seen = new Map();     // "<id>:<small|large>" -> version of the cached picture

// the picture's object URL, or null when there is none (or it cannot be loaded)
export function avatarUrl(user, size = 36) {
    if (!user || !user.has_avatar || !user.id) return Promise.resolve(null);
    const kind = size > 96 ? 'large' : 'small';
    const key = user.id + ':' + kind;
    const path = `/org/users/${user.id}/avatar?size=${kind}`;
    if (seen.has(key) && seen.get(key) !== user.version) forgetBlob(path);
    seen.set(key, user.version);
    return authBlobUrl(path);
}

// userAvatar(user, size) -> <span class="avatar"> (initials, then the picture on top once loaded)
export function userAvatar(user, size = 36) {
    const el = avatar(user, size);
    if (user && user.has_avatar) {
        el.dataset.avatarUser = user.id;
        avatarUrl(user, size).then((url) => {
            if (!url) return;
            const img = document.createElement('img');
            img.alt = '';
            img.decoding = 'async';
            img.onload = () => el.classList.add('has-picture');
            img.onerror = () => img.remove();
            img.src = url;
            el.appendChild(img);
        });
    }
    return el;
}
