// The benchmark account: varied, consistent, and walkable through the API like any other.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLargeAccount } from './generator.ts';
import { startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ seed: 2 });
});
afterAll(() => emu.close());

describe('generateLargeAccount', () => {
  it('builds customers with cards, subscriptions across plans and intervals, failed and refunded charges', async () => {
    const r = generateLargeAccount(emu, { customers: 2000, seed: 4 });
    expect(r.customers).toBe(2000);
    const all = await emu.stripe.customers
      .list({ limit: 100, expand: ['data.invoice_settings.default_payment_method'] })
      .autoPagingToArray({ limit: 5000 });
    expect(all).toHaveLength(2000);
    expect(new Set(all.map((c) => c.id)).size).toBe(2000);
    const brands = new Set(
      all.map((c) => (c.invoice_settings.default_payment_method as Stripe.PaymentMethod).card?.brand),
    );
    expect(brands.size).toBeGreaterThanOrEqual(4);
    const subs = await emu.stripe.subscriptions
      .list({ status: 'all', limit: 100 })
      .autoPagingToArray({ limit: 5000 });
    expect(subs).toHaveLength(r.subscriptions);
    expect(new Set(subs.map((s) => s.status))).toEqual(
      new Set(['active', 'trialing', 'past_due', 'canceled', 'unpaid']),
    );
    expect(new Set(subs.map((s) => s.items.data[0]?.price.recurring?.interval))).toEqual(
      new Set(['month', 'year', 'week']),
    );
    expect(subs.some((s) => s.discounts.length > 0)).toBe(true);
    const charges = await emu.stripe.charges.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
    expect(charges).toHaveLength(r.charges);
    expect(charges.some((c) => c.status === 'failed')).toBe(true);
    expect(charges.filter((c) => c.refunded)).toHaveLength(r.refunds);
    const again = generateLargeAccount(emu.emulator, { customers: 10, seed: 4, key: 'sk_test_second' });
    const first = await emu.client('sk_test_second').customers.list({ limit: 100 });
    expect(first.data.map((c) => c.email).sort()).toEqual(
      all
        .slice(-10)
        .map((c) => c.email)
        .sort(),
    );
    expect(again.customers).toBe(10);
  });
});
