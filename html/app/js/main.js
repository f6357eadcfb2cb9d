// Entry point: sign-in, then the security PIN, then the app.
import { bus } from './bus.js';
import { session } from './session.js';
import { push } from './push.js';
import { org } from './store/org.js';
import { renderLogin } from './views/login.js';
import { renderShell } from './views/shell.js';
import { guard as pinGuard } from './lock.js';
import { toast } from './ui.js';
import './store/prefs.js';
import './features/rich.js';
import './store/convs.js';   // conversations: badge, catch-up, notifications even outside the chats section
import './notify.js';
import './store/apps.js';
import './features/cards.js';
import './features/popups.js';

const root = document.getElementById('root');
let shell = null;

async function start() {
    await pinGuard();                   // resolves once the PIN (if set) was entered
    shell = renderShell(root);
    push.start();
    org.load().catch((e) => toast(e.userMessage || String(e), 'error'));
    bus.emit('app:started');            // stores (conversations, notices...) begin here
}

function showLogin(notice) {
    if (shell) { shell.unmount(); shell = null; }
    push.stop();
    renderLogin(root, { notice, onSignedIn: () => { location.hash = '#/chats'; start(); } });
}

bus.on('session:ended', ({ reason, errcode }) => {
    bus.emit('app:stopped');
    // a wipe reloads the page so nothing of the account survives in memory either
    if (reason === 'wiped') { location.replace(location.pathname + '#/'); location.reload(); return; }
    showLogin(errcode === 40106 ? 'disabled' : reason === 'logout' ? 'logout' : 'revoked');
});

const pending = sessionStorage.getItem('yd.notice');
if (pending) sessionStorage.removeItem('yd.notice');
if (session.signedIn()) start(); else showLogin(pending);
