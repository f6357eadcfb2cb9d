// Extension points of the chat view, so features plug in without editing it.
//
// messageRenderers[kind] = (msg, ctx) => Node       body of a message bubble; ctx = {conv, me, view, composer}
//   (a send still on its way has seq 0 and body.pending = true: render from the body the sender gave)
//   (the chat view renders kinds 1 text, 6 system, 7 recall itself; 2 image, 3 file, 4 card and
//   5 forward come from their feature modules; an unknown kind shows body.preview or body.text)
// messageActions.push({id, icon, label: () => text, when: (msg, ctx) => bool, run: (msg, ctx) => void})
//   entries of a message's hover/context menu (reply, recall, forward, copy...)
// composerTools.push({id, icon, label: () => text, run: (composer, ctx) => void, mount?: (composer, ctx) => void})
//   buttons in the composer toolbar; mount() is called once per composer (drag-and-drop, paste)
// headerActions.push({id, icon, label: () => text, when: (conv) => bool, run: (conv, ctx) => void})
//   buttons in the chat header (group settings, add members...)
//
// listActions.push({id, icon, label: () => text, run: () => void})
//   buttons in the conversation list header ("new group chat"...)
//
// ctx (what every hook gets) = {conv, me: session.user, view, composer}
// ctx.view (the chat view) offers: conv, reload() (conversation, members and new messages again),
//   scrollToSeq(seq) (loads older pages until seq is there, scrolls to it and flashes it),
//   startSelection({label, onConfirm(seqs) -> may return a promise}) (checkboxes on the messages and a bottom
//   bar with "n selected", a confirm button labelled `label` and cancel; seqs ascending; the bar closes when
//   onConfirm resolves; if it throws the bar stays (an error with userMessage is toasted); Esc/cancel leave),
//   endSelection(), members() -> Promise<[{user_id,name,role}]>,
//   send(msg) -> Promise<message>: a send with the pending / "not sent" + retry bubble (the retry reuses the
//     client_msg_id): {kind: 'text', text, mentions?, mention_all?, quote?: msg} or {kind: 'image'|'file',
//     file_id, body: {name, size, mime, width, height, preview, ...} (what the bubble shows meanwhile), quote?: msg}.
// ctx.composer offers: insertText(s) (at the caret), setQuote(msg|null), sendFile(file), focus(),
//   quote (the message being replied to, or null).
//
// hooks.fileSender = async (file, ctx, {quote}) => {...}
//   set once by the files feature: ctx.composer.sendFile(file) (and files pasted into the composer)
//   call it; without it the composer says that files cannot be sent.  `quote` is the message the user
//   was replying to (take quote_seq from quote.seq), already cleared from the composer.
//
// Timing: register from your module's top level and import the module from main.js, so the
// registries are filled before the first chat opens.  Later registrations still show up: list
// and header buttons at the next render, composer tools and renderers at the next chat opened.
// Built-in message actions (reply, copy, recall) come first; the first three that apply show in
// the hover bar, all of them in the right-click / long-press menu.
//
// What the view renders (data-test, for tests): conv-item[data-conv], conv-badge, conv-preview,
// chat-title, chat-sub, msg[data-seq][data-sender] (a row; .mine/.theirs), msg-text, msg-notice,
// read-status, act-<action id>, head-<header action id>, tool-<composer tool id>, list-<list action id>,
// composer-input, select-bar, select-count, select-confirm, select-cancel, msg-check.
export const messageRenderers = {};
export const messageActions = [];
export const composerTools = [];
export const headerActions = [];
export const listActions = [];
export const hooks = { fileSender: null };
