// The Stripe app in a test harness: installed with a job worker, and a wait until its due work is done.
import Stripe from 'stripe';
import { expect } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.ts';
import type { Harness } from './harness.ts';

/** Installs the Stripe app with its default settings and starts a fast-polling job worker for the workspace. */
export async function installStripeApp(h: Harness): Promise<void> {
  const inst = await h.request('admin', {
    method: 'POST',
    url: '/api/apps/stripe/install',
    payload: { settings: {} },
  });
  expect(inst.statusCode).toBe(200);
  h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 50, backoffMs: 50, maxBackoffMs: 200 });
}

/**
 * Waits until every webhook is delivered and every due job has run (the periodic catch-up always has a next run,
 * and a disconnect leaves a second release pass a minute later).
 */
export async function drainStripeJobs(h: Harness, emu: Pick<RunningEmulator, 'webhooksIdle'>): Promise<void> {
  // Generous: a loaded CI machine once needed more than 20 s here; a real hang still fails after two minutes.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await emu.webhooksIdle();
    const due = await h.platform.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1 AND status IN ('queued', 'running') AND (queue NOT IN ('app:stripe:catch_up', 'app:stripe:release_connection') OR run_at <= now())",
      [h.workspace.id],
    );
    if (due.rows[0]?.n === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('jobs did not drain');
}

/** The official SDK pointed at an emulator, as the tests drive it: no retries, no telemetry. */
export function emulatorStripe(emu: Pick<RunningEmulator, 'key' | 'port'>): Stripe {
  return new Stripe(emu.key, {
    host: '127.0.0.1',
    port: emu.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}
