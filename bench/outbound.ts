/**
 * Outbound messages benchmark (docs/benchmarks.md, "Outbound messages: messenger reads under a burst"): every
 * member's messenger polls `GET /messenger/outbound` right after a send, and each poll runs
 * `outboundRepository.takeForContact`, which share-locks the one message row all of them have a delivery of
 * (`FOR SHARE OF m`). Several transactions share-locking a row make a MultiXact each, and each lock writes the
 * tuple header (WAL, a dirty page). This measures what that costs against the identical statement without the lock.
 *
 * A fresh database with the migrations, N members (contacts in a segment) and one message sent to them through the
 * platform's service functions and send job. Then phases of S seconds, C pool connections each calling the
 * statement for random members, alternated A, B, A, B, …: A is the product's statement, B the baseline (the same
 * SQL without `FOR SHARE OF m`). Before each phase the deliveries are made undelivered again, both tables are
 * vacuumed and a CHECKPOINT runs, so every phase is the burst right after a send. Per phase: calls/s, latency
 * p50/p99, `pg_stat_database` deltas, WAL (`pg_current_wal_lsn()` and `pg_stat_wal`), MultiXacts and their members
 * (`mxid_age(datminmxid)` and `pg_control_checkpoint()` after CHECKPOINTs) and sampled wait events. WAL and
 * MultiXact counters are cluster-wide: work in other databases shows up in both phases alike (B is the control).
 * PostgreSQL only: PGlite has one connection, so no two reads ever hold the lock at once.
 *
 *   npm run bench:outbound -- [--members 10000] [--clients 50] [--seconds 10] [--rounds 2] [--warmup 2]
 *                              [--synchronous-commit on|off]   (off: for the phases' connections only)
 *   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { wrapPool, type Db, type Queryable } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { JobQueue } from '../src/jobs/queue.ts';
import { createAttribute } from '../src/platform/attributes/service.ts';
import { outboundRepository } from '../src/platform/outbound/repository.ts';
import { createOutbound, outboundSendHandler, sendOutbound } from '../src/platform/outbound/service.ts';
import { insertWorkspace } from '../src/platform/search/test-fixtures.ts';
import { createSegment, segmentSource } from '../src/platform/search/service.ts';

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    // `off` takes the commit's WAL flush out of every call, leaving the statement's own cost.
    'synchronous-commit': { type: 'string', default: 'on' },
  },
});
const MEMBERS = Number(args.members);
const CLIENTS = Number(args.clients);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const SYNC = args['synchronous-commit'] === 'off' ? 'off' : 'on';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WS = 'ws_bench';
const LOCK = '\n         FOR SHARE OF m';

/**
 * BASELINE, not product code: `outboundRepository.takeForContact`'s statement with `FOR SHARE OF m` removed. It is
 * checked against the product's text at start-up (equal once the lock clause is cut out), so it cannot drift.
 */
const BASELINE_SQL = `WITH pending AS (
         SELECT message_id, delivered_at IS NULL AS fresh FROM outbound_deliveries
         WHERE workspace_id = $1 AND contact_id = $2 AND opened_at IS NULL),
       live AS (
         SELECT m.id FROM outbound_messages m
         WHERE m.workspace_id = $1 AND m.status = 'sent' AND m.id IN (SELECT message_id FROM pending WHERE fresh)),
       shown AS (
         UPDATE outbound_deliveries d SET delivered_at = now()
         FROM live WHERE d.workspace_id = $1 AND d.contact_id = $2 AND d.message_id = live.id
           AND d.delivered_at IS NULL AND d.opened_at IS NULL
         RETURNING d.message_id)
       SELECT m.id, m.title, m.body, m.sent_at FROM outbound_messages m
       WHERE m.workspace_id = $1
         AND (m.id IN (SELECT id FROM live)
              OR (m.status = 'sent' AND m.id IN (SELECT message_id FROM pending WHERE NOT fresh)))
       ORDER BY m.sent_at, m.id`;

async function checkBaseline(): Promise<void> {
  let product = '';
  const spy: Queryable = {
    async query<T>(sql: string) {
      product = sql;
      return { rows: [] as T[], rowCount: 0 };
    },
    async exec() {},
  };
  await outboundRepository.takeForContact(spy, WS, 'x');
  if (!product.includes(LOCK) || product.replace(LOCK, '') !== BASELINE_SQL)
    throw new Error(
      'bench/outbound.ts: BASELINE_SQL no longer matches takeForContact without its lock; update it',
    );
}

type Variant = 'A' | 'B';
const call: Record<Variant, (db: Db, contact: string) => Promise<number>> = {
  A: async (db, contact) => (await outboundRepository.takeForContact(db, WS, contact)).length,
  B: async (db, contact) => (await db.query(BASELINE_SQL, [WS, contact])).rows.length,
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const load1 = () => loadavg()[0]!.toFixed(1);
const contactId = (i: number) => `c${String(i).padStart(6, '0')}`;

const KEYS = ['commits', 'hit', 'read', 'wal', 'walRecords', 'fpi', 'mx', 'mxCk', 'members'] as const;
type Counters = Record<(typeof KEYS)[number], number>;

/**
 * This database's `pg_stat_database`; the cluster's WAL position and `pg_stat_wal`; the next MultiXact id live
 * (`mxid_age` of a fixed `datminmxid`) and, as of the last checkpoint, with the next member offset.
 */
async function counters(obs: pg.Client): Promise<Counters> {
  const r = await obs.query<Record<string, string | number>>(
    `SELECT d.xact_commit AS commits, d.blks_hit AS hit, d.blks_read AS read,
       pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal, w.wal_records AS "walRecords", w.wal_fpi AS fpi,
       (SELECT mxid_age(datminmxid) FROM pg_database WHERE datname = current_database()) AS mx,
       c.next_multixact_id::text AS "mxCk", c.next_multi_offset::text AS members
     FROM pg_stat_database d, pg_stat_wal w, pg_control_checkpoint() c WHERE d.datname = current_database()`,
  );
  return Object.fromEntries(KEYS.map((k) => [k, Number(r.rows[0]![k])])) as Counters;
}

interface Result {
  variant: Variant;
  calls: number;
  rate: number;
  p50: number;
  p99: number;
  empty: number;
  d: Counters;
  waits: string;
}

/** The burst right after a send: every delivery undelivered again, dead rows vacuumed away, a fresh checkpoint. */
async function reset(obs: pg.Client): Promise<void> {
  await obs.query('UPDATE outbound_deliveries SET delivered_at = NULL WHERE workspace_id = $1', [WS]);
  await obs.query('VACUUM outbound_deliveries, outbound_messages');
  await obs.query('CHECKPOINT');
}

async function phase(url: string, obs: pg.Client, variant: Variant, seconds: number): Promise<Result> {
  await reset(obs);
  const pool = new pg.Pool({ connectionString: url, max: CLIENTS, options: `-c synchronous_commit=${SYNC}` });
  pool.on('error', () => undefined);
  const db = wrapPool(pool);
  await Promise.all(Array.from({ length: CLIENTS }, () => db.query('SELECT 1'))); // every connection open
  const before = await counters(obs);
  const lat: number[] = [];
  let empty = 0;
  const waits = new Map<string, number>();
  let samples = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const sampler = (async () => {
    while (performance.now() < end) {
      const r = await obs.query<{ w: string; n: number }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1`,
      );
      for (const { w, n } of r.rows) waits.set(w, (waits.get(w) ?? 0) + n);
      samples += 1;
      await sleep(100);
    }
  })();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const n = await call[variant](db, contactId(1 + Math.floor(Math.random() * MEMBERS)));
        lat.push(performance.now() - s);
        if (n !== 1) empty += 1;
      }
    }),
  );
  const ms = performance.now() - t0;
  await sampler;
  await db.close(); // the backends exit and flush their statistics
  await sleep(500);
  await obs.query('CHECKPOINT'); // pg_control_checkpoint() is as of the last checkpoint
  const after = await counters(obs);
  const top = [...waits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([w, n]) => `${w} ${(n / samples).toFixed(1)}`)
    .join(', ');
  return {
    variant,
    calls: lat.length,
    rate: lat.length / (ms / 1000),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    empty,
    d: Object.fromEntries(KEYS.map((k) => [k, after[k] - before[k]])) as Counters,
    waits: top,
  };
}

async function setUp(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  const db = wrapPool(pool);
  try {
    await migrate(db);
    await insertWorkspace(db, WS);
    await createAttribute(db, WS, { name: 'plan', data_type: 'string' });
    await db.query(
      `INSERT INTO contacts (workspace_id, id, role, email, email_normalized, custom_attributes, created_at)
       SELECT $1, 'c' || lpad(g::text, 6, '0'), 'user', 'm' || g || '@example.com', 'm' || g || '@example.com',
              '{"plan": "Pro"}'::jsonb, now() - make_interval(secs => g)
       FROM generate_series(1, $2::int) AS g`,
      [WS, MEMBERS],
    );
    const query = { field: 'custom_attributes.plan', operator: '=', value: 'Pro' };
    const segment = await createSegment(db, WS, { name: 'Pro users', query });
    const msg = await createOutbound(db, WS, { segment_id: segment.id, title: 'New', body: 'VAT' }, null);
    await sendOutbound(db, new JobQueue(db), segmentSource, WS, msg.id);
    // The send job, run here (as the tests do): one INSERT … SELECT of every member's delivery.
    const signal = new AbortController().signal;
    const job = { workspaceId: WS, jobId: 0, attempt: 1, lastAttempt: false, rerun: false, signal };
    await outboundSendHandler(db, segmentSource)({ ...job, payload: { id: msg.id } });
    const stats = await outboundRepository.stats(db, WS, msg.id);
    if (stats.sent !== MEMBERS) throw new Error(`the send delivered to ${stats.sent} of ${MEMBERS} members`);
    await db.exec('VACUUM ANALYZE');
  } finally {
    await db.close();
  }
}

const fmt = (x: number, d = 0) =>
  x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function report(results: Result[]): void {
  console.log(
    '\n| phase | calls | calls/s | p50 ms | p99 ms | commits | blocks hit / call | WAL bytes / call | WAL records / call | FPI | MultiXacts (at checkpoint) | members (per MultiXact) | wait events (avg active backends) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [i, r] of results.entries()) {
    const c = r.calls;
    console.log(
      `| ${i + 1}. ${r.variant === 'A' ? 'A (FOR SHARE)' : 'B (no lock)'} | ${fmt(c)} | ${fmt(r.rate)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ` +
        `${fmt(r.d.commits)} | ${fmt(r.d.hit / c, 1)} | ${fmt(r.d.wal / c)} | ${fmt(r.d.walRecords / c, 2)} | ${fmt(r.d.fpi)} | ` +
        `${fmt(r.d.mx)} (${fmt(r.d.mxCk)}) | ${fmt(r.d.members)} (${r.d.mx ? fmt(r.d.members / r.d.mx, 1) : '–'}) | ${r.waits} |`,
    );
  }
  const of = (v: Variant) => results.filter((r) => r.variant === v);
  console.log('\nRatios A/B, pair by pair (A_i against the B run right after it):');
  for (let i = 0; i + 1 < results.length; i += 2) {
    const [a, b] = [results[i]!, results[i + 1]!];
    console.log(
      `  pair ${i / 2 + 1}: throughput ${(a.rate / b.rate).toFixed(2)}, p50 ${(a.p50 / b.p50).toFixed(2)}, p99 ${(a.p99 / b.p99).toFixed(2)}, ` +
        `WAL bytes/call ${(a.d.wal / a.calls / (b.d.wal / b.calls)).toFixed(2)}`,
    );
  }
  const [as, bs] = [of('A'), of('B')];
  console.log(
    `  means: throughput ${(mean(as.map((r) => r.rate)) / mean(bs.map((r) => r.rate))).toFixed(2)}, ` +
      `p99 ${(mean(as.map((r) => r.p99)) / mean(bs.map((r) => r.p99))).toFixed(2)}; ` +
      `MultiXacts per call: A ${(mean(as.map((r) => r.d.mx / r.calls)) || 0).toFixed(2)}, B ${(mean(bs.map((r) => r.d.mx / r.calls)) || 0).toFixed(2)}`,
  );
  const empty = results.reduce((n, r) => n + r.empty, 0);
  if (empty > 0)
    console.log(`  ! ${empty} calls returned no message (every call should return the one message)`);
}

const name = `settle_bench_outbound_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
const dropDatabase = () => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (interrupted) return; // Ctrl-C reaches tsx and this process both: drop once
    interrupted = true;
    void dropDatabase().finally(() => process.exit(130));
  });

console.log(`# Outbound messages: messenger reads under a burst, ${new Date().toISOString()}`);
console.log(
  `${cpus().length} cores, load average ${load1()} at start; ${MEMBERS.toLocaleString('en')} members, ` +
    `${CLIENTS} connections, ${SECONDS} s a phase, ${ROUNDS} rounds of A then B after ${WARMUP} s warm-up of each, ` +
    `synchronous_commit ${SYNC}`,
);
console.log('PostgreSQL only: PGlite has one connection, so two reads never hold the share lock at once.');
await checkBaseline();
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const obs = new pg.Client({ connectionString: url.toString() });
try {
  const t0 = performance.now();
  await setUp(url.toString());
  console.log(
    `set-up (migrations, contacts, segment, send job): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  await obs.connect();
  await obs.query('SET stats_fetch_consistency = none');
  if (WARMUP > 0) for (const v of ['A', 'B'] as const) await phase(url.toString(), obs, v, WARMUP);
  const results: Result[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const v of ['A', 'B'] as const) {
      const r = await phase(url.toString(), obs, v, SECONDS);
      console.log(
        `${v}: ${fmt(r.rate)} calls/s, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, load average ${load1()}`,
      );
      results.push(r);
    }
  }
  report(results);
  const v = await obs.query<{ v: string }>('SELECT version() AS v');
  console.log(`\n${v.rows[0]?.v}; load average ${load1()} at the end`);
} finally {
  await obs.end().catch(() => undefined);
  await dropDatabase();
  await admin.end();
}
