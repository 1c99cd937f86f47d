// Keyboard shortcuts: j/k (or the arrow keys) move through the list, r starts a reply.
import { thread } from './open-conversation.js';
import { go } from './routing.js';
import { store } from './store.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

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
