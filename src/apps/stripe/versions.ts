/**
 * Per-object versions for the app record store (DESIGN.md §3.5): an older event must never overwrite newer state,
 * and a tombstone must outrank any late update. The store keeps one numeric version per record (a bigint column,
 * read as a JS number), so the pair (seconds, tie-breaker) is packed into one integer below 2^53:
 *
 *   version = seconds × 2^21 + slot      (seconds < 2^32, i.e. until 2106; slot < 2^21)
 *
 * - An event: seconds = the event's Stripe `created`; slot = a stable hash of the event id in [0, 2^21 − 2].
 *   Stripe's ids carry no documented order, so within one second the hash only makes the choice the same on every
 *   worker; it cannot tell which of two same-second events is newer. That is why the sync engine writes refetched
 *   objects, not payloads (below).
 * - A fetch (refetch after an event, backfill page, reconciliation, "refresh" in the card): the object as Stripe
 *   returned it holds every change made before the request started. Its version is the request's start time minus
 *   a clock-skew margin, in the top slot (2^21 − 1): it beats every event of earlier seconds and loses to any event
 *   from within the margin, which will itself be applied (and refetched) in turn.
 * - Writing after a refetch triggered by an event: use `Math.max(eventVersion(event), fetchVersion(start))`, the
 *   data being at least as fresh as both.
 * - Deletion: the tombstone gets the `customer.deleted` / `*.deleted` event's version (or the fetch version of a
 *   404), so a late `customer.updated` from before the deletion has a lower version and is ignored.
 */

const SLOT_BITS = 21;
const SLOTS = 2 ** SLOT_BITS; // 2,097,152
/** The slot a fetch takes: above every event hash, so "as of the end of second s". */
const FETCH_SLOT = SLOTS - 1;
const MAX_SECONDS = 2 ** 32 - 1; // 2^32 × 2^21 = 2^53: the largest safe JS integer range

/** Default margin for the difference between this machine's clock and Stripe's. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 5;

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
  return hash % FETCH_SLOT;
}

export function encodeVersion(seconds: number, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS)
    throw new RangeError(`version slot out of range: ${slot}`);
  return checkSeconds(seconds) * SLOTS + slot;
}

export function decodeVersion(version: number): { seconds: number; slot: number } {
  return { seconds: Math.floor(version / SLOTS), slot: version % SLOTS };
}

/** The version of a state carried by (or triggered by) a Stripe event. */
export function eventVersion(event: { id: string; created: number }): number {
  return encodeVersion(event.created, eventSlot(event.id));
}

/**
 * The version of an object fetched from Stripe by a request that started at `startedAt` (unix seconds, local
 * clock). The skew margin keeps a fetch from outranking an event Stripe created just before it, by its own clock.
 */
export function fetchVersion(startedAt: number, skewSeconds: number = DEFAULT_CLOCK_SKEW_SECONDS): number {
  return encodeVersion(Math.max(0, Math.floor(startedAt) - skewSeconds), FETCH_SLOT);
}

/** True when `candidate` may overwrite `stored` (the store's own rule: an older version does nothing). */
export function isNewer(candidate: number, stored: number | undefined): boolean {
  return stored === undefined || candidate > stored;
}
