/**
 * Timeline entries of customers no contact holds yet (DESIGN.md §3.4): a customer with no email and no user id
 * matches nobody, and a contact a teammate deleted is recreated only at the customer's next change (its link names
 * the deleted contact until then, and counts as none: `liveLinks`). An event applied meanwhile is held here, keyed
 * by the event, and recorded on the contact the customer is linked to next, at its Stripe time, instead of being
 * lost. Recording is idempotent (the entry's key is the event id), so holding and releasing may repeat.
 */
import type { AppHost } from '../../app-sdk/index.ts';
import { customerIndex, objectKey, stores } from './store.ts';
import type { TimelineEntry } from './timeline.ts';

interface Held {
  customer_id: string;
  /** As stored: `createdAt` comes back as an ISO string. */
  entry: Omit<TimelineEntry, 'createdAt'> & { createdAt: string | Date };
}

const heldStore = (host: AppHost) => host.records<Held>('held_timeline');

const revive = (h: Held): TimelineEntry => ({ ...h.entry, createdAt: new Date(h.entry.createdAt) });

/** Holds an entry for a customer with no contact; records it at once if the customer got one meanwhile. */
export async function holdTimelineEntry(
  host: AppHost,
  connectionId: string,
  customerId: string,
  eventId: string,
  entry: TimelineEntry,
): Promise<void> {
  // Version 1, and released entries leave a version-2 tombstone: a retried apply cannot hold one again.
  await heldStore(host).put(
    objectKey(connectionId, eventId),
    { customer_id: customerId, entry },
    { version: 1, a: customerIndex(connectionId, customerId) },
  );
  // A link made while we held it was released before our entry was there: look once more, after it is.
  const link = await stores(host).links.get(objectKey(connectionId, customerId));
  if (link && !link.deleted) await releaseTimelineEntries(host, connectionId, [customerId]);
}

/**
 * The contact each of these link keys names, leaving out links whose contact is gone: a teammate (or a script, or a
 * merge) can delete a contact at any time, the platform does not tell apps, and the link stays until the customer's
 * next recompute. Such a link counts as none: entries stay held (recording them would fail on the deleted contact,
 * and the whole call with them), and the recompute at the customer's next change matches it again (§3.2).
 */
export async function liveLinks(host: AppHost, linkKeys: readonly string[]): Promise<Map<string, string>> {
  const contactOf = new Map<string, string>();
  if (linkKeys.length === 0) return contactOf;
  for (const l of await stores(host).links.getMany(linkKeys))
    if (!l.deleted) contactOf.set(l.key, l.data.contact_id);
  const alive = await host.contacts.existing([...contactOf.values()]);
  for (const [key, contactId] of contactOf) if (!alive.has(contactId)) contactOf.delete(key);
  return contactOf;
}

/** Records the held entries of these customers on the contacts they are linked to now, and drops them. */
export async function releaseTimelineEntries(
  host: AppHost,
  connectionId: string,
  customerIds: readonly string[],
): Promise<number> {
  if (customerIds.length === 0) return 0;
  const store = heldStore(host);
  const held = await store.findMany(
    'a',
    customerIds.map((id) => customerIndex(connectionId, id)),
  );
  if (held.length === 0) return 0;
  const linkKeys = [...new Set(held.map((r) => objectKey(connectionId, r.data.customer_id)))];
  const contactOf = await liveLinks(host, linkKeys);
  const released = held.flatMap((r) => {
    const contactId = contactOf.get(objectKey(connectionId, r.data.customer_id));
    return contactId ? [{ key: r.key, contactId, event: revive(r.data) }] : [];
  });
  if (released.length === 0) return 0;
  // All recorded (one statement) before any is dropped: a run that stops in between leaves entries held, and
  // recording them again later is a no-op.
  await host.timeline.recordMany(released.map(({ contactId, event }) => ({ contactId, event })));
  for (const r of released) await store.remove(r.key, { version: 2 });
  return released.length;
}
