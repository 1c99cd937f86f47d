/**
 * Discounts that still apply, and `stripe_mrr` (DESIGN.md §3.3): the primary subscription normalised to a month
 * after those discounts. Pure: the clock is an argument.
 */
import type Stripe from 'stripe';
import { intervalMonths, itemAmount } from './pricing.ts';

/** Lookups for references the Stripe objects may hold as bare ids (when the sync engine did not expand them). */
export interface DiscountLookups {
  discounts?: ReadonlyMap<string, Stripe.Discount>;
  coupons?: ReadonlyMap<string, Stripe.Coupon>;
}

/**
 * Statuses whose subscription is recurring revenue today. A trial has not paid yet; unpaid, incomplete and
 * paused subscriptions are not being collected; canceled ones have ended. Those count 0, the usual SaaS
 * convention (Stripe's own billing analytics and ChartMogul leave trials out of MRR as well).
 */
export const MRR_STATUSES: ReadonlySet<string> = new Set(['active', 'past_due']);

export function resolveDiscount(
  entry: string | Stripe.Discount,
  lookups: DiscountLookups,
): Stripe.Discount | undefined {
  return typeof entry === 'string' ? lookups.discounts?.get(entry) : entry;
}

export function resolveCoupon(
  discount: Stripe.Discount,
  lookups: DiscountLookups,
): Stripe.Coupon | undefined {
  const coupon = discount.source?.coupon;
  if (!coupon) return undefined;
  return typeof coupon === 'string' ? lookups.coupons?.get(coupon) : coupon;
}

/** `start` plus whole calendar months, in UTC (a repeating coupon's natural end when `end` is missing). */
function addMonthsUtc(unixSeconds: number, months: number): number {
  const d = new Date(unixSeconds * 1000);
  d.setUTCMonth(d.getUTCMonth() + months);
  return Math.floor(d.getTime() / 1000);
}

/**
 * Whether a discount still applies at `now`:
 * - not before its `start`;
 * - `end` set (Stripe sets it for `repeating` coupons): until `end`, exclusive;
 * - `repeating` without `end` (an incomplete snapshot): until `start + duration_in_months`;
 * - `forever`: always;
 * - `once`: it is spent by the first invoice issued after it was attached. Stripe removes it then, but a snapshot
 *   may still hold it, so it applies only when it was attached after the current period began
 *   (`start > current_period_start`): the next renewal invoice is then the one it discounts. Attached at or
 *   before the period start (e.g. with the subscription itself), the invoice opening the period already used it.
 * `coupon.valid` is not consulted: it tells whether the coupon can be redeemed again, not whether an existing
 * discount still runs.
 */
export function discountApplies(
  discount: Stripe.Discount,
  coupon: Stripe.Coupon,
  now: number,
  currentPeriodStart: number | undefined,
): boolean {
  if (discount.start > now) return false;
  if (discount.end !== null && discount.end !== undefined) return discount.end > now;
  switch (coupon.duration) {
    case 'forever':
      return true;
    case 'repeating':
      return (
        coupon.duration_in_months === null || addMonthsUtc(discount.start, coupon.duration_in_months) > now
      );
    case 'once':
      return currentPeriodStart !== undefined && discount.start > currentPeriodStart;
    default:
      return false;
  }
}

/** amount_off in the subscription's currency: the coupon's own currency, or its `currency_options` entry. */
function amountOffIn(coupon: Stripe.Coupon, currency: string): number | null {
  if (coupon.amount_off === null) return null;
  if (coupon.currency?.toLowerCase() === currency.toLowerCase()) return coupon.amount_off;
  return coupon.currency_options?.[currency.toLowerCase()]?.amount_off ?? null;
}

function productIdOf(item: Stripe.SubscriptionItem): string {
  const product = item.price.product;
  return typeof product === 'string' ? product : product.id;
}

interface Line {
  item: Stripe.SubscriptionItem;
  monthly: number;
}

/**
 * Applies one coupon to the lines it covers (`applies_to.products` limits it), in monthly minor units.
 * `amount_off` is per invoice, i.e. per billing interval, so it is normalised with `invoiceMonths`, then spread
 * over the covered lines in proportion to their amounts (Stripe prorates invoice-level amounts across lines the
 * same way); nothing goes below 0.
 */
function applyCoupon(lines: Line[], coupon: Stripe.Coupon, currency: string, invoiceMonths: number): void {
  const products = coupon.applies_to?.products;
  const covered =
    products && products.length > 0 ? lines.filter((l) => products.includes(productIdOf(l.item))) : lines;
  if (coupon.percent_off !== null) {
    for (const line of covered) line.monthly *= 1 - coupon.percent_off / 100;
    return;
  }
  const amountOff = amountOffIn(coupon, currency);
  if (amountOff === null) return;
  const total = covered.reduce((sum, l) => sum + l.monthly, 0);
  if (total <= 0) return;
  const reduction = Math.min(total, amountOff / invoiceMonths);
  for (const line of covered) line.monthly -= (reduction * line.monthly) / total;
}

export interface MrrContext extends DiscountLookups {
  now: number;
  /** Applies when the subscription has no discounts of its own (Stripe: an empty `discounts` inherits it). */
  customerDiscount?: Stripe.Discount | null;
  /** The primary item: its interval is the invoice cadence for `amount_off` and its period for `once`. */
  primaryItem: Stripe.SubscriptionItem;
}

/**
 * `stripe_mrr` in minor units (unrounded): each item normalised to a month (÷ months of its interval), item
 * discounts first, then the subscription's (Stripe applies item discounts before subscription discounts), each
 * list in order. 0 for a subscription that is not recurring revenue (see MRR_STATUSES).
 */
export function monthlyRecurringMinor(subscription: Stripe.Subscription, ctx: MrrContext): number {
  if (!MRR_STATUSES.has(subscription.status)) return 0;
  const currency = subscription.currency;
  const periodStart = ctx.primaryItem.current_period_start;
  const invoiceMonths = intervalMonths(ctx.primaryItem.price.recurring) ?? 1;
  const active = (entries: readonly (string | Stripe.Discount)[]): Stripe.Coupon[] =>
    entries.flatMap((entry) => {
      const discount = resolveDiscount(entry, ctx);
      const coupon = discount && resolveCoupon(discount, ctx);
      return discount && coupon && discountApplies(discount, coupon, ctx.now, periodStart) ? [coupon] : [];
    });

  const lines: Line[] = [];
  for (const item of subscription.items.data) {
    const months = intervalMonths(item.price.recurring);
    if (!months) continue; // not a recurring price: not part of a monthly figure
    const line: Line = { item, monthly: itemAmount(item) / months };
    for (const coupon of active(item.discounts ?? [])) applyCoupon([line], coupon, currency, months);
    lines.push(line);
  }
  const own = subscription.discounts ?? [];
  const inherited = own.length === 0 && ctx.customerDiscount ? [ctx.customerDiscount] : [];
  for (const coupon of active(own.length > 0 ? own : inherited))
    applyCoupon(lines, coupon, currency, invoiceMonths);
  return Math.max(
    0,
    lines.reduce((sum, l) => sum + l.monthly, 0),
  );
}
