import type { Queryable, QueryOptions } from '../../src/db/client.ts';

/** Wall time and calls per statement shape (the statement's first characters, whitespace collapsed). */
export type QueryProfile = Map<string, { n: number; ms: number }>;

/** Wraps `db.query` so every statement adds its wall time to `profile`, by shape (`width` characters). For
 * benchmarks and workers that want to know where database time goes; never in production code. */
export function profileQueries(
  db: Queryable,
  width: number,
  profile: QueryProfile = new Map(),
): QueryProfile {
  const query = db.query.bind(db);
  db.query = (async (sql: string, params?: readonly unknown[], opts?: QueryOptions) => {
    const t0 = performance.now();
    try {
      return await query(sql, params, opts);
    } finally {
      const shape = sql.replace(/\s+/g, ' ').trim().slice(0, width);
      const p = profile.get(shape) ?? { n: 0, ms: 0 };
      p.n += 1;
      p.ms += performance.now() - t0;
      profile.set(shape, p);
    }
  }) as typeof db.query;
  return profile;
}
