// The Stripe app end to end, after the backfill: how changes made in Stripe reach contacts. Signed webhooks (and
// the ones refused), attribute values the backfill did not have (a card's expiry, a coupon, a tiered price),
// apply-event jobs run batched or again after a failure, a deleted contact made again, and the card's Refresh
// when no webhook came. The tests share one account and run in order: the last two start from what the SDK
// changes left (Dee's subscription canceled, Ada's balance and charge), so they live here with that test. The
// set-up (emulator, snapshot, connection) is helpers/stripe-sync.ts.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFaults } from '../src/apps/stripe/apply.ts';
import { requestStats } from '../src/apps/stripe/client.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { signPayload } from '../src/apps/stripe/signature.ts';
import { dbKinds } from '../src/db/test-db.ts';
import type { RunningEmulator } from '../src/emulator/index.ts';
import { jobRepository } from '../src/jobs/repository.ts';
import { customerWithCard } from '../src/emulator/test-support.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs } from './helpers/stripe-app.ts';
import {
  connectAndBackfill,
  contactOf,
  startStripeSync,
  syncStatus,
  timelineOf,
  type SyncIds,
} from './helpers/stripe-sync.ts';

describe.each(dbKinds())('stripe sync engine on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  let stripe: Stripe;
  const ids: SyncIds = {};

  const contact = (id: string) => contactOf(h, id);
  const status = () => syncStatus(h);
  const drain = () => drainStripeJobs(h, emu);
  const timeline = (contactId: string) => timelineOf(h, contactId);

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    ({ emu, stripe } = await startStripeSync(h, ids));
    await connectAndBackfill(h, emu, ids);
  }, 180_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  it('rejects forged, wrongly keyed, stale, malformed and altered webhooks, and ignores a replay', async () => {
    const ep = (await stripe.webhookEndpoints.list()).data[0]!;
    const url = new URL(ep.url).pathname;
    const body = JSON.stringify({
      id: 'evt_forged_1',
      object: 'event',
      type: 'customer.updated',
      // Stripe's clock: the emulator's, frozen at the snapshot's "now".
      created: emu.clock.now(),
      livemode: false,
      data: { object: { id: 'cus_ada01', object: 'customer' } },
    });
    const now = Math.floor(Date.now() / 1000);
    const secret =
      ep.secret ??
      (await h.platform.apps.host(h.workspace.id, 'stripe').secret(`webhook_secret:${ids.conn}`))!;
    const post = (payload: string, signature: string | undefined) =>
      h.server.inject({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'stripe-signature': signature } : {}),
        },
        payload,
      });
    const jobsBefore = await jobRepository.counts(h.platform.db, h.workspace.id);
    const cases = {
      forged: `t=${now},v1=${'ab'.repeat(32)}`,
      wrongSecret: signPayload({ payload: body, secret: 'whsec_wrong', timestamp: now }),
      stale: signPayload({ payload: body, secret, timestamp: now - 301 }),
      malformed: 'garbage',
      missing: undefined,
    };
    for (const [name, sig] of Object.entries(cases)) {
      const res = await post(body, sig);
      expect(res.statusCode, name).toBe(400);
    }
    const signed = signPayload({ payload: body, secret, timestamp: now });
    expect((await post(body.replace('cus_ada01', 'cus_bob01'), signed)).statusCode).toBe(400);
    expect(await jobRepository.counts(h.platform.db, h.workspace.id)).toEqual(jobsBefore);

    expect((await post(body, signed)).json()).toMatchObject({ received: true, duplicate: false });
    expect((await post(body, signed)).json()).toMatchObject({ received: true, duplicate: true });
    await drain();
  });

  it('changes made through the SDK arrive by webhook and update attributes and the timeline exactly once', async () => {
    await stripe.customers.update('cus_ada01', { balance: 1234 });
    await stripe.subscriptions.cancel('sub_dee');
    await drain();
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({ stripe_account_balance: 12.34 });
    const dee = await contact(ids.dee!);
    expect(dee.custom_attributes).toMatchObject({ stripe_subscription_status: 'canceled', stripe_mrr: 0 });
    const deeEvents = (await timeline(ids.dee!)).filter((e) => e.name === 'deleted_subscription');
    expect(deeEvents).toHaveLength(1);
    expect(deeEvents[0]?.metadata).toMatchObject({ subscription_id: 'sub_dee', plan: 'Pro' });

    // A charge: recorded once on the timeline, counted in total spend.
    await stripe.charges.create({ amount: 1000, currency: 'usd', customer: 'cus_ada01', source: 'tok_visa' });
    await drain();
    const charged = (await timeline(ids.ada!)).filter((e) => e.name === 'charged');
    expect(charged).toHaveLength(1);
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({ stripe_total_spend: 206 });
  }, 180_000);

  it("a card's new expiry reaches the contact when Stripe announces the payment method's change", async () => {
    const expiresAt = async () => (await contact(ids.ada!)).custom_attributes.stripe_card_expires_at;
    expect(await expiresAt()).toBe(Date.UTC(2027, 4, 1) / 1000 - 1); // pm_ada: 04/2027
    // The card was renewed: its expiry changes, and nothing else does (the customer still names pm_ada).
    await stripe.paymentMethods.update('pm_ada', { card: { exp_month: 1, exp_year: 2031 } });
    await drain();
    expect(await expiresAt()).toBe(Date.UTC(2031, 1, 1) / 1000 - 1);
  }, 60_000);

  it('a coupon made after the backfill counts in stripe_mrr once a subscription uses it', async () => {
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({ stripe_mrr: 49 });
    const coupon = await stripe.coupons.create({ percent_off: 10, duration: 'forever' });
    await stripe.subscriptions.update('sub_ada', { discounts: [{ coupon: coupon.id }] });
    await drain();
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({ stripe_mrr: 44.1 });
  }, 60_000);

  it('a tiered price counts from its tiers in stripe_plan_price and stripe_mrr, by webhook and by a new sync', async () => {
    const account = (await stripe.accounts.retrieveCurrent()).id;
    const priceFetches = () => requestStats.get(account)?.byEndpoint.prices ?? 0;
    const product = await stripe.products.create({ name: 'Seats' });
    // Graduated, per month: a $20 flat fee and $10 a seat for seats 1–5, $8 a seat from the 6th.
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      recurring: { interval: 'month' },
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 5, unit_amount: 1000, flat_amount: 2000 },
        { up_to: 'inf', unit_amount: 800 },
      ],
    });
    const customer = await customerWithCard(stripe, 'tiered@example.com');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 12 }],
    });
    expect(sub.items.data[0]?.price.tiers).toBeUndefined(); // Stripe sends tiers only when expanded
    const fetchesBefore = priceFetches();
    await drain();
    const found = await h.platform.db.query<{ id: string }>(
      "SELECT id FROM contacts WHERE workspace_id = $1 AND email_normalized = 'tiered@example.com'",
      [h.workspace.id],
    );
    expect(found.rows).toHaveLength(1);
    // 12 seats: 20 + 5 × 10 + 7 × 8 = 126.
    const expected = { stripe_plan: 'Seats', stripe_plan_price: 126, stripe_mrr: 126 };
    expect((await contact(found.rows[0]!.id)).custom_attributes).toMatchObject(expected);
    const card = JSON.stringify(
      (
        await h.request('teammate', { method: 'GET', url: `/api/contacts/${found.rows[0]!.id}/cards` })
      ).json(),
    );
    expect(card).toContain('"value":"126 USD/month');
    // Fetched once, then kept: later events of the subscription ask Stripe for the price no more.
    expect(priceFetches() - fetchesBefore).toBe(1);
    await stripe.subscriptions.update(sub.id, { metadata: { touched: 'yes' } });
    await drain();
    expect(priceFetches() - fetchesBefore).toBe(1);

    // A new sync lists the subscription without tiers (too deep to expand in a list) and fills them in too.
    await h.platform.db.query(
      "DELETE FROM app_records WHERE workspace_id = $1 AND app_id = 'stripe' AND collection = 'prices'",
      [h.workspace.id],
    );
    const sync = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/sync',
      payload: {},
    });
    expect(sync.statusCode).toBe(200);
    await drain();
    expect((await status()).connections[0]?.sync).toMatchObject({ state: 'done', complete: true });
    expect(priceFetches() - fetchesBefore).toBe(2);
    expect((await contact(found.rows[0]!.id)).custom_attributes).toMatchObject(expected);
  }, 120_000);

  /** Apply-event jobs run here, as the worker runs them: a customer changed with no webhook, then announced. */
  const applying = async () => {
    const conn = (await status()).connections.find((c) => c.primary)!;
    const acct = emu.emulator.account(emu.key);
    const host = h.platform.apps.host(h.workspace.id, 'stripe');
    const signal = new AbortController().signal;
    const event = (n: number, customer: string) => ({
      connectionId: conn.id,
      receivedAt: Date.now(),
      event: {
        id: `evt_batch_${n}`,
        object: 'event',
        type: 'customer.updated',
        created: Math.floor(Date.now() / 1000),
        data: { object: acct.customers.get(customer) },
      },
    });
    return {
      balanceOf: (id: string) => acct.customers.get(id)!.balance,
      setBalance: (id: string, balance: number) =>
        acct.customers.put({ ...acct.customers.get(id)!, balance }),
      event,
      run: (events: ReturnType<typeof event>[]) =>
        stripeApp.batches!.apply_event!.run(host, events, { signal, reruns: events.map(() => false) }),
      runAlone: (e: ReturnType<typeof event>, rerun: boolean) =>
        stripeApp.jobs.apply_event!(host, e, { attempt: 1, lastAttempt: false, signal, rerun }),
    };
  };

  it('a batch of events (as a busy worker runs them) applies each, with one refetch per object', async () => {
    const { balanceOf, setBalance, event, run } = await applying();
    const before = { ada: balanceOf('cus_ada01'), bob: balanceOf('cus_bob01') };
    // Changed in the emulator's memory (no webhook of its own), then announced by four events: three about Ada's
    // customer, one about Bob's.
    setBalance('cus_ada01', 777);
    setBalance('cus_bob01', 888);
    const retrieved: string[] = [];
    const limiter = emu.emulator.rateLimiter;
    const check = limiter.check.bind(limiter);
    limiter.check = (account, route) => {
      if (route === 'GET /v1/customers/:id') retrieved.push(route);
      return check(account, route);
    };
    try {
      const outcomes = await run([
        event(1, 'cus_ada01'),
        event(2, 'cus_bob01'),
        event(3, 'cus_ada01'),
        event(4, 'cus_ada01'),
      ]);
      expect(outcomes).toEqual([undefined, undefined, undefined, undefined]);
    } finally {
      limiter.check = check;
    }
    expect(retrieved).toHaveLength(2);
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({ stripe_account_balance: 7.77 });
    expect((await contact(ids.bob!)).custom_attributes).toMatchObject({ stripe_account_balance: 8.88 });

    // Back as they were (later tests expect the earlier balances), by another batch.
    setBalance('cus_ada01', before.ada);
    setBalance('cus_bob01', before.bob);
    expect(await run([event(5, 'cus_ada01'), event(6, 'cus_bob01')])).toEqual([undefined, undefined]);
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({
      stripe_account_balance: before.ada / 100,
    });
    expect((await contact(ids.bob!)).custom_attributes).toMatchObject({
      stripe_account_balance: before.bob / 100,
    });
  });

  it('an event whose run stored the refetched customer and then failed is applied in full when it runs again', async () => {
    const { balanceOf, setBalance, event, run, runAlone } = await applying();
    const before = balanceOf('cus_ada01');
    setBalance('cus_ada01', 555);
    const e = event(7, 'cus_ada01');
    // The batch refetches and stores Ada's customer, then fails before recomputing (as a process dying there).
    applyFaults.failAfterStore = true;
    await expect(run([e])).rejects.toThrow('injected failure after store');
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({
      stripe_account_balance: before / 100,
    });
    // The worker then runs the event alone, as a rerun. The stored copy is newer than the event, but it must not
    // be taken as another job's work in progress: nobody else would recompute Ada.
    await runAlone(e, true);
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({ stripe_account_balance: 5.55 });

    setBalance('cus_ada01', before);
    await runAlone(event(8, 'cus_ada01'), false);
    expect((await contact(ids.ada!)).custom_attributes).toMatchObject({
      stripe_account_balance: before / 100,
    });
  });

  it('a contact the sync created and an admin deleted is created again when its customer changes, every time', async () => {
    // Twice, back to back: nothing that made the first one may stop the second.
    for (const balance of [-500, -700]) {
      const gone = ids.dee!;
      const del = await h.request('admin', { method: 'DELETE', url: `/api/contacts/${gone}` });
      expect(del.statusCode).toBe(200);
      await stripe.customers.update('cus_dee01', { balance });
      await drain();
      const found = await h.platform.db.query<{ id: string }>(
        "SELECT id FROM contacts WHERE workspace_id = $1 AND lower(email) = 'dee@example.com'",
        [h.workspace.id],
      );
      expect(found.rows).toHaveLength(1);
      const again = await contact(found.rows[0]!.id);
      expect(again.id).not.toBe(gone);
      expect(again.custom_attributes).toMatchObject({
        stripe_account_balance: balance / 100,
        stripe_subscription_status: 'canceled',
      });
      ids.dee = again.id;
    }
  }, 120_000);

  it("the card's Refresh refetches what changed in Stripe when no webhook said so", async () => {
    // The endpoint is disabled while the account changes, so nothing is delivered.
    const endpoint = (await stripe.webhookEndpoints.list()).data[0] as Stripe.WebhookEndpoint;
    await stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
    try {
      await stripe.customers.update('cus_ada01', { balance: 4321 });
      await stripe.charges.create({
        amount: 500,
        currency: 'usd',
        customer: 'cus_ada01',
        source: 'tok_visa',
      });
      expect((await contact(ids.ada!)).custom_attributes).toMatchObject({
        stripe_account_balance: 12.34,
        stripe_total_spend: 206,
      });
      const url = `/api/contacts/${ids.ada}/cards/stripe/stripe/actions/refresh`;
      const res = await h.request('teammate', { method: 'POST', url, payload: {} });
      expect(res.statusCode).toBe(200);
      expect((await contact(ids.ada!)).custom_attributes).toMatchObject({
        stripe_account_balance: 43.21,
        stripe_total_spend: 211,
      });
    } finally {
      await stripe.webhookEndpoints.update(endpoint.id, { disabled: false });
    }
  }, 60_000);
});
