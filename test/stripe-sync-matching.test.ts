// The Stripe app end to end, after the backfill: which contact a customer goes to. A charge held until its
// customer matches someone, a contact made once however many jobs race for it, a teammate's link against the email
// match (and the conflict it leaves), and a lead's card. The set-up (emulator, snapshot, connection) is
// helpers/stripe-sync.ts.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppHost } from '../src/app-sdk/index.ts';
import { loadCatalog } from '../src/apps/stripe/bundle.ts';
import { getConnection } from '../src/apps/stripe/connections.ts';
import { storeObject } from '../src/apps/stripe/pages.ts';
import { settleCustomers } from '../src/apps/stripe/settle-batch.ts';
import type { Connection } from '../src/apps/stripe/store.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { dbKinds } from '../src/db/test-db.ts';
import type { RunningEmulator } from '../src/emulator/index.ts';
import { createContact } from '../src/platform/contacts/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs } from './helpers/stripe-app.ts';
import {
  connectAndBackfill,
  contactOf,
  startStripeSync,
  timelineOf,
  type SyncIds,
} from './helpers/stripe-sync.ts';

describe.each(dbKinds())('stripe sync engine on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  let stripe: Stripe;
  const ids: SyncIds = {};

  const contact = (id: string) => contactOf(h, id);
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
});
