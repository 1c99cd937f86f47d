// The backfill settles pages side by side (keyed-queue.ts) and runs the careful path (customers sharing an email)
// alone. This checks the result does not depend on it: one account where many customers share emails (in every
// `created` range, with case differences) is backfilled by the sequential engine (`backfill_ranges: 1`, one page
// at a time) and by 8 concurrent ranges, into two workspaces; both must end with the same customers on the same
// contacts with the same attributes. Size: STRIPE_SHARED_EMAILS_TEST_CUSTOMERS (default 400).
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { generateLargeAccount, startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { emulatorStripe } from './helpers/stripe-app.ts';

const CUSTOMERS = Number(process.env.STRIPE_SHARED_EMAILS_TEST_CUSTOMERS ?? 400);

describe.each(dbKinds())('stripe backfill with shared emails on %s', (kind) => {
  let emu: RunningEmulator;
  const harnesses: Harness[] = [];
  let customers: Stripe.Customer[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, seed: 5 });
    generateLargeAccount(emu, {
      customers: CUSTOMERS,
      seed: 5,
      allSubscribed: true,
      multiSubscriptionShare: 0.2,
    });
    const stripe = emulatorStripe(emu);
    for await (const c of stripe.customers.list({ limit: 100 })) customers.push(c);
    // Every fifth customer joins one of 23 shared addresses, in alternating case: groups of ~5 customers created
    // months apart, so each group spans several ranges and pages.
    for (const [i, c] of customers.entries()) {
      if (i % 5 !== 0) continue;
      const n = (i / 5) % 23;
      const email = i % 2 === 0 ? `shared${n}@example.com` : `SHARED${n}@Example.COM`;
      await stripe.customers.update(c.id, { email });
    }
    customers = [];
    for await (const c of stripe.customers.list({ limit: 100 })) customers.push(c);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
    await emu?.close();
  });

  /** Backfills the account into a new workspace; answers its partition of customers by contact, with attributes. */
  async function backfill(ranges: number) {
    const h = await createHarness(kind, { registry: { stripe: stripeApp } });
    harnesses.push(h);
    const inst = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/install',
      payload: { settings: { backfill_ranges: ranges } },
    });
    expect(inst.statusCode).toBe(200);
    const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
    try {
      const res = await h.request('admin', {
        method: 'POST',
        url: '/api/apps/stripe/actions/connect',
        payload: { api_key: emu.key, api_base: emu.url },
      });
      expect(res.statusCode).toBe(200);
      let state = '';
      for (let i = 0; i < 1200 && state !== 'done' && state !== 'error'; i++) {
        const conn = await h.platform.db.query<{ data: { sync: { state: string } } }>(
          `SELECT data FROM app_records WHERE workspace_id = $1 AND app_id = 'stripe' AND collection = 'connections'`,
          [h.workspace.id],
        );
        state = conn.rows[0]?.data.sync.state ?? '';
        if (state !== 'done') await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).toBe('done');
    } finally {
      await worker.stop();
    }
    const rows = await h.platform.db.query<{
      customer_id: string;
      email: string;
      attrs: Record<string, unknown>;
    }>(
      `SELECT l.data->>'customer_id' AS customer_id, c.email_normalized AS email, c.custom_attributes AS attrs
       FROM app_records l JOIN contacts c ON c.workspace_id = l.workspace_id AND c.id = l.data->>'contact_id'
       WHERE l.workspace_id = $1 AND l.app_id = 'stripe' AND l.collection = 'links' AND NOT l.deleted`,
      [h.workspace.id],
    );
    // Contact ids differ between workspaces: a contact is named by the customers it holds.
    const byContact = new Map<
      string,
      { customers: string[]; email: string; attrs: Record<string, unknown> }
    >();
    for (const r of rows.rows) {
      const key = `${r.email}|${JSON.stringify(r.attrs)}`;
      const g = byContact.get(key) ?? { customers: [], email: r.email, attrs: r.attrs };
      g.customers.push(r.customer_id);
      byContact.set(key, g);
    }
    const contacts = await h.platform.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND custom_attributes ? 'stripe_id'`,
      [h.workspace.id],
    );
    const view = await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/conflicts' });
    expect(view.statusCode).toBe(200);
    const [viewed] = (
      view.json() as {
        connections: {
          conflicts: { email: string; winner: string; losers: string[]; contactId: string | null }[];
          truncated: boolean;
        }[];
      }
    ).connections;
    return {
      conflicts: viewed!,
      linkedCustomers: new Set(rows.rows.map((r) => r.customer_id)),
      linked: rows.rows.length,
      contactsWithStripe: contacts.rows[0]?.n ?? 0,
      groups: [...byContact.values()]
        .map((g) => ({ ...g, customers: g.customers.sort() }))
        .sort((a, b) => (a.customers[0] ?? '').localeCompare(b.customers[0] ?? '')),
    };
  }

  it('ends with the same contacts, links and attributes as the sequential engine', async () => {
    const sequential = await backfill(1);
    const concurrent = await backfill(8);

    // The account as set up: one contact per distinct address, holding one customer of its address (DESIGN.md
    // §3.2's fixed rule picks which); the other customers sharing it are left unlinked.
    const addresses = new Set(customers.map((c) => c.email?.toLowerCase()));
    expect(addresses.size).toBe(customers.length - Math.ceil(customers.length / 5) + 23);
    expect(sequential.contactsWithStripe).toBe(addresses.size);
    expect(sequential.linked).toBe(addresses.size);
    expect(new Set(sequential.groups.map((g) => g.email)).size).toBe(addresses.size);

    expect(concurrent.linked).toBe(sequential.linked);
    expect(concurrent.contactsWithStripe).toBe(sequential.contactsWithStripe);
    expect(concurrent.groups).toEqual(sequential.groups);

    // The settings page's conflicts: one per shared address, its winner the customer linked, the others losers.
    const byAddress = new Map<string, string[]>();
    for (const c of customers) {
      const e = c.email!.toLowerCase();
      byAddress.set(e, [...(byAddress.get(e) ?? []), c.id]);
    }
    const shared = [...byAddress].filter(([, ids]) => ids.length > 1);
    expect(shared).toHaveLength(23);
    for (const run of [sequential, concurrent]) {
      expect(run.conflicts.truncated).toBe(false);
      const got = run.conflicts.conflicts
        .map((c) => ({ email: c.email, customers: [c.winner, ...c.losers].sort(), winner: c.winner }))
        .sort((a, b) => a.email.localeCompare(b.email));
      expect(got.map(({ email, customers }) => ({ email, customers }))).toEqual(
        shared
          .map(([email, ids]) => ({ email, customers: [...ids].sort() }))
          .sort((a, b) => a.email.localeCompare(b.email)),
      );
      for (const c of got) expect(run.linkedCustomers.has(c.winner)).toBe(true);
    }
  }, 240_000);
});
