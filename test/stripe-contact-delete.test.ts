// A contact deleted while the Stripe app links a customer to it (DELETE /api/contacts/:id, from the inbox or a
// script). The app's link then names a contact that is gone, and `contact_events` refuses entries for it. The link
// must count as none: the customer is matched again (§3.2) at its next change, its timeline entries are held until
// then rather than failing, a teammate's link to the deleted contact does not survive on another contact, and no job
// fails for it (retrying forever, or dead with its work lost).
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { holdTimelineEntry } from '../src/apps/stripe/held-timeline.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { customerWithCard } from '../src/emulator/test-support.ts';
import { createContact } from '../src/platform/contacts/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs, emulatorStripe, installStripeApp } from './helpers/stripe-app.ts';

const DAY = 86_400;

describe.each(dbKinds())('Stripe customers whose contact was deleted, on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  let stripe: Stripe;
  let connectionId: string;
  /** Customer ids by name. */
  const cus: Record<string, string> = {};

  const drain = () => drainStripeJobs(h, emu);
  const host = () => h.platform.apps.host(h.workspace.id, 'stripe');
  const contactsWith = async (email: string) =>
    (
      await h.platform.db.query<{ id: string; custom_attributes: Record<string, unknown> }>(
        'SELECT id, custom_attributes FROM contacts WHERE workspace_id = $1 AND email_normalized = $2',
        [h.workspace.id, email],
      )
    ).rows;
  const linkOf = async (customerId: string) => {
    const rec = await host()
      .records<{ contact_id: string; method: string }>('links')
      .get(`${connectionId}:${customerId}`);
    return rec && !rec.deleted ? rec.data : undefined;
  };
  const deleteContact = async (id: string) => {
    const res = await h.request('token', { method: 'DELETE', url: `/api/contacts/${id}` });
    expect(res.statusCode).toBe(200);
  };
  /** Timeline entry names on a contact, by Stripe event id. */
  const timeline = async (contactId: string) =>
    (
      await h.platform.db.query<{ key: string; name: string }>(
        'SELECT idempotency_key AS key, name FROM contact_events WHERE workspace_id = $1 AND contact_id = $2',
        [h.workspace.id, contactId],
      )
    ).rows.map((r) => ({ event: r.key.slice('stripe:'.length), name: r.name }));
  /** The last job before the running test: each test looks at its own jobs only. */
  let firstJob = 0;
  /** Stripe app jobs of this test that failed at least once (retried, or dead). */
  const failedJobs = async () =>
    (
      await h.platform.db.query<{
        queue: string;
        status: string;
        attempts: number;
        last_error: string | null;
      }>(
        `SELECT queue, status, attempts, last_error FROM jobs WHERE workspace_id = $1 AND id > $2
            AND queue LIKE 'app:stripe:%' AND (status = 'dead' OR last_error IS NOT NULL)`,
        [h.workspace.id, firstJob],
      )
    ).rows;
  const eventsOf = (customerId: string) =>
    [...emu.emulator.account(emu.key).events.values()].filter(
      (e) => (e.data.object as { customer?: unknown }).customer === customerId,
    );

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    h.platform.config.publicUrl = await h.server.listen({ port: 0, host: '127.0.0.1' });
    emu = await startEmulator({ port: 0 });
    stripe = emulatorStripe(emu);
    // Yesterday, before the connection: history for the timeline_history job.
    const now = emu.clock.now();
    emu.clock.set(now - DAY);
    for (const name of ['ann', 'hal', 'ivy', 'dot']) {
      cus[name] = (await customerWithCard(stripe, `${name}@example.com`)).id;
      await stripe.charges.create({ amount: 1000, currency: 'usd', customer: cus[name], source: 'tok_visa' });
    }
    cus.bob = (await stripe.customers.create({ email: 'bob@example.com' })).id;
    // No email: known to the host app by its user id only.
    cus.cy = (await stripe.customers.create({ name: 'Cy', metadata: { user_id: 'u_cy' } })).id;
    emu.clock.set(Math.floor(Date.now() / 1000));
    await createContact(h.platform.db, h.workspace.id, { role: 'user', external_id: 'u_cy' });
    await installStripeApp(h);
    const connected = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(connected.statusCode).toBe(200);
    connectionId = (connected.json() as { connection: { id: string } }).connection.id;
    await drain();
    expect(await failedJobs()).toEqual([]);
  }, 180_000);
  beforeEach(async () => {
    const r = await h.platform.db.query<{ n: number }>(
      'SELECT coalesce(max(id), 0)::int AS n FROM jobs WHERE workspace_id = $1',
      [h.workspace.id],
    );
    firstJob = r.rows[0]!.n;
  });
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  it("a customer's next events go to a contact matched again, with nothing failing", async () => {
    const [gone] = await contactsWith('ann@example.com');
    expect(gone?.custom_attributes).toMatchObject({ stripe_id: cus.ann });
    await deleteContact(gone!.id);
    const charge = await stripe.charges.create({
      amount: 2500,
      currency: 'usd',
      customer: cus.ann!,
      source: 'tok_visa',
    });
    await stripe.refunds.create({ charge: charge.id });
    await drain();
    // §3.2 again: no contact holds ann@example.com, so one is created, as for any unmatched customer.
    const [again] = await contactsWith('ann@example.com');
    expect(again?.id).not.toBe(gone!.id);
    expect(again?.custom_attributes).toMatchObject({ stripe_id: cus.ann, stripe_total_spend: 10 });
    expect((await timeline(again!.id)).map((e) => e.name).sort()).toEqual(['charge_refunded', 'charged']);
    expect(await failedJobs()).toEqual([]);
  }, 120_000);

  it('an event whose customer another job already refetched records its entry without failing once', async () => {
    const [gone] = await contactsWith('ann@example.com');
    await deleteContact(gone!.id);
    const charge = [...emu.emulator.account(emu.key).charges.values()].find((c) => c.customer === cus.ann)!;
    // Received before the stored charge was fetched: the job takes the store as up to date and neither refetches
    // nor recomputes (apply.ts, coalescing), so only its timeline entry meets the stale link.
    const event = {
      id: 'evt_contact_delete_coalesced',
      object: 'event',
      type: 'charge.succeeded',
      created: charge.created,
      data: { object: charge },
    };
    await stripeApp.jobs.apply_event!(
      host(),
      { connectionId, receivedAt: Date.now() - 3_600_000, event },
      { attempt: 1, lastAttempt: false, signal: new AbortController().signal, rerun: false },
    );
    const [again] = await contactsWith('ann@example.com');
    expect(again?.id).not.toBe(gone!.id);
    expect(await timeline(again!.id)).toContainEqual({ event: event.id, name: 'charged' });
  });

  it("a teammate's link to a deleted contact is gone: the customer is matched by email, not linked by a teammate", async () => {
    const zed = await createContact(h.platform.db, h.workspace.id, {
      role: 'user',
      email: 'zed@example.com',
    });
    const linked = await h.request('teammate', {
      method: 'POST',
      url: '/api/apps/stripe/actions/link_customer',
      payload: { contact_id: zed.id, customer_id: cus.bob },
    });
    expect(linked.statusCode).toBe(200);
    const [bob] = await contactsWith('bob@example.com');
    expect(bob?.custom_attributes).not.toHaveProperty('stripe_id');
    await deleteContact(zed.id);
    await stripe.customers.update(cus.bob!, { balance: 300 });
    await drain();
    expect(await linkOf(cus.bob!)).toMatchObject({ contact_id: bob!.id, method: 'email' });
    expect((await contactsWith('bob@example.com'))[0]?.custom_attributes).toMatchObject({
      stripe_id: cus.bob,
      stripe_account_balance: 3,
    });
    expect(await failedJobs()).toEqual([]);
  }, 120_000);

  it('a customer with no email loses its link and holds its entries until its user is back', async () => {
    const cy = await h.platform.db.query<{ id: string }>(
      "SELECT id FROM contacts WHERE workspace_id = $1 AND external_id = 'u_cy'",
      [h.workspace.id],
    );
    expect(await linkOf(cus.cy!)).toMatchObject({ contact_id: cy.rows[0]!.id, method: 'user_id' });
    await deleteContact(cy.rows[0]!.id);
    const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: cus.cy! });
    const charge = await stripe.charges.create({
      amount: 700,
      currency: 'usd',
      customer: cus.cy!,
      payment_method: pm.id,
    } as Stripe.ChargeCreateParams);
    await drain();
    expect(await linkOf(cus.cy!)).toBeUndefined();
    expect(await failedJobs()).toEqual([]);
    // The host app signs the user in again: a new contact with that user id, found at the customer's next change.
    const back = await createContact(h.platform.db, h.workspace.id, { role: 'user', external_id: 'u_cy' });
    await stripe.customers.update(cus.cy!, { balance: 100 });
    await drain();
    expect(await linkOf(cus.cy!)).toMatchObject({ contact_id: back.id, method: 'user_id' });
    const chargeEvent = eventsOf(cus.cy!).find(
      (e) => e.type === 'charge.succeeded' && (e.data.object as { id: string }).id === charge.id,
    );
    expect(await timeline(back.id)).toContainEqual({ event: chargeEvent!.id, name: 'charged' });
  }, 120_000);

  it('the history import holds the entries of a deleted contact and finishes', async () => {
    const [gone] = await contactsWith('hal@example.com');
    const history = eventsOf(cus.hal!).filter((e) => ['charge.succeeded'].includes(e.type));
    expect(history.length).toBeGreaterThan(0);
    expect((await timeline(gone!.id)).map((e) => e.event)).toEqual(
      expect.arrayContaining(history.map((e) => e.id)),
    );
    await deleteContact(gone!.id);
    // As if the import had not reached this customer's page yet when the contact was deleted (a million events
    // take minutes): its checkpoint is forgotten and the job runs again from the start.
    await host().records('event_cursors').purge(`history:${connectionId}`);
    await host().jobs.enqueue('timeline_history', { connectionId });
    await drain();
    const status = (
      await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })
    ).json() as { connections: { timeline_history: { done: boolean; held: number } | null }[] };
    expect(status.connections[0]?.timeline_history).toMatchObject({ done: true });
    expect(status.connections[0]?.timeline_history?.held).toBeGreaterThanOrEqual(history.length);
    expect(await failedJobs()).toEqual([]);
    // The next sync (a new backfill run, with no change in Stripe) matches it again, and the held entries follow,
    // once each.
    const sync = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/sync',
      payload: { connection_id: connectionId },
    });
    expect(sync.statusCode).toBe(200);
    await drain();
    const [again] = await contactsWith('hal@example.com');
    expect(again?.id).not.toBe(gone!.id);
    const entries = (await timeline(again!.id)).map((e) => e.event);
    for (const e of history) expect(entries.filter((id) => id === e.id)).toHaveLength(1);
  }, 120_000);

  it('holding an entry for a customer whose link names a deleted contact keeps it held, not failing', async () => {
    const [gone] = await contactsWith('ivy@example.com');
    await deleteContact(gone!.id);
    const entry = {
      name: 'charged',
      createdAt: new Date(),
      metadata: { charge_id: 'ch_held', amount: 1, currency: 'usd' },
      idempotencyKey: 'evt_held_for_ivy',
    };
    await holdTimelineEntry(host(), connectionId, cus.ivy!, 'evt_held_for_ivy', entry);
    await stripe.customers.update(cus.ivy!, { balance: 400 });
    await drain();
    const [again] = await contactsWith('ivy@example.com');
    expect(again?.id).not.toBe(gone!.id);
    expect(await timeline(again!.id)).toContainEqual({ event: 'evt_held_for_ivy', name: 'charged' });
    expect(await failedJobs()).toEqual([]);
  }, 120_000);

  it("cards and views show no deleted contact's customer; a lead with its address gets it at the next change", async () => {
    const [gone] = await contactsWith('dot@example.com');
    const lead = await createContact(h.platform.db, h.workspace.id, {
      role: 'lead',
      email: 'dot@example.com',
    });
    const card = async (id: string) =>
      (
        (await h.request('teammate', { method: 'GET', url: `/api/contacts/${id}/cards` })).json() as {
          data: { view: { subtitle?: string; empty_state?: string; sections: unknown[] } }[];
        }
      ).data[0]?.view;
    expect((await card(lead.id))?.subtitle).toContain('lead matched by email');
    await deleteContact(gone!.id);
    // Nothing reads the link from the deleted contact's side: the lead finds no linked contact with its address.
    expect((await card(lead.id))?.empty_state).toMatch(/No Stripe customer is linked/);
    const views = await Promise.all(
      ['status', 'conflicts'].map(async (v) =>
        JSON.stringify(
          (await h.request('admin', { method: 'GET', url: `/api/apps/stripe/views/${v}` })).json(),
        ),
      ),
    );
    for (const v of views) expect(v).not.toContain(gone!.id);
    // §3.2 matches leads by email too: the customer's next change links it to the lead (no new user is made).
    await stripe.customers.update(cus.dot!, { balance: 500 });
    await drain();
    expect(await linkOf(cus.dot!)).toMatchObject({ contact_id: lead.id, method: 'email' });
    expect(JSON.stringify(await card(lead.id))).toContain(cus.dot!);
    expect(await contactsWith('dot@example.com')).toHaveLength(1);
    expect(await failedJobs()).toEqual([]);
  }, 120_000);
});
