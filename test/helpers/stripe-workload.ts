// A seeded random workload made through the official `stripe` SDK against the emulator: customers created,
// updated (emails changed, case changes included, balances), deleted; cards changed (some that decline);
// subscriptions created, changed, canceled; charges succeeding and failing; refunds; and the emulator's clock
// advanced across renewals. Every SDK call that changes something counts as one change.
import Stripe from 'stripe';
import { mulberry32 } from '../../src/shared/random.ts';

export interface Catalog {
  prices: Stripe.Price[];
}

/** Products and prices, made before Settle connects (the backfill brings them). */
export async function createCatalog(stripe: Stripe): Promise<Catalog> {
  const plans: [string, number, Stripe.PriceCreateParams.Recurring.Interval, number][] = [
    ['Starter', 1900, 'month', 1],
    ['Pro', 4900, 'month', 1],
    ['Team', 120000, 'year', 1],
    ['Weekly', 1200, 'week', 1],
    ['Quarterly', 30000, 'month', 3],
  ];
  const prices: Stripe.Price[] = [];
  for (const [name, amount, interval, count] of plans) {
    const product = await stripe.products.create({ name });
    prices.push(
      await stripe.prices.create({
        product: product.id,
        unit_amount: amount,
        currency: 'usd',
        recurring: { interval, interval_count: count },
      }),
    );
  }
  return { prices };
}

interface Cus {
  id: string;
  base: string;
  email: string;
}
interface Sub {
  id: string;
  customer: string;
  item: string;
  live: boolean;
}

export interface WorkloadOptions {
  stripe: Stripe;
  seed: number;
  changes: number;
  catalog: Catalog;
  /** Moves the emulator's clock forward (renewals happen on the way). */
  advanceClock: (seconds: number) => Promise<void>;
  /** Called before change n (0-based): the test kills and restarts workers from here. */
  onChange?: (n: number) => Promise<void>;
  /** Emails of contacts that exist before the sync, by the customer number that will use them. */
  emailFor?: (n: number) => string;
}

const CARDS = ['pm_card_visa', 'pm_card_mastercard', 'pm_card_amex', 'pm_card_visa_debit'];
const DECLINING = 'pm_card_chargeDeclined';

/** Changes the case of some letters of an address: the same address for §3.2, a different string for Stripe. */
function recase(email: string, rnd: () => number): string {
  return [...email].map((ch) => (rnd() < 0.3 ? ch.toUpperCase() : ch.toLowerCase())).join('');
}

export async function runWorkload(
  o: WorkloadOptions,
): Promise<{ changes: number; failedCharges: number; refused: number }> {
  const rnd = mulberry32(o.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const customers: Cus[] = [];
  const subs: Sub[] = [];
  const charges: { id: string; left: number }[] = [];
  let made = 0;
  let failedCharges = 0;
  let nextCustomer = 0;
  const clockEvery = Math.max(25, Math.floor(o.changes / 8));

  let refused = 0;
  const step = async (fn: () => Promise<unknown>) => {
    await o.onChange?.(made);
    try {
      await fn();
      made += 1;
    } catch (err) {
      // A declined card is a change too (Stripe records the failed charge). A request Stripe refuses (a
      // subscription that a renewal canceled meanwhile) changes nothing and does not count.
      if (err instanceof Stripe.errors.StripeCardError) {
        failedCharges += 1;
        made += 1;
      } else if (err instanceof Stripe.errors.StripeInvalidRequestError && refused < o.changes) refused += 1;
      else throw err;
    }
  };

  const newCustomer = async () => {
    const n = nextCustomer++;
    const base = o.emailFor?.(n) ?? `c${n}.${o.seed}@example.com`;
    const email = rnd() < 0.3 ? recase(base, rnd) : base;
    let created: Stripe.Customer | undefined;
    await step(async () => {
      created = await o.stripe.customers.create({ email, name: `Customer ${n}` });
    });
    if (!created) return;
    const cus = { id: created.id, base, email };
    customers.push(cus);
    await changeCard(cus, false);
  };

  const changeCard = async (cus: Cus, declining: boolean) => {
    let pm: Stripe.PaymentMethod | undefined;
    await step(async () => {
      pm = await o.stripe.paymentMethods.attach(declining ? DECLINING : pick(CARDS), { customer: cus.id });
    });
    if (!pm) return;
    const id = pm.id;
    await step(() => o.stripe.customers.update(cus.id, { invoice_settings: { default_payment_method: id } }));
  };

  const liveSubs = () => subs.filter((s) => s.live);

  const ops: [number, () => Promise<void>][] = [
    [customers.length < 5 ? 100 : 8, newCustomer],
    [
      10,
      async () => {
        const cus = pick(customers);
        const r = rnd();
        if (r < 0.4) {
          // A new address half the time, the same one in another case otherwise.
          if (rnd() < 0.5) cus.base = `c${nextCustomer++}.${o.seed}.moved@example.com`;
          cus.email = recase(cus.base, rnd);
          await step(() => o.stripe.customers.update(cus.id, { email: cus.email }));
        } else if (r < 0.7) {
          const balance = Math.round((rnd() - 0.5) * 10_000);
          await step(() => o.stripe.customers.update(cus.id, { balance }));
        } else {
          await step(() =>
            o.stripe.customers.update(cus.id, { name: `Renamed ${Math.floor(rnd() * 1000)}` }),
          );
        }
      },
    ],
    [5, async () => changeCard(pick(customers), rnd() < 0.1)],
    [
      8,
      async () => {
        const cus = pick(customers);
        const price = pick(o.catalog.prices);
        let sub: Stripe.Subscription | undefined;
        await step(async () => {
          sub = await o.stripe.subscriptions.create({
            customer: cus.id,
            items: [{ price: price.id, quantity: 1 + Math.floor(rnd() * 3) }],
            ...(rnd() < 0.2 ? { trial_period_days: 7 } : {}),
          });
        });
        const item = sub?.items.data[0];
        if (sub && item)
          subs.push({
            id: sub.id,
            customer: cus.id,
            item: item.id,
            live: sub.status !== 'incomplete_expired',
          });
      },
    ],
    [
      8,
      async () => {
        const sub = liveSubs().length > 0 ? pick(liveSubs()) : undefined;
        if (!sub) return;
        const r = rnd();
        if (r < 0.4) {
          const price = pick(o.catalog.prices);
          await step(() =>
            o.stripe.subscriptions.update(sub.id, {
              items: [{ id: sub.item, price: price.id }],
              proration_behavior: 'none',
            }),
          );
        } else if (r < 0.7) {
          await step(() =>
            o.stripe.subscriptions.update(sub.id, {
              items: [{ id: sub.item, quantity: 1 + Math.floor(rnd() * 4) }],
            }),
          );
        } else {
          await step(() => o.stripe.subscriptions.update(sub.id, { cancel_at_period_end: rnd() < 0.5 }));
        }
      },
    ],
    [
      3,
      async () => {
        const sub = liveSubs().length > 0 ? pick(liveSubs()) : undefined;
        if (!sub) return;
        sub.live = false;
        await step(() => o.stripe.subscriptions.cancel(sub.id));
      },
    ],
    [
      10,
      async () => {
        const cus = pick(customers);
        const amount = 500 + Math.floor(rnd() * 20_000);
        const fail = rnd() < 0.2;
        await step(async () => {
          const ch = await o.stripe.charges.create({
            amount,
            currency: 'usd',
            customer: cus.id,
            source: fail ? 'tok_chargeDeclined' : pick(['tok_visa', 'tok_mastercard']),
          });
          if (ch.status === 'succeeded') charges.push({ id: ch.id, left: amount });
        });
      },
    ],
    [
      4,
      async () => {
        const ch = charges.filter((c) => c.left > 0);
        const target = ch.length > 0 ? pick(ch) : undefined;
        if (!target) return;
        const amount = rnd() < 0.5 ? target.left : Math.max(1, Math.floor(target.left / 2));
        target.left -= amount;
        await step(() => o.stripe.refunds.create({ charge: target.id, amount }));
      },
    ],
    [
      1,
      async () => {
        if (customers.length < 10) return;
        const i = Math.floor(rnd() * customers.length);
        const [cus] = customers.splice(i, 1);
        if (!cus) return;
        for (const s of subs) if (s.customer === cus.id) s.live = false;
        await step(() => o.stripe.customers.del(cus.id));
      },
    ],
  ];

  let lastClock = 0;
  while (made < o.changes) {
    if (made - lastClock >= clockEvery) {
      lastClock = made;
      // Ten days at a time: weekly plans renew every step and monthly ones every third (invoices, charges,
      // past_due), while events stay inside Stripe's 30 days of `/v1/events` for the catch-up.
      await o.onChange?.(made);
      made += 1;
      await o.advanceClock(10 * 86_400);
      continue;
    }
    if (customers.length < 5) {
      await newCustomer();
      continue;
    }
    const total = ops.reduce((s, [w]) => s + w, 0);
    let r = rnd() * total;
    for (const [w, fn] of ops) {
      r -= w;
      if (r < 0) {
        await fn();
        break;
      }
    }
  }
  return { changes: made, failedCharges, refused };
}
