// The one place amounts are computed: invoice previews, subscription invoices (first, renewal, proration) and
// Checkout all call `priceInvoice`.
//
// Rounding rule (see docs/emulator.md): every amount is an integer in the currency's smallest unit. A fraction
// — a prorated line, a percentage discount — is rounded to the nearest unit, halves away from zero, once per
// line (prorations: Stripe computes each proration line "down to the second" of the period and rounds it on its
// own, https://docs.stripe.com/billing/subscriptions/prorations). Percentage discounts are computed on the
// invoice's discountable amount and spread over its lines by largest remainder; `amount_off` can reduce the
// discountable amount to zero and no further (https://docs.stripe.com/billing/subscriptions/coupons). The
// customer's balance then moves `amount_due` (negative balance = credit, https://docs.stripe.com/billing/customer/balance).

/** One tier of a tiered price. Amounts are Stripe's `_decimal` strings (minor units, up to 12 decimal places). */
export interface PricingTier {
  up_to: number | null;
  unit_amount_decimal: string | null;
  flat_amount_decimal: string | null;
}

export interface PricingTiers {
  mode: 'graduated' | 'volume';
  tiers: PricingTier[];
}

export interface PricingLine {
  key: string;
  unitAmount: number;
  quantity: number;
  /** A tiered price: the amount for `quantity` comes from its tiers (`unitAmount` is not used). */
  tiers?: PricingTiers;
  /** Charge only `seconds` of a `periodSeconds` period (prorations). */
  proration?: { seconds: number; periodSeconds: number };
  /** -1 for credits (unused time on a replaced price). */
  sign?: 1 | -1;
  discountable?: boolean;
}

export interface PricingCoupon {
  id: string;
  percent_off: number | null;
  amount_off: number | null;
  currency: string | null;
  duration: 'once' | 'repeating' | 'forever' | string;
  duration_in_months: number | null;
}

export interface PricingDiscount {
  coupon: PricingCoupon;
  /** When the discount began (subscription start or when the coupon was applied). */
  start: number;
}

export interface PricingInput {
  currency: string;
  lines: PricingLine[];
  discounts: PricingDiscount[];
  /** Customer balance before this invoice; negative is credit owed to the customer. */
  customerBalance: number;
  /** The start of the period billed, to decide whether a `repeating` coupon still applies. */
  at: number;
  /** True for the first invoice after the discount began: the only one a `once` coupon applies to. */
  firstInvoiceOfDiscount: boolean;
}

export interface PricedLine {
  key: string;
  amount: number;
  discountAmounts: Array<{ coupon: string; amount: number }>;
}

export interface PricingResult {
  lines: PricedLine[];
  subtotal: number;
  discounts: Array<{ coupon: string; amount: number }>;
  totalDiscount: number;
  total: number;
  startingBalance: number;
  endingBalance: number;
  amountDue: number;
}

/** n × num / den rounded to the nearest integer, halves away from zero; exact for integers. */
export function roundRatio(n: number, num: number, den: number): number {
  const sign = Math.sign(n) * Math.sign(num) * Math.sign(den);
  const a = BigInt(Math.abs(n)) * BigInt(Math.abs(num));
  const d = BigInt(Math.abs(den));
  const q = a / d;
  const r = a - q * d;
  const rounded = 2n * r >= d ? q + 1n : q;
  return sign * Number(rounded);
}

/** Add calendar months the way Stripe anchors billing: same day of month, clamped to the month's end. */
export function addMonths(ts: number, months: number): number {
  const d = new Date(ts * 1000);
  const day = d.getUTCDate();
  const target = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + months,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
    ),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return Math.floor(target.getTime() / 1000);
}

export function couponApplies(d: PricingDiscount, at: number, firstInvoiceOfDiscount: boolean): boolean {
  switch (d.coupon.duration) {
    case 'once':
      return firstInvoiceOfDiscount;
    case 'repeating':
      return at < addMonths(d.start, d.coupon.duration_in_months ?? 0);
    default:
      return true;
  }
}

const SCALE = 10n ** 12n;

/** A `_decimal` string (non-negative, at most 12 decimal places) in units of 10^-12. */
function scaled(d: string | null): bigint {
  if (!d) return 0n;
  const [whole = '0', frac = ''] = d.split('.');
  return BigInt(whole) * SCALE + BigInt(frac.padEnd(12, '0').slice(0, 12));
}

/** The amount of a tiered price for `quantity` (https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing):
 * graduated, each tier's units at its unit amount plus its flat amount for every tier reached (a tier is reached
 * when a unit falls in it); volume, every unit at the unit amount of the one tier the quantity falls in (0 falls
 * in the first) plus that tier's flat amount. Exact in decimals, rounded once, halves up. */
export function tieredAmount(t: PricingTiers, quantity: number): number {
  let total = 0n;
  if (t.mode === 'volume') {
    const tier = t.tiers.find((x) => x.up_to === null || quantity <= x.up_to) ?? t.tiers[t.tiers.length - 1];
    if (tier) total = BigInt(quantity) * scaled(tier.unit_amount_decimal) + scaled(tier.flat_amount_decimal);
  } else {
    let below = 0;
    for (const tier of t.tiers) {
      const upTo = tier.up_to ?? Infinity;
      const units = Math.min(quantity, upTo) - below;
      if (units <= 0) break;
      total += BigInt(units) * scaled(tier.unit_amount_decimal) + scaled(tier.flat_amount_decimal);
      below = upTo;
    }
  }
  return Number((total + SCALE / 2n) / SCALE);
}

export function lineAmount(line: PricingLine): number {
  const full = line.tiers ? tieredAmount(line.tiers, line.quantity) : line.unitAmount * line.quantity;
  const amount = line.proration
    ? roundRatio(full, line.proration.seconds, line.proration.periodSeconds)
    : full;
  return (line.sign ?? 1) * amount;
}

/** Percentages may carry two decimals (12.5%): work in basis points to stay in integers. */
function percentOf(amount: number, percent: number): number {
  return roundRatio(amount, Math.round(percent * 100), 10000);
}

/** Split `total` over `weights` in proportion, by largest remainder, so the parts sum exactly to `total`. */
function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0 || total === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => ({ i, frac: e - Math.floor(e) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i] = (parts[i] ?? 0) + 1;
    left--;
  }
  return parts;
}

export function priceInvoice(input: PricingInput): PricingResult {
  const amounts = input.lines.map(lineAmount);
  const subtotal = amounts.reduce((a, b) => a + b, 0);
  // Only positive, discountable lines take a discount: a credit for unused time is not discounted again.
  const weights = input.lines.map((l, i) =>
    (l.discountable ?? true) && (amounts[i] ?? 0) > 0 ? (amounts[i] ?? 0) : 0,
  );
  let remaining = Math.max(
    0,
    Math.min(
      subtotal,
      weights.reduce((a, b) => a + b, 0),
    ),
  );
  const lineDiscounts: Array<Array<{ coupon: string; amount: number }>> = input.lines.map(() => []);
  const discounts: Array<{ coupon: string; amount: number }> = [];
  for (const d of input.discounts) {
    if (!couponApplies(d, input.at, input.firstInvoiceOfDiscount)) continue;
    const c = d.coupon;
    let amount = 0;
    if (c.percent_off !== null && c.percent_off !== undefined) amount = percentOf(remaining, c.percent_off);
    else if (c.amount_off !== null && c.amount_off !== undefined) {
      if (c.currency && c.currency !== input.currency) continue;
      amount = Math.min(c.amount_off, remaining);
    }
    amount = Math.max(0, Math.min(amount, remaining));
    remaining -= amount;
    discounts.push({ coupon: c.id, amount });
    allocate(amount, weights).forEach((part, i) => lineDiscounts[i]?.push({ coupon: c.id, amount: part }));
  }
  const totalDiscount = discounts.reduce((a, d) => a + d.amount, 0);
  const total = subtotal - totalDiscount;
  const combined = total + input.customerBalance;
  return {
    lines: input.lines.map((l, i) => ({
      key: l.key,
      amount: amounts[i] ?? 0,
      discountAmounts: lineDiscounts[i] ?? [],
    })),
    subtotal,
    discounts,
    totalDiscount,
    total,
    startingBalance: input.customerBalance,
    endingBalance: Math.min(0, combined),
    amountDue: Math.max(0, combined),
  };
}
