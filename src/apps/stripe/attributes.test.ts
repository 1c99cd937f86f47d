// §3.3 rows on hand-built snapshots: primary subscription and item, cards, currencies, payments.
import fc from 'fast-check';
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { deriveAttributes, unresolvedReferences, type DeriveInput } from './attributes.ts';
import {
  cardPaymentMethod,
  charge,
  customer,
  item,
  legacyCard,
  price,
  product,
  sepaPaymentMethod,
  subscription,
} from './__fixtures__/stripe-objects.ts';

const NOW = 1795608000;
const iso = (s: string) => Date.parse(s) / 1000;
const products = new Map([
  ['prod_a', product('prod_a', 'Alpha')],
  ['prod_b', product('prod_b', 'Beta')],
  ['prod_c', product('prod_c', 'Gamma')],
]);

function derive(input: Partial<DeriveInput> & Pick<DeriveInput, 'customer'>) {
  return deriveAttributes({
    subscriptions: [],
    paymentMethods: [],
    charges: [],
    products,
    now: NOW,
    accountId: 'acct_1',
    livemode: true,
    ...input,
  });
}

const monthly = (id: string, amount: number, prod = 'prod_a') => price(id, amount, { product: prod });

describe('primary subscription', () => {
  const cus = customer('cus_1');
  const subs = [
    subscription('sub_old_active', 'cus_1', 'active', [item('si_1', monthly('p1', 1000, 'prod_a'), 1)], {
      created: 100,
    }),
    subscription('sub_new_active', 'cus_1', 'active', [item('si_2', monthly('p2', 2000, 'prod_b'), 1)], {
      created: 200,
    }),
    subscription('sub_trial', 'cus_1', 'trialing', [item('si_3', monthly('p3', 9000, 'prod_c'), 1)], {
      created: 300,
    }),
    subscription('sub_gone', 'cus_1', 'canceled', [item('si_4', monthly('p4', 9900, 'prod_c'), 1)], {
      created: 400,
    }),
  ];

  it('takes the best status, then the most recently created', () => {
    const a = derive({ customer: cus, subscriptions: subs });
    expect(a.stripe_subscription_status).toBe('active');
    expect(a.stripe_plan).toBe('Beta'); // sub_new_active: created 200 > 100
    expect(a.stripe_plan_price).toBe(20);
  });

  it('does not depend on the order the subscriptions are listed in', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(subs, { minLength: subs.length }), (shuffled) => {
        expect(derive({ customer: cus, subscriptions: shuffled }).stripe_plan).toBe('Beta');
      }),
    );
  });

  it('follows the status order past trialing: trialing beats past_due, past_due beats unpaid', () => {
    const mk = (id: string, status: Stripe.Subscription.Status, created: number, prod: string) =>
      subscription(id, 'cus_1', status, [item(`si_${id}`, monthly(`p_${id}`, 1000, prod), 1)], { created });
    expect(
      derive({
        customer: cus,
        subscriptions: [mk('a', 'past_due', 900, 'prod_a'), mk('b', 'trialing', 1, 'prod_b')],
      }).stripe_subscription_status,
    ).toBe('trialing');
    expect(
      derive({
        customer: cus,
        subscriptions: [mk('a', 'unpaid', 900, 'prod_a'), mk('b', 'past_due', 1, 'prod_b')],
      }).stripe_subscription_status,
    ).toBe('past_due');
  });

  it('with only ended subscriptions, the most recent canceled one (canceled beats incomplete_expired)', () => {
    const a = derive({
      customer: cus,
      subscriptions: [
        subscription('s1', 'cus_1', 'canceled', [item('i1', monthly('p1', 1000, 'prod_a'), 1)], {
          created: 100,
        }),
        subscription('s2', 'cus_1', 'canceled', [item('i2', monthly('p2', 1500, 'prod_b'), 1)], {
          created: 200,
        }),
        subscription('s3', 'cus_1', 'incomplete_expired', [item('i3', monthly('p3', 5000, 'prod_c'), 1)], {
          created: 300,
        }),
      ],
    });
    expect(a.stripe_subscription_status).toBe('canceled');
    expect(a.stripe_plan).toBe('Beta');
    expect(a.stripe_mrr).toBe(0);
  });

  it("ignores other customers' subscriptions and charges", () => {
    const a = derive({
      customer: cus,
      subscriptions: [subscription('s_other', 'cus_2', 'active', [item('i', monthly('p', 1000), 1)])],
      charges: [charge('ch_other', 'cus_2', 5000, 100)],
    });
    expect(a.stripe_subscription_status).toBeNull();
    expect(a.stripe_total_spend).toBe(0);
    expect(a.stripe_last_payment_at).toBeNull();
  });
});

describe('primary item and plan price', () => {
  const cus = customer('cus_1');

  it('primary item is the largest unit_amount × quantity, not the largest unit_amount', () => {
    const s = subscription('s', 'cus_1', 'active', [
      item('si_big_unit', monthly('p1', 3000, 'prod_a'), 1), // 3000
      item('si_many', monthly('p2', 800, 'prod_b'), 5), // 4000
    ]);
    const a = derive({ customer: cus, subscriptions: [s] });
    expect(a.stripe_plan).toBe('Beta');
    expect(a.stripe_plan_price).toBe(70); // (3000 + 4000) / 100
  });

  it('ties go to the earlier-created item', () => {
    const s = subscription('s', 'cus_1', 'active', [
      item('si_late', monthly('p1', 1000, 'prod_a'), 2, { created: 500 }),
      item('si_early', monthly('p2', 2000, 'prod_b'), 1, { created: 100 }),
    ]);
    expect(derive({ customer: cus, subscriptions: [s] }).stripe_plan).toBe('Beta');
  });

  it('plan interval, interval count and period start come from the primary item', () => {
    const p = price('p_q', 9000, { product: 'prod_a', interval: 'month', intervalCount: 3 });
    const s = subscription('s', 'cus_1', 'active', [item('si', p, 1, { current_period_start: 1790000000 })]);
    const a = derive({ customer: cus, subscriptions: [s] });
    expect(a.stripe_plan_interval).toBe('month');
    expect(a.stripe_plan_interval_count).toBe(3);
    expect(a.stripe_plan_price).toBe(90);
    expect(a.stripe_subscription_period_start_at).toBe(1790000000);
  });

  it('mixed intervals: other items are converted to the primary interval (120/year adds 10/month)', () => {
    const s = subscription('s', 'cus_1', 'active', [
      item('si_m', monthly('p_m', 4900, 'prod_a'), 1),
      item('si_y', price('p_y', 12000, { product: 'prod_b', interval: 'year' }), 1),
    ]);
    const a = derive({ customer: cus, subscriptions: [s] });
    expect(a.stripe_plan).toBe('Beta'); // 12000 × 1 is the larger item amount
    expect(a.stripe_plan_interval).toBe('year');
    expect(a.stripe_plan_price).toBe(708); // 120 + 49 × 12
    expect(a.stripe_mrr).toBe(59); // 49 + 120 / 12
  });

  it('a metered item adds nothing; the plan name falls back to the price nickname when the product is unknown', () => {
    const s = subscription('s', 'cus_1', 'active', [
      item('si_lic', price('p1', 1500, { product: 'prod_unknown', nickname: 'Basic monthly' }), 1),
      item('si_met', price('p2', 5, { product: 'prod_b', usageType: 'metered' }), undefined),
    ]);
    const a = derive({ customer: cus, subscriptions: [s] });
    expect(a.stripe_plan).toBe('Basic monthly');
    expect(a.stripe_plan_price).toBe(15);
    expect(
      unresolvedReferences({
        customer: cus,
        subscriptions: [s],
        paymentMethods: [],
        charges: [],
        products,
        now: NOW,
        accountId: 'a',
        livemode: true,
      }).products,
    ).toEqual(['prod_unknown']);
  });

  it('tiered prices: volume and graduated', () => {
    const tiers = [
      {
        up_to: 5,
        unit_amount: 1000,
        flat_amount: null,
        unit_amount_decimal: null,
        flat_amount_decimal: null,
      },
      {
        up_to: null,
        unit_amount: 800,
        flat_amount: 500,
        unit_amount_decimal: null,
        flat_amount_decimal: null,
      },
    ];
    const tiered = (mode: 'volume' | 'graduated') =>
      price(`p_${mode}`, null, {
        product: 'prod_a',
        extra: { billing_scheme: 'tiered', tiers_mode: mode, tiers },
      });
    const volume = derive({
      customer: cus,
      subscriptions: [subscription('s', 'cus_1', 'active', [item('i', tiered('volume'), 7)])],
    });
    expect(volume.stripe_plan_price).toBe(61); // all 7 units in tier 2: 7 × 800 + 500 = 6100
    const graduated = derive({
      customer: cus,
      subscriptions: [subscription('s', 'cus_1', 'active', [item('i', tiered('graduated'), 7)])],
    });
    expect(graduated.stripe_plan_price).toBe(71); // 5 × 1000 + 2 × 800 + 500 = 7100
  });
});

describe('currencies and amounts', () => {
  it('JPY has no minor unit: amounts are taken as they are', () => {
    const cus = customer('cus_jp', { currency: 'jpy', balance: -300 });
    const p = price('p_jpy', 12000, { currency: 'jpy', interval: 'year', product: 'prod_a' });
    const a = derive({
      customer: cus,
      subscriptions: [subscription('s', 'cus_jp', 'active', [item('i', p, 1)])],
      charges: [
        charge('ch_1', 'cus_jp', 12000, 100, { currency: 'jpy' }),
        charge('ch_2', 'cus_jp', 990, 200, { currency: 'jpy', amount_refunded: 90 }),
        charge('ch_usd', 'cus_jp', 5000, 50, { currency: 'usd' }), // another currency: not added to yen
      ],
    });
    expect(a.stripe_currency).toBe('jpy');
    expect(a.stripe_account_balance).toBe(-300);
    expect(a.stripe_plan_price).toBe(12000);
    expect(a.stripe_mrr).toBe(1000); // 12000 / 12
    expect(a.stripe_total_spend).toBe(12900); // 12000 + (990 − 90)
  });

  it('JPY MRR keeps two decimals when a year does not divide evenly', () => {
    const p = price('p', 10000, { currency: 'jpy', interval: 'year', product: 'prod_a' });
    const a = derive({
      customer: customer('c', { currency: 'jpy' }),
      subscriptions: [subscription('s', 'c', 'active', [item('i', p, 1)])],
    });
    expect(a.stripe_mrr).toBe(833.33); // 10000 / 12 = 833.333…
  });

  it('KWD has three decimals: 5120 fils is 5.12 dinars', () => {
    const a = derive({ customer: customer('c', { currency: 'kwd', balance: 5120 }) });
    expect(a.stripe_account_balance).toBe(5.12);
  });

  it('currency falls back to the subscription, then the newest charge, when the customer has none', () => {
    const s = subscription('s', 'c', 'active', [
      item('i', price('p', 1000, { currency: 'eur', product: 'prod_a' }), 1),
    ]);
    expect(derive({ customer: customer('c', { currency: null }), subscriptions: [s] }).stripe_currency).toBe(
      'eur',
    );
    const charges = [
      charge('a', 'c', 100, 1, { currency: 'gbp' }),
      charge('b', 'c', 100, 2, { currency: 'chf' }),
    ];
    expect(derive({ customer: customer('c', { currency: null }), charges }).stripe_currency).toBe('chf');
  });

  it('total spend: succeeded and captured only, minus partial refunds', () => {
    const a = derive({
      customer: customer('c'),
      charges: [
        charge('ok', 'c', 5000, 1, { amount_refunded: 2000 }),
        charge('failed', 'c', 7000, 2, { status: 'failed', paid: false, captured: false }),
        charge('pending', 'c', 3000, 3, { status: 'pending' }),
        charge('auth_only', 'c', 4000, 4, { captured: false, amount_captured: 0 }),
      ],
    });
    expect(a.stripe_total_spend).toBe(30); // 5000 − 2000
  });
});

describe('last payment', () => {
  it('is the newest charge; a fully refunded one reads "refunded"', () => {
    const a = derive({
      customer: customer('c'),
      charges: [
        charge('old', 'c', 100, 10),
        charge('new', 'c', 100, 20, { refunded: true, amount_refunded: 100 }),
      ],
    });
    expect(a.stripe_last_payment_at).toBe(20);
    expect(a.stripe_last_payment_status).toBe('refunded');
  });

  it('a pending payment reports pending', () => {
    const a = derive({
      customer: customer('c'),
      charges: [charge('p', 'c', 100, 30, { status: 'pending' })],
    });
    expect(a.stripe_last_payment_status).toBe('pending');
  });
});

describe('default card', () => {
  const sub = (extra: Partial<Stripe.Subscription> = {}) =>
    subscription('s', 'c', 'active', [item('i', monthly('p', 1000), 1)], extra);
  const pms = [
    cardPaymentMethod('pm_visa', 'visa', 4, 2027),
    cardPaymentMethod('pm_mc', 'mastercard', 12, 2026),
  ];

  it('invoice_settings.default_payment_method wins over default_source', () => {
    const cus = customer('c', {
      invoice_settings: {
        custom_fields: null,
        default_payment_method: 'pm_visa',
        footer: null,
        rendering_options: null,
      },
      default_source: legacyCard('card_amex', 'American Express', 1, 2030),
    });
    const a = derive({ customer: cus, paymentMethods: pms });
    expect(a.stripe_card_brand).toBe('visa');
    expect(a.stripe_card_expires_at).toBe(iso('2027-04-30T23:59:59Z'));
  });

  it('default_source (a legacy card, brand spelt for display) is used when there is no default payment method', () => {
    const cus = customer('c', { default_source: 'card_amex' });
    const a = derive({
      customer: cus,
      paymentMethods: pms,
      sources: [legacyCard('card_amex', 'American Express', 2, 2028)],
    });
    expect(a.stripe_card_brand).toBe('amex');
    expect(a.stripe_card_expires_at).toBe(iso('2028-02-29T23:59:59Z')); // leap year February
  });

  it("falls back to the primary subscription's default_payment_method", () => {
    const a = derive({
      customer: customer('c'),
      subscriptions: [sub({ default_payment_method: 'pm_mc' })],
      paymentMethods: pms,
    });
    expect(a.stripe_card_brand).toBe('mastercard');
    expect(a.stripe_card_expires_at).toBe(iso('2026-12-31T23:59:59Z')); // December rolls into next January
  });

  it('a non-card default (SEPA) means no default card, not an older card', () => {
    const cus = customer('c', {
      invoice_settings: {
        custom_fields: null,
        default_payment_method: 'pm_sepa',
        footer: null,
        rendering_options: null,
      },
      default_source: 'card_amex',
    });
    const a = derive({
      customer: cus,
      paymentMethods: [sepaPaymentMethod('pm_sepa')],
      sources: [legacyCard('card_amex', 'Visa', 1, 2030)],
    });
    expect(a.stripe_card_brand).toBeNull();
    expect(a.stripe_card_expires_at).toBeNull();
  });

  it('an unresolvable reference yields no card and is reported', () => {
    const input: DeriveInput = {
      customer: customer('c', { default_source: 'card_missing' }),
      subscriptions: [],
      paymentMethods: [],
      charges: [],
      now: NOW,
      accountId: 'a',
      livemode: false,
    };
    expect(deriveAttributes(input).stripe_card_brand).toBeNull();
    expect(unresolvedReferences(input).paymentMethods).toEqual(['card_missing']);
  });
});

describe('identity attributes', () => {
  it('account, mode, creation date, delinquency as given', () => {
    const a = derive({
      customer: customer('cus_9', { created: 1700000000, delinquent: true }),
      accountId: 'acct_42',
      livemode: true,
    });
    expect(a).toMatchObject({
      stripe_id: 'cus_9',
      stripe_account: 'acct_42',
      stripe_livemode: true,
      stripe_customer_created_at: 1700000000,
      stripe_delinquent: true,
    });
  });
});
