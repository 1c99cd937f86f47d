/**
 * The `apply_event` job: a webhook (or the `/v1/events` catch-up) says *that* an object changed; the job refetches
 * it (the payload may be stale), writes it at the fetch's version (versions.ts: the fetch that started last wins,
 * whatever order the answers land in), leaves a tombstone for a deleted object, recomputes the customers concerned,
 * then records the timeline entry (once per event id).
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import type { StoredRecord } from '../../app-sdk/index.ts';
import { storeObject } from './pages.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { clientFor } from './connections.ts';
import { ensureCatchUp } from './catch-up.ts';
import { holdTimelineEntry } from './held-timeline.ts';
import { customerIdOf, loadCatalog, type Catalog } from './bundle.ts';
import { contactOf, recomputeCustomers, type JustWritten } from './recompute.ts';
import { idOf, objectKey, stores, type Connection, type Stores } from './store.ts';
import { timelineEntryFor, timelineHandlers } from './timeline.ts';

interface StripeSettings {
  sync_enabled: boolean;
  metadata_key: string;
  catch_up_interval_seconds?: number;
}
import { decodeVersion, fetchVersion } from './versions.ts';

type Kind = 'customers' | 'subscriptions' | 'charges' | 'payment_methods';

export interface ApplyPayload {
  connectionId: string;
  event: Stripe.Event;
  /** When Settle learned of the event (unix ms, this machine's clock): the webhook's arrival or the catch-up's list. */
  receivedAt?: number;
}

async function refetch(
  handle: StripeHandle,
  kind: Kind,
  id: string,
  onAttempt: (sentAt: number) => void,
): Promise<{ id: string; deleted?: unknown } | null> {
  try {
    switch (kind) {
      case 'customers':
        return await handle.call(
          'customers',
          (s) =>
            s.customers.retrieve(id, {
              expand: ['invoice_settings.default_payment_method', 'default_source'],
            }),
          onAttempt,
        );
      case 'subscriptions':
        return await handle.call(
          'subscriptions',
          (s) =>
            s.subscriptions.retrieve(id, {
              expand: ['items.data.price', 'default_payment_method', 'discounts'],
            }),
          onAttempt,
        );
      case 'charges':
        return await handle.call('charges', (s) => s.charges.retrieve(id), onAttempt);
      case 'payment_methods':
        return await handle.call('payment_methods', (s) => s.paymentMethods.retrieve(id), onAttempt);
    }
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

const collection = (s: Stores, kind: Kind) =>
  ({
    customers: s.customers,
    subscriptions: s.subscriptions,
    charges: s.charges,
    payment_methods: s.paymentMethods,
  })[kind] as unknown as Stores['charges'];

/** The fetch start (unix ms) a stored version stands for. */
const fetchedAtMs = (version: number) => {
  const { seconds, slot } = decodeVersion(version);
  return seconds * 1000 + Math.floor(slot / 2048);
};

/**
 * Refetches one object and writes it (or its tombstone) at the fetch's version. Returns the customers whose
 * attributes may have changed: its owner now and its owner before (a detached card, a moved object).
 */
async function refetchAndStore(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  kind: Kind,
  id: string,
  previous: StoredRecord<unknown> | undefined,
): Promise<{ customers: string[]; written?: JustWritten }> {
  const s = stores(host);
  const key = objectKey(connectionId, id);
  const col = collection(s, kind);
  // The version is when the answering request was sent, not when this job asked: a wait for the budget or a
  // retry's backoff (seconds, under load) would otherwise date newer data too early, and a fetch sent
  // meanwhile, with older data and a later date, would overwrite it.
  let sentAt = Date.now() / 1000;
  const fresh = await refetch(handle, kind, id, (t) => (sentAt = t));
  const version = fetchVersion(sentAt);
  const customers: string[] = [];
  // A tombstone of an object never seen alive (a 404 on first fetch) holds no data.
  const previousData = previous?.data as { customer?: string | null } | null | undefined;
  const previousCustomer = previousData ? customerIdOf(previousData) : null;
  if (previousCustomer) customers.push(previousCustomer);
  let written: JustWritten | undefined;
  if (!fresh || fresh.deleted) {
    await col.remove(key, { version });
  } else {
    const put = await storeObject(host, connectionId, kind, fresh, version);
    if (put && kind === 'customers')
      written = { key, version, deleted: false, data: fresh as Stripe.Customer };
    if (kind === 'subscriptions')
      await fetchMissingProducts(host, handle, connectionId, fresh as Stripe.Subscription, version);
    const owner = kind === 'customers' ? fresh.id : customerIdOf(fresh as { customer?: string | null });
    if (owner) customers.push(owner);
  }
  if (kind === 'customers') customers.push(id);
  return { customers, written };
}

/** Products a refetched subscription names but the store lacks (created after the backfill). */
async function fetchMissingProducts(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  sub: Stripe.Subscription,
  version: number,
) {
  const s = stores(host);
  for (const item of sub.items.data) {
    const productId = idOf(item.price.product as string | { id: string });
    if (!productId || (await s.products.get(objectKey(connectionId, productId)))) continue;
    try {
      const product = await handle.call('products', (st) => st.products.retrieve(productId));
      await storeObject(host, connectionId, 'products', product, version);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function targetOf(obj: { id: string; object: string; customer?: string | { id: string } | null }): {
  kind: Kind | null;
  id: string;
} {
  switch (obj.object) {
    case 'customer':
      return { kind: 'customers', id: obj.id };
    case 'subscription':
      return { kind: 'subscriptions', id: obj.id };
    case 'charge':
      return { kind: 'charges', id: obj.id };
    case 'payment_method':
      return { kind: 'payment_methods', id: obj.id };
    default: {
      // Invoices, discounts, checkout sessions: what changes is the customer (balance, delinquency, discount).
      const cus = customerIdOf(obj);
      return cus ? { kind: 'customers', id: cus } : { kind: null, id: obj.id };
    }
  }
}

export async function applyEvent(host: AppHost, payload: ApplyPayload): Promise<void> {
  const { event } = payload;
  const settings = await host.settings<StripeSettings>();
  if (!settings.sync_enabled) return;
  const s = stores(host);
  const obj = event.data.object as { id: string; object: string; customer?: string | { id: string } | null };
  const target = targetOf(obj);
  const payloadCustomer = target.kind === 'customers' ? null : customerIdOf(obj);
  // The connection, the stored copy of the object and the customer it names, in one read.
  const [connRec, storedRec, ownerRec] = await host.readRecords([
    { collection: s.connections.name, key: payload.connectionId },
    ...(target.kind
      ? [{ collection: collection(s, target.kind).name, key: objectKey(payload.connectionId, target.id) }]
      : []),
    ...(payloadCustomer
      ? [{ collection: s.customers.name, key: objectKey(payload.connectionId, payloadCustomer) }]
      : []),
  ]);
  const conn = connRec?.[0] && !connRec[0].deleted ? (connRec[0].data as Connection) : undefined;
  if (!conn) return;
  await ensureCatchUp(host, conn.id, settings.catch_up_interval_seconds);
  const justWritten = new Map<string, JustWritten>();
  const known = { conn, userIdKey: settings.metadata_key, customers: justWritten };
  const customers = new Set<string>();
  let handle: StripeHandle | undefined;
  const client = async () => (handle ??= await clientFor(host, conn));

  if (target.kind) {
    // Coalescing: when the stored copy was fetched after Settle learned of this event, it already holds the
    // event's change (and the job that fetched it recomputes); refetching again would only repeat that work.
    const stored = storedRec?.[0];
    const fresh =
      stored !== undefined &&
      payload.receivedAt !== undefined &&
      fetchedAtMs(stored.version) > payload.receivedAt;
    if (!fresh) {
      const r = await refetchAndStore(host, await client(), conn.id, target.kind, target.id, stored);
      for (const c of r.customers) customers.add(c);
      if (r.written) justWritten.set(target.id, r.written);
      if (payloadCustomer) customers.add(payloadCustomer);
    }
  }
  // The customer an object belongs to may not be stored yet (its own events are late or were lost): fetch it, or
  // its attributes and this event's timeline entry would wait for an event that may never come.
  for (const cus of new Set([...customers, ...(payloadCustomer ? [payloadCustomer] : [])])) {
    if (target.kind === 'customers' && cus === target.id) continue;
    const rec = cus === payloadCustomer ? ownerRec?.[0] : await s.customers.get(objectKey(conn.id, cus));
    if (!rec) {
      const r = await refetchAndStore(host, await client(), conn.id, 'customers', cus, undefined);
      for (const c of r.customers) customers.add(c);
      if (r.written) justWritten.set(cus, r.written);
    }
  }
  let catalog: Catalog | undefined;
  const pending = new Set<string>();
  if (customers.size > 0) {
    const r = await recomputeCustomers(host, conn.id, [...customers], undefined, known);
    catalog = r?.catalog;
    for (const c of r?.pendingContacts ?? []) pending.add(c);
  }

  if (!timelineHandlers[event.type]) return;
  // A subscription's timeline entry names its plan: the product may be one the attributes did not need.
  if (!catalog || event.type.startsWith('customer.subscription.')) catalog = await loadCatalog(host, conn.id);
  const timeline = timelineEntryFor(event, { products: catalog.products });
  if (timeline?.customerId) {
    let contactId = await contactOf(host, conn.id, timeline.customerId);
    if (!contactId && !customers.has(timeline.customerId)) {
      const r = await recomputeCustomers(host, conn.id, [timeline.customerId], catalog, known);
      for (const c of r?.pendingContacts ?? []) pending.add(c);
      contactId = await contactOf(host, conn.id, timeline.customerId);
    }
    // Another job is creating this customer's contact: try again shortly rather than lose the entry.
    if (!contactId && pending.has(timeline.customerId))
      throw new Error(`contact of ${timeline.customerId} is being created; timeline entry retried`);
    if (contactId) await host.timeline.record(contactId, timeline.entry);
    // No contact holds this customer (no email, or its contact was deleted): kept for the next one that does.
    else await holdTimelineEntry(host, conn.id, timeline.customerId, event.id, timeline.entry);
  }
}
