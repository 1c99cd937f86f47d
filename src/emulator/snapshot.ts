// Loading a snapshot: a JSON array of Stripe objects, or `{ now?, stripe_objects: [...] }`. Each object is filled
// out to the full shape a real Stripe object has; references by id are kept, subscription item prices resolved.
import { readFileSync } from 'node:fs';
import type Stripe from 'stripe';
import type { Account, AnyObject } from './account.ts';
import type { BuildEnv } from './build-env.ts';
import type { Emulator } from './emulator.ts';
import { buildCoupon, buildPrice, buildProduct } from './resources/catalog.ts';
import { buildCustomer } from './resources/customers.ts';
import { buildCardPaymentMethod } from './resources/payment-methods.ts';
import { buildCharge, buildPaymentIntent, buildRefund } from './resources/payment-objects.ts';
import { takeTiers } from './resources/price-tiers.ts';
import { buildSubscription, buildSubscriptionItem } from './resources/subscription-builders.ts';
import { buildDiscount, nextPeriodEnd } from './resources/billing.ts';
import { buildSnapshotInvoice } from './snapshot-invoice.ts';
import { cardByLast4 } from './test-cards.ts';

export interface SnapshotFile {
  now?: number;
  stripe_objects: Array<Record<string, unknown>>;
}

export function readSnapshot(path: string): SnapshotFile {
  return normalizeSnapshot(JSON.parse(readFileSync(path, 'utf8')) as unknown);
}

export function normalizeSnapshot(data: unknown): SnapshotFile {
  if (Array.isArray(data)) return { stripe_objects: data as SnapshotFile['stripe_objects'] };
  if (data && typeof data === 'object' && Array.isArray((data as SnapshotFile).stripe_objects)) {
    const d = data as SnapshotFile;
    return { now: typeof d.now === 'number' ? d.now : undefined, stripe_objects: d.stripe_objects };
  }
  throw new Error('A snapshot is a JSON array of Stripe objects or an object with `stripe_objects`.');
}

// Dependencies first, so references resolve (a subscription's item prices, a charge's payment method).
export const ORDER = [
  'product',
  'price',
  'coupon',
  'customer',
  'payment_method',
  'subscription',
  'invoice',
  'payment_intent',
  'charge',
  'refund',
];

export function loadSnapshot(emu: Emulator, acct: Account, snap: SnapshotFile): number {
  if (snap.now !== undefined) emu.clock.freeze(snap.now);
  const objects = [...snap.stripe_objects].sort(
    (a, b) => ORDER.indexOf(String(a.object)) - ORDER.indexOf(String(b.object)),
  );
  let n = 0;
  for (const raw of objects) {
    const env: BuildEnv = {
      ids: emu.ids,
      now: typeof raw.created === 'number' ? raw.created : emu.clock.now(),
      livemode: acct.livemode,
    };
    const obj = buildFromSnapshot(acct, env, raw);
    if (!obj) continue;
    acct.save(obj);
    n++;
  }
  // Charges listed by a refund carry it, as Stripe's `charge.refunds` does.
  for (const r of acct.refunds.values()) {
    const chId = typeof r.charge === 'string' ? r.charge : r.charge?.id;
    const ch = chId ? acct.charges.get(chId) : undefined;
    if (ch && ch.refunds && !ch.refunds.data.some((x) => x.id === r.id)) {
      acct.save({ ...ch, refunds: { ...ch.refunds, data: [r, ...ch.refunds.data] } });
    }
  }
  emu.mutated();
  return n;
}

/** What a snapshot may hold: every object but sessions, events and webhook endpoints. */
type SnapshotObject = Exclude<
  AnyObject,
  Stripe.Checkout.Session | Stripe.BillingPortal.Session | Stripe.Event | Stripe.WebhookEndpoint
>;

function buildFromSnapshot(
  acct: Account,
  env: BuildEnv,
  raw: Record<string, unknown>,
): SnapshotObject | null {
  switch (raw.object) {
    case 'product':
      return buildProduct(env, raw as Partial<Stripe.Product>);
    case 'price':
      return buildPrice(env, takeTiers(acct, raw) as Partial<Stripe.Price>);
    case 'coupon':
      return buildCoupon(env, raw as Partial<Stripe.Coupon>);
    case 'customer':
      return buildCustomer(env, raw as Partial<Stripe.Customer>);
    case 'payment_method': {
      const card = raw.card as
        | {
            brand?: string;
            last4?: string;
            exp_month?: number;
            exp_year?: number;
            funding?: string;
            country?: string;
          }
        | undefined;
      const brand = card?.brand ?? 'visa';
      const last4 = card?.last4 ?? '4242';
      const test = cardByLast4(brand, last4) ?? {
        number: `000000000000${last4}`,
        brand,
        funding: 'credit' as const,
        country: card?.country ?? 'US',
      };
      const expiry =
        card?.exp_month && card.exp_year ? { month: card.exp_month, year: card.exp_year } : undefined;
      const pm = buildCardPaymentMethod(env, test, {}, expiry);
      const merged = { ...pm, ...raw, card: { ...pm.card, ...(card ?? {}) } } as Stripe.PaymentMethod;
      return merged;
    }
    case 'subscription':
      return subscriptionFromSnapshot(acct, env, raw);
    case 'invoice':
      return buildSnapshotInvoice(env, raw as Partial<Stripe.Invoice>);
    case 'charge': {
      const pmId = typeof raw.payment_method === 'string' ? raw.payment_method : null;
      const pm = pmId ? acct.paymentMethods.get(pmId) : defaultPmOf(acct, raw.customer);
      const ch = buildCharge(
        env,
        { ...(raw as Partial<Stripe.Charge>), payment_method_details: undefined },
        pm,
      );
      if (raw.payment_method_details && !pm)
        ch.payment_method_details = raw.payment_method_details as Stripe.Charge.PaymentMethodDetails;
      if (pm && raw.payment_method === undefined) ch.payment_method = pm.id;
      return ch;
    }
    case 'refund':
      return buildRefund(env, raw as Partial<Stripe.Refund>);
    case 'payment_intent':
      return buildPaymentIntent(env, raw as Partial<Stripe.PaymentIntent>);
    default:
      return null;
  }
}

function defaultPmOf(acct: Account, customer: unknown): Stripe.PaymentMethod | undefined {
  if (typeof customer !== 'string') return undefined;
  const c = acct.customers.get(customer);
  const id = c?.invoice_settings.default_payment_method;
  return typeof id === 'string' ? acct.paymentMethods.get(id) : undefined;
}

function subscriptionFromSnapshot(
  acct: Account,
  env: BuildEnv,
  raw: Record<string, unknown>,
): Stripe.Subscription {
  const id = typeof raw.id === 'string' ? raw.id : env.ids('sub', 24);
  const rawItems = ((raw.items as { data?: unknown[] } | undefined)?.data ?? []) as Array<
    Record<string, unknown>
  >;
  const items = rawItems.map((it) => {
    const priceRef =
      it.price && typeof it.price === 'object'
        ? takeTiers(acct, it.price as Record<string, unknown>)
        : it.price;
    const priceId = typeof priceRef === 'string' ? priceRef : (priceRef as { id?: string } | undefined)?.id;
    const price =
      (priceId ? acct.prices.get(priceId) : undefined) ??
      buildPrice(env, (priceRef as Partial<Stripe.Price>) ?? {});
    const start = typeof it.current_period_start === 'number' ? it.current_period_start : env.now;
    return buildSubscriptionItem(env, price, {
      ...(it as Partial<Stripe.SubscriptionItem>),
      subscription: id,
      current_period_start: start,
      current_period_end:
        typeof it.current_period_end === 'number'
          ? it.current_period_end
          : nextPeriodEnd(start, price.recurring),
    });
  });
  const discounts = ((raw.discounts as unknown[] | undefined) ?? []).map((d) => {
    if (typeof d === 'string' && !acct.discounts.has(d) && acct.coupons.has(d)) {
      const disc = buildDiscount(env, acct.coupons.get(d) as Stripe.Coupon, {
        subscription: id,
        customer: raw.customer as string,
        start: env.now,
      });
      acct.discounts.set(disc.id, disc);
      return disc.id;
    }
    if (d && typeof d === 'object') {
      const o = d as {
        id?: string;
        coupon?: string | { id: string };
        source?: { coupon?: string | { id: string } };
      };
      const couponRef = o.source?.coupon ?? o.coupon;
      const couponId = typeof couponRef === 'string' ? couponRef : couponRef?.id;
      const coupon = couponId ? acct.coupons.get(couponId) : undefined;
      if (coupon) {
        const disc = buildDiscount(env, coupon, {
          ...(o.id ? { id: o.id } : {}),
          subscription: id,
          customer: raw.customer as string,
          start: env.now,
        });
        acct.discounts.set(disc.id, disc);
        return disc.id;
      }
    }
    return String(d);
  });
  const sub = buildSubscription(env, {
    ...(raw as Partial<Stripe.Subscription>),
    id,
    discounts,
    items: { object: 'list', data: items, has_more: false, url: `/v1/subscription_items?subscription=${id}` },
  });
  if (raw.billing_cycle_anchor === undefined)
    sub.billing_cycle_anchor = items[0]?.current_period_start ?? sub.created;
  return sub;
}
