// Benchmark: Stripe webhooks into one Settle process (server + job workers, test/fixtures/settle-worker.ts) over
// PostgreSQL and over PGlite.
//   1. Acknowledgements: N signed `customer.updated` events (default 20,000) POSTed at concurrency C (default 50):
//      acks/s, ack latency p50/p99. Baseline in the same run: the platform's `GET /healthz` at the same
//      concurrency (the server's own ceiling for a request that touches no database).
//   2. Apply throughput over the burst's backlog (watched --drain-seconds, default 30; the rest is skipped).
//   3. Apply lag at a paced rate (default 500 events/s for 4 s): each event follows a real change of the
//      customer's balance in the emulator; lag = the event's send time → its `apply_event` job finished (the
//      attributes are written inside the job, so this bounds "attributes updated"). p50/p99, and a check that every
//      contact ends with its customer's last balance.
// Usage: npm run bench:webhooks [-- --events N --concurrency C --rate R --seconds S --customers K
//   --drain-seconds D --db postgres,pglite --job-slots J --warm-events W]   (J: the worker's job concurrency, default 2 as
//   `npm start` runs it, SETTLE_WORKERS; more slots in the process that answers webhooks starve the
//   acknowledgements and lengthen the lag: see docs/benchmarks.md)
// BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import { signPayload } from '../src/apps/stripe/signature.ts';
import { startTestEmulator } from '../src/emulator/test-support.ts';
import { SettleCluster } from '../test/helpers/settle-cluster.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const EVENTS = Number(arg('events', '20000'));
const CONCURRENCY = Number(arg('concurrency', '50'));
const RATE = Number(arg('rate', '500'));
const SECONDS = Number(arg('seconds', '4'));
const CUSTOMERS = Number(arg('customers', '500'));
const DRAIN_S = Number(arg('drain-seconds', '30'));
const DBS = arg('db', 'postgres,pglite').split(',');
const JOB_SLOTS = Number(arg('job-slots', '2'));
const WARM = Number(arg('warm-events', '1000'));
process.env.TEST_DATABASE_URL ??=
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const load = () => os.loadavg()[0]!.toFixed(1);

/** Runs `n` requests at concurrency `c`; returns per-request latencies (ms) and the wall time. */
async function blast(n: number, c: number, send: (i: number) => Promise<number>) {
  const lat: number[] = [];
  let next = 0;
  let bad = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const s = performance.now();
        const status = await send(i);
        lat.push(performance.now() - s);
        if (status !== 200) bad += 1;
      }
    }),
  );
  return { lat, ms: performance.now() - t0, bad };
}

async function run(kind: 'postgres' | 'pglite') {
  const emu = await startTestEmulator({ seed: 11 });
  const cluster = new SettleCluster(kind);
  try {
    const ids: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++)
      ids.push((await emu.stripe.customers.create({ email: `bench${i}@example.com` })).id);
    await cluster.setUp({ apiKey: emu.key, apiBase: emu.url, settings: { catch_up_interval_seconds: 3600 } });
    const acct = emu.emulator.account(emu.key);
    // The bench posts the events itself: the emulator's own deliveries are switched off.
    await emu.control('webhook_faults', { drop: 1, max_attempts: 1 });
    const [endpointId, secret] = [...acct.endpointSecrets][0]!;
    const url = `${acct.webhookEndpoints.get(endpointId)!.url}`;
    let worker = cluster.spawn({ concurrency: JOB_SLOTS });
    await worker.ready;
    const statusNow = async () => {
      const since = Date.now();
      for (;;) {
        const st = cluster.status();
        if (st && st.at > since) return st;
        await sleep(50);
      }
    };
    await cluster.drained(300_000); // the backfill of the customers
    const base = `http://127.0.0.1:${cluster.port}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const send = (target: string, method: string, headers: Record<string, string>, body?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(target, { method, agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    const post = (body: string) =>
      send(
        url,
        'POST',
        {
          'content-type': 'application/json',
          'stripe-signature': signPayload({
            payload: body,
            secret,
            timestamp: Math.floor(Date.now() / 1000),
          }),
        },
        body,
      );
    const healthz = () => send(`${base}/healthz`, 'GET', {});
    const eventBody = (id: string, cus: string) =>
      JSON.stringify({
        id,
        object: 'event',
        api_version: '2026-10-28.endive',
        created: Math.floor(Date.now() / 1000),
        type: 'customer.updated',
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object: acct.customers.get(cus) },
      });

    // Warm-up: connections, JIT, caches, and the webhook path itself (unwarmed, its first thousand requests ran
    // unoptimised code and made the slowest acknowledgements of every run); those events are applied before timing.
    await blast(500, CONCURRENCY, healthz);
    await blast(WARM, CONCURRENCY, (i) =>
      post(eventBody(`evt_bench_warm_${kind}_${i}`, ids[i % ids.length]!)),
    );
    await cluster.drained(120_000);
    const health = await blast(EVENTS, CONCURRENCY, healthz);
    const loadBefore = load();
    const bodies = Array.from({ length: EVENTS }, (_, i) =>
      eventBody(`evt_bench_ack_${kind}_${i}`, ids[i % ids.length]!),
    );
    const acks = await blast(EVENTS, CONCURRENCY, (i) => post(bodies[i]!));
    const loadAfter = load();
    // Apply throughput: how fast the workers work off the backlog the burst left (watched for DRAIN_S seconds).
    const first = await statusNow();
    const tDrain = performance.now();
    let last = first;
    while (performance.now() - tDrain < DRAIN_S * 1000 && last.due > 0) {
      await sleep(1000);
      last = await statusNow();
    }
    const applyRate = (last.applied - first.applied) / ((last.at - first.at) / 1000);
    // What is left of the burst is skipped (marked done) so the paced run starts on an empty queue.
    await cluster.stop(worker);
    const skipped = await cluster.withDb(async (db) => {
      const r = await db.query(
        "UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE status IN ('queued', 'running') AND dedupe_key LIKE '%evt_bench_ack_%'",
      );
      return r.rowCount;
    });
    worker = cluster.spawn({ concurrency: JOB_SLOTS });
    await worker.ready;

    // Paced: RATE events/s, each after a real balance change.
    const sentAt = new Map<string, number>();
    const finalBalance = new Map<string, number>();
    const paced = RATE * SECONDS;
    const t0 = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < paced; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const cus = ids[i % ids.length]!;
      const c = acct.customers.get(cus)!;
      const balance = (i + 1) * 7;
      acct.customers.put({ ...c, balance });
      finalBalance.set(cus, balance);
      const id = `evt_bench_lag_${kind}_${i}`;
      sentAt.set(id, Date.now());
      inflight.push(post(eventBody(id, cus)));
      if (inflight.length > 200) await Promise.all(inflight.splice(0, 100));
    }
    await Promise.all(inflight);
    const pacedS = (performance.now() - t0) / 1000;
    await cluster.drained(600_000);
    await cluster.stop(worker);
    agent.destroy();

    const { lags, enqueued, queued, wrong, completions } = await cluster.withDb(async (db) => {
      const jobs = await db.query<{ dedupe_key: string; finished_at: Date; created_at: Date }>(
        "SELECT dedupe_key, finished_at, created_at FROM jobs WHERE queue = 'app:stripe:apply_event' AND dedupe_key LIKE $1",
        [`event:%:evt_bench_lag_${kind}_%`],
      );
      const sent = (r: { dedupe_key: string }) => sentAt.get(r.dedupe_key.split(':').at(-1)!)!;
      const lags = jobs.rows.map((r) => r.finished_at.getTime() - sent(r));
      // The lag in two parts: until the acknowledgement enqueued the job, then until a worker finished it.
      const enqueued = jobs.rows.map((r) => r.created_at.getTime() - sent(r));
      const queued = jobs.rows.map((r) => r.finished_at.getTime() - r.created_at.getTime());
      // Jobs completed by one statement share its transaction's now(): the number of distinct finish times is the
      // number of completions (a batch of jobs is completed at once).
      const completions = new Set(jobs.rows.map((r) => r.finished_at.getTime())).size;
      const contacts = await db.query<{ email: string; custom_attributes: Record<string, unknown> }>(
        'SELECT email, custom_attributes FROM contacts WHERE workspace_id = $1',
        [cluster.workspaceId],
      );
      const byEmail = new Map(contacts.rows.map((r) => [r.email.toLowerCase(), r.custom_attributes]));
      let wrong = 0;
      for (const [cus, bal] of finalBalance) {
        const email = acct.customers.get(cus)!.email!;
        if (byEmail.get(email)?.stripe_account_balance !== bal / 100) wrong += 1;
      }
      return { lags, enqueued, queued, wrong, completions };
    });

    const hs = health.lat.length / (health.ms / 1000);
    const as = acks.lat.length / (acks.ms / 1000);
    console.log(`\n== ${kind} (load avg ${loadBefore} → ${loadAfter}) ==`);
    console.log(
      `baseline GET /healthz: ${hs.toFixed(0)} req/s, p50 ${pct(health.lat, 50).toFixed(1)} ms, p99 ${pct(health.lat, 99).toFixed(1)} ms`,
    );
    console.log(
      `webhooks: ${EVENTS} events at concurrency ${CONCURRENCY}: ${as.toFixed(0)} acks/s (${((as / hs) * 100).toFixed(0)}% of the baseline), ` +
        `ack p50 ${pct(acks.lat, 50).toFixed(1)} ms, p99 ${pct(acks.lat, 99).toFixed(1)} ms, non-200: ${acks.bad}; ` +
        (first.due === 0
          ? 'then no backlog: the applies kept up with the acknowledgements'
          : `then ${applyRate.toFixed(1)} apply jobs/s over the backlog (${skipped} left unapplied and skipped)`),
    );
    console.log(
      `paced: ${paced} events at ${RATE}/s (sent in ${pacedS.toFixed(1)} s): apply lag p50 ${pct(lags, 50).toFixed(0)} ms, ` +
        `p99 ${pct(lags, 99).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms over ${lags.length} jobs ` +
        `(${(lags.length / completions).toFixed(1)} jobs a completion; sent → enqueued p50 ${pct(enqueued, 50).toFixed(0)} ms, ` +
        `p99 ${pct(enqueued, 99).toFixed(0)} ms; enqueued → applied p50 ${pct(queued, 50).toFixed(0)} ms, p99 ${pct(queued, 99).toFixed(0)} ms); ` +
        `contacts with a stale balance at the end: ${wrong}`,
    );
    return {
      kind,
      hs,
      as,
      ackP50: pct(acks.lat, 50),
      ackP99: pct(acks.lat, 99),
      lagP50: pct(lags, 50),
      lagP99: pct(lags, 99),
    };
  } finally {
    await cluster.close();
    await emu.close();
  }
}

console.log(
  `${new Date().toISOString()} load avg ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, ${os.cpus().length} CPUs`,
);
for (const kind of DBS) await run(kind as 'postgres' | 'pglite');
