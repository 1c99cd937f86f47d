/**
 * The Stripe app's own documents, kept in the platform's record store (`host.records`). Every Stripe object is keyed
 * `${connectionId}:${objectId}` so two connected accounts never collide, and indexed so one customer's objects are
 * one lookup away: `a` = `${connectionId}:${customerId}`; customers also carry `b` = `${connectionId}:${email}`.
 */
import type Stripe from 'stripe';
import type { AppHost, StoredRecord } from '../../app-sdk/index.ts';
import { normaliseEmail } from './matching.ts';

export interface SyncState {
  /** Bumped by every `sync`: cursors of an older run count as not started. */
  run: number;
  /**
   * `error`: the run stopped and its job will retry; `failed`: it stopped on its last attempt (a new `sync` is
   * needed); `paused`: `sync_enabled` is off (turning it on resumes the run from its cursors).
   */
  state: 'pending' | 'running' | 'done' | 'error' | 'failed' | 'paused';
  started_at: number | null;
  finished_at: number | null;
  last_error: string | null;
  /** The backfill phase being listed (`products+coupons`, `customers+subscriptions`, `charges`). */
  phase?: string | null;
  /** Per phase: when it started and ended (ms), across restarts of one run (the first start is kept). */
  phase_times?: Record<string, [number, number | null]>;
}

export interface Connection {
  id: string;
  account_id: string;
  account_name: string | null;
  livemode: boolean;
  primary: boolean;
  api_base: string | null;
  /** Stripe's `we_…` id, deleted in Stripe on disconnect and uninstall. */
  stripe_endpoint_id: string | null;
  /** The platform's webhook endpoint id (the `:endpoint` of the URL Stripe posts to). */
  settle_endpoint_id: string;
  created_at: number;
  sync: SyncState;
}

export const BACKFILL_TYPES = ['products', 'coupons', 'customers', 'subscriptions', 'charges'] as const;
export type BackfillType = (typeof BACKFILL_TYPES)[number];

export interface Cursor {
  run: number;
  starting_after: string | null;
  pages: number;
  count: number;
  done: boolean;
}

/** A customer's link to a contact. `manual` links (a teammate's) are the only ones matching treats as explicit. */
export interface Link {
  connection_id: string;
  customer_id: string;
  contact_id: string;
  method: 'link' | 'user_id' | 'email' | 'created' | 'manual';
  linked_at: number;
}

export const objectKey = (connectionId: string, id: string) => `${connectionId}:${id}`;
export const customerIndex = (connectionId: string, customerId: string) => `${connectionId}:${customerId}`;
export const emailIndex = (connectionId: string, email: string | null | undefined) => {
  const n = normaliseEmail(email);
  return n === null ? null : `${connectionId}:${n}`;
};

export const idOf = (ref: string | { id: string } | null | undefined): string | null =>
  (typeof ref === 'string' ? ref : ref?.id) ?? null;

export function stores(host: AppHost) {
  return {
    connections: host.records<Connection>('connections'),
    cursors: host.records<Cursor>('cursors'),
    customers: host.records<Stripe.Customer>('customers'),
    subscriptions: host.records<Stripe.Subscription>('subscriptions'),
    charges: host.records<Stripe.Charge>('charges'),
    products: host.records<Stripe.Product>('products'),
    coupons: host.records<Stripe.Coupon>('coupons'),
    /** Tiered prices with their tiers (price-tiers.ts); other prices live inside their subscriptions. */
    prices: host.records<Stripe.Price>('prices'),
    paymentMethods: host.records<Stripe.PaymentMethod>('payment_methods'),
    links: host.records<Link>('links'),
  };
}
export type Stores = ReturnType<typeof stores>;

/**
 * Every live record of one connection. Keys start with `${connectionId}:`, but the whole collection is walked:
 * the database's collation decides key order, so a range starting at the prefix could skip keys.
 */
export async function listForConnection<T>(
  collection: { list(opts: { after?: string; limit?: number }): Promise<StoredRecord<T>[]> },
  connectionId: string,
): Promise<StoredRecord<T>[]> {
  const prefix = `${connectionId}:`;
  const out: StoredRecord<T>[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await collection.list({ after, limit: 500 });
    for (const r of page) if (r.key.startsWith(prefix) && !r.deleted) out.push(r);
    const last = page.at(-1);
    if (!last || page.length < 500) return out;
    after = last.key;
  }
}

/** Where the object belongs: which collection and which customer (for the `a` index). */
export function customerOf(obj: { customer?: string | { id: string } | null }): string | null {
  return idOf(obj.customer ?? null);
}
