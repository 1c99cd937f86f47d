// Webhook endpoints through the API, deliveries signed as Stripe signs them (checked with the SDK's own
// constructEvent), retries, and the seeded faults.
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, startTestEmulator, until, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 3 });
  stripe = emu.stripe;
});
afterAll(() => emu.close());
beforeEach(async () => {
  await emu.control('webhook_faults', {
    drop: 0,
    duplicate: 0,
    delay_ms: 0,
    reorder_window_ms: 0,
    retry_base_ms: 20,
    max_attempts: 5,
    seed: 3,
  });
});

async function endpoint(url: string, events: string[] = ['*']): Promise<{ id: string; secret: string }> {
  const ep = await stripe.webhookEndpoints.create({
    url,
    enabled_events: events as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
  });
  expect(ep.secret).toMatch(/^whsec_/);
  return { id: ep.id, secret: ep.secret as string };
}

describe('webhook deliveries', () => {
  it('are signed so stripe.webhooks.constructEvent accepts them, and only for enabled events', async () => {
    const rx = await startReceiver();
    const ep = await endpoint(rx.url, ['customer.created', 'customer.updated']);
    const c = await stripe.customers.create({ email: 'hook@example.com' });
    await stripe.customers.update(c.id, { name: 'Hooked' });
    await stripe.products.create({ name: 'not subscribed' });
    await emu.webhooksIdle();
    expect(rx.received).toHaveLength(2);
    const events = rx.received.map((r) => {
      expect(r.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      return stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'] as string, ep.secret);
    });
    expect(events.map((e) => e.type)).toEqual(['customer.created', 'customer.updated']);
    expect(events[1]?.data.previous_attributes).toEqual({ name: null });
    expect(() =>
      stripe.webhooks.constructEvent(
        rx.received[0]?.body ?? '',
        rx.received[0]?.headers['stripe-signature'] as string,
        'whsec_wrong',
      ),
    ).toThrow();
    const stored = await stripe.events.retrieve(events[0]?.id as string);
    expect(stored.type).toBe('customer.created');
    await stripe.webhookEndpoints.del(ep.id);
    await rx.close();
  });

  it('are retried with backoff after a failure, and logged', async () => {
    const rx = await startReceiver((n) => (n < 2 ? 500 : 200));
    const ep = await endpoint(rx.url, ['coupon.created']);
    await stripe.coupons.create({ percent_off: 5, duration: 'once' });
    await until(() => rx.received.length === 3);
    const gaps = [rx.received[1]!.at - rx.received[0]!.at, rx.received[2]!.at - rx.received[1]!.at];
    const log = (await emu.control('webhook_deliveries')) as {
      data: Array<{
        endpoint: string;
        attempt: number;
        status: number;
        outcome: string;
        retry_in_ms?: number;
      }>;
    };
    const mine = log.data.filter((d) => d.endpoint === ep.id);
    // The backoff doubles, and no retry came sooner than its backoff (measured gaps only bound it from below: a
    // loaded machine delays timers, so comparing two measured gaps would be flaky).
    const backoff = mine.map((d) => d.retry_in_ms);
    expect(backoff[0]).toBeGreaterThan(0);
    expect(backoff).toEqual([backoff[0], 2 * backoff[0]!, undefined]);
    // Less 2 ms: timers and Date.now round to the millisecond.
    expect(gaps[0]).toBeGreaterThanOrEqual(backoff[0]! - 2);
    expect(gaps[1]).toBeGreaterThanOrEqual(backoff[1]! - 2);
    expect(mine.map((d) => [d.attempt, d.status, d.outcome])).toEqual([
      [1, 500, 'failed'],
      [2, 500, 'failed'],
      [3, 200, 'delivered'],
    ]);
    const ids = new Set(rx.received.map((r) => (JSON.parse(r.body) as { id: string }).id));
    expect(ids.size).toBe(1);
    await stripe.webhookEndpoints.del(ep.id);
    await rx.close();
  });

  it('faults: dropped attempts are retried later, duplicates arrive twice, delays hold deliveries', async () => {
    const rx = await startReceiver();
    const ep = await endpoint(rx.url, ['product.created']);
    await emu.control('webhook_faults', { duplicate: 1 });
    await stripe.products.create({ name: 'dup' });
    await emu.webhooksIdle();
    expect(rx.received).toHaveLength(2);
    expect(rx.received[0]?.body).toBe(rx.received[1]?.body);

    rx.received.length = 0;
    await emu.control('webhook_faults', { duplicate: 0, drop: 0.5, seed: 42 });
    for (let i = 0; i < 6; i++) await stripe.products.create({ name: `drop${i}` });
    await emu.webhooksIdle();
    const log = (await emu.control('webhook_deliveries')) as {
      data: Array<{ endpoint: string; outcome: string }>;
    };
    expect(log.data.filter((d) => d.endpoint === ep.id && d.outcome === 'dropped').length).toBeGreaterThan(0);
    const delivered = new Set(rx.received.map((r) => (JSON.parse(r.body) as { id: string }).id));
    expect(delivered.size).toBe(6);

    rx.received.length = 0;
    await emu.control('webhook_faults', { drop: 0, delay_ms: 250 });
    const t0 = Date.now();
    await stripe.products.create({ name: 'late' });
    await emu.webhooksIdle();
    expect(rx.received[0]!.at - t0).toBeGreaterThanOrEqual(240);
    await stripe.webhookEndpoints.del(ep.id);
    await rx.close();
  });

  it('faults: reorder shuffles deliveries within a window, deterministically for a seed', async () => {
    const rx = await startReceiver();
    const ep = await endpoint(rx.url, ['price.created']);
    await emu.control('webhook_faults', { reorder_window_ms: 1000, seed: 7 });
    const product = await stripe.products.create({ name: 'reorder' });
    const created: string[] = [];
    for (let i = 0; i < 6; i++)
      created.push(
        (await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 + i })).id,
      );
    await emu.webhooksIdle();
    const order = rx.received.map(
      (r) => ((JSON.parse(r.body) as Stripe.Event).data.object as Stripe.Price).id,
    );
    expect([...order].sort()).toEqual([...created].sort());
    expect(order).not.toEqual(created);
    await stripe.webhookEndpoints.del(ep.id);
    await rx.close();
  });
});
