/**
 * What a subscription costs per interval: the primary subscription and item of DESIGN.md §3.3, item amounts
 * (per-unit, tiered, metered) and the month factors used to normalise intervals. Amounts stay in minor units
 * (possibly fractional after normalising); conversion to major units happens once, at the end, in attributes.ts.
 */
import type Stripe from 'stripe';

/** §3.3's status order for the primary subscription; a status Stripe adds later ranks after all of these. */
export const SUBSCRIPTION_STATUS_ORDER = [
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'incomplete',
  'paused',
  'canceled',
  'incomplete_expired',
] as const;

/** Statuses in which Stripe no longer bills and never will again: used by the matching conflict rule. */
export const TERMINAL_SUBSCRIPTION_STATUSES: ReadonlySet<string> = new Set([
  'canceled',
  'incomplete_expired',
]);

function statusRank(status: string): number {
  const rank = (SUBSCRIPTION_STATUS_ORDER as readonly string[]).indexOf(status);
  return rank === -1 ? SUBSCRIPTION_STATUS_ORDER.length : rank;
}

/** Ties on status and `created` are broken by id so the choice never depends on the order Stripe listed them. */
export function comparePrimarySubscription(a: Stripe.Subscription, b: Stripe.Subscription): number {
  return (
    statusRank(a.status) - statusRank(b.status) ||
    b.created - a.created ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

export function pickPrimarySubscription(
  subscriptions: readonly Stripe.Subscription[],
): Stripe.Subscription | undefined {
  return [...subscriptions].sort(comparePrimarySubscription)[0];
}

/** Stripe's `Decimal` (unit_amount_decimal) prints as a decimal string; JSON snapshots carry a plain string. */
function decimalToNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(String(value));
  return Number.isFinite(n) ? n : null;
}

function unitAmountOf(source: { unit_amount: number | null; unit_amount_decimal: unknown }): number | null {
  return source.unit_amount ?? decimalToNumber(source.unit_amount_decimal);
}

/** Quantity as billed: `transform_quantity` divides (and rounds) before the unit price applies. */
function billedQuantity(item: Stripe.SubscriptionItem): number {
  const quantity = item.quantity ?? 1; // Stripe's default for licensed prices
  const transform = item.price.transform_quantity;
  if (!transform || transform.divide_by <= 0) return quantity;
  const divided = quantity / transform.divide_by;
  return transform.round === 'down' ? Math.floor(divided) : Math.ceil(divided);
}

function tieredAmount(price: Stripe.Price, quantity: number): number {
  const tiers = price.tiers ?? [];
  if (price.tiers_mode === 'volume') {
    const tier = tiers.find((t) => t.up_to === null || quantity <= t.up_to);
    if (!tier) return 0;
    return (
      (unitAmountOf(tier) ?? 0) * quantity +
      (tier.flat_amount ?? decimalToNumber(tier.flat_amount_decimal) ?? 0)
    );
  }
  // graduated: each tier prices the units that fall inside it; a tier's flat fee applies once any unit reaches it
  let amount = 0;
  let previousUpTo = 0;
  for (const tier of tiers) {
    const upTo = tier.up_to ?? Infinity;
    const units = Math.min(quantity, upTo) - previousUpTo;
    if (units <= 0) break;
    amount +=
      (unitAmountOf(tier) ?? 0) * units +
      (tier.flat_amount ?? decimalToNumber(tier.flat_amount_decimal) ?? 0);
    previousUpTo = upTo;
  }
  return amount;
}

/**
 * An item's amount per its own interval, in minor units, before discounts: §3.3's `unit_amount × quantity`.
 * Metered items bill usage nobody knows in advance, so they count as 0 (not as a guess). A tiered price is
 * computed from its tiers, which the sync engine puts into stored subscriptions (price-tiers.ts); without them it
 * is 0.
 */
export function itemAmount(item: Stripe.SubscriptionItem): number {
  const price = item.price;
  if (price.recurring?.usage_type === 'metered') return 0;
  const quantity = billedQuantity(item);
  if (price.billing_scheme === 'tiered') return tieredAmount(price, quantity);
  return (unitAmountOf(price) ?? 0) * quantity;
}

/**
 * The primary item: the largest `unit_amount × quantity`; ties go to the earliest-created item, then the smaller
 * id, so the plan shown does not flip when Stripe reorders items.
 */
export function pickPrimaryItem(subscription: Stripe.Subscription): Stripe.SubscriptionItem | undefined {
  return [...subscription.items.data].sort(
    (a, b) =>
      itemAmount(b) - itemAmount(a) ||
      (a.created ?? 0) - (b.created ?? 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )[0];
}

/**
 * Length of `interval × interval_count` in months, per §3.3: a year is 12 months, a week 12/52 of a month
 * (week × 52 ÷ 12), a day 12/365 (day × 365 ÷ 12). An unknown interval yields null (no normalisation possible).
 */
export function intervalMonths(recurring: Stripe.Price.Recurring | null | undefined): number | null {
  if (!recurring) return null;
  const count = recurring.interval_count > 0 ? recurring.interval_count : 1;
  switch (recurring.interval) {
    case 'month':
      return count;
    case 'year':
      return 12 * count;
    case 'week':
      return (12 / 52) * count;
    case 'day':
      return (12 / 365) * count;
    default:
      return null;
  }
}

/**
 * §3.3 `stripe_plan_price`: Σ `unit_amount × quantity` over the subscription's items, per the primary item's
 * interval, before discounts, in minor units. Stripe lets one subscription mix intervals; an item on another
 * interval is converted to the primary item's interval through the month factors (a 120/year add-on on a monthly
 * plan adds 10), so the price always reads "per `stripe_plan_interval`".
 */
export function planPricePerInterval(
  subscription: Stripe.Subscription,
  primary: Stripe.SubscriptionItem,
): number {
  const primaryMonths = intervalMonths(primary.price.recurring);
  let total = 0;
  for (const item of subscription.items.data) {
    const amount = itemAmount(item);
    const months = intervalMonths(item.price.recurring);
    total += primaryMonths && months ? (amount * primaryMonths) / months : amount;
  }
  return total;
}
