/**
 * What disconnecting an account leaves behind (§3.1). The contacts it linked take their `stripe_*` attributes from
 * the next account that links them, or have them removed: a segment on `stripe_delinquent` must not keep counting
 * customers of an account Settle no longer hears from. Then everything Settle stored of that account (customers,
 * subscriptions, cards, charges, links, cursors…) is deleted, tombstones included: their data is the account's.
 */
import type { AppHost } from '../../app-sdk/index.ts';
import { connectionRanks, linksByContact, sourceLinks } from './attribute-source.ts';
import { getConnection } from './connections.ts';
import { ReadLog } from './read-log.ts';
import { clearedAttributes, recomputeCustomers } from './recompute.ts';
import { stores, type Link } from './store.ts';

/** Links read a page at a time: a large account's contacts are handed over in steps, not held all at once. */
const PAGE = 500;

export async function releaseConnection(host: AppHost, payload: { connectionId: string }): Promise<void> {
  const { connectionId } = payload;
  // Connected again meanwhile (the same record id): it is live, nothing to release.
  if (await getConnection(host, connectionId)) return;
  const s = stores(host);
  const prefix = `${connectionId}:`;
  let after: string | undefined;
  for (;;) {
    const page = await s.links.list({ after, limit: PAGE });
    const contactIds = page
      .filter((r) => r.key.startsWith(prefix) && !r.deleted)
      .map((r) => (r.data as Link).contact_id);
    if (contactIds.length > 0) await handOver(host, contactIds);
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    after = last.key;
  }
  for (const collection of Object.values(s)) await collection.purge(prefix);
}

/** Each contact gets its values from the best-ranked live account that links it, or none. */
async function handOver(host: AppHost, contactIds: readonly string[]): Promise<void> {
  const ranks = await connectionRanks(host);
  const byContact = await linksByContact(new ReadLog(host), stores(host).links.name, contactIds);
  const elsewhere = new Map<string, Set<string>>();
  for (const contactId of new Set(contactIds)) {
    const source = sourceLinks(byContact.get(contactId) ?? [], ranks);
    const from = source[0]?.connection_id;
    if (!from) {
      if (await host.contacts.get(contactId))
        await host.contacts.setAttributes(contactId, clearedAttributes());
      continue;
    }
    const ids = elsewhere.get(from) ?? new Set<string>();
    for (const l of source) ids.add(l.customer_id);
    elsewhere.set(from, ids);
  }
  for (const [connectionId, ids] of elsewhere) await recomputeCustomers(host, connectionId, [...ids]);
}
