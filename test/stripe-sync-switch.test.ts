// The Stripe app's `sync_enabled` switch and how a backfill ends (issue #5, settings "sync on/off"): a connection
// made while sync is off imports nothing until sync is turned on; a run that fails on its last attempt says
// `failed`, not `error` (which the queue retries), so `settle stripe sync --wait` can stop and say why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { apiKeySecret } from '../src/apps/stripe/connections.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { drainStripeJobs } from './helpers/stripe-app.ts';

interface SyncStatus {
  id: string;
  sync: { run: number; state: string; complete: boolean; last_error: string | null };
}

describe.each(dbKinds())('the Stripe sync switch on %s', (kind) => {
  let h: Harness;
  let emu: RunningEmulator;
  const settingsUrl = '/api/apps/stripe/settings';

  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    emu = await startEmulator({ port: 0, demo: true });
    h.platform.jobs.startWorker({
      workspaceId: h.workspace.id,
      pollMs: 50,
      backoffMs: 50,
      maxBackoffMs: 200,
    });
  }, 60_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  const status = async () =>
    (
      (await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })).json() as {
        connections: SyncStatus[];
      }
    ).connections;
  const ada = async () => {
    const res = await h.request('admin', { method: 'GET', url: '/api/contacts?email=ada@example.com' });
    return (res.json() as { data: { custom_attributes: Record<string, unknown> }[] }).data[0];
  };
  const setSync = async (on: boolean) => {
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
    expect((await status())[0]?.sync).toMatchObject({ run: 1, state: 'paused', complete: false });
    // Before the fix the first backfill ran anyway: Ada was created with her plan.
    expect((await ada())?.custom_attributes.stripe_plan).toBeUndefined();

    await setSync(true);
    await drainStripeJobs(h, emu);
    expect((await status())[0]?.sync).toMatchObject({ run: 2, state: 'done', complete: true });
    expect((await ada())?.custom_attributes).toMatchObject({ stripe_plan: 'Pro' });
  }, 120_000);

  it('reports a run that failed on its last attempt as failed, with the error', async () => {
    const conn = (await status())[0]!;
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
    const after = (await status())[0]!;
    // Before, the state stayed `error` for good, and `settle stripe sync --wait` (which waits for `failed`) hung.
    expect(after.sync).toMatchObject({ run: conn.sync.run + 1, state: 'failed', complete: false });
    expect(after.sync.last_error).toMatch(/Invalid API Key/);
  }, 120_000);
});
