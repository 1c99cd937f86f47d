import type { Queryable } from '../../db/client.ts';

/** Where a bucket lives: a workspace's app (`app:stripe`), or a platform-wide use with workspace ''. */
export interface BudgetScope {
  workspaceId: string;
  scope: string;
}

/** One bucket as GCRA sees it: a request every `periodMs`, and up to `toleranceMs` ahead of that pace (bursts). */
export interface GcraBucket {
  key: string;
  periodMs: number;
  toleranceMs: number;
}

interface ReserveRow {
  slot_ms: number;
  delay_ms: number;
  found: number;
  taken: boolean;
}

/** What a reservation attempt found: the wait for the slot free in every bucket, and whether it was taken. */
export interface Reservation {
  waitMs: number;
  taken: boolean;
  /** The slot, on the database's clock (unix milliseconds): what the pacing guarantees are about. */
  slotMs: number;
}

// One statement: lock the buckets (in key order, so two reservations over the same keys cannot deadlock), find the
// slot free in all of them and, if it is at most $6 ms away, push each bucket's theoretical arrival time past it.
// A slot further away is not taken: GCRA keeps one time per bucket, so a far slot taken in the account's bucket
// (behind a slow endpoint's queue) would hold every other endpoint of the account until then. A bucket's first use
// finds no row: the caller inserts the missing rows and asks again (found < the number of keys, nothing updated).
const RESERVE = `
WITH want AS (
  SELECT * FROM unnest($3::text[], $4::float8[], $5::float8[]) AS w(key, period_ms, tolerance_ms)
),
locked AS MATERIALIZED (
  SELECT key, tat FROM rate_budgets
  WHERE workspace_id = $1 AND scope = $2 AND key = ANY($3::text[])
  ORDER BY key FOR UPDATE
),
slot AS MATERIALIZED (
  SELECT s, found, found = cardinality($3::text[]) AND s <= t + make_interval(secs => $6::float8 / 1000) AS take
  FROM (
    -- One reading of the clock: with two, a slot free now could read as a microsecond late.
    SELECT c.t, count(w.key)::int AS found,
           greatest(c.t, max(l.tat - make_interval(secs => w.tolerance_ms / 1000))) AS s
    FROM (SELECT clock_timestamp() AS t) c
    LEFT JOIN (locked l JOIN want w USING (key)) ON true
    GROUP BY c.t
  ) x
),
upd AS (
  UPDATE rate_budgets b SET tat = greatest(b.tat, slot.s) + make_interval(secs => w.period_ms / 1000)
  FROM slot, want w
  WHERE b.workspace_id = $1 AND b.scope = $2 AND b.key = w.key AND slot.take
  RETURNING 1
)
SELECT greatest(0, extract(epoch FROM slot.s - clock_timestamp()) * 1000)::float8 AS delay_ms,
       (extract(epoch FROM slot.s) * 1000)::float8 AS slot_ms, slot.found,
       slot.take AS taken
FROM slot LEFT JOIN (SELECT count(*) FROM upd) u ON true`;

export const rateBudgetRepository = {
  /**
   * Reserves one request in every bucket at once if the slot free in all of them is at most `horizonMs` away, and
   * answers the wait for that slot (taken or not). The slot is taken whether or not the caller then sends.
   */
  async reserve(
    db: Queryable,
    s: BudgetScope,
    buckets: readonly GcraBucket[],
    horizonMs: number,
  ): Promise<Reservation> {
    const params = [
      s.workspaceId,
      s.scope,
      buckets.map((b) => b.key),
      buckets.map((b) => b.periodMs),
      buckets.map((b) => b.toleranceMs),
      horizonMs,
    ];
    for (let attempt = 0; ; attempt++) {
      const res = await db.query<ReserveRow>(RESERVE, params);
      const row = res.rows[0];
      if (row && row.found === buckets.length)
        return { waitMs: Number(row.delay_ms), taken: row.taken, slotMs: Number(row.slot_ms) };
      if (attempt > 0) throw new Error('rate budget rows missing after insert');
      await db.query(
        `INSERT INTO rate_budgets (workspace_id, scope, key, tat)
         SELECT $1, $2, k, clock_timestamp() FROM unnest($3::text[]) AS k ON CONFLICT DO NOTHING`,
        params.slice(0, 3),
      );
    }
  },

  /** Gives back one request taken from the bucket (an attempt that turned out not to count). */
  async refund(db: Queryable, s: BudgetScope, b: GcraBucket): Promise<void> {
    await db.query(
      `UPDATE rate_budgets SET tat = tat - make_interval(secs => $4::float8 / 1000)
       WHERE workspace_id = $1 AND scope = $2 AND key = $3`,
      [s.workspaceId, s.scope, b.key, b.periodMs],
    );
  },

  /** Deletes the scope's buckets whose time has passed: a row with tat ≤ now acts exactly as no row. */
  async pruneIdle(db: Queryable, s: BudgetScope): Promise<void> {
    await db.query(
      `DELETE FROM rate_budgets WHERE workspace_id = $1 AND scope = $2 AND tat < clock_timestamp()`,
      [s.workspaceId, s.scope],
    );
  },

  /** Forgets a bucket (a successful login clears its address's failures). */
  async clear(db: Queryable, s: BudgetScope, key: string): Promise<void> {
    await db.query(`DELETE FROM rate_budgets WHERE workspace_id = $1 AND scope = $2 AND key = $3`, [
      s.workspaceId,
      s.scope,
      key,
    ]);
  },
};
