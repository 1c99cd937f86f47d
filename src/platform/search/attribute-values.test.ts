/**
 * contact_attribute_values (migration 0006) must always equal what the contacts say: counts are computed from it
 * alone. Every write path that changes attributes or liveness is exercised, then the table is compared with the
 * rows the contacts imply.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapPglite, type Db } from '../../db/client.ts';
import { listMigrations, migrate } from '../../db/migrate.ts';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import { removeAppAttributes } from '../apps/repository.ts';
import { validateAttributeValues } from '../attributes/service.ts';
import { contactRepository } from '../contacts/repository.ts';
import { createContact, mergeLeadIntoUser, updateContact } from '../contacts/service.ts';
import { searchContacts } from './service.ts';
import { defineAttributes, insertContacts, insertWorkspace } from './test-fixtures.ts';

const WS = 'ws_cav';
const OTHER = 'ws_cav_other';

/** Rows as text, numbers compared by value (1.0 and 1 are the same JSON number). */
const ACTUAL = `SELECT workspace_id, contact_id, key, text_value, num_value::float8 AS num_value, bool_value
  FROM contact_attribute_values`;
/** What the contacts imply: one row per live contact and string/number/boolean attribute. */
const EXPECTED = `SELECT c.workspace_id, c.id AS contact_id, e.key,
    CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END AS text_value,
    CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::float8 END AS num_value,
    CASE WHEN jsonb_typeof(e.value) = 'boolean' THEN (e.value #>> '{}')::boolean END AS bool_value
  FROM contacts c, jsonb_each(c.custom_attributes) e
  WHERE c.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')`;

/** The summed counters, and what the contacts imply (key '' counts live contacts). */
const COUNTS = `SELECT workspace_id, key, value_type, sum(delta)::int AS n FROM contact_search_counts
  GROUP BY 1, 2, 3 HAVING sum(delta) <> 0`;
const EXPECTED_COUNTS = `SELECT workspace_id, key, value_type, count(*)::int AS n FROM (
    SELECT workspace_id, '' AS key, '' AS value_type FROM contacts WHERE archived_at IS NULL
    UNION ALL
    SELECT c.workspace_id, e.key, jsonb_typeof(e.value) FROM contacts c, jsonb_each(c.custom_attributes) e
    WHERE c.archived_at IS NULL AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')) x
  GROUP BY 1, 2, 3`;

async function rows(db: Db, sql: string): Promise<string[]> {
  const res = await db.query<Record<string, unknown>>(sql);
  return res.rows.map((r) => JSON.stringify(r)).sort();
}

async function expectInStep(db: Db): Promise<number> {
  const expected = await rows(db, EXPECTED);
  expect(await rows(db, ACTUAL)).toEqual(expected);
  expect(await rows(db, COUNTS)).toEqual(await rows(db, EXPECTED_COUNTS));
  return expected.length;
}

describe.each(dbKinds())('contact_attribute_values follows every contact write (%s)', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
    for (const ws of [WS, OTHER]) {
      await insertWorkspace(t.db, ws);
      await defineAttributes(t.db, ws, {
        plan: 'string',
        seats: 'number',
        vip: 'boolean',
        renews_at: 'date',
      });
    }
    // App-owned attributes: written by the app, removed with its data on uninstall.
    await t.db.query(
      `INSERT INTO attribute_definitions (workspace_id, name, type, label, source) VALUES
         ($1, 'stripe_plan', 'string', 'Plan', 'stripe'), ($1, 'stripe_mrr', 'number', 'MRR', 'stripe')`,
      [WS],
    );
  });
  afterAll(async () => t?.close());

  it('after creates, updates, type changes, archives, unarchives, merges, deletes, app writes and bulk SQL', async () => {
    const db = t.db;
    const create = (
      ws: string,
      attrs: Record<string, string | number | boolean>,
      role: 'user' | 'lead' = 'user',
    ) => createContact(db, ws, { role, email: `${Math.random()}@x.io`, custom_attributes: attrs });
    const a = await create(WS, { plan: 'Pro', seats: 3, vip: true, renews_at: 1_767_225_600 });
    const b = await create(WS, { plan: 'Free' });
    const c = await create(WS, {});
    const other = await create(OTHER, { plan: 'Pro', seats: 1 });
    await expectInStep(db);

    // Set, overwrite, remove (null), change a value only in scale.
    await db.transaction((tx) =>
      updateContact(tx, WS, a.id, { custom_attributes: { plan: 'Basic', vip: null } }),
    );
    await db.transaction((tx) =>
      updateContact(tx, WS, b.id, { custom_attributes: { seats: 10, vip: false } }),
    );
    await db.transaction((tx) => updateContact(tx, WS, c.id, { name: 'No attribute change' }));
    await db.query(
      `UPDATE contacts SET custom_attributes = custom_attributes || '{"seats": 10.0}' WHERE id = $1`,
      [b.id],
    );
    await expectInStep(db);

    // Values of other JSON types (bulk SQL can store them): a string becomes a number, null, an array, an object.
    await db.query(
      `UPDATE contacts SET custom_attributes = custom_attributes || '{"plan": 7, "seats": null, "x": [1], "y": {}}'
       WHERE id = $1`,
      [a.id],
    );
    await expectInStep(db);

    // Archive, change while archived, unarchive: the archived contact has no rows, then the current ones.
    await contactRepository.setArchived(db, WS, b.id, true);
    await expectInStep(db);
    await db.query(`UPDATE contacts SET custom_attributes = '{"plan": "Enterprise"}' WHERE id = $1`, [b.id]);
    await expectInStep(db);
    await contactRepository.setArchived(db, WS, b.id, false);
    await expectInStep(db);

    // The app host's write (contactRepository.update with the app as writer), then uninstall removes its keys.
    const appValues = await validateAttributeValues(
      db,
      WS,
      { stripe_plan: 'Pro', stripe_mrr: 99.5 },
      'stripe',
    );
    await contactRepository.update(db, WS, c.id, {}, appValues);
    await contactRepository.update(db, WS, a.id, {}, appValues);
    await expectInStep(db);
    await removeAppAttributes(db, WS, 'stripe');
    await expectInStep(db);

    // Merge: the lead's values fill the user's gaps, the lead is deleted.
    const lead = await create(WS, { plan: 'Lead plan', seats: 42, vip: true }, 'lead');
    await mergeLeadIntoUser(db, WS, lead.id, c.id);
    await expectInStep(db);

    // A failed transaction leaves nothing behind.
    await expect(
      db.transaction(async (tx) => {
        await updateContact(tx, WS, a.id, { custom_attributes: { plan: 'Rolled back' } });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await expectInStep(db);

    // Bulk statements: many contacts inserted, updated (attributes and not), archived and deleted at once.
    await insertContacts(
      db,
      WS,
      Array.from({ length: 500 }, (_, i) => ({
        id: `bulk${i}`,
        archived: i % 10 === 0,
        custom_attributes: { plan: i % 2 ? 'Pro' : 'Free', seats: i, ...(i % 3 ? { vip: i % 4 === 0 } : {}) },
      })),
    );
    await expectInStep(db);
    await db.query(
      `UPDATE contacts SET custom_attributes = custom_attributes - 'vip' WHERE id LIKE 'bulk1%'`,
    );
    await db.query(`UPDATE contacts SET last_seen_at = now() WHERE workspace_id = $1`, [WS]);
    await db.query(
      `UPDATE contacts SET archived_at = CASE WHEN archived_at IS NULL THEN now() END WHERE id LIKE 'bulk2%'`,
    );
    await expectInStep(db);
    await db.query(`DELETE FROM contacts WHERE id LIKE 'bulk3%'`);
    await contactRepository.delete(db, WS, a.id);
    await contactRepository.delete(db, OTHER, other.id);
    const left = await expectInStep(db);
    expect(left).toBeGreaterThan(500);

    // Folding the deltas keeps the sums and leaves one row per workspace, key and type.
    await db.query(`SELECT contact_search_counts_compact(ARRAY[$1, $2])`, [WS, OTHER]);
    await expectInStep(db);
    const folded = await db.query<{ n: number; groups: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (workspace_id, key, value_type))::int AS groups
       FROM contact_search_counts`,
    );
    expect(folded.rows[0]?.n).toBe(folded.rows[0]?.groups);

    // And search counts agree with the contacts they are computed without.
    const res = await searchContacts(db, WS, {
      query: {
        operator: 'OR',
        value: [
          { field: 'custom_attributes.plan', operator: 'NIN', value: ['Pro'] },
          { field: 'custom_attributes.vip', operator: '=', value: true },
        ],
      },
    });
    const brute = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND archived_at IS NULL
         AND (custom_attributes->>'plan' IS DISTINCT FROM 'Pro' OR custom_attributes->'vip' = 'true')`,
      [WS],
    );
    expect(res.total_count).toBe(brute.rows[0]?.n);
  });
  it('stays exact under concurrent writers that fold the counters while others append', async () => {
    const db = t.db;
    // Eight writers at once (real concurrency on PostgreSQL); ~1 statement in 16 folds the workspace's deltas.
    await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 40; i++) {
            const c = await createContact(db, OTHER, {
              role: 'lead',
              custom_attributes: { plan: `P${i % 3}`, seats: i, ...(i % 2 ? { vip: true } : {}) },
            });
            if (i % 4 === 0) await contactRepository.setArchived(db, OTHER, c.id, true);
            if (i % 5 === 0)
              await db.transaction((tx) =>
                updateContact(tx, OTHER, c.id, { custom_attributes: { plan: null, renews_at: w } }),
              );
          }
        })(),
      ),
    );
    await expectInStep(db);
  });
});

describe('migration 0006 backfills the contacts that exist before it', () => {
  it('fills the table from existing contacts (PGlite)', async () => {
    const db = wrapPglite(await PGlite.create());
    try {
      await db.query(
        `CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const m of listMigrations().filter((m) => m.version < '0006')) {
        await db.exec(m.sql);
        await db.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
      }
      await insertWorkspace(db, WS);
      await defineAttributes(db, WS, { plan: 'string' }, { indexes: false });
      await insertContacts(db, WS, [
        { id: 'p1', custom_attributes: { plan: 'Pro', seats: 2, vip: false, junk: [1] } },
        { id: 'p2', archived: true, custom_attributes: { plan: 'Free' } },
        { id: 'p3', custom_attributes: {} },
      ]);
      expect(await migrate(db)).toContain('0006_search_counts');
      expect(await expectInStep(db)).toBe(3);
      const res = await searchContacts(db, WS, {
        query: { field: 'custom_attributes.plan', operator: '=', value: null },
      });
      expect(res.total_count).toBe(1);
    } finally {
      await db.close();
    }
  });
});
