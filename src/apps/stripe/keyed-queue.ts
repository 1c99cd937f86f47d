/**
 * A queue of tasks that run in order per key, several at a time: a task starts once every task queued before it
 * that shares one of its keys has ended, and at most `lanes` run at once. A running task may ask for a moment
 * alone (`alone`): no new task starts, the others running end, then its step runs by itself.
 *
 * The backfill settles its pages through it (backfill.ts): the keys are a page's customers and its range, so a
 * customer's settles and a range's checkpoints keep their queue order, while pages with nothing in common use both
 * of the database's cores. Steps that reach beyond their own keys (the careful path, which follows shared emails to
 * other customers) run alone.
 */
export interface TaskContext {
  /** Runs `step` while no other task runs; the task's keys stay held meanwhile. */
  alone<T>(step: () => Promise<T>): Promise<T>;
}

interface Task {
  keys: readonly string[];
  run: (ctx: TaskContext) => Promise<void>;
}

export class KeyedQueue {
  private waiting: Task[] = [];
  /** Keys of started tasks that have not ended (a task starts only when none of its keys is held). */
  private held = new Set<string>();
  /** Started tasks that are neither ended nor waiting for (or in) a step alone. */
  private running = 0;
  private aloneWaiters: (() => void)[] = [];
  private aloneActive = false;
  private idleWaiters: (() => void)[] = [];
  /** Started tasks that have not ended, whatever they wait for. */
  private inFlight = 0;

  constructor(private readonly lanes: number) {
    if (!Number.isInteger(lanes) || lanes < 1)
      throw new Error(`lanes must be a positive integer, got ${lanes}`);
  }

  /** Queues `run`; the promise settles when it has ended (a failure rejects it and does not stop the queue). */
  push(keys: Iterable<string>, run: (ctx: TaskContext) => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const task: Task = {
        keys: [...new Set(keys)],
        run: (ctx) => run(ctx).then(resolve, reject),
      };
      this.waiting.push(task);
      this.pump();
    });
  }

  /** Resolves once every task queued so far (and any they queue) has ended. */
  idle(): Promise<void> {
    if (this.waiting.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    // Nothing new starts while a step waits to run alone or runs.
    if (this.aloneActive || this.aloneWaiters.length > 0) return this.grantAlone();
    const blocked = new Set(this.held);
    const still: Task[] = [];
    for (const task of this.waiting) {
      const free = this.running < this.lanes && task.keys.every((k) => !blocked.has(k));
      if (free) this.start(task);
      else still.push(task);
      // A later task sharing a key with this one waits for it, started or not.
      for (const k of task.keys) blocked.add(k);
    }
    this.waiting = still;
    this.settleIdle();
  }

  private start(task: Task): void {
    this.inFlight++;
    this.running++;
    for (const k of task.keys) this.held.add(k);
    const ctx: TaskContext = { alone: (step) => this.runAlone(step) };
    void task.run(ctx).finally(() => {
      this.running--;
      this.inFlight--;
      for (const k of task.keys) this.held.delete(k);
      this.pump();
    });
  }

  private async runAlone<T>(step: () => Promise<T>): Promise<T> {
    // The caller stops counting as running while it waits: two tasks asking at once wait for each other's step,
    // never for each other.
    this.running--;
    await new Promise<void>((r) => {
      this.aloneWaiters.push(r);
      this.grantAlone();
    });
    try {
      return await step();
    } finally {
      this.aloneActive = false;
      this.running++;
      this.pump();
    }
  }

  private grantAlone(): void {
    if (this.aloneActive || this.running > 0) return;
    const next = this.aloneWaiters.shift();
    if (!next) return;
    this.aloneActive = true;
    next();
  }

  private settleIdle(): void {
    if (this.waiting.length > 0 || this.inFlight > 0) return;
    for (const r of this.idleWaiters.splice(0)) r();
  }
}
