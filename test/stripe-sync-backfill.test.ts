// The Stripe app end to end: the official SDK drives the emulator, Settle connects to it over HTTP, backfills it,
// and receives its signed webhooks on a real port. Expected attribute values are the hand-worked ones of
// src/apps/stripe/attributes-fixture.test.ts (the same snapshot). This file: connecting (a bad key refused, then the
// connection and its backfill), a backfill resumed from its checkpoint, and the catch-up while sync is off. What
// follows the backfill is in stripe-sync-changes.test.ts and stripe-sync-matching.test.ts; the set-up they share is
// helpers/stripe-sync.ts.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillFaults } from '../src/apps/stripe/backfill.ts';
import { requestStats } from '../src/apps/stripe/client.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { dbKinds } from '../src/db/test-db.ts';
import type { RunningEmulator } from '../src/emulator/index.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs } from './helpers/stripe-app.ts';
import { contactOf, startStripeSync, syncStatus, type SyncIds } from './helpers/stripe-sync.ts';

const iso = (s: string) => Date.parse(s) / 1000;

describe.each(dbKinds())('stripe sync engine on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  let stripe: Stripe;
  let publicUrl: string;
  const ids: SyncIds = {};

  const contact = (id: string) => contactOf(h, id);
  const status = () => syncStatus(h);
  const drain = () => drainStripeJobs(h, emu);

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    ({ emu, stripe, publicUrl } = await startStripeSync(h, ids));
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
});
