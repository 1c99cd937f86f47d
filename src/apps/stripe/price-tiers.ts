/**
 * The tiers of tiered prices (`billing_scheme: 'tiered'`), put into the subscriptions Settle stores.
 *
 * Stripe returns a price's `tiers` only when expanded, and a subscription list cannot expand them:
 * `data.items.data.price.tiers` is five levels deep, one more than Stripe allows. Without tiers a tiered item
 * counts 0 in `stripe_plan_price` and `stripe_mrr` (pricing.ts) and can lose the primary item to a cheaper one.
 * So each tiered price is fetched once with `expand[]=tiers` and kept in the `prices` collection (a price's tiers
 * cannot change once it exists), and every subscription is stored as if its items' prices had been expanded
 * with their tiers. An account without tiered prices makes no request and no read here.
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { objectKey, stores } from './store.ts';

const lacksTiers = (price: Stripe.Price | null | undefined): price is Stripe.Price =>
  !!price && price.billing_scheme === 'tiered' && !Array.isArray(price.tiers);

/**
 * The subscriptions with every tiered price's `tiers` filled in (fetched and kept when not kept yet). A price
 * Stripe no longer has stays as it was. Subscriptions with nothing to fill are returned as they are.
 */
export async function withPriceTiers<T extends Stripe.Subscription>(
  host: AppHost,
  handle: StripeHandle,
  connectionId: string,
  subscriptions: readonly T[],
  version: number,
): Promise<T[]> {
  const wanted = new Set<string>();
  for (const sub of subscriptions)
    for (const item of sub.items?.data ?? []) if (lacksTiers(item.price)) wanted.add(item.price.id);
  if (wanted.size === 0) return [...subscriptions];

  const prices = stores(host).prices;
  const tiers = new Map<string, Stripe.Price.Tier[]>();
  const kept = await prices.getMany([...wanted].map((id) => objectKey(connectionId, id)));
  for (const r of kept) if (!r.deleted && Array.isArray(r.data.tiers)) tiers.set(r.data.id, r.data.tiers);
  for (const id of wanted) {
    if (tiers.has(id)) continue;
    try {
      const price = await handle.call('prices', (st) => st.prices.retrieve(id, { expand: ['tiers'] }));
      if (!Array.isArray(price.tiers)) continue;
      await prices.put(objectKey(connectionId, id), price, { version });
      tiers.set(id, price.tiers);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  return subscriptions.map((sub) => {
    if (!sub.items?.data.some((i) => lacksTiers(i.price) && tiers.has(i.price.id))) return sub;
    const data = sub.items.data.map((item) => {
      const found = lacksTiers(item.price) ? tiers.get(item.price.id) : undefined;
      return found ? { ...item, price: { ...item.price, tiers: found } } : item;
    });
    return { ...sub, items: { ...sub.items, data } };
  });
}
