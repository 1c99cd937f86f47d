import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Parse and plan once per connection, then reuse (a named prepared statement on PostgreSQL). For hot statements
   * whose best plan does not depend on the values: lookups by key or id. Not for searches, whose expression
   * indexes match only once the planner sees the attribute name as a constant, nor for `SELECT *` (a column added
   * later would break the cached statement).
   */
  prepare?: boolean;
}

/** What a repository gets: a connection or a transaction, never the driver. */
export interface Queryable {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    opts?: QueryOptions,
  ): Promise<QueryResult<T>>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function wrapPglite(pglite: PGlite): Db {
  // PGlite runs one query at a time; a transaction holds it, so nesting is explicit through `tx`.
  return {
    kind: 'pglite',
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const res = await pglite.query<T>(sql, params as unknown[]);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return pglite.transaction(async (tx) =>
        fn({
          async query<R>(sql: string, params: readonly unknown[] = []) {
            const res = await tx.query<R>(sql, params as unknown[]);
            return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
          },
          async exec(sql: string) {
            await tx.exec(sql);
          },
        }),
      );
    },
    async close() {
      await pglite.close();
    },
  };
}

// int8 and numeric come back as strings from node-postgres; timestamps as Date in both drivers.
pg.types.setTypeParser(20, (v) => Number(v));

const statementNames = new Map<string, string>();
/** The statement's name: the same text always gets the same name, on every connection. */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `s_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    if (statementNames.size > 5000) statementNames.clear();
    statementNames.set(sql, name);
  }
  return name;
}

/** `prepared: false` sends every statement unnamed (behind a pooler that cannot keep prepared statements). */
export function wrapPool(pool: pg.Pool, prepared = true): Db {
  const config = (sql: string, params: readonly unknown[], opts?: QueryOptions) =>
    prepared && opts?.prepare
      ? { name: statementName(sql), text: sql, values: params as unknown[] }
      : { text: sql, values: params as unknown[] };
  return {
    kind: 'postgres',
    async query<T>(sql: string, params: readonly unknown[] = [], opts?: QueryOptions) {
      const res = await pool.query(config(sql, params, opts));
      return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          async query<R>(sql: string, params: readonly unknown[] = [], opts?: QueryOptions) {
            const res = await client.query(config(sql, params, opts));
            return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
  /** Named prepared statements for hot lookups (QueryOptions.prepare); default on. */
  preparedStatements?: boolean;
}

export async function openDb(opts: OpenDbOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // Fail at start with a clear message instead of on the first request.
    const client = await pool.connect().catch((err: Error) => {
      throw new Error(`cannot connect to DATABASE_URL: ${err.message}`);
    });
    client.release();
    pool.on('error', () => undefined);
    return wrapPool(pool, opts.preparedStatements ?? true);
  }
  const dir = join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir);
  return wrapPglite(pglite);
}
