import { describe, expect, it } from 'vitest';
import { createdFilter, planRanges, splitLargest, type RangeCursor } from './ranges.ts';

/** Which range an object created at `t` belongs to (each must be in exactly one). */
const owners = (ranges: readonly RangeCursor[], t: number) =>
  ranges.filter((r) => (r.gte === null || t >= r.gte) && (r.lt === null || t < r.lt)).map((r) => r.id);

describe('created ranges', () => {
  it('plans K contiguous ranges, open below and above, so every second has exactly one owner', () => {
    const plan = planRanges(1, 'customers', 1_000, 9_000, 4);
    expect(plan.map((r) => [r.gte, r.lt])).toEqual([
      [null, 3_000],
      [3_000, 5_000],
      [5_000, 7_000],
      [7_000, null],
    ]);
    for (const t of [-1e9, 0, 999, 1_000, 2_999, 3_000, 8_999, 9_000, 1e12])
      expect(owners(plan, t)).toHaveLength(1);
    expect(createdFilter(plan[1] as RangeCursor)).toEqual({ gte: 3_000, lt: 5_000 });
    expect(createdFilter(planRanges(1, 'customers', 0, 10, 1)[0] as RangeCursor)).toBeUndefined();
  });

  it('splits the range with the most left below where it stands, never one that has not listed a page', () => {
    const plan = planRanges(1, 'customers', 0, 100_000, 2);
    // r1 listed down to 90,000 and has more; r0 has not started (it may be empty): only r1 is split.
    const r1 = { ...(plan[1] as RangeCursor), starting_after: 'cus_x', last_created: 90_000, pages: 3 };
    const cursors = [plan[0] as RangeCursor, r1];
    const split = splitLargest(cursors, 0, 100_000, 's1');
    expect(split?.victim.id).toBe('r1');
    const mid = split?.narrowed.gte as number;
    expect(mid).toBeGreaterThan(50_000);
    expect(mid).toBeLessThanOrEqual(90_000);
    expect(split?.added).toMatchObject({ gte: 50_000, lt: mid, starting_after: null, pages: 0 });
    // What r1 had not listed yet, [50,000, 90,000], is in exactly one of the two afterwards.
    const after = [plan[0] as RangeCursor, split!.narrowed, split!.added];
    for (const t of [50_000, mid - 1, mid, 89_999, 90_000]) expect(owners(after, t)).toHaveLength(1);
    expect(splitLargest([plan[0] as RangeCursor], 0, 100_000, 's2')).toBeNull();
    // Nothing worth splitting under the minimum span.
    const nearly = { ...r1, gte: 89_950 };
    expect(splitLargest([nearly], 0, 100_000, 's3')).toBeNull();
  });
});
