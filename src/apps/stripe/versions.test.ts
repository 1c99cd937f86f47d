// §3.5: versions order events by Stripe time, fetches by their start (to the millisecond), and fit a JS-safe integer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeVersion, encodeVersion, eventVersion, fetchVersion, isNewer } from './versions.ts';

const T = 1795608000;

describe('versions', () => {
  it('a later event always outranks an earlier one, whatever the ids', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 2 ** 32 - 2 }), (idA, idB, t) => {
        expect(eventVersion({ id: idB, created: t + 1 })).toBeGreaterThan(
          eventVersion({ id: idA, created: t }),
        );
      }),
    );
  });

  it('same second: the id decides, the same way on every call', () => {
    const a = eventVersion({ id: 'evt_a', created: T });
    const b = eventVersion({ id: 'evt_b', created: T });
    expect(a).not.toBe(b);
    expect(eventVersion({ id: 'evt_a', created: T })).toBe(a);
    expect(decodeVersion(a).seconds).toBe(T);
  });

  it('stays a safe integer up to 2106', () => {
    const v = encodeVersion(2 ** 32 - 1, 2 ** 21 - 1);
    expect(Number.isSafeInteger(v)).toBe(true);
    expect(() => encodeVersion(2 ** 32, 0)).toThrow(RangeError);
    expect(() => encodeVersion(-1, 0)).toThrow(RangeError);
  });

  it('a fetch that started later outranks one that started earlier, to the millisecond, whatever the tie-break', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 2047 }),
        fc.integer({ min: 0, max: 2047 }),
        (ms, later, tieA, tieB) => {
          const t = T + ms / 1000;
          expect(fetchVersion(t + later / 1000, tieB)).toBeGreaterThan(fetchVersion(t, tieA));
        },
      ),
    );
    expect(decodeVersion(fetchVersion(T + 0.25, 7))).toEqual({ seconds: T, slot: 250 * 2048 + 7 });
  });

  it('a fetch version ignores Stripe time: a test clock weeks ahead cannot make an older fetch win', () => {
    // Only fetches are written; their versions come from this machine's clock, so an event's `created` plays no part.
    expect(fetchVersion(T + 1, 0)).toBeGreaterThan(fetchVersion(T, 2047));
  });

  it('a tombstone written at the delete event outranks a late update from before it', () => {
    const deleted = eventVersion({ id: 'evt_del', created: T });
    const lateUpdate = eventVersion({ id: 'evt_upd', created: T - 1 });
    expect(isNewer(lateUpdate, deleted)).toBe(false);
    expect(isNewer(deleted, undefined)).toBe(true);
    expect(isNewer(deleted, deleted)).toBe(false); // the store ignores equal versions
  });
});
