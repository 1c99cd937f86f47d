/**
 * The `apply_event` job: a webhook says *that* an object changed; the job refetches it (the payload may be stale),
 * writes it at `max(eventVersion, fetchVersion(start))` so an older event never overwrites newer state, leaves a
 * tombstone for a deleted object, recomputes the customer's match and attributes, then records the timeline entry
 * (once per event id).
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { storeObject } from './backfill.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { clientFor, getConnection } from './connections.ts';
import { contactOf, customerIdOf, loadCatalog, recomputeCustomers } from './recompute.ts';
import { idOf, objectKey, stores } from './store.ts';
import { timelineEntryFor } from './timeline.ts';
import { eventVersion, fetchVersion } from './versions.ts';

type Kind = 'customers' | 'subscriptions' | 'charges' | 'payment_methods';

async function refetch(
  handle: StripeHandle,
  kind: Kind,
  id: string,
): Promise<{ id: string; deleted?: unknown } | null> {
  try {
    switch (kind) {
      case 'customers':
        return await handle.call('customers', (s) =>
          s.customers.retrieve(id, { expand: ['invoice_settings.default_payment_method', 'default_source'] }),
        );
      case 'subscriptions':
        return await handle.call('subscriptions', (s) =>
          s.subscriptions.retrieve(id, {
            expand: ['items.data.price', 'default_payment_method', 'discounts'],
          }),
        );
      case 'charges':
        return await handle.call('charges', (s) => s.charges.retrieve(id));
      case 'payment_methods':
        return await handle.call('payment_methods', (s) => s.paymentMethods.retrieve(id));
    }
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
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

export async function applyEvent(
  host: AppHost,
  payload: { connectionId: string; event: Stripe.Event },
): Promise<void> {
  const { event } = payload;
  const conn = await getConnection(host, payload.connectionId);
  if (!conn) return;
  const handle = await clientFor(host, conn);
  const s = stores(host);
  const obj = event.data.object as { id: string; object: string; customer?: string | { id: string } | null };
  const started = Date.now() / 1000;

  const customers = new Set<string>();
  let kind: Kind | null = null;
  let objectId = obj.id;
  switch (obj.object) {
    case 'customer':
      kind = 'customers';
      customers.add(obj.id);
      break;
    case 'subscription':
      kind = 'subscriptions';
      break;
    case 'charge':
      kind = 'charges';
      break;
    case 'payment_method':
      kind = 'payment_methods';
      break;
    default: {
      // Invoices, discounts, checkout sessions: what changes is the customer (balance, delinquency, discount).
      const cus = customerIdOf(obj);
      if (cus) {
        kind = 'customers';
        objectId = cus;
      }
    }
  }
  if (kind) {
    const fresh = await refetch(handle, kind, objectId);
    const version = Math.max(eventVersion(event), fetchVersion(started));
    const key = objectKey(conn.id, objectId);
    const col = {
      customers: s.customers,
      subscriptions: s.subscriptions,
      charges: s.charges,
      payment_methods: s.paymentMethods,
    }[kind];
    const previous = await (col as typeof s.charges).get(key);
    const previousCustomer = previous ? customerIdOf(previous.data) : null;
    if (previousCustomer) customers.add(previousCustomer); // a detached card or a moved object changes its old owner too
    if (!fresh || fresh.deleted) {
      await (col as typeof s.charges).remove(key, { version });
    } else {
      await storeObject(host, conn.id, kind, fresh, version, started);
      if (kind === 'subscriptions')
        await fetchMissingProducts(host, handle, conn.id, fresh as Stripe.Subscription, version);
      if (kind !== 'customers') {
        const cus = customerIdOf(fresh as { customer?: string | { id: string } | null });
        if (cus) customers.add(cus);
      } else customers.add(fresh.id);
    }
    if (kind !== 'customers') {
      const cus = customerIdOf(obj);
      if (cus) customers.add(cus);
    }
  }
  if (customers.size > 0) await recomputeCustomers(host, conn.id, [...customers]);

  const catalog = await loadCatalog(host, conn.id);
  const timeline = timelineEntryFor(event, { products: catalog.products });
  if (timeline?.customerId) {
    const contactId = await contactOf(host, conn.id, timeline.customerId);
    if (contactId) await host.timeline.record(contactId, timeline.entry);
  }
}
