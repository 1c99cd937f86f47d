// Settings → Stripe, Sync: switch the sync on and off, and the customer metadata key that holds the app's user id.
import { h } from '../shared/dom.js';
import { api } from './api.js';
import { STRIPE_BASE, errorLine } from './settings-shared.js';

/**
 * @param {Record<string, unknown>} current the app's settings as stored
 * @param {import('./settings-shared.js').SettingsHost} host
 */
export function syncSettingsForm(current, host) {
  const enabled = h('input', {
    id: 'stripe-sync-enabled',
    type: 'checkbox',
    checked: current.sync_enabled !== false,
  });
  const metadataKey = h('input', {
    id: 'stripe-metadata-key',
    name: 'metadata_key',
    autocomplete: 'off',
    value: String(current.metadata_key ?? 'user_id'),
  });
  const error = errorLine([{ input: metadataKey, label: 'Metadata key' }]);
  const saved = h('p', { class: 'muted', role: 'status', hidden: true }, 'Saved.');
  const form = h(
    'form',
    { class: 'settings-section settings-form', id: 'stripe-sync-settings', novalidate: true },
    h('h3', {}, 'Sync'),
    h('label', { class: 'checkbox' }, enabled, h('span', {}, 'Keep contacts in step with Stripe')),
    h('label', {}, h('span', {}, 'Customer metadata key holding your user id'), metadataKey),
    error.el,
    saved,
    h('button', { class: 'btn', type: 'submit' }, 'Save'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    saved.hidden = true;
    try {
      // The other settings (budget, ranges…) are kept as they are.
      await api('PUT', `${STRIPE_BASE}/settings`, {
        settings: { ...current, sync_enabled: enabled.checked, metadata_key: metadataKey.value.trim() },
      });
      await host.render();
      host.root.querySelector('#stripe-sync-settings [role=status]')?.removeAttribute('hidden');
    } catch (err) {
      error.show(err);
    }
  });
  return form;
}
