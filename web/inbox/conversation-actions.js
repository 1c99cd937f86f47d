// What the thread's buttons and composer do: reply or note, close/snooze/reopen, assign.
import { api } from './api.js';
import { refreshLists, scheduleRefresh } from './conversation-list.js';
import { thread } from './open-conversation.js';
import { go } from './routing.js';
import { store } from './store.js';

/**
 * @param {string} id
 * @param {'comment'|'note'} type
 * @param {string} body
 */
export async function sendMessage(id, type, body) {
  const msg = await api('POST', `/api/conversations/${encodeURIComponent(id)}/reply`, { type, body });
  scheduleRefresh();
  return msg;
}

/**
 * @param {string} id
 * @param {import('./store.js').State} state
 * @param {number} [snoozedUntil]
 */
export async function setState(id, state, snoozedUntil) {
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
export async function assign(id, assigneeId) {
  const conv = await api('POST', `/api/conversations/${encodeURIComponent(id)}/assign`, {
    assignee_id: assigneeId,
  });
  thread.update({ assignee_id: conv.assignee_id });
  scheduleRefresh();
}
