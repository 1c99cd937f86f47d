// Webhook delivery: signed as Stripe signs (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, keyed
// with the endpoint's `whsec_…` secret), retried with exponential backoff, with faults for tests and a log.
import { createHmac } from 'node:crypto';
import type Stripe from 'stripe';
import type { Account } from './account.ts';
import { defaultWebhookFaults, Random, type WebhookFaults } from './faults.ts';

export interface DeliveryRecord {
  id: number;
  account: string;
  endpoint: string;
  url: string;
  event: string;
  type: string;
  attempt: number;
  at: number;
  status: number | null;
  ok: boolean;
  outcome: 'delivered' | 'failed' | 'dropped' | 'duplicate';
  error?: string;
  /** Set on a failed attempt that will be retried: the backoff before the next one. */
  retry_in_ms?: number;
}

interface Job {
  acct: Account;
  endpointId: string;
  event: Stripe.Event;
  body: string;
  attempt: number;
}

const LOG_LIMIT = 10_000;

export function signPayload(secret: string, payload: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export class WebhookDispatcher {
  faults: WebhookFaults = defaultWebhookFaults();
  readonly log: DeliveryRecord[] = [];
  private readonly rng: Random;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly chains = new Map<string, Promise<void>>();
  private reorderBuffer: Job[] = [];
  private reorderTimer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private nextId = 1;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(seed: number) {
    this.rng = new Random(seed);
  }

  setFaults(f: Partial<WebhookFaults>, seed?: number): void {
    this.faults = { ...this.faults, ...f };
    if (seed !== undefined) this.rng.reseed(seed);
  }

  resetFaults(): void {
    this.faults = defaultWebhookFaults();
  }

  enqueue(acct: Account, event: Stripe.Event, endpoints: Stripe.WebhookEndpoint[]): void {
    if (this.closed || endpoints.length === 0) return;
    const body = JSON.stringify(event, null, 2);
    for (const e of endpoints) {
      const job: Job = { acct, endpointId: e.id, event, body, attempt: 1 };
      if (this.faults.reorderWindowMs > 0) this.buffer(job);
      else this.chain(job);
    }
  }

  /** Resolves when no delivery is waiting or running (retries scheduled later count as waiting). */
  idle(): Promise<void> {
    if (this.busy() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.reorderTimer) clearTimeout(this.reorderTimer);
    this.reorderBuffer = [];
    this.inFlight = 0;
    this.settle();
  }

  clearLog(): void {
    this.log.length = 0;
  }

  private busy(): number {
    return this.inFlight + this.timers.size + this.reorderBuffer.length;
  }

  private settle(): void {
    if (this.busy() > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** First attempts to one endpoint go out one at a time, in the order the events happened. */
  private chain(job: Job): void {
    this.inFlight++;
    const prev = this.chains.get(job.endpointId) ?? Promise.resolve();
    const next = prev
      .then(() => this.attempt(job))
      .finally(() => {
        this.inFlight--;
        this.settle();
      });
    this.chains.set(job.endpointId, next);
  }

  private buffer(job: Job): void {
    this.reorderBuffer.push(job);
    if (this.reorderTimer) return;
    this.reorderTimer = setTimeout(() => {
      this.reorderTimer = null;
      const jobs = this.rng.shuffle(this.reorderBuffer);
      this.reorderBuffer = [];
      for (const j of jobs) this.chain(j);
    }, this.faults.reorderWindowMs);
  }

  private later(job: Job, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.inFlight++;
      void this.attempt(job).finally(() => {
        this.inFlight--;
        this.settle();
      });
    }, ms);
    this.timers.add(t);
  }

  private record(job: Job, url: string, r: Partial<DeliveryRecord>): void {
    this.log.push({
      id: this.nextId++,
      account: job.acct.id,
      endpoint: job.endpointId,
      url,
      event: job.event.id,
      type: job.event.type,
      attempt: job.attempt,
      at: Date.now(),
      status: null,
      ok: false,
      outcome: 'failed',
      ...r,
    });
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
  }

  private async attempt(job: Job): Promise<void> {
    if (this.closed) return;
    const endpoint = job.acct.webhookEndpoints.get(job.endpointId);
    const secret = job.acct.endpointSecrets.get(job.endpointId);
    if (!endpoint || !secret || endpoint.status !== 'enabled') return;
    if (this.faults.delayMs > 0) await new Promise((r) => setTimeout(r, this.faults.delayMs));
    if (this.closed) return;
    let ok = false;
    if (this.faults.drop > 0 && this.rng.float() < this.faults.drop) {
      this.record(job, endpoint.url, { outcome: 'dropped' });
    } else {
      ok = await this.send(job, endpoint.url, secret, 'delivered');
      if (this.faults.duplicate > 0 && this.rng.float() < this.faults.duplicate) {
        await this.send(job, endpoint.url, secret, 'duplicate');
      }
    }
    if (!ok && job.attempt < this.faults.maxAttempts && !this.closed) {
      const delay = this.faults.retryBaseMs * 2 ** (job.attempt - 1);
      const last = this.log.findLast(
        (d) => d.event === job.event.id && d.endpoint === job.endpointId && d.attempt === job.attempt,
      );
      if (last) last.retry_in_ms = delay;
      this.later({ ...job, attempt: job.attempt + 1 }, delay);
    }
  }

  private async send(
    job: Job,
    url: string,
    secret: string,
    outcome: 'delivered' | 'duplicate',
  ): Promise<boolean> {
    // Signed with wall-clock time even when the emulator clock is frozen: receivers check the timestamp against
    // their own clock (300 s tolerance).
    const signature = signPayload(secret, job.body, Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': signature,
        },
        body: job.body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 300;
      this.record(job, url, { status: res.status, ok, outcome: ok ? outcome : 'failed' });
      return ok;
    } catch (err) {
      this.record(job, url, { outcome: 'failed', error: (err as Error).message });
      return false;
    }
  }
}
