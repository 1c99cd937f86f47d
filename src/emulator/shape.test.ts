// Each emulated resource carries the keys of Stripe's own sample object (shared/stripe-openapi/fixtures3.json,
// API 2026-07-29.dahlia). Differences are listed below, each explained by the newer API version the SDK pins
// (2026-10-28.endive) or by a documented "only when expanded/requested" rule.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from './test-support.ts';

const fixtures = (
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../../test/fixtures/stripe/fixtures3.json'), 'utf8'),
  ) as {
    resources: Record<string, Record<string, unknown>>;
  }
).resources;

/** Keys in the sample that the emulated object does not have, and why. */
const EXPECTED_MISSING: Record<string, Record<string, string>> = {
  invoice: {
    subscription:
      'removed from Invoice in the SDK types of 2026-10-28.endive; read parent.subscription_details.subscription',
  },
  account: {
    capabilities: 'Connect-only detail; not part of the emulated platform account',
    controller: 'Connect-only detail',
    external_accounts: 'payout bank accounts are not emulated',
    future_requirements: 'Connect onboarding requirements are not emulated',
    requirements: 'Connect onboarding requirements are not emulated',
    tos_acceptance: 'Connect onboarding is not emulated',
  },
};

let emu: TestEmulator;
const samples: Record<string, unknown> = {};

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 21 });
  const s = emu.stripe;
  const rx = 'http://127.0.0.1:9/hook';
  const customer = await s.customers.create({ email: 'shape@example.com', payment_method: 'pm_card_visa' });
  const product = await s.products.create({ name: 'Shape' });
  const price = await s.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 1000,
    recurring: { interval: 'month' },
  });
  const coupon = await s.coupons.create({ percent_off: 10, duration: 'forever' });
  const pm = (await s.paymentMethods.list({ customer: customer.id })).data[0] as Stripe.PaymentMethod;
  const sub = await s.subscriptions.create({
    customer: customer.id,
    items: [{ price: price.id }],
    default_payment_method: pm.id,
    discounts: [{ coupon: coupon.id }],
    expand: ['discounts'],
  });
  const invoice = await s.invoices.retrieve(sub.latest_invoice as string);
  const charge = (await s.charges.list({ customer: customer.id })).data[0] as Stripe.Charge;
  const refund = await s.refunds.create({ charge: charge.id, amount: 100 });
  const pi = await s.paymentIntents.retrieve(charge.payment_intent as string);
  const session = await s.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: price.id }],
    success_url: 'https://example.com',
  });
  const items = await s.checkout.sessions.listLineItems(session.id);
  const portal = await s.billingPortal.sessions.create({
    customer: customer.id,
    return_url: 'https://example.com',
  });
  const endpoint = await s.webhookEndpoints.create({ url: rx, enabled_events: ['*'] });
  const { secret: _secret, ...endpointWithoutSecret } = endpoint;
  Object.assign(samples, {
    customer: await s.customers.retrieve(customer.id),
    product,
    price,
    coupon,
    payment_method: pm,
    subscription: sub,
    subscription_item: sub.items.data[0],
    discount: sub.discounts[0],
    plan: sub.items.data[0]?.plan,
    invoice,
    line_item: invoice.lines.data[0],
    charge,
    refund,
    payment_intent: pi,
    'checkout.session': session,
    item: items.data[0],
    'billing_portal.session': portal,
    event: (await s.events.list({ limit: 1 })).data[0],
    webhook_endpoint: endpointWithoutSecret,
    account: await s.accounts.retrieveCurrent(),
  });
  await s.webhookEndpoints.del(endpoint.id);
});
afterAll(() => emu.close());

describe("resource shapes match Stripe's samples", () => {
  const names = [
    'customer',
    'product',
    'price',
    'coupon',
    'payment_method',
    'subscription',
    'subscription_item',
    'discount',
    'plan',
    'invoice',
    'line_item',
    'charge',
    'refund',
    'payment_intent',
    'checkout.session',
    'item',
    'billing_portal.session',
    'event',
    'webhook_endpoint',
    'account',
  ];
  for (const name of names) {
    it(name, () => {
      const sample = fixtures[name];
      const ours = samples[name] as Record<string, unknown> | undefined;
      expect(sample, `fixture for ${name}`).toBeDefined();
      expect(ours, `emulated ${name}`).toBeDefined();
      const missing = Object.keys(sample ?? {})
        .filter((k) => !(k in (ours ?? {})))
        .sort();
      expect(missing).toEqual(Object.keys(EXPECTED_MISSING[name] ?? {}).sort());
      expect(ours?.object).toBe(sample?.object);
    });
  }

  it('customer.subscriptions appears only when expanded', () => {
    expect('subscriptions' in (samples.customer as object)).toBe(false);
  });
});
