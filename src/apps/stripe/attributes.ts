/**
 * The `stripe_*` contact attributes of DESIGN.md §3.3: their specs (for the manifest) and `deriveAttributes`, a
 * pure function from one Stripe customer's objects to attribute values. docs/stripe-app.md states every rule.
 */
import type Stripe from 'stripe';
import type { AttributeSpec } from '../../app-sdk/index.ts';
import { cardExpiresAt, defaultPaymentUnresolved, pickDefaultCard } from './cards.ts';
import { roundTo, currencyExponent, toMajorUnits } from './currency.ts';
import { monthlyRecurringMinor, resolveCoupon, resolveDiscount } from './discounts.ts';
import { pickPrimaryItem, pickPrimarySubscription, planPricePerInterval } from './pricing.ts';

/** Intercom's Stripe attributes first (same names and meaning), then Settle's extras. */
export const stripeAttributes = [
  { name: 'stripe_id', type: 'string', label: 'Stripe customer ID' },
  { name: 'stripe_account_balance', type: 'number', label: 'Stripe account balance' },
  { name: 'stripe_delinquent', type: 'boolean', label: 'Stripe delinquent' },
  { name: 'stripe_plan', type: 'string', label: 'Stripe plan' },
  { name: 'stripe_plan_interval', type: 'string', label: 'Stripe plan interval' },
  { name: 'stripe_plan_interval_count', type: 'number', label: 'Stripe plan interval count' },
  { name: 'stripe_plan_price', type: 'number', label: 'Stripe plan price' },
  { name: 'stripe_subscription_period_start_at', type: 'date', label: 'Stripe subscription period start' },
  { name: 'stripe_subscription_status', type: 'string', label: 'Stripe subscription status' },
  { name: 'stripe_card_expires_at', type: 'date', label: 'Stripe card expires at' },
  { name: 'stripe_card_brand', type: 'string', label: 'Stripe card brand' },
  { name: 'stripe_currency', type: 'string', label: 'Stripe currency' },
  { name: 'stripe_mrr', type: 'number', label: 'Stripe MRR' },
  { name: 'stripe_trial_end_at', type: 'date', label: 'Stripe trial end' },
  { name: 'stripe_cancel_at_period_end', type: 'boolean', label: 'Stripe cancels at period end' },
  { name: 'stripe_last_payment_at', type: 'date', label: 'Stripe last payment at' },
  { name: 'stripe_last_payment_status', type: 'string', label: 'Stripe last payment status' },
  { name: 'stripe_total_spend', type: 'number', label: 'Stripe total spend' },
  { name: 'stripe_customer_created_at', type: 'date', label: 'Stripe customer created at' },
  { name: 'stripe_account', type: 'string', label: 'Stripe account' },
  { name: 'stripe_livemode', type: 'boolean', label: 'Stripe live mode' },
] as const satisfies readonly AttributeSpec[];

export type StripeAttributeName = (typeof stripeAttributes)[number]['name'];
/** `null` means "absent": the sync engine passes it to `setAttributes`, which removes a stale value. */
export type StripeAttributeValues = Record<StripeAttributeName, string | number | boolean | null>;

export interface DeriveInput {
  customer: Stripe.Customer;
  /** All of the customer's subscriptions (`status=all`); others' are ignored. */
  subscriptions: readonly Stripe.Subscription[];
  /** The customer's payment methods, to resolve default references held as ids. */
  paymentMethods: readonly Stripe.PaymentMethod[];
  /** Legacy sources (cards `card_…`), when `default_source` is an id not expanded. */
  sources?: readonly Stripe.CustomerSource[];
  /** The customer's charges (all of them: total spend sums them); others' are ignored. */
  charges: readonly Stripe.Charge[];
  /** Products by id, when `price.product` is an id rather than an expanded Product. */
  products?: ReadonlyMap<string, Stripe.Product>;
  /** Coupons by id, when a discount's `source.coupon` is an id. */
  coupons?: ReadonlyMap<string, Stripe.Coupon>;
  /** Discounts by id, when `subscription.discounts` holds ids. */
  discounts?: ReadonlyMap<string, Stripe.Discount>;
  /** Unix seconds: the clock for discounts that end. */
  now: number;
  accountId: string;
  livemode: boolean;
}

function idOf(ref: string | { id: string } | null | undefined): string | undefined {
  return typeof ref === 'string' ? ref : ref?.id;
}

function productName(
  price: Stripe.Price,
  products: ReadonlyMap<string, Stripe.Product> | undefined,
): string | null {
  const product = typeof price.product === 'string' ? products?.get(price.product) : price.product;
  // A deleted product keeps no name; the price's nickname is the next best label Stripe offers.
  if (product && !product.deleted) return product.name;
  return price.nickname ?? null;
}

/** Newest first; ties on `created` (one-second resolution) go to the greater id, so the choice is stable. */
function newestCharge(charges: readonly Stripe.Charge[]): Stripe.Charge | undefined {
  return [...charges].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))[0];
}

/** A fully refunded charge reads "refunded": the card and timeline show it that way, and a segment can use it. */
function paymentStatus(charge: Stripe.Charge): string {
  return charge.refunded ? 'refunded' : charge.status;
}

/**
 * Money actually kept: succeeded and captured charges, minus `amount_refunded` (which also holds the released part
 * of a partial capture). Only charges in `currency` count: amounts in different currencies do not add up.
 */
function totalSpendMinor(charges: readonly Stripe.Charge[], currency: string): number {
  let total = 0;
  for (const c of charges) {
    if (c.status !== 'succeeded' || c.captured === false) continue;
    if (c.currency.toLowerCase() !== currency) continue;
    total += Math.max(0, c.amount - (c.amount_refunded ?? 0));
  }
  return total;
}

export function deriveAttributes(input: DeriveInput): StripeAttributeValues {
  const { customer } = input;
  const subscriptions = input.subscriptions.filter((s) => idOf(s.customer) === customer.id);
  const charges = input.charges.filter((c) => idOf(c.customer) === customer.id);

  const subscription = pickPrimarySubscription(subscriptions);
  const item = subscription && pickPrimaryItem(subscription);
  const lastCharge = newestCharge(charges);
  const card = pickDefaultCard({ ...input, primarySubscription: subscription });

  // One currency for every amount: the customer's own (its balance is kept in it), else the primary
  // subscription's, else the newest charge's.
  const currency =
    (customer.currency ?? subscription?.currency ?? lastCharge?.currency ?? null)?.toLowerCase() ?? null;
  const subCurrency = subscription?.currency.toLowerCase() ?? currency ?? 'usd';

  let mrr = 0;
  if (subscription && item) {
    const minor = monthlyRecurringMinor(subscription, {
      now: input.now,
      primaryItem: item,
      customerDiscount: customer.discount ?? null,
      coupons: input.coupons,
      discounts: input.discounts,
    });
    mrr = roundTo(minor / 10 ** currencyExponent(subCurrency), 2);
  }

  return {
    stripe_id: customer.id,
    stripe_account_balance: toMajorUnits(customer.balance ?? 0, customer.currency ?? currency ?? 'usd'),
    stripe_delinquent: customer.delinquent ?? null,
    stripe_plan: item ? productName(item.price, input.products) : null,
    stripe_plan_interval: item?.price.recurring?.interval ?? null,
    stripe_plan_interval_count: item?.price.recurring?.interval_count ?? null,
    stripe_plan_price:
      subscription && item ? toMajorUnits(planPricePerInterval(subscription, item), subCurrency) : null,
    stripe_subscription_period_start_at: item?.current_period_start ?? null,
    stripe_subscription_status: subscription?.status ?? null,
    stripe_card_expires_at: card ? cardExpiresAt(card.expMonth, card.expYear) : null,
    stripe_card_brand: card?.brand ?? null,
    stripe_currency: currency,
    stripe_mrr: mrr,
    stripe_trial_end_at: subscription?.trial_end ?? null,
    stripe_cancel_at_period_end: subscription?.cancel_at_period_end ?? null,
    stripe_last_payment_at: lastCharge?.created ?? null,
    stripe_last_payment_status: lastCharge ? paymentStatus(lastCharge) : null,
    stripe_total_spend: currency ? toMajorUnits(totalSpendMinor(charges, currency), currency) : 0,
    stripe_customer_created_at: customer.created,
    stripe_account: input.accountId,
    stripe_livemode: input.livemode,
  };
}

export interface UnresolvedReferences {
  products: string[];
  discounts: string[];
  coupons: string[];
  paymentMethods: string[];
}

/**
 * Ids `deriveAttributes` needed but could not resolve from the input (neither expanded nor in the lookup maps).
 * The sync engine fetches them and derives again, instead of writing a plan name or MRR computed without them.
 */
export function unresolvedReferences(input: DeriveInput): UnresolvedReferences {
  const out: UnresolvedReferences = { products: [], discounts: [], coupons: [], paymentMethods: [] };
  const subscription = pickPrimarySubscription(
    input.subscriptions.filter((s) => idOf(s.customer) === input.customer.id),
  );
  if (subscription) {
    const entries: (string | Stripe.Discount)[] = [...(subscription.discounts ?? [])];
    if (input.customer.discount) entries.push(input.customer.discount);
    for (const item of subscription.items.data) {
      const product = item.price.product;
      if (typeof product === 'string' && !input.products?.has(product)) out.products.push(product);
      entries.push(...(item.discounts ?? []));
    }
    for (const entry of entries) {
      const discount = resolveDiscount(entry, input);
      if (!discount) {
        if (typeof entry === 'string') out.discounts.push(entry);
        continue;
      }
      const coupon = discount.source?.coupon;
      if (typeof coupon === 'string' && !resolveCoupon(discount, input)) out.coupons.push(coupon);
    }
  }
  const pm = defaultPaymentUnresolved({ ...input, primarySubscription: subscription });
  if (pm) out.paymentMethods.push(pm);
  return {
    products: [...new Set(out.products)],
    discounts: [...new Set(out.discounts)],
    coupons: [...new Set(out.coupons)],
    paymentMethods: out.paymentMethods,
  };
}
