// Rich messages for the chat view (js/chat-hooks.js extension points):
// images and files (renderers, upload tools, drag-and-drop, paste), merged
// forward, new multi-person chats and groups, group settings.
import './media.js';
import './uploads.js';
import './forward.js';
import './newchat.js';
import './groupinfo.js';
export { openMemberPicker } from './picker.js';
