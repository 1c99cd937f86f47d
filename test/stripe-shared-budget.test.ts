// Two Settle processes calling Stripe for one account keep to the account's request budget together (DESIGN.md
// §3.5: budgets per account and per endpoint). Until session 14 each process paced with its own buckets, so two
// processes sent twice the budget and met Stripe's 429s. Two workspaces that connected one account share its
// budget too (until session 15 each workspace had its own).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, connect, listConnections } from '../src/apps/stripe/connections.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { createWorkspace } from '../src/platform/workspaces/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { startTestEmulator, type TestEmulator } from '../src/emulator/test-support.ts';
import { freePort, SettleCluster } from './helpers/settle-cluster.ts';

const PER_SECOND = 10;
const CALLS = 15;
const SLACK = 3;

describe.skipIf(!dbKinds().includes('postgres'))('the Stripe request budget across processes', () => {
  let emu: TestEmulator;
  let cluster: SettleCluster;
  beforeAll(async () => {
    emu = await startTestEmulator({ seed: 3 });
    cluster = new SettleCluster('postgres');
  });
  afterAll(async () => {
    await cluster?.close();
    await emu?.close();
  });

  it('two processes together send no more than the account’s budget, and Stripe refuses none', async () => {
    await cluster.setUp({
      apiKey: emu.key,
      apiBase: emu.url,
      settings: { api_budget: { share: 1, global: PER_SECOND, per_endpoint: PER_SECOND } },
    });
    // Stripe's limit a little above the budget: a process whose event loop is late for a few slots (a loaded CI
    // machine) sends those requests closer together. Two processes on budgets of their own send twice the budget.
    await emu.control('rate_limits', { global: SLACK + PER_SECOND });
    const probe = JSON.stringify({
      workspace: cluster.workspaceId,
      connection: cluster.connectionId,
      calls: CALLS,
    });
    const env = { WORKER_STRIPE_PROBE: probe };
    const a = cluster.spawn({ env });
    const b = cluster.spawn({ port: await freePort(), env });
    await Promise.all([a.ready, b.ready]);
    // The connection's backfill (in one of them) first: then both processes' calls start together.
    await cluster.drained();
    writeFileSync(join(cluster.dir, 'probe-go'), '');
    const files = [a, b].map((w) => join(cluster.dir, `probe-${w.pid}.json`));
    const deadline = Date.now() + 60_000;
    while (!files.every((f) => existsSync(f)) && Date.now() < deadline) await sleep(50);
    if (!files.every((f) => existsSync(f)))
      throw new Error(`the probes did not finish${cluster.diagnostics()}`);
    const sent = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as number[]);
    await Promise.all([cluster.stop(a), cluster.stop(b)]);

    const all = sent.flat().sort((x, y) => x - y);
    // The busiest second: the budget, give or take late slots. Each process on its own budget: twice the budget.
    const busiest = Math.max(...all.map((t) => all.filter((u) => u >= t && u < t + 1000).length));
    expect(busiest, `sent at ${all.map((t) => Math.round(t - all[0]!)).join(', ')} ms`).toBeLessThanOrEqual(
      PER_SECOND + SLACK,
    );
    // 30 requests at 10/s: ~2.9 s from the first to the last.
    expect(all.at(-1)! - all[0]!).toBeGreaterThan(((2 * CALLS - 1) * 1000) / PER_SECOND - 150);
    const { refused } = (await emu.control('rate_limits')) as { refused: number };
    expect(refused).toBe(0);
    // Each attempt is in `sent`: none was retried.
    expect(sent.map((s) => s.length)).toEqual([CALLS, CALLS]);
  }, 120_000);
});

describe.each(dbKinds())('the Stripe request budget across workspaces on %s', (kind) => {
  let h: Harness;
  let emu: TestEmulator;
  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    emu = await startTestEmulator({ seed: 4 });
  }, 60_000);
  afterAll(async () => {
    await emu?.close();
    await h?.close();
  });

  it('two workspaces that connected the same account send together what one would', async () => {
    const other = await createWorkspace(h.platform.db, h.platform.box, 'Second team');
    const settings = {
      sync_enabled: false,
      api_budget: { share: 1, global: PER_SECOND, per_endpoint: PER_SECOND },
    };
    const handles = [];
    for (const ws of [h.workspace.id, other.id]) {
      await h.platform.apps.install(ws, 'stripe', settings);
      const host = h.platform.apps.host(ws, 'stripe');
      await connect(host, { api_key: emu.key, api_base: emu.url });
      const [conn] = await listConnections(host);
      handles.push(await clientFor(host, conn!));
    }
    const sent: number[] = [];
    await Promise.all(
      handles.flatMap((handle) =>
        Array.from({ length: CALLS }, () =>
          handle.call(
            'account',
            (s) => s.accounts.retrieveCurrent(),
            () => sent.push(Date.now()),
          ),
        ),
      ),
    );
    sent.sort((x, y) => x - y);
    // One bucket of 10/s with a burst of 10: 30 calls take ~2 s. A bucket per workspace: each sends its 10 at once
    // and the other 5 within half a second.
    expect(sent).toHaveLength(2 * CALLS);
    expect(sent.at(-1)! - sent[0]!).toBeGreaterThan(((2 * CALLS - PER_SECOND) * 1000) / PER_SECOND - 150);
  }, 60_000);
});
