// Builds migrated template databases once per run so each suite gets a fresh database in well under a second.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { wrapPglite, wrapPool } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { adminUrl, databaseUrl, dropPostgresDatabase } from '../src/db/test-db.ts';

export async function setup(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'settle-test-'));
  const pglite = await PGlite.create();
  await migrate(wrapPglite(pglite));
  const dump = await pglite.dumpDataDir('none');
  await pglite.close();
  const dumpPath = join(dir, 'template.tar');
  writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
  process.env.SETTLE_TEST_PGLITE_TEMPLATE = dumpPath;

  let template: string | undefined;
  if (process.env.TEST_DATABASE_URL) {
    template = `settle_tpl_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect().catch((err: Error) => {
      throw new Error(`TEST_DATABASE_URL is set but PostgreSQL is unreachable: ${err.message}`);
    });
    await admin.query(`CREATE DATABASE ${template}`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: databaseUrl(template), max: 1 });
    await migrate(wrapPool(pool));
    await pool.end();
    process.env.SETTLE_TEST_PG_TEMPLATE = template;
  } else if (process.env.CI) {
    throw new Error('CI is set but TEST_DATABASE_URL is not: the PostgreSQL tests would be skipped');
  }

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (template) await dropPostgresDatabase(template);
  };
}
