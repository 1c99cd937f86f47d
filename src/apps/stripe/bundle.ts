/**
 * A customer as the store holds it (its subscriptions, charges and payment methods) and the attributes derived
 * from it (§3.3): what recompute.ts writes, and what the card and views show.
 */
import type Stripe from 'stripe';
import type { AppHost, RecordProbe, StoredRecord } from '../../app-sdk/index.ts';
import { deriveAttributes, unresolvedReferences, type StripeAttributeValues } from './attributes.ts';
import {
  customerIndex,
  idOf,
  listForConnection,
  objectKey,
  stores,
  type Connection,
  type Stores,
} from './store.ts';

export interface Catalog {
  products: Map<string, Stripe.Product>;
  coupons: Map<string, Stripe.Coupon>;
}

export async function loadCatalog(
  host: AppHost,
  connectionId: string,
  s: Pick<Stores, 'products' | 'coupons'> = stores(host),
): Promise<Catalog> {
  const products = await listForConnection(s.products, connectionId);
  const coupons = await listForConnection(s.coupons, connectionId);
  return {
    products: new Map(products.map((r) => [r.data.id, r.data])),
    coupons: new Map(coupons.map((r) => [r.data.id, r.data])),
  };
}

export interface CustomerBundle {
  customer: Stripe.Customer;
  subscriptions: Stripe.Subscription[];
  charges: Stripe.Charge[];
  paymentMethods: Stripe.PaymentMethod[];
}

/** The reads of a customer's three lists, for `loadBundle` or for a caller that reads them with other things. */
export function bundleProbes(
  s: Pick<Stores, 'subscriptions' | 'charges' | 'paymentMethods'>,
  connectionId: string,
  customerId: string,
): RecordProbe[] {
  const value = customerIndex(connectionId, customerId);
  return [
    { collection: s.subscriptions.name, index: 'a', value, limit: 1000 },
    { collection: s.charges.name, index: 'a', value, limit: 10_000 },
    { collection: s.paymentMethods.name, index: 'a', value, limit: 1000 },
  ];
}

/**
 * A customer with its subscriptions, charges and payment methods. `readAll` (`host.readRecords`, or a read log's)
 * reads the three lists in one statement.
 */
export async function loadBundle(
  s: Stores,
  connectionId: string,
  customerId: string,
  known: Stripe.Customer | undefined,
  readAll: (probes: readonly RecordProbe[]) => Promise<StoredRecord<unknown>[][]>,
) {
  const rec = known
    ? { data: known, deleted: false }
    : await s.customers.get(objectKey(connectionId, customerId));
  if (!rec || rec.deleted) return undefined;
  const [subs = [], charges = [], pms = []] = await readAll(bundleProbes(s, connectionId, customerId));
  return {
    customer: rec.data,
    subscriptions: subs.map((r) => r.data as Stripe.Subscription),
    charges: charges.map((r) => r.data as Stripe.Charge),
    paymentMethods: pms.map((r) => r.data as Stripe.PaymentMethod),
  } satisfies CustomerBundle;
}

function deriveInput(bundle: CustomerBundle, catalog: Catalog, conn: Connection) {
  // Expanded payment methods on the customer and its subscriptions resolve default references held as ids.
  const expanded = [
    bundle.customer.invoice_settings?.default_payment_method,
    ...bundle.subscriptions.map((s) => s.default_payment_method),
  ].filter((pm): pm is Stripe.PaymentMethod => typeof pm === 'object' && pm !== null);
  return {
    customer: bundle.customer,
    subscriptions: bundle.subscriptions,
    paymentMethods: [...bundle.paymentMethods, ...expanded],
    charges: bundle.charges,
    products: catalog.products,
    coupons: catalog.coupons,
    now: Math.floor(Date.now() / 1000),
    accountId: conn.account_id,
    livemode: conn.livemode,
  };
}

export function attributesFor(
  bundle: CustomerBundle,
  catalog: Catalog,
  conn: Connection,
): StripeAttributeValues {
  return deriveAttributes(deriveInput(bundle, catalog, conn));
}

/** Only the products and coupons these customers' attributes name: one read each instead of two whole lists. */
export async function catalogFor(
  s: Pick<Stores, 'products' | 'coupons'>,
  conn: Connection,
  bundles: Iterable<CustomerBundle>,
): Promise<Catalog> {
  const catalog: Catalog = { products: new Map(), coupons: new Map() };
  for (const bundle of bundles) {
    const refs = unresolvedReferences(deriveInput(bundle, catalog, conn));
    for (const id of refs.products) {
      const r = await s.products.get(objectKey(conn.id, id));
      if (r && !r.deleted) catalog.products.set(id, r.data);
    }
    for (const id of refs.coupons) {
      const r = await s.coupons.get(objectKey(conn.id, id));
      if (r && !r.deleted) catalog.coupons.set(id, r.data);
    }
  }
  return catalog;
}

export const customerIdOf = (obj: { customer?: string | { id: string } | null }) =>
  idOf(obj.customer ?? null);
