/**
 * Which connection writes a contact's `stripe_*` attributes (§3.1): the best-ranked one that links it, the
 * primary account first, then the oldest connection (`rankConnections`). A contact whose only customer is in
 * another account than the primary takes its attributes from that account; one linked in several takes them from
 * the primary's customer.
 */
import type { AppHost } from '../../app-sdk/index.ts';
import { listConnections, rankConnections } from './connections.ts';
import type { ReadLog } from './read-log.ts';
import type { Link } from './store.ts';

/** Each live connection's place in §3.1's order (0 is the primary). */
export async function connectionRanks(host: AppHost): Promise<Map<string, number>> {
  return new Map(rankConnections(await listConnections(host)).map((c, i) => [c.id, i]));
}

/** The links to each contact, from every connection, read through the round's log (one statement). */
export async function linksByContact(
  log: ReadLog,
  linksCollection: string,
  contactIds: readonly string[],
): Promise<Map<string, Link[]>> {
  const ids = [...new Set(contactIds)];
  if (ids.length === 0) return new Map();
  const answers = await log.readAll(
    ids.map((value) => ({ collection: linksCollection, index: 'a' as const, value, limit: 100 })),
  );
  return new Map(
    ids.map((id, i) => [id, (answers[i] ?? []).filter((r) => !r.deleted).map((r) => r.data as Link)]),
  );
}

/**
 * The links of the best-ranked connection among a contact's links: the customers whose attributes the contact
 * should carry. Links of a disconnected account (no rank) do not count. Empty when nothing links the contact.
 */
export function sourceLinks(links: readonly Link[], ranks: ReadonlyMap<string, number>): Link[] {
  let best: number | undefined;
  for (const l of links) {
    const r = ranks.get(l.connection_id);
    if (r !== undefined && (best === undefined || r < best)) best = r;
  }
  return best === undefined ? [] : links.filter((l) => ranks.get(l.connection_id) === best);
}
