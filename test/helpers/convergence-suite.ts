// The Stripe app's live sync under faults (DESIGN.md §3.5–§3.6, issue #5). Settle runs as separate processes
// (test/fixtures/settle-worker.ts: server + job workers) over one database; the official SDK drives a seeded random
// workload against the emulator, which delivers webhooks with faults (dropped then retried, duplicated, reordered,
// delayed). The worker is SIGKILLed and restarted mid-run. After quiescence, every contact's `stripe_*` attributes
// must equal the values derived from the emulator's final state by the test's own rules (helpers/stripe-expected.ts)
// and every timeline event must be recorded exactly once.
//
// CONVERGENCE_SEED replays a run (the seed is printed); CONVERGENCE_CHANGES sets the size (default 2,000).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import { type DbKind } from '../../src/db/test-db.ts';
import { startTestEmulator, type TestEmulator } from '../../src/emulator/test-support.ts';
import { WEBHOOK_EVENTS } from '../../src/apps/stripe/connections.ts';
import { createContact } from '../../src/platform/contacts/service.ts';
import { SettleCluster, type WorkerProcess } from './settle-cluster.ts';
import { expectedAttributes, normaliseEmail, readFinalState } from './stripe-expected.ts';
import { createCatalog, runWorkload } from './stripe-workload.ts';

export const SEED = Number(process.env.CONVERGENCE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CHANGES = Number(process.env.CONVERGENCE_CHANGES ?? 2000);
/** The Stripe event types DESIGN.md §3.4 puts on the timeline, written apart from src/apps/stripe/timeline.ts. */
export const TIMELINE_TYPES = new Set([
  'invoice.created',
  'customer.subscription.created',
  'charge.succeeded',
  'charge.refunded',
  'charge.failed',
  'customer.subscription.deleted',
]);

interface ContactRow {
  id: string;
  email: string | null;
  role: string;
  custom_attributes: Record<string, unknown>;
}

const stripeOnly = (attrs: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(attrs).filter(([k, v]) => k.startsWith('stripe_') && v !== null));

export async function readSettle(db: Db, workspaceId: string) {
  const contacts = (
    await db.query<ContactRow>(
      'SELECT id, email, role, custom_attributes FROM contacts WHERE workspace_id = $1',
      [workspaceId],
    )
  ).rows;
  const events = (
    await db.query<{ idempotency_key: string; name: string; created_at: Date; contact_id: string }>(
      `SELECT idempotency_key, name, created_at, contact_id FROM contact_events
       WHERE workspace_id = $1 AND idempotency_key LIKE 'stripe:%'`,
      [workspaceId],
    )
  ).rows;
  return { contacts, events };
}

/**
 * Waits until Settle has learned of these events: an `apply_event` job each (by webhook, or by the catch-up for
 * events whose deliveries were all lost). The worker counts them (on PGlite only it may open the database).
 */
async function known(cluster: SettleCluster, ids: readonly string[], timeoutMs = 120_000): Promise<void> {
  const token = randomBytes(6).toString('hex');
  writeFileSync(join(cluster.dir, 'expect-events.json'), JSON.stringify({ token, ids }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(200);
    const s = cluster.status();
    if (s?.expected?.token === token && s.expected.known >= ids.length) return;
    if (Date.now() > deadline)
      throw new Error(
        `Settle learned of ${s?.expected?.known} of ${ids.length} events${cluster.diagnostics()}`,
      );
  }
}

/** Compares Settle's contacts with the attributes derived from the emulator; returns readable mismatches. */
export async function deadJobs(cluster: SettleCluster) {
  return cluster.withDb(async (db) =>
    (
      await db.query<{ queue: string; last_error: string }>(
        "SELECT queue, last_error FROM jobs WHERE workspace_id = $1 AND status = 'dead'",
        [cluster.workspaceId],
      )
    ).rows.map((r) => `${r.queue}: ${r.last_error}`),
  );
}

export async function compare(emu: TestEmulator, cluster: SettleCluster) {
  const state = await readFinalState(emu.stripe);
  const account = (await emu.stripe.accounts.retrieveCurrent()).id;
  const settle = await cluster.withDb((db) => readSettle(db, cluster.workspaceId));
  const byEmail = new Map<string, ContactRow[]>();
  for (const c of settle.contacts) {
    const e = normaliseEmail(c.email);
    if (e) byEmail.set(e, [...(byEmail.get(e) ?? []), c]);
  }
  const mismatches: string[] = [];
  const holders = new Set<string>();
  for (const customer of state.customers) {
    const email = normaliseEmail(customer.email);
    const candidates = (byEmail.get(email ?? '') ?? []).sort(
      (a, b) => (a.role === 'user' ? 0 : 1) - (b.role === 'user' ? 0 : 1) || (a.id < b.id ? -1 : 1),
    );
    const contact = candidates[0];
    if (!contact) {
      mismatches.push(`${customer.id} (${customer.email}): no contact`);
      continue;
    }
    if (candidates.filter((c) => c.role === 'user').length > 1)
      mismatches.push(`${customer.id}: ${candidates.length} contacts share ${email}`);
    holders.add(contact.id);
    const want = expectedAttributes(state, customer, account, false);
    const got = stripeOnly(contact.custom_attributes);
    if (JSON.stringify(sortKeys(got)) !== JSON.stringify(sortKeys(want)))
      mismatches.push(
        `${customer.id} → ${contact.id}\n  want ${JSON.stringify(sortKeys(want))}\n  got  ${JSON.stringify(sortKeys(got))}`,
      );
  }
  for (const c of settle.contacts) {
    if (holders.has(c.id)) continue;
    const got = stripeOnly(c.custom_attributes);
    if (Object.keys(got).length > 0)
      mismatches.push(`${c.id} (${c.email}) holds no customer but has ${JSON.stringify(got)}`);
  }

  // Timeline: every event of a §3.4 type whose customer still exists, exactly once, at its Stripe time.
  const live = new Set(state.customers.map((c) => c.id));
  const recorded = new Map<string, { name: string; created_at: Date }[]>();
  for (const e of settle.events) {
    const id = e.idempotency_key.slice('stripe:'.length);
    recorded.set(id, [...(recorded.get(id) ?? []), e]);
  }
  let expectedEvents = 0;
  const allEvents = [...emu.emulator.account(emu.key).events.values()];
  for (const ev of allEvents) {
    if (!TIMELINE_TYPES.has(ev.type)) continue;
    const obj = ev.data.object as { customer?: string | { id: string } | null };
    const cus = typeof obj.customer === 'string' ? obj.customer : obj.customer?.id;
    if (!cus || !live.has(cus)) continue;
    expectedEvents += 1;
    const rows = recorded.get(ev.id) ?? [];
    if (rows.length !== 1)
      mismatches.push(`timeline: ${ev.type} ${ev.id} of ${cus} recorded ${rows.length} times`);
    else if (rows[0]!.created_at.getTime() !== ev.created * 1000)
      mismatches.push(
        `timeline: ${ev.id} at ${rows[0]!.created_at.toISOString()}, Stripe says ${ev.created}`,
      );
  }
  return {
    mismatches,
    customers: state.customers.length,
    contacts: settle.contacts.length,
    expectedEvents,
    stripeEvents: allEvents.length,
  };
}

export function sortKeys(o: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function convergenceSuite(kind: DbKind): void {
  describe(`Stripe live sync converges under webhook faults and worker crashes, on ${kind}`, () => {
    let emu: TestEmulator;
    let cluster: SettleCluster;

    beforeAll(async () => {
      emu = await startTestEmulator({ seed: SEED });
      cluster = new SettleCluster(kind);
    });
    afterAll(async () => {
      await cluster?.close();
      await emu?.close();
    });

    it(`${CHANGES} random changes (seed ${SEED}): attributes equal an independent derivation, timeline exactly once`, async () => {
      console.log(`convergence on ${kind}: CONVERGENCE_SEED=${SEED} CONVERGENCE_CHANGES=${CHANGES}`);
      const t0 = Date.now();
      const catalog = await createCatalog(emu.stripe);
      // Some customers' contacts exist before the sync, under the same address in another case (§3.2).
      const emailFor = (n: number) => `c${n}.${SEED}@example.com`;
      await cluster.setUp({
        apiKey: emu.key,
        apiBase: emu.url,
        settings: { catch_up_interval_seconds: 5 },
        before: async (db, ws) => {
          for (let n = 0; n < 400; n += 3)
            await createContact(db, ws, {
              role: 'user',
              email: emailFor(n).replace(/^c/, 'C').replace('example', 'Example'),
            });
        },
      });
      await emu.control('webhook_faults', {
        drop: 0.2,
        duplicate: 0.1,
        delay_ms: 1,
        reorder_window_ms: 5000,
        retry_base_ms: 300,
        max_attempts: 6,
        seed: SEED,
      });
      let worker: WorkerProcess = cluster.spawn();
      await worker.ready;

      const subscribed = new Set<string>(WEBHOOK_EVENTS);
      /** The number of Stripe events made before each clock move. */
      const marks: number[] = [];
      // Two SIGKILLs mid-run; the workload goes on while Settle is down (its webhooks fail and are retried).
      const kills = [Math.floor(CHANGES / 3), Math.floor((2 * CHANGES) / 3)];
      let restarts: Promise<void> = Promise.resolve();
      const result = await runWorkload({
        stripe: emu.stripe,
        seed: SEED,
        changes: CHANGES,
        catalog,
        emailFor,
        // Ten days pass between two clock moves: in real time Settle would have caught up meanwhile (and Stripe
        // keeps events 30 days for the catch-up), so the compressed run waits for the backlog before moving the
        // clock. The third move takes an event out of `/v1/events`, so before it Settle must know every event made
        // before the move two steps back (by webhook, or by the catch-up if all its deliveries were lost): without
        // this, three moves within one catch-up interval lost such an event for good (about one run in four).
        advanceClock: async (seconds) => {
          await restarts;
          await cluster.drained();
          const events = [...emu.emulator.account(emu.key).events.values()];
          marks.push(events.length);
          const aging = marks.at(-3);
          if (aging) {
            await known(
              cluster,
              events.slice(0, aging).flatMap((e) => (subscribed.has(e.type) ? [e.id] : [])),
            );
            await cluster.drained();
          }
          await emu.control('clock', { advance: seconds });
        },
        onChange: async (n) => {
          if (kills[0] === undefined || n < kills[0]) return;
          kills.shift();
          await restarts;
          const victim = worker;
          restarts = (async () => {
            await cluster.kill(victim);
            await sleep(1500);
            worker = cluster.spawn();
            await worker.ready;
          })();
        },
      });
      await restarts;
      const tWork = Date.now();
      await cluster.quiesce({ idle: () => emu.webhooksIdle(), catchUpRounds: 2, timeoutMs: 400_000 });
      const tQuiet = Date.now();
      await cluster.stop(worker);
      const dead = await deadJobs(cluster);
      const deliveries = emu.emulator.webhooks.log;
      const report = await compare(emu, cluster);
      const why = new Map<string, number>();
      for (const d of deliveries.filter((x) => x.outcome === 'failed')) {
        const k = `${d.status ?? ''} ${d.error ?? ''}`;
        why.set(k, (why.get(k) ?? 0) + 1);
      }
      if (why.size > 0) console.log('failed deliveries:', JSON.stringify([...why]));
      if (report.mismatches.length > 0) console.log(cluster.diagnostics());
      const applies = cluster.applies();
      console.log(
        `convergence on ${kind}: ${result.changes} changes (${result.failedCharges} declined, ${result.refused} refused), ` +
          `${report.stripeEvents} Stripe events, ${report.customers} customers, ${report.contacts} contacts, ` +
          `${report.expectedEvents} timeline events checked; ${applies.filter((a) => a.phase === 'start').length} apply runs; ` +
          `deliveries logged ${deliveries.length} (dropped ${deliveries.filter((d) => d.outcome === 'dropped').length}, ` +
          `duplicate ${deliveries.filter((d) => d.outcome === 'duplicate').length}, failed ${deliveries.filter((d) => d.outcome === 'failed').length}); ` +
          `${dead.length} dead jobs; workload ${((tWork - t0) / 1000).toFixed(1)} s, quiescence after ${((tQuiet - tWork) / 1000).toFixed(1)} s`,
      );
      expect(report.mismatches.slice(0, 20)).toEqual([]);
      expect(dead).toEqual([]);
      expect(result.changes).toBeGreaterThanOrEqual(CHANGES);
    }, 900_000);
  });
}
