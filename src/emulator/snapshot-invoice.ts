// A full invoice from a snapshot's partial one (snapshots carry totals, not line-level detail).
import type Stripe from 'stripe';
import { fill, type BuildEnv } from './build-env.ts';

export function buildSnapshotInvoice(env: BuildEnv, partial: Partial<Stripe.Invoice>): Stripe.Invoice {
  const id = partial.id ?? env.ids('in', 24);
  const total = partial.total ?? partial.amount_due ?? 0;
  const base: Stripe.Invoice = {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Settle Emulator',
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: total,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: true,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: partial.parent ? 'subscription_cycle' : 'manual',
    collection_method: 'charge_automatically',
    created: env.now,
    currency: 'usd',
    custom_fields: null,
    customer: null,
    customer_account: null,
    customer_address: null,
    customer_email: null,
    customer_name: null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: env.now,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: [], has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: env.livemode,
    metadata: {},
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: partial.created ?? env.now,
    period_start: partial.created ?? env.now,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: 'open',
    status_transitions: {
      finalized_at: partial.created ?? env.now,
      marked_uncollectible_at: null,
      paid_at: null,
      voided_at: null,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
  const inv = fill(base, partial);
  if (inv.parent?.subscription_details && inv.parent.quote_details === undefined)
    inv.parent = { ...inv.parent, quote_details: null };
  if (inv.parent?.subscription_details && inv.parent.subscription_details.metadata === undefined) {
    inv.parent = {
      ...inv.parent,
      subscription_details: { ...inv.parent.subscription_details, metadata: {} },
    };
  }
  return inv;
}
