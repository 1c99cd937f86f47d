/**
 * Test builders for Stripe objects in the SDK's shapes (API 2026-10-28.endive). Each builder fills the fields the
 * code reads with neutral defaults and takes overrides; the cast is the one place tests bypass the full types.
 */
import type Stripe from 'stripe';
import agentEval from './agent-eval.json' with { type: 'json' };

export function product(id: string, name: string): Stripe.Product {
  return { id, object: 'product', name, active: true, created: 1735689600 } as Stripe.Product;
}

export function price(
  id: string,
  unitAmount: number | null,
  opts: {
    currency?: string;
    interval?: Stripe.Price.Recurring.Interval;
    intervalCount?: number;
    product?: string | Stripe.Product;
    usageType?: 'licensed' | 'metered';
    nickname?: string | null;
    extra?: Partial<Stripe.Price>;
  } = {},
): Stripe.Price {
  return {
    id,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: 1735689600,
    currency: opts.currency ?? 'usd',
    nickname: opts.nickname ?? null,
    product: opts.product ?? 'prod_x',
    recurring: {
      interval: opts.interval ?? 'month',
      interval_count: opts.intervalCount ?? 1,
      usage_type: opts.usageType ?? 'licensed',
      meter: null,
    },
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: unitAmount,
    unit_amount_decimal: null,
    ...opts.extra,
  } as unknown as Stripe.Price;
}

export function item(
  id: string,
  itemPrice: Stripe.Price,
  quantity: number | undefined,
  extra: Partial<Stripe.SubscriptionItem> = {},
): Stripe.SubscriptionItem {
  return {
    id,
    object: 'subscription_item',
    created: 1735689600,
    current_period_start: 1794733200,
    current_period_end: 1797325200,
    discounts: [],
    metadata: {},
    price: itemPrice,
    quantity,
    subscription: 'sub_x',
    ...extra,
  } as Stripe.SubscriptionItem;
}

export function subscription(
  id: string,
  customer: string,
  status: Stripe.Subscription.Status,
  items: Stripe.SubscriptionItem[],
  extra: Partial<Stripe.Subscription> = {},
): Stripe.Subscription {
  return {
    id,
    object: 'subscription',
    customer,
    status,
    currency: items[0]?.price.currency ?? 'usd',
    created: 1773565200,
    start_date: 1773565200,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    ended_at: null,
    trial_start: null,
    trial_end: null,
    default_payment_method: null,
    default_source: null,
    discounts: [],
    items: { object: 'list', data: items, has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    livemode: false,
    metadata: {},
    ...extra,
  } as Stripe.Subscription;
}

export function customer(id: string, extra: Partial<Stripe.Customer> = {}): Stripe.Customer {
  return {
    id,
    object: 'customer',
    balance: 0,
    created: 1773565200,
    currency: 'usd',
    default_source: null,
    delinquent: false,
    description: null,
    email: null,
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: {},
    shipping: null,
    ...extra,
  } as Stripe.Customer;
}

export function cardPaymentMethod(
  id: string,
  brand: string,
  expMonth: number,
  expYear: number,
): Stripe.PaymentMethod {
  return {
    id,
    object: 'payment_method',
    type: 'card',
    created: 1764547200,
    card: { brand, exp_month: expMonth, exp_year: expYear, last4: '4242', country: 'US', funding: 'credit' },
  } as unknown as Stripe.PaymentMethod;
}

export function sepaPaymentMethod(id: string): Stripe.PaymentMethod {
  return {
    id,
    object: 'payment_method',
    type: 'sepa_debit',
    created: 1764547200,
    sepa_debit: { last4: '3000' },
  } as unknown as Stripe.PaymentMethod;
}

/** A legacy Card source: brand spelt for display ("American Express"). */
export function legacyCard(id: string, brand: string, expMonth: number, expYear: number): Stripe.Card {
  return { id, object: 'card', brand, exp_month: expMonth, exp_year: expYear, last4: '0005' } as Stripe.Card;
}

export function charge(
  id: string,
  customerId: string,
  amount: number,
  created: number,
  extra: Partial<Stripe.Charge> = {},
): Stripe.Charge {
  return {
    id,
    object: 'charge',
    customer: customerId,
    amount,
    amount_captured: amount,
    amount_refunded: 0,
    captured: true,
    created,
    currency: 'usd',
    description: null,
    failure_code: null,
    failure_message: null,
    outcome: null,
    paid: true,
    refunded: false,
    status: 'succeeded',
    ...extra,
  } as Stripe.Charge;
}

export function coupon(id: string, extra: Partial<Stripe.Coupon>): Stripe.Coupon {
  return {
    id,
    object: 'coupon',
    amount_off: null,
    created: 1748736000,
    currency: null,
    duration: 'forever',
    duration_in_months: null,
    livemode: false,
    metadata: {},
    name: id,
    percent_off: null,
    redeem_by: null,
    times_redeemed: 1,
    valid: true,
    ...extra,
  } as Stripe.Coupon;
}

export function discount(
  id: string,
  couponRef: string | Stripe.Coupon,
  start: number,
  end: number | null,
  extra: Partial<Stripe.Discount> = {},
): Stripe.Discount {
  return {
    id,
    object: 'discount',
    start,
    end,
    source: { type: 'coupon', coupon: couponRef },
    checkout_session: null,
    customer: null,
    customer_account: null,
    invoice: null,
    invoice_item: null,
    promotion_code: null,
    subscription: null,
    subscription_item: null,
    ...extra,
  } as Stripe.Discount;
}

type Raw = Record<string, unknown> & { id: string; object: string };

/** The shared agent-eval snapshot, hydrated: item prices expanded, `discount.coupon` moved to `source.coupon`. */
export function agentEvalAccount() {
  const objects = agentEval.stripe_objects as unknown as Raw[];
  const of = (type: string) => objects.filter((o) => o.object === type);
  const prices = new Map(
    of('price').map((p) => [
      p.id,
      {
        ...p,
        billing_scheme: 'per_unit',
        tiers_mode: null,
        transform_quantity: null,
        unit_amount_decimal: null,
      } as unknown as Stripe.Price,
    ]),
  );
  const subscriptions = of('subscription').map((raw) => {
    const s = raw as unknown as {
      items: { data: (Raw & { price: string })[] };
      discounts: { coupon: string; start: number; end: number | null }[];
    };
    return {
      ...raw,
      default_payment_method: null,
      items: {
        object: 'list',
        has_more: false,
        url: '/v1/subscription_items',
        data: s.items.data.map((i) => ({
          ...i,
          created: 1735689600,
          discounts: [],
          price: prices.get(i.price),
        })),
      },
      discounts: s.discounts.map((d, n) => discount(`di_${raw.id}_${n}`, d.coupon, d.start, d.end)),
    } as unknown as Stripe.Subscription;
  });
  return {
    now: agentEval.now,
    customers: new Map(
      of('customer').map((c) => [
        c.id,
        { default_source: null, livemode: false, ...c } as unknown as Stripe.Customer,
      ]),
    ),
    subscriptions,
    paymentMethods: of('payment_method') as unknown as Stripe.PaymentMethod[],
    charges: of('charge') as unknown as Stripe.Charge[],
    products: new Map(of('product').map((p) => [p.id, p as unknown as Stripe.Product])),
    coupons: new Map(
      of('coupon').map((c) => [c.id, { duration_in_months: null, ...c } as unknown as Stripe.Coupon]),
    ),
  };
}
