// stripe_mrr (§3.3): interval normalisation and the discounts that still apply. Expected values are computed
// here from the spec's formulas (year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12, ÷ interval_count; two decimals).
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { deriveAttributes } from './attributes.ts';
import { roundTo, toMajorUnits } from './currency.ts';
import { coupon, customer, discount, item, price, subscription } from './__fixtures__/stripe-objects.ts';

const NOW = 1795608000; // 2026-11-25
const PERIOD_START = 1794733200; // the builders' current_period_start
const DAY = 86400;

function mrr(
  items: Stripe.SubscriptionItem[],
  opts: {
    status?: Stripe.Subscription.Status;
    discounts?: (string | Stripe.Discount)[];
    customerDiscount?: Stripe.Discount;
    coupons?: Map<string, Stripe.Coupon>;
    discountMap?: Map<string, Stripe.Discount>;
  } = {},
) {
  const sub = subscription('sub_1', 'cus_1', opts.status ?? 'active', items, {
    discounts: opts.discounts ?? [],
  });
  return deriveAttributes({
    customer: customer('cus_1', { discount: opts.customerDiscount ?? null }),
    subscriptions: [sub],
    paymentMethods: [],
    charges: [],
    coupons: opts.coupons,
    discounts: opts.discountMap,
    now: NOW,
    accountId: 'acct_1',
    livemode: false,
  }).stripe_mrr;
}

const p = (
  amount: number,
  interval: Stripe.Price.Recurring.Interval = 'month',
  intervalCount = 1,
  product = 'prod_a',
) =>
  price(`price_${amount}_${interval}_${intervalCount}_${product}`, amount, {
    interval,
    intervalCount,
    product,
  });
const pro = () => item('si_pro', p(4900), 1);

describe('interval normalisation', () => {
  it.each([
    ['month', 1, 4900, 49],
    ['year', 1, 49000, 40.83], // 490 / 12 = 40.8333…
    ['week', 1, 1000, 43.33], // 10 × 52 / 12 = 43.333…
    ['day', 1, 100, 30.42], // 1 × 365 / 12 = 30.4166…
    ['month', 3, 9000, 30], // 90 / 3
    ['year', 2, 24000, 10], // 240 / 12 / 2
    ['week', 2, 1000, 21.67], // 10 × 52 / 12 / 2 = 21.666…
  ] as const)('%s × %i at %i cents is %d a month', (interval, count, amount, expected) => {
    expect(mrr([item('si', p(amount, interval, count), 1)])).toBe(expected);
  });

  it('sums the items, each with its quantity', () => {
    expect(mrr([pro(), item('si_seat', p(1000, 'month', 1, 'prod_seat'), 3)])).toBe(79);
  });

  it.each(['trialing', 'unpaid', 'incomplete', 'paused', 'canceled', 'incomplete_expired'] as const)(
    '%s is not recurring revenue: 0',
    (status) => {
      expect(mrr([pro()], { status })).toBe(0);
    },
  );

  it('past_due still counts', () => {
    expect(mrr([pro()], { status: 'past_due' })).toBe(49);
  });
});

describe('discounts', () => {
  const pct = (percent: number, extra: Partial<Stripe.Coupon> = {}) =>
    coupon(`pct${percent}`, { percent_off: percent, ...extra });
  const off = (amount: number, extra: Partial<Stripe.Coupon> = {}) =>
    coupon(`off${amount}`, { amount_off: amount, currency: 'usd', ...extra });

  it('percent_off forever', () => {
    expect(mrr([pro()], { discounts: [discount('di', pct(25), PERIOD_START - 100 * DAY, null)] })).toBe(
      36.75,
    ); // 49 × 0.75
  });

  it('amount_off forever on a monthly plan', () => {
    expect(mrr([pro()], { discounts: [discount('di', off(1000), PERIOD_START - DAY, null)] })).toBe(39);
  });

  it('amount_off on a yearly plan is per invoice, i.e. per year', () => {
    const yearly = item('si_y', p(49000, 'year'), 1);
    // (490 − 120) / 12 = 30.8333…
    expect(mrr([yearly], { discounts: [discount('di', off(12000), PERIOD_START - DAY, null)] })).toBe(30.83);
  });

  it('amount_off larger than the price floors at 0', () => {
    expect(mrr([pro()], { discounts: [discount('di', off(10000), PERIOD_START - DAY, null)] })).toBe(0);
  });

  it('amount_off in another currency does not apply unless currency_options has ours', () => {
    const eur = coupon('eur5', { amount_off: 500, currency: 'eur' });
    expect(mrr([pro()], { discounts: [discount('di', eur, PERIOD_START - DAY, null)] })).toBe(49);
    const withUsd = coupon('eur5', {
      amount_off: 500,
      currency: 'eur',
      currency_options: { usd: { amount_off: 600 } },
    });
    expect(mrr([pro()], { discounts: [discount('di', withUsd, PERIOD_START - DAY, null)] })).toBe(43);
  });

  it('repeating: applies until its end, not after', () => {
    const c = pct(50, { duration: 'repeating', duration_in_months: 3 });
    expect(mrr([pro()], { discounts: [discount('di', c, NOW - 30 * DAY, NOW + 60 * DAY)] })).toBe(24.5);
    expect(mrr([pro()], { discounts: [discount('di', c, NOW - 120 * DAY, NOW - DAY)] })).toBe(49);
    expect(mrr([pro()], { discounts: [discount('di', c, NOW - 120 * DAY, NOW)] })).toBe(49); // end is exclusive
  });

  it('repeating without an end field: start + duration_in_months decides', () => {
    const c = pct(50, { duration: 'repeating', duration_in_months: 3 });
    const start = Date.parse('2026-09-01T00:00:00Z') / 1000; // ends 2026-12-01, after NOW (2026-11-25)
    expect(mrr([pro()], { discounts: [discount('di', c, start, null)] })).toBe(24.5);
    const earlier = Date.parse('2026-08-01T00:00:00Z') / 1000; // ended 2026-11-01
    expect(mrr([pro()], { discounts: [discount('di', c, earlier, null)] })).toBe(49);
  });

  it('once: spent by the invoice that opened the current period', () => {
    const c = off(1000, { duration: 'once' });
    // attached with the subscription / before the period began: the period's invoice used it
    expect(mrr([pro()], { discounts: [discount('di', c, PERIOD_START, null)] })).toBe(49);
    expect(mrr([pro()], { discounts: [discount('di', c, PERIOD_START - 40 * DAY, null)] })).toBe(49);
  });

  it('once: attached during the current period, it still discounts the next invoice', () => {
    const c = off(1000, { duration: 'once' });
    expect(mrr([pro()], { discounts: [discount('di', c, PERIOD_START + DAY, null)] })).toBe(39);
  });

  it('a discount that starts in the future does not apply yet', () => {
    expect(mrr([pro()], { discounts: [discount('di', pct(50), NOW + DAY, null)] })).toBe(49);
  });

  it('several discounts apply in order: 20 % then 10 off', () => {
    const discounts = [
      discount('d1', pct(20), PERIOD_START, null),
      discount('d2', off(1000), PERIOD_START, null),
    ];
    expect(mrr([pro()], { discounts })).toBe(29.2); // 49 × 0.8 − 10
  });

  it('a coupon limited to some products only discounts those items', () => {
    const c = pct(50, { applies_to: { products: ['prod_seat'] } });
    const items = [pro(), item('si_seat', p(1000, 'month', 1, 'prod_seat'), 3)];
    expect(mrr(items, { discounts: [discount('di', c, PERIOD_START, null)] })).toBe(64); // 49 + 30 × 0.5
  });

  it('an amount_off covering several items is spread in proportion and still totals the coupon', () => {
    const items = [pro(), item('si_seat', p(1000, 'month', 1, 'prod_seat'), 3)];
    expect(mrr(items, { discounts: [discount('di', off(1500), PERIOD_START, null)] })).toBe(64); // 79 − 15
  });

  it('item-level discounts apply to their item before subscription discounts', () => {
    const seat = item('si_seat', p(1000, 'month', 1, 'prod_seat'), 3, {
      discounts: [discount('di_item', off(1000), PERIOD_START, null)],
    });
    // seats 30 − 10 = 20; then 50 % on everything: (49 + 20) × 0.5 = 34.5
    expect(mrr([pro(), seat], { discounts: [discount('di_sub', pct(50), PERIOD_START, null)] })).toBe(34.5);
  });

  it("the customer's discount applies only when the subscription has none of its own", () => {
    const customerDiscount = discount('di_cus', pct(10), PERIOD_START, null);
    expect(mrr([pro()], { customerDiscount })).toBe(44.1); // 49 × 0.9
    expect(
      mrr([pro()], { customerDiscount, discounts: [discount('di_own', pct(50), PERIOD_START, null)] }),
    ).toBe(24.5);
  });

  it('discounts and coupons given as ids are resolved through the lookup maps', () => {
    const c = pct(20);
    const d = discount('di_ref', 'pct20', PERIOD_START, null);
    expect(
      mrr([pro()], {
        discounts: ['di_ref'],
        discountMap: new Map([['di_ref', d]]),
        coupons: new Map([['pct20', c]]),
      }),
    ).toBe(39.2);
    // unresolved: counted without the discount
    expect(mrr([pro()], { discounts: ['di_ref'] })).toBe(49);
  });
});

describe('rounding', () => {
  it('rounds half away from zero on the decimal value, not its binary approximation', () => {
    expect(roundTo(1.005, 2)).toBe(1.01);
    expect(roundTo(-1.005, 2)).toBe(-1.01);
    expect(roundTo(40.833333, 2)).toBe(40.83);
    expect(roundTo(0.0000001, 2)).toBe(0);
  });

  it('major units use the currency exponent', () => {
    expect(toMajorUnits(4900, 'usd')).toBe(49);
    expect(toMajorUnits(4900, 'JPY')).toBe(4900);
    expect(toMajorUnits(5124, 'kwd')).toBe(5.124);
    expect(toMajorUnits(-1, 'eur')).toBe(-0.01);
    expect(toMajorUnits(500, 'isk')).toBe(5); // Stripe keeps two decimals for ISK in API amounts
  });
});
