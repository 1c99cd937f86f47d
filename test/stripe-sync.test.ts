// The Stripe app end to end: the official SDK drives the emulator, Settle connects to it over HTTP, backfills it,
// and receives its signed webhooks on a real port. Expected attribute values are the hand-worked ones of
// src/apps/stripe/attributes-fixture.test.ts (the same snapshot).
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppHost } from '../src/app-sdk/index.ts';
import { applyFaults } from '../src/apps/stripe/apply.ts';
import { loadCatalog } from '../src/apps/stripe/bundle.ts';
import { getConnection } from '../src/apps/stripe/connections.ts';
import { storeObject } from '../src/apps/stripe/pages.ts';
import { settleCustomers } from '../src/apps/stripe/settle-batch.ts';
import type { Connection } from '../src/apps/stripe/store.ts';
import { backfillFaults } from '../src/apps/stripe/backfill.ts';
import { requestStats } from '../src/apps/stripe/client.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { signPayload } from '../src/apps/stripe/signature.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { jobRepository } from '../src/jobs/repository.ts';
import { createContact } from '../src/platform/contacts/service.ts';
import { customerWithCard } from '../src/emulator/test-support.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs, installStripeApp } from './helpers/stripe-app.ts';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/stripe/agent-eval-fixture.json', import.meta.url), 'utf8'),
) as unknown;
const iso = (s: string) => Date.parse(s) / 1000;

describe.each(dbKinds())('stripe sync engine on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  let stripe: Stripe;
  let publicUrl: string;
  const ids: Record<string, string> = {};

  const contact = async (id: string) =>
    (await h.request('admin', { method: 'GET', url: `/api/contacts/${id}` })).json() as {
      id: string;
      email: string | null;
      custom_attributes: Record<string, unknown>;
    };
  const status = async () =>
    (await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })).json() as {
      connections: {
        id: string;
        primary: boolean;
        mode: string;
        sync: { complete: boolean; state: string };
      }[];
    };
  const drain = () => drainStripeJobs(h, emu);
  const timeline = async (contactId: string) => {
    const r = await h.platform.db.query<{ name: string; metadata: Record<string, unknown> }>(
      'SELECT name, metadata FROM contact_events WHERE workspace_id = $1 AND contact_id = $2 ORDER BY created_at',
      [h.workspace.id, contactId],
    );
    return r.rows;
  };

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    publicUrl = await h.server.listen({ port: 0, host: '127.0.0.1' });
    h.platform.config.publicUrl = publicUrl;
    emu = await startEmulator({ port: 0 });
    emu.loadSnapshot(fixture);
    stripe = new Stripe(emu.key, {
      host: '127.0.0.1',
      port: emu.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
    // Ada is known to the host app by user id under another email: metadata.user_id must find her.
    await stripe.customers.update('cus_ada01', { metadata: { user_id: 'u_ada' } });
    const ws = h.workspace.id;
    ids.ada = (
      await createContact(h.platform.db, ws, {
        role: 'user',
        external_id: 'u_ada',
        email: 'ada@elsewhere.test',
      })
    ).id;
    // Bob's contact email differs only in case: §3.2 compares case-insensitively.
    ids.bob = (await createContact(h.platform.db, ws, { role: 'user', email: 'Bob@Example.COM' })).id;
    ids.cy = (
      await createContact(h.platform.db, ws, { role: 'user', external_id: 'u_cy', email: 'cy@example.com' })
    ).id;
    await installStripeApp(h);
  }, 180_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  it('refuses an invalid key with a 400 naming api_key, and the key appears in no answer or log line', async () => {
    const badKey = 'sk_nope_0123456789abcdef';
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: badKey, api_base: emu.url },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_api_key', path: 'api_key' } });
    expect(res.body).not.toContain(badKey);
    expect(h.logLines.join('\n')).not.toContain(badKey);
    const teammate = await h.request('teammate', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(teammate.statusCode).toBe(403);
  });

  it('connects: webhook endpoint in Stripe, secrets sealed, backfill complete with hand-worked attributes', async () => {
    const account = (await stripe.accounts.retrieveCurrent()).id;
    const eventListings = () => requestStats.get(account)?.byEndpoint.events ?? 0;
    const listedBefore = eventListings();
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(emu.key);
    const conn = (res.json() as { connection: { id: string; primary: boolean; mode: string } }).connection;
    expect(conn).toMatchObject({ primary: true, mode: 'test' });
    ids.conn = conn.id;
    const endpoints = await stripe.webhookEndpoints.list();
    expect(endpoints.data.map((e) => e.url)).toEqual([
      expect.stringContaining(`${publicUrl}/webhooks/stripe/`),
    ]);
    // Sealed: the secrets table holds neither the key nor the signing secret in clear.
    const sealed = await h.platform.db.query<{ name: string; value: unknown }>(
      "SELECT * FROM app_secrets WHERE workspace_id = $1 AND app_id = 'stripe'",
      [h.workspace.id],
    );
    expect(sealed.rows.map((r) => r.name).sort()).toEqual([
      `api_key:${conn.id}`,
      `webhook_secret:${conn.id}`,
    ]);
    expect(JSON.stringify(sealed.rows)).not.toContain(emu.key);
    expect(JSON.stringify(sealed.rows)).not.toContain('whsec_');

    const again = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(again.statusCode).toBe(409);

    await drain();
    const st = await status();
    expect(st.connections[0]?.sync).toMatchObject({ state: 'done', complete: true });
    // The sync also started the events catch-up, whose listing goes through the account's request budget.
    expect(eventListings()).toBeGreaterThan(listedBefore);

    const ada = await contact(ids.ada!);
    expect(ada.custom_attributes).toMatchObject({
      stripe_id: 'cus_ada01',
      stripe_account_balance: -5,
      stripe_plan: 'Pro',
      stripe_plan_price: 49,
      stripe_subscription_status: 'active',
      stripe_card_brand: 'visa',
      stripe_card_expires_at: iso('2027-04-30T23:59:59Z'),
      stripe_mrr: 49,
      stripe_total_spend: 196,
      stripe_last_payment_status: 'succeeded',
      stripe_livemode: false,
    });
    const bob = await contact(ids.bob!);
    expect(bob.custom_attributes).toMatchObject({
      stripe_id: 'cus_bob01',
      stripe_subscription_status: 'past_due',
      stripe_delinquent: true,
      stripe_plan: 'Team',
      stripe_mrr: 40.83,
      stripe_last_payment_status: 'failed',
      stripe_total_spend: 490,
    });
    const cy = await contact(ids.cy!);
    expect(cy.custom_attributes).toMatchObject({
      stripe_subscription_status: 'canceled',
      stripe_plan: 'Starter',
      stripe_mrr: 0,
      stripe_cancel_at_period_end: true,
      stripe_total_spend: 57,
    });
    // Dee had no contact: the sync created a user with her email.
    const found = await h.platform.db.query<{ id: string }>(
      "SELECT id FROM contacts WHERE workspace_id = $1 AND lower(email) = 'dee@example.com'",
      [h.workspace.id],
    );
    const dee = await Promise.all(found.rows.map(async (r) => ({ ...(await contact(r.id)), role: 'user' })));
    expect(dee).toHaveLength(1);
    expect(dee[0]).toMatchObject({ role: 'user' });
    expect(dee[0]?.custom_attributes).toMatchObject({
      stripe_subscription_status: 'trialing',
      stripe_mrr: 0,
      stripe_trial_end_at: 1796911200,
      stripe_card_brand: 'amex',
    });
    ids.dee = dee[0]!.id;
  }, 180_000);

  it('a backfill killed mid-way resumes from its checkpoint and reports complete only at the end', async () => {
    const before = await contact(ids.bob!);
    backfillFaults.failAfterPages = 2;
    const sync = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/sync',
      payload: {},
    });
    expect(sync.statusCode).toBe(200);
    expect((await status()).connections[0]?.sync.complete).toBe(false);
    await drain();
    expect(backfillFaults.failAfterPages).toBeNull(); // the fault fired
    const st = (await status()).connections[0]?.sync;
    expect(st).toMatchObject({ state: 'done', complete: true });
    const objects = (
      st as unknown as { objects: Record<string, { pages: number; count: number; ranges: number }> }
    ).objects;
    // Each range is one page here: resuming re-listed nothing that was checkpointed.
    expect(objects.customers).toMatchObject({ count: 6, done: true });
    expect(objects.customers?.pages).toBe(objects.customers?.ranges);
    expect(objects.products?.pages).toBe(1);
    expect((await contact(ids.bob!)).custom_attributes).toEqual(before.custom_attributes);
  }, 180_000);

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

  it('a charge of a customer nobody matches yet reaches the timeline of the contact it gets later, once', async () => {
    const anon = await stripe.customers.create({ name: 'No Email Yet' });
    const charge = await stripe.charges.create({
      amount: 2500,
      currency: 'usd',
      customer: anon.id,
      source: 'tok_visa',
    });
    await drain();
    const held = await h.platform.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM contact_events WHERE workspace_id = $1 AND metadata->>'charge_id' = $2",
      [h.workspace.id, charge.id],
    );
    expect(held.rows[0]?.n).toBe(0); // no contact to put it on yet

    await stripe.customers.update(anon.id, { email: 'later@example.com' });
    await drain();
    const found = await h.platform.db.query<{ id: string }>(
      "SELECT id FROM contacts WHERE workspace_id = $1 AND email_normalized = 'later@example.com'",
      [h.workspace.id],
    );
    expect(found.rows).toHaveLength(1);
    const charged = (await timeline(found.rows[0]!.id)).filter((e) => e.name === 'charged');
    expect(charged).toHaveLength(1);
    expect(charged[0]?.metadata).toMatchObject({ charge_id: charge.id, amount: 25 });
    const at = await h.platform.db.query<{ created_at: Date }>(
      "SELECT created_at FROM contact_events WHERE workspace_id = $1 AND metadata->>'charge_id' = $2",
      [h.workspace.id, charge.id],
    );
    // At the charge's own time in Stripe, not when the contact appeared.
    expect(at.rows.map((r) => r.created_at.getTime())).toEqual([charge.created * 1000]);

    // A later change links nothing new and records nothing twice.
    await stripe.customers.update(anon.id, { balance: 100 });
    await drain();
    expect((await timeline(found.rows[0]!.id)).filter((e) => e.name === 'charged')).toHaveLength(1);
  }, 120_000);

  it('a contact whose creation is slow is still made once, however many jobs want it meanwhile', async () => {
    // The creating insert takes 1.5 s (an overloaded database): a job that looks the address up meanwhile finds no
    // contact yet, and must wait for that one rather than make its own.
    await h.platform.db.exec(`
      CREATE FUNCTION test_slow_contact() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.email = 'slow@example.com' THEN PERFORM pg_sleep(1.5); END IF; RETURN NEW; END $$;
      CREATE TRIGGER test_slow_contact BEFORE INSERT ON contacts
        FOR EACH ROW EXECUTE FUNCTION test_slow_contact();`);
    try {
      await stripe.customers.create({ email: 'slow@example.com', name: 'Slow' });
      await drain();
    } finally {
      await h.platform.db.exec(`
        DROP TRIGGER test_slow_contact ON contacts;
        DROP FUNCTION test_slow_contact();`);
    }
    const made = await h.platform.db.query<{ id: string }>(
      "SELECT id FROM contacts WHERE workspace_id = $1 AND email_normalized = 'slow@example.com'",
      [h.workspace.id],
    );
    expect(made.rows).toHaveLength(1);
  }, 120_000);

  it('a backfill page that finds its new address taken since its lookup links that contact, and makes no second', async () => {
    // The page settle looked the address up, found nobody, and is about to create the contact; meanwhile another
    // writer (an apply job for the same new customer's webhook, a teammate) creates it. Before, the settle's
    // insert made a second contact for the address.
    const host = h.platform.apps.host(h.workspace.id, 'stripe');
    const conn = (await getConnection(host, ids.conn as string)) as Connection;
    const template = await stripe.customers.retrieve('cus_bob01');
    const customer = { ...template, id: 'cus_settle_race', email: 'Race@Example.com', name: 'Race' };
    await storeObject(host, conn.id, 'customers', customer, Date.now());
    const racing: AppHost = {
      ...host,
      contacts: {
        ...host.contacts,
        async createUsers(inputs) {
          await createContact(h.platform.db, h.workspace.id, { role: 'user', email: 'race@example.com' });
          return host.contacts.createUsers(inputs);
        },
      },
    };
    const stats = await settleCustomers(
      racing,
      conn,
      [customer.id],
      await loadCatalog(host, conn.id),
      'user_id',
      new Map([[customer.id, customer as Stripe.Customer]]),
    );
    expect(stats).toMatchObject({ created: 0, slow: 1 });
    const made = await h.platform.db.query<{ id: string }>(
      "SELECT id FROM contacts WHERE workspace_id = $1 AND email_normalized = 'race@example.com'",
      [h.workspace.id],
    );
    expect(made.rows).toHaveLength(1);
    expect((await contact(made.rows[0]!.id)).custom_attributes).toMatchObject({
      stripe_id: 'cus_settle_race',
    });
  }, 60_000);

  it("a teammate's link outranks the email match and stays through changes; unlinking gives the customer back", async () => {
    const act = (
      role: 'teammate' | 'messenger_user' | 'anonymous',
      name: string,
      payload: Record<string, string>,
    ) => h.request(role, { method: 'POST', url: `/api/apps/stripe/actions/${name}`, payload });
    const zed = await createContact(h.platform.db, h.workspace.id, {
      role: 'user',
      email: 'zed@example.com',
    });
    const cardOf = async (id: string) =>
      JSON.stringify(
        (await h.request('teammate', { method: 'GET', url: `/api/contacts/${id}/cards` })).json(),
      );

    // Refused, each naming what is wrong, and nothing changes.
    const noContact = await act('teammate', 'link_customer', {
      contact_id: 'nope',
      customer_id: 'cus_bob01',
    });
    expect(noContact.statusCode).toBe(404);
    expect(noContact.json()).toMatchObject({ error: { code: 'contact_not_found', path: 'contact_id' } });
    const noCustomer = await act('teammate', 'link_customer', {
      contact_id: zed.id,
      customer_id: 'cus_nope',
    });
    expect(noCustomer.statusCode).toBe(404);
    expect(noCustomer.json()).toMatchObject({ error: { code: 'customer_not_found', path: 'customer_id' } });
    const badId = await act('teammate', 'link_customer', { contact_id: zed.id, customer_id: 'bob' });
    expect(badId.statusCode).toBe(400);
    expect(JSON.stringify(badId.json())).toContain('customer_id');
    for (const role of ['messenger_user', 'anonymous'] as const)
      expect(
        (await act(role, 'link_customer', { contact_id: zed.id, customer_id: 'cus_bob01' })).statusCode,
      ).toBeGreaterThanOrEqual(401);
    const automatic = await act('teammate', 'unlink_customer', {
      contact_id: ids.bob!,
      customer_id: 'cus_bob01',
    });
    expect(automatic.statusCode).toBe(400);
    expect(automatic.json()).toMatchObject({
      error: { code: 'not_linked_by_teammate', path: 'customer_id' },
    });
    expect((await contact(ids.bob!)).custom_attributes).toMatchObject({ stripe_id: 'cus_bob01' });

    // Linked: Zed holds Bob's customer, Bob (matched by email until now) keeps no billing data.
    const linked = await act('teammate', 'link_customer', { contact_id: zed.id, customer_id: 'cus_bob01' });
    expect(linked.statusCode).toBe(200);
    expect(linked.json()).toMatchObject({ link: { contact_id: zed.id, method: 'manual' } });
    expect((await contact(zed.id)).custom_attributes).toMatchObject({ stripe_id: 'cus_bob01' });
    expect((await contact(ids.bob!)).custom_attributes).not.toHaveProperty('stripe_id');
    expect(await cardOf(zed.id)).toContain('linked by a teammate');

    // A later change of the customer, arriving by webhook, leaves the link where the teammate put it.
    await stripe.customers.update('cus_bob01', { balance: 4200 });
    await drain();
    expect((await contact(zed.id)).custom_attributes).toMatchObject({
      stripe_id: 'cus_bob01',
      stripe_account_balance: 42,
    });
    expect((await contact(ids.bob!)).custom_attributes).not.toHaveProperty('stripe_id');

    // A new customer with Zed's address claims Zed by email, but the teammate's link keeps Zed: a conflict the
    // settings page lists, though no two customers share an address.
    const rival = await stripe.customers.create({ email: 'ZED@example.com', name: 'Zed Rival' });
    await drain();
    const conflicts = async () =>
      (
        (await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/conflicts' })).json() as {
          connections: { conflicts: Record<string, unknown>[] }[];
        }
      ).connections[0]?.conflicts;
    expect(await conflicts()).toEqual([
      {
        contactId: zed.id,
        email: 'zed@example.com',
        winner: 'cus_bob01',
        winnerMethod: 'link',
        losers: [rival.id],
      },
    ]);
    await stripe.customers.del(rival.id);
    await drain();
    expect(await conflicts()).toEqual([]);

    // Unlinked: automatic matching decides again, and Bob's email wins the customer back.
    const unlinked = await act('teammate', 'unlink_customer', {
      contact_id: zed.id,
      customer_id: 'cus_bob01',
    });
    expect(unlinked.statusCode).toBe(200);
    expect((await contact(zed.id)).custom_attributes).not.toHaveProperty('stripe_id');
    expect((await contact(ids.bob!)).custom_attributes).toMatchObject({
      stripe_id: 'cus_bob01',
      stripe_account_balance: 42,
    });
    const again = await act('teammate', 'unlink_customer', { contact_id: zed.id, customer_id: 'cus_bob01' });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ error: { code: 'link_not_found', path: 'customer_id' } });
  }, 120_000);

  it("a lead with a linked contact's email shows that customer's card, without getting its attributes", async () => {
    const ws = h.workspace.id;
    const lead = await createContact(h.platform.db, ws, { role: 'lead', email: 'bob@example.com' });
    const stranger = await createContact(h.platform.db, ws, { role: 'lead', email: 'nobody@example.com' });
    const cards = async (id: string) =>
      (
        (await h.request('teammate', { method: 'GET', url: `/api/contacts/${id}/cards` })).json() as {
          data: {
            view: {
              subtitle?: string;
              empty_state?: string;
              sections: { title: string; rows: { label: string; value: string }[] }[];
            };
          }[];
        }
      ).data.map((c) => c.view);
    const [card] = await cards(lead.id);
    expect(card?.subtitle).toContain('lead matched by email');
    const customerRows = card?.sections.find((x) => x.title === 'Customer')?.rows ?? [];
    expect(customerRows).toContainEqual({ label: 'ID', value: 'cus_bob01' });
    // The customer's attributes stay on the user it is linked to: a segment counts the customer once.
    expect((await contact(lead.id)).custom_attributes).not.toHaveProperty('stripe_id');
    expect((await contact(ids.bob!)).custom_attributes).toMatchObject({ stripe_id: 'cus_bob01' });
    const [none] = await cards(stranger.id);
    expect(none?.empty_state).toBe('No Stripe customer is linked to this contact. Link one by its id:');
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

  it('while sync is off the catch-up keeps its chain without listing, so turning sync on needs no webhook', async () => {
    const conn = (await status()).connections.find((c) => c.primary)!;
    const account = (await stripe.accounts.retrieveCurrent()).id;
    const listings = () => requestStats.get(account)?.byEndpoint.events ?? 0;
    const settingsUrl = '/api/apps/stripe/settings';
    const current = (await h.request('admin', { method: 'GET', url: settingsUrl })).json() as {
      settings: Record<string, unknown>;
    };
    const put = (settings: Record<string, unknown>) =>
      h.request('admin', { method: 'PUT', url: settingsUrl, payload: { settings } });
    const queued = async () =>
      (
        await h.platform.db.query<{ slot: number }>(
          "SELECT (payload->>'slot')::bigint AS slot FROM jobs WHERE workspace_id = $1 AND queue = 'app:stripe:catch_up' AND status = 'queued'",
          [h.workspace.id],
        )
      ).rows;
    expect((await put({ ...current.settings, sync_enabled: false })).statusCode).toBe(200);
    try {
      // This run is the chain's only link: the next one exists only if this run makes it.
      await h.platform.db.query(
        "DELETE FROM jobs WHERE workspace_id = $1 AND queue = 'app:stripe:catch_up' AND status = 'queued'",
        [h.workspace.id],
      );
      const before = listings();
      const host = h.platform.apps.host(h.workspace.id, 'stripe');
      const ctx = { attempt: 1, lastAttempt: false, signal: new AbortController().signal, rerun: false };
      await stripeApp.jobs.catch_up!(host, { connectionId: conn.id, slot: 1 }, ctx);
      expect(listings()).toBe(before);
      expect((await queued()).map((j) => Number(j.slot) > 1)).toEqual([true]);
    } finally {
      await put(current.settings);
    }
  }, 60_000);

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
