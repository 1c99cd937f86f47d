// Several Stripe accounts connected at once (DESIGN §3.1): exactly one is primary; a contact takes its stripe_*
// attributes from the primary account's customer where it has several, and from its only account's customer
// otherwise; losing a customer hands the attributes to the next account that links the contact.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { startTestEmulator, type TestEmulator } from '../src/emulator/test-support.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs, installStripeApp } from './helpers/stripe-app.ts';

const SECOND_KEY = 'sk_test_second_account_0001';

describe.each(dbKinds())('several Stripe accounts on %s', (kind) => {
  let h: Harness;
  let emu: TestEmulator;
  let first: Stripe;
  let second: Stripe;
  const acct: Record<'first' | 'second', string> = { first: '', second: '' };
  const conn: Record<'first' | 'second', string> = { first: '', second: '' };

  const drain = () => drainStripeJobs(h, emu);
  const attributesOf = async (email: string) => {
    const found = await h.platform.db.query<{ custom_attributes: Record<string, unknown> }>(
      'SELECT custom_attributes FROM contacts WHERE workspace_id = $1 AND email_normalized = $2',
      [h.workspace.id, email],
    );
    expect(found.rows).toHaveLength(1);
    return found.rows[0]!.custom_attributes;
  };
  const contactIdOf = async (email: string) => {
    const found = await h.platform.db.query<{ id: string }>(
      'SELECT id FROM contacts WHERE workspace_id = $1 AND email_normalized = $2',
      [h.workspace.id, email],
    );
    return found.rows[0]!.id;
  };
  /** An admin's connection action (`set_primary`, `disconnect`), which must succeed. */
  const connectionAction = async (name: string, connectionId: string) => {
    const res = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/stripe/actions/${name}`,
      payload: { connection_id: connectionId },
    });
    expect(res.statusCode).toBe(200);
  };
  const connect = async (key: string) => {
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: key, api_base: emu.url },
    });
    expect(res.statusCode).toBe(200);
    return (res.json() as { connection: { id: string; primary: boolean } }).connection;
  };

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    h.platform.config.publicUrl = await h.server.listen({ port: 0, host: '127.0.0.1' });
    emu = await startTestEmulator({ port: 0 });
    first = emu.stripe;
    second = emu.client(SECOND_KEY);
    acct.first = (await first.accounts.retrieveCurrent()).id;
    acct.second = (await second.accounts.retrieveCurrent()).id;
    expect(acct.first).not.toBe(acct.second);
    await installStripeApp(h);
  }, 120_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  // QA: the 502 was right, but the server logged it as an "unhandled error" with a stack, like a bug.
  it('answers an unreachable API base with 502 stripe_unreachable, logged as a warning without a stack', async () => {
    const before = h.logLines.length;
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: 'sk_test_unreachable_0001', api_base: 'http://127.0.0.1:1' },
    });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'stripe_unreachable', path: 'api_base' } });
    const logged = h.logLines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 40,
        code: 'stripe_unreachable',
        msg: expect.stringMatching(/^stripe_unreachable: /),
      }),
    );
    expect(h.logLines.slice(before).join('\n')).not.toMatch(
      /unhandled error|"stack"|sk_test_unreachable_0001/,
    );
  });

  it('gives a contact the primary account’s values where both accounts have its customer, its only account’s otherwise', async () => {
    await first.customers.create({ email: 'both@example.com', balance: 1000 });
    await second.customers.create({ email: 'Both@Example.com', balance: 2000 });
    await second.customers.create({ email: 'only-second@example.com', balance: 3000 });
    const a = await connect(emu.key);
    const b = await connect(SECOND_KEY);
    expect([a.primary, b.primary]).toEqual([true, false]);
    conn.first = a.id;
    conn.second = b.id;
    await drain();
    expect(await attributesOf('both@example.com')).toMatchObject({
      stripe_account: acct.first,
      stripe_account_balance: 10,
    });
    // The card shows the primary account's customer, then the same contact's customer in the other account.
    const both = await contactIdOf('both@example.com');
    const cards = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${both}/cards`,
    });
    const view = (cards.json() as { data: { view: { sections: { title: string; rows: unknown[] }[] } }[] })
      .data[0]!.view;
    const titles = view.sections.map((x) => x.title);
    expect(titles[0]).toBe('Customer');
    expect(JSON.stringify(view.sections[0])).toContain(`${acct.first} (test)`);
    expect(titles).toContain(`Also in ${acct.second} (test)`);
    expect(JSON.stringify(view.sections.find((x) => x.title.startsWith('Also in')))).toContain('20 USD');
    // Before session 12 this contact was created without any stripe_* attribute.
    expect(await attributesOf('only-second@example.com')).toMatchObject({
      stripe_account: acct.second,
      stripe_account_balance: 30,
    });
  }, 120_000);

  it('hands the attributes to the other account when the primary’s customer goes, and back when one comes', async () => {
    const [gone] = (await first.customers.list({ email: 'both@example.com' })).data;
    await first.customers.del(gone!.id);
    await drain();
    expect(await attributesOf('both@example.com')).toMatchObject({
      stripe_account: acct.second,
      stripe_account_balance: 20,
    });

    const [only] = (await second.customers.list({ email: 'only-second@example.com' })).data;
    await second.customers.update(only!.id, { balance: 4000 });
    await drain();
    expect(await attributesOf('only-second@example.com')).toMatchObject({ stripe_account_balance: 40 });

    // The primary account gets a customer with that address: its values win from then on.
    await first.customers.create({ email: 'only-second@example.com', balance: 5000 });
    await drain();
    expect(await attributesOf('only-second@example.com')).toMatchObject({
      stripe_account: acct.first,
      stripe_account_balance: 50,
    });
  }, 120_000);

  it('follows a change of primary account', async () => {
    await connectionAction('set_primary', conn.second);
    await drain();
    expect(await attributesOf('only-second@example.com')).toMatchObject({
      stripe_account: acct.second,
      stripe_account_balance: 40,
    });
    expect(await attributesOf('both@example.com')).toMatchObject({ stripe_account: acct.second });
  }, 120_000);

  it('lets a teammate switch the card to the contact’s customer in another account', async () => {
    const id = await contactIdOf('only-second@example.com');
    type View = {
      sections: { title: string; rows: { label: string; value: string }[] }[];
      actions: { id: string; label: string; input?: unknown }[];
    };
    const cards = await h.request('teammate', { method: 'GET', url: `/api/contacts/${id}/cards` });
    const view = (cards.json() as { data: { view: View }[] }).data[0]!.view;
    // The primary (second) account's customer first, and a button for the first account's.
    expect(JSON.stringify(view.sections[0])).toContain(acct.second);
    const show = view.actions.find((a) => a.id === 'show_account');
    expect(show).toEqual({
      id: 'show_account',
      label: `Show ${acct.first} (test)`,
      input: { connection_id: conn.first },
    });
    const action = (name: string, input: unknown) =>
      h.request('teammate', {
        method: 'POST',
        url: `/api/contacts/${id}/cards/stripe/stripe/actions/${name}`,
        payload: input === undefined ? {} : { input },
      });
    const switched = await action('show_account', show!.input);
    expect(switched.statusCode).toBe(200);
    const other = switched.json() as View;
    expect(JSON.stringify(other.sections[0])).toContain(acct.first);
    expect(JSON.stringify(other.sections[0])).toContain('50 USD');
    expect(other.sections.map((x) => x.title)).toContain(`Also in ${acct.second} (test)`);
    expect(other.actions).toContainEqual({
      id: 'show_account',
      label: `Show ${acct.second} (test)`,
      input: { connection_id: conn.second },
    });
    // Refresh stays on the account shown; the attributes still come from the primary.
    const refresh = other.actions.find((a) => a.id === 'refresh')!;
    const refreshed = await action('refresh', refresh.input);
    expect(refreshed.statusCode).toBe(200);
    expect(JSON.stringify((refreshed.json() as View).sections[0])).toContain(acct.first);
    expect(await attributesOf('only-second@example.com')).toMatchObject({ stripe_account: acct.second });
    // A connection that does not link this contact, or no choice at all: a clear error.
    const unknown = await action('show_account', { connection_id: 'conn_nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'connection_not_found', path: 'connection_id' } });
    const missing = await action('show_account', undefined);
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: { code: 'invalid_input' } });
  }, 120_000);

  it('hands a disconnected account’s contacts to the account left, clears the others, and deletes its data', async () => {
    // The second account is primary now; both@ is linked only there, only-second@ in both accounts.
    await first.customers.create({ email: 'only-first@example.com', balance: 6000 });
    await drain();
    const storedOfSecond = async () =>
      (
        await h.platform.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM app_records WHERE workspace_id = $1 AND app_id = 'stripe' AND starts_with(key, $2)",
          [h.workspace.id, `${conn.second}:`],
        )
      ).rows[0]!.n;
    expect(await storedOfSecond()).toBeGreaterThan(0);

    await connectionAction('disconnect', conn.second);
    await drain();
    // The first account is primary again: its customer's values where it has one.
    expect(await attributesOf('only-second@example.com')).toMatchObject({
      stripe_account: acct.first,
      stripe_account_balance: 50,
    });
    expect(await attributesOf('only-first@example.com')).toMatchObject({
      stripe_account: acct.first,
      stripe_account_balance: 60,
    });
    // No account left has both@'s customer: no billing values (before, it kept the second account's for good).
    const both = await attributesOf('both@example.com');
    expect(Object.entries(both).filter(([k, v]) => k.startsWith('stripe_') && v !== null)).toEqual([]);
    // Nothing of the second account is kept: customers, subscriptions, links, cursors, tombstones.
    expect(await storedOfSecond()).toBe(0);
    const contact = await contactIdOf('only-second@example.com');
    const cards = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${contact}/cards`,
    });
    expect(cards.statusCode).toBe(200);
    expect(cards.body).toContain(acct.first);
    expect(cards.body).not.toContain(acct.second);
  }, 120_000);
});
