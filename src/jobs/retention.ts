/**
 * Deletes jobs that finished long ago, so the jobs table (and the webhook inbox in it) stays the size of the
 * retention window instead of growing forever. A finished job with a dedupe key is what makes a repeated event
 * a no-op, so the window must outlast every redelivery Stripe can make (config: SETTLE_JOB_RETENTION_DAYS, at
 * least 31 days). Runs in every process that runs workers; two processes pruning at once only share the work.
 */
import type { Queryable } from '../db/client.ts';
import { jobRepository } from './repository.ts';

export interface RetentionOptions {
  db: Queryable;
  retentionDays: number;
  /** The workspaces to prune, asked each round (new ones appear while running). */
  workspaces: () => Promise<string[]>;
  onPruned?: (workspaceId: string, deleted: number) => void;
  onError?: (err: unknown) => void;
  /** Between rounds. */
  intervalMs?: number;
  /** Before the first round: a minute, to keep start-up quiet (a process restarted often still prunes). */
  firstDelayMs?: number;
  /** Rows per delete statement: short transactions that never hold many row locks. */
  batch?: number;
}

export interface Retention {
  /** One full round over every workspace; answers the number of jobs deleted. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startJobRetention(opts: RetentionOptions): Retention {
  const intervalMs = opts.intervalMs ?? 60 * 60 * 1000;
  const batch = opts.batch ?? 1000;
  let stopped = false;
  let current: Promise<number> | undefined;

  async function round(): Promise<number> {
    let total = 0;
    for (const ws of await opts.workspaces()) {
      let deleted = 0;
      for (;;) {
        if (stopped) return total + deleted;
        const n = await jobRepository.pruneFinished(opts.db, ws, opts.retentionDays, batch);
        deleted += n;
        if (n < batch) break;
      }
      if (deleted > 0) opts.onPruned?.(ws, deleted);
      total += deleted;
    }
    return total;
  }

  const runOnce = (): Promise<number> => {
    // One round at a time per process: a timer firing during a manual round joins it.
    current ??= round().finally(() => {
      current = undefined;
    });
    return current;
  };

  const tick = () => {
    runOnce().catch((err: unknown) => opts.onError?.(err));
  };
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick();
    timer = setInterval(tick, intervalMs);
    timer.unref();
  }, opts.firstDelayMs ?? 60_000);
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current?.catch(() => 0);
    },
  };
}
