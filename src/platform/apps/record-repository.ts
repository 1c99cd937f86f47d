import type { Queryable } from '../../db/client.ts';
import { byCodeUnits } from '../../shared/order.ts';

export interface RecordRow {
  key: string;
  data: unknown;
  version: number;
  index_a: string | null;
  index_b: string | null;
  deleted: boolean;
  updated_at: Date;
}

export interface RecordScope {
  workspaceId: string;
  appId: string;
  collection: string;
}

const scopeParams = (s: RecordScope) => [s.workspaceId, s.appId, s.collection];
const mapRow = (r: RecordRow): RecordRow => ({ ...r, version: Number(r.version) });

type AppScope = Pick<RecordScope, 'workspaceId' | 'appId'>;
type Probe =
  | { collection: string; key: string }
  | { collection: string; index: 'a' | 'b'; value: string; limit: number };

/** Up to this many probes are sent as a VALUES list (see probeRows); more as arrays. */
const LISTED_PROBES = 12;

async function probeRows<R extends { version: number }>(
  db: Queryable,
  s: AppScope,
  probes: readonly Probe[],
  columns: string,
): Promise<R[][]> {
  if (probes.length === 0) return [];
  const where = (kind: string, match: string) =>
    `FROM app_records WHERE p.kind = '${kind}' AND workspace_id = $1 AND app_id = $2
       AND collection = p.coll AND ${match} = p.val`;
  // A find reads its index, then sorts (see `find`).
  const find = (kind: string, match: string) =>
    `(SELECT * FROM (SELECT ${columns} ${where(kind, match)} AND NOT deleted OFFSET 0) f ORDER BY key LIMIT p.lim)`;
  const fields = (p: Probe, i: number) => [
    i,
    'key' in p ? 'key' : p.index,
    p.collection,
    'key' in p ? p.key : p.value,
    'key' in p ? 1 : p.limit,
  ];
  // These run several times per applied event. As arrays (`unnest`), each call was planned anew: the plan for
  // known array lengths always looked cheaper than the prepared generic one, and planning cost twice the
  // execution. A VALUES list of a fixed length plans the same either way, so the prepared plan is reused.
  const listed = probes.length <= LISTED_PROBES;
  const source = listed
    ? `(VALUES ${probes.map((_, i) => `($${5 * i + 3}::int, $${5 * i + 4}::text, $${5 * i + 5}::text, $${5 * i + 6}::text, $${5 * i + 7}::int)`).join(', ')})`
    : 'unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::int[])';
  const params = listed
    ? probes.flatMap(fields)
    : [0, 1, 2, 3, 4].map((f) => probes.map((p, i) => fields(p, i)[f]));
  const res = await db.query<R & { n: number }>(
    `SELECT p.n, r.* FROM ${source} AS p(n, kind, coll, val, lim)
     CROSS JOIN LATERAL ((SELECT ${columns} ${where('key', 'key')}) UNION ALL ${find('a', 'index_a')}
       UNION ALL ${find('b', 'index_b')}) r
     ORDER BY p.n, r.key`,
    [s.workspaceId, s.appId, ...params],
    { prepare: true },
  );
  const out: R[][] = probes.map(() => []);
  for (const { n, ...row } of res.rows)
    out[n]?.push({ ...row, version: Number(row.version) } as unknown as R);
  return out;
}

export const recordRepository = {
  async get(db: Queryable, s: RecordScope, key: string): Promise<RecordRow | undefined> {
    const res = await db.query<RecordRow>(
      `SELECT key, data, version, index_a, index_b, deleted, updated_at FROM app_records
       WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND key = $4`,
      [...scopeParams(s), key],
      { prepare: true },
    );
    return res.rows[0] ? mapRow(res.rows[0]) : undefined;
  },

  /**
   * Writes when the new version is at least the stored one (equal versions overwrite, so a refetch at the same
   * version can refresh data) and the record is not a tombstone of a newer or equal version. Returns whether it wrote.
   */
  async put(
    db: Queryable,
    s: RecordScope,
    rec: {
      key: string;
      data: unknown;
      version: number;
      index_a: string | null;
      index_b: string | null;
      deleted: boolean;
    },
  ): Promise<boolean> {
    const res = await db.query(
      `INSERT INTO app_records (workspace_id, app_id, collection, key, data, version, index_a, index_b, deleted)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (workspace_id, app_id, collection, key) DO UPDATE SET
         data = EXCLUDED.data, version = EXCLUDED.version, index_a = EXCLUDED.index_a, index_b = EXCLUDED.index_b,
         deleted = EXCLUDED.deleted, updated_at = now()
       WHERE app_records.version < EXCLUDED.version
          OR (app_records.version = EXCLUDED.version AND NOT app_records.deleted)`,
      [
        ...scopeParams(s),
        rec.key,
        JSON.stringify(rec.data),
        rec.version,
        rec.index_a,
        rec.index_b,
        rec.deleted,
      ],
      { prepare: true },
    );
    return res.rowCount > 0;
  },

  /**
   * `put` for many records in one statement (the backfill writes a page at a time), with the same version rule.
   * Keys must be distinct (a statement cannot update one row twice). Returns how many were written.
   */
  async putMany(
    db: Queryable,
    s: RecordScope,
    recs: readonly {
      key: string;
      data: unknown;
      version: number;
      index_a: string | null;
      index_b: string | null;
    }[],
  ): Promise<string[]> {
    if (recs.length === 0) return [];
    // Key order: two writers whose pages share a key (ranges meeting at a split) lock rows in the same order, so
    // they queue instead of deadlocking. Parallel columns zipped by ROWS FROM: the documents go as one JSON array,
    // which PostgreSQL parses once into jsonb and splits without parsing again (not jsonb_to_recordset, which
    // goes through text), and which needs none of the escaping a text[] of JSON strings costs on both sides.
    const sorted = [...recs].sort((x, y) => byCodeUnits(x.key, y.key));
    const res = await db.query<{ key: string }>(
      `INSERT INTO app_records (workspace_id, app_id, collection, key, data, version, index_a, index_b, deleted)
       SELECT $1, $2, $3, r.k, r.d, r.v, r.a, r.b, false
       FROM ROWS FROM (unnest($4::text[]), jsonb_array_elements($5::jsonb), unnest($6::bigint[]),
         unnest($7::text[]), unnest($8::text[])) AS r(k, d, v, a, b)
       ON CONFLICT (workspace_id, app_id, collection, key) DO UPDATE SET
         data = EXCLUDED.data, version = EXCLUDED.version, index_a = EXCLUDED.index_a, index_b = EXCLUDED.index_b,
         deleted = EXCLUDED.deleted, updated_at = now()
       WHERE app_records.version < EXCLUDED.version
          OR (app_records.version = EXCLUDED.version AND NOT app_records.deleted)
       RETURNING key`,
      [
        ...scopeParams(s),
        sorted.map((r) => r.key),
        JSON.stringify(sorted.map((r) => r.data)),
        sorted.map((r) => r.version),
        sorted.map((r) => r.index_a),
        sorted.map((r) => r.index_b),
      ],
    );
    return res.rows.map((r) => r.key);
  },

  async getMany(db: Queryable, s: RecordScope, keys: readonly string[]): Promise<RecordRow[]> {
    if (keys.length === 0) return [];
    keys = [...new Set(keys)];
    const res = await db.query<RecordRow>(
      // One index probe per key (LATERAL; OFFSET 0 keeps the planner from flattening it into a join): on a table
      // not analysed yet, `= ANY(array)` or a join plans a full scan.
      `SELECT r.* FROM unnest($4::text[]) AS v(x) CROSS JOIN LATERAL (
         SELECT key, data, version, index_a, index_b, deleted, updated_at FROM app_records
         WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND key = v.x OFFSET 0) r`,
      [...scopeParams(s), keys],
    );
    return res.rows.map(mapRow);
  },

  /** How many live records each value of the index has (values with none are left out). */
  async countMany(
    db: Queryable,
    s: RecordScope,
    q: { index: 'a' | 'b'; values: readonly string[] },
  ): Promise<Map<string, number>> {
    if (q.values.length === 0) return new Map();
    const column = q.index === 'a' ? 'index_a' : 'index_b';
    const res = await db.query<{ value: string; n: number }>(
      `SELECT v.x AS value, r.n FROM unnest($4::text[]) AS v(x) CROSS JOIN LATERAL (
         SELECT count(*)::int AS n FROM app_records
         WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND ${column} = v.x AND NOT deleted) r
       WHERE r.n > 0`,
      [...scopeParams(s), [...new Set(q.values)]],
    );
    return new Map(res.rows.map((r) => [r.value, r.n]));
  },

  /** Live records whose index equals any of the values. */
  async findMany(
    db: Queryable,
    s: RecordScope,
    q: { index: 'a' | 'b'; values: readonly string[] },
  ): Promise<RecordRow[]> {
    if (q.values.length === 0) return [];
    q = { ...q, values: [...new Set(q.values)] };
    const column = q.index === 'a' ? 'index_a' : 'index_b';
    const res = await db.query<RecordRow>(
      `SELECT r.* FROM unnest($4::text[]) AS v(x) CROSS JOIN LATERAL (
         SELECT key, data, version, index_a, index_b, deleted, updated_at FROM app_records
         WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND ${column} = v.x AND NOT deleted OFFSET 0) r
       ORDER BY r.key`,
      [...scopeParams(s), q.values],
    );
    return res.rows.map(mapRow);
  },

  async find(
    db: Queryable,
    s: RecordScope,
    q: { index: 'a' | 'b'; value: string; includeDeleted?: boolean; limit: number },
  ): Promise<RecordRow[]> {
    const column = q.index === 'a' ? 'index_a' : 'index_b';
    const res = await db.query<RecordRow>(
      // The matches are read from the value's index, then sorted (OFFSET 0 plans the read on its own). Left to
      // itself, the planner could walk the whole collection in key order to stop at the limit, which it did with
      // statistics from when the table was small: every email lookup read all 500 customers of a benchmark.
      `SELECT * FROM (
         SELECT key, data, version, index_a, index_b, deleted, updated_at FROM app_records
         WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND ${column} = $4 AND ($5 OR NOT deleted)
         OFFSET 0) r
       ORDER BY key LIMIT $6`,
      [...scopeParams(s), q.value, q.includeDeleted ?? false, q.limit],
      { prepare: true },
    );
    return res.rows.map(mapRow);
  },

  /**
   * Many reads of one app in one statement: a probe by key reads as `get` does, one by index value as `find`
   * does (live records in key order, up to its limit). Each probe is its own index lookup (LATERAL); the
   * branches a probe does not use are cut by one-time filters. `versions` leaves the data out.
   */
  async readMany(db: Queryable, s: AppScope, probes: readonly Probe[]): Promise<RecordRow[][]> {
    return probeRows<RecordRow>(db, s, probes, 'key, data, version, index_a, index_b, deleted, updated_at');
  },

  async versions(
    db: Queryable,
    s: AppScope,
    probes: readonly Probe[],
  ): Promise<{ key: string; version: number; deleted: boolean }[][]> {
    return probeRows(db, s, probes, 'key, version, deleted');
  },

  /** Keyset pagination over a collection by key. */
  async list(
    db: Queryable,
    s: RecordScope,
    q: { after?: string; limit: number; includeDeleted?: boolean },
  ): Promise<RecordRow[]> {
    const res = await db.query<RecordRow>(
      `SELECT key, data, version, index_a, index_b, deleted, updated_at FROM app_records
       WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND ($4::text IS NULL OR key > $4) AND ($5 OR NOT deleted)
       ORDER BY key LIMIT $6`,
      [...scopeParams(s), q.after ?? null, q.includeDeleted ?? false, q.limit],
    );
    return res.rows.map(mapRow);
  },

  /**
   * Live records of the collection, by key from `after`, whose key starts with `prefix`, whose index (if named) is
   * set, and under whose key the `other` collection holds no live record: e.g. customers that have no link.
   */
  async listWithout(
    db: Queryable,
    s: RecordScope,
    q: { other: string; prefix: string; indexed: 'a' | 'b' | null; after?: string; limit: number },
  ): Promise<RecordRow[]> {
    const indexed = q.indexed === null ? '' : `AND r.index_${q.indexed} IS NOT NULL`;
    const res = await db.query<RecordRow>(
      // OFFSET 0 keeps the NOT EXISTS a probe by key per record. Turned into an anti-join, it was planned from
      // statistics of an emptier table as a nested loop that read every record of `other` per record: 9 s for
      // 5,000 customers against 5,000 links.
      `SELECT r.key, r.data, r.version, r.index_a, r.index_b, r.deleted, r.updated_at FROM app_records r
       WHERE r.workspace_id = $1 AND r.app_id = $2 AND r.collection = $3 AND NOT r.deleted ${indexed}
         AND starts_with(r.key, $4) AND ($5::text IS NULL OR r.key > $5)
         AND NOT EXISTS (SELECT 1 FROM app_records o WHERE o.workspace_id = $1 AND o.app_id = $2
                         AND o.collection = $6 AND o.key = r.key AND NOT o.deleted OFFSET 0)
       ORDER BY r.key LIMIT $7`,
      [...scopeParams(s), q.prefix, q.after ?? null, q.other, q.limit],
    );
    return res.rows.map(mapRow);
  },

  async count(db: Queryable, s: RecordScope): Promise<number> {
    const res = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM app_records WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND NOT deleted`,
      scopeParams(s),
    );
    return res.rows[0]?.n ?? 0;
  },

  /** Deletes every record of the collection whose key starts with the prefix, tombstones included. */
  async purgePrefix(db: Queryable, s: RecordScope, prefix: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      // In steps, so a large account's records do not make one long transaction.
      const res = await db.query(
        `DELETE FROM app_records WHERE (workspace_id, app_id, collection, key) IN (
           SELECT workspace_id, app_id, collection, key FROM app_records
           WHERE workspace_id = $1 AND app_id = $2 AND collection = $3 AND starts_with(key, $4) LIMIT 1000)`,
        [...scopeParams(s), prefix],
      );
      deleted += res.rowCount ?? 0;
      if ((res.rowCount ?? 0) < 1000) return deleted;
    }
  },

  async purge(db: Queryable, workspaceId: string, appId: string): Promise<void> {
    await db.query('DELETE FROM app_records WHERE workspace_id = $1 AND app_id = $2', [workspaceId, appId]);
  },
};
