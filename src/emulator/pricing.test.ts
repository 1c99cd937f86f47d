// Golden cases. Each expected number is worked out here from Stripe's documented rules (see pricing.ts), not
// copied from the function's output.
import { describe, expect, it } from 'vitest';
import {
  addMonths,
  priceInvoice,
  tieredAmount,
  type PricingCoupon,
  type PricingInput,
  type PricingTier,
} from './pricing.ts';

const JAN_15_2026 = Date.UTC(2026, 0, 15) / 1000;
const DAY = 86_400;

function input(over: Partial<PricingInput>): PricingInput {
  return {
    currency: 'usd',
    lines: [],
    discounts: [],
    customerBalance: 0,
    at: JAN_15_2026,
    firstInvoiceOfDiscount: true,
    ...over,
  };
}

function coupon(over: Partial<PricingCoupon>): PricingCoupon {
  return {
    id: 'c',
    percent_off: null,
    amount_off: null,
    currency: null,
    duration: 'forever',
    duration_in_months: null,
    ...over,
  };
}

const pro = { key: 'pro', unitAmount: 4900, quantity: 1 };

describe('priceInvoice golden cases', () => {
  it('1. one price, quantity one: the unit amount is due', () => {
    const r = priceInvoice(input({ lines: [pro] }));
    expect(r.subtotal).toBe(4900);
    expect(r.total).toBe(4900);
    expect(r.amountDue).toBe(4900);
  });

  it('2. several prices and quantities: sum of unit_amount × quantity', () => {
    const r = priceInvoice(input({ lines: [pro, { key: 'seat', unitAmount: 1500, quantity: 3 }] }));
    expect(r.lines.map((l) => l.amount)).toEqual([4900, 1500 * 3]);
    expect(r.total).toBe(4900 + 4500);
  });

  it('3. percent_off forever: 20% of 49.00 is 9.80', () => {
    const r = priceInvoice(
      input({ lines: [pro], discounts: [{ coupon: coupon({ percent_off: 20 }), start: 0 }] }),
    );
    expect(r.totalDiscount).toBe(980);
    expect(r.total).toBe(4900 - 980);
  });

  it('4. percent_off with a fractional cent rounds to the nearest cent: 15% of 33.33 = 4.9995 → 5.00', () => {
    const r = priceInvoice(
      input({
        lines: [{ key: 'x', unitAmount: 3333, quantity: 1 }],
        discounts: [{ coupon: coupon({ percent_off: 15 }), start: 0 }],
      }),
    );
    // 3333 × 0.15 = 499.95 cents → 500
    expect(r.totalDiscount).toBe(500);
    expect(r.total).toBe(2833);
  });

  it('5. decimal percent: 12.5% of 9.99 = 1.24875 → 1.25', () => {
    const r = priceInvoice(
      input({
        lines: [{ key: 'x', unitAmount: 999, quantity: 1 }],
        discounts: [{ coupon: coupon({ percent_off: 12.5 }), start: 0 }],
      }),
    );
    expect(r.totalDiscount).toBe(125);
    expect(r.total).toBe(874);
  });

  it('6. amount_off once: applies to the first invoice only', () => {
    const d = [
      { coupon: coupon({ amount_off: 500, currency: 'usd', duration: 'once' }), start: JAN_15_2026 },
    ];
    expect(priceInvoice(input({ lines: [pro], discounts: d })).total).toBe(4400);
    expect(
      priceInvoice(
        input({ lines: [pro], discounts: d, at: addMonths(JAN_15_2026, 1), firstInvoiceOfDiscount: false }),
      ).total,
    ).toBe(4900);
  });

  it('7. repeating for 3 months: applies on Mar 15, not from Apr 15 (start + 3 months)', () => {
    const d = [
      {
        coupon: coupon({ percent_off: 50, duration: 'repeating', duration_in_months: 3 }),
        start: JAN_15_2026,
      },
    ];
    const mar15 = Date.UTC(2026, 2, 15) / 1000;
    const apr15 = Date.UTC(2026, 3, 15) / 1000;
    expect(
      priceInvoice(input({ lines: [pro], discounts: d, at: mar15, firstInvoiceOfDiscount: false })).total,
    ).toBe(2450);
    expect(
      priceInvoice(input({ lines: [pro], discounts: d, at: apr15, firstInvoiceOfDiscount: false })).total,
    ).toBe(4900);
  });

  it('8. forever amount_off still applies years later', () => {
    const d = [{ coupon: coupon({ amount_off: 1000, currency: 'usd' }), start: JAN_15_2026 }];
    const r = priceInvoice(
      input({ lines: [pro], discounts: d, at: JAN_15_2026 + 3 * 365 * DAY, firstInvoiceOfDiscount: false }),
    );
    expect(r.total).toBe(3900);
  });

  it('9. amount_off above the subtotal floors the total at zero', () => {
    const d = [{ coupon: coupon({ amount_off: 10_000, currency: 'usd' }), start: 0 }];
    const r = priceInvoice(input({ lines: [pro], discounts: d }));
    expect(r.totalDiscount).toBe(4900);
    expect(r.total).toBe(0);
    expect(r.amountDue).toBe(0);
  });

  it('10. customer credit (negative balance) reduces amount_due; the rest of the credit remains', () => {
    const small = priceInvoice(input({ lines: [pro], customerBalance: -500 }));
    expect(small.total).toBe(4900);
    expect(small.amountDue).toBe(4400);
    expect(small.endingBalance).toBe(0);
    const large = priceInvoice(input({ lines: [pro], customerBalance: -6000 }));
    expect(large.amountDue).toBe(0);
    expect(large.endingBalance).toBe(-6000 + 4900);
  });

  it('11. a positive balance (the customer owes) is added to amount_due', () => {
    const r = priceInvoice(input({ lines: [pro], customerBalance: 700 }));
    expect(r.amountDue).toBe(5600);
    expect(r.endingBalance).toBe(0);
  });

  it('12. mid-period upgrade: credit unused time on the old price, charge remaining time on the new, by seconds', () => {
    const period = 30 * DAY;
    const remaining = 20 * DAY; // upgraded 10 days into a 30-day period
    const r = priceInvoice(
      input({
        lines: [
          {
            key: 'unused-pro',
            unitAmount: 4900,
            quantity: 1,
            sign: -1,
            proration: { seconds: remaining, periodSeconds: period },
          },
          {
            key: 'remaining-team',
            unitAmount: 9900,
            quantity: 1,
            proration: { seconds: remaining, periodSeconds: period },
          },
        ],
      }),
    );
    // 4900 × 20/30 = 3266.67 → 3267 credit; 9900 × 20/30 = 6600 exactly.
    expect(r.lines.map((l) => l.amount)).toEqual([-3267, 6600]);
    expect(r.total).toBe(6600 - 3267);
  });

  it('13. a downgrade leaves a credit: negative total goes to the balance, nothing is due', () => {
    const period = 30 * DAY;
    const half = 15 * DAY;
    const r = priceInvoice(
      input({
        lines: [
          {
            key: 'unused-team',
            unitAmount: 9900,
            quantity: 1,
            sign: -1,
            proration: { seconds: half, periodSeconds: period },
          },
          {
            key: 'remaining-pro',
            unitAmount: 4900,
            quantity: 1,
            proration: { seconds: half, periodSeconds: period },
          },
        ],
      }),
    );
    // 9900/2 = 4950; 4900/2 = 2450
    expect(r.total).toBe(2450 - 4950);
    expect(r.amountDue).toBe(0);
    expect(r.endingBalance).toBe(-2500);
  });

  it('14. a half cent in a proration rounds away from zero', () => {
    const r = priceInvoice(
      input({
        lines: [{ key: 'x', unitAmount: 4901, quantity: 1, proration: { seconds: 1, periodSeconds: 2 } }],
      }),
    );
    expect(r.total).toBe(2451); // 2450.5 → 2451
  });

  it('15. stacked discounts apply in order: 20% of 100.00, then 5.00 off the rest', () => {
    const r = priceInvoice(
      input({
        lines: [{ key: 'x', unitAmount: 10_000, quantity: 1 }],
        discounts: [
          { coupon: coupon({ id: 'p', percent_off: 20 }), start: 0 },
          { coupon: coupon({ id: 'a', amount_off: 500, currency: 'usd' }), start: 0 },
        ],
      }),
    );
    expect(r.discounts).toEqual([
      { coupon: 'p', amount: 2000 },
      { coupon: 'a', amount: 500 },
    ]);
    expect(r.total).toBe(7500);
  });

  it('16. a discount spread over lines sums exactly to the invoice discount', () => {
    const r = priceInvoice(
      input({
        lines: [
          { key: 'a', unitAmount: 3333, quantity: 1 },
          { key: 'b', unitAmount: 3333, quantity: 1 },
        ],
        discounts: [{ coupon: coupon({ percent_off: 10 }), start: 0 }],
      }),
    );
    // 10% of 66.66 = 6.666 → 6.67, split 3.34 + 3.33
    expect(r.totalDiscount).toBe(667);
    expect(r.lines.map((l) => l.discountAmounts[0]?.amount)).toEqual([334, 333]);
  });

  it('17. an amount_off coupon in another currency does not apply', () => {
    const d = [{ coupon: coupon({ amount_off: 500, currency: 'eur' }), start: 0 }];
    expect(priceInvoice(input({ lines: [pro], discounts: d })).total).toBe(4900);
  });
});

// Stripe's tiered-pricing example (https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing): 1–5 at
// 7.00, 6–10 at 6.50, 11+ at 6.00; here with flat amounts on the second and third tiers.
const tier = (up_to: number | null, unit: string | null, flat: string | null = null): PricingTier => ({
  up_to,
  unit_amount_decimal: unit,
  flat_amount_decimal: flat,
});
const TIERS = [tier(5, '700'), tier(10, '650', '100'), tier(null, '600', '500')];

describe('tieredAmount', () => {
  it('volume: every unit at the tier the quantity falls in, plus that tier flat amount', () => {
    const volume = (q: number): number => tieredAmount({ mode: 'volume', tiers: TIERS }, q);
    expect(volume(5)).toBe(5 * 700);
    expect(volume(6)).toBe(6 * 650 + 100);
    expect(volume(10)).toBe(10 * 650 + 100);
    expect(volume(11)).toBe(11 * 600 + 500);
    expect(volume(0)).toBe(0);
  });

  it('graduated: each tier prices its own units, and adds its flat amount once a unit reaches it', () => {
    const graduated = (q: number): number => tieredAmount({ mode: 'graduated', tiers: TIERS }, q);
    expect(graduated(0)).toBe(0);
    expect(graduated(5)).toBe(5 * 700);
    expect(graduated(6)).toBe(5 * 700 + 650 + 100);
    expect(graduated(12)).toBe(5 * 700 + (5 * 650 + 100) + (2 * 600 + 500));
  });

  it('decimal amounts are exact until the total, rounded once (halves up)', () => {
    const tiers = [tier(1000, '0.5'), tier(null, '0.125', '0.5')];
    // 1000 × 0.5 + 4 × 0.125 + 0.5 = 501 exactly; 1 × 0.5 = 0.5 → 1; 3 × 0.5 = 1.5 → 2.
    expect(tieredAmount({ mode: 'graduated', tiers }, 1004)).toBe(501);
    expect(tieredAmount({ mode: 'graduated', tiers }, 1)).toBe(1);
    expect(tieredAmount({ mode: 'graduated', tiers }, 3)).toBe(2);
    expect(tieredAmount({ mode: 'volume', tiers: [tier(null, '0.000000000001')] }, 10 ** 9)).toBe(0);
  });

  it('a tiered line is prorated like any other', () => {
    const r = priceInvoice(
      input({
        lines: [
          {
            key: 't',
            unitAmount: 0,
            quantity: 12,
            tiers: { mode: 'graduated', tiers: TIERS },
            proration: { seconds: 1, periodSeconds: 4 },
          },
        ],
      }),
    );
    // 12 units graduated = 3500 + 3350 + 1700 = 8550; a quarter of it is 2137.5 → 2138.
    expect(r.subtotal).toBe(2138);
  });
});

describe('addMonths', () => {
  it('clamps to the end of shorter months, as billing anchors do', () => {
    const jan31 = Date.UTC(2026, 0, 31) / 1000;
    expect(new Date(addMonths(jan31, 1) * 1000).toISOString().slice(0, 10)).toBe('2026-02-28');
    expect(new Date(addMonths(jan31, 12) * 1000).toISOString().slice(0, 10)).toBe('2027-01-31');
  });
});
