/**
 * Per-object versions for the app record store (DESIGN.md §3.5): an older state must never overwrite a newer one,
 * and a tombstone must outrank any late update. The store keeps one numeric version per record (a bigint column,
 * read as a JS number), so the pair (seconds, sub-second part) is packed into one integer below 2^53:
 *
 *   version = seconds × 2^21 + slot      (seconds < 2^32, i.e. until 2106; slot < 2^21)
 *
 * **Decision: only fetches carry versions that are written.** The engine never writes an event payload: a webhook
 * only says *that* an object changed, and the job refetches it. A fetch returns every change Stripe made before
 * the request started, so the fetch that started last holds the newest state. A fetch's version is therefore its
 * start time on this machine, to the millisecond (`slot = ms × 2048 + a random tie-break`), with no event time in
 * it at all:
 *
 * - the last change of an object is always followed by a fetch that starts after it (the change's own webhook,
 *   the `/v1/events` catch-up, a backfill or a refresh), and that fetch outranks every fetch that started before
 *   the change, however late its answer lands: so the store converges to Stripe's final state;
 * - Stripe's clock never enters the comparison, so clock skew between Stripe and Settle, or a test clock moved
 *   weeks ahead, cannot make an old copy win; only the clocks of Settle's own workers must agree (NTP: a few ms);
 * - two refetches of one object a few milliseconds apart land in start order whatever order they finish in
 *   (before, an event-time component made two refetches within ~5 s land in hash order).
 *
 * Deletions: a refetch answering 404 or `deleted: true` writes a tombstone at its fetch version, so a late update
 * fetched before the deletion has a lower version and changes nothing.
 *
 * `eventVersion` (event time + a hash of the event id) remains for ordering events themselves, not objects.
 */

const SLOT_BITS = 21;
const SLOTS = 2 ** SLOT_BITS; // 2,097,152
/** 1000 ms × 2048 tie-break values = 2,048,000 < 2^21. */
const TIE_BREAKS = 2048;
const MAX_SECONDS = 2 ** 32 - 1; // 2^32 × 2^21 = 2^53: the largest safe JS integer range

function checkSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
    throw new RangeError(`version seconds out of range: ${seconds}`);
  }
  return seconds;
}

/** FNV-1a (32-bit) of the id, folded into [0, 2^21 − 2]: stable across processes and releases. */
export function eventSlot(eventId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) {
    hash ^= eventId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % (SLOTS - 1);
}

export function encodeVersion(seconds: number, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS)
    throw new RangeError(`version slot out of range: ${slot}`);
  return checkSeconds(seconds) * SLOTS + slot;
}

export function decodeVersion(version: number): { seconds: number; slot: number } {
  return { seconds: Math.floor(version / SLOTS), slot: version % SLOTS };
}

/** The version of an event (Stripe time, then a stable hash of its id): orders events, never objects. */
export function eventVersion(event: { id: string; created: number }): number {
  return encodeVersion(event.created, eventSlot(event.id));
}

/**
 * The version of an object fetched from Stripe by a request that started at `startedAt` (unix seconds with a
 * fraction, this machine's clock: `Date.now() / 1000` taken just before the request). Millisecond resolution; the
 * tie-break keeps two workers that start in the same millisecond from writing equal versions (the store lets an
 * equal version overwrite).
 */
export function fetchVersion(
  startedAt: number,
  tieBreak: number = Math.floor(Math.random() * TIE_BREAKS),
): number {
  // Rounded, not floored: `Date.now() / 1000 * 1000` can come back as 123.99999 for 124 ms.
  const ms = Math.max(0, Math.round(startedAt * 1000));
  const slot = (ms % 1000) * TIE_BREAKS + Math.min(TIE_BREAKS - 1, Math.max(0, Math.floor(tieBreak)));
  return encodeVersion(Math.floor(ms / 1000), slot);
}

/** True when `candidate` may overwrite `stored` (the store's own rule: an older version does nothing). */
export function isNewer(candidate: number, stored: number | undefined): boolean {
  return stored === undefined || candidate > stored;
}
