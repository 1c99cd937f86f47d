/**
 * Migration 0013: the search triggers' statements are planned for a bulk statement's own size. Before it, a
 * connection kept the plans of its first contact update, nearly always one contact: the trigger then joined the
 * transition tables by a nested loop, so a 5,000-contact update compared 25 million row pairs (18.2 s instead of
 * 0.5 s, docs/benchmarks.md "Deleting an attribute under live writes"). Timing is for benchmarks; this counts the
 * work instead: auto_explain reports, for every statement the trigger runs, the rows its join filters looked at
 * and threw away. PostgreSQL only (auto_explain reaches the client through notices there).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapPool, type Db } from '../../db/client.ts';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import { createAttribute, deleteAttribute, updateAttribute } from '../attributes/service.ts';
import { updateContact } from '../contacts/service.ts';
import { insertContacts, insertWorkspace } from './test-fixtures.ts';

const WS = 'ws_plans';
const N = 2000;

describe.skipIf(!dbKinds().includes('postgres'))('search triggers on bulk contact writes (postgres)', () => {
  let t: TestDb;
  let pool: pg.Pool;
  let db: Db;
  const plans: string[] = [];
  beforeAll(async () => {
    t = await createTestDb('postgres');
    await insertWorkspace(t.db, WS);
    for (const name of ['plan', 'legacy_id']) await createAttribute(t.db, WS, { name, data_type: 'string' });
    await insertContacts(
      t.db,
      WS,
      Array.from({ length: N }, (_, i) => ({
        id: `c${String(i).padStart(5, '0')}`,
        email: `c${i}@example.com`,
        custom_attributes: { plan: i % 2 ? 'Pro' : 'Free', legacy_id: `L${i}` },
      })),
    );
    // One connection, as PGlite always is: every statement below shares its cached trigger plans.
    pool = new pg.Pool({ connectionString: t.url, max: 1 });
    pool.on('connect', (client) => {
      client.on('notice', (n) => plans.push(n.message ?? ''));
      void client.query(
        `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on;
         SET auto_explain.log_nested_statements = on; SET client_min_messages = log`,
      );
    });
    db = wrapPool(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  /** Rows the join filters of every statement since `from` examined and rejected. */
  const rejectedSince = (from: number) =>
    plans
      .slice(from)
      .flatMap((p) => [...p.matchAll(/Rows Removed by Join Filter: (\d+)/g)])
      .reduce((sum, m) => sum + Number(m[1]), 0);

  it('deleting an attribute after a one-contact edit does linear work, not a nested loop over every pair', async () => {
    // What a teammate or a webhook does first on a fresh connection: the plans it leaves are one-row plans.
    await updateContact(db, WS, 'c00007', { custom_attributes: { plan: 'Enterprise' } });
    expect(plans.some((p) => p.includes('contact_attribute_values'))).toBe(true);

    await updateAttribute(db, WS, 'legacy_id', { archived: true });
    const from = plans.length;
    const { contactsUpdated } = await deleteAttribute(db, WS, 'legacy_id', { batch: N });
    expect(contactsUpdated).toBe(N);
    // Each contact's old row meets its new row once; the rejected pairs were N × (N − 1) per join before 0013.
    expect(rejectedSince(from)).toBeLessThan(10 * N);

    const left = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contact_attribute_values WHERE workspace_id = $1 AND key = 'legacy_id'`,
      [WS],
    );
    expect(left.rows[0]?.n).toBe(0);
  });
});
