// A large account for benchmarks, built straight into the store (no HTTP, no events): customers with cards of
// several brands and expiries, subscriptions across plans and intervals, coupons, charges with failures and
// refunds. Seeded, so two runs build the same account.
import type Stripe from 'stripe';
import type { Account } from './account.ts';
import type { BuildEnv } from './build-env.ts';
import type { Emulator } from './emulator.ts';
import { mulberry32 } from '../shared/random.ts';
import { seededIds } from './ids.ts';
import { buildDiscount, nextPeriodEnd } from './resources/billing.ts';
import { buildCoupon, buildPrice, buildProduct } from './resources/catalog.ts';
import { buildCustomer } from './resources/customers.ts';
import { buildCardPaymentMethod } from './resources/payment-methods.ts';
import { buildCharge, buildRefund } from './resources/payment-objects.ts';
import { buildSubscription, buildSubscriptionItem } from './resources/subscription-builders.ts';
import { TEST_CARDS } from './test-cards.ts';

export interface GenerateOptions {
  customers: number;
  seed?: number;
  key?: string;
  /** Every customer gets a subscription (by default 85% do). */
  allSubscribed?: boolean;
  /** The share of subscribed customers with two or three subscriptions (by default none). */
  multiSubscriptionShare?: number;
}

export interface GenerateResult {
  account: string;
  customers: number;
  subscriptions: number;
  charges: number;
  refunds: number;
  ms: number;
}

const DAY = 86_400;
const CARDS = [
  '4242424242424242',
  '5555555555554444',
  '378282246310005',
  '6011111111111117',
  '4000056655665556',
  '3566002020360505',
  '4000000000000341',
];
const STATUSES: Stripe.Subscription.Status[] = [
  'active',
  'active',
  'active',
  'active',
  'trialing',
  'past_due',
  'canceled',
  'unpaid',
];

export function generateLargeAccount(
  target: Emulator | { emulator: Emulator },
  opts: GenerateOptions,
): GenerateResult {
  const t0 = performance.now();
  const emu = 'emulator' in target ? target.emulator : target;
  const acct: Account = emu.account(opts.key ?? emu.defaultKey);
  const ids = seededIds(opts.seed ?? 7);
  const rnd = mulberry32((opts.seed ?? 7) + 1);
  const pick = <T>(arr: readonly T[]): T => arr[Math.floor(rnd() * arr.length)] as T;
  const now = emu.clock.now();
  const env = (t: number): BuildEnv => ({ ids, now: t, livemode: acct.livemode });
  const start = now - 3 * 365 * DAY;

  const plans: Stripe.Price[] = [];
  for (const [name, amount] of [
    ['Starter', 900],
    ['Pro', 2900],
    ['Team', 9900],
    ['Enterprise', 49900],
  ] as const) {
    const prod = acct.save(buildProduct(env(start - DAY), { name }));
    for (const [interval, mult] of [
      ['month', 1],
      ['year', 10],
      ['week', 0.25],
    ] as const) {
      plans.push(
        acct.save(
          buildPrice(env(start - DAY), {
            product: prod.id,
            unit_amount: Math.round(amount * mult),
            recurring: {
              interval,
              interval_count: 1,
              meter: null,
              trial_period_days: null,
              usage_type: 'licensed',
            },
          }),
        ),
      );
    }
  }
  const coupons = [
    acct.save(buildCoupon(env(start - DAY), { id: 'BENCH20', percent_off: 20, duration: 'forever' })),
    acct.save(
      buildCoupon(env(start - DAY), {
        id: 'BENCH5OFF',
        amount_off: 500,
        currency: 'usd',
        duration: 'repeating',
        duration_in_months: 3,
      }),
    ),
  ];

  let subs = 0;
  let charges = 0;
  let refunds = 0;
  const span = now - start - DAY;
  // Charges of one customer span months; collected and sorted so the stores still only append.
  const payments: Array<Stripe.Charge | Stripe.Refund> = [];
  for (let i = 0; i < opts.customers; i++) {
    // Ascending creation times keep every collection insert an append.
    const created = start + Math.floor((span * i) / opts.customers);
    const e = env(created);
    const c = buildCustomer(e, {
      email: `customer${i}@bench.example`,
      name: `Customer ${i}`,
      metadata: { user_id: `bench_${i}` },
    });
    const card = TEST_CARDS[pick(CARDS)] as (typeof TEST_CARDS)[string];
    const pm = buildCardPaymentMethod(
      e,
      card,
      { customer: c.id },
      {
        month: 1 + Math.floor(rnd() * 12),
        year: new Date(now * 1000).getUTCFullYear() - 1 + Math.floor(rnd() * 6),
      },
    );
    c.invoice_settings = { ...c.invoice_settings, default_payment_method: pm.id };
    if (rnd() < 0.05) c.balance = -Math.floor(rnd() * 5000);
    acct.save(c);
    acct.save(pm);
    const subscribed = opts.allSubscribed || rnd() < 0.85;
    const extra =
      subscribed && opts.multiSubscriptionShare && rnd() < opts.multiSubscriptionShare
        ? 1 + Math.floor(rnd() * 2)
        : 0;
    for (let j = 0; subscribed && j <= extra; j++) {
      const price = pick(plans);
      const status = pick(STATUSES);
      const subId = ids('sub', 24);
      let periodStart = created;
      while (nextPeriodEnd(periodStart, price.recurring) <= now)
        periodStart = nextPeriodEnd(periodStart, price.recurring);
      const item = buildSubscriptionItem(e, price, {
        subscription: subId,
        current_period_start: periodStart,
        current_period_end: nextPeriodEnd(periodStart, price.recurring),
      });
      let discounts: string[] = [];
      if (rnd() < 0.15) {
        const d = buildDiscount(e, pick(coupons), { customer: c.id, subscription: subId });
        acct.discounts.set(d.id, d);
        discounts = [d.id];
      }
      acct.save(
        buildSubscription(e, {
          id: subId,
          customer: c.id,
          currency: 'usd',
          status,
          discounts,
          default_payment_method: pm.id,
          items: {
            object: 'list',
            data: [item],
            has_more: false,
            url: `/v1/subscription_items?subscription=${subId}`,
          },
          ...(status === 'canceled' ? { canceled_at: periodStart, ended_at: periodStart } : {}),
        }),
      );
      subs++;
      const n = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < n; k++) {
        const failed = rnd() < 0.1;
        const t = Math.min(now - 1, created + k * 30 * DAY);
        const ch = buildCharge(
          env(t),
          {
            amount: price.unit_amount ?? 0,
            currency: 'usd',
            customer: c.id,
            ...(failed
              ? {
                  status: 'failed',
                  paid: false,
                  captured: false,
                  amount_captured: 0,
                  failure_code: 'card_declined',
                  failure_message: 'Your card was declined.',
                }
              : {}),
          },
          pm,
        );
        charges++;
        if (!failed && rnd() < 0.05) {
          const r = buildRefund(env(t + 3600), {
            amount: ch.amount,
            charge: ch.id,
            currency: 'usd',
            customer: c.id,
            reason: 'requested_by_customer',
          });
          payments.push(r);
          refunds++;
          payments.push({
            ...ch,
            refunded: true,
            amount_refunded: ch.amount,
            refunds: { object: 'list', data: [r], has_more: false, url: `/v1/charges/${ch.id}/refunds` },
          });
        } else payments.push(ch);
      }
    }
  }
  payments.sort((a, b) => a.created - b.created);
  for (const p of payments) acct.save(p);
  return {
    account: acct.id,
    customers: opts.customers,
    subscriptions: subs,
    charges,
    refunds,
    ms: Math.round(performance.now() - t0),
  };
}
