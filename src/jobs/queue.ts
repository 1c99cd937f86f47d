import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/client.ts';
import { jobRepository, type JobRow, type NewJob } from './repository.ts';

export interface JobContext {
  workspaceId: string;
  jobId: number;
  attempt: number;
  /** No retry follows if this run fails: what the job reports as final (a sync `failed`, not `error`). */
  lastAttempt: boolean;
  /**
   * An earlier run of this job may have done part of its work and stopped: a retry (after an error, or a lease
   * lost when its process died), or a run alone after the batch it was in failed. A job that skips work it
   * believes done elsewhere must not skip it then.
   */
  rerun: boolean;
  payload: unknown;
  /** Aborted when the lease is lost: stop, another worker owns the job now. */
  signal: AbortSignal;
}

export type JobHandler = (ctx: JobContext) => Promise<void>;

/**
 * Runs several jobs of one queue and one workspace at once. Answers one outcome per job, in order: `undefined`
 * when it is done, an error when that job alone must be retried (or given up) as a failed run would be. If it
 * throws, each job is run again alone through the queue's handler, so one bad job cannot fail the others.
 */
export type BatchJobHandler = (ctxs: JobContext[]) => Promise<(unknown | undefined)[]>;

export interface QueueOptions {
  /**
   * Runs once a job of this queue is given up (dead): its attempts are spent, or it failed permanently. For work
   * whose owner must hear of it (a message left `sending`). Its own failure is logged by `onError` and dropped.
   */
  onDead?: (ctx: Omit<JobContext, 'signal'>, error: string) => Promise<void>;
  /**
   * Jobs of this queue that a worker holds at once (claimed together, or waiting) run as one batch of at most
   * `max`: one set of statements for many small jobs (webhook events) instead of one set each.
   */
  batch?: { max: number; run: BatchJobHandler };
}

/** A failure that retrying cannot fix: the job goes straight to the dead letters. */
export class PermanentJobError extends Error {}

export interface WorkerOptions {
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
  /** Backoff base: attempt n waits about base × 2^(n-1), capped at maxBackoffMs, with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Jobs claimed ahead of free slots (default none). Under load a slot frees every few milliseconds, and claiming
   * one job per freed slot costs a statement (and its planning) per job; claiming `free + prefetch` at once when
   * none wait costs one per several. Waiting jobs keep their lease (renewed when they wait long) and are handed back
   * when the worker stops.
   */
  prefetch?: number;
  /** Only this workspace's jobs (tests share a database between workspaces). */
  workspaceId?: string;
  /**
   * While this answers true (the process has requests waiting for an answer: src/server/pending-requests.ts), the
   * worker starts no job, for at most `yieldMaxMs` (default 500) at a time: the thread goes to the requests, and
   * work still moves under a load that never lets up. Jobs already running carry on.
   */
  yieldWhile?: () => boolean;
  yieldMaxMs?: number;
  onError?: (err: unknown, job: JobRow) => void;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2); // "equal jitter": never less than half the step
}

/** Durable work: a row first (written in the caller's transaction when it passes one), work second. */
export class JobQueue {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly options = new Map<string, QueueOptions>();
  private readonly workers = new Set<Worker>();

  constructor(readonly db: Db) {}

  register(queue: string, handler: JobHandler, opts: QueueOptions = {}): void {
    if (this.handlers.has(queue)) throw new Error(`job queue ${queue} is registered twice`);
    this.handlers.set(queue, handler);
    this.options.set(queue, opts);
  }

  queueOptions(queue: string): QueueOptions {
    return this.options.get(queue) ?? {};
  }

  queues(): string[] {
    return [...this.handlers.keys()];
  }

  handler(queue: string): JobHandler | undefined {
    return this.handlers.get(queue);
  }

  async enqueue(job: NewJob, tx?: Queryable): Promise<{ id: number; created: boolean }> {
    const res =
      tx === undefined && job.dedupeKey !== undefined && job.releaseKeyAfterMs === undefined
        ? await this.enqueueGrouped({ ...job, dedupeKey: job.dedupeKey })
        : await jobRepository.insert(tx ?? this.db, job);
    for (const w of this.workers) w.wake();
    return res;
  }

  // Group commit: keyed jobs enqueued outside a caller's transaction while an insert is in flight wait for it,
  // then go in together, one statement and one commit. Alone, a job is inserted at once; under load (webhooks
  // at high concurrency, each one enqueue) a commit per job was the cost that queued them behind each other.
  private grouped: {
    job: NewJob & { dedupeKey: string };
    done: (r: { id: number; created: boolean }) => void;
    fail: (err: unknown) => void;
  }[] = [];
  private flushing = false;

  private enqueueGrouped(job: NewJob & { dedupeKey: string }): Promise<{ id: number; created: boolean }> {
    return new Promise((done, fail) => {
      this.grouped.push({ job, done, fail });
      if (!this.flushing) void this.flushGrouped();
    });
  }

  private async flushGrouped(): Promise<void> {
    this.flushing = true;
    try {
      while (this.grouped.length > 0) {
        const batch = this.grouped.splice(0, 500);
        try {
          const res = await jobRepository.insertKeyed(
            this.db,
            batch.map((b) => b.job),
          );
          batch.forEach((b, i) => b.done(res[i] as { id: number; created: boolean }));
        } catch {
          // One bad job (its workspace just deleted, say) must not fail the others: each alone, with its own answer.
          await Promise.all(batch.map((b) => jobRepository.insert(this.db, b.job).then(b.done, b.fail)));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  startWorker(opts: WorkerOptions = {}): Worker {
    const w = new Worker(this, opts);
    this.workers.add(w);
    w.start();
    return w;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.stop()));
    this.workers.clear();
  }
}

export class Worker {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private readonly active = new Set<Promise<void>>();
  /** The jobs this worker is running or holds waiting, by workspace and id, so a lapsed lease is not run twice. */
  private readonly inFlight = new Map<string, JobRow>();
  /** Claimed ahead (`prefetch`), not started yet. */
  private readonly waiting: { job: JobRow; since: number }[] = [];
  readonly id = randomBytes(6).toString('hex');

  constructor(
    private readonly queue: JobQueue,
    private readonly opts: WorkerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    // Not asleep (claiming, say): the loop must not go to sleep on this news afterwards.
    else this.woken = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.active]);
  }

  private async run(): Promise<void> {
    const concurrency = this.opts.concurrency ?? 4;
    const pollMs = this.opts.pollMs ?? 500;
    const prefetch = Math.max(0, Math.floor(this.opts.prefetch ?? 0));
    while (this.running) {
      if (this.yielding()) {
        await new Promise((resolve) => setTimeout(resolve, YIELD_TICK_MS));
        this.woken = false;
        continue;
      }
      await this.startWaiting(concurrency);
      const free = concurrency - this.active.size;
      let claimed: JobRow[] = [];
      if (free > 0 && this.waiting.length === 0 && this.queue.queues().length > 0) {
        try {
          claimed = await jobRepository.claim(this.queue.db, {
            queues: this.queue.queues(),
            limit: free + prefetch,
            leaseToken: `${this.id}-${randomBytes(4).toString('hex')}`,
            leaseMs: this.leaseMs,
            workspaceId: this.opts.workspaceId,
          });
        } catch (err) {
          if (!this.running) break;
          this.opts.onError?.(err, undefined as never);
        }
      }
      for (const job of this.adopt(claimed)) this.waiting.push({ job, since: Date.now() });
      await this.startWaiting(concurrency);
      if ((claimed.length === 0 || this.active.size >= concurrency) && !this.woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, pollMs);
          this.wakeUp = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
      this.woken = false;
    }
    // Jobs claimed ahead and never started go back to the queue, their claim not counted as an attempt.
    for (const { job } of this.waiting.splice(0)) {
      this.inFlight.delete(`${job.workspace_id}:${job.id}`);
      await jobRepository.release(this.queue.db, job).catch(() => false);
    }
  }

  /** Since when the worker has held back for requests without starting a job. */
  private yieldingSince: number | undefined;

  private yielding(): boolean {
    const busy = this.opts.yieldWhile;
    if (!busy || !this.running || !busy()) {
      this.yieldingSince = undefined;
      return false;
    }
    const now = Date.now();
    this.yieldingSince ??= now;
    return now - this.yieldingSince < (this.opts.yieldMaxMs ?? 500);
  }

  /** The claimed jobs this worker does not hold already. */
  private adopt(claimed: JobRow[]): JobRow[] {
    const fresh: JobRow[] = [];
    for (const job of claimed) {
      const key = `${job.workspace_id}:${job.id}`;
      const mine = this.inFlight.get(key);
      if (mine) {
        // This worker stalled past its own lease and took the job back: the run in progress (or the waiting
        // job) carries on under the new lease instead of starting the handler a second time.
        mine.lease_token = job.lease_token;
        mine.attempts = job.attempts;
        continue;
      }
      this.inFlight.set(key, job);
      fresh.push(job);
    }
    return fresh;
  }

  /**
   * More jobs of a batch's queue and workspace, up to its `max`. Only for a batch of two or more (a backlog): a
   * claim sized for free slots gives batches of a few jobs, and bigger ones cost fewer statements per job. Only
   * that queue is claimed, so jobs of other queues are not held away from other workers meanwhile.
   */
  private async topUp(first: JobRow, have: number, max: number): Promise<JobRow[]> {
    if (have < 2 || have >= max || !this.running) return [];
    const more = await jobRepository
      .claim(this.queue.db, {
        queues: [first.queue],
        limit: max - have,
        leaseToken: `${this.id}-${randomBytes(4).toString('hex')}`,
        leaseMs: this.leaseMs,
        workspaceId: first.workspace_id,
      })
      .catch(() => []);
    return this.adopt(more);
  }

  private get leaseMs(): number {
    return this.opts.leaseMs ?? 30_000;
  }

  /**
   * Starts waiting jobs while slots are free, a batch per slot where the queue runs batches; a job that waited
   * long has its lease renewed first (or is dropped).
   */
  private async startWaiting(concurrency: number): Promise<void> {
    while (this.active.size < concurrency && this.waiting.length > 0) {
      const group = [this.waiting.shift() as { job: JobRow; since: number }];
      const first = group[0]!.job;
      const max = this.queue.queueOptions(first.queue).batch?.max ?? 1;
      for (let i = 0; i < this.waiting.length && group.length < max;) {
        const w = this.waiting[i]!;
        if (w.job.queue === first.queue && w.job.workspace_id === first.workspace_id) {
          group.push(w);
          this.waiting.splice(i, 1);
        } else i++;
      }
      for (const job of await this.topUp(first, group.length, max)) group.push({ job, since: Date.now() });
      const jobs: JobRow[] = [];
      for (const { job, since } of group) {
        if (Date.now() - since > this.leaseMs / 3) {
          const held = await jobRepository.heartbeat(this.queue.db, job, this.leaseMs).catch(() => false);
          if (!held) {
            this.inFlight.delete(`${job.workspace_id}:${job.id}`);
            continue;
          }
        }
        jobs.push(job);
      }
      if (jobs.length > 0) this.begin(jobs);
    }
  }

  private begin(jobs: JobRow[]): void {
    this.yieldingSince = undefined;
    const p = this.execute(jobs).finally(() => {
      for (const job of jobs) this.inFlight.delete(`${job.workspace_id}:${job.id}`);
      this.active.delete(p);
      this.wake();
    });
    this.active.add(p);
  }

  private async execute(jobs: JobRow[]): Promise<void> {
    const db = this.queue.db;
    const leaseMs = this.leaseMs;
    const abort = new AbortController();
    const beat = setInterval(
      () => {
        for (const job of jobs) {
          jobRepository
            .heartbeat(db, job, leaseMs)
            .then((held) => {
              if (!held) abort.abort();
            })
            .catch(() => undefined);
        }
      },
      Math.max(50, leaseMs / 3),
    );
    try {
      const batch = this.queue.queueOptions(jobs[0]!.queue).batch;
      if (batch && jobs.length > 1) await this.runBatch(batch.run, jobs, abort.signal);
      else for (const job of jobs) await this.runOne(job, abort.signal);
    } finally {
      clearInterval(beat);
    }
  }

  private context(job: JobRow, afterBatch = false): Omit<JobContext, 'signal'> {
    return {
      workspaceId: job.workspace_id,
      jobId: job.id,
      attempt: job.attempts,
      lastAttempt: job.attempts >= job.max_attempts,
      rerun: afterBatch || job.attempts > 1,
      payload: job.payload,
    };
  }

  private async runOne(job: JobRow, signal: AbortSignal, afterBatch = false): Promise<void> {
    try {
      const handler = this.queue.handler(job.queue);
      if (!handler) throw new PermanentJobError(`no handler for queue ${job.queue}`);
      if (job.attempts > job.max_attempts) throw spent(job);
      await handler({ ...this.context(job, afterBatch), signal });
      const token = job.lease_token;
      // If this worker took its own job back meanwhile, the lease token changed under us: complete with the new one.
      if (!(await jobRepository.complete(this.queue.db, job)) && job.lease_token !== token) {
        await jobRepository.complete(this.queue.db, job);
      }
    } catch (err) {
      await this.failed(job, err);
    }
  }

  private async runBatch(run: BatchJobHandler, all: JobRow[], signal: AbortSignal): Promise<void> {
    const jobs: JobRow[] = [];
    for (const job of all) {
      if (job.attempts > job.max_attempts) await this.failed(job, spent(job));
      else jobs.push(job);
    }
    let outcomes: (unknown | undefined)[];
    try {
      outcomes = await run(jobs.map((job) => ({ ...this.context(job), signal })));
      if (outcomes.length !== jobs.length)
        throw new Error(`batch of ${jobs.length} jobs answered ${outcomes.length} outcomes`);
    } catch (err) {
      // Reported (a batch that fails where its jobs alone succeed is a bug to see), then each job alone, with its
      // own answer: a batch fails as a whole, but only its bad job should.
      const message = err instanceof Error ? err.message : String(err);
      this.opts.onError?.(
        new Error(`a batch of ${jobs.length} jobs failed; each runs alone: ${message}`),
        jobs[0]!,
      );
      for (const job of jobs) await this.runOne(job, signal, true);
      return;
    }
    const done = jobs.filter((_, i) => outcomes[i] === undefined);
    const tokens = done.map((job) => job.lease_token);
    const completed = await jobRepository.completeMany(this.queue.db, done).catch(() => new Set<string>());
    for (const [i, job] of done.entries()) {
      if (!completed.has(`${job.workspace_id}:${job.id}`) && job.lease_token !== tokens[i])
        await jobRepository.complete(this.queue.db, job).catch(() => false);
    }
    for (const [i, job] of jobs.entries()) if (outcomes[i] !== undefined) await this.failed(job, outcomes[i]);
  }

  /** A failed run: retried after a backoff, or given up (dead) when permanent or out of attempts. */
  private async failed(job: JobRow, err: unknown): Promise<void> {
    this.opts.onError?.(err, job);
    const message = err instanceof Error ? err.message : String(err);
    const permanent = err instanceof PermanentJobError || job.attempts >= job.max_attempts;
    const delay = backoffDelay(
      job.attempts,
      this.opts.backoffMs ?? 1000,
      this.opts.maxBackoffMs ?? 3_600_000,
    );
    const failed = await jobRepository
      .fail(this.queue.db, job, message, permanent ? null : new Date(Date.now() + delay))
      .catch(() => false);
    const onDead = this.queue.queueOptions(job.queue).onDead;
    if (permanent && failed && onDead) {
      await onDead(this.context(job), message).catch((e: unknown) => this.opts.onError?.(e, job));
    }
  }
}

/** How often a worker holding back for requests looks again (a check costs no query). */
const YIELD_TICK_MS = 5;

const spent = (job: JobRow) =>
  new PermanentJobError(`gave up after ${job.max_attempts} attempts (the last worker stopped mid-job)`);
