/**
 * Currency exponents and minor → major unit conversion, as Stripe's API uses them (not ISO 4217 where the two
 * differ: Stripe's amounts are what the attribute values must agree with).
 */

/** Stripe's zero-decimal currencies: an amount of 500 JPY is ¥500 (https://docs.stripe.com/currencies). */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/**
 * Stripe's three-decimal currencies. Stripe's currency guide says the API takes their amounts in the minor unit of
 * three decimals (5.124 KWD is 5124) and only requires the last digit to be 0 for payment partners (5120 or 5130).
 * So the exponent is 3: treating them as two-decimal would show a 5.120 KWD charge as 51.20 KWD.
 */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

// ISK, HUF and TWD are "special cases" in Stripe's guide: payouts are whole units but API amounts keep two
// decimals for backwards compatibility (5 ISK is 500), so they stay at the default exponent 2.

export function currencyExponent(currency: string): number {
  const code = currency.toLowerCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/**
 * Rounds half away from zero to `decimals` places. Goes through the decimal string (`1.005e2`) rather than
 * multiplying by 10^n, because 1.005 * 100 is 100.49999… in binary floating point and would round down.
 */
export function roundTo(value: number, decimals: number): number {
  if (!Number.isFinite(value)) return value;
  const sign = value < 0 ? -1 : 1;
  // toExponential() keeps the shortest exact decimal form and never prints "1e-7e2"-style strings.
  const [mantissa, exp] = Math.abs(value).toExponential().split('e');
  const shifted = Math.round(Number(`${mantissa}e${Number(exp) + decimals}`));
  const result = sign * Number(`${shifted}e-${decimals}`);
  return Object.is(result, -0) ? 0 : result;
}

/**
 * Minor units (Stripe's integer amounts) to major units as a number, rounded to the currency's exponent. Inputs
 * that are already fractional (a normalised monthly amount) are rounded, never truncated.
 */
export function toMajorUnits(minor: number, currency: string): number {
  const exponent = currencyExponent(currency);
  return roundTo(minor / 10 ** exponent, exponent);
}
