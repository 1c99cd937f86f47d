/**
 * Timeline recording benchmark (docs/benchmarks.md, "Timeline: recording entries a page at a time"): the Stripe
 * app's `timeline_history` job imports up to 30 days of an account's events, a page of 100 at a time. It used to
 * call `host.timeline.record` once per entry (one statement, one commit each); it now calls
 * `host.timeline.recordMany` once per page (one statement). This measures both through the real `AppHost`.
 *
 * A fresh database with the migrations, one workspace, C contacts, and a bench app (one declared event) in a
 * platform composed as `settle start` composes it. Each entry is on a contact picked by a seeded generator, with a
 * charge's metadata and its own idempotency key (all new):
 *   A (product):  `recordMany(page)` per page of P entries, N entries in all;
 *   B (baseline): `record(contact, entry)` per entry, one after the other, as the job did before.
 * They run in slices of S pages: a slice of B after every K-th slice of A (the two of a pair swapped from pair to
 * pair), so B records N / K entries (one by one, all N would take minutes here) at the same table sizes and under
 * the same machine load as A. Reported: entries/s of each, their ratio overall and per quarter of the run, and page
 * latency p50/p99 (B's page: its P calls); then one page of each again, all repeats (a resumed run), which must
 * record nothing.
 *
 *   npm run bench:timeline -- [--entries 100000] [--contacts 10000] [--page 100] [--slice 10] [--baseline-every 4]
 *                              [--pglite]
 *   --pglite: the same on a file-backed PGlite database in a temporary directory (the embedded default), after
 *   PostgreSQL. BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { defineApp, type AppHost, type TimelineEventInput } from '../src/app-sdk/index.ts';
import { loadConfig } from '../src/config/env.ts';
import { openDb, type Db } from '../src/db/client.ts';
import { insertWorkspace } from '../src/platform/search/test-fixtures.ts';
import { composePlatform, createLogger } from '../src/server/compose.ts';
import { mulberry32 } from '../src/shared/random.ts';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    contacts: { type: 'string', default: '10000' },
    page: { type: 'string', default: '100' },
    slice: { type: 'string', default: '10' },
    // K: 1 has B record as many entries as A.
    'baseline-every': { type: 'string', default: '4' },
    pglite: { type: 'boolean', default: false },
  },
});
const ENTRIES = Number(args.entries);
const CONTACTS = Number(args.contacts);
const PAGE = Number(args.page);
const SLICE = Number(args.slice);
const EVERY = Number(args['baseline-every']);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WS = 'ws_bench';
const APP = 'bench';
const EVENT = 'charged';
if (ENTRIES % (PAGE * SLICE * EVERY) !== 0)
  throw new Error('--entries must be a multiple of --page × --slice × --baseline-every');
/** The baseline records one slice for every EVERY of the product's: one by one, all N would take minutes. */
const BASELINE_ENTRIES = ENTRIES / EVERY;

const benchApp = defineApp({
  id: APP,
  name: 'Bench',
  description: 'Records timeline entries for bench/timeline.ts',
  settings: z.object({}),
  secrets: [],
  attributes: [],
  events: [EVENT],
  cards: { sidebar: [], messenger: [] },
  webhooks: [],
  jobs: {},
  tools: [],
});

type Variant = 'A' | 'B';
type Entry = { contactId: string; event: TimelineEventInput };
const contactId = (i: number) => `c${String(i).padStart(6, '0')}`;

/** Page `p` of a variant: entries on random contacts, dated over the 30 days before now, keyed by variant. */
function page(variant: Variant, p: number, random: () => number): Entry[] {
  const now = Date.now();
  return Array.from({ length: PAGE }, (_, i) => {
    const n = p * PAGE + i;
    const amount = 500 + Math.floor(random() * 20_000);
    return {
      contactId: contactId(1 + Math.floor(random() * CONTACTS)),
      event: {
        name: EVENT,
        createdAt: new Date(now - Math.floor(random() * 30 * 86_400_000)),
        metadata: {
          charge_id: `ch_${variant}${n}`,
          amount: amount / 100,
          currency: 'usd',
          description: 'Subscription update',
          livemode: false,
        },
        idempotencyKey: `evt_${variant}_${n}`,
      },
    };
  });
}

const write: Record<Variant, (host: AppHost, entries: Entry[]) => Promise<number>> = {
  A: (host, entries) => host.timeline.recordMany(entries),
  B: async (host, entries) => {
    let n = 0;
    for (const e of entries) if (await host.timeline.record(e.contactId, e.event)) n += 1;
    return n;
  },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const fmt = (x: number, d = 0) =>
  x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const load1 = () => loadavg()[0]!.toFixed(1);

async function setUp(db: Db): Promise<void> {
  await insertWorkspace(db, WS);
  await db.query(
    `INSERT INTO contacts (workspace_id, id, role, email, email_normalized)
     SELECT $1, 'c' || lpad(g::text, 6, '0'), 'user', 'm' || g || '@example.com', 'm' || g || '@example.com'
     FROM generate_series(1, $2::int) AS g`,
    [WS, CONTACTS],
  );
  await db.exec('ANALYZE');
}

async function run(label: string, db: Db): Promise<void> {
  const t0 = performance.now();
  const platform = await composePlatform({
    config: { ...loadConfig({}), dataDir: '/nonexistent', logLevel: 'warn' },
    db,
    registry: { [APP]: benchApp },
    log: createLogger('warn'),
    masterKey: randomBytes(32),
  });
  await setUp(db);
  const host = platform.apps.host(WS, APP);
  console.log(
    `\n## ${label}\nset-up (migrations, ${fmt(CONTACTS)} contacts): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const random = { A: mulberry32(1), B: mulberry32(2) };
  const slices = ENTRIES / PAGE / SLICE;
  const ms = { A: [] as number[], B: [] as number[] }; // per slice
  const quarterOf = { A: [] as number[], B: [] as number[] }; // per slice: the quarter of the run it ran in
  const lat = { A: [] as number[], B: [] as number[] }; // per page
  const recorded = { A: 0, B: 0 };
  const next = { A: 0, B: 0 }; // the variant's next page
  const slice = async (v: Variant, s: number) => {
    quarterOf[v].push(Math.floor((4 * s) / slices));
    const batch = Array.from({ length: SLICE }, () => page(v, next[v]++, random[v]));
    const start = performance.now();
    for (const entries of batch) {
      const p0 = performance.now();
      recorded[v] += await write[v](host, entries);
      lat[v].push(performance.now() - p0);
    }
    ms[v].push(performance.now() - start);
  };
  for (let s = 0; s < slices; s++) {
    if (s % EVERY < EVERY - 1) await slice('A', s);
    else {
      // A pair: one slice of each, the first of the two swapped from pair to pair.
      const order: Variant[] = Math.floor(s / EVERY) % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
      for (const v of order) await slice(v, s);
    }
    if ((s + 1) % Math.max(1, Math.round(slices / 4)) === 0 && s + 1 < slices)
      console.log(
        `  ${fmt(recorded.A)} entries by A in ${fmt(sum(ms.A) / 1000, 1)} s, ${fmt(recorded.B)} by B in ` +
          `${fmt(sum(ms.B) / 1000, 1)} s, load average ${load1()}`,
      );
  }
  // Every entry was new: each variant records its own keys, once.
  const wanted = { A: ENTRIES, B: BASELINE_ENTRIES };
  for (const v of ['A', 'B'] as const)
    if (recorded[v] !== wanted[v]) throw new Error(`${v} recorded ${recorded[v]} of ${wanted[v]} entries`);
  const rows = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM contact_events WHERE workspace_id = $1',
    [WS],
  );
  if (rows.rows[0]!.n !== ENTRIES + BASELINE_ENTRIES)
    throw new Error(`${rows.rows[0]!.n} rows, expected ${ENTRIES + BASELINE_ENTRIES}`);
  // A resumed run: the first page of each again, all repeats.
  const again = { A: 0, B: 0 };
  for (const v of ['A', 'B'] as const) {
    const p0 = performance.now();
    const n = await write[v](host, page(v, 0, mulberry32(v === 'A' ? 1 : 2)));
    again[v] = performance.now() - p0;
    if (n !== 0) throw new Error(`${v} recorded ${n} repeats`);
  }

  const rate = (xs: number[]) => (xs.length * SLICE * PAGE) / (sum(xs) / 1000);
  console.log(
    '\n| variant | entries | seconds | entries/s | statements | page p50 ms | page p99 ms | a page of repeats ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const v of ['A', 'B'] as const)
    console.log(
      `| ${v === 'A' ? 'A recordMany (a page a statement)' : 'B record (an entry a statement)'} | ${fmt(wanted[v])} | ` +
        `${fmt(sum(ms[v]) / 1000, 1)} | ${fmt(rate(ms[v]))} | ${fmt(v === 'A' ? wanted.A / PAGE : wanted.B)} | ` +
        `${fmt(pct(lat[v], 50), 1)} | ${fmt(pct(lat[v], 99), 1)} | ${fmt(again[v], 1)} |`,
    );
  // Quarters of the run: A's slices and B's within the same stretch of time (and table size).
  const quarters = [0, 1, 2, 3].map((q) => {
    const [a, b] = (['A', 'B'] as const).map((v) => ms[v].filter((_, i) => quarterOf[v][i] === q));
    return a!.length > 0 && b!.length > 0 ? (rate(a!) / rate(b!)).toFixed(1) : '–';
  });
  console.log(
    `\nA/B entries/s: ${(rate(ms.A) / rate(ms.B)).toFixed(1)} overall; by quarter of the run ${quarters.join(', ')}`,
  );
  const v = await db.query<{ v: string }>('SELECT version() AS v');
  console.log(`${v.rows[0]?.v}; load average ${load1()} at the end`);
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

const name = `settle_bench_timeline_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
const dropDatabase = () => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
let liteDir: string | undefined;
const removeLite = () => liteDir && rmSync(liteDir, { recursive: true, force: true });
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (interrupted) return; // Ctrl-C reaches tsx and this process both: clean up once
    interrupted = true;
    removeLite();
    void dropDatabase().finally(() => process.exit(130));
  });

console.log(`# Timeline: recording entries a page at a time, ${new Date().toISOString()}`);
console.log(
  `${cpus().length} cores, load average ${load1()} at start; ${fmt(ENTRIES)} entries by A and ` +
    `${fmt(BASELINE_ENTRIES)} by B over ${fmt(CONTACTS)} contacts, pages of ${PAGE}, in slices of ${SLICE} pages: ` +
    `a slice of B after every ${EVERY === 1 ? '' : `${EVERY}th `}slice of A`,
);
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
try {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: url.toString(), dataDir: '/nonexistent', poolSize: 4 });
  try {
    await run('PostgreSQL', db);
  } finally {
    await db.close();
  }
  if (args.pglite) {
    liteDir = mkdtempSync(join(tmpdir(), 'settle-bench-timeline-'));
    const lite = await openDb({ dataDir: liteDir });
    try {
      await run(`PGlite (file-backed, ${liteDir})`, lite);
    } finally {
      await lite.close();
    }
  }
} finally {
  removeLite();
  await dropDatabase();
  await admin.end();
}
