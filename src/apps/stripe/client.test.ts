import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import type { BudgetBucket } from '../../app-sdk/index.ts';
import {
  budgetOverride,
  isRetryable,
  parseApiBase,
  retryDelay,
  stripeClient,
  TokenBucket,
} from './client.ts';

describe('client', () => {
  it('a token bucket allows one second of burst, then paces at its rate', () => {
    let t = 0;
    const b = new TokenBucket(12.5, () => t);
    let granted = 0;
    for (let i = 0; i < 20; i++) if (b.take() === 0) granted++;
    expect(granted).toBe(12);
    const wait = b.take();
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(80); // 1/12.5 s = 80 ms
    t += wait;
    expect(b.take()).toBe(0);
  });

  it('a clock stepped back does not hold requests for the length of the step', () => {
    let t = 100_000;
    const b = new TokenBucket(4, () => t, 1);
    expect(b.take()).toBe(0);
    t -= 60_000;
    // At most one token's time (250 ms at 4/s), never the minute the clock went back.
    expect(b.take()).toBeLessThanOrEqual(250);
  });

  it('retries 429, 5xx and connection errors, not other 4xx', () => {
    expect(isRetryable(new Stripe.errors.StripeRateLimitError({ message: 'slow down' } as never))).toBe(true);
    expect(isRetryable(new Stripe.errors.StripeConnectionError({ message: 'down' } as never))).toBe(true);
    expect(isRetryable(new Stripe.errors.StripeAPIError({ message: 'x', statusCode: 503 } as never))).toBe(
      true,
    );
    expect(
      isRetryable(new Stripe.errors.StripeInvalidRequestError({ message: 'x', statusCode: 400 } as never)),
    ).toBe(false);
    expect(isRetryable(new Error('not stripe'))).toBe(false);
  });

  it('tells when each attempt is sent, after the wait for the budget and after a backoff', async () => {
    // What a fetch shows is dated by when its request left, not when the job asked: a job that waited in the
    // budget sees newer data than its asking time, and dating it by that time let older data overwrite it.
    const handle = stripeClient({
      apiKey: 'sk_test_attempts',
      account: `acct_attempts_${Date.now()}`,
      livemode: false,
      budget: { global: 4, perEndpoint: 4, burstSeconds: 0 },
      retry: { attempts: 3, baseMs: 200, maxMs: 200 },
    });
    const asked = Date.now() / 1000;
    const sent: number[][] = [[], [], [], []];
    await Promise.all(
      sent.map((times, i) =>
        handle.call(
          'customers',
          async () => i,
          (t) => times.push(t),
        ),
      ),
    );
    const firsts = sent.map((t) => t[0] as number).sort((a, b) => a - b);
    // Four requests at 4/s with no burst: the last leaves about 0.75 s after it was asked for.
    expect((firsts[3] as number) - asked).toBeGreaterThan(0.5);
    for (const t of firsts) expect(t).toBeGreaterThanOrEqual(asked);

    let calls = 0;
    const retried: number[] = [];
    await handle.call(
      'charges',
      async () => {
        if (calls++ === 0) throw new Stripe.errors.StripeRateLimitError({ message: 'slow down' } as never);
        return 'ok';
      },
      (t) => retried.push(t),
    );
    expect(retried).toHaveLength(2);
    expect((retried[1] as number) - (retried[0] as number)).toBeGreaterThan(0.1);
  });

  it('paces through the shared budget when given one, waiting the slot it names, every attempt included', async () => {
    const asked: BudgetBucket[][] = [];
    const handle = stripeClient({
      apiKey: 'sk_test_shared',
      account: 'acct_shared',
      livemode: false,
      budget: { global: 50, perEndpoint: 20, burstSeconds: 0 },
      reserve: async (buckets) => {
        asked.push([...buckets]);
        return 150;
      },
      retry: { attempts: 2, baseMs: 1, maxMs: 1 },
    });
    const start = Date.now() / 1000;
    let sentAt = 0;
    let calls = 0;
    await handle.call(
      'subscriptions',
      async () => {
        if (calls++ === 0) throw new Stripe.errors.StripeAPIError({ message: 'x', statusCode: 503 } as never);
        return 'ok';
      },
      (t) => (sentAt = t),
    );
    expect(asked).toEqual([
      [
        { key: 'acct_shared:test', perSecond: 50, burst: 1 },
        { key: 'acct_shared:test|subscriptions', perSecond: 20, burst: 1 },
      ],
      [
        { key: 'acct_shared:test', perSecond: 50, burst: 1 },
        { key: 'acct_shared:test|subscriptions', perSecond: 20, burst: 1 },
      ],
    ]);
    expect(sentAt - start).toBeGreaterThan(0.28); // two waits of 150 ms

    // The tests' and benchmarks' override (an emulator without limits) keeps to this process's own buckets.
    budgetOverride.budget = { global: 1000, perEndpoint: 1000 };
    try {
      await handle.call('customers', async () => 'ok');
      expect(asked).toHaveLength(2);
    } finally {
      budgetOverride.budget = null;
    }
  });

  it('backoff grows exponentially under a cap, with jitter', () => {
    const p = { attempts: 5, baseMs: 100, maxMs: 1000 };
    expect(retryDelay(0, p, () => 1)).toBe(100);
    expect(retryDelay(3, p, () => 1)).toBe(800);
    expect(retryDelay(9, p, () => 1)).toBe(1000);
    expect(retryDelay(3, p, () => 0.5)).toBe(400);
  });

  it('reads host, port and protocol from api_base', () => {
    expect(parseApiBase('http://127.0.0.1:12111')).toEqual({
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
    expect(parseApiBase('https://api.stripe.com')).toEqual({
      host: 'api.stripe.com',
      port: 443,
      protocol: 'https',
    });
    expect(parseApiBase(undefined)).toEqual({});
  });
});
