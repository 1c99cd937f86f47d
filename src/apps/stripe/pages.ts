/**
 * Objects as the sync writes them: one page of a list type fetched from Stripe, a page written in one statement,
 * one object written with its indexes. Only fetched objects are written, at their fetch version (versions.ts), so
 * a stored newer version (from a later fetch) or a tombstone is kept.
 */
import type Stripe from 'stripe';
import type { AppHost, RecordCollection } from '../../app-sdk/index.ts';
import { customerIdOf } from './bundle.ts';
import { createdFilter, type RangeCursor } from './ranges.ts';
import { customerIndex, emailIndex, objectKey, stores, type BackfillType } from './store.ts';

export const PAGE_SIZE = 100;

export type Page = { data: ({ id: string; created: number } & Record<string, unknown>)[]; has_more: boolean };

export function listPage(type: BackfillType, stripe: Stripe, c: RangeCursor): Promise<Page> {
  const created = createdFilter(c);
  const base = {
    limit: PAGE_SIZE,
    ...(c.starting_after ? { starting_after: c.starting_after } : {}),
    ...(created ? { created } : {}),
  };
  // Default cards come expanded with their customer: one call per 100 customers, not one per customer.
  switch (type) {
    case 'customers':
      return stripe.customers.list({
        ...base,
        expand: ['data.invoice_settings.default_payment_method', 'data.default_source'],
      }) as unknown as Promise<Page>;
    case 'subscriptions':
      return stripe.subscriptions.list({
        ...base,
        status: 'all',
        expand: ['data.default_payment_method', 'data.discounts'],
      }) as unknown as Promise<Page>;
    case 'products':
      return stripe.products.list(base) as unknown as Promise<Page>;
    case 'coupons':
      return stripe.coupons.list(base) as unknown as Promise<Page>;
    case 'charges':
      return stripe.charges.list(base) as unknown as Promise<Page>;
  }
}

/** The collection a fetched type is stored in. */
function collectionOf(host: AppHost, type: BackfillType | 'payment_methods') {
  const s = stores(host);
  return {
    customers: s.customers,
    subscriptions: s.subscriptions,
    charges: s.charges,
    payment_methods: s.paymentMethods,
    products: s.products,
    coupons: s.coupons,
  }[type] as unknown as RecordCollection<unknown>;
}

/**
 * Writes one fetched object to its collection; a stored newer version (from a later fetch) or tombstone wins.
 * Returns whether it was written.
 */
export async function storeObject(
  host: AppHost,
  connectionId: string,
  type: BackfillType | 'payment_methods',
  obj: { id: string },
  version: number,
): Promise<boolean> {
  // Only objects fetched from Stripe are written, never event payloads, at their fetch version (versions.ts): a
  // fetch that started later always has the higher version.
  return collectionOf(host, type).put(objectKey(connectionId, obj.id), obj, {
    version,
    ...indexes(connectionId, type, obj),
  });
}

function indexes(connectionId: string, type: BackfillType | 'payment_methods', obj: { id: string }) {
  switch (type) {
    case 'customers':
      return {
        a: customerIndex(connectionId, obj.id),
        b: emailIndex(connectionId, (obj as Stripe.Customer).email),
      };
    case 'subscriptions':
    case 'charges':
    case 'payment_methods': {
      const cus = customerIdOf(obj as { customer?: string | { id: string } | null });
      return { a: cus ? customerIndex(connectionId, cus) : null };
    }
    default:
      return {};
  }
}

/** A page in one statement, at the fetch's version (a stored newer version, from a webhook, is kept). */
export async function storePage(
  host: AppHost,
  connectionId: string,
  type: BackfillType,
  page: Page,
  version: number,
) {
  const col = collectionOf(host, type);
  const seen = new Set<string>();
  const rows: { key: string; data: unknown; version: number; a?: string | null; b?: string | null }[] = [];
  for (const obj of page.data) {
    if (seen.has(obj.id)) continue;
    seen.add(obj.id);
    rows.push({
      key: objectKey(connectionId, obj.id),
      data: obj,
      version,
      ...indexes(connectionId, type, obj),
    });
  }
  // Every row accepted: what is stored is what we hold (no newer copy from a webhook, no tombstone).
  return (await col.putMany(rows)).length === rows.length;
}

/** Fetched objects of one type, each at its own fetch version, in one statement; answers the keys written. */
export async function storeObjects(
  host: AppHost,
  connectionId: string,
  type: BackfillType | 'payment_methods',
  fetched: readonly { obj: { id: string }; version: number }[],
): Promise<Set<string>> {
  if (fetched.length === 0) return new Set();
  const rows = fetched.map(({ obj, version }) => ({
    key: objectKey(connectionId, obj.id),
    data: obj,
    version,
    ...indexes(connectionId, type, obj),
  }));
  return new Set(await collectionOf(host, type).putMany(rows));
}
