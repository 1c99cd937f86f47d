// The conversation list: the state tabs with their counts, the list of the current tab, and reloading both.
import { api, ApiError, describeError } from './api.js';
import { EMPTY, PER_PAGE, STATES, TAB_LABEL, store } from './store.js';
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
      ? h('li', { class: 'list-more muted small' }, `Showing the ${PER_PAGE} most recent`)
      : null,
  );
  ul.scrollTop = scroll;
}
