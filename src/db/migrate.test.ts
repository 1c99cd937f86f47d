import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, dbKinds, type TestDb } from './test-db.ts';
import { listMigrations, migrate } from './migrate.ts';

describe.each(dbKinds())('migrations on %s', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it('records every migration and applies nothing twice', async () => {
    const rows = await t.db.query<{ version: string }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.rows.map((r) => r.version)).toEqual(listMigrations().map((m) => m.version));
    expect(await migrate(t.db)).toEqual([]);
  });

  it('leads every primary key with workspace_id', async () => {
    const res = await t.db.query<{ table_name: string; column_name: string }>(
      `SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name
       WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public' AND kcu.ordinal_position = 1`,
    );
    const offenders = res.rows.filter(
      (r) => r.column_name !== 'workspace_id' && !['workspaces', 'schema_migrations'].includes(r.table_name),
    );
    expect(offenders).toEqual([]);
  });

  it('compresses stored Stripe objects and job payloads with lz4 where the server has it', async () => {
    const res = await t.db.query<{ attname: string; attcompression: string }>(
      `SELECT attname, attcompression::text AS attcompression FROM pg_attribute
       WHERE (attrelid = 'app_records'::regclass AND attname = 'data')
          OR (attrelid = 'jobs'::regclass AND attname = 'payload')
       ORDER BY attname`,
    );
    // PGlite is built without lz4 (and so may be another PostgreSQL build): the migration leaves the default,
    // pglz, and still applies. Debian's PostgreSQL, which CI uses, has lz4.
    const lz4 = await t.db.query(`SET default_toast_compression = 'lz4'`).then(
      () => true,
      () => false,
    );
    await t.db.query('RESET default_toast_compression');
    if (kind === 'pglite') expect(lz4).toBe(false);
    if (kind === 'postgres' && process.env.CI) expect(lz4).toBe(true);
    const expected = lz4 ? 'l' : '';
    expect(res.rows).toEqual([
      { attname: 'data', attcompression: expected },
      { attname: 'payload', attcompression: expected },
    ]);
  });
});
