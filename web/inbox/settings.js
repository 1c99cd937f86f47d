// Settings → Stripe (admins): connect accounts, watch their sync, switch sync on and off, the matching key, email
// conflicts. Everything here goes through the app's HTTP API (docs/stripe-app.md); all text is set as text.
import { h, replace } from '../shared/dom.js';
import { api, describeError } from './api.js';

/**
 * @typedef {{ id: string, account_id: string, account_name: string | null, mode: string, primary: boolean,
 *   sync: { run: number, state: string, last_error: string | null, pages_done: number, types_done: number,
 *   types_total: number, complete: boolean, objects: Record<string, { count: number, done: boolean }> },
 *   timeline_history?: { done: boolean, events: number, recorded: number, held: number } | null }} Connection
 * @typedef {{ connection_id: string, account_id: string, conflicts: { email: string, contactId: string | null,
 *   winner: string, losers: string[] }[], truncated?: boolean }} ConflictGroup
 */

const BASE = '/api/apps/stripe';
const POLL_MS = 2000;

/** A form's error line, hidden until `show` gets an error (or a message of its own). */
function errorLine() {
  const el = h('p', { class: 'form-error', role: 'alert', hidden: true });
  return {
    el,
    /** @param {unknown} err */
    show(err) {
      el.textContent = typeof err === 'string' ? err : describeError(err);
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
    },
  };
}

/** @param {Connection} c */
function syncText(c) {
  const s = c.sync;
  const objects = Object.values(s.objects).reduce((n, o) => n + o.count, 0);
  switch (s.state) {
    case 'done':
      return s.complete ? `Synced · ${objects} objects${historyText(c)}` : `Finishing · ${objects} objects`;
    case 'paused':
      return 'Paused: sync is off';
    case 'error':
      return `Retrying after an error: ${s.last_error ?? 'unknown error'}`;
    case 'failed':
      return `Failed: ${s.last_error ?? 'unknown error'}. Fix the cause, then sync again.`;
    case 'pending':
      return 'Waiting to start…';
    default:
      return `Syncing · ${s.types_done} of ${s.types_total} lists done · ${s.pages_done} pages · ${objects} objects`;
  }
}

/** The events from before the connection, imported onto the timeline once the backfill is done. */
function historyText(/** @type {Connection} */ c) {
  const t = c.timeline_history;
  if (!t) return '';
  const n = `${t.events} past event${t.events === 1 ? '' : 's'}`;
  return t.done ? ` · ${n} imported to the timeline` : ` · importing past events (${n} so far)`;
}

/** A sync still moving (a retried error included): its progress is worth polling. */
const busy = (/** @type {Connection} */ c) =>
  ['pending', 'running', 'error'].includes(c.sync.state) ||
  (c.sync.state === 'done' && (!c.sync.complete || !c.timeline_history?.done));

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
        view = this.installView(stripe.status);
        if (stripe.status === 'uninstalling') this.timer = setTimeout(() => void this.render(), POLL_MS);
      } else {
        const [status, settings, conflicts] = await Promise.all([
          api('GET', `${BASE}/views/status`),
          api('GET', `${BASE}/settings`),
          api('GET', `${BASE}/views/conflicts`),
        ]);
        /** @type {Connection[]} */
        const conns = status.connections;
        view = [
          this.connectionsView(conns),
          this.connectView(),
          this.syncSettingsView(settings.settings ?? {}),
          this.conflictsView(conflicts.connections),
          this.uninstallView(),
        ];
        // Progress: poll while a sync is under way.
        if (conns.some(busy)) this.timer = setTimeout(() => void this.render(), POLL_MS);
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

  /** @param {string} status */
  installView(status) {
    const error = errorLine();
    const button = h(
      'button',
      { class: 'btn btn-primary', type: 'button', id: 'stripe-install' },
      'Install the Stripe app',
    );
    button.addEventListener('click', async () => {
      button.setAttribute('disabled', '');
      try {
        await api('POST', `${BASE}/install`, { settings: {} });
        await this.render();
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

  /** @param {Connection[]} conns */
  connectionsView(conns) {
    if (conns.length === 0) {
      return h(
        'section',
        { class: 'settings-section', id: 'stripe-connections' },
        h('h3', {}, 'Accounts'),
        h(
          'p',
          { class: 'settings-empty' },
          'No Stripe account connected yet. Connect one with an API key below.',
        ),
      );
    }
    return h(
      'section',
      { class: 'settings-section', id: 'stripe-connections' },
      h('h3', {}, 'Accounts'),
      h(
        'ul',
        { class: 'settings-list' },
        conns.map((c) => {
          const error = errorLine();
          const act = async (/** @type {string} */ name, /** @type {string | null} */ confirmText) => {
            if (confirmText && !window.confirm(confirmText)) return;
            try {
              await api('POST', `${BASE}/actions/${name}`, { connection_id: c.id });
              await this.render();
            } catch (err) {
              error.show(err);
            }
          };
          return h(
            'li',
            { class: 'settings-item', dataset: { connection: c.id, state: c.sync.state } },
            h(
              'div',
              { class: 'settings-item-head' },
              h('strong', {}, c.account_name || c.account_id),
              h('span', { class: 'muted' }, c.account_name ? ` ${c.account_id}` : ''),
              h(
                'span',
                { class: `pill ${c.mode === 'live' ? 'pill-live' : 'pill-test'}` },
                c.mode === 'live' ? 'Live' : 'Test',
              ),
              c.primary ? h('span', { class: 'pill pill-primary' }, 'Primary') : null,
            ),
            h('p', { class: 'sync-status', role: 'status' }, syncText(c)),
            h(
              'div',
              { class: 'settings-actions' },
              h(
                'button',
                { class: 'btn btn-sm', type: 'button', on: { click: () => void act('sync', null) } },
                'Sync now',
              ),
              c.primary
                ? null
                : h(
                    'button',
                    {
                      class: 'btn btn-sm',
                      type: 'button',
                      on: { click: () => void act('set_primary', null) },
                    },
                    'Make primary',
                  ),
              h(
                'button',
                {
                  class: 'btn btn-sm btn-danger',
                  type: 'button',
                  on: {
                    click: () =>
                      void act(
                        'disconnect',
                        `Disconnect ${c.account_id}? Its contacts keep only other accounts’ Stripe values.`,
                      ),
                  },
                },
                'Disconnect',
              ),
            ),
            error.el,
          );
        }),
      ),
    );
  }

  connectView() {
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
    const error = errorLine();
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
        await api('POST', `${BASE}/actions/connect`, {
          api_key: key.value.trim(),
          ...(base.value.trim() ? { api_base: base.value.trim() } : {}),
        });
        key.value = '';
        await this.render();
      } catch (err) {
        // The key stays in the field so a typo can be fixed; the message never repeats it.
        error.show(err);
        submit.removeAttribute('disabled');
        submit.textContent = 'Connect';
      }
    });
    return form;
  }

  /** @param {Record<string, unknown>} current */
  syncSettingsView(current) {
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
    const error = errorLine();
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
        await api('PUT', `${BASE}/settings`, {
          settings: { ...current, sync_enabled: enabled.checked, metadata_key: metadataKey.value.trim() },
        });
        await this.render();
        this.root.querySelector('#stripe-sync-settings [role=status]')?.removeAttribute('hidden');
      } catch (err) {
        error.show(err);
      }
    });
    return form;
  }

  uninstallView() {
    const error = errorLine();
    const uninstall = async (/** @type {boolean} */ keepData) => {
      const what = keepData
        ? 'Uninstall the Stripe app? Contacts keep the Stripe values imported so far.'
        : 'Uninstall the Stripe app and remove every imported Stripe value from your contacts?';
      if (!window.confirm(what)) return;
      try {
        await api('POST', '/api/apps/stripe/uninstall', { keep_data: keepData });
        await this.render();
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

  /** @param {ConflictGroup[]} groups */
  conflictsView(groups) {
    const rows = groups.flatMap((g) => g.conflicts.map((c) => ({ ...c, account: g.account_id })));
    // Many customers not matched yet (a first sync still running): only part of the account was looked at.
    const partial = groups.filter((g) => g.truncated).map((g) => g.account_id);
    return h(
      'section',
      { class: 'settings-section', id: 'stripe-conflicts' },
      h('h3', {}, 'Email conflicts'),
      partial.length > 0
        ? h(
            'p',
            { class: 'muted', 'data-testid': 'conflicts-partial' },
            `Only part of ${partial.join(', ')} was checked: many of its customers are not matched yet. Look again once its sync is done.`,
          )
        : null,
      rows.length === 0
        ? h(
            'p',
            { class: 'settings-empty' },
            partial.length > 0
              ? 'No conflicts among the customers checked so far.'
              : 'No two customers share an email: every contact matched one customer.',
          )
        : h(
            'ul',
            { class: 'settings-list' },
            rows.map((r) =>
              h(
                'li',
                { class: 'settings-item' },
                h('strong', {}, r.email),
                h('span', { class: 'muted' }, ` (${r.account})`),
                h('p', {}, `Linked to ${r.winner}; not linked: ${r.losers.join(', ')}`),
              ),
            ),
          ),
    );
  }
}
