// The Settle inbox: login, state tabs, conversation list, thread, contact sidebar and live updates.
import { api, ApiError, describeError, setCsrfToken, setUnauthorizedHandler } from './api.js';
import { showLogin } from './login.js';
import { renderSidebar } from './sidebar.js';
import { ThreadView } from './thread.js';
import { SettingsView } from './settings.js';
import { h, hueOf, initials, replace, shortTime } from '../shared/dom.js';

/**
 * @typedef {'open'|'snoozed'|'closed'} State
 * @typedef {{ id: string, contact_id: string, state: State, read: boolean, last_message_at: number,
 *   assignee_id: string|null, snoozed_until: number|null, title: string|null,
 *   contact: { id: string, name: string|null, email: string|null }, preview: string|null }} ConversationSummary
 */

/** @type {State[]} */
const STATES = ['open', 'snoozed', 'closed'];
const TAB_LABEL = { open: 'Open', snoozed: 'Snoozed', closed: 'Closed' };
const EMPTY = {
  open: ['No open conversations', 'You’re all caught up. New messages from the messenger show up here live.'],
  snoozed: [
    'Nothing snoozed',
    'Snooze a conversation to hide it until later; a reply from the customer wakes it.',
  ],
  closed: [
    'No closed conversations',
    'Conversations you close land here; a new message from the customer reopens them.',
  ],
};
const PER_PAGE = 50;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const store = {
  /** @type {{ id: string, name: string, email: string, role: string } | null} */
  me: null,
  /** @type {Map<string, { id: string, name: string, email: string }>} */
  teammates: new Map(),
  /** @type {Map<string, import('./sidebar.js').AttributeDef>} */
  attributeDefs: new Map(),
  /** @type {State} */
  tab: 'open',
  /** @type {Record<State, ConversationSummary[]>} */
  lists: { open: [], snoozed: [], closed: [] },
  /** @type {Record<State, boolean>} */
  more: { open: false, snoozed: false, closed: false },
  loaded: false,
  /** @type {string | null} */
  selectedId: null,
  /** @type {string | null} contact shown in the sidebar */
  sidebarContactId: null,
  /** @type {EventSource | null} */
  stream: null,
};

/** @type {ThreadView} */
let thread;
const settingsView = new SettingsView($('settings-body'));

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

  thread ??= new ThreadView($('thread-pane'), {
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

// ---------------------------------------------------------------------------------------------------------------
// Routing: #/open, #/closed/<conversation id>

function applyRoute() {
  const [, tab, id] = location.hash.split('/');
  // Settings are for admins; the API refuses the others anyway.
  const settings = tab === 'settings' && store.me?.role === 'admin';
  document.querySelector('.panes')?.toggleAttribute('hidden', settings);
  $('settings').hidden = !settings;
  if (settings) {
    void settingsView.show();
    return;
  }
  settingsView.hide();
  store.tab = STATES.includes(/** @type {State} */ (tab)) ? /** @type {State} */ (tab) : 'open';
  const selected = id ? decodeURIComponent(id) : null;
  renderTabs();
  renderList();
  if (selected !== store.selectedId) {
    store.selectedId = selected;
    void openConversation(selected);
    renderList();
  }
}

/**
 * @param {State} tab
 * @param {string | null} id
 */
function go(tab, id) {
  const hash = `#/${tab}${id ? `/${encodeURIComponent(id)}` : ''}`;
  if (location.hash !== hash) location.hash = hash;
  else applyRoute();
}

window.addEventListener('hashchange', () => {
  if (!$('app').hidden) applyRoute();
});

// ---------------------------------------------------------------------------------------------------------------
// Lists

let refreshing = /** @type {Promise<void> | null} */ (null);
let refreshAgain = false;

/** Reloads the three lists; calls made while one runs are folded into one more run. */
async function refreshLists() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        const results = await Promise.all(
          STATES.map((s) => api('GET', `/api/conversations?state=${s}&per_page=${PER_PAGE}`)),
        );
        STATES.forEach((s, i) => {
          store.lists[s] = results[i].conversations;
          store.more[s] = results[i].pages?.next != null;
        });
        store.loaded = true;
        $('list-error').hidden = true;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return;
        $('list-error').textContent = `Couldn’t load conversations. ${describeError(err)}`;
        $('list-error').hidden = false;
      }
      renderTabs();
      renderList();
    } while (refreshAgain);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

let refreshTimer = 0;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => void refreshLists(), 120);
}

function renderTabs() {
  replace(
    $('tabs'),
    STATES.map((s) => {
      const list = store.lists[s];
      const unread = list.some((c) => !c.read);
      const count = store.loaded ? `${list.length}${store.more[s] ? '+' : ''}` : '';
      return h(
        'li',
        null,
        h(
          'a',
          {
            href: `#/${s}`,
            class: `tab${store.tab === s ? ' is-active' : ''}`,
            role: 'tab',
            'aria-selected': String(store.tab === s),
            dataset: { state: s },
          },
          h('span', { class: `tab-icon tab-icon-${s}`, 'aria-hidden': 'true' }),
          h('span', { class: 'tab-label' }, TAB_LABEL[s]),
          unread ? h('span', { class: 'unread-dot', title: 'Unread conversations' }) : null,
          h('span', { class: 'tab-count', 'data-testid': `count-${s}` }, count),
        ),
      );
    }),
  );
  $('list-title').textContent = TAB_LABEL[store.tab];
  const unread = store.lists.open.filter((c) => !c.read).length;
  document.title = `${unread ? `(${unread}) ` : ''}Inbox · Settle`;
}

function renderList() {
  const ul = $('conversation-list');
  const list = store.lists[store.tab];
  const unread = list.filter((c) => !c.read).length;
  $('list-count').textContent = store.loaded ? (unread ? `${unread} unread` : '') : '';
  if (!store.loaded) {
    replace(ul, h('li', { class: 'list-placeholder muted' }, 'Loading…'));
    return;
  }
  if (list.length === 0) {
    // The thread pane explains; the list just says so.
    replace(ul, h('li', { class: 'list-empty' }, h('strong', null, EMPTY[store.tab][0])));
    return;
  }
  const scroll = ul.scrollTop;
  replace(
    ul,
    list.map((c) => {
      const name = c.contact?.name || c.contact?.email || 'Anonymous visitor';
      const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name));
      avatar.style.setProperty('--hue', String(hueOf(c.contact_id)));
      const assignee = c.assignee_id ? store.teammates.get(c.assignee_id)?.name : null;
      return h(
        'li',
        null,
        h(
          'a',
          {
            href: `#/${store.tab}/${encodeURIComponent(c.id)}`,
            class: `conv${c.read ? '' : ' is-unread'}${c.id === store.selectedId ? ' is-selected' : ''}`,
            'aria-current': c.id === store.selectedId ? 'true' : null,
            dataset: { id: c.id },
          },
          avatar,
          h(
            'span',
            { class: 'conv-body' },
            h(
              'span',
              { class: 'conv-top' },
              h('span', { class: 'conv-name ellipsis' }, name),
              h(
                'time',
                { class: 'conv-time', title: new Date(c.last_message_at * 1000).toLocaleString() },
                shortTime(c.last_message_at),
              ),
              c.read ? null : h('span', { class: 'unread-dot', 'aria-label': 'Unread' }),
            ),
            c.contact?.name && c.contact.email
              ? h('span', { class: 'conv-email ellipsis' }, c.contact.email)
              : null,
            h('span', { class: 'conv-preview' }, c.preview ?? c.title ?? ''),
            assignee ? h('span', { class: 'conv-assignee' }, assignee) : null,
          ),
        ),
      );
    }),
    store.more[store.tab]
      ? h('li', { class: 'list-more muted small' }, `Showing the ${PER_PAGE} most recent`)
      : null,
  );
  ul.scrollTop = scroll;
}

/** @param {number} delta */
function moveSelection(delta) {
  const list = store.lists[store.tab];
  if (list.length === 0) return;
  const idx = list.findIndex((c) => c.id === store.selectedId);
  const next =
    idx === -1 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, idx + delta));
  const conv = list[next];
  if (!conv) return;
  go(store.tab, conv.id);
  requestAnimationFrame(() =>
    document.querySelector(`.conv[data-id="${CSS.escape(conv.id)}"]`)?.scrollIntoView({ block: 'nearest' }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The open conversation

let openSeq = 0;

/** @param {string | null} id */
async function openConversation(id) {
  const seq = ++openSeq;
  if (!id) {
    const [title, text] = store.lists[store.tab].length
      ? ['Select a conversation', 'Pick one from the list, or press j to start at the top.']
      : EMPTY[store.tab];
    thread.empty(title, text);
    replace(
      $('sidebar'),
      h('p', { class: 'side-placeholder' }, 'The contact’s details show here when you open a conversation.'),
    );
    store.sidebarContactId = null;
    return;
  }
  thread.loading();
  try {
    const conv = await api('GET', `/api/conversations/${encodeURIComponent(id)}`);
    if (seq !== openSeq) return;
    thread.show(conv);
    if (store.sidebarContactId !== conv.contact.id) {
      store.sidebarContactId = conv.contact.id;
      renderSidebar($('sidebar'), conv.contact, store.attributeDefs);
    }
    if (!conv.read) void markRead(id);
  } catch (err) {
    if (seq !== openSeq) return;
    if (err instanceof ApiError && err.status === 404)
      thread.empty('Conversation not found', 'It may have been deleted.');
    else thread.empty('Couldn’t load this conversation', describeError(err));
    replace($('sidebar'));
    store.sidebarContactId = null;
  }
}

/** Re-reads the open conversation (after a reconnect or a change made elsewhere), keeping the draft. */
async function reloadOpenConversation() {
  const id = store.selectedId;
  if (!id) return;
  try {
    const conv = await api('GET', `/api/conversations/${encodeURIComponent(id)}`);
    if (store.selectedId === id) thread.show(conv);
  } catch {
    // The list refresh reports connectivity problems; the thread keeps what it shows.
  }
}

/** @param {string} id */
async function markRead(id) {
  for (const s of STATES) {
    const c = store.lists[s].find((x) => x.id === id);
    if (c) c.read = true;
  }
  renderTabs();
  renderList();
  try {
    await api('POST', `/api/conversations/${encodeURIComponent(id)}/read`);
  } catch {
    // Unread state is a convenience; a failure here is not worth an error message.
  }
}

/**
 * @param {string} id
 * @param {'comment'|'note'} type
 * @param {string} body
 */
async function sendMessage(id, type, body) {
  const msg = await api('POST', `/api/conversations/${encodeURIComponent(id)}/reply`, { type, body });
  scheduleRefresh();
  return msg;
}

/**
 * @param {string} id
 * @param {State} state
 * @param {number} [snoozedUntil]
 */
async function setState(id, state, snoozedUntil) {
  const conv = await api('POST', `/api/conversations/${encodeURIComponent(id)}/state`, {
    state,
    ...(snoozedUntil !== undefined ? { snoozed_until: snoozedUntil } : {}),
  });
  thread.update({ state: conv.state, snoozed_until: conv.snoozed_until });
  // Closing or snoozing from a tab moves on to the next conversation there, as a queue.
  if (state !== store.tab) {
    const list = store.lists[store.tab];
    const idx = list.findIndex((c) => c.id === id);
    const next = list[idx + 1] ?? list[idx - 1];
    store.lists[store.tab] = list.filter((c) => c.id !== id);
    go(store.tab, next && next.id !== id ? next.id : null);
  }
  await refreshLists();
}

/**
 * @param {string} id
 * @param {string | null} assigneeId
 */
async function assign(id, assigneeId) {
  const conv = await api('POST', `/api/conversations/${encodeURIComponent(id)}/assign`, {
    assignee_id: assigneeId,
  });
  thread.update({ assignee_id: conv.assignee_id });
  scheduleRefresh();
}

// ---------------------------------------------------------------------------------------------------------------
// Live updates

function setLive(/** @type {'live'|'connecting'|'offline'} */ status) {
  const el = $('live-status');
  el.dataset.status = status;
  $('live-text').textContent =
    status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Offline';
}

let streamOpenedOnce = false;

function connectStream() {
  store.stream?.close();
  setLive('connecting');
  const es = new EventSource('/api/stream');
  store.stream = es;
  es.addEventListener('open', () => {
    setLive('live');
    // After a reconnect, catch up on whatever happened while the stream was down.
    if (streamOpenedOnce) {
      scheduleRefresh();
      void reloadOpenConversation();
    }
    streamOpenedOnce = true;
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      setLive('offline');
      // Closed for good (e.g. the session expired): find out why, then try again later.
      setTimeout(async () => {
        if (store.stream !== es) return;
        try {
          await api('GET', '/api/me');
          connectStream();
        } catch {
          // A 401 shows the login screen; a network error retries on the next cycle.
          if (store.stream === es && !$('app').hidden) setTimeout(connectStream, 5000);
        }
      }, 3000);
    } else setLive('connecting');
  });
  es.addEventListener('message.created', (ev) => {
    const e = parseEvent(ev);
    const msg = e?.data;
    if (!msg) return;
    if (e.data_omitted) {
      // Relayed from another Settle process without its body (too long for a notification): reload instead.
      if (msg.conversation_id === store.selectedId) void reloadOpenConversation();
    } else if (msg.conversation_id === store.selectedId) {
      thread.append(msg);
      if (msg.author?.type === 'contact' && document.visibilityState === 'visible')
        void markReadQuietly(msg.conversation_id);
    }
    scheduleRefresh();
  });
  es.addEventListener('conversation.created', () => scheduleRefresh());
  // The server's relay between Settle processes was down: events may be missing, so reload what is shown.
  es.addEventListener('resync', () => {
    scheduleRefresh();
    void reloadOpenConversation();
  });
  es.addEventListener('conversation.updated', (ev) => {
    const e = parseEvent(ev);
    scheduleRefresh();
    if (e?.conversation_id && e.conversation_id === store.selectedId) void reloadOpenConversation();
  });
}

/** @param {string} id */
async function markReadQuietly(id) {
  try {
    await api('POST', `/api/conversations/${encodeURIComponent(id)}/read`);
  } catch {
    // See markRead.
  }
}

/** @param {Event} ev */
function parseEvent(ev) {
  try {
    return JSON.parse(/** @type {MessageEvent} */ (ev).data);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keyboard

document.addEventListener('keydown', (e) => {
  if ($('app').hidden || !$('settings').hidden || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = /** @type {HTMLElement} */ (e.target);
  if (t.closest('input, textarea, select, [contenteditable="true"]')) return;
  if (e.key === 'j' || e.key === 'ArrowDown') {
    e.preventDefault();
    moveSelection(1);
  } else if (e.key === 'k' || e.key === 'ArrowUp') {
    e.preventDefault();
    moveSelection(-1);
  } else if (e.key === 'r' && store.selectedId) {
    e.preventDefault();
    thread.focusComposer();
  }
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
