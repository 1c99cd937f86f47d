// The conversation list: the state tabs with their counts, the list of the current tab, and reloading both.
import { api, ApiError, describeError } from './api.js';
import { EMPTY, MAX_PAGE, PER_PAGE, STATES, TAB_LABEL, store } from './store.js';
import { h, hueOf, initials, replace, shortTime } from '../shared/dom.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

let refreshing = /** @type {Promise<void> | null} */ (null);
let refreshAgain = false;

/** Reloads the three lists; calls made while one runs are folded into one more run. */
export async function refreshLists() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        const results = await Promise.all(STATES.map((s) => fetchList(s, store.wanted[s])));
        STATES.forEach((s, i) => {
          store.lists[s] = results[i].conversations;
          store.more[s] = results[i].more;
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

/**
 * The first `wanted` conversations of a state, most recent first, in pages the API allows.
 *
 * @param {import('./store.js').State} state
 * @param {number} wanted
 * @returns {Promise<{ conversations: import('./store.js').ConversationSummary[], more: boolean }>}
 */
async function fetchList(state, wanted) {
  /** @type {import('./store.js').ConversationSummary[]} */
  const conversations = [];
  /** @type {string | null} */
  let cursor = null;
  do {
    const perPage = Math.min(MAX_PAGE, wanted - conversations.length);
    const after = cursor ? `&starting_after=${encodeURIComponent(cursor)}` : '';
    const page = await api('GET', `/api/conversations?state=${state}&per_page=${perPage}${after}`);
    conversations.push(...page.conversations);
    cursor = page.pages?.next?.starting_after ?? null;
  } while (cursor && conversations.length < wanted);
  return { conversations, more: cursor !== null };
}

/** Shows PER_PAGE more of the current tab: the oldest conversations are the ones waiting longest. */
async function loadOlder() {
  const tab = store.tab;
  store.wanted[tab] = store.lists[tab].length + PER_PAGE;
  await refreshLists();
  // Keyboard users continue from where the list grew.
  const next = /** @type {HTMLElement | null} */ (
    document.querySelectorAll('#conversation-list .conv')[store.wanted[tab] - PER_PAGE]
  );
  next?.focus();
}

let refreshTimer = 0;
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => void refreshLists(), 120);
}

export function renderTabs() {
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

export function renderList() {
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
      ? h(
          'li',
          { class: 'list-more' },
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-ghost btn-sm',
              'data-testid': 'load-older',
              on: { click: () => void loadOlder() },
            },
            'Load older conversations',
          ),
        )
      : null,
  );
  ul.scrollTop = scroll;
}
