// Tiny DOM helpers: the web client has no build step and no framework, so
// views are plain functions that build elements with h() and re-render the
// parts that change.

// h('div.card#main', {onclick, class, style, dataset, ...attrs}, children...)
export function h(spec, props, ...children) {
    if (props == null || typeof props !== 'object' || props instanceof Node || Array.isArray(props)) {
        if (props != null) children.unshift(props);
        props = {};
    }
    const m = /^([a-z0-9-]*)((?:[.#][\w-]+)*)$/i.exec(spec) || [null, spec, ''];
    const el = document.createElement(m[1] || 'div');
    for (const part of m[2].match(/[.#][\w-]+/g) || []) {
        if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
    }
    for (const [k, v] of Object.entries(props)) {
        if (v == null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
        else if (k === 'class') String(v).split(/\s+/).filter(Boolean).forEach((c) => el.classList.add(c));
        else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') el[k] = v;
        else if (k === 'html') throw new Error('h(): raw HTML is not allowed'); // XSS guard
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

export function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c == null || c === false) continue;
        el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
}

// replaces every child of el
export function fill(el, ...children) {
    el.replaceChildren();
    return append(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// an inline SVG icon from the sprite in index.html (<symbol id="i-name">)
export function icon(name, cls = '') {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', ('icon ' + cls).trim());
    svg.setAttribute('aria-hidden', 'true');
    const use = document.createElementNS(ns, 'use');
    use.setAttribute('href', '#i-' + name);
    svg.appendChild(use);
    return svg;
}

// coloured initials, the avatar everybody has (like the desktop clients)
const PALETTE = ['#3b7bf6', '#12a37f', '#f59f00', '#e8590c', '#7048e8', '#0c8599', '#d6336c', '#5c940d'];
export function avatar(user, size = 36) {
    const name = (user && user.name) || '?';
    const id = (user && user.id) || 0;
    const text = /^[\u4e00-\u9fff]/.test(name) ? name.slice(-2) : name.trim().slice(0, 2).toUpperCase();
    return h('span.avatar', {
        style: { width: size + 'px', height: size + 'px', fontSize: Math.round(size * 0.38) + 'px',
                 background: PALETTE[id % PALETTE.length] },
        title: name, 'aria-hidden': 'true',
    }, text);
}

// runs fn at most once every `ms`, the last call of a burst included
export function throttle(fn, ms) {
    let last = 0, timer = null, args = null;
    return (...a) => {
        args = a;
        const now = Date.now();
        if (now - last >= ms) { last = now; fn(...args); return; }
        clearTimeout(timer);
        timer = setTimeout(() => { last = Date.now(); fn(...args); }, ms - (now - last));
    };
}

export function debounce(fn, ms) {
    let timer = null;
    return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); };
}
