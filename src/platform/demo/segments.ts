import type { Queryable } from '../../db/client.ts';
import { createSegment } from '../search/service.ts';

/**
 * Billing segments of the demo, on the Stripe app's attributes (names only: the platform imports no app). Made once
 * the app is installed, so a newcomer sees segments in the API and in the inbox sidebar from the first start.
 */
export const demoSegments = [
  {
    name: 'Past due',
    query: {
      field: 'custom_attributes.stripe_subscription_status',
      operator: 'IN',
      value: ['past_due', 'unpaid'],
    },
  },
  {
    name: 'Trialing',
    query: { field: 'custom_attributes.stripe_subscription_status', operator: '=', value: 'trialing' },
  },
  {
    name: 'Paying Pro customers',
    query: {
      operator: 'AND',
      value: [
        { field: 'custom_attributes.stripe_plan', operator: '=', value: 'Pro' },
        { field: 'custom_attributes.stripe_subscription_status', operator: '=', value: 'active' },
      ],
    },
  },
  {
    name: 'Churned',
    query: { field: 'custom_attributes.stripe_subscription_status', operator: '=', value: 'canceled' },
  },
] as const;

export async function seedDemoSegments(db: Queryable, workspaceId: string): Promise<void> {
  for (const s of demoSegments) await createSegment(db, workspaceId, s);
}
