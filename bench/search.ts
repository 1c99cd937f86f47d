/**
 * Contacts search benchmark (docs/benchmarks.md, "Contacts search"): ten billing queries, each a count plus the
 * first page of 50, with the search indexes and again after dropping them, on PostgreSQL and on PGlite.
 *
 *   npm run bench:search -- [--contacts 1000000] [--pglite-contacts 100000] [--runs 20] [--only postgres|pglite]
 *   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { wrapPglite, wrapPool, type Db } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import type { AttributeType } from '../src/platform/search/expressions.ts';
import { compileSearch, customNames } from '../src/platform/search/compiler.ts';
import { searchRepository } from '../src/platform/search/repository.ts';
import { DEFAULT_SORT } from '../src/platform/search/schemas.ts';
import { searchContacts } from '../src/platform/search/service.ts';
import { defineAttributes, insertWorkspace } from '../src/platform/search/test-fixtures.ts';
import { NOW, QUERIES } from './search-queries.ts';

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string', default: process.env.BENCH_CONTACTS ?? '1000000' },
    'pglite-contacts': { type: 'string', default: process.env.BENCH_PGLITE_CONTACTS ?? '100000' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '20' },
    // Unindexed queries are slow and only feed the ratio.
    'unindexed-runs': { type: 'string', default: process.env.BENCH_UNINDEXED_RUNS ?? '5' },
    only: { type: 'string' },
    // Keep the PostgreSQL database (indexed, not measured) for EXPLAIN: prints its name.
    keep: { type: 'boolean', default: false },
  },
});
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WS = 'ws_bench';

const ATTRS: Record<string, AttributeType> = {
  stripe_customer_id: 'string',
  stripe_plan: 'string',
  stripe_subscription_status: 'string',
  stripe_account_balance: 'number',
  stripe_mrr: 'number',
  stripe_seats: 'number',
  stripe_delinquent: 'boolean',
  stripe_card_expires_at: 'date',
  stripe_last_charge_at: 'date',
  stripe_card_brand: 'string',
  company_name: 'string',
  signup_source: 'string',
  country: 'string',
  nps: 'number',
  beta_tester: 'boolean',
};

/** A deterministic uniform [0,1) per row and stream, so PostgreSQL and PGlite get the same data. */
const r = (k: number) => `((hashint4(g * 31 + ${k}) & 2147483647)::float8 / 2147483648)`;
const pickSql = (k: number, xs: string[]) =>
  `(ARRAY[${xs.map((x) => `'${x}'`).join(',')}])[1 + floor(${r(k)} * ${xs.length})::int]`;
const maybe = (k: number, pPresent: number, sql: string) => `CASE WHEN ${r(k)} < ${pPresent} THEN ${sql} END`;

function insertSql(from: number, to: number): string {
  const first = ['ann', 'bob', 'cho', 'dev', 'eva', 'fay', 'gil', 'hal', 'ivy', 'jon', 'kim', 'lee'];
  const last = ['smith', 'jones', 'garcia', 'lee', 'khan', 'ng', 'silva', 'brown', 'martin', 'novak'];
  const domains = ['gmail.com', 'acme.io', 'example.org', 'corp.co', 'mail.de', 'startup.dev'];
  const custom = `jsonb_strip_nulls(jsonb_build_object(
    'stripe_customer_id', ${maybe(1, 0.85, `'cus_' || lpad(to_hex(g), 8, '0')`)},
    'stripe_plan', ${maybe(2, 0.9, pickSql(3, ['Free', 'Free', 'Free', 'Free', 'Basic', 'Basic', 'Basic', 'Pro', 'Pro', 'Enterprise']))},
    'stripe_subscription_status', ${maybe(4, 0.85, pickSql(5, ['active', 'active', 'active', 'active', 'active', 'active', 'trialing', 'past_due', 'canceled', 'unpaid']))},
    'stripe_account_balance', ${maybe(6, 0.85, `CASE WHEN ${r(7)} < 0.8 THEN 0 ELSE round((${r(8)} * 55000 - 5000)::numeric, 2) END`)},
    'stripe_mrr', ${maybe(9, 0.8, `round((${r(10)} * 2000)::numeric, 2)`)},
    'stripe_seats', ${maybe(11, 0.8, `1 + floor(${r(12)} * 200)::int`)},
    'stripe_delinquent', ${maybe(13, 0.85, `${r(14)} < 0.05`)},
    'stripe_card_expires_at', ${maybe(15, 0.75, `${NOW} + floor((${r(16)} - 0.2) * 4 * 365 * 86400)::bigint`)},
    'stripe_last_charge_at', ${maybe(17, 0.75, `${NOW} - floor(${r(18)} * 365 * 86400)::bigint`)},
    'stripe_card_brand', ${maybe(19, 0.75, pickSql(20, ['visa', 'mastercard', 'amex', 'discover']))},
    'company_name', ${maybe(21, 0.6, `'Company ' || floor(${r(22)} * 50000)::int`)},
    'signup_source', ${maybe(23, 0.9, pickSql(24, ['organic', 'ads', 'referral', 'partner', 'event']))},
    'country', ${maybe(25, 0.9, pickSql(26, ['US', 'GB', 'DE', 'FR', 'BR', 'IN', 'JP', 'CA', 'AU', 'ES']))},
    'nps', ${maybe(27, 0.3, `floor(${r(28)} * 11)::int`)},
    'beta_tester', ${maybe(29, 0.5, `${r(30)} < 0.1`)}))`;
  const email = `${pickSql(31, first)} || '.' || ${pickSql(32, last)} || g || '@' || ${pickSql(33, domains)}`;
  return `INSERT INTO contacts (workspace_id, id, role, external_id, email, email_normalized, name, custom_attributes,
      created_at, updated_at, last_seen_at)
    SELECT '${WS}', lpad(to_hex(g), 24, '0'), CASE WHEN ${r(34)} < 0.8 THEN 'user' ELSE 'lead' END,
      CASE WHEN ${r(35)} < 0.8 THEN 'ext_' || g END, e.email, lower(e.email), initcap(split_part(e.email, '@', 1)),
      ${custom}, to_timestamp(${NOW} - g * 30), to_timestamp(${NOW} - g * 10),
      CASE WHEN ${r(36)} < 0.7 THEN to_timestamp(${NOW} - floor(${r(37)} * 90 * 86400)) END
    FROM generate_series(${from}, ${to}) g, LATERAL (SELECT ${email} AS email) e`;
}

interface Timing {
  name: string;
  count: number;
  p50: number;
  p95: number;
  /** Indexed runs only: the two halves of a search measured alone. */
  countP50?: number;
  pageP50?: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

async function time(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

async function measure(db: Db, runs: number, breakdown: boolean): Promise<Timing[]> {
  const out: Timing[] = [];
  for (const q of QUERIES) {
    const sort = q.sort ?? DEFAULT_SORT;
    const body = { query: q.query, sort, pagination: { per_page: 50 } };
    let count = 0;
    for (let i = 0; i < 2; i++) count = (await searchContacts(db, WS, body)).total_count; // warm-up
    const times = await time(runs, () => searchContacts(db, WS, body));
    const t: Timing = { name: q.name, count, p50: pct(times, 50), p95: pct(times, 95) };
    if (breakdown) {
      const types = await searchRepository.attributeTypes(db, WS, customNames(q.query, sort));
      const c = compileSearch(WS, q.query, sort, types);
      t.countP50 = pct(await time(Math.ceil(runs / 2), () => searchRepository.count(db, c)), 50);
      t.pageP50 = pct(await time(Math.ceil(runs / 2), () => searchRepository.page(db, c, null, 51)), 50);
    }
    out.push(t);
  }
  return out;
}

async function load(db: Db, n: number, label: string): Promise<void> {
  await insertWorkspace(db, WS);
  const t0 = performance.now();
  const batch = 100_000;
  for (let from = 1; from <= n; from += batch) {
    await db.query(insertSql(from, Math.min(n, from + batch - 1)));
    process.stderr.write(`\r${label}: ${Math.min(n, from + batch - 1)} / ${n} contacts`);
  }
  process.stderr.write(` (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  const t1 = performance.now();
  await defineAttributes(db, WS, ATTRS);
  // Index-only scans need the visibility map that VACUUM sets (autovacuum does it in production).
  await db.exec('VACUUM ANALYZE contacts, contact_attribute_values');
  process.stderr.write(
    `${label}: indexes + VACUUM ANALYZE ${((performance.now() - t1) / 1000).toFixed(0)} s\n`,
  );
}

/**
 * The indexes this module adds (migrations 0002 and 0006, and per attribute); the core ones from 0001 and the
 * side table's primary key stay. The queries are the same, so the counts then scan contact_attribute_values.
 */
async function dropSearchIndexes(db: Db): Promise<void> {
  const res = await db.query<{ name: string }>(
    `SELECT indexname AS name FROM pg_indexes WHERE (tablename = 'contacts'
       AND (indexname LIKE 'contacts\\_ca\\_%' OR indexname IN ('contacts_updated', 'contacts_last_seen',
         'contacts_name_c', 'contacts_name_lower', 'contacts_email_prefix', 'contacts_email_trgm', 'contacts_live')))
       OR (tablename = 'contact_attribute_values' AND indexname <> 'contact_attribute_values_pkey')`,
  );
  for (const r of res.rows) await db.exec(`DROP INDEX ${r.name}`);
  await db.exec('ANALYZE contacts, contact_attribute_values');
}

function report(label: string, n: number, withIdx: Timing[], without: Timing[], target: number): void {
  console.log(`\n### ${label}, ${n.toLocaleString('en')} contacts (target p95 < ${target} ms)\n`);
  console.log(
    '| Query | Matches | p50 ms | p95 ms | count alone p50 | page alone p50 | p50 unindexed | p95 unindexed | Speed-up (p50) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [i, t] of withIdx.entries()) {
    const u = without[i]!;
    const mark = t.p95 < target ? '' : ' ✗';
    console.log(
      `| ${t.name} | ${t.count.toLocaleString('en')} | ${t.p50.toFixed(1)} | ${t.p95.toFixed(1)}${mark} | ${t.countP50?.toFixed(1)} | ${t.pageP50?.toFixed(1)} | ${u.p50.toFixed(1)} | ${u.p95.toFixed(1)} | ${(u.p50 / t.p50).toFixed(1)}× |`,
    );
  }
}

async function benchPostgres(n: number, runs: number): Promise<void> {
  const name = `settle_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query(`ALTER DATABASE ${name} SET maintenance_work_mem = '512MB'`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  pool.on('error', () => undefined);
  const db = wrapPool(pool);
  try {
    await migrate(db);
    await load(db, n, 'postgres');
    if (args.keep) {
      console.log(`kept database ${name}`);
      return;
    }
    const sizes = await db.query<{ t: string; heap: string; indexes: string }>(
      `SELECT t, pg_size_pretty(pg_relation_size(t)) AS heap, pg_size_pretty(pg_indexes_size(t)) AS indexes
       FROM unnest(ARRAY['contacts', 'contact_attribute_values']::regclass[]) t`,
    );
    for (const r of sizes.rows) console.log(`${r.t}: heap ${r.heap}, indexes ${r.indexes}`);
    console.log(`load average ${load1()} before the indexed pass`);
    const withIdx = await measure(db, runs, true);
    await dropSearchIndexes(db);
    console.log(`load average ${load1()} before the unindexed pass`);
    const without = await measure(db, Number(args['unindexed-runs']), false);
    report('PostgreSQL', n, withIdx, without, 100);
    const v = await db.query<{ v: string; jit: string }>(
      `SELECT version() AS v, current_setting('jit') AS jit`,
    );
    console.log(`\n${v.rows[0]?.v}, jit=${v.rows[0]?.jit}`);
  } finally {
    await db.close();
    if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function benchPglite(n: number, runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'settle-bench-'));
  const db = wrapPglite(await PGlite.create(join(dir, 'pglite')));
  try {
    await migrate(db);
    await load(db, n, 'pglite');
    console.log(`load average ${load1()} before the PGlite indexed pass`);
    const withIdx = await measure(db, runs, true);
    await dropSearchIndexes(db);
    console.log(`load average ${load1()} before the PGlite unindexed pass`);
    const without = await measure(db, Number(args['unindexed-runs']), false);
    report('PGlite (file-backed)', n, withIdx, without, 200);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const load1 = () => loadavg()[0]!.toFixed(1);
const runs = Number(args.runs);
console.log(`# Contacts search benchmark, ${new Date().toISOString()}`);
console.log(
  `${cpus().length} cores, load average ${load1()} at start; ${runs} runs per query after 2 warm-ups`,
);
if (args.only !== 'pglite') await benchPostgres(Number(args.contacts), runs);
if (args.only !== 'postgres') await benchPglite(Number(args['pglite-contacts']), runs);
console.log(`\nload average ${load1()} at the end`);
