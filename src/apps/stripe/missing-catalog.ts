/** The catalog objects an applied object needs and the store lacks (they were made after the backfill). */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { storeObject } from './pages.ts';
import { idOf, objectKey, stores } from './store.ts';

/** Fetches and stores each id of a catalog type that the store lacks; one Stripe no longer has is skipped. */
async function fetchMissing(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  type: 'products' | 'coupons',
  ids: Iterable<string>,
  version: number,
) {
  const collection = stores(host)[type];
  for (const id of new Set(ids)) {
    if (await collection.get(objectKey(connectionId, id))) continue;
    try {
      const obj = await handle.call<{ id: string }>(type, (st) =>
        type === 'products' ? st.products.retrieve(id) : st.coupons.retrieve(id),
      );
      await storeObject(host, connectionId, type, obj, version);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/**
 * Products and coupons a refetched subscription names but the store lacks: made after the backfill listed the
 * catalog, they would leave the plan name or the MRR's discounts unresolved.
 */
export async function fetchMissingCatalog(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  sub: Stripe.Subscription,
  version: number,
) {
  const products = sub.items.data.map((item) => idOf(item.price.product as string | { id: string }));
  const present = products.filter((id): id is string => id !== null);
  await fetchMissing(host, handle, connectionId, 'products', present, version);
  const discounts = [...(sub.discounts ?? []), ...sub.items.data.flatMap((i) => i.discounts ?? [])];
  await fetchMissingCoupons(host, handle, connectionId, discounts, version);
}

/** Coupons of expanded discounts (a discount held as an id names no coupon here) that the store lacks. */
export async function fetchMissingCoupons(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  discounts: readonly (string | Stripe.Discount | null | undefined)[],
  version: number,
) {
  const ids = discounts.map((d) => (d && typeof d === 'object' ? d.source?.coupon : null));
  const named = ids.filter((c): c is string => typeof c === 'string');
  await fetchMissing(host, handle, connectionId, 'coupons', named, version);
}
