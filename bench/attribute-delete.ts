/**
 * Attribute deletion benchmark (docs/benchmarks.md, "Deleting an attribute under live writes"): what other writers
 * feel while `DELETE /api/data_attributes/:id` removes a value from every contact of a large workspace.
 *
 * `deleteAttribute` removes the values in batches of contacts, each committed on its own
 * (`contactRepository.removeAttributeKeys`). The baseline is the same call with a batch larger than the workspace:
 * then the repository sends one UPDATE over every contact, which is what the product did before session 16, and
 * which row-locks each contact it reaches until the very end. Both run against the same database, alternated
 * A, B, B, A over four attributes every contact holds, while W writers update a random contact's other attribute
 * through `updateContact` (what an API call or a Stripe webhook does) in a loop. Per deletion: its wall time, and the
 * writers' calls, p50, p99 and worst latency while it ran; before them, the writers alone for a few seconds.
 *
 * PostgreSQL only (PGlite has one connection: a writer could never run beside the deletion).
 *
 *   npm run bench:attribute-delete -- [--contacts 200000] [--batch 2000] [--writers 4] [--quiet-seconds 5]
 *   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE.
 *   BENCH_PG_OPTIONS: server options for the benchmark's connections, e.g. `-c session_preload_libraries=auto_explain
 *   -c auto_explain.log_min_duration=2000 -c auto_explain.log_nested_statements=on` to see slow plans in the log.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { wrapPool, type Db } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { createAttribute, deleteAttribute, updateAttribute } from '../src/platform/attributes/service.ts';
import { updateContact } from '../src/platform/contacts/service.ts';
import { insertWorkspace } from '../src/platform/search/test-fixtures.ts';

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '2000' },
    writers: { type: 'string', default: '4' },
    'quiet-seconds': { type: 'string', default: '5' },
  },
});
const CONTACTS = Number(args.contacts);
const BATCH = Number(args.batch);
const WRITERS = Number(args.writers);
const QUIET_SECONDS = Number(args['quiet-seconds']);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WS = 'ws_bench';
const PLANS = ['Basic', 'Pro', 'Enterprise'];
/** A batch no workspace here reaches: the repository then sends a single UPDATE (the pre-batching behaviour). */
const ONE_STATEMENT = Number.MAX_SAFE_INTEGER;
const ROUNDS = [
  { attribute: 'drop_1', variant: 'batched' },
  { attribute: 'drop_2', variant: 'one statement' },
  { attribute: 'drop_3', variant: 'one statement' },
  { attribute: 'drop_4', variant: 'batched' },
] as const;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const load1 = () => loadavg()[0]!.toFixed(1);
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits });
const contactId = (g: number) => g.toString(16).padStart(24, '0');

async function setUp(db: Db): Promise<void> {
  await migrate(db);
  await insertWorkspace(db, WS);
  await createAttribute(db, WS, { name: 'plan', data_type: 'string' });
  for (const { attribute } of ROUNDS) await createAttribute(db, WS, { name: attribute, data_type: 'string' });
  const drops = ROUNDS.map((r) => `'${r.attribute}', 'v' || g`).join(', ');
  for (let from = 1; from <= CONTACTS; from += 50_000) {
    const to = Math.min(CONTACTS, from + 49_999);
    await db.query(
      `INSERT INTO contacts (workspace_id, id, role, external_id, email, email_normalized, name, custom_attributes,
         created_at, updated_at)
       SELECT $1, lpad(to_hex(g), 24, '0'), 'user', 'ext_' || g, 'user' || g || '@example.com',
         'user' || g || '@example.com', 'User ' || g,
         jsonb_build_object('plan', (ARRAY['Basic', 'Pro', 'Enterprise'])[1 + g % 3], ${drops}), now(), now()
       FROM generate_series($2::int, $3::int) g`,
      [WS, from, to],
    );
  }
  await db.query('VACUUM ANALYZE');
}

interface Writes {
  latencies: number[];
  errors: number;
}

/** W loops, each updating a random contact's plan until `until` resolves: what the deletion makes them wait for. */
async function writeUntil(db: Db, until: Promise<unknown>): Promise<Writes> {
  const out: Writes = { latencies: [], errors: 0 };
  let done = false;
  void until.finally(() => (done = true));
  const loop = async () => {
    while (!done) {
      const id = contactId(1 + Math.floor(Math.random() * CONTACTS));
      const plan = PLANS[Math.floor(Math.random() * PLANS.length)]!;
      const t = performance.now();
      try {
        await updateContact(db, WS, id, { custom_attributes: { plan } });
        out.latencies.push(performance.now() - t);
      } catch {
        out.errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, loop));
  return out;
}

/** Writes a user would see hang: p99 hides them when only the W in flight at the wrong moment wait. */
const slow = (w: Writes) => w.latencies.filter((l) => l > 1000).length;
const describe = (w: Writes) =>
  `${fmt(w.latencies.length)} writes, p50 ${fmt(pct(w.latencies, 50), 1)} ms, p99 ${fmt(pct(w.latencies, 99), 1)} ms, ` +
  `worst ${fmt(Math.max(...w.latencies), 0)} ms, ${slow(w)} over 1 s${w.errors ? `, ${w.errors} errors` : ''}`;

interface Result {
  variant: string;
  seconds: number;
  updated: number;
  writes: Writes;
}

async function run(db: Db, attribute: string, variant: string): Promise<Result> {
  await updateAttribute(db, WS, attribute, { archived: true });
  const t = performance.now();
  const deletion = deleteAttribute(db, WS, attribute, {
    batch: variant === 'batched' ? BATCH : ONE_STATEMENT,
  });
  const writes = await writeUntil(db, deletion);
  const { contactsUpdated } = await deletion;
  const seconds = (performance.now() - t) / 1000;
  if (contactsUpdated !== CONTACTS) throw new Error(`${attribute}: ${contactsUpdated} contacts updated`);
  const left = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM contacts WHERE workspace_id = $1 AND custom_attributes ? $2`,
    [WS, attribute],
  );
  if (Number(left.rows[0]?.n) !== 0)
    throw new Error(`${attribute}: ${left.rows[0]?.n} contacts still have it`);
  return { variant, seconds, updated: contactsUpdated, writes };
}

function report(quiet: Writes, results: Result[]): void {
  console.log(
    '\n| deletion | wall s | contacts | writes meanwhile | writer p50 ms | writer p99 ms | worst ms | over 1 s |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(
    `| none (writers alone, ${QUIET_SECONDS} s) | — | — | ${fmt(quiet.latencies.length)} | ` +
      `${fmt(pct(quiet.latencies, 50), 1)} | ${fmt(pct(quiet.latencies, 99), 1)} | ${fmt(Math.max(...quiet.latencies))} | ` +
      `${slow(quiet)} |`,
  );
  for (const r of results)
    console.log(
      `| ${r.variant} | ${fmt(r.seconds, 1)} | ${fmt(r.updated)} | ${fmt(r.writes.latencies.length)} | ` +
        `${fmt(pct(r.writes.latencies, 50), 1)} | ${fmt(pct(r.writes.latencies, 99), 1)} | ` +
        `${fmt(Math.max(...r.writes.latencies))} | ${slow(r.writes)} |`,
    );
  const of = (v: string) => results.filter((r) => r.variant === v);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const b = of('batched');
  const o = of('one statement');
  const worst = (rs: Result[]) => mean(rs.map((r) => Math.max(...r.writes.latencies)));
  const p99 = (rs: Result[]) => mean(rs.map((r) => pct(r.writes.latencies, 99)));
  const wall = (rs: Result[]) => mean(rs.map((r) => r.seconds));
  console.log(
    `\nbatched against one statement (means of two each): writers' worst wait ${fmt(worst(b))} against ` +
      `${fmt(worst(o))} ms (${(worst(o) / worst(b)).toFixed(1)}× shorter), p99 ${fmt(p99(b), 1)} against ` +
      `${fmt(p99(o), 1)} ms; the deletion took ${fmt(wall(b), 1)} against ${fmt(wall(o), 1)} s ` +
      `(${(wall(b) / wall(o)).toFixed(2)}×)`,
  );
}

const name = `settle_bench_attrdel_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
const dropDatabase = () => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    void dropDatabase().finally(() => process.exit(130));
  });

console.log(`# Deleting an attribute under live writes, ${new Date().toISOString()}`);
console.log(
  `${cpus().length} cores, load average ${load1()} at start; ${fmt(CONTACTS)} contacts, batches of ${fmt(BATCH)}, ` +
    `${WRITERS} writers`,
);
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const pool = new pg.Pool({
  connectionString: url.toString(),
  max: WRITERS + 2,
  options: process.env.BENCH_PG_OPTIONS,
});
// DROP DATABASE … WITH (FORCE) ends whatever the pool still holds open at the end.
pool.on('error', () => undefined);
const db = wrapPool(pool);
try {
  const t0 = performance.now();
  await setUp(db);
  console.log(`set-up (migrations, contacts): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const quiet = await writeUntil(db, new Promise((r) => setTimeout(r, QUIET_SECONDS * 1000)));
  console.log(`writers alone: ${describe(quiet)}`);
  const results: Result[] = [];
  for (const { attribute, variant } of ROUNDS) {
    const r = await run(db, attribute, variant);
    console.log(
      `${variant} (${attribute}): ${fmt(r.seconds, 1)} s; meanwhile ${describe(r.writes)}; load ${load1()}`,
    );
    results.push(r);
  }
  report(quiet, results);
  const v = await db.query<{ v: string }>('SELECT version() AS v');
  console.log(`\n${v.rows[0]?.v}; load average ${load1()} at the end`);
} finally {
  await pool.end();
  await dropDatabase();
  await admin.end();
}
