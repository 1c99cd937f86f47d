/**
 * Grouped enqueues (`jobRepository.insertKeyed`) with overlapping dedupe keys, at the same moment: each key gets one
 * job, and neither group fails. Given in opposite orders, two groups used to deadlock on PostgreSQL (each waiting
 * for a key the other had just inserted), which sent both down the queue's one-insert-per-job fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atOnce } from '../db/test-at-once.ts';
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

  it('gives each key one job when two groups name the same keys in opposite orders', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `evt_${String(i).padStart(3, '0')}`);
    const group = (order: string[], from: string) =>
      order.map((dedupeKey) => ({ workspaceId: WS, queue: 'keyed', dedupeKey, payload: { from } }));
    const [a, b] = await atOnce(t.db, kind, { table: 'jobs', statement: 'INSERT INTO jobs' }, [
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
