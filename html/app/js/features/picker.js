// The member picker: browse the department tree or search by name / pinyin /
// initials (the server's search), tick people, see them as chips.
//   openMemberPicker({title, exclude: [ids], selected: [ids], okLabel, min, max,
//                     nameField: {label, placeholder, required, value},
//                     onDone(ids, {name}) -> false keeps the dialog open})
import { h, fill, icon, avatar, debounce } from '../dom.js';
import { t, register } from '../i18n.js';
import { modal, toast } from '../ui.js';
import { org } from '../store/org.js';

register({
    'zh-CN': {
        'pick.title': '选择成员', 'pick.search': '搜索姓名、拼音或账号', 'pick.selected': '已选 {n} 人',
        'pick.none_selected': '还没有选择成员', 'pick.ok': '确定', 'pick.ok_n': '确定（{n}）', 'pick.no_result': '没有找到“{q}”',
        'pick.empty_dept': '该部门没有其他成员', 'pick.root': '通讯录', 'pick.remove': '移除 {name}', 'pick.already': '已在群中',
        'pick.min': '请至少选择 {n} 人', 'pick.max': '最多选择 {n} 人', 'pick.name_required': '请填写名称',
        'pick.select_all': '全选本部门', 'pick.loading': '正在加载通讯录…', 'pick.members_n': '{n} 人',
    },
    en: {
        'pick.title': 'Choose people', 'pick.search': 'Search name, pinyin or account', 'pick.selected': '{n} selected',
        'pick.none_selected': 'Nobody selected yet', 'pick.ok': 'OK', 'pick.ok_n': 'OK ({n})', 'pick.no_result': 'Nobody matches “{q}”',
        'pick.empty_dept': 'Nobody else in this department', 'pick.root': 'Directory', 'pick.remove': 'Remove {name}', 'pick.already': 'Already a member',
        'pick.min': 'Choose at least {n}', 'pick.max': 'Choose at most {n}', 'pick.name_required': 'Enter a name',
        'pick.select_all': 'Select the whole department', 'pick.loading': 'Loading the directory…', 'pick.members_n': '{n} people',
    },
});

export function openMemberPicker({ title, exclude = [], selected = [], okLabel, min = 1, max = 500, nameField, onDone } = {}) {
    const excluded = new Set(exclude);
    const chosen = new Map();             // id -> user, in the order picked
    for (const id of selected) if (!excluded.has(id)) chosen.set(id, org.user(id) || { id, name: org.name(id) });
    let deptId = null;                    // null: the root level
    let query = '';
    let ticket = 0;

    const search = h('input', { type: 'search', placeholder: t('pick.search'), 'aria-label': t('pick.search'), dataset: { test: 'picker-search' } });
    const crumbs = h('nav.pick-crumbs', { 'aria-label': t('pick.root') });
    const list = h('div.pick-list', { role: 'list', dataset: { test: 'picker-list' } });
    const chips = h('div.pick-chips', { dataset: { test: 'picker-chips' } });
    const countEl = h('div.pick-count', { dataset: { test: 'picker-count' } });
    const err = h('p.form-error', { role: 'alert' });
    const nameInput = nameField ? h('input', { type: 'text', maxlength: 64, value: nameField.value || '', placeholder: nameField.placeholder || '',
        dataset: { test: 'picker-name' } }) : null;
    const body = h('div.pick',
        nameInput ? h('label.field.pick-name', h('span', nameField.label), nameInput) : null,
        h('div.pick-cols',
            h('div.pick-left', h('div.pick-search', icon('search'), search), crumbs, list),
            h('div.pick-right', countEl, chips)),
        err);

    let okBtn = null;
    const dlg = modal({
        title: title || t('pick.title'), body, wide: true, testId: 'member-picker',
        actions: [
            { label: t('common.cancel') },
            { label: okLabel || t('pick.ok'), primary: true, testId: 'picker-ok', onClick: async () => {
                err.textContent = '';
                const ids = [...chosen.keys()];
                if (ids.length < min) { err.textContent = t('pick.min', { n: min }); return false; }
                if (ids.length > max) { err.textContent = t('pick.max', { n: max }); return false; }
                const name = nameInput ? nameInput.value.trim() : '';
                if (nameField && nameField.required && !name) { err.textContent = t('pick.name_required'); nameInput.focus(); return false; }
                try {
                    return onDone ? await onDone(ids, { name }) : true;
                } catch (e) {
                    err.textContent = e.userMessage || String(e);
                    return false;
                }
            } },
        ],
    });
    okBtn = dlg.el.querySelector('[data-test=picker-ok]');
    const baseOk = okLabel || t('pick.ok');

    function renderChosen() {
        const n = chosen.size;
        countEl.textContent = n ? t('pick.selected', { n }) : t('pick.none_selected');
        fill(chips, [...chosen.values()].map((u) => h('span.pick-chip', { dataset: { test: 'picker-chip', id: u.id } },
            avatar(u, 20), h('span', u.name),
            h('button.pick-chip-x', { type: 'button', 'aria-label': t('pick.remove', { name: u.name }),
                onclick: () => { chosen.delete(u.id); renderChosen(); renderList(); } }, icon('close')))));
        if (okBtn) okBtn.textContent = n && !okLabel ? t('pick.ok_n', { n }) : baseOk;
    }

    function personRow(u) {
        const dis = excluded.has(u.id);
        const box = h('input', { type: 'checkbox', checked: dis || chosen.has(u.id), disabled: dis, tabindex: -1, 'aria-hidden': 'true' });
        const dept = (u.departments || [])[0];
        return h('button.pick-row', {
            type: 'button', role: 'listitem', disabled: dis, class: chosen.has(u.id) ? 'on' : '',
            'aria-pressed': String(chosen.has(u.id)), dataset: { test: 'picker-user', id: u.id, name: u.name },
            onclick: () => {
                if (chosen.has(u.id)) chosen.delete(u.id); else chosen.set(u.id, u);
                renderChosen(); renderList();
            },
        }, box, avatar(u, 32),
        h('span.grow', h('span.title', u.name),
            h('span.sub', dis ? t('pick.already') : (u.position || u.title || (query && dept ? org.path(dept.dept_id) : '') || u.account || ''))));
    }

    function deptRow(d) {
        return h('button.pick-row.pick-dept', { type: 'button', role: 'listitem', dataset: { test: 'picker-dept', id: d.id },
            onclick: () => { deptId = d.id; renderList(); } },
        h('span.pick-dept-icon', icon('folder')), h('span.grow', h('span.title', d.name)), icon('chevron'));
    }

    function renderCrumbs() {
        const path = [];
        for (let d = deptId != null ? org.dept(deptId) : null, n = 0; d && n < 64; d = org.dept(d.parent_id), n++) path.unshift(d);
        crumbs.hidden = !!query;
        fill(crumbs, h('button.link-btn', { type: 'button', onclick: () => { deptId = null; renderList(); } }, t('pick.root')),
            path.map((d) => [h('span.pick-sep', '/'), h('button.link-btn', { type: 'button', onclick: () => { deptId = d.id; renderList(); } }, d.name)]));
    }

    async function renderList() {
        renderCrumbs();
        const my = ++ticket;
        if (query) {
            let users;
            try { users = (await org.search(query, { limit: 50 })).users; } catch (e) { if (my === ticket) fill(list, h('p.empty', e.userMessage || String(e))); return; }
            if (my !== ticket) return;
            users = users.map((u) => org.user(u.id) || u).filter((u) => u.enable_state !== -1);
            fill(list, users.length ? users.map(personRow) : h('p.empty', t('pick.no_result', { q: query })));
            return;
        }
        // the root level: the top departments (and the people right at the root)
        let depts, people;
        if (deptId == null) {
            const roots = [...new Set([...(org.children(null) || []), ...(org.dept(0) ? [org.dept(0)] : [])])];
            if (roots.length === 1) { deptId = roots[0].id; return renderList(); }
            depts = roots; people = [];
        } else {
            depts = org.children(deptId);
            people = org.members(deptId).filter((u) => u.enable_state !== -1);
        }
        const selectable = people.filter((u) => !excluded.has(u.id));
        const all = selectable.length > 1 ? h('button.link-btn.pick-all', { type: 'button', dataset: { test: 'picker-all' }, onclick: () => {
            const every = selectable.every((u) => chosen.has(u.id));
            for (const u of selectable) { if (every) chosen.delete(u.id); else chosen.set(u.id, u); }
            renderChosen(); renderList();
        } }, t('pick.select_all')) : null;
        fill(list, depts.map(deptRow), all, people.map(personRow),
            !depts.length && !people.length ? h('p.empty', t('pick.empty_dept')) : null);
    }

    search.addEventListener('input', debounce(() => { query = search.value.trim(); renderList(); }, 200));
    search.addEventListener('keydown', (e) => {
        // Enter picks the first result
        if (e.key === 'Enter') { e.preventDefault(); list.querySelector('.pick-row:not([disabled]):not(.pick-dept)')?.click(); }
    });
    renderChosen();
    fill(list, h('p.empty', t('pick.loading')));
    org.ready.then(() => renderList()).catch((e) => toast(e.userMessage || String(e), 'error'));
    setTimeout(() => (nameInput || search).focus(), 0);
    return dlg;
}
