// Demo data for `npm start`: customers matching Settle's demo contacts by email, in every state the sidebar
// shows. Ids come from a fixed seed, so every start produces the same objects; times are relative to the clock
// so subscriptions are current.
import type Stripe from 'stripe';
import type { Account } from './account.ts';
import type { BuildEnv } from './build-env.ts';
import type { Emulator } from './emulator.ts';
import { seededIds } from './ids.ts';
import { addMonths } from './pricing.ts';
import { buildDiscount, nextPeriodEnd } from './resources/billing.ts';
import { buildCoupon, buildPrice, buildProduct } from './resources/catalog.ts';
import { buildCustomer } from './resources/customers.ts';
import { buildCardPaymentMethod } from './resources/payment-methods.ts';
import { buildCharge, buildPaymentIntent, buildRefund } from './resources/payment-objects.ts';
import { buildSubscription, buildSubscriptionItem } from './resources/subscription-builders.ts';
import { emitEvent } from './events.ts';
import { buildSnapshotInvoice } from './snapshot-invoice.ts';
import { TEST_CARDS } from './test-cards.ts';

export const DEMO_SEED = 20_260_101;
const DAY = 86_400;

export interface DemoSummary {
  customers: Record<string, string>;
  prices: Record<string, string>;
  coupons: string[];
}

export function loadDemoData(emu: Emulator, acct: Account): DemoSummary {
  const ids = seededIds(DEMO_SEED);
  const now = Math.floor(emu.clock.now() / DAY) * DAY;
  const at = (t: number): BuildEnv => ({ ids, now: t, livemode: acct.livemode });
  const catalogTime = now - 400 * DAY;
  const save = <T extends Parameters<Account['save']>[0]>(o: T): T => acct.save(o);
  // The account's event history, as Stripe would have recorded it at the time: the list keeps the last 30 days,
  // which is what a newly connected Settle imports onto the timeline. Event ids have their own seed, so adding an
  // event never changes the objects' ids.
  const eventIds = seededIds(DEMO_SEED + 1);
  const happened = (
    type: Stripe.Event.Type,
    object: { id: string; object: string },
    created: number,
    previous?: Record<string, unknown>,
  ) => emitEvent(emu, acct, type, object, { created, ids: eventIds, ...(previous ? { previous } : {}) });

  const products: Record<string, Stripe.Product> = {};
  const prices: Record<string, Stripe.Price> = {};
  for (const [name, monthly] of [
    ['Starter', 900],
    ['Pro', 2900],
    ['Team', 9900],
  ] as const) {
    const prod = save(buildProduct(at(catalogTime), { name, description: `${name} plan` }));
    products[name] = prod;
    const m = save(
      buildPrice(at(catalogTime), {
        product: prod.id,
        unit_amount: monthly,
        nickname: `${name} monthly`,
        lookup_key: `${name.toLowerCase()}_monthly`,
        recurring: {
          interval: 'month',
          interval_count: 1,
          meter: null,
          trial_period_days: null,
          usage_type: 'licensed',
        },
      }),
    );
    const y = save(
      buildPrice(at(catalogTime), {
        product: prod.id,
        unit_amount: monthly * 10,
        nickname: `${name} yearly`,
        lookup_key: `${name.toLowerCase()}_yearly`,
        recurring: {
          interval: 'year',
          interval_count: 1,
          meter: null,
          trial_period_days: null,
          usage_type: 'licensed',
        },
      }),
    );
    save({ ...prod, default_price: m.id });
    prices[`${name.toLowerCase()}_monthly`] = m;
    prices[`${name.toLowerCase()}_yearly`] = y;
  }
  const loyal = save(
    buildCoupon(at(catalogTime), {
      id: 'LOYAL20',
      name: 'Loyalty 20%',
      percent_off: 20,
      duration: 'forever',
      times_redeemed: 1,
    }),
  );
  save(
    buildCoupon(at(catalogTime), {
      id: 'WELCOME10',
      name: 'Welcome $10 off',
      amount_off: 1000,
      currency: 'usd',
      duration: 'once',
    }),
  );

  const customers: Record<string, string> = {};
  const person = (
    email: string,
    name: string,
    created: number,
    card: string | null,
    withUserId: boolean,
    extra: Partial<Stripe.Customer> = {},
  ) => {
    const c = buildCustomer(at(created), {
      email,
      name,
      metadata: withUserId ? { user_id: `user_${email.split('@')[0]}` } : {},
      ...extra,
    });
    let pm: Stripe.PaymentMethod | undefined;
    if (card) {
      const test = TEST_CARDS[card];
      if (!test) throw new Error(`unknown demo card ${card}`);
      pm = save(
        buildCardPaymentMethod(
          at(created),
          test,
          { customer: c.id, billing_details: { address: null, email, name, phone: null, tax_id: null } },
          { month: 8, year: new Date(now * 1000).getUTCFullYear() + 2 },
        ),
      );
      c.invoice_settings = { ...c.invoice_settings, default_payment_method: pm.id };
    }
    save(c);
    customers[email] = c.id;
    return { c, pm };
  };
  const subscribe = (
    c: Stripe.Customer,
    price: Stripe.Price,
    start: number,
    periodStart: number,
    extra: Partial<Stripe.Subscription>,
  ) => {
    const subId = ids('sub', 24);
    const item = buildSubscriptionItem(at(start), price, {
      subscription: subId,
      current_period_start: periodStart,
      current_period_end: nextPeriodEnd(periodStart, price.recurring),
    });
    const sub = save(
      buildSubscription(at(start), {
        id: subId,
        customer: c.id,
        currency: price.currency,
        status: 'active',
        start_date: start,
        billing_cycle_anchor: start,
        items: {
          object: 'list',
          data: [item],
          has_more: false,
          url: `/v1/subscription_items?subscription=${subId}`,
        },
        ...extra,
      }),
    );
    // As it was when created: trialing or active, not yet past due or canceled.
    const asCreated: Stripe.Subscription = {
      ...sub,
      status: sub.trial_end ? 'trialing' : 'active',
      canceled_at: null,
      ended_at: null,
      cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    };
    happened('customer.subscription.created', asCreated, start);
    return sub;
  };
  const pay = (
    c: Stripe.Customer,
    pm: Stripe.PaymentMethod,
    sub: Stripe.Subscription | null,
    amount: number,
    t: number,
    fail?: { code: string; decline: string; message: string },
    description = 'Subscription update',
  ) => {
    const pi = buildPaymentIntent(at(t), {
      amount,
      currency: 'usd',
      customer: c.id,
      status: fail ? 'requires_payment_method' : 'succeeded',
      amount_received: fail ? 0 : amount,
      payment_method: fail ? null : pm.id,
    });
    const ch = buildCharge(
      at(t),
      {
        amount,
        currency: 'usd',
        customer: c.id,
        payment_intent: pi.id,
        description,
        ...(fail
          ? {
              status: 'failed',
              paid: false,
              captured: false,
              amount_captured: 0,
              failure_code: fail.code,
              failure_message: fail.message,
              outcome: {
                advice_code: null,
                network_advice_code: null,
                network_decline_code: null,
                network_status: 'declined_by_network',
                reason: fail.decline,
                risk_level: 'normal',
                risk_score: 20,
                seller_message: 'The bank did not return any further details with this decline.',
                type: 'issuer_declined',
              },
            }
          : {}),
      },
      pm,
    );
    save({ ...pi, latest_charge: ch.id });
    const inv = buildSnapshotInvoice(at(t), {
      customer: c.id,
      customer_email: c.email,
      customer_name: c.name ?? null,
      total: amount,
      subtotal: amount,
      amount_due: amount,
      amount_paid: fail ? 0 : amount,
      amount_remaining: fail ? amount : 0,
      status: fail ? 'open' : 'paid',
      attempt_count: 1,
      attempted: true,
      billing_reason: 'subscription_cycle',
      parent: sub
        ? {
            type: 'subscription_details',
            quote_details: null,
            subscription_details: { metadata: {}, subscription: sub.id },
          }
        : null,
    });
    save(inv);
    save({ ...ch, metadata: { invoice: inv.id } });
    const charge = acct.charges.get(ch.id) as Stripe.Charge;
    const draft: Stripe.Invoice = { ...inv, status: 'draft', amount_paid: 0, amount_remaining: amount };
    happened('invoice.created', draft, t);
    happened(fail ? 'charge.failed' : 'charge.succeeded', charge, t);
    return { ch: charge, inv };
  };

  // Ada Lovelace: active Pro monthly, visa, three paid months.
  {
    const start = addMonths(now, -3) - 2 * DAY;
    const { c, pm } = person('ada@example.com', 'Ada Lovelace', start, '4242424242424242', true);
    let period = start;
    const payments: number[] = [];
    while (nextPeriodEnd(period, prices.pro_monthly?.recurring ?? null) <= now) {
      payments.push(period);
      period = nextPeriodEnd(period, prices.pro_monthly?.recurring ?? null);
    }
    const sub = subscribe(c, prices.pro_monthly as Stripe.Price, start, period, {});
    let last: Stripe.Invoice | undefined;
    for (const t of [...payments, period]) last = pay(c, pm as Stripe.PaymentMethod, sub, 2900, t).inv;
    save({ ...sub, latest_invoice: last?.id ?? null });
  }
  // Grace Hopper: trialing Team.
  {
    const start = now - 4 * DAY;
    const { c } = person('grace@example.com', 'Grace Hopper', start, '4242424242424242', true);
    const sub = subscribe(c, prices.team_monthly as Stripe.Price, start, start, {
      status: 'trialing',
      trial_start: start,
      trial_end: start + 14 * DAY,
    });
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    save({ ...sub, items: { ...sub.items, data: [{ ...item, current_period_end: start + 14 * DAY }] } });
  }
  // Alan Turing: past_due after a declined renewal.
  {
    const start = addMonths(now, -2) + 3 * DAY;
    const { c, pm } = person('alan@example.com', 'Alan Turing', start, '4000000000000341', true);
    const periodStart = addMonths(start, 1);
    const sub = subscribe(c, prices.pro_monthly as Stripe.Price, start, periodStart, { status: 'past_due' });
    pay(c, pm as Stripe.PaymentMethod, sub, 2900, start);
    const { inv } = pay(c, pm as Stripe.PaymentMethod, sub, 2900, periodStart, {
      code: 'card_declined',
      decline: 'generic_decline',
      message: 'Your card was declined.',
    });
    save({ ...sub, latest_invoice: inv.id });
    save({ ...(acct.customers.get(c.id) as Stripe.Customer), delinquent: true });
  }
  // Margaret Hamilton: Starter, canceled about three weeks ago.
  {
    const start = addMonths(now, -4) + 10 * DAY;
    const { c, pm } = person('margaret@example.com', 'Margaret Hamilton', start, '5555555555554444', true);
    const canceledAt = addMonths(start, 3);
    const sub = subscribe(c, prices.starter_monthly as Stripe.Price, start, addMonths(start, 2), {
      status: 'canceled',
      canceled_at: canceledAt,
      ended_at: canceledAt,
      cancellation_details: {
        comment: null,
        feedback: 'too_expensive',
        feedback_option: null,
        reason: 'cancellation_requested',
      },
    });
    for (let i = 0; i < 3; i++) pay(c, pm as Stripe.PaymentMethod, sub, 900, addMonths(start, i));
    happened('customer.subscription.deleted', sub, canceledAt);
  }
  // Linus Torvalds: active Pro yearly with LOYAL20 forever, mastercard, one refunded charge.
  {
    const start = addMonths(now, -14);
    const { c, pm } = person('linus@example.com', 'Linus Torvalds', start, '5555555555554444', true);
    const periodStart = addMonths(start, 12);
    const sub = subscribe(c, prices.pro_yearly as Stripe.Price, start, periodStart, {});
    const disc = buildDiscount(at(start), loyal, { customer: c.id, subscription: sub.id, start });
    acct.discounts.set(disc.id, disc);
    const yearly = 29000 - 29000 * 0.2;
    pay(c, pm as Stripe.PaymentMethod, sub, yearly, start);
    const { inv } = pay(c, pm as Stripe.PaymentMethod, sub, yearly, periodStart);
    // A one-off support add-on last week, refunded at the customer's request.
    const { ch } = pay(
      c,
      pm as Stripe.PaymentMethod,
      null,
      4900,
      now - 9 * DAY,
      undefined,
      'Priority support add-on',
    );
    const refundedAt = now - 7 * DAY;
    const refund = save(
      buildRefund(at(refundedAt), {
        amount: 4900,
        charge: ch.id,
        currency: 'usd',
        customer: c.id,
        payment_intent: ch.payment_intent,
        reason: 'requested_by_customer',
      }),
    );
    const refunded = save({
      ...ch,
      amount_refunded: 4900,
      refunded: true,
      refunds: { object: 'list', data: [refund], has_more: false, url: `/v1/charges/${ch.id}/refunds` },
    });
    happened('charge.refunded', refunded, refundedAt, { amount_refunded: 0, refunded: false });
    save({ ...sub, discounts: [disc.id], latest_invoice: inv.id });
  }
  // Katherine Johnson: no subscription, a balance.
  person('katherine@example.com', 'Katherine Johnson', now - 30 * DAY, null, false, { balance: 1500 });

  emu.mutated();
  return {
    customers,
    prices: Object.fromEntries(Object.entries(prices).map(([k, v]) => [k, v.id])),
    coupons: ['LOYAL20', 'WELCOME10'],
  };
}
