// Test-database helpers: every data-layer suite runs on PGlite, and on PostgreSQL when TEST_DATABASE_URL is set.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { wrapPglite, wrapPool, type Db } from './client.ts';
import { migrate } from './migrate.ts';

export type DbKind = 'pglite' | 'postgres';

/** The kinds this run covers. In CI a missing TEST_DATABASE_URL is an error, not a skip. */
export function dbKinds(): DbKind[] {
  if (process.env.TEST_DATABASE_URL) return ['pglite', 'postgres'];
  if (process.env.CI)
    throw new Error('CI is set but TEST_DATABASE_URL is not: the PostgreSQL tests would be skipped');
  if (!warned) {
    warned = true;
    console.warn('TEST_DATABASE_URL is not set: PostgreSQL tests are skipped (PGlite only)');
  }
  return ['pglite'];
}
let warned = false;

export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  return url;
}

export function databaseUrl(name: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

async function createPostgresDatabase(): Promise<string> {
  const template = process.env.SETTLE_TEST_PG_TEMPLATE;
  const name = `settle_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return name;
}

export async function dropPostgresDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export interface TestDb {
  db: Db;
  kind: DbKind;
  /** For PostgreSQL: a URL other processes can use to reach the same database. */
  url?: string;
  close(): Promise<void>;
}

/** A fresh, migrated database; fast because it starts from the template made in global set-up. */
export async function createTestDb(kind: DbKind): Promise<TestDb> {
  if (kind === 'postgres') {
    const name = await createPostgresDatabase();
    const url = databaseUrl(name);
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on('error', () => undefined);
    const db = wrapPool(pool);
    await migrate(db);
    return {
      db,
      kind,
      url,
      async close() {
        await db.close();
        await dropPostgresDatabase(name);
      },
    };
  }
  const dump = process.env.SETTLE_TEST_PGLITE_TEMPLATE;
  const pglite = dump
    ? await PGlite.create({ loadDataDir: new Blob([readFileSync(dump)]) })
    : await PGlite.create();
  const db = wrapPglite(pglite);
  await migrate(db);
  return { db, kind, close: () => db.close() };
}
