import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { isRetryable, parseApiBase, retryDelay, TokenBucket } from './client.ts';

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
