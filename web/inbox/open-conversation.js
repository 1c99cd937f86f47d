// The open conversation: the thread pane, the contact sidebar beside it, and marking it read.
import { api, ApiError, describeError } from './api.js';
import { renderList, renderTabs } from './conversation-list.js';
import { renderSidebar } from './sidebar.js';
import { EMPTY, STATES, store } from './store.js';
import { ThreadView } from './thread.js';
import { h, replace } from '../shared/dom.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {ThreadView} */
export let thread;

/**
 * Makes the thread view on the first sign-in; later sign-ins keep it (and its drafts).
 * @param {import('./thread.js').ThreadDeps} deps
 */
export function createThread(deps) {
  thread ??= new ThreadView($('thread-pane'), deps);
}

let openSeq = 0;

/** @param {string | null} id */
export async function openConversation(id) {
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
export async function reloadOpenConversation() {
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
export async function markRead(id) {
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

/** @param {string} id */
export async function markReadQuietly(id) {
  try {
    await api('POST', `/api/conversations/${encodeURIComponent(id)}/read`);
  } catch {
    // See markRead.
  }
}
