// Subscription items from request parameters, item changes, and the prorations a change creates.
import type Stripe from 'stripe';
import type { PendingProration } from '../account.ts';
import { invalid, missingParam } from '../errors.ts';
import { bool, int, objArr, str, type Params } from '../params.ts';
import type { Ctx } from '../router.ts';
import { lineDescription, nextPeriodEnd } from './billing.ts';
import { getPrice, planOf, redeemableCoupon } from './catalog.ts';
import { buildEnv } from './customers.ts';
import { buildSubscriptionItem } from './subscription-builders.ts';

export interface ItemRequest {
  price: Stripe.Price;
  quantity: number;
}

export function itemRequests(ctx: Ctx, items: Params[] | undefined, param = 'items'): ItemRequest[] {
  if (!items || items.length === 0) throw missingParam(param);
  const out = items.map((it, i) => {
    const priceId = str(it, 'price');
    if (!priceId) throw missingParam(`${param}[${i}][price]`);
    const price = getPrice(ctx, priceId, `${param}[${i}][price]`);
    if (!price.recurring) {
      throw invalid(
        `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`,
        `${param}[${i}][price]`,
      );
    }
    if (!price.active)
      throw invalid(
        `The price specified is inactive. This field only accepts active prices.`,
        `${param}[${i}][price]`,
      );
    const quantity = int(it, 'quantity') ?? 1;
    if (quantity < 0)
      throw invalid('Invalid integer: quantity must be at least 0', `${param}[${i}][quantity]`);
    return { price, quantity };
  });
  checkCompatible(
    out.map((x) => x.price),
    param,
  );
  return out;
}

export function checkCompatible(prices: Stripe.Price[], param: string): void {
  const [first, ...rest] = prices;
  if (!first) return;
  for (const p of rest) {
    if (p.currency !== first.currency) {
      throw invalid('Currency of all prices must match.', param);
    }
    if (
      p.recurring?.interval !== first.recurring?.interval ||
      p.recurring?.interval_count !== first.recurring?.interval_count
    ) {
      throw invalid('Currently only one billing interval is supported per subscription.', param);
    }
  }
}

export function discountsFromParams(ctx: Ctx, p: Params): Stripe.Coupon[] {
  const list = objArr(p, 'discounts') ?? [];
  const coupons = list.map((d, i) => {
    const id = str(d, 'coupon');
    if (!id) throw invalid('Only coupon discounts are emulated.', `discounts[${i}][coupon]`);
    return redeemableCoupon(ctx, id, `discounts[${i}][coupon]`);
  });
  const legacy = str(p, 'coupon');
  if (legacy) coupons.push(redeemableCoupon(ctx, legacy, 'coupon'));
  return coupons;
}

/** Unused time on the old items is credited, remaining time on the new charged, by seconds of the period. */
export function prorate(
  ctx: Ctx,
  sub: Stripe.Subscription,
  oldItems: Stripe.SubscriptionItem[],
  newItems: Stripe.SubscriptionItem[],
  at: number,
): PendingProration[] {
  const out: PendingProration[] = [];
  const byId = new Map(newItems.map((i) => [i.id, i]));
  const oldById = new Map(oldItems.map((i) => [i.id, i]));
  const add = (item: Stripe.SubscriptionItem, sign: 1 | -1): void => {
    const period = item.current_period_end - item.current_period_start;
    const seconds = Math.max(0, item.current_period_end - at);
    if (period <= 0 || seconds <= 0) return;
    const name = lineDescription(ctx, item.price, item.quantity ?? 1)
      .replace(/^\d+ × /, '')
      .replace(/ \(.*$/, '');
    out.push({
      price: item.price,
      quantity: item.quantity ?? 1,
      seconds,
      periodSeconds: period,
      sign,
      description:
        sign < 0
          ? `Unused time on ${item.quantity ?? 1} × ${name} after ${new Date(at * 1000).toUTCString().slice(5, 16)}`
          : `Remaining time on ${item.quantity ?? 1} × ${name} after ${new Date(at * 1000).toUTCString().slice(5, 16)}`,
      period: { start: at, end: item.current_period_end },
      subscriptionItem: item.id,
    });
  };
  for (const old of oldItems) {
    const now = byId.get(old.id);
    if (!now || now.price.id !== old.price.id || now.quantity !== old.quantity) add(old, -1);
  }
  for (const item of newItems) {
    const was = oldById.get(item.id);
    if (!was || was.price.id !== item.price.id || was.quantity !== item.quantity) add(item, 1);
  }
  void sub;
  return out;
}

export interface ItemChange {
  id?: string;
  price?: Stripe.Price;
  quantity?: number;
  deleted?: boolean;
}

export function parseItemChanges(ctx: Ctx, list: Params[] | undefined, param: string): ItemChange[] {
  return (list ?? []).map((it, i) => {
    const priceId = str(it, 'price');
    return {
      id: str(it, 'id'),
      price: priceId ? getPrice(ctx, priceId, `${param}[${i}][price]`) : undefined,
      quantity: int(it, 'quantity'),
      deleted: bool(it, 'deleted') ?? false,
    };
  });
}

/** The items a subscription would have after `changes` (new items start now, with the current period). */
export function applyItemChanges(
  ctx: Ctx,
  sub: Stripe.Subscription,
  changes: ItemChange[],
): Stripe.SubscriptionItem[] {
  const env = buildEnv(ctx);
  let items = [...sub.items.data];
  const ref = items[0];
  for (const [i, ch] of changes.entries()) {
    if (ch.id) {
      const idx = items.findIndex((x) => x.id === ch.id);
      const cur = items[idx];
      if (!cur) throw invalid(`Invalid subscription_item id: ${ch.id}`, `items[${i}][id]`);
      if (ch.deleted) {
        items = items.filter((x) => x.id !== ch.id);
        continue;
      }
      const price = ch.price ?? cur.price;
      items[idx] = { ...cur, price, plan: planOf(price), quantity: ch.quantity ?? cur.quantity };
    } else if (ch.price) {
      items.push(
        buildSubscriptionItem(env, ch.price, {
          quantity: ch.quantity ?? 1,
          subscription: sub.id,
          current_period_start: ref?.current_period_start ?? ctx.now,
          current_period_end: ref?.current_period_end ?? nextPeriodEnd(ctx.now, ch.price.recurring),
        }),
      );
    } else {
      throw missingParam(`items[${i}][price]`);
    }
  }
  if (items.length === 0) throw invalid('A subscription must have at least one active plan.', 'items');
  checkCompatible(
    items.map((x) => x.price),
    'items',
  );
  return items;
}
