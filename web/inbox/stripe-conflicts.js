// Settings → Stripe, Email conflicts: emails shared by several Stripe customers of an account, and which customer
// each contact was linked to.
import { h } from '../shared/dom.js';

/**
 * @typedef {{ connection_id: string, account_id: string, conflicts: { email: string, contactId: string | null,
 *   winner: string, losers: string[] }[], truncated?: boolean }} ConflictGroup
 */

/** @param {ConflictGroup[]} groups */
export function conflictsSection(groups) {
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
