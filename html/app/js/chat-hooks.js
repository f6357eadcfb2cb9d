// Extension points of the chat view, so features plug in without editing it.
//
// messageRenderers[kind] = (msg, ctx) => Node       body of a message bubble; ctx = {conv, me, view}
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
// ctx.view (the chat view) offers: conv, reload(), scrollToSeq(seq), startSelection({label, onConfirm(seqs)}),
// and ctx.composer offers: insertText(s), setQuote(msg), sendFile(file), focus().
export const messageRenderers = {};
export const messageActions = [];
export const composerTools = [];
export const headerActions = [];
export const listActions = [];
