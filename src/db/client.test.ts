import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/env.ts';
import { wrapPool } from './client.ts';
import { adminUrl, dbKinds } from './test-db.ts';

describe('prepared statements', () => {
  it('are on unless SETTLE_DB_PREPARED_STATEMENTS turns them off, and a bad value names the variable', () => {
    expect(loadConfig({}).preparedStatements).toBe(true);
    expect(loadConfig({ SETTLE_DB_PREPARED_STATEMENTS: 'false' }).preparedStatements).toBe(false);
    expect(() => loadConfig({ SETTLE_DB_PREPARED_STATEMENTS: 'sometimes' })).toThrow(ConfigError);
    expect(() => loadConfig({ SETTLE_DB_PREPARED_STATEMENTS: 'sometimes' })).toThrow(
      /SETTLE_DB_PREPARED_STATEMENTS/,
    );
  });

  it.runIf(dbKinds().includes('postgres'))(
    'are kept by the connection when asked for, and give the same answers as unnamed ones',
    async () => {
      const sql = 'SELECT $1::int + 1 AS n, current_setting($2) AS v';
      const prepared = async (on: boolean) => {
        // One connection, so the second query sees what the first left on it.
        const pool = new pg.Pool({ connectionString: adminUrl(), max: 1 });
        const db = wrapPool(pool, on);
        try {
          const a = await db.query<{ n: number }>(sql, [41, 'application_name'], { prepare: true });
          const b = await db.query<{ n: number }>(sql, [1, 'application_name'], { prepare: true });
          const inTx = await db.transaction((tx) =>
            tx.query<{ n: number }>(sql, [9, 'application_name'], { prepare: true }),
          );
          const held = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1',
            [sql],
          );
          return { answers: [a.rows[0]?.n, b.rows[0]?.n, inTx.rows[0]?.n], held: held.rows[0]?.n };
        } finally {
          await pool.end();
        }
      };
      expect(await prepared(true)).toEqual({ answers: [42, 2, 10], held: 1 });
      expect(await prepared(false)).toEqual({ answers: [42, 2, 10], held: 0 });
    },
  );
});
