import { byCodeUnits } from '../shared/order.ts';
import type { Queryable } from '../db/client.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'dead';

export interface JobRow {
  workspace_id: string;
  id: number;
  queue: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_at: Date;
  lease_token: string | null;
  locked_until: Date | null;
  last_error: string | null;
  dedupe_key: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface NewJob {
  workspaceId: string;
  queue: string;
  payload?: unknown;
  runAt?: Date;
  dedupeKey?: string;
  /**
   * A finished job (succeeded or dead) holds its dedupe key for this long after it finished, then a new job with
   * the key is created. For keys that lock work which can be needed again later (a contact for an address, once
   * that contact is deleted); never for at-most-once keys (an event's id).
   */
  releaseKeyAfterMs?: number;
  maxAttempts?: number;
}

/*
 * A lease token is set only by the claim (which makes the job `running`) and cleared by every change out of
 * `running`, so "this token" already means "running, and still mine". The statements of a lease holder say only
 * that, with the primary key: with `status = 'running'` as well, the planner, whose statistics see few running
 * jobs, took the (workspace, status) index instead, whose bitmap scans read every dead "running" entry that
 * finished jobs leave until a vacuum (60–265 ms a completion after 20,000 webhook events).
 */
export const jobRepository = {
  /** With a dedupe key, a second enqueue of the same work is a no-op that returns the first job's id. */
  async insert(db: Queryable, job: NewJob): Promise<{ id: number; created: boolean }> {
    if (job.dedupeKey !== undefined && job.releaseKeyAfterMs !== undefined) {
      await db.query(
        `DELETE FROM jobs WHERE workspace_id = $1 AND queue = $2 AND dedupe_key = $3
           AND status IN ('succeeded', 'dead') AND finished_at < now() - make_interval(secs => $4::double precision / 1000)`,
        [job.workspaceId, job.queue, job.dedupeKey, job.releaseKeyAfterMs],
      );
    }
    const res = await db.query<{ id: number }>(
      `INSERT INTO jobs (workspace_id, queue, payload, run_at, dedupe_key, max_attempts)
       VALUES ($1, $2, $3, COALESCE($4, now()), $5, $6)
       ON CONFLICT (workspace_id, queue, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        job.workspaceId,
        job.queue,
        JSON.stringify(job.payload ?? {}),
        job.runAt ?? null,
        job.dedupeKey ?? null,
        job.maxAttempts ?? 8,
      ],
      { prepare: true },
    );
    if (res.rows[0]) return { id: Number(res.rows[0].id), created: true };
    const existing = await db.query<{ id: number }>(
      'SELECT id FROM jobs WHERE workspace_id = $1 AND queue = $2 AND dedupe_key = $3',
      [job.workspaceId, job.queue, job.dedupeKey],
    );
    return { id: Number(existing.rows[0]?.id), created: false };
  },

  /**
   * Many keyed jobs in one statement (one commit). Answers in input order; a key given twice, or already queued,
   * answers the first job's id with `created: false`, as `insert` does.
   */
  async insertKeyed(
    db: Queryable,
    jobs: (NewJob & { dedupeKey: string })[],
  ): Promise<{ id: number; created: boolean }[]> {
    // Inserted in key order (stable: of a key given twice, the first stays first and is the one kept). A key another
    // statement has just inserted makes this one wait for it; two groups taking overlapping keys in different orders
    // could each wait for the other, and the deadlock would send both down the one-by-one fallback.
    const rows = [...jobs].sort(
      (x, y) =>
        byCodeUnits(x.workspaceId, y.workspaceId) ||
        byCodeUnits(x.queue, y.queue) ||
        byCodeUnits(x.dedupeKey, y.dedupeKey),
    );
    const res = await db.query<{ id: number; workspace_id: string; queue: string; dedupe_key: string }>(
      `INSERT INTO jobs (workspace_id, queue, payload, run_at, dedupe_key, max_attempts)
       SELECT w, q, p::jsonb, COALESCE(r, now()), d, m
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::int[]) AS t(w, q, p, r, d, m)
       ON CONFLICT (workspace_id, queue, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
       RETURNING id, workspace_id, queue, dedupe_key`,
      [
        rows.map((j) => j.workspaceId),
        rows.map((j) => j.queue),
        rows.map((j) => JSON.stringify(j.payload ?? {})),
        rows.map((j) => j.runAt ?? null),
        rows.map((j) => j.dedupeKey),
        rows.map((j) => j.maxAttempts ?? 8),
      ],
      { prepare: true },
    );
    const keyOf = (w: string, q: string, d: string) => JSON.stringify([w, q, d]);
    const created = new Map(
      res.rows.map((r) => [keyOf(r.workspace_id, r.queue, r.dedupe_key), Number(r.id)]),
    );
    const missing = jobs.filter((j) => !created.has(keyOf(j.workspaceId, j.queue, j.dedupeKey)));
    const existing = new Map<string, number>();
    if (missing.length > 0) {
      const found = await db.query<{ id: number; workspace_id: string; queue: string; dedupe_key: string }>(
        `SELECT j.id, j.workspace_id, j.queue, j.dedupe_key
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(w, q, d)
         JOIN jobs j ON j.workspace_id = t.w AND j.queue = t.q AND j.dedupe_key = t.d`,
        [missing.map((j) => j.workspaceId), missing.map((j) => j.queue), missing.map((j) => j.dedupeKey)],
      );
      for (const r of found.rows) existing.set(keyOf(r.workspace_id, r.queue, r.dedupe_key), Number(r.id));
    }
    const answered = new Set<string>();
    return jobs.map((j) => {
      const k = keyOf(j.workspaceId, j.queue, j.dedupeKey);
      const id = created.get(k);
      if (id !== undefined && !answered.has(k)) {
        answered.add(k);
        return { id, created: true };
      }
      return { id: id ?? Number(existing.get(k)), created: false };
    });
  },

  /**
   * Claims ready jobs, and running jobs whose lease ran out (their worker died). Workers serve every workspace,
   * so this is the one query that is not scoped by workspace unless a filter is given. SKIP LOCKED lets any number
   * of workers claim side by side without taking a job twice.
   *
   * Expired leases first, then ready jobs oldest first, each read in its partial index's order and stopped at the
   * limit: one condition `(ready) OR (expired)` made PostgreSQL read every ready job and sort them on each claim,
   * which under a backlog of thousands cost more than the jobs themselves.
   *
   * The statement is the function `settle_claim_jobs` (migration 0009), planned on each call without bitmap scans:
   * see the migration for why. Not a prepared statement either: the table grows from a few rows to tens of
   * thousands in a burst, and a prepared one (tried) averaged 8.6 ms a claim through a 20,000-job backlog.
   */
  async claim(
    db: Queryable,
    opts: {
      queues: readonly string[];
      limit: number;
      leaseToken: string;
      leaseMs: number;
      workspaceId?: string;
    },
  ): Promise<JobRow[]> {
    const res = await db.query<JobRow>('SELECT * FROM settle_claim_jobs($1, $2, $3, $4, $5)', [
      opts.queues,
      opts.limit,
      opts.leaseToken,
      opts.workspaceId ?? null,
      opts.leaseMs,
    ]);
    return res.rows.map((r) => ({ ...r, id: Number(r.id) }));
  },

  /** Extends a lease; false when the lease was lost (another worker has the job now). */
  /** `complete` for several jobs in one statement; answers the `workspace:id` of those completed. */
  async completeMany(db: Queryable, jobs: readonly JobRow[]): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    const res = await db.query<{ workspace_id: string; id: number }>(
      `UPDATE jobs j SET status = 'succeeded', finished_at = now(), updated_at = now(), lease_token = NULL, locked_until = NULL
       FROM unnest($1::text[], $2::bigint[], $3::text[]) AS t(w, i, l)
       WHERE j.workspace_id = t.w AND j.id = t.i AND j.lease_token = t.l
       RETURNING j.workspace_id, j.id`,
      [jobs.map((j) => j.workspace_id), jobs.map((j) => j.id), jobs.map((j) => j.lease_token)],
      { prepare: true },
    );
    return new Set(res.rows.map((r) => `${r.workspace_id}:${Number(r.id)}`));
  },
  async heartbeat(db: Queryable, job: JobRow, leaseMs: number): Promise<boolean> {
    const res = await db.query(
      `UPDATE jobs SET locked_until = now() + make_interval(secs => $4::double precision / 1000)
       WHERE workspace_id = $1 AND id = $2 AND lease_token = $3`,
      [job.workspace_id, job.id, job.lease_token, leaseMs],
      { prepare: true },
    );
    return res.rowCount > 0;
  },

  /** Hands a claimed job that never started back to the queue; the claim does not count as an attempt. */
  async release(db: Queryable, job: JobRow): Promise<boolean> {
    const res = await db.query(
      `UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), updated_at = now(), lease_token = NULL,
         locked_until = NULL
       WHERE workspace_id = $1 AND id = $2 AND lease_token = $3`,
      [job.workspace_id, job.id, job.lease_token],
    );
    return res.rowCount > 0;
  },

  async complete(db: Queryable, job: JobRow): Promise<boolean> {
    const res = await db.query(
      `UPDATE jobs SET status = 'succeeded', finished_at = now(), updated_at = now(), lease_token = NULL, locked_until = NULL
       WHERE workspace_id = $1 AND id = $2 AND lease_token = $3`,
      [job.workspace_id, job.id, job.lease_token],
      { prepare: true },
    );
    return res.rowCount > 0;
  },

  async fail(db: Queryable, job: JobRow, error: string, retryAt: Date | null): Promise<boolean> {
    const res = await db.query(
      `UPDATE jobs SET status = CASE WHEN $5::timestamptz IS NULL THEN 'dead' ELSE 'queued' END,
         run_at = COALESCE($5, run_at), last_error = $4, updated_at = now(), lease_token = NULL, locked_until = NULL,
         finished_at = CASE WHEN $5::timestamptz IS NULL THEN now() ELSE NULL END
       WHERE workspace_id = $1 AND id = $2 AND lease_token = $3`,
      [job.workspace_id, job.id, job.lease_token, error.slice(0, 2000), retryAt],
      { prepare: true },
    );
    return res.rowCount > 0;
  },

  async get(db: Queryable, workspaceId: string, id: number): Promise<JobRow | undefined> {
    const res = await db.query<JobRow>('SELECT * FROM jobs WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ]);
    const row = res.rows[0];
    return row ? { ...row, id: Number(row.id) } : undefined;
  },

  async list(
    db: Queryable,
    workspaceId: string,
    status: JobStatus | undefined,
    limit: number,
  ): Promise<JobRow[]> {
    const res = await db.query<JobRow>(
      `SELECT * FROM jobs WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2)
       ORDER BY updated_at DESC, id DESC LIMIT $3`,
      [workspaceId, status ?? null, limit],
    );
    return res.rows.map((r) => ({ ...r, id: Number(r.id) }));
  },

  async counts(db: Queryable, workspaceId: string): Promise<Record<JobStatus, number>> {
    const res = await db.query<{ status: JobStatus; n: number }>(
      'SELECT status, count(*)::int AS n FROM jobs WHERE workspace_id = $1 GROUP BY status',
      [workspaceId],
    );
    const out: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, dead: 0 };
    for (const r of res.rows) out[r.status] = r.n;
    return out;
  },

  /**
   * Deletes up to `limit` jobs that finished (succeeded or dead) more than `days` ago; answers how many. Read
   * through jobs_status (workspace, status, updated_at), which a finished job last set when it finished.
   */
  async pruneFinished(db: Queryable, workspaceId: string, days: number, limit: number): Promise<number> {
    const res = await db.query(
      `DELETE FROM jobs WHERE workspace_id = $1 AND id IN (
         SELECT id FROM jobs WHERE workspace_id = $1 AND status IN ('succeeded', 'dead')
           AND updated_at < now() - make_interval(days => $2) AND finished_at < now() - make_interval(days => $2)
         LIMIT $3)`,
      [workspaceId, days, limit],
    );
    return res.rowCount;
  },

  async requeueDead(db: Queryable, workspaceId: string, id: number): Promise<boolean> {
    const res = await db.query(
      `UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
       WHERE workspace_id = $1 AND id = $2 AND status = 'dead'`,
      [workspaceId, id],
    );
    return res.rowCount > 0;
  },
};
