// Group settings: a side drawer (full screen on phones) for multi-person chats
// and groups: name, members with roles, add / remove members, admins, my mute
// and pin, leave and dissolve.  It follows the conversation's system events
// (push:message kind 6) so every member sees changes as they happen.
import { h, fill, icon, avatar } from '../dom.js';
import { t, register } from '../i18n.js';
import { api } from '../api.js';
import { bus } from '../bus.js';
import { modal, toast, confirmDialog, menu } from '../ui.js';
import { navigate } from '../router.js';
import { session } from '../session.js';
import { org } from '../store/org.js';
import { headerActions } from '../chat-hooks.js';
import { openMemberPicker } from './picker.js';
import { convStoreOf, switchRow } from './common.js';

register({
    'zh-CN': {
        'grp.settings': '聊天信息', 'grp.group_settings': '群设置', 'grp.name': '名称', 'grp.no_name': '未命名',
        'grp.rename': '修改名称', 'grp.rename_title': '修改群名称', 'grp.members': '成员（{n}）', 'grp.add': '添加成员',
        'grp.owner': '群主', 'grp.admin': '管理员', 'grp.me': '我', 'grp.remove': '移出群聊', 'grp.make_admin': '设为管理员',
        'grp.unmake_admin': '取消管理员', 'grp.mute': '消息免打扰', 'grp.pin': '置顶聊天', 'grp.leave': '退出群聊',
        'grp.dissolve': '解散群组', 'grp.leave_q': '退出后将不再接收此聊天的消息。确定退出“{name}”吗？',
        'grp.dissolve_q': '解散后所有成员都将无法再在该群中发言。确定解散“{name}”吗？',
        'grp.remove_q': '确定将 {user} 移出“{name}”吗？', 'grp.left': '你已退出该聊天', 'grp.dissolved': '该群已解散',
        'grp.renamed': '名称已修改', 'grp.added': '已添加 {n} 位成员', 'grp.removed': '已移出 {user}',
        'grp.admin_on': '已将 {user} 设为管理员', 'grp.admin_off': '已取消 {user} 的管理员身份',
        'grp.left_done': '已退出聊天', 'grp.dissolved_done': '已解散群组', 'grp.member_actions': '{user} 的操作',
        'grp.add_title': '添加成员', 'grp.kind_group': '群组', 'grp.kind_multi': '多人聊天', 'grp.owner_note': '你是此聊天的发起人，不能退出',
        'grp.more_members': '显示更多成员', 'grp.sep': '、', 'grp.my_settings': '我的设置', 'grp.name_ph': '群名称',
    },
    en: {
        'grp.settings': 'Chat info', 'grp.group_settings': 'Group settings', 'grp.name': 'Name', 'grp.no_name': 'Unnamed',
        'grp.rename': 'Rename', 'grp.rename_title': 'Rename the group', 'grp.members': 'Members ({n})', 'grp.add': 'Add members',
        'grp.owner': 'Owner', 'grp.admin': 'Admin', 'grp.me': 'Me', 'grp.remove': 'Remove from chat', 'grp.make_admin': 'Make admin',
        'grp.unmake_admin': 'Remove as admin', 'grp.mute': 'Mute notifications', 'grp.pin': 'Pin to top', 'grp.leave': 'Leave chat',
        'grp.dissolve': 'Dissolve group', 'grp.leave_q': 'You will no longer get messages of this chat. Leave “{name}”?',
        'grp.dissolve_q': 'Nobody will be able to write in this group any more. Dissolve “{name}”?',
        'grp.remove_q': 'Remove {user} from “{name}”?', 'grp.left': 'You left this chat', 'grp.dissolved': 'This group was dissolved',
        'grp.renamed': 'Renamed', 'grp.added': '{n} added', 'grp.removed': '{user} removed',
        'grp.admin_on': '{user} is now an admin', 'grp.admin_off': '{user} is no longer an admin',
        'grp.left_done': 'You left the chat', 'grp.dissolved_done': 'The group was dissolved', 'grp.member_actions': 'Actions for {user}',
        'grp.add_title': 'Add members', 'grp.kind_group': 'Group', 'grp.kind_multi': 'Multi-person chat', 'grp.owner_note': 'You started this chat, so you cannot leave it',
        'grp.more_members': 'Show more members', 'grp.sep': ', ', 'grp.my_settings': 'My settings', 'grp.name_ph': 'Group name',
    },
});

let current = null;     // the open drawer {close, convId}

const err = (e) => toast(e.userMessage || String(e), 'error');

export function openGroupSettings(convArg, ctx) {
    if (current) current.close();
    const convId = convArg.id;
    const me = session.user && session.user.id;
    let conv = convArg;
    let members = [];
    let gone = null;        // 'left' | 'dissolved'
    let shown = 60;
    const offs = [];
    const prev = document.activeElement;

    const body = h('div.grp-body', h('p.empty', t('common.loading')));
    const titleEl = h('h2', t('grp.settings'));
    const panel = h('aside.grp-drawer', { role: 'dialog', 'aria-modal': 'true', 'aria-label': t('grp.settings'), dataset: { test: 'group-settings' } },
        h('div.grp-head', h('button.icon-btn', { type: 'button', 'aria-label': t('common.close'), title: t('common.close'), dataset: { test: 'group-settings-close' }, onclick: () => close() }, icon('close')),
            titleEl),
        body);
    const back = h('div.grp-back', { onmousedown: (e) => { if (e.target === back) close(); } }, panel);
    document.body.appendChild(back);
    requestAnimationFrame(() => back.classList.add('open'));
    panel.querySelector('button').focus();
    const onKey = (e) => { if (e.key === 'Escape' && !document.querySelector('.modal-back, .menu')) { e.stopPropagation(); close(); } };
    document.addEventListener('keydown', onKey, true);

    function close() {
        if (!back.isConnected) return;
        back.remove();
        document.removeEventListener('keydown', onKey, true);
        offs.splice(0).forEach((f) => f());
        if (current && current.convId === convId) current = null;
        if (prev && prev.focus && prev.isConnected) prev.focus();
    }
    current = { close, convId };

    const myRole = () => (conv.owner_id === me ? 2 : (members.find((m) => m.user_id === me) || {}).role ?? conv.my_role ?? 0);
    const isGroup = () => conv.kind === 'group';
    const canManage = () => !gone && (isGroup() ? myRole() >= 1 : myRole() === 2);
    // an unnamed multi-person chat is called after its first members
    const displayName = () => {
        if (conv.name) return conv.name;
        const names = members.slice(0, 3).map((m) => nameOf(m));
        return names.length ? names.join(t('grp.sep')) + (members.length > 3 ? '…' : '') : t('grp.no_name');
    };
    const nameOf = (m) => (org.user(m.user_id) || {}).name || m.name || org.name(m.user_id);

    async function load() {
        try {
            const j = await api('GET', `/conversations/${convId}`, null, { query: { limit: 500 } });
            conv = { ...conv, ...j.conversation };
            members = j.members;
            if (j.conversation.dissolved) gone = 'dissolved';
            else if (j.conversation.left) gone = 'left';
            render();
        } catch (e) {
            if (e.status === 404 || e.status === 403) { gone = gone || 'left'; render(); } else err(e);
        }
    }

    function badge(role) {
        if (role === 2) return h('span.grp-role.owner', { dataset: { test: 'role-owner' } }, t('grp.owner'));
        if (role === 1) return h('span.grp-role.admin', { dataset: { test: 'role-admin' } }, t('grp.admin'));
        return null;
    }

    function memberActions(m) {
        if (gone || m.user_id === me) return [];
        const mine = myRole();
        const out = [];
        if (isGroup() && mine === 2 && m.role !== 2) {
            out.push(m.role === 1
                ? { label: t('grp.unmake_admin'), icon: 'users', testId: 'member-unadmin', onClick: () => setAdmin(m, false) }
                : { label: t('grp.make_admin'), icon: 'users', testId: 'member-admin', onClick: () => setAdmin(m, true) });
        }
        const kickable = isGroup() ? (mine === 2 ? m.role !== 2 : mine === 1 && m.role === 0) : mine === 2;
        if (kickable) out.push({ label: t('grp.remove'), icon: 'trash', danger: true, testId: 'member-remove', onClick: () => kick(m) });
        return out;
    }

    function memberRow(m) {
        const name = nameOf(m);
        const acts = memberActions(m);
        return h('div.grp-member', { role: 'listitem', dataset: { test: 'group-member', id: m.user_id, name } },
            avatar(org.user(m.user_id) || { id: m.user_id, name }, 32),
            h('span.grow.grp-member-name', name, m.user_id === me ? h('span.muted', ' (' + t('grp.me') + ')') : null),
            badge(m.role),
            acts.length ? h('button.icon-btn', { type: 'button', 'aria-label': t('grp.member_actions', { user: name }), title: t('grp.member_actions', { user: name }),
                dataset: { test: 'member-menu' }, onclick: (e) => menu(e.currentTarget, acts) }, icon('more')) : null);
    }

    function render() {
        titleEl.textContent = isGroup() ? t('grp.group_settings') : t('grp.settings');
        const canRename = canManage();
        const mine = myRole();
        const sorted = [...members].sort((a, b) => (b.role - a.role));
        const out = [];
        if (gone) out.push(h('p.notice.grp-gone', { dataset: { test: 'group-gone' } }, t(gone === 'dissolved' ? 'grp.dissolved' : 'grp.left')));
        out.push(h('section.grp-sec',
            h('div.grp-name-row',
                avatar({ id: conv.id, name: conv.name || '#' }, 44),
                h('div.grow',
                    h('div.grp-name', { dataset: { test: 'group-name' } }, displayName()),
                    h('div.sub.muted', t(isGroup() ? 'grp.kind_group' : 'grp.kind_multi'))),
                canRename ? h('button.icon-btn', { type: 'button', title: t('grp.rename'), 'aria-label': t('grp.rename'), dataset: { test: 'group-rename' }, onclick: rename }, icon('edit')) : null)));
        out.push(h('section.grp-sec',
            h('div.grp-sec-head', h('h3', t('grp.members', { n: conv.member_count ?? members.length })),
                canManage() ? h('button.btn.btn-sm', { type: 'button', dataset: { test: 'group-add' }, onclick: add }, icon('plus'), t('grp.add')) : null),
            h('div.grp-members', { role: 'list', dataset: { test: 'group-members' } }, sorted.slice(0, shown).map(memberRow)),
            sorted.length > shown ? h('button.link-btn', { type: 'button', onclick: () => { shown += 200; render(); } }, t('grp.more_members')) : null));
        if (!gone) {
            out.push(h('section.grp-sec', h('h3', t('grp.my_settings')),
                switchRow(t('grp.mute'), !!conv.muted, (v) => settings({ muted: v }), 'group-mute'),
                switchRow(t('grp.pin'), !!conv.pinned, (v) => settings({ pinned: v }), 'group-pin')));
            const danger = [];
            if (mine !== 2) danger.push(h('button.btn.grp-danger', { type: 'button', dataset: { test: 'group-leave' }, onclick: leave }, t('grp.leave')));
            else if (!isGroup()) danger.push(h('p.muted.grp-note', t('grp.owner_note')));
            if (isGroup() && mine === 2) danger.push(h('button.btn.btn-danger', { type: 'button', dataset: { test: 'group-dissolve' }, onclick: dissolve }, t('grp.dissolve')));
            out.push(h('section.grp-sec.grp-actions', danger));
        }
        const scroll = body.scrollTop;
        fill(body, out);
        body.scrollTop = scroll;
    }

    function rename() {
        const input = h('input', { type: 'text', maxlength: 64, value: conv.name || '', placeholder: t('grp.name_ph'), dataset: { test: 'rename-input' } });
        const e2 = h('p.form-error', { role: 'alert' });
        modal({
            title: t('grp.rename_title'), testId: 'rename-dialog',
            body: h('form', { onsubmit: (e) => { e.preventDefault(); e.currentTarget.closest('.modal').querySelector('[data-test=rename-ok]').click(); } },
                h('label.field', h('span', t('grp.name')), input), e2),
            actions: [
                { label: t('common.cancel') },
                { label: t('common.save'), primary: true, testId: 'rename-ok', onClick: async () => {
                    const name = input.value.trim();
                    if (name === (conv.name || '')) return true;
                    try {
                        const j = await api('PATCH', `/conversations/${convId}`, { name });
                        conv = { ...conv, ...j.conversation };
                        render();
                        toast(t('grp.renamed'), 'success');
                        return true;
                    } catch (x) { e2.textContent = x.userMessage || String(x); return false; }
                } },
            ],
        });
    }

    function add() {
        openMemberPicker({
            title: t('grp.add_title'), exclude: members.map((m) => m.user_id), okLabel: t('grp.add'),
            onDone: async (ids) => {
                const j = await api('POST', `/conversations/${convId}/members`, { user_ids: ids });
                conv = { ...conv, ...j.conversation };
                toast(t('grp.added', { n: ids.length }), 'success');
                load();
                return true;
            },
        });
    }

    async function kick(m) {
        const user = nameOf(m);
        if (!await confirmDialog({ title: t('grp.remove'), text: t('grp.remove_q', { user, name: displayName() }), ok: t('grp.remove'), danger: true })) return;
        try {
            await api('DELETE', `/conversations/${convId}/members/${m.user_id}`);
            members = members.filter((x) => x.user_id !== m.user_id);
            conv.member_count = Math.max(0, (conv.member_count || 1) - 1);
            render();
            toast(t('grp.removed', { user }), 'success');
        } catch (e) { err(e); load(); }
    }

    async function setAdmin(m, on) {
        const user = nameOf(m);
        try {
            if (on) await api('POST', `/conversations/${convId}/admins`, { user_id: m.user_id });
            else await api('DELETE', `/conversations/${convId}/admins/${m.user_id}`);
            m.role = on ? 1 : 0;
            render();
            toast(t(on ? 'grp.admin_on' : 'grp.admin_off', { user }), 'success');
        } catch (e) { err(e); load(); }
    }

    async function settings(s) {
        try {
            const store = await convStoreOf();
            if (store && store.setSettings) await store.setSettings(convId, s);
            else await api('PUT', `/conversations/${convId}/settings`, s);
            Object.assign(conv, s);
            bus.emit('conv:settings', { conv_id: convId, ...s });
        } catch (e) { err(e); throw e; }
    }

    async function leave() {
        if (!await confirmDialog({ title: t('grp.leave'), text: t('grp.leave_q', { name: displayName() }), ok: t('grp.leave'), danger: true })) return;
        try {
            await api('DELETE', `/conversations/${convId}/members/${me}`);
            toast(t('grp.left_done'), 'success');
            close();
            navigate('#/chats');
        } catch (e) { err(e); }
    }

    async function dissolve() {
        if (!await confirmDialog({ title: t('grp.dissolve'), text: t('grp.dissolve_q', { name: displayName() }), ok: t('grp.dissolve'), danger: true })) return;
        try {
            await api('DELETE', `/conversations/${convId}`);
            toast(t('grp.dissolved_done'), 'success');
            close();
            navigate('#/chats');
        } catch (e) { err(e); }
    }

    // live: a system event of this conversation (rename, members, admins, dissolve)
    offs.push(bus.on('push:message', (ev) => {
        if (ev.conv_id !== convId || ev.kind !== 6) return;
        const b = ev.body || {};
        if (b.event === 'dissolved') { gone = 'dissolved'; render(); return; }
        if ((b.event === 'member_removed' || b.event === 'member_left') && (b.user_ids || []).includes(me)) { gone = 'left'; }
        if (b.event === 'renamed' && b.name != null) { conv.name = b.name; render(); }
        load();
    }));
    offs.push(bus.on('org:changed', () => render()));
    offs.push(bus.on('route', (r) => { if (r.section !== 'chats' || String(r.parts[0]) !== String(convId)) close(); }));
    offs.push(bus.on('app:stopped', () => close()));
    load();
    return { close };
}

headerActions.push({
    id: 'group-settings', icon: 'users', label: () => t('grp.settings'),
    when: (conv) => !!conv && (conv.kind === 'multi' || conv.kind === 'group') && !conv.dissolved,
    run: (conv, ctx) => openGroupSettings(conv, ctx),
});
