// Routing: #/open, #/closed/<conversation id>, #/settings.
import { renderList, renderTabs } from './conversation-list.js';
import { openConversation } from './open-conversation.js';
import { SettingsView } from './settings.js';
import { STATES, store } from './store.js';

/** @typedef {import('./store.js').State} State */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const settingsView = new SettingsView($('settings-body'));

export function applyRoute() {
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
export function go(tab, id) {
  const hash = `#/${tab}${id ? `/${encodeURIComponent(id)}` : ''}`;
  if (location.hash !== hash) location.hash = hash;
  else applyRoute();
}

window.addEventListener('hashchange', () => {
  if (!$('app').hidden) applyRoute();
});
