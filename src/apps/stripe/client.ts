/**
 * One Stripe SDK client per connection, behind a request budget and a retry policy (DESIGN.md §3.5). The SDK's own
 * retries are off (`maxNetworkRetries: 0`) so that every attempt, retries included, passes through the budget.
 */
import Stripe from 'stripe';
import type { BudgetBucket } from '../../app-sdk/index.ts';

/** The API version the SDK's types describe; requests pin it so shapes match the types. */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

/**
 * A token bucket: `rate` tokens per second, at most `capacity` stored (by default one second of burst). Stripe
 * counts requests per second, so a budget at the full limit keeps no burst: a stored second on top of a paced
 * one would be two seconds' worth in one.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly capacity: number;
  constructor(
    readonly rate: number,
    // Monotonic: a wall clock stepped back (NTP on a VM) would otherwise read as negative elapsed time and hold
    // every request of the account for as long as the step.
    private readonly now: () => number = () => performance.now(),
    capacity = rate,
  ) {
    this.capacity = Math.max(1, capacity);
    this.tokens = this.capacity;
    this.last = now();
  }

  /** Milliseconds to wait before a token is free (0: one is), taking nothing. */
  wait(): number {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (Math.max(0, t - this.last) / 1000) * this.rate);
    this.last = t;
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** Milliseconds to wait before a token is free; takes it when the answer is 0. */
  take(): number {
    const wait = this.wait();
    if (wait === 0) this.tokens -= 1;
    return wait;
  }
}

export interface Budget {
  /** Requests per second for the whole account. Default: half of Stripe's limit (test 25 → 12.5, live 100 → 50). */
  global: number;
  /** Requests per second per endpoint. Default: half of Stripe's ~25/s. */
  perEndpoint: number;
  /** Seconds of burst a bucket may store: 1 while the merchant keeps half, none at the full limit. */
  burstSeconds?: number;
}

/**
 * The `api_budget` setting: Stripe's limits for the account (by default 100/s live, 25/s test, ~25/s per endpoint)
 * and the share of them Settle may use (by default half, leaving the rest to the merchant's own traffic).
 */
export interface BudgetSetting {
  share: number;
  global?: number | undefined;
  per_endpoint?: number | undefined;
}

export const STRIPE_LIMITS = { live: 100, test: 25, perEndpoint: 25 } as const;

export function budgetFor(livemode: boolean, setting: BudgetSetting = { share: 0.5 }): Budget {
  const share = Math.min(1, Math.max(0.01, setting.share));
  return {
    global: (setting.global ?? (livemode ? STRIPE_LIMITS.live : STRIPE_LIMITS.test)) * share,
    perEndpoint: (setting.per_endpoint ?? STRIPE_LIMITS.perEndpoint) * share,
    burstSeconds: Math.min(1, 2 * (1 - share)),
  };
}

export const defaultBudget = (livemode: boolean): Budget => budgetFor(livemode);

/**
 * For tests and benchmarks against the emulator, which has no rate limit: a process-wide budget used instead of
 * the default (the way `backfillFaults` is a test knob). Never set in production code.
 */
export const budgetOverride: { budget: Budget | null } = { budget: null };

// Per process and per account: every job of one account shares its budget, whichever connection object asks.
const buckets = new Map<string, TokenBucket>();
function bucket(key: string, rate: number, burstSeconds: number): TokenBucket {
  let b = buckets.get(key);
  const capacity = Math.max(1, rate * burstSeconds);
  if (!b || b.rate !== rate || b.capacity !== capacity) {
    b = new TokenBucket(rate, undefined, capacity);
    buckets.set(key, b);
  }
  return b;
}

/** Requests made per account (retries included), for progress and benchmarks. */
export interface RequestStats {
  requests: number;
  rateLimited: number;
  retried: number;
  failed: number;
  byEndpoint: Record<string, number>;
}
export const requestStats = new Map<string, RequestStats>();
function statsFor(account: string): RequestStats {
  let s = requestStats.get(account);
  if (!s) {
    s = { requests: 0, rateLimited: 0, retried: 0, failed: 0, byEndpoint: {} };
    requestStats.set(account, s);
  }
  return s;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The buckets a request passes through: the account's, and the account's for this endpoint. */
export function budgetBuckets(account: string, endpoint: string, budget: Budget): BudgetBucket[] {
  const burst = (rate: number) => Math.max(1, rate * (budget.burstSeconds ?? 1));
  return [
    { key: account, perSecond: budget.global, burst: burst(budget.global) },
    { key: `${account}|${endpoint}`, perSecond: budget.perEndpoint, burst: burst(budget.perEndpoint) },
  ];
}

/** Reserves a request in buckets every process shares (AppHost.budget); resolves to the wait in milliseconds. */
export type ReserveBudget = (buckets: readonly BudgetBucket[]) => Promise<number>;

async function acquire(account: string, endpoint: string, budget: Budget): Promise<void> {
  for (;;) {
    const both = [
      bucket(`${account}`, budget.global, budget.burstSeconds ?? 1),
      bucket(`${account}|${endpoint}`, budget.perEndpoint, budget.burstSeconds ?? 1),
    ];
    // Both tokens or neither: a token taken from one bucket while the other makes the request wait is lost, and
    // waiters that each lost one on every wake-up drained the account's bucket for every endpoint.
    const wait = Math.max(...both.map((b) => b.wait()));
    if (wait === 0) {
      for (const b of both) b.take();
      return;
    }
    await sleep(wait);
  }
}

/** 429, 5xx and connection failures are worth another try; a 4xx is the caller's mistake. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof Stripe.errors.StripeError)) return false;
  if (err instanceof Stripe.errors.StripeConnectionError) return true;
  if (err instanceof Stripe.errors.StripeRateLimitError) return true;
  const status = err.statusCode ?? 0;
  return status === 429 || status >= 500;
}

export const isNotFound = (err: unknown) =>
  err instanceof Stripe.errors.StripeError && (err.statusCode === 404 || err.code === 'resource_missing');

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}
export const defaultRetry: RetryPolicy = { attempts: 5, baseMs: 250, maxMs: 8000 };

/** Exponential backoff with full jitter, so many workers that hit a 429 together do not retry together. */
export function retryDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  return Math.round(random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt));
}

export interface StripeHandle {
  stripe: Stripe;
  /**
   * Runs one API call inside the budget, retrying what is retryable. `endpoint` names the bucket. `onAttempt`
   * hears when each attempt is sent (unix seconds with a fraction), after any wait for the budget or a backoff:
   * the last one is the time of what the answer shows, the version of a fetched object.
   */
  call<T>(
    endpoint: string,
    fn: (stripe: Stripe) => Promise<T>,
    onAttempt?: (sentAt: number) => void,
  ): Promise<T>;
}

export function parseApiBase(apiBase: string | null | undefined): {
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
} {
  if (!apiBase) return {};
  const u = new URL(apiBase);
  const protocol = u.protocol === 'http:' ? 'http' : 'https';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

export function stripeClient(opts: {
  apiKey: string;
  apiBase?: string | null;
  /** The account the budget is counted against; before the account is known, the key's own bucket. */
  account: string;
  livemode: boolean;
  budget?: Budget;
  /**
   * The budget every Settle process shares. Without it (a connect's one-off calls) or under `budgetOverride`
   * (tests and benchmarks against the emulator, which has no limit), this process's own buckets pace the calls.
   */
  reserve?: ReserveBudget;
  retry?: RetryPolicy;
}): StripeHandle {
  const stripe = new Stripe(opts.apiKey, {
    ...parseApiBase(opts.apiBase),
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 0,
    telemetry: false,
    timeout: 30_000,
  });
  // Read at each call: a handle outlives a test's or benchmark's change of the override.
  const budget = () => budgetOverride.budget ?? opts.budget ?? defaultBudget(opts.livemode);
  const retry = opts.retry ?? defaultRetry;
  return {
    stripe,
    async call(endpoint, fn, onAttempt) {
      const stats = statsFor(opts.account);
      // Stripe limits live and test mode apart, so one account's two modes do not share a budget.
      const budgetKey = `${opts.account}:${opts.livemode ? 'live' : 'test'}`;
      for (let attempt = 0; ; attempt++) {
        const reserve = budgetOverride.budget ? undefined : opts.reserve;
        if (reserve) {
          const wait = await reserve(budgetBuckets(budgetKey, endpoint, budget()));
          if (wait > 0) await sleep(wait);
        } else await acquire(budgetKey, endpoint, budget());
        onAttempt?.(Date.now() / 1000);
        stats.requests++;
        stats.byEndpoint[endpoint] = (stats.byEndpoint[endpoint] ?? 0) + 1;
        try {
          return await fn(stripe);
        } catch (err) {
          if (err instanceof Stripe.errors.StripeError && err.statusCode === 429) stats.rateLimited++;
          if (!isRetryable(err) || attempt + 1 >= retry.attempts) {
            stats.failed++;
            throw err;
          }
          stats.retried++;
          await sleep(retryDelay(attempt, retry));
        }
      }
    },
  };
}

/** Live or test from the key's prefix (`sk_live_`, `rk_live_`…), before the account tells us. */
export const keyIsLive = (key: string) => /^(sk|rk)_live_/.test(key);
