// "+" in the conversation list: a new multi-person chat or a new group, with
// the member picker; then straight into the new conversation.
import { t, register } from '../i18n.js';
import { api } from '../api.js';
import { menu, toast } from '../ui.js';
import { navigate } from '../router.js';
import { session } from '../session.js';
import { listActions } from '../chat-hooks.js';
import { openMemberPicker } from './picker.js';
import { convStoreOf } from './common.js';

register({
    'zh-CN': {
        'newchat.new': '发起聊天', 'newchat.multi': '发起多人聊天', 'newchat.group': '创建群组',
        'newchat.multi_title': '发起多人聊天', 'newchat.group_title': '创建群组', 'newchat.group_name': '群名称',
        'newchat.group_name_ph': '例如：项目组', 'newchat.multi_name': '聊天名称（可选）', 'newchat.create': '创建',
        'newchat.start': '开始聊天',
    },
    en: {
        'newchat.new': 'New chat', 'newchat.multi': 'New multi-person chat', 'newchat.group': 'New group',
        'newchat.multi_title': 'New multi-person chat', 'newchat.group_title': 'New group', 'newchat.group_name': 'Group name',
        'newchat.group_name_ph': 'e.g. Project team', 'newchat.multi_name': 'Chat name (optional)', 'newchat.create': 'Create',
        'newchat.start': 'Start chat',
    },
});

async function opened(conv) {
    // the list learns of it from the creation event; fetch it so the view has it at once
    const store = await convStoreOf();
    if (store && store.fetch) await store.fetch(conv.id).catch(() => {});
    navigate('#/chats/' + conv.id);
}

export function newConversation(kind) {
    const me = session.user && session.user.id;
    const group = kind === 'group';
    openMemberPicker({
        title: t(group ? 'newchat.group_title' : 'newchat.multi_title'),
        exclude: me ? [me] : [],
        okLabel: t(group ? 'newchat.create' : 'newchat.start'),
        min: 1, max: group ? 4999 : 199,
        nameField: group
            ? { label: t('newchat.group_name'), placeholder: t('newchat.group_name_ph'), required: true }
            : { label: t('newchat.multi_name') },
        onDone: async (ids, { name }) => {
            let j;
            if (!group && ids.length === 1 && !name) j = await api('POST', '/conversations', { kind: 'direct', user_id: ids[0] });
            else {
                const body = { kind, user_ids: ids };
                if (name) body.name = name;
                j = await api('POST', '/conversations', body);
            }
            opened(j.conversation).catch((e) => toast(e.userMessage || String(e), 'error'));
            return true;
        },
    });
}

listActions.push({
    id: 'new-chat', icon: 'plus', label: () => t('newchat.new'),
    run: (e) => {
        const at = e instanceof Event ? (e.currentTarget || e.target) : (e instanceof Element ? e : document.activeElement);
        menu(at && at !== document.body ? at : { getBoundingClientRect: () => ({ left: 80, bottom: 60 }) }, [
            { label: t('newchat.multi'), icon: 'users', testId: 'new-multi', onClick: () => newConversation('multi') },
            { label: t('newchat.group'), icon: 'chat', testId: 'new-group', onClick: () => newConversation('group') },
        ]);
    },
});
