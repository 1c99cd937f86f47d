// `npx settle stripe connect|sync` as a user runs them: a separate process that calls a running Settle's HTTP API
// with SETTLE_TOKEN, here against the Stripe emulator.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { ...process.env, ...env },
    timeout: 90_000,
  });

// The CLI talks HTTP only; the database kind behind the server does not matter here.
describe('settle stripe connect and sync', () => {
  let h: Harness;
  let emu: RunningEmulator;
  let url: string;
  let token: string;

  beforeAll(async () => {
    h = await createHarness('pglite', { registry: { stripe: stripeApp } });
    url = await h.server.listen({ port: 0, host: '127.0.0.1' });
    h.platform.config.publicUrl = url;
    h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 50 });
    emu = await startEmulator({ port: 0, demo: true });
    token = h.creds.token.headers.authorization!.replace('Bearer ', '');
  });
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  it('says what to do when the app is not installed or the token is missing', async () => {
    await expect(cli(['stripe', 'sync', '--url', url], { SETTLE_TOKEN: token })).rejects.toMatchObject({
      stderr: expect.stringContaining('not installed'),
    });
    await expect(cli(['stripe', 'sync', '--url', url], { SETTLE_TOKEN: '' })).rejects.toMatchObject({
      stderr: expect.stringContaining('SETTLE_TOKEN'),
    });
  });

  it('connects the emulator, waits for the sync, and leaves contacts with stripe attributes', async () => {
    await h.platform.apps.install(h.workspace.id, 'stripe', {});
    const bad = cli(
      ['stripe', 'connect', '--key', 'pk_test_not_a_secret_key', '--api-base', emu.url, '--url', url],
      {
        SETTLE_TOKEN: token,
      },
    );
    await expect(bad).rejects.toMatchObject({ stderr: expect.stringContaining('api_key') });

    const out = await cli(
      ['stripe', 'connect', '--key', emu.key, '--api-base', emu.url, '--url', url, '--wait'],
      {
        SETTLE_TOKEN: token,
      },
    );
    expect(out.stdout).toMatch(/Connected acct_\w+ \(test mode, primary\)/);
    expect(out.stdout).toContain('Stripe sync complete.');
    // Then the demo account's last 30 days of events, nine of them, reach the timeline.
    expect(out.stdout).toContain('Timeline: 9 past events imported.');
    expect(out.stdout + out.stderr).not.toContain(emu.key);

    const found = await h.request('token', { method: 'GET', url: '/api/contacts?email=ada@example.com' });
    const ada = (found.json() as { data: { custom_attributes: Record<string, unknown> }[] }).data[0];
    expect(ada?.custom_attributes).toMatchObject({
      stripe_plan: 'Pro',
      stripe_subscription_status: 'active',
    });

    const again = await cli(['stripe', 'sync', '--wait', '--url', url], { SETTLE_TOKEN: token });
    expect(again.stdout).toContain('Stripe sync complete.');
  });

  it('stops waiting and says why when sync is turned off', async () => {
    const current = (
      await h.request('admin', { method: 'GET', url: '/api/apps/stripe/settings' })
    ).json() as {
      settings: Record<string, unknown>;
    };
    await h.request('admin', {
      method: 'PUT',
      url: '/api/apps/stripe/settings',
      payload: { settings: { ...current.settings, sync_enabled: false } },
    });
    await expect(
      cli(['stripe', 'sync', '--wait', '--url', url], { SETTLE_TOKEN: token }),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/paused: sync_enabled is off/),
    });
  });
});
