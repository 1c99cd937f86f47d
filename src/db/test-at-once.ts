// Test helper: starts concurrent calls at the same instant, so that races between them really happen.
import { expect } from 'vitest';
import type { Db } from './client.ts';
import type { DbKind } from './test-db.ts';

/**
 * Runs the calls at once. On PostgreSQL a transaction holds a lock on `table` that their statements (those starting
 * with `statement`, e.g. `INSERT INTO jobs`) wait for until all of them are waiting, then lets them go together:
 * two short statements sent one after the other would rarely overlap. PGlite runs one statement at a time.
 */
export async function atOnce<T>(
  db: Db,
  kind: DbKind,
  lock: { table: string; statement: string },
  calls: readonly (() => Promise<T>)[],
): Promise<T[]> {
  if (kind !== 'postgres') return Promise.all(calls.map((c) => c()));
  let running: Promise<T[]> | undefined;
  await db.transaction(async (tx) => {
    await tx.query(`LOCK TABLE ${lock.table} IN SHARE MODE`);
    running = Promise.all(calls.map((c) => c()));
    running.catch(() => undefined); // awaited below, once the lock is released
    const waiting = async () => {
      // A transaction reads pg_stat_activity once, unless told to forget what it read.
      await tx.query('SELECT pg_stat_clear_snapshot()');
      const r = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND starts_with(query, $1)`,
        [lock.statement],
      );
      return r.rows[0]!.n;
    };
    await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(calls.length);
  });
  return running!;
}
