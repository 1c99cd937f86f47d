// The timeline's history (DESIGN.md §3.4, issue #5 item 4): an account connected today shows the billing events of
// its last 30 days on its contacts' timelines, each once, at its Stripe time, from the account's /v1/events, while
// the attributes come from the backfill alone. Older events are not listed (Stripe keeps 30 days); a customer no
// contact holds gets its entries when one does; events delivered live after the connection are not doubled.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { historyFaults } from '../src/apps/stripe/timeline-history.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { customerWithCard } from '../src/emulator/test-support.ts';
import { TIMELINE_TYPES } from './helpers/convergence-suite.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs, emulatorStripe, installStripeApp } from './helpers/stripe-app.ts';

const DAY = 86_400;

describe.each(dbKinds())('Stripe timeline history on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  let stripe: Stripe;

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    h.platform.config.publicUrl = await h.server.listen({ port: 0, host: '127.0.0.1' });
    emu = await startEmulator({ port: 0 });
    stripe = emulatorStripe(emu);
    await installStripeApp(h);
  }, 120_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  /** Timeline rows by Stripe event id. */
  const recorded = async () => {
    const r = await h.platform.db.query<{
      key: string;
      name: string;
      created_at: Date;
      email: string | null;
    }>(
      `SELECT e.idempotency_key AS key, e.name, e.created_at, c.email
         FROM contact_events e JOIN contacts c ON c.id = e.contact_id AND c.workspace_id = e.workspace_id
        WHERE e.workspace_id = $1`,
      [h.workspace.id],
    );
    const byEvent = new Map<string, typeof r.rows>();
    for (const row of r.rows) {
      const id = row.key.slice('stripe:'.length);
      byEvent.set(id, [...(byEvent.get(id) ?? []), row]);
    }
    return byEvent;
  };
  const timelineEvents = (customers: readonly string[]) =>
    [...emu.emulator.account(emu.key).events.values()].filter((e) => {
      const obj = e.data.object as { customer?: string | null };
      return (
        TIMELINE_TYPES.has(e.type) && typeof obj.customer === 'string' && customers.includes(obj.customer)
      );
    });

  it('imports the last 30 days of events before the connection, once each, and nothing older', async () => {
    const now = emu.clock.now();
    // 40 days ago: beyond what Stripe keeps.
    emu.clock.set(now - 40 * DAY);
    const ada = await customerWithCard(stripe, 'ada@example.com');
    const old = await stripe.charges.create({
      amount: 1000,
      currency: 'usd',
      customer: ada.id,
      source: 'tok_visa',
    });
    // 20 days ago: a subscription (its invoice and charge) and a charge refunded yesterday.
    emu.clock.set(now - 20 * DAY);
    const price = await stripe.prices.create({
      currency: 'usd',
      unit_amount: 2900,
      recurring: { interval: 'month' },
      product_data: { name: 'Pro' },
    });
    await stripe.subscriptions.create({ customer: ada.id, items: [{ price: price.id }] });
    const refunded = await stripe.charges.create({
      amount: 2000,
      currency: 'usd',
      customer: ada.id,
      source: 'tok_visa',
    });
    // Yesterday: everything else before the connection, so that none of it is within the catch-up's overlap (the
    // seconds before the connection, which it lists again): the history alone brings it.
    emu.clock.set(now - DAY);
    await stripe.refunds.create({ charge: refunded.id });
    await expect(
      stripe.charges.create({ amount: 500, currency: 'usd', customer: ada.id, source: 'tok_chargeDeclined' }),
    ).rejects.toThrow(/declined/);
    // More than one page of history: 110 charges over ten customers.
    const many: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await stripe.customers.create({ email: `many${i}@example.com` });
      many.push(c.id);
      for (let j = 0; j < 11; j++)
        await stripe.charges.create({ amount: 100 + j, currency: 'usd', customer: c.id, source: 'tok_visa' });
    }
    // No email: no contact holds it until it gets one.
    const anon = await stripe.customers.create({ name: 'No Email Yet' });
    const anonCharge = await stripe.charges.create({
      amount: 3000,
      currency: 'usd',
      customer: anon.id,
      source: 'tok_visa',
    });

    emu.clock.set(Math.floor(Date.now() / 1000));
    // The import stops after its first page, as a killed worker would; the retry goes on from its checkpoint.
    historyFaults.failAfterPages = 1;
    const connected = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(connected.statusCode).toBe(200);
    await drainStripeJobs(h, emu);

    const expected = timelineEvents([ada.id, ...many]).filter((e) => e.created >= now - 30 * DAY);
    expect(expected.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'customer.subscription.created',
        'invoice.created',
        'charge.succeeded',
        'charge.refunded',
        'charge.failed',
      ]),
    );
    expect(expected.length).toBeGreaterThan(115);
    const rows = await recorded();
    for (const e of expected) {
      const mine = rows.get(e.id) ?? [];
      expect(mine, `${e.type} ${e.id}`).toHaveLength(1);
      expect(mine[0]!.created_at.getTime(), e.id).toBe(e.created * 1000);
    }
    // The 40-day-old charge is not there; nothing but the listed events is.
    const oldEvent = timelineEvents([ada.id]).find(
      (e) => e.type === 'charge.succeeded' && (e.data.object as { id: string }).id === old.id,
    );
    expect(oldEvent).toBeDefined();
    expect(rows.get(oldEvent!.id)).toBeUndefined();
    expect(rows.size).toBe(expected.length);
    // The attributes are the backfill's: the refund and the old charge both count in the total as Stripe has it.
    const adaContact = await h.platform.db.query<{ custom_attributes: Record<string, unknown> }>(
      'SELECT custom_attributes FROM contacts WHERE workspace_id = $1 AND email = $2',
      [h.workspace.id, 'ada@example.com'],
    );
    expect(adaContact.rows[0]?.custom_attributes).toMatchObject({ stripe_subscription_status: 'active' });

    expect(historyFaults.failAfterPages).toBe(0);
    // Listed once each: a restart from the beginning would have listed the first page twice.
    const status = (
      await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })
    ).json() as { connections: { timeline_history: Record<string, unknown> | null }[] };
    const anonEvents = timelineEvents([anon.id]);
    expect(status.connections[0]?.timeline_history).toEqual({
      done: true,
      events: expected.length + anonEvents.length,
      recorded: expected.length,
      held: anonEvents.length,
    });

    // The customer with no email gets a contact when it gets an address: its charge arrives then, once.
    await stripe.customers.update(anon.id, { email: 'later@example.com' });
    // A charge after the connection comes by webhook, not twice through the history.
    const live = await stripe.charges.create({
      amount: 4200,
      currency: 'usd',
      customer: ada.id,
      source: 'tok_visa',
    });
    await drainStripeJobs(h, emu);
    const after = await recorded();
    const anonCharged = timelineEvents([anon.id]).find(
      (e) => (e.data.object as { id: string }).id === anonCharge.id,
    );
    expect(after.get(anonCharged!.id)?.map((r) => r.email)).toEqual(['later@example.com']);
    const liveEvent = timelineEvents([ada.id]).find(
      (e) => e.type === 'charge.succeeded' && (e.data.object as { id: string }).id === live.id,
    );
    expect(after.get(liveEvent!.id)).toHaveLength(1);
    expect(after.size).toBe(expected.length + anonEvents.length + 1);
  }, 180_000);
});
