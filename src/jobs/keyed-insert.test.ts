/**
 * Grouped enqueues (`jobRepository.insertKeyed`) with overlapping dedupe keys, at the same moment: each key gets one
 * job, and neither group fails. Given in opposite orders, two groups used to deadlock on PostgreSQL (each waiting
 * for a key the other had just inserted), which sent both down the queue's one-insert-per-job fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, dbKinds, type TestDb } from '../db/test-db.ts';
import { insertWorkspace } from '../platform/search/test-fixtures.ts';
import { jobRepository } from './repository.ts';

const WS = 'ws_keyed';

describe.each(dbKinds())('grouped keyed enqueues at once on %s', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
    await insertWorkspace(t.db, WS);
  });
  afterAll(async () => t?.close());

  /**
   * Runs the calls at once. On PostgreSQL a transaction holds a lock on `jobs` that their inserts wait for until
   * all of them are waiting, then lets them go together; two short statements sent one after the other would
   * rarely overlap. PGlite runs one statement at a time.
   */
  async function atOnce<T>(calls: readonly (() => Promise<T>)[]): Promise<T[]> {
    if (kind !== 'postgres') return Promise.all(calls.map((c) => c()));
    let running: Promise<T[]> | undefined;
    await t.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE jobs IN SHARE MODE');
      running = Promise.all(calls.map((c) => c()));
      running.catch(() => undefined); // awaited below, once the lock is released
      const waiting = async () => {
        await tx.query('SELECT pg_stat_clear_snapshot()');
        const r = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND starts_with(query, 'INSERT INTO jobs')`,
        );
        return r.rows[0]!.n;
      };
      await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(calls.length);
    });
    return running!;
  }

  it('gives each key one job when two groups name the same keys in opposite orders', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `evt_${String(i).padStart(3, '0')}`);
    const group = (order: string[], from: string) =>
      order.map((dedupeKey) => ({ workspaceId: WS, queue: 'keyed', dedupeKey, payload: { from } }));
    const [a, b] = await atOnce([
      () => jobRepository.insertKeyed(t.db, group(keys, 'a')),
      () => jobRepository.insertKeyed(t.db, group([...keys].reverse(), 'b')),
    ]);
    // Each key created by exactly one of the two, and both answer the same job for it.
    const reversed = [...b!].reverse();
    keys.forEach((_, i) => {
      expect(Number(a![i]!.created) + Number(reversed[i]!.created)).toBe(1);
      expect(a![i]!.id).toBe(reversed[i]!.id);
    });
    const rows = await t.db.query<{ n: number; keys: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT dedupe_key)::int AS keys FROM jobs
       WHERE workspace_id = $1 AND queue = 'keyed'`,
      [WS],
    );
    expect(rows.rows[0]).toEqual({ n: 300, keys: 300 });
  });
});
