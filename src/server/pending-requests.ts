import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/*
 * Requests this process has received and not yet answered. The job worker in the same process yields to them
 * (`yieldWhile` in src/jobs/queue.ts): under a burst of webhooks, every slice of the one thread that a job takes
 * is a slice an acknowledgement waits for, while the job itself can run a moment later with nothing lost.
 * A long-lived stream (server-sent events) counts only until its headers are out: it waits for nobody.
 */
const release = new WeakMap<ServerResponse, () => void>();

export interface PendingRequests {
  count(): number;
  /**
   * At least `busyAt` requests were waiting at some moment of the last `holdMs`. A burst's count dips between
   * answers and the next arrivals; a job started in such a dip would hold the thread through the next wave.
   */
  busy(): boolean;
}

export function trackPendingRequests(
  server: Server,
  opts: { busyAt: number; holdMs: number } = { busyAt: 16, holdMs: 50 },
): PendingRequests {
  let pending = 0;
  let busyAt = -Infinity;
  // Before the framework's own listener, which may answer (or open a stream) before returning.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    pending += 1;
    if (pending >= opts.busyAt) busyAt = Date.now();
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      pending -= 1;
      release.delete(res);
    };
    release.set(res, settle);
    res.once('finish', settle);
    res.once('close', settle);
  });
  return {
    count: () => pending,
    busy: () => pending >= opts.busyAt || Date.now() - busyAt < opts.holdMs,
  };
}

/** The request is answered for the gauge's purpose although its response stays open (an event stream). */
export function requestAnswered(res: ServerResponse): void {
  release.get(res)?.();
}
