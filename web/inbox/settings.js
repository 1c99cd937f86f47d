// Settings → Stripe (admins): connect accounts, watch their sync, switch sync on and off, the matching key, email
// conflicts. Everything here goes through the app's HTTP API (docs/stripe-app.md); all text is set as text.
// This view loads the app's state and polls it; each section is built in its own module (stripe-*.js).
import { h, replace } from '../shared/dom.js';
import { api, describeError } from './api.js';
import { STRIPE_BASE } from './settings-shared.js';
import { conflictsSection } from './stripe-conflicts.js';
import { connectForm } from './stripe-connect-form.js';
import { connectionsSection, syncBusy } from './stripe-connections.js';
import { installView, uninstallSection } from './stripe-install.js';
import { syncSettingsForm } from './stripe-sync-settings.js';

const POLL_MS = 2000;

export class SettingsView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.open = false;
  }

  async show() {
    this.open = true;
    replace(this.root, h('p', { class: 'muted settings-loading' }, 'Loading settings…'));
    await this.render();
  }

  hide() {
    this.open = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async render() {
    if (!this.open) return;
    if (this.timer) clearTimeout(this.timer);
    let view;
    try {
      const apps = await api('GET', '/api/apps');
      const stripe = apps.data.find((/** @type {{ id: string }} */ a) => a.id === 'stripe');
      if (!stripe) {
        view = [h('p', { class: 'muted' }, 'The Stripe app is not available in this Settle.')];
      } else if (stripe.status !== 'installed') {
        view = installView(stripe.status, this);
        if (stripe.status === 'uninstalling') this.timer = setTimeout(() => void this.render(), POLL_MS);
      } else {
        const [status, settings, conflicts] = await Promise.all([
          api('GET', `${STRIPE_BASE}/views/status`),
          api('GET', `${STRIPE_BASE}/settings`),
          api('GET', `${STRIPE_BASE}/views/conflicts`),
        ]);
        /** @type {import('./stripe-connections.js').Connection[]} */
        const conns = status.connections;
        view = [
          connectionsSection(conns, this),
          connectForm(this),
          syncSettingsForm(settings.settings ?? {}, this),
          conflictsSection(conflicts.connections),
          uninstallSection(this),
        ];
        // Progress: poll while a sync is under way.
        if (conns.some(syncBusy)) this.timer = setTimeout(() => void this.render(), POLL_MS);
      }
    } catch (err) {
      view = [
        h(
          'p',
          { class: 'banner banner-error', role: 'alert' },
          `Could not load the settings: ${describeError(err)}`,
        ),
        h(
          'button',
          { class: 'btn btn-sm', type: 'button', on: { click: () => void this.render() } },
          'Try again',
        ),
      ];
    }
    if (!this.open) return;
    replace(this.root, h('h2', {}, 'Stripe'), view);
  }
}
