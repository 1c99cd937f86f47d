/** The catalog objects an applied object needs and the store lacks (they were made after the backfill). */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { storeObject } from './pages.ts';
import { idOf, objectKey, stores } from './store.ts';

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
  const s = stores(host);
  const ids = new Set<string>();
  for (const d of discounts) {
    const coupon = d && typeof d === 'object' ? d.source?.coupon : null;
    if (typeof coupon === 'string') ids.add(coupon);
  }
  for (const couponId of ids) {
    if (await s.coupons.get(objectKey(connectionId, couponId))) continue;
    try {
      const coupon = await handle.call('coupons', (st) => st.coupons.retrieve(couponId));
      await storeObject(host, connectionId, 'coupons', coupon, version);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
