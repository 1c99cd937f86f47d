/**
 * The `apply_event` job: a webhook (or the `/v1/events` catch-up) says *that* an object changed; the job refetches
 * it (the payload may be stale), writes it at the fetch's version (versions.ts: the fetch that started last wins,
 * whatever order the answers land in), leaves a tombstone for a deleted object, recomputes the customers concerned,
 * then records the timeline entry (once per event id).
 */
import type Stripe from 'stripe';
import type { AppHost, StoredRecord, TimelineEventInput } from '../../app-sdk/index.ts';
import { storeObjects } from './pages.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { clientFor } from './connections.ts';
import { ensureCatchUp } from './catch-up.ts';
import { holdTimelineEntry } from './held-timeline.ts';
import { fetchMissingCatalog, fetchMissingCoupons } from './missing-catalog.ts';
import { withPriceTiers } from './price-tiers.ts';
import { customerIdOf, loadCatalog, type Catalog } from './bundle.ts';
import { contactOf, recomputeCustomers, type JustWritten } from './recompute.ts';
import { objectKey, stores, type Connection, type Stores } from './store.ts';
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

/** A refetched object (null: gone from Stripe), at the version of the request that answered. */
interface Fetched {
  kind: Kind;
  id: string;
  previous: StoredRecord<unknown> | undefined;
  fresh: { id: string; deleted?: unknown } | null;
  version: number;
}

/** Refetches objects side by side (HTTP only: no database connection is held meanwhile). */
async function fetchAll(
  handle: StripeHandle,
  targets: readonly { kind: Kind; id: string; previous: StoredRecord<unknown> | undefined }[],
): Promise<Fetched[]> {
  return Promise.all(
    targets.map(async (t) => {
      // The version is when the answering request was sent, not when this job asked: a wait for the budget or a
      // retry's backoff (seconds, under load) would otherwise date newer data too early, and a fetch sent
      // meanwhile, with older data and a later date, would overwrite it.
      let sentAt = Date.now() / 1000;
      const fresh = await refetch(handle, t.kind, t.id, (at) => (sentAt = at));
      return { ...t, fresh, version: fetchVersion(sentAt) };
    }),
  );
}

/**
 * Writes refetched objects (or their tombstones) at their fetch versions, one statement per type. Returns the
 * customers whose attributes may have changed (each object's owner now and before: a detached card, a moved
 * object) and the customers it wrote.
 */
async function storeFetched(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  fetched: readonly Fetched[],
): Promise<{ customers: string[]; written: Map<string, JustWritten> }> {
  const customers: string[] = [];
  const written = new Map<string, JustWritten>();
  const alive = fetched.filter((f) => f.fresh && !f.fresh.deleted);
  const stored = new Set<string>();
  for (const kind of new Set(alive.map((f) => f.kind))) {
    const some = alive.filter((f) => f.kind === kind);
    if (kind === 'subscriptions')
      for (const f of some) {
        const [filled] = await withPriceTiers(
          host,
          handle,
          connectionId,
          [f.fresh as Stripe.Subscription],
          f.version,
        );
        if (filled) f.fresh = filled;
      }
    const keys = await storeObjects(
      host,
      connectionId,
      kind,
      some.map((f) => ({ obj: f.fresh as { id: string }, version: f.version })),
    );
    for (const k of keys) stored.add(`${kind}:${k}`);
  }
  for (const f of fetched) {
    const key = objectKey(connectionId, f.id);
    // A tombstone of an object never seen alive (a 404 on first fetch) holds no data.
    const previousData = f.previous?.data as { customer?: string | null } | null | undefined;
    const previousCustomer = previousData ? customerIdOf(previousData) : null;
    if (previousCustomer) customers.push(previousCustomer);
    if (!f.fresh || f.fresh.deleted) {
      await collection(stores(host), f.kind).remove(key, { version: f.version });
    } else {
      if (f.kind === 'customers' && stored.has(`${f.kind}:${key}`))
        written.set(f.id, { key, version: f.version, deleted: false, data: f.fresh as Stripe.Customer });
      if (f.kind === 'subscriptions')
        await fetchMissingCatalog(host, handle, connectionId, f.fresh as Stripe.Subscription, f.version);
      if (f.kind === 'customers')
        await fetchMissingCoupons(
          host,
          handle,
          connectionId,
          [(f.fresh as Stripe.Customer).discount],
          f.version,
        );
      const owner =
        f.kind === 'customers' ? f.fresh.id : customerIdOf(f.fresh as { customer?: string | null });
      if (owner) customers.push(owner);
    }
    if (f.kind === 'customers') customers.push(f.id);
  }
  return { customers, written };
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

/** For tests: throw once after a run stored what it refetched, before recomputing, as a process dying there would. */
export const applyFaults: { failAfterStore: boolean } = { failAfterStore: false };

/** `rerun`: an earlier run of this job may have stored the object and stopped before recomputing (see below). */
export async function applyEvent(host: AppHost, payload: ApplyPayload, rerun = false): Promise<void> {
  const [outcome] = await applyEvents(host, [payload], [rerun]);
  if (outcome !== undefined) throw outcome;
}

/**
 * Up to this many events are applied together (the job worker's batches). Each batch costs about ten statements
 * whatever its size, so at 500 events/s on two slots 64 applied the same events with a half to a third of the
 * median lag of 32, and worked off a backlog 15-40% faster (docs/benchmarks.md, session 8).
 */
export const APPLY_BATCH_MAX = 64;

/**
 * Several events at once, as one event would be applied, with one read of the stored objects, one refetch per
 * object however many of the events name it, and one recompute of all their customers: under load an event costs
 * a few statements instead of about ten. Answers an outcome per event (an error: retry that event alone). A failure
 * shared by all (a refetch that failed, say) throws, and the worker then applies each event alone.
 */
export async function applyEvents(
  host: AppHost,
  payloads: readonly ApplyPayload[],
  reruns: readonly boolean[] = [],
): Promise<(unknown | undefined)[]> {
  const outcomes: (unknown | undefined)[] = payloads.map(() => undefined);
  const settings = await host.settings<StripeSettings>();
  if (!settings.sync_enabled) return outcomes;
  const byConnection = new Map<string, number[]>();
  for (const [i, p] of payloads.entries())
    byConnection.set(p.connectionId, [...(byConnection.get(p.connectionId) ?? []), i]);
  for (const [connectionId, indexes] of byConnection) {
    const events = indexes.map((i) => ({ ...(payloads[i] as ApplyPayload), rerun: reruns[i] === true }));
    const errors = await applyForConnection(host, settings, connectionId, events);
    for (const [j, err] of errors.entries()) outcomes[indexes[j] as number] = err;
  }
  return outcomes;
}

type Target = { kind: Kind; id: string };

async function applyForConnection(
  host: AppHost,
  settings: StripeSettings,
  connectionId: string,
  events: readonly (ApplyPayload & { rerun: boolean })[],
): Promise<(unknown | undefined)[]> {
  const errors: (unknown | undefined)[] = events.map(() => undefined);
  const s = stores(host);
  const items = events.map((p) => {
    const obj = p.event.data.object as {
      id: string;
      object: string;
      customer?: string | { id: string } | null;
    };
    const target = targetOf(obj);
    return {
      p,
      target: target.kind ? ({ kind: target.kind, id: target.id } as Target) : undefined,
      payloadCustomer: target.kind === 'customers' ? null : customerIdOf(obj),
    };
  });
  const keyOf = (t: Target) => `${t.kind}:${t.id}`;
  const targets = new Map(items.flatMap((it) => (it.target ? [[keyOf(it.target), it.target] as const] : [])));
  const owners = [...new Set(items.flatMap((it) => (it.payloadCustomer ? [it.payloadCustomer] : [])))];
  // The connection, the stored copies of the objects and the customers they name, in one read.
  const [connRec, ...found] = await host.readRecords([
    { collection: s.connections.name, key: connectionId },
    ...[...targets.values()].map((t) => ({
      collection: collection(s, t.kind).name,
      key: objectKey(connectionId, t.id),
    })),
    ...owners.map((c) => ({ collection: s.customers.name, key: objectKey(connectionId, c) })),
  ]);
  const conn = connRec?.[0] && !connRec[0].deleted ? (connRec[0].data as Connection) : undefined;
  if (!conn) return errors;
  const storedOf = new Map([...targets.keys()].map((k, i) => [k, found[i]?.[0]]));
  const ownerOf = new Map(owners.map((c, i) => [c, found[targets.size + i]?.[0]]));
  await ensureCatchUp(host, conn.id, settings.catch_up_interval_seconds);
  const justWritten = new Map<string, JustWritten>();
  const known = { conn, userIdKey: settings.metadata_key, customers: justWritten };
  const customers = new Set<string>();
  let handle: StripeHandle | undefined;
  const client = async () => (handle ??= await clientFor(host, conn));

  // Coalescing: when the stored copy was fetched after Settle learned of an event, it already holds the event's
  // change (and the job that fetched it recomputes); refetching again would only repeat that work. One refetch
  // serves every event of the batch naming the object: it is sent after they all arrived. A rerun never
  // coalesces: the copy may be its own earlier run's, stored just before that run died or its batch failed, and
  // then nobody would recompute the customers (their contacts kept older attributes for good).
  const toFetch = new Map<string, Target>();
  for (const it of items) {
    if (!it.target) continue;
    const stored = storedOf.get(keyOf(it.target));
    const fresh =
      !it.p.rerun &&
      stored !== undefined &&
      it.p.receivedAt !== undefined &&
      fetchedAtMs(stored.version) > it.p.receivedAt;
    if (!fresh) {
      toFetch.set(keyOf(it.target), it.target);
      if (it.payloadCustomer) customers.add(it.payloadCustomer);
    }
  }
  const refetchAndStore = async (
    list: readonly (Target & { previous: StoredRecord<unknown> | undefined })[],
  ) => {
    if (list.length === 0) return;
    const h = await client();
    const r = await storeFetched(host, h, conn.id, await fetchAll(h, list));
    for (const c of r.customers) customers.add(c);
    for (const [id, w] of r.written) justWritten.set(id, w);
  };
  await refetchAndStore([...toFetch].map(([k, t]) => ({ ...t, previous: storedOf.get(k) })));
  // The customer an object belongs to may not be stored yet (its own events are late or were lost): fetch it, or
  // its attributes and this event's timeline entry would wait for an event that may never come.
  const ownTargets = new Set(items.flatMap((it) => (it.target?.kind === 'customers' ? [it.target.id] : [])));
  const missing: string[] = [];
  for (const cus of new Set([...customers, ...owners])) {
    if (ownTargets.has(cus)) continue;
    const rec = ownerOf.has(cus) ? ownerOf.get(cus) : await s.customers.get(objectKey(conn.id, cus));
    if (!rec) missing.push(cus);
  }
  await refetchAndStore(missing.map((id) => ({ kind: 'customers', id, previous: undefined })));
  if (applyFaults.failAfterStore) {
    applyFaults.failAfterStore = false;
    throw new Error('injected failure after store');
  }

  let catalog: Catalog | undefined;
  if (customers.size > 0) {
    const r = await recomputeCustomers(host, conn.id, [...customers], undefined, known);
    catalog = r?.catalog;
  }

  const entries = items.flatMap((it, i) => (timelineHandlers[it.p.event.type] ? [{ ...it, i }] : []));
  if (entries.length === 0) return errors;
  // A subscription's timeline entry names its plan: the product may be one the attributes did not need.
  if (!catalog || entries.some((e) => e.p.event.type.startsWith('customer.subscription.')))
    catalog = await loadCatalog(host, conn.id);
  for (const { p, i } of entries) {
    try {
      await recordTimeline(host, conn.id, p.event, catalog, known, customers);
    } catch (err) {
      errors[i] = err;
    }
  }
  return errors;
}

async function recordTimeline(
  host: AppHost,
  connectionId: string,
  event: Stripe.Event,
  catalog: Catalog,
  known: Parameters<typeof recomputeCustomers>[4],
  /** Customers recomputed already (by this batch). */
  customers: Set<string>,
): Promise<void> {
  const timeline = timelineEntryFor(event, { products: catalog.products });
  if (!timeline?.customerId) return;
  let contactId = await contactOf(host, connectionId, timeline.customerId);
  if (!contactId && !customers.has(timeline.customerId)) {
    await recomputeCustomers(host, connectionId, [timeline.customerId], catalog, known);
    customers.add(timeline.customerId);
    contactId = await contactOf(host, connectionId, timeline.customerId);
  }
  if (contactId && (await recordOn(host, contactId, timeline.entry))) return;
  if (contactId) {
    // Its contact was deleted (before this job, which found the store fresh and did not recompute, or while it ran):
    // matched again (§3.2), as at any change of the customer: another contact, a new one, or none.
    await recomputeCustomers(host, connectionId, [timeline.customerId], catalog, known);
    customers.add(timeline.customerId);
    const next = await contactOf(host, connectionId, timeline.customerId);
    if (next && (await recordOn(host, next, timeline.entry))) return;
  }
  // No contact holds this customer (no email, or its contact was deleted): kept for the next one that does.
  await holdTimelineEntry(host, connectionId, timeline.customerId, event.id, timeline.entry);
}

/** Records the entry, or answers false when the contact is gone (deleted): the link to it counts as none. */
async function recordOn(host: AppHost, contactId: string, entry: TimelineEventInput): Promise<boolean> {
  try {
    await host.timeline.record(contactId, entry);
    return true;
  } catch (err) {
    // Looked up only after a failure, so an event costs no extra read. Any other failure fails the job as before.
    if ((await host.contacts.existing([contactId])).has(contactId)) throw err;
    return false;
  }
}
