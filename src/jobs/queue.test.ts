import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/helpers/harness.ts';
import { dbKinds } from '../db/test-db.ts';
import { createWorkspace } from '../platform/workspaces/service.ts';
import {
  backoffDelay,
  JobQueue,
  type JobContext,
  PermanentJobError,
  type QueueOptions,
  type Worker,
  type WorkerOptions,
} from './queue.ts';
import { jobRepository, type JobRow } from './repository.ts';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.each(dbKinds())('job queue on %s', (kind) => {
  let h: Harness;
  let ws: string;
  const workers: Worker[] = [];
  let n = 0;

  beforeAll(async () => {
    h = await createHarness(kind);
    ws = h.workspace.id;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => h?.close());

  /** A queue of its own for each test, and a fast worker over it. */
  function setup(
    handler: Parameters<JobQueue['register']>[1],
    opts: WorkerOptions = {},
    queueOpts: QueueOptions = {},
  ) {
    const name = `q${++n}`;
    const queue = new JobQueue(h.platform.db);
    queue.register(name, handler, queueOpts);
    const start = () => {
      const w = queue.startWorker({ pollMs: 20, backoffMs: 20, workspaceId: ws, ...opts });
      workers.push(w);
      return w;
    };
    return { name, queue, start };
  }

  const job = async (id: number) => (await jobRepository.get(h.platform.db, ws, id)) as JobRow;
  const until = (id: number, status: JobRow['status']) =>
    waitFor(`job ${id} to be ${status}`, async () => {
      const j = await job(id);
      return j.status === status ? j : undefined;
    });

  it('runs an enqueued job once with its payload and marks it succeeded', async () => {
    const seen: unknown[] = [];
    const q = setup(async (ctx) => {
      seen.push(ctx.payload);
    });
    const { id, created } = await q.queue.enqueue({ workspaceId: ws, queue: q.name, payload: { n: 7 } });
    expect(created).toBe(true);
    expect((await job(id)).status).toBe('queued');
    q.start();
    const done = await until(id, 'succeeded');
    expect(seen).toEqual([{ n: 7 }]);
    expect(done).toMatchObject({ attempts: 1, lease_token: null, last_error: null });
    expect(done.finished_at).toBeInstanceOf(Date);
  });

  it('does not run a job before its run_at', async () => {
    let runs = 0;
    const q = setup(async () => {
      runs++;
    });
    const { id } = await q.queue.enqueue({
      workspaceId: ws,
      queue: q.name,
      runAt: new Date(Date.now() + 3600_000),
    });
    q.start();
    const now = await q.queue.enqueue({ workspaceId: ws, queue: q.name });
    await until(now.id, 'succeeded');
    expect(runs).toBe(1);
    expect((await job(id)).status).toBe('queued');
  });

  it('treats a second enqueue with the same dedupe key as a no-op', async () => {
    let runs = 0;
    const q = setup(async () => {
      runs++;
    });
    const first = await q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'evt_1', payload: 1 });
    const second = await q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'evt_1', payload: 2 });
    expect(second).toEqual({ id: first.id, created: false });
    q.start();
    await until(first.id, 'succeeded');
    // Even after the job ran, the key still names it: the work is not done again.
    const third = await q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'evt_1', payload: 3 });
    expect(third).toEqual({ id: first.id, created: false });
    const rows = await h.platform.db.query('SELECT id FROM jobs WHERE workspace_id = $1 AND queue = $2', [
      ws,
      q.name,
    ]);
    expect(rows.rows).toHaveLength(1);
    expect(runs).toBe(1);
    expect((await job(first.id)).payload).toBe(1);
  });

  it('with releaseKeyAfterMs, a finished job frees its key once that time has passed, a pending one never', async () => {
    let runs = 0;
    const q = setup(async () => {
      runs++;
    });
    const key = { workspaceId: ws, queue: q.name, dedupeKey: 'contact:x@y.io', releaseKeyAfterMs: 60_000 };
    const first = await q.queue.enqueue({ ...key, payload: 1 });
    // Still queued: the key holds, however old the job.
    await h.platform.db.query("UPDATE jobs SET created_at = now() - interval '1 day' WHERE id = $1", [
      first.id,
    ]);
    expect(await q.queue.enqueue({ ...key, payload: 2 })).toEqual({ id: first.id, created: false });
    q.start();
    await until(first.id, 'succeeded');
    // Finished moments ago: still held.
    expect(await q.queue.enqueue({ ...key, payload: 3 })).toEqual({ id: first.id, created: false });
    // Finished longer ago than releaseKeyAfterMs: the key is free; an enqueue without the option still finds it.
    await h.platform.db.query("UPDATE jobs SET finished_at = now() - interval '2 minutes' WHERE id = $1", [
      first.id,
    ]);
    const plain = { workspaceId: ws, queue: q.name, dedupeKey: 'contact:x@y.io' };
    expect(await q.queue.enqueue({ ...plain, payload: 4 })).toEqual({ id: first.id, created: false });
    const again = await q.queue.enqueue({ ...key, payload: 5 });
    expect(again.created).toBe(true);
    expect(again.id).not.toBe(first.id);
    await until(again.id, 'succeeded');
    expect(runs).toBe(2);
    expect((await job(again.id)).payload).toBe(5);
  });

  it('enqueues many keyed jobs at once as one group: each created once, repeats answered with the first id', async () => {
    const ran: unknown[] = [];
    const q = setup(async (ctx) => {
      ran.push(ctx.payload);
    });
    // 120 enqueues at once, 40 keys each given three times: they queue behind the first insert and go in as groups.
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: `grp_${i % 40}`, payload: { i } }),
      ),
    );
    const byKey = new Map<number, { id: number; created: boolean }[]>();
    results.forEach((r, i) => byKey.set(i % 40, [...(byKey.get(i % 40) ?? []), r]));
    for (const rs of byKey.values()) {
      expect(rs.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(rs.map((r) => r.id)).size).toBe(1);
    }
    const rows = await h.platform.db.query<{ dedupe_key: string; payload: { i: number } }>(
      'SELECT dedupe_key, payload FROM jobs WHERE workspace_id = $1 AND queue = $2',
      [ws, q.name],
    );
    expect(rows.rows).toHaveLength(40);
    // The job kept is the first enqueue of its key.
    for (const r of rows.rows) expect(r.payload.i).toBe(Number(r.dedupe_key.slice(4)));
    q.start();
    await waitFor('40 runs', async () => (ran.length >= 40 ? true : undefined));
    await sleep(100);
    expect(ran).toHaveLength(40);
  });

  it('keeps run_at and max_attempts of grouped enqueues', async () => {
    const q = setup(async () => {});
    const later = new Date(Date.now() + 3_600_000);
    const [a, b] = await Promise.all([
      q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'timed_a' }),
      q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'timed_b', runAt: later, maxAttempts: 3 }),
    ]);
    const jb = await job(b!.id);
    expect(Math.abs(jb.run_at.getTime() - later.getTime())).toBeLessThan(1000);
    expect(jb.max_attempts).toBe(3);
    expect((await job(a!.id)).run_at.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('fails only the grouped enqueue that cannot be written, not the others in its group', async () => {
    const q = setup(async () => {});
    const results = await Promise.allSettled([
      q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'ok_1' }),
      q.queue.enqueue({ workspaceId: 'ws_does_not_exist', queue: q.name, dedupeKey: 'bad' }),
      q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'ok_2' }),
      q.queue.enqueue({ workspaceId: ws, queue: q.name, dedupeKey: 'ok_3' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const rows = await h.platform.db.query(
      'SELECT dedupe_key FROM jobs WHERE workspace_id = $1 AND queue = $2',
      [ws, q.name],
    );
    expect(rows.rows.map((r) => (r as { dedupe_key: string }).dedupe_key).sort()).toEqual([
      'ok_1',
      'ok_2',
      'ok_3',
    ]);
  });

  it('retries a failing job with growing backoff and keeps the last error when it goes dead', async () => {
    const starts: number[] = [];
    const q = setup(
      async (ctx) => {
        starts.push(Date.now());
        throw new Error(`boom on attempt ${ctx.attempt}`);
      },
      { backoffMs: 100 },
    );
    const { id } = await q.queue.enqueue({ workspaceId: ws, queue: q.name, maxAttempts: 3 });
    q.start();
    const dead = await until(id, 'dead');
    expect(dead).toMatchObject({ attempts: 3, last_error: 'boom on attempt 3', lease_token: null });
    expect(dead.finished_at).toBeInstanceOf(Date);
    expect(starts).toHaveLength(3);
    // Equal jitter never waits less than half the step: 100 ms × 2^(n-1) / 2.
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(50);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(100);
  });

  it("tells the queue's onDead once, when the job is given up, with its payload and last error", async () => {
    const told: { payload: unknown; attempt: number; error: string }[] = [];
    const q = setup(
      async (ctx) => {
        throw new Error(`boom on attempt ${ctx.attempt}`);
      },
      { backoffMs: 5 },
      {
        onDead: async (ctx, error) => {
          told.push({ payload: ctx.payload, attempt: ctx.attempt, error });
        },
      },
    );
    const { id } = await q.queue.enqueue({
      workspaceId: ws,
      queue: q.name,
      payload: { id: 'msg_1' },
      maxAttempts: 3,
    });
    q.start();
    await until(id, 'dead');
    await waitFor('onDead', async () => told.length > 0 || undefined);
    expect(told).toEqual([{ payload: { id: 'msg_1' }, attempt: 3, error: 'boom on attempt 3' }]);
  });

  it('between attempts, shows the job queued for later with the error of the failed attempt', async () => {
    const q = setup(
      async () => {
        throw new Error('temporarily down');
      },
      { backoffMs: 3600_000 },
    );
    const { id } = await q.queue.enqueue({ workspaceId: ws, queue: q.name });
    q.start();
    const waiting = await waitFor('the first failure', async () => {
      const j = await job(id);
      return j.last_error ? j : undefined;
    });
    expect(waiting).toMatchObject({ status: 'queued', attempts: 1, last_error: 'temporarily down' });
    expect(waiting.run_at.getTime()).toBeGreaterThan(Date.now() + 60_000);
  });

  it('sends a job that fails with PermanentJobError straight to dead', async () => {
    let runs = 0;
    const q = setup(async () => {
      runs++;
      throw new PermanentJobError('card declined for good');
    });
    const { id } = await q.queue.enqueue({ workspaceId: ws, queue: q.name, maxAttempts: 5 });
    q.start();
    const dead = await until(id, 'dead');
    expect(dead).toMatchObject({ attempts: 1, last_error: 'card declined for good' });
    expect(runs).toBe(1);
  });

  it('lets an admin find a dead job through the API and run it again', async () => {
    let healthy = false;
    let runs = 0;
    const q = setup(async () => {
      runs++;
      if (!healthy) throw new PermanentJobError('downstream said no');
    });
    const { id } = await q.queue.enqueue({ workspaceId: ws, queue: q.name });
    q.start();
    await until(id, 'dead');

    const listed = await h.request('admin', { method: 'GET', url: '/api/jobs?status=dead' });
    expect(listed.statusCode).toBe(200);
    const body = listed.json() as {
      counts: Record<string, number>;
      data: { id: number; last_error: string }[];
    };
    expect(body.data.find((j) => j.id === id)).toMatchObject({ last_error: 'downstream said no' });
    expect(body.counts.dead).toBeGreaterThanOrEqual(1);

    const refused = await h.request('teammate', { method: 'POST', url: `/api/jobs/${id}/retry` });
    expect(refused.statusCode).toBe(403);

    healthy = true;
    const retried = await h.request('admin', { method: 'POST', url: `/api/jobs/${id}/retry` });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id, status: 'queued', attempts: 0 });
    const done = await until(id, 'succeeded');
    expect(done.attempts).toBe(1);
    expect(runs).toBe(2);

    // Only dead jobs can be revived.
    const again = await h.request('admin', { method: 'POST', url: `/api/jobs/${id}/retry` });
    expect(again.statusCode).toBe(404);
    expect((again.json() as { error: { code: string } }).error.code).toBe('job_not_found');
  });

  it('does not let a stale worker complete or fail a job whose lease another worker took over', async () => {
    const db = h.platform.db;
    const { id } = await new JobQueue(db).enqueue({ workspaceId: ws, queue: 'lease-q' });
    const claim = (token: string, leaseMs: number) =>
      jobRepository.claim(db, { queues: ['lease-q'], limit: 1, leaseToken: token, leaseMs, workspaceId: ws });
    const [stale] = await claim('old', 1);
    expect(stale).toMatchObject({ id, attempts: 1 });
    // A live lease is not claimable...
    await sleep(20);
    const [fresh] = await claim('new', 60_000);
    expect(fresh).toMatchObject({ id, attempts: 2 });
    expect(await claim('third', 60_000)).toEqual([]);

    // ...and the worker that lost the lease can neither finish the job nor fail it, nor keep it alive.
    expect(await jobRepository.heartbeat(db, stale!, 60_000)).toBe(false);
    expect(await jobRepository.complete(db, stale!)).toBe(false);
    expect(await jobRepository.fail(db, stale!, 'stale failure', null)).toBe(false);
    expect(await job(id)).toMatchObject({
      status: 'running',
      lease_token: fresh!.lease_token,
      last_error: null,
    });

    expect(await jobRepository.complete(db, fresh!)).toBe(true);
    expect((await job(id)).status).toBe('succeeded');
  });

  it('aborts the handler of a worker that lost its lease, and ignores its failure', async () => {
    let aborted = false;
    const q = setup(
      (ctx) =>
        new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('lease lost'));
          });
        }),
      { leaseMs: 300 },
    );
    const { id } = await q.queue.enqueue({ workspaceId: ws, queue: q.name });
    q.start();
    await until(id, 'running');
    // Another worker takes the job over.
    await h.platform.db.query(
      `UPDATE jobs SET lease_token = 'other-worker', locked_until = now() + interval '1 hour' WHERE workspace_id = $1 AND id = $2`,
      [ws, id],
    );
    await waitFor('the handler to be aborted', async () => (aborted ? true : undefined));
    await sleep(100);
    expect(await job(id)).toMatchObject({ status: 'running', lease_token: 'other-worker', last_error: null });
  });

  it('runs a job once when its own worker stalled past the lease and claimed it back', async () => {
    let runs = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const q = setup(
      async () => {
        runs++;
        await released;
      },
      { leaseMs: 60_000 },
    );
    const { id } = await q.queue.enqueue({ workspaceId: ws, queue: q.name });
    q.start();
    await until(id, 'running');
    // The lease runs out while the handler is still busy (as after a long pause of the process).
    await h.platform.db.query(
      `UPDATE jobs SET locked_until = now() - interval '1 second' WHERE workspace_id = $1 AND id = $2`,
      [ws, id],
    );
    await waitFor('the worker to claim the job back', async () =>
      (await job(id)).attempts === 2 ? true : undefined,
    );
    release();
    const done = await until(id, 'succeeded');
    expect(runs).toBe(1);
    expect(done.last_error).toBeNull();
  });

  it('starts no job while the process is busy with requests, and starts them once it is not', async () => {
    const ran: number[] = [];
    let busy = true;
    const q = setup(
      async (ctx) => {
        ran.push(ctx.payload as number);
      },
      { yieldWhile: () => busy, yieldMaxMs: 60_000 },
    );
    const a = await q.queue.enqueue({ workspaceId: ws, queue: q.name, payload: 1 });
    q.start();
    const b = await q.queue.enqueue({ workspaceId: ws, queue: q.name, payload: 2 });
    await sleep(400);
    expect(ran).toEqual([]);
    expect((await job(a.id)).status).toBe('queued');
    busy = false;
    await until(a.id, 'succeeded');
    await until(b.id, 'succeeded');
    expect(ran.sort()).toEqual([1, 2]);
  });

  it('still starts jobs under a load that never lets up, one round per yieldMaxMs', async () => {
    const started: number[] = [];
    const q = setup(
      async () => {
        started.push(Date.now());
      },
      { concurrency: 1, yieldWhile: () => true, yieldMaxMs: 300 },
    );
    const t0 = Date.now();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await q.queue.enqueue({ workspaceId: ws, queue: q.name })).id);
    q.start();
    for (const id of ids) await until(id, 'succeeded');
    // One job a round (one slot): each held back about 300 ms first.
    expect(started).toHaveLength(3);
    expect(started[0]! - t0).toBeGreaterThanOrEqual(250);
    expect(started[2]! - started[0]!).toBeGreaterThanOrEqual(500);
  });

  it('with prefetch, claims jobs ahead, runs each once, and hands back the unstarted ones when stopped', async () => {
    const ran: number[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const q = setup(
      async (ctx) => {
        ran.push(ctx.payload as number);
        await released;
      },
      { concurrency: 2, prefetch: 3 },
    );
    const ids: number[] = [];
    for (let i = 0; i < 8; i++)
      ids.push((await q.queue.enqueue({ workspaceId: ws, queue: q.name, payload: i })).id);
    const w = q.start();
    // Two run, three more are claimed ahead and wait: five leased by one claim, three still queued.
    await waitFor('five jobs claimed', async () => {
      const rows = await Promise.all(ids.map(job));
      return rows.filter((r) => r.status === 'running').length === 5 ? true : undefined;
    });
    expect(ran).toHaveLength(2);
    expect((await Promise.all(ids.map(job))).filter((r) => r.status === 'queued')).toHaveLength(3);
    // Stopping hands the waiting ones back as they were (not counted as an attempt); the running ones finish.
    const stopped = w.stop();
    release();
    await stopped;
    const after = await Promise.all(ids.map(job));
    expect(after.filter((r) => r.status === 'succeeded').map((r) => r.payload)).toEqual(ran);
    expect(after.filter((r) => r.status === 'queued').every((r) => r.attempts === 0 && !r.lease_token)).toBe(
      true,
    );
    expect(after.filter((r) => r.status === 'queued')).toHaveLength(6);
    // Another worker runs the rest, each once.
    q.start();
    for (const id of ids) await until(id, 'succeeded');
    expect([...ran].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  describe('batches', () => {
    /** A batch option that succeeds every job and records what each batch held. */
    function recorded<T>(max: number, pick: (ctx: JobContext) => T) {
      const batches: T[][] = [];
      const batch: QueueOptions['batch'] = {
        max,
        run: async (ctxs) => {
          batches.push(ctxs.map(pick));
          return ctxs.map(() => undefined);
        },
      };
      return { batches, batch };
    }
    const payload = (c: JobContext) => c.payload as number;

    /** Six jobs queued before the worker starts, so one claim takes them all. */
    async function sixQueued(q: ReturnType<typeof setup>) {
      const ids: number[] = [];
      for (let i = 0; i < 6; i++)
        ids.push((await q.queue.enqueue({ workspaceId: ws, queue: q.name, payload: i })).id);
      return ids;
    }

    it('runs jobs held together as batches of at most `max`, each job once, all completed', async () => {
      const { batches, batch } = recorded(4, payload);
      const alone: number[] = [];
      const q = setup(
        async (ctx) => {
          alone.push(ctx.payload as number);
        },
        { concurrency: 1, prefetch: 5 },
        { batch },
      );
      const ids = await sixQueued(q);
      q.start();
      for (const id of ids) await until(id, 'succeeded');
      expect(batches).toEqual([
        [0, 1, 2, 3],
        [4, 5],
      ]);
      expect(alone).toEqual([]);
      for (const id of ids) expect(await job(id)).toMatchObject({ attempts: 1, lease_token: null });
    });

    it('tops a batch of a backlog up to `max` with more jobs of its queue', async () => {
      const { batches, batch } = recorded(8, payload);
      const q = setup(async () => undefined, { concurrency: 1, prefetch: 1 }, { batch });
      const ids: number[] = [];
      for (let i = 0; i < 10; i++)
        ids.push((await q.queue.enqueue({ workspaceId: ws, queue: q.name, payload: i })).id);
      q.start();
      for (const id of ids) await until(id, 'succeeded');
      // The claim for one free slot took two jobs; the batch took six more, then the last two went together.
      expect(batches).toEqual([
        [0, 1, 2, 3, 4, 5, 6, 7],
        [8, 9],
      ]);
    });

    it('retries only the job whose outcome is an error, as a rerun; the others succeed', async () => {
      let calls = 0;
      const reruns: [unknown, boolean][] = [];
      const q = setup(
        async (ctx) => void reruns.push([ctx.payload, ctx.rerun]),
        { concurrency: 1, prefetch: 5 },
        {
          batch: {
            max: 10,
            run: async (ctxs) => {
              calls++;
              for (const c of ctxs) reruns.push([c.payload, c.rerun]);
              return ctxs.map((c) => (c.payload === 2 && c.attempt === 1 ? new Error('not yet') : undefined));
            },
          },
        },
      );
      const ids = await sixQueued(q);
      q.start();
      for (const id of ids) await until(id, 'succeeded');
      const rows = await Promise.all(ids.map(job));
      expect(rows.map((r) => r.attempts)).toEqual([1, 1, 2, 1, 1, 1]);
      expect(rows[2]!.last_error).toBe('not yet');
      expect(calls).toBe(1); // the retry is a batch of one, run by the plain handler
      expect(reruns).toEqual([...[0, 1, 2, 3, 4, 5].map((p) => [p, false]), [2, true]]);
    });

    it('when a batch throws, runs each job alone as a rerun, so only the bad one fails', async () => {
      const alone: number[] = [];
      const errors: string[] = [];
      const reruns: boolean[] = [];
      const q = setup(
        async (ctx) => {
          // The batch may have done part of each job's work before it threw: the job must not count on it.
          reruns.push(ctx.rerun);
          if (ctx.payload === 3) throw new PermanentJobError('bad payload 3');
          alone.push(ctx.payload as number);
        },
        {
          concurrency: 1,
          prefetch: 5,
          onError: (err) => errors.push(err instanceof Error ? err.message : String(err)),
        },
        {
          batch: {
            max: 10,
            run: async (ctxs) => {
              reruns.push(...ctxs.map((c) => c.rerun));
              throw new Error('batch broke');
            },
          },
        },
      );
      const ids = await sixQueued(q);
      q.start();
      for (const [i, id] of ids.entries()) await until(id, i === 3 ? 'dead' : 'succeeded');
      expect(alone).toEqual([0, 1, 2, 4, 5]);
      expect(reruns).toEqual([...Array(6).fill(false), ...Array(6).fill(true)]);
      expect((await job(ids[3]!)).last_error).toBe('bad payload 3');
      expect(errors).toEqual(['a batch of 6 jobs failed; each runs alone: batch broke', 'bad payload 3']);
    });

    it('never batches jobs of different workspaces together', async () => {
      const other = await createWorkspace(h.platform.db, h.platform.box, 'Other');
      const { batches, batch } = recorded(10, (c) => c.workspaceId);
      const q = setup(
        async () => undefined,
        { concurrency: 1, prefetch: 5, workspaceId: undefined },
        { batch },
      );
      const ids: [string, number][] = [];
      for (const w of [ws, other.id, ws, other.id])
        ids.push([w, (await q.queue.enqueue({ workspaceId: w, queue: q.name })).id]);
      q.start();
      for (const [w, id] of ids)
        await waitFor(`job ${id}`, async () =>
          (await jobRepository.get(h.platform.db, w, id))?.status === 'succeeded' ? true : undefined,
        );
      expect(batches.map((b) => new Set(b).size)).toEqual([1, 1]);
      expect(batches.flat().sort()).toEqual([ws, ws, other.id, other.id].sort());
    });
  });
});

describe('backoffDelay', () => {
  it('waits between half and all of base × 2^(attempt-1), capped at the maximum', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, () => 0)).toBe(4000);
    expect(backoffDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(30, 1000, 60_000, () => 0)).toBe(30_000);
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
  });

  it('stays within its bounds for any attempt, base, cap and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, r) => {
          const step = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
          const d = backoffDelay(attempt, base, max, () => r);
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(Math.floor(step / 2));
          expect(d).toBeLessThanOrEqual(Math.ceil(step));
        },
      ),
    );
  });
});
