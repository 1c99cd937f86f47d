// The Stripe app's catch-up from /v1/events after downtime, and two Settle processes sharing one PostgreSQL event
// stream (DESIGN.md §3.5–§3.6, issue #5). The convergence runs themselves are in stripe-convergence-*.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds, type DbKind } from '../src/db/test-db.ts';
import { startTestEmulator, type TestEmulator } from '../src/emulator/test-support.ts';
import { freePort, SettleCluster } from './helpers/settle-cluster.ts';
import { createCatalog, runWorkload } from './helpers/stripe-workload.ts';
import type { ApplyRecord } from './fixtures/settle-worker.ts';
import { compare, deadJobs, SEED } from './helpers/convergence-suite.ts';

/**
 * One application of the event finished, and every other run of it failed for the one reason apply_event fails on
 * purpose: the customer's contact was being created by another job, so the timeline entry waits for a retry.
 */
function expectAppliedOnce(runs: ApplyRecord[], id: string): void {
  const mine = runs.filter((r) => r.event === id);
  expect(
    mine.filter((r) => r.phase === 'end'),
    id,
  ).toHaveLength(1);
  const fails = mine.filter((r) => r.phase === 'fail');
  for (const f of fails) expect(f.error, id).toMatch(/is being created; timeline entry retried/);
  expect(
    mine.filter((r) => r.phase === 'start'),
    id,
  ).toHaveLength(1 + fails.length);
}

describe.each(dbKinds())('Stripe catch-up from /v1/events after downtime, on %s', (kind: DbKind) => {
  let emu: TestEmulator;
  let cluster: SettleCluster;
  beforeAll(async () => {
    emu = await startTestEmulator({ seed: 7 });
    cluster = new SettleCluster(kind);
  });
  afterAll(async () => {
    await cluster?.close();
    await emu?.close();
  });

  it('applies events emitted while Settle was down and whose deliveries were lost for good, once each', async () => {
    const catalog = await createCatalog(emu.stripe);
    await cluster.setUp({ apiKey: emu.key, apiBase: emu.url, settings: { catch_up_interval_seconds: 2 } });
    let worker = cluster.spawn();
    await worker.ready;
    const early = await emu.stripe.customers.create({ email: 'early@example.com' });
    await cluster.quiesce({ idle: () => emu.webhooksIdle(), catchUpRounds: 1 });
    await cluster.kill(worker);

    // Settle is down and every delivery is lost for good (one attempt, dropped).
    await emu.control('webhook_faults', { drop: 1, max_attempts: 1, seed: 7 });
    await emu.stripe.customers.update(early.id, { email: 'Early.Moved@Example.com', balance: -2500 });
    const late = await emu.stripe.customers.create({ email: 'late@example.com', name: 'Late' });
    const pm = await emu.stripe.paymentMethods.attach('pm_card_mastercard', { customer: late.id });
    await emu.stripe.customers.update(late.id, { invoice_settings: { default_payment_method: pm.id } });
    await emu.stripe.subscriptions.create({ customer: late.id, items: [{ price: catalog.prices[1]!.id }] });
    await emu.stripe.charges.create({ amount: 1234, currency: 'usd', customer: late.id, source: 'tok_visa' });
    await emu.webhooksIdle();
    const lost = emu.emulator.webhooks.log.filter((d) => d.outcome === 'dropped').map((d) => d.event);
    expect(lost.length).toBeGreaterThan(5);
    expect(
      emu.emulator.webhooks.log.filter((d) => d.outcome === 'delivered' && lost.includes(d.event)),
    ).toEqual([]);

    worker = cluster.spawn();
    await worker.ready;
    await cluster.quiesce({ idle: () => emu.webhooksIdle(), catchUpRounds: 2 });
    await cluster.stop(worker);

    const report = await compare(emu, cluster);
    expect(report.mismatches).toEqual([]);
    expect(report.expectedEvents).toBeGreaterThan(2);
    // Each lost event was applied once: one run finished, and any other run failed only to wait for a contact.
    const runs = cluster.applies();
    for (const id of new Set(lost)) expectAppliedOnce(runs, id);
  }, 240_000);

  it('keeps in step a connection none of whose webhooks ever arrive, from its first sync on', async () => {
    // A wrong public URL or a proxy in the way: Stripe's deliveries never reach Settle, not even the first one.
    await emu.control('webhook_faults', { drop: 1, max_attempts: 1, seed: 8 });
    const alone = new SettleCluster(kind);
    try {
      await alone.setUp({ apiKey: emu.key, apiBase: emu.url, settings: { catch_up_interval_seconds: 2 } });
      const worker = alone.spawn();
      await worker.ready;
      // The backfill is over (and the catch-up has run once) before the customer exists: only the catch-up can
      // bring it.
      await alone.quiesce({ idle: () => emu.webhooksIdle(), catchUpRounds: 1, timeoutMs: 60_000 });
      const unseen = await emu.stripe.customers.create({ email: 'unseen@example.com', balance: 4200 });
      await alone.quiesce({ idle: () => emu.webhooksIdle(), catchUpRounds: 2, timeoutMs: 60_000 });
      await alone.stop(worker);
      const mine = emu.emulator.webhooks.log.filter((d) => d.url.includes(`:${alone.port}/`));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.filter((d) => d.outcome !== 'dropped')).toEqual([]);

      const report = await compare(emu, alone);
      expect(report.mismatches).toEqual([]);
      const contact = await alone.withDb(async (db) => {
        const r = await db.query<{ custom_attributes: Record<string, unknown> }>(
          'SELECT custom_attributes FROM contacts WHERE workspace_id = $1 AND email = $2',
          [alone.workspaceId, 'unseen@example.com'],
        );
        return r.rows[0];
      });
      expect(contact?.custom_attributes).toMatchObject({ stripe_id: unseen.id, stripe_account_balance: 42 });
    } finally {
      await alone.close();
    }
  }, 240_000);
});

const TWO_WORKER_CHANGES = Number(process.env.CONVERGENCE_TWO_WORKER_CHANGES ?? 600);

describe.skipIf(!dbKinds().includes('postgres'))('two Settle processes against one PostgreSQL', () => {
  let emu: TestEmulator;
  let cluster: SettleCluster;
  beforeAll(async () => {
    emu = await startTestEmulator({ seed: SEED + 1 });
    cluster = new SettleCluster('postgres');
  });
  afterAll(async () => {
    await cluster?.close();
    await emu?.close();
  });

  it(`consume one event stream: each event applied once, the same final state as the derivation (${TWO_WORKER_CHANGES} changes)`, async () => {
    const catalog = await createCatalog(emu.stripe);
    await cluster.setUp({ apiKey: emu.key, apiBase: emu.url, settings: { catch_up_interval_seconds: 5 } });
    await emu.control('webhook_faults', {
      drop: 0.2,
      duplicate: 0.1,
      delay_ms: 1,
      reorder_window_ms: 2000,
      retry_base_ms: 300,
      max_attempts: 8,
      seed: SEED + 1,
    });
    // The first takes Stripe's webhooks; both run jobs from the same queue.
    const a = cluster.spawn({ concurrency: 4 });
    const b = cluster.spawn({ port: await freePort(), concurrency: 4 });
    await Promise.all([a.ready, b.ready]);
    await runWorkload({
      stripe: emu.stripe,
      seed: SEED + 1,
      changes: TWO_WORKER_CHANGES,
      catalog,
      advanceClock: async (seconds) => {
        await cluster.drained();
        await emu.control('clock', { advance: seconds });
      },
    });
    await cluster.quiesce({ idle: () => emu.webhooksIdle(), catchUpRounds: 2 });
    await Promise.all([cluster.stop(a), cluster.stop(b)]);
    const dead = await deadJobs(cluster);

    const report = await compare(emu, cluster);
    expect(report.mismatches.slice(0, 20)).toEqual([]);
    expect(dead).toEqual([]);
    const runs = cluster.applies();
    const starts = runs.filter((r) => r.phase === 'start');
    const perEvent = new Map<string, number>();
    for (const r of runs) if (r.phase === 'end') perEvent.set(r.event, (perEvent.get(r.event) ?? 0) + 1);
    const twice = [...perEvent].filter(([, n]) => n !== 1);
    for (const id of perEvent.keys()) expectAppliedOnce(runs, id);
    console.log(
      `two workers: ${starts.length} apply runs for ${perEvent.size} events (worker ${a.pid}: ${starts.filter((r) => r.pid === a.pid).length}, worker ${b.pid}: ${starts.filter((r) => r.pid === b.pid).length})`,
    );
    expect(twice).toEqual([]);
    // Both processes did part of the work.
    expect(starts.some((r) => r.pid === a.pid) && starts.some((r) => r.pid === b.pid)).toBe(true);
  }, 600_000);
});
