// The Stripe app's `sync_enabled` switch and how a backfill ends (issue #5, settings "sync on/off"): a connection
// made while sync is off imports nothing until sync is turned on; a run paused mid-way resumes where it stopped;
// a run that fails on its last attempt says `failed`, not `error` (which the queue retries), so
// `settle stripe sync --wait` can stop and say why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillFaults } from '../src/apps/stripe/backfill.ts';
import { requestStats } from '../src/apps/stripe/client.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { apiKeySecret } from '../src/apps/stripe/connections.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { generateLargeAccount, startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs } from './helpers/stripe-app.ts';

interface SyncStatus {
  id: string;
  account_id: string;
  sync: {
    run: number;
    state: string;
    complete: boolean;
    last_error: string | null;
    objects?: Record<string, { pages: number; count: number; done: boolean }>;
  };
}

const settingsUrl = '/api/apps/stripe/settings';
const status = async (h: Harness) =>
  (
    (await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })).json() as {
      connections: SyncStatus[];
    }
  ).connections;
const setSync = async (h: Harness, on: boolean) => {
  const current = (await h.request('admin', { method: 'GET', url: settingsUrl })).json() as {
    settings: Record<string, unknown>;
  };
  const res = await h.request('admin', {
    method: 'PUT',
    url: settingsUrl,
    payload: { settings: { ...current.settings, sync_enabled: on } },
  });
  expect(res.statusCode).toBe(200);
};
const startWorker = (h: Harness) =>
  h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 50, backoffMs: 50, maxBackoffMs: 200 });

describe.each(dbKinds())('the Stripe sync switch on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    emu = await startEmulator({ port: 0, demo: true });
    startWorker(h);
  }, 60_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  const ada = async () => {
    const res = await h.request('admin', { method: 'GET', url: '/api/contacts?email=ada@example.com' });
    return (res.json() as { data: { custom_attributes: Record<string, unknown> }[] }).data[0];
  };

  it('imports nothing while sync is off, and syncs the account once it is turned on', async () => {
    const inst = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/install',
      payload: { settings: { sync_enabled: false } },
    });
    expect(inst.statusCode).toBe(200);
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(res.statusCode).toBe(200);
    await drainStripeJobs(h, emu);
    expect((await status(h))[0]?.sync).toMatchObject({ run: 1, state: 'paused', complete: false });
    // Before the fix the first backfill ran anyway: Ada was created with her plan.
    expect((await ada())?.custom_attributes.stripe_plan).toBeUndefined();

    await setSync(h, true);
    await drainStripeJobs(h, emu);
    expect((await status(h))[0]?.sync).toMatchObject({ run: 1, state: 'done', complete: true });
    expect((await ada())?.custom_attributes).toMatchObject({ stripe_plan: 'Pro' });
  }, 120_000);

  it('reports a run that failed on its last attempt as failed, with the error', async () => {
    const conn = (await status(h))[0]!;
    // The key was revoked in Stripe: every attempt of the run fails at once (a 401 is not retried by the client).
    await h.platform.apps.host(h.workspace.id, 'stripe').setSecret(apiKeySecret(conn.id), 'revoked');
    // A settings change also drops this process's cached client, which still holds the old key.
    const current = (await h.request('admin', { method: 'GET', url: settingsUrl })).json() as {
      settings: Record<string, unknown>;
    };
    await h.request('admin', {
      method: 'PUT',
      url: settingsUrl,
      payload: { settings: { ...current.settings, api_budget: { share: 0.9 } } },
    });
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/sync',
      payload: {},
    });
    expect(res.statusCode).toBe(200);
    await drainStripeJobs(h, emu);
    const after = (await status(h))[0]!;
    // Before, the state stayed `error` for good, and `settle stripe sync --wait` (which waits for `failed`) hung.
    expect(after.sync).toMatchObject({ run: conn.sync.run + 1, state: 'failed', complete: false });
    expect(after.sync.last_error).toMatch(/Invalid API Key/);
  }, 120_000);
});

describe.each(dbKinds())('a sync paused mid-way on %s', (kind) => {
  const CUSTOMERS = 1500;
  const PAUSE_AFTER_PAGES = 10;
  let h: Harness;
  let emu: RunningEmulator;

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    emu = await startEmulator({ port: 0, seed: 5 });
    generateLargeAccount(emu, {
      customers: CUSTOMERS,
      seed: 5,
      allSubscribed: true,
      multiSubscriptionShare: 0.2,
    });
    const inst = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/install',
      payload: { settings: { backfill_ranges: 4 } },
    });
    expect(inst.statusCode).toBe(200);
    startWorker(h);
  }, 60_000);
  afterAll(async () => {
    backfillFaults.afterPage = null;
    await emu?.close();
    await h?.close();
  });

  const listed = (account: string) => {
    const by = requestStats.get(account)?.byEndpoint ?? {};
    return (by['list:customers'] ?? 0) + (by['list:subscriptions'] ?? 0);
  };
  const pages = (s: SyncStatus) =>
    (s.sync.objects?.customers?.pages ?? 0) + (s.sync.objects?.subscriptions?.pages ?? 0);
  const withStripeId = async () =>
    (
      await h.platform.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND custom_attributes ? 'stripe_id'",
        [h.workspace.id],
      )
    ).rows[0]?.n;

  it('resumes from its cursors when sync is turned back on, listing no page twice', async () => {
    // Sync is turned off by a teammate while the run is writing its pages.
    backfillFaults.afterPage = async (n) => {
      if (n < PAUSE_AFTER_PAGES) return;
      backfillFaults.afterPage = null;
      await setSync(h, false);
    };
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/apps/stripe/actions/connect',
      payload: { api_key: emu.key, api_base: emu.url },
    });
    expect(res.statusCode).toBe(200);
    await drainStripeJobs(h, emu);
    const paused = (await status(h))[0]!;
    expect(paused.sync).toMatchObject({ run: 1, state: 'paused', complete: false });
    const pagesBefore = pages(paused);
    expect(pagesBefore).toBeGreaterThanOrEqual(PAUSE_AFTER_PAGES - 1); // the products page is not counted here
    expect(await withStripeId()).toBeLessThan(CUSTOMERS);
    const listedBefore = listed(paused.account_id);

    await setSync(h, true);
    await drainStripeJobs(h, emu);
    const done = (await status(h))[0]!;
    // The same run, finished: every customer imported.
    expect(done.sync).toMatchObject({ run: 1, state: 'done', complete: true });
    expect(done.sync.objects?.customers).toMatchObject({ count: CUSTOMERS, done: true });
    expect(await withStripeId()).toBe(CUSTOMERS);
    // After the resume, only the pages the run had not written were listed. Before, turning sync on started a
    // new run that listed every page again.
    const listedAfter = listed(paused.account_id) - listedBefore;
    expect(listedAfter).toBeGreaterThan(0);
    expect(listedAfter).toBeLessThanOrEqual(pages(done) - pagesBefore + 1);
  }, 180_000);
});
