// The §3.3 attribute rules written again, independently of src/apps/stripe/attributes.ts, for the convergence
// tests: from the emulator's final state (read through the official SDK) to the `stripe_*` attributes each
// customer's contact must carry. It covers what the workloads use: one currency with two decimals, per-unit
// prices, no discounts, cards as payment methods.
import type Stripe from 'stripe';

const STATUS_ORDER = [
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'incomplete',
  'paused',
  'canceled',
  'incomplete_expired',
];
const rank = (s: string) => {
  const i = STATUS_ORDER.indexOf(s);
  return i < 0 ? STATUS_ORDER.length : i;
};
const idOf = (x: string | { id: string } | null | undefined) => (typeof x === 'string' ? x : (x?.id ?? null));
const major = (minor: number) => Math.round(minor) / 100;
const round2 = (x: number) => (Math.sign(x) * Math.round(Math.abs(x) * 100 + 1e-9)) / 100;
const MONTHS: Record<string, number> = { day: 12 / 365, week: 12 / 52, month: 1, year: 12 };

export interface FinalState {
  customers: Stripe.Customer[];
  subscriptions: Stripe.Subscription[];
  charges: Stripe.Charge[];
  paymentMethods: Stripe.PaymentMethod[];
  products: Map<string, Stripe.Product>;
}

/** Everything the account holds now, listed through the SDK. */
export async function readFinalState(stripe: Stripe): Promise<FinalState> {
  const all = async <T>(it: AsyncIterable<T>) => {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  };
  const customers = await all(stripe.customers.list({ limit: 100 }));
  const subscriptions = await all(
    stripe.subscriptions.list({ status: 'all', limit: 100, expand: ['data.items.data.price'] }),
  );
  const charges = await all(stripe.charges.list({ limit: 100 }));
  const paymentMethods: Stripe.PaymentMethod[] = [];
  for (const c of customers)
    paymentMethods.push(...(await all(stripe.customers.listPaymentMethods(c.id, { limit: 100 }))));
  const products = new Map((await all(stripe.products.list({ limit: 100 }))).map((p) => [p.id, p]));
  return { customers, subscriptions, charges, paymentMethods, products };
}

const itemAmount = (i: Stripe.SubscriptionItem) => (i.price.unit_amount ?? 0) * (i.quantity ?? 1);

/** The attributes of one customer, absent ones left out. */
export function expectedAttributes(
  state: FinalState,
  customer: Stripe.Customer,
  account: string,
  livemode: boolean,
): Record<string, unknown> {
  const subs = state.subscriptions
    .filter((s) => idOf(s.customer) === customer.id)
    .sort((a, b) => rank(a.status) - rank(b.status) || b.created - a.created || (a.id < b.id ? -1 : 1));
  const sub = subs[0];
  const charges = state.charges
    .filter((c) => idOf(c.customer) === customer.id)
    .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  const out: Record<string, unknown> = {
    stripe_id: customer.id,
    stripe_account_balance: major(customer.balance),
    stripe_customer_created_at: customer.created,
    stripe_account: account,
    stripe_livemode: livemode,
    stripe_mrr: 0,
  };
  if (customer.delinquent !== null && customer.delinquent !== undefined)
    out.stripe_delinquent = customer.delinquent;
  const currency = customer.currency ?? sub?.currency ?? charges[0]?.currency ?? null;
  if (currency) out.stripe_currency = currency.toLowerCase();
  if (sub) {
    const items = [...sub.items.data].sort(
      (a, b) => itemAmount(b) - itemAmount(a) || a.created - b.created || (a.id < b.id ? -1 : 1),
    );
    const item = items[0];
    if (item) {
      const product = state.products.get(idOf(item.price.product as string) ?? '');
      const name = product && !product.deleted ? product.name : item.price.nickname;
      if (name) out.stripe_plan = name;
      const rec = item.price.recurring;
      if (rec) {
        out.stripe_plan_interval = rec.interval;
        out.stripe_plan_interval_count = rec.interval_count;
      }
      out.stripe_plan_price = major(sub.items.data.reduce((sum, i) => sum + itemAmount(i), 0));
      out.stripe_subscription_period_start_at = item.current_period_start;
      if (sub.status === 'active' || sub.status === 'past_due') {
        const monthly = sub.items.data.reduce((sum, i) => {
          const r = i.price.recurring;
          return r ? sum + itemAmount(i) / ((MONTHS[r.interval] ?? 1) * r.interval_count) : sum;
        }, 0);
        out.stripe_mrr = round2(monthly / 100);
      }
    }
    out.stripe_subscription_status = sub.status;
    if (sub.trial_end !== null) out.stripe_trial_end_at = sub.trial_end;
    out.stripe_cancel_at_period_end = sub.cancel_at_period_end;
  }
  // The default card: the customer's default payment method, else its default source, else the subscription's.
  const ref =
    idOf(customer.invoice_settings?.default_payment_method as string | null) ??
    idOf(customer.default_source as string | null) ??
    idOf(sub?.default_payment_method as string | null);
  const pm = ref ? state.paymentMethods.find((p) => p.id === ref) : undefined;
  if (pm?.card) {
    out.stripe_card_brand = pm.card.brand;
    out.stripe_card_expires_at = Date.UTC(pm.card.exp_year, pm.card.exp_month, 1) / 1000 - 1;
  }
  const last = charges[0];
  if (last) {
    out.stripe_last_payment_at = last.created;
    out.stripe_last_payment_status = last.refunded ? 'refunded' : last.status;
  }
  out.stripe_total_spend = major(
    charges
      .filter((c) => c.status === 'succeeded' && c.captured && c.currency === currency)
      .reduce((sum, c) => sum + c.amount - c.amount_refunded, 0),
  );
  return out;
}

export const normaliseEmail = (e: string | null | undefined) => {
  const t = e?.trim().normalize('NFC').toLowerCase().normalize('NFC');
  return t ? t : null;
};
