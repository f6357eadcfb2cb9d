// placeholder section; the real one replaces this file
import { h, fill } from '../dom.js';
export function mount(el) { fill(el, h('div.placeholder', h('img', { src: 'img/logo.svg', alt: '' }), 'contacts')); return {}; }
