// Whole-database views for tests: a cheap fingerprint (did anything change?) and a text dump (is a value anywhere?).
import { createHash } from 'node:crypto';
import type { Queryable } from '../../src/db/client.ts';

/** Columns that change on reads by design (a token's or a contact's last use) and say nothing about a write. */
const volatileColumns = ['last_used_at', 'last_seen_at'];

const tableCache = new WeakMap<Queryable, string[]>();
const fingerprintSql = new WeakMap<Queryable, string>();

async function tableNames(db: Queryable): Promise<string[]> {
  const cached = tableCache.get(db);
  if (cached) return cached;
  const res = await db.query<{ tablename: string }>(
    'SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename',
  );
  const names = res.rows.map((r) => r.tablename);
  tableCache.set(db, names);
  return names;
}

/** Per table: its row count and a hash of its rows (as JSON, volatile columns removed, in a fixed order). */
export async function fingerprint(db: Queryable): Promise<Record<string, string>> {
  let sql = fingerprintSql.get(db);
  const tables = await tableNames(db);
  if (!sql) {
    const strip = volatileColumns.map((c) => ` - '${c}'`).join('');
    sql = tables
      .map((t) => `SELECT '${t}' AS t, (to_jsonb(x)${strip})::text AS j FROM "${t}" x`)
      .join(' UNION ALL ');
    fingerprintSql.set(db, sql);
  }
  // One round trip; sorting and hashing here is several times faster than string_agg in PGlite.
  const rows = new Map<string, string[]>(tables.map((t) => [t, []]));
  for (const r of (await db.query<{ t: string; j: string }>(sql)).rows) rows.get(r.t)?.push(r.j);
  return Object.fromEntries(
    [...rows].map(([t, list]) => [
      t,
      `${list.length}:${createHash('sha1').update(list.sort().join('\n')).digest('hex')}`,
    ]),
  );
}

/** Every row of every table as JSON text, one line per row, prefixed with the table name. */
export async function dumpAllTables(db: Queryable): Promise<string> {
  const lines: string[] = [];
  for (const t of await tableNames(db)) {
    const res = await db.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM "${t}" x`);
    for (const r of res.rows) lines.push(`${t}: ${r.j}`);
  }
  return lines.join('\n');
}
