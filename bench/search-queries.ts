/** The ten billing queries of the contacts search benchmark (bench/search.ts, docs/benchmarks.md). */
import type { QueryNode, Sort } from '../src/platform/search/schemas.ts';

/** 2026-01-01, fixed so the data and the date filters agree between runs. */
export const NOW = 1_767_225_600;

const f = (field: string, operator: string, value: unknown) => ({ field, operator, value }) as QueryNode;
export const QUERIES: { name: string; query: QueryNode; sort?: Sort }[] = [
  { name: 'stripe_plan = Pro', query: f('custom_attributes.stripe_plan', '=', 'Pro') },
  {
    name: 'stripe_account_balance > 10000',
    query: f('custom_attributes.stripe_account_balance', '>', 10000),
  },
  { name: 'stripe_delinquent = true', query: f('custom_attributes.stripe_delinquent', '=', true) },
  {
    name: 'stripe_subscription_status IN (past_due, unpaid)',
    query: f('custom_attributes.stripe_subscription_status', 'IN', ['past_due', 'unpaid']),
  },
  {
    name: 'stripe_card_expires_at < now + 30 days',
    query: f('custom_attributes.stripe_card_expires_at', '<', NOW + 30 * 86400),
  },
  { name: 'email ~ "ann.lee12"', query: f('email', '~', 'ann.lee12') },
  {
    name: 'Pro AND (balance > 0 OR delinquent) [nested]',
    query: {
      operator: 'AND',
      value: [
        f('custom_attributes.stripe_plan', '=', 'Pro'),
        {
          operator: 'OR',
          value: [
            f('custom_attributes.stripe_account_balance', '>', 0),
            f('custom_attributes.stripe_delinquent', '=', true),
          ],
        },
      ],
    },
  },
  {
    name: 'stripe_subscription_status NIN (active, trialing)',
    query: f('custom_attributes.stripe_subscription_status', 'NIN', ['active', 'trialing']),
  },
  { name: 'stripe_customer_id = null', query: f('custom_attributes.stripe_customer_id', '=', null) },
  {
    name: 'plan IN (Pro, Enterprise) sort card_expires_at asc',
    query: f('custom_attributes.stripe_plan', 'IN', ['Pro', 'Enterprise']),
    sort: { field: 'custom_attributes.stripe_card_expires_at', order: 'ascending' },
  },
];
