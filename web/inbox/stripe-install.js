// Settings → Stripe, installing the app (shown while it is not installed) and uninstalling it (keeping the imported
// Stripe values on the contacts, or removing them).
import { h } from '../shared/dom.js';
import { api } from './api.js';
import { STRIPE_BASE, errorLine } from './settings-shared.js';

/** @typedef {import('./settings-shared.js').SettingsHost} SettingsHost */

/**
 * @param {string} status the app's status (not `installed`)
 * @param {SettingsHost} host
 */
export function installView(status, host) {
  const error = errorLine();
  const button = h(
    'button',
    { class: 'btn btn-primary', type: 'button', id: 'stripe-install' },
    'Install the Stripe app',
  );
  button.addEventListener('click', async () => {
    button.setAttribute('disabled', '');
    try {
      await api('POST', `${STRIPE_BASE}/install`, { settings: {} });
      await host.render();
    } catch (err) {
      error.show(err);
      button.removeAttribute('disabled');
    }
  });
  return [
    h(
      'p',
      { class: 'muted' },
      status === 'uninstalling'
        ? 'The Stripe app is being uninstalled.'
        : 'Install the Stripe app to show your customers’ billing beside their conversations.',
    ),
    status === 'uninstalling' ? null : button,
    error.el,
  ];
}

/** @param {SettingsHost} host */
export function uninstallSection(host) {
  const error = errorLine();
  const uninstall = async (/** @type {boolean} */ keepData) => {
    const what = keepData
      ? 'Uninstall the Stripe app? Contacts keep the Stripe values imported so far.'
      : 'Uninstall the Stripe app and remove every imported Stripe value from your contacts?';
    if (!window.confirm(what)) return;
    try {
      await api('POST', '/api/apps/stripe/uninstall', { keep_data: keepData });
      await host.render();
    } catch (err) {
      error.show(err);
    }
  };
  return h(
    'section',
    { class: 'settings-section', id: 'stripe-uninstall' },
    h('h3', {}, 'Uninstall'),
    h(
      'p',
      { class: 'settings-empty' },
      'Deletes the webhook endpoints in Stripe and the stored keys; finishes later if Stripe cannot be reached.',
    ),
    h(
      'div',
      { class: 'settings-actions' },
      h(
        'button',
        { class: 'btn btn-sm', type: 'button', on: { click: () => void uninstall(true) } },
        'Uninstall, keep values',
      ),
      h(
        'button',
        { class: 'btn btn-sm btn-danger', type: 'button', on: { click: () => void uninstall(false) } },
        'Uninstall and remove values',
      ),
    ),
    error.el,
  );
}
