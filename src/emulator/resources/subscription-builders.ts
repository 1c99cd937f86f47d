// Subscription and subscription item objects, in the current API shapes (item-level current_period_*).
import type Stripe from 'stripe';
import { fill, type BuildEnv } from '../build-env.ts';
import { nextPeriodEnd } from './billing.ts';
import { planOf } from './catalog.ts';

export function buildSubscriptionItem(
  env: BuildEnv,
  price: Stripe.Price,
  partial: Partial<Stripe.SubscriptionItem>,
): Stripe.SubscriptionItem {
  return fill<Stripe.SubscriptionItem>(
    {
      id: env.ids('si', 14),
      object: 'subscription_item',
      billing_thresholds: null,
      created: env.now,
      current_period_end: nextPeriodEnd(env.now, price.recurring),
      current_period_start: env.now,
      current_trial: null,
      discounts: [],
      metadata: {},
      plan: planOf(price),
      price,
      quantity: 1,
      subscription: '',
      tax_rates: [],
    },
    { ...partial, price, plan: planOf(price) },
  );
}

export function buildSubscription(
  env: BuildEnv,
  partial: Partial<Stripe.Subscription> = {},
): Stripe.Subscription {
  const id = partial.id ?? env.ids('sub', 24);
  const base: Stripe.Subscription = {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: env.now,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: 'charge_automatically',
    created: env.now,
    currency: 'usd',
    customer: '',
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: 'self' },
    },
    items: { object: 'list', data: [], has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    livemode: env.livemode,
    managed_payments: null,
    metadata: {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: env.now,
    status: 'incomplete',
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: {
      end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' },
    },
    trial_start: null,
  };
  return fill(base, { ...partial, id });
}

export function customerId(s: Stripe.Subscription): string {
  return typeof s.customer === 'string' ? s.customer : s.customer.id;
}
