// The Settle inbox: login, state tabs, conversation list, thread, contact sidebar and live updates.
// This module signs in and out and wires the others together: conversation-list.js (tabs and list), routing.js,
// open-conversation.js (thread and sidebar), conversation-actions.js, live-stream.js and keyboard.js.
import { api, ApiError, describeError, setCsrfToken, setUnauthorizedHandler } from './api.js';
import { assign, sendMessage, setState } from './conversation-actions.js';
import { refreshLists, renderList } from './conversation-list.js';
import './keyboard.js';
import { connectStream } from './live-stream.js';
import { showLogin } from './login.js';
import { createThread, markRead } from './open-conversation.js';
import { applyRoute } from './routing.js';
import { store } from './store.js';
import { h, initials, replace } from '../shared/dom.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

// ---------------------------------------------------------------------------------------------------------------
// Start-up and session

async function start() {
  setUnauthorizedHandler(() => {
    teardown();
    void showLogin({ notice: 'Your session has ended. Sign in again to continue.', onLoggedIn: enterApp });
  });
  try {
    const me = await api('GET', '/api/me', undefined, { quiet401: true });
    await enterApp(me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      await showLogin({ onLoggedIn: enterApp });
    } else {
      await showLogin({ onLoggedIn: enterApp, error: describeError(err) });
    }
  } finally {
    $('boot').hidden = true;
  }
}

/** @param {{ teammate: { id: string, name: string, email: string, role: string }, csrf_token: string }} session */
async function enterApp(session) {
  setCsrfToken(session.csrf_token);
  store.me = session.teammate;
  $('login').hidden = true;
  $('app').hidden = false;
  replace(
    $('me'),
    h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, initials(store.me.name)),
    store.me.name,
  );
  $('me').title = store.me.email;
  $('settings-link').hidden = store.me.role !== 'admin';

  createThread({
    teammates: () => store.teammates,
    send: sendMessage,
    setState,
    assign,
    backHref: () => `#/${store.tab}`,
  });

  const [workspace, teammates, defs] = await Promise.allSettled([
    api('GET', '/api/workspace'),
    api('GET', '/api/teammates'),
    api('GET', '/api/data_attributes'),
  ]);
  if (workspace.status === 'fulfilled') {
    $('workspace-name').textContent = workspace.value.name;
    const link = /** @type {HTMLAnchorElement} */ ($('messenger-link'));
    link.href = `/messenger/demo.html?app_id=${encodeURIComponent(workspace.value.app_id)}`;
    link.hidden = false;
  }
  if (teammates.status === 'fulfilled') {
    store.teammates = new Map(teammates.value.data.map((/** @type {any} */ t) => [t.id, t]));
  }
  if (defs.status === 'fulfilled') {
    store.attributeDefs = new Map(defs.value.data.map((/** @type {any} */ d) => [d.name, d]));
  }
  applyRoute();
  await refreshLists();
  connectStream();
}

function teardown() {
  store.stream?.close();
  store.stream = null;
  setCsrfToken(null);
  store.selectedId = null;
  store.sidebarContactId = null;
  store.loaded = false;
  store.lists = { open: [], snoozed: [], closed: [] };
  $('app').hidden = true;
}

$('logout').addEventListener('click', async () => {
  try {
    await api('POST', '/api/auth/logout', undefined, { quiet401: true });
  } catch {
    // Logged out either way: the session is gone from this page.
  }
  teardown();
  history.replaceState(null, '', '/inbox/');
  await showLogin({ notice: 'You’re signed out.', onLoggedIn: enterApp });
});

// An open menu (Snooze) closes on a click elsewhere or Escape.
document.addEventListener('click', (e) => {
  const t = /** @type {HTMLElement} */ (e.target);
  document.querySelectorAll('details.menu[open]').forEach((d) => {
    if (!d.contains(t)) d.removeAttribute('open');
  });
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape')
    document.querySelectorAll('details.menu[open]').forEach((d) => d.removeAttribute('open'));
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && store.selectedId) {
    const c = store.lists[store.tab].find((x) => x.id === store.selectedId);
    if (c && !c.read) void markRead(c.id);
  }
});

// Relative times ("5m") age: redraw the list once a minute.
setInterval(() => {
  if (!$('app').hidden) renderList();
}, 60_000);

void start();
