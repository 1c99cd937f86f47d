// §3.5: versions order events by Stripe time, fetches by their start, and fit a JS-safe integer.
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

  it('a fetch outranks events older than its start minus the skew margin, and loses to newer ones', () => {
    const fetched = fetchVersion(T, 5);
    expect(fetched).toBeGreaterThan(eventVersion({ id: 'evt_x', created: T - 5 })); // same second: fetch slot is top
    expect(fetched).toBeLessThan(eventVersion({ id: 'evt_y', created: T - 4 }));
    expect(decodeVersion(fetched)).toEqual({ seconds: T - 5, slot: 2 ** 21 - 1 });
  });

  it('a tombstone written at the delete event outranks a late update from before it', () => {
    const deleted = eventVersion({ id: 'evt_del', created: T });
    const lateUpdate = eventVersion({ id: 'evt_upd', created: T - 1 });
    expect(isNewer(lateUpdate, deleted)).toBe(false);
    expect(isNewer(deleted, undefined)).toBe(true);
    expect(isNewer(deleted, deleted)).toBe(false); // the store ignores equal versions
  });
});
