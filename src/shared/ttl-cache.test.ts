import { afterEach, describe, expect, it, vi } from 'vitest';
import { TtlCache } from './ttl-cache.ts';

describe('TtlCache', () => {
  afterEach(() => vi.useRealTimers());

  it('keeps an entry (a kept undefined too) until its time is up, forgets on delete, starts over when full', () => {
    vi.useFakeTimers();
    const c = new TtlCache<string | undefined>(1_000, 2);
    expect(c.get('a')).toEqual({ has: false, value: undefined });
    c.set('a', 'x');
    c.set('none', undefined);
    expect(c.get('a')).toEqual({ has: true, value: 'x' });
    expect(c.get('none')).toEqual({ has: true, value: undefined });
    vi.advanceTimersByTime(1_001);
    expect(c.get('a').has).toBe(false);
    c.set('a', 'y');
    c.delete('a');
    expect(c.get('a').has).toBe(false);
    c.set('b', 'b');
    c.set('c', 'c');
    c.set('d', 'd'); // over two entries: the older ones are dropped
    expect([c.get('b').has, c.get('c').has, c.get('d').has]).toEqual([false, false, true]);
  });
});
