// The address book (#/contacts): the department tree on the left, the chosen
// department's sub-departments and members in the main pane, a colleague's
// card next to them (#/contacts/user/<id>), and the server-side search.
//
// Routes: #/contacts (the company root), #/contacts/dept/<id>, #/contacts/user/<id>.
// Phones show one pane at a time: the tree, then the members, then the card.
// Long member lists are virtualised (fixed row height), so 10,000 people in
// one department scroll as fast as ten.  Everything follows 'org:changed'
// (an admin's edits) and 'presence' without losing the expanded tree or the
// scroll positions.
import { h, fill, icon, debounce, throttle } from '../dom.js';
import { t, register } from '../i18n.js';
import { bus } from '../bus.js';
import { org } from '../store/org.js';
import { navigate } from '../router.js';
import { emptyState } from '../ui.js';
import { userAvatar } from '../avatars.js';
import { renderPerson } from './person.js';

register({
    'zh-CN': {
        'contacts.title': '通讯录', 'contacts.search': '搜索姓名、拼音、账号或手机号',
        'contacts.search_label': '搜索同事', 'contacts.no_results': '没有找到“{q}”',
        'contacts.more': '更多结果', 'contacts.results': '{n} 位同事', 'contacts.searching': '正在搜索…',
        'contacts.search_failed': '搜索失败：{msg}',
        'contacts.people': '{n} 人', 'contacts.empty_dept': '该部门暂无成员',
        'contacts.sub_depts': '下级部门', 'contacts.members': '成员',
        'contacts.pick': '选择一位同事查看资料', 'contacts.expand': '展开', 'contacts.collapse': '收起',
        'contacts.loading': '正在加载通讯录…', 'contacts.load_failed': '通讯录加载失败', 'contacts.dept_gone': '该部门已被删除',
        'contacts.match.pinyin': '拼音', 'contacts.match.account': '账号', 'contacts.match.mobile': '手机',
    },
    en: {
        'contacts.title': 'Contacts', 'contacts.search': 'Search name, pinyin, account…',
        'contacts.search_label': 'Search colleagues', 'contacts.no_results': 'Nobody matches “{q}”',
        'contacts.more': 'More results', 'contacts.results': '{n} colleagues', 'contacts.searching': 'Searching…',
        'contacts.search_failed': 'Search failed: {msg}',
        'contacts.people': '{n} people', 'contacts.empty_dept': 'No members in this department',
        'contacts.sub_depts': 'Departments', 'contacts.members': 'Members',
        'contacts.pick': 'Choose a colleague to see their profile', 'contacts.expand': 'Expand', 'contacts.collapse': 'Collapse',
        'contacts.loading': 'Loading the address book…', 'contacts.load_failed': 'The address book could not be loaded', 'contacts.dept_gone': 'This department was deleted',
        'contacts.match.pinyin': 'Pinyin', 'contacts.match.account': 'Account', 'contacts.match.mobile': 'Mobile',
    },
});

const ROW = 60;                 // member row height (px), matches .ct-row in contacts.css
const OVERSCAN = 8;
const PAGE = 30;                // search page size
const WATCH_MAX = 1000;         // presence_sub limit

const collator = new Intl.Collator('zh-CN');
const bySort = (a, b) => (a.sort_id - b.sort_id) || collator.compare(a.name, b.name) || (a.id - b.id);

// children, members and head counts of every department, rebuilt on each org change
function buildIndex() {
    const kids = new Map(), members = new Map(), count = new Map();
    for (const d of org.allDepts()) {
        if (d.parent_id == null) continue;
        if (!kids.has(d.parent_id)) kids.set(d.parent_id, []);
        kids.get(d.parent_id).push(d);
    }
    for (const list of kids.values()) list.sort(bySort);
    for (const u of org.allUsers()) {
        const seen = new Set();
        for (const m of u.departments || []) {
            if (!members.has(m.dept_id)) members.set(m.dept_id, []);
            members.get(m.dept_id).push([u, m]);
            // everybody counts once in every department above him
            for (let d = org.dept(m.dept_id), n = 0; d && n < 64; d = org.dept(d.parent_id), n++) {
                if (seen.has(d.id)) break;
                seen.add(d.id);
                count.set(d.id, (count.get(d.id) || 0) + 1);
            }
        }
    }
    for (const [id, list] of members) {
        list.sort((a, b) => (b[1].weight - a[1].weight) || (a[1].sort_id - b[1].sort_id)
            || collator.compare(a[0].name, b[0].name) || (a[0].id - b[0].id));
        members.set(id, list.map(([u, m]) => ({ user: u, position: m.position })));
    }
    return { kids: (id) => kids.get(id) || [], members: (id) => members.get(id) || [], count: (id) => count.get(id) || 0 };
}

function ancestors(id) {
    const out = [];
    for (let d = org.dept(id), n = 0; d && n < 64; d = org.dept(d.parent_id), n++) out.unshift(d);
    return out;
}

// the part of `text` that matched `q`, wrapped in <mark>
function highlight(text, from, len) {
    if (from < 0 || !len) return [text];
    return [text.slice(0, from), h('mark', text.slice(from, from + len)), text.slice(from + len)];
}

// how a search result matched, for the highlight (the server says only that it did)
function matchOf(u, q) {
    const ql = q.toLowerCase();
    const name = u.name || '';
    const i = name.toLowerCase().indexOf(ql);
    if (i >= 0) return { name: highlight(name, i, q.length) };
    const ini = (u.name_initials || '').toLowerCase();
    const chars = [...name];
    if (ini.startsWith(ql) && chars.length === ini.length) {
        return { name: [h('mark', chars.slice(0, ql.length).join('')), chars.slice(ql.length).join('')] };
    }
    const py = (u.name_pinyin || '').toLowerCase();
    if (py.startsWith(ql)) return { name: [name], hint: [t('contacts.match.pinyin') + ' ', ...highlight(u.name_pinyin, 0, q.length)] };
    if ((u.account || '').toLowerCase().startsWith(ql)) return { name: [name], hint: [t('contacts.match.account') + ' ', ...highlight(u.account, 0, q.length)] };
    if (u.mobile && u.mobile !== '***' && u.mobile.replace(/[-+]/g, '').includes(q.replace(/[-+]/g, ''))) {
        return { name: [name], hint: [t('contacts.match.mobile') + ' ' + u.mobile] };
    }
    return { name: [name] };
}

// the avatar with the presence dot in its corner
function avatarWithDot(u, size) {
    const online = org.presence(u.id).online;
    return h('span.ct-av', userAvatar(u, size),
        h('span.dot', { class: online ? 'online' : '', dataset: { presence: u.id, test: 'dot' } }));
}

// a fixed-row-height virtual list inside a scrolling element
function virtualList(scroller, renderRow, onWindow) {
    const inner = h('div.ct-vlist');
    scroller.appendChild(inner);
    let items = [], cache = new Map(), shown = [];
    const keyOf = (it) => it.key;
    function draw() {
        const top = scroller.scrollTop - inner.offsetTop;
        const height = scroller.clientHeight || 800;
        const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
        const last = Math.min(items.length, Math.ceil((top + height) / ROW) + OVERSCAN);
        const keep = new Set();
        const frag = [];
        for (let i = first; i < last; i++) {
            const it = items[i];
            const k = keyOf(it);
            let el = cache.get(k);
            if (!el) { el = renderRow(it); cache.set(k, el); }
            el.style.top = (i * ROW) + 'px';
            keep.add(el);
            frag.push(el);
        }
        for (const el of shown) if (!keep.has(el)) el.remove();
        for (const el of frag) if (el.parentNode !== inner) inner.appendChild(el);
        shown = frag;
        onWindow?.(items.slice(first, last));
    }
    let raf = 0;
    const schedule = () => { if (!raf) raf = requestAnimationFrame(() => { raf = 0; draw(); }); };
    scroller.addEventListener('scroll', schedule, { passive: true });
    const ro = new ResizeObserver(schedule);
    ro.observe(scroller);
    return {
        // new items; rows are re-rendered, the scroll position stays
        set(list) {
            items = list;
            cache = new Map();
            for (const el of shown) el.remove();
            shown = [];
            inner.style.height = (items.length * ROW) + 'px';
            draw();
        },
        redraw() { cache = new Map(); for (const el of shown) el.remove(); shown = []; draw(); },
        scrollTo(i) {
            const y = inner.offsetTop + i * ROW;
            if (y < scroller.scrollTop || y + ROW > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y - scroller.clientHeight / 2;
        },
        get items() { return items; },
        destroy() { ro.disconnect(); cancelAnimationFrame(raf); },
    };
}

export function mount(el, route) {
    const offs = [];
    let idx = null;
    const expanded = new Set([0]);
    let dept = 0;               // the department shown in the main pane
    let userId = null;          // the open card
    let deptChosen = false;     // the department was picked (not guessed from the card's user)
    let q = '', results = [], total = 0, active = -1, searchTicket = 0, searchError = null, searching = false;
    let visibleMembers = [], person = null, destroyed = false;
    const wide = matchMedia('(min-width: 721px)');

    // ---- the list pane: title, search, tree or results
    const input = h('input', { type: 'search', placeholder: t('contacts.search'), 'aria-label': t('contacts.search_label'),
        autocomplete: 'off', spellcheck: 'false', dataset: { test: 'contacts-search' } });
    const treeBody = h('div.pane-body.ct-tree', { role: 'tree', 'aria-label': t('contacts.title'), dataset: { test: 'dept-tree' } });
    const resultBody = h('div.pane-body.ct-results', { hidden: true, role: 'listbox', dataset: { test: 'search-results' } });
    const listPane = h('div.pane-list.ct-list',
        h('div.pane-head', h('h2', t('contacts.title'))),
        h('div.search-box', icon('search'), input),
        treeBody, resultBody);

    // ---- the main pane: members of the department | the card
    const crumbs = h('nav.ct-crumbs', { 'aria-label': 'breadcrumb', dataset: { test: 'crumbs' } });
    const headCount = h('span.ct-head-count');
    const membersBody = h('div.pane-body.ct-members', { dataset: { test: 'members' } });
    const membersCol = h('div.ct-col.ct-members-col',
        h('div.pane-head',
            h('button.back.icon-btn', { type: 'button', 'aria-label': t('common.back'), title: t('common.back'),
                dataset: { test: 'members-back' }, onclick: () => navigate('#/contacts') }, icon('back')),
            crumbs, headCount),
        membersBody);
    const personCol = h('div.ct-col.ct-person-col');
    const main = h('div.pane-main.ct-main', membersCol, personCol);
    fill(el, listPane, main);
    el.classList.add('ct-section');

    // ---- presence: the rows on screen, the results, the card
    const watch = throttle(() => {
        if (destroyed) return;
        const ids = new Set();
        for (const it of visibleMembers) if (it.user) ids.add(it.user.id);
        if (q) for (const u of results) ids.add(u.id);
        org.watchPresence('contacts', [...ids].slice(0, WATCH_MAX));
    }, 250);
    offs.push(bus.on('presence', (ev) => {
        for (const d of el.querySelectorAll(`[data-presence="${ev.user_id}"]`)) d.classList.toggle('online', !!ev.online);
    }));

    // ---- the tree
    function treeNode(d, depth) {
        const kids = idx.kids(d.id);
        const open = expanded.has(d.id);
        // on phones the root list shows no department yet: nothing is selected there
        const selected = d.id === dept && !q && (deptChosen || userId != null || wide.matches);
        const toggle = kids.length ? h('button.ct-toggle', {
            type: 'button', 'aria-label': t(open ? 'contacts.collapse' : 'contacts.expand'),
            dataset: { test: 'dept-toggle-' + d.id },
            onclick: (e) => { e.stopPropagation(); e.preventDefault(); if (open) expanded.delete(d.id); else expanded.add(d.id); drawTree(); },
        }, icon('chevron')) : h('span.ct-toggle.none');
        const link = h('a.ct-node-link', {
            href: '#/contacts/dept/' + d.id, 'aria-current': selected ? 'page' : null,
            onclick: (e) => {
                if (kids.length && !open) expanded.add(d.id);
                // the department already shown: the hash does not change, redraw here
                if (d.id === dept && deptChosen && userId == null) { e.preventDefault(); drawTree(); }
            },
        }, h('span.ct-node-icon', icon(d.id === 0 ? 'users' : 'folder')),
        h('span.ct-node-name', d.name),
        h('span.ct-node-count', String(idx.count(d.id))));
        const row = h('div.ct-node', {
            role: 'treeitem', 'aria-expanded': kids.length ? String(open) : null, 'aria-selected': String(selected),
            class: (selected ? 'active' : '') + (open ? ' open' : ''),
            dataset: { test: 'dept-' + d.id, dept: d.id },
            // the row's padding selects too
            onclick: (e) => { if (e.target === row) link.click(); },
        }, toggle, link);
        row.style.paddingLeft = (8 + depth * 18) + 'px';
        if (!open || !kids.length) return row;
        return [row, h('div', { role: 'group' }, kids.map((k) => treeNode(k, depth + 1)))];
    }
    function drawTree() {
        const root = org.dept(0);
        const scroll = treeBody.scrollTop;
        fill(treeBody, root ? treeNode(root, 0) : emptyState(t('contacts.load_failed'), {
            label: t('common.retry'), onClick: () => org.load().catch(() => {}) }));
        treeBody.scrollTop = scroll;
    }

    // keyboard: up/down move, right opens (then goes in), left closes (then goes up), Enter follows
    function focusDept(id) { treeBody.querySelector(`.ct-node[data-dept="${id}"] .ct-node-link`)?.focus(); }
    treeBody.addEventListener('keydown', (e) => {
        const link = e.target.closest && e.target.closest('.ct-node-link');
        if (!link || !['ArrowDown', 'ArrowUp', 'ArrowRight', 'ArrowLeft'].includes(e.key)) return;
        e.preventDefault();
        const links = [...treeBody.querySelectorAll('.ct-node-link')];
        const i = links.indexOf(link);
        const id = Number(link.parentNode.dataset.dept);
        const hasKids = idx.kids(id).length > 0;
        if (e.key === 'ArrowDown') links[i + 1]?.focus();
        else if (e.key === 'ArrowUp') links[i - 1]?.focus();
        else if (e.key === 'ArrowRight') {
            if (hasKids && !expanded.has(id)) { expanded.add(id); drawTree(); focusDept(id); } else if (hasKids) links[i + 1]?.focus();
        } else if (expanded.has(id) && hasKids) { expanded.delete(id); drawTree(); focusDept(id); }
        else { const d = org.dept(id); if (d && d.parent_id != null) focusDept(d.parent_id); }
    });

    // ---- the members pane
    function memberRow(it) {
        if (it.dept) {
            const d = it.dept;
            return h('a.ct-row.ct-row-dept', { href: '#/contacts/dept/' + d.id, dataset: { test: 'subdept-' + d.id } },
                h('span.ct-folder', icon('folder')),
                h('div.grow', h('div.title', d.name), h('div.sub', t('contacts.people', { n: idx.count(d.id) }))),
                icon('chevron', 'ct-chev'));
        }
        if (it.header) return h('div.ct-row.ct-row-header', it.header);
        const u = it.user;
        return h('a.ct-row', { href: '#/contacts/user/' + u.id, class: u.id === userId ? 'active' : '',
            dataset: { test: 'member-' + u.id, user: u.id } },
            avatarWithDot(u, 40),
            h('div.grow', h('div.title', u.name),
                h('div.sub', [it.position, u.title && u.title !== '***' ? u.title : ''].filter(Boolean).filter((x, i, a) => a.indexOf(x) === i).join(' · ') || u.account)));
    }
    const vlist = virtualList(membersBody, memberRow, (win) => { visibleMembers = win; watch(); });

    function drawMembers() {
        const d = org.dept(dept);
        fill(crumbs, ancestors(dept).map((a, i, all) => i === all.length - 1
            ? h('span.ct-crumb.current', { 'aria-current': 'page' }, a.name)
            : [h('a.ct-crumb', { href: '#/contacts/dept/' + a.id }, a.name), h('span.ct-crumb-sep', '/')]));
        if (!d) { headCount.textContent = ''; vlist.set([]); showEmpty(t('contacts.dept_gone')); return; }
        headCount.textContent = t('contacts.people', { n: idx.count(dept) });
        const kids = idx.kids(dept), mem = idx.members(dept);
        const items = [];
        if (kids.length) items.push({ key: 'h:d', header: t('contacts.sub_depts') });
        for (const k of kids) items.push({ key: 'd' + k.id, dept: k });
        if (kids.length && mem.length) items.push({ key: 'h:m', header: t('contacts.members') });
        for (const m of mem) items.push({ key: 'u' + m.user.id, user: m.user, position: m.position });
        vlist.set(items);
        showEmpty(items.length ? null : t('contacts.empty_dept'));
    }
    let emptyEl = null;
    function showEmpty(text) {
        emptyEl?.remove();
        emptyEl = text ? emptyState(text) : null;
        if (emptyEl) membersBody.appendChild(emptyEl);
    }

    // ---- the card
    function drawPerson() {
        main.classList.toggle('has-person', userId != null);
        if (userId == null) {
            person?.destroy(); person = null;
            fill(personCol, h('div.placeholder.ct-pick', icon('contacts', 'ct-pick-icon'), t('contacts.pick')));
            return;
        }
        if (person) person.show(userId);
        else person = renderPerson(personCol, userId, { owner: 'contacts-person',
            onBack: () => navigate(deptChosen ? '#/contacts/dept/' + dept : '#/contacts') });
    }

    // ---- search
    function drawResults() {
        if (!q) { resultBody.hidden = true; treeBody.hidden = false; return; }
        treeBody.hidden = true; resultBody.hidden = false;
        const rows = results.map((r, i) => {
            const u = org.user(r.id) || r;
            const m = matchOf(u, q);
            const first = (u.departments || [])[0];
            const path = first ? org.path(first.dept_id) : '';
            return h('a.list-item.ct-result', {
                href: '#/contacts/user/' + u.id, role: 'option', id: 'ct-res-' + i, 'aria-selected': String(i === active),
                class: i === active ? 'active' : '', dataset: { test: 'result-' + u.id, user: u.id },
                onmousemove: () => { if (active !== i) { active = i; markActive(); } },
            }, avatarWithDot(u, 36),
            h('div.grow', h('div.title', m.name),
                h('div.sub', m.hint ? [h('span.ct-hint', m.hint), path ? ' · ' + path : ''] : path || u.account)));
        });
        const top = results.length ? h('div.ct-status', { dataset: { test: 'results-count' } }, t('contacts.results', { n: total })) : null;
        let bottom = null;
        if (searchError) bottom = h('div.ct-status.error', t('contacts.search_failed', { msg: searchError }));
        else if (searching && !results.length) bottom = h('div.ct-status', t('contacts.searching'));
        else if (!results.length) bottom = emptyState(t('contacts.no_results', { q }));
        else if (results.length < total) {
            bottom = h('div.ct-more-wrap', h('button.btn.btn-sm', { type: 'button', disabled: searching, dataset: { test: 'search-more' },
                onclick: () => runSearch(results.length) }, searching ? t('contacts.searching') : t('contacts.more')));
        }
        fill(resultBody, top, rows, bottom);
        input.setAttribute('aria-activedescendant', active >= 0 ? 'ct-res-' + active : '');
        watch();
    }
    function markActive() {
        resultBody.querySelectorAll('.ct-result').forEach((r, i) => {
            r.classList.toggle('active', i === active);
            r.setAttribute('aria-selected', String(i === active));
        });
        input.setAttribute('aria-activedescendant', active >= 0 ? 'ct-res-' + active : '');
        resultBody.querySelectorAll('.ct-result')[active]?.scrollIntoView({ block: 'nearest' });
    }
    async function runSearch(offset = 0) {
        const mine = ++searchTicket;
        const query = q;
        searching = true; searchError = null;
        if (offset === 0) { results = []; total = 0; active = -1; }
        drawResults();
        try {
            const j = await org.search(query, { limit: PAGE, offset });
            if (mine !== searchTicket || destroyed) return;
            const have = new Set(results.map((u) => u.id));
            results = results.concat(j.users.filter((u) => !have.has(u.id)));
            total = j.total;
            if (active < 0 && results.length) active = 0;
        } catch (e) {
            if (mine !== searchTicket) return;
            searchError = e.userMessage || String(e);
        } finally {
            if (mine === searchTicket) { searching = false; drawResults(); }
        }
    }
    const searchSoon = debounce(() => { if (q) runSearch(0); }, 250);
    input.addEventListener('input', () => {
        const v = input.value.trim().slice(0, 64);
        if (v === q) return;
        q = v;
        searchTicket++;
        if (!q) { results = []; searching = false; drawResults(); drawTree(); watch(); return; }
        searching = true; results = []; searchError = null; drawResults();
        searchSoon();
    });
    input.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && q) { e.preventDefault(); input.value = ''; input.dispatchEvent(new Event('input')); return; }
        if (!q || !results.length) return;
        if (e.key === 'ArrowDown') { e.preventDefault(); active = Math.min(results.length - 1, active + 1); markActive(); }
        else if (e.key === 'ArrowUp') { e.preventDefault(); active = Math.max(0, active - 1); markActive(); }
        else if (e.key === 'Enter' && active >= 0) { e.preventDefault(); navigate('#/contacts/user/' + results[active].id); }
    });

    // ---- routes
    function apply(r) {
        const [kind, raw] = r.parts;
        const id = raw != null && /^\d+$/.test(raw) ? Number(raw) : null;
        if (kind === 'user' && id != null) {
            userId = id;
            // opened from a search or a link: show where the person sits
            const u = org.user(id);
            const mine = (u && u.departments) || [];
            if (!mine.some((m) => m.dept_id === dept)) {
                const first = mine.find((m) => org.dept(m.dept_id));
                if (first) dept = first.dept_id;
            }
        } else if (kind === 'dept' && id != null) {
            userId = null; dept = id; deptChosen = true;
        } else {
            userId = null; dept = 0; deptChosen = false;
        }
        for (const a of ancestors(dept).slice(0, -1)) expanded.add(a.id);
        if (!idx) return;
        drawTree();
        drawMembers();
        drawPerson();
        // keep the chosen department in view in the tree
        treeBody.querySelector('.ct-node.active')?.scrollIntoView({ block: 'nearest' });
        if (userId != null) {
            const i = vlist.items.findIndex((it) => it.user && it.user.id === userId);
            if (i >= 0) vlist.scrollTo(i);
        }
    }

    // ---- live refresh: admins' edits re-render what is shown, nothing else moves
    let pending = false;
    const refresh = () => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
            pending = false;
            if (destroyed) return;
            idx = buildIndex();
            if (!org.dept(dept)) dept = 0;
            drawTree();
            drawMembers();
            if (q) drawResults();
        });
    };
    offs.push(bus.on('org:changed', refresh), bus.on('org:ready', refresh));

    fill(treeBody, h('div.ct-status', t('contacts.loading')));
    apply(route);
    org.ready.then(() => {
        if (destroyed) return;
        idx = buildIndex();
        apply(route);
    });

    return {
        update(r) { route = r; apply(r); },
        unmount() {
            destroyed = true;
            offs.forEach((f) => f());
            vlist.destroy();
            person?.destroy();
            org.watchPresence('contacts', []);
        },
    };
}
