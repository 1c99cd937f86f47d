// Settings → Stripe, Connect an account: an API key (and an optional API base, for a Stripe emulator), checked by
// the server before the connection is made.
import { h } from '../shared/dom.js';
import { api } from './api.js';
import { STRIPE_BASE, errorLine } from './settings-shared.js';

/** @param {import('./settings-shared.js').SettingsHost} host */
export function connectForm(host) {
  const key = h('input', {
    id: 'stripe-api-key',
    name: 'api_key',
    type: 'password',
    autocomplete: 'off',
    placeholder: 'sk_live_… or rk_live_…',
    required: true,
  });
  const base = h('input', {
    id: 'stripe-api-base',
    name: 'api_base',
    autocomplete: 'off',
    placeholder: 'https://api.stripe.com',
  });
  const error = errorLine([
    { input: key, label: 'API key' },
    { input: base, label: 'API base' },
  ]);
  const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Connect');
  const form = h(
    'form',
    { class: 'settings-section settings-form', id: 'stripe-connect', novalidate: true },
    h('h3', {}, 'Connect an account'),
    h('label', {}, h('span', {}, 'Secret or restricted API key'), key),
    h('label', {}, h('span', {}, 'API base (optional: a Stripe emulator)'), base),
    error.el,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    if (!key.value.trim()) {
      error.show('Enter the account’s API key.');
      return;
    }
    submit.setAttribute('disabled', '');
    submit.textContent = 'Checking the key…';
    try {
      await api('POST', `${STRIPE_BASE}/actions/connect`, {
        api_key: key.value.trim(),
        ...(base.value.trim() ? { api_base: base.value.trim() } : {}),
      });
      key.value = '';
      await host.render();
    } catch (err) {
      // The key stays in the field so a typo can be fixed; the message never repeats it.
      error.show(err);
      submit.removeAttribute('disabled');
      submit.textContent = 'Connect';
    }
  });
  return form;
}
