/**
 * `created` ranges for concurrent backfill cursors (DESIGN.md §3.5). A list type is split into ranges
 * `[gte, lt)` of `created`; the first range is open below and the last open above, so no object is ever outside
 * every range whatever the account's real age or clock. Each range is its own cursor, checkpointed in the record
 * store. A cursor that finishes early takes half of the largest remaining range (work stealing), so an account
 * whose objects crowd into a few years still keeps every cursor busy.
 */
import type { BackfillType } from './store.ts';

export interface RangeCursor {
  run: number;
  type: BackfillType;
  /** Stable within a run: `r0`…`r{K-1}` from the plan, then `s1`, `s2`… from splits. */
  id: string;
  /** Inclusive lower bound, or null for "no lower bound". */
  gte: number | null;
  /** Exclusive upper bound, or null for "no upper bound". */
  lt: number | null;
  /** The last object written from this range (lists go newest first): the next page starts after it. */
  starting_after: string | null;
  /** `created` of that object: what a split and a vanished `starting_after` need. */
  last_created: number | null;
  pages: number;
  count: number;
  done: boolean;
}

/** Stripe's public launch: no object is older, so it is a safe estimate of an account's first second. */
export const STRIPE_EPOCH = 1_293_840_000; // 2011-01-01

/** K ranges over [lo, hi), the first open below and the last open above. */
export function planRanges(
  run: number,
  type: BackfillType,
  lo: number,
  hi: number,
  k: number,
): RangeCursor[] {
  const n = Math.max(1, Math.floor(k));
  const span = Math.max(n, hi - lo);
  const out: RangeCursor[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      run,
      type,
      id: `r${i}`,
      gte: i === 0 ? null : lo + Math.floor((span * i) / n),
      lt: i === n - 1 ? null : lo + Math.floor((span * (i + 1)) / n),
      starting_after: null,
      last_created: null,
      pages: 0,
      count: 0,
      done: false,
    });
  }
  return out;
}

/** What is left of a range to list, in seconds: from its lower bound (estimated by `lo`) to where it stands. */
export function remainingSpan(c: RangeCursor, lo: number, hi: number): number {
  if (c.done) return 0;
  const top = c.last_created ?? c.lt ?? hi;
  return top - (c.gte ?? Math.min(lo, top));
}

/**
 * Splits the range with the most left to list: it keeps `[mid, lt)` and goes on from where it stands; the new
 * range takes `[gte, mid)` from the start. `mid` is at most the victim's `last_created`, so every object it has
 * not listed yet is in exactly one of the two. Only a range that has listed a page and has more is split. Returns
 * null when nothing is worth splitting (under `minSpan` seconds left).
 */
export function splitLargest(
  cursors: readonly RangeCursor[],
  lo: number,
  hi: number,
  newId: string,
  minSpan = 120,
): { victim: RangeCursor; narrowed: RangeCursor; added: RangeCursor } | null {
  let victim: RangeCursor | undefined;
  let best = minSpan;
  for (const c of cursors) {
    // Only a range known to hold more than a page: an unlisted one may well be empty (one request says so).
    if (c.last_created === null) continue;
    const span = remainingSpan(c, lo, hi);
    if (span > best) {
      best = span;
      victim = c;
    }
  }
  if (!victim) return null;
  const top = victim.last_created ?? victim.lt ?? hi;
  const bottom = victim.gte ?? Math.min(lo, top);
  const mid = bottom + Math.floor((top - bottom) / 2);
  if (mid <= bottom || mid > top) return null;
  return {
    victim,
    narrowed: { ...victim, gte: mid },
    added: {
      run: victim.run,
      type: victim.type,
      id: newId,
      gte: victim.gte,
      lt: mid,
      starting_after: null,
      last_created: null,
      pages: 0,
      count: 0,
      done: false,
    },
  };
}

/** The `created` filter of a range, as the list endpoints take it. */
export function createdFilter(c: RangeCursor): { gte?: number; lt?: number } | undefined {
  if (c.gte === null && c.lt === null) return undefined;
  return { ...(c.gte !== null ? { gte: c.gte } : {}), ...(c.lt !== null ? { lt: c.lt } : {}) };
}
