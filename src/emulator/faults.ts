// Test-only knobs: rate limits, latency, webhook faults. All randomness comes from one seeded generator so a
// failing run can be replayed.
import { mulberry32 } from '../shared/random.ts';

export interface RateLimits {
  /** Requests per second per account, across all endpoints; null = unlimited. */
  global: number | null;
  /** Requests per second per account and endpoint (e.g. `GET /v1/customers`); null = unlimited. */
  perEndpoint: number | null;
  /** Overrides for named endpoints. */
  endpoints: Record<string, number>;
}

export interface Latency {
  fixedMs: number;
  jitterMs: number;
}

export interface WebhookFaults {
  /** Probability an attempt is lost (never sent); it is retried later like a failed attempt. */
  drop: number;
  /** Probability a delivery is sent twice. */
  duplicate: number;
  /** Added before every attempt. */
  delayMs: number;
  /** When > 0, deliveries are held for this many ms and sent in a shuffled order. */
  reorderWindowMs: number;
  /** Base of the retry backoff (doubles per attempt). Real Stripe retries over 3 days; tests want ms. */
  retryBaseMs: number;
  maxAttempts: number;
}

export function defaultWebhookFaults(): WebhookFaults {
  return { drop: 0, duplicate: 0, delayMs: 0, reorderWindowMs: 0, retryBaseMs: 1000, maxAttempts: 8 };
}

export class Random {
  private next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  reseed(seed: number): void {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [arr[i], arr[j]] = [arr[j] as T, arr[i] as T];
    }
    return arr;
  }
}

/** A one-second window counter per key: enough to produce real 429s at a configured rate. */
export class RateLimiter {
  limits: RateLimits = { global: null, perEndpoint: null, endpoints: {} };
  /** Requests answered 429 since the last reset, for tests that check a client stayed within the limits. */
  refused = 0;
  private windows = new Map<string, { second: number; count: number }>();

  /** Returns the reason header value when the request is over a limit, else null. */
  check(account: string, endpoint: string): 'global-rate' | 'endpoint-rate' | null {
    const second = Math.floor(Date.now() / 1000);
    const over = (key: string, limit: number | null | undefined): boolean => {
      if (limit === null || limit === undefined) return false;
      let w = this.windows.get(key);
      if (!w || w.second !== second) this.windows.set(key, (w = { second, count: 0 }));
      w.count++;
      return w.count > limit;
    };
    const specific = this.limits.endpoints[endpoint] ?? this.limits.perEndpoint;
    const reason = over(`${account}|*`, this.limits.global)
      ? 'global-rate'
      : over(`${account}|${endpoint}`, specific)
        ? 'endpoint-rate'
        : null;
    if (reason) this.refused++;
    return reason;
  }

  reset(): void {
    this.limits = { global: null, perEndpoint: null, endpoints: {} };
    this.refused = 0;
    this.windows.clear();
  }
}
