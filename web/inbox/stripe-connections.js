// Settings → Stripe, Accounts: each connected account with its mode, whether it is the primary one, its sync
// progress, and Sync now / Make primary / Disconnect.
import { h } from '../shared/dom.js';
import { api } from './api.js';
import { STRIPE_BASE, errorLine } from './settings-shared.js';

/**
 * @typedef {import('./settings-shared.js').SettingsHost} SettingsHost
 * @typedef {{ id: string, account_id: string, account_name: string | null, mode: string, primary: boolean,
 *   sync: { run: number, state: string, last_error: string | null, pages_done: number, types_done: number,
 *   types_total: number, complete: boolean, objects: Record<string, { count: number, done: boolean }> },
 *   timeline_history?: { done: boolean, events: number, recorded: number, held: number } | null }} Connection
 */

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
export const syncBusy = (/** @type {Connection} */ c) =>
  ['pending', 'running', 'error'].includes(c.sync.state) ||
  (c.sync.state === 'done' && (!c.sync.complete || !c.timeline_history?.done));

/**
 * @param {Connection[]} conns
 * @param {SettingsHost} host
 */
export function connectionsSection(conns, host) {
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
            await api('POST', `${STRIPE_BASE}/actions/${name}`, { connection_id: c.id });
            await host.render();
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
