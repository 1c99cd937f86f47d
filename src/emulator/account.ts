// One Stripe account: every object a key can see. Each API key is its own account, as on real Stripe.
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { Collection, Index, type Slot } from './store.ts';

export type AnyObject =
  | Stripe.Customer
  | Stripe.Product
  | Stripe.Price
  | Stripe.Coupon
  | Stripe.PaymentMethod
  | Stripe.Subscription
  | Stripe.Invoice
  | Stripe.Charge
  | Stripe.Refund
  | Stripe.PaymentIntent
  | Stripe.Checkout.Session
  | Stripe.BillingPortal.Session
  | Stripe.Event
  | Stripe.WebhookEndpoint;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCollection = Collection<any>;

export interface IdempotencyEntry {
  fingerprint: string;
  createdAt: number;
  done: boolean;
  status?: number;
  body?: string;
}

export interface PendingProration {
  price: Stripe.Price;
  quantity: number;
  seconds: number;
  periodSeconds: number;
  sign: 1 | -1;
  description: string;
  period: { start: number; end: number };
  subscriptionItem: string;
}

const CUSTOMER_INDEXED = ['subscription', 'payment_method', 'charge', 'invoice', 'payment_intent'] as const;
type CustomerIndexed = (typeof CUSTOMER_INDEXED)[number];

function customerKey(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'id' in v && typeof v.id === 'string') return v.id;
  return null;
}

export class Account {
  readonly id: string;
  readonly livemode: boolean;
  readonly customers = new Collection<Stripe.Customer>('customer');
  readonly products = new Collection<Stripe.Product>('product');
  readonly prices = new Collection<Stripe.Price>('price');
  readonly coupons = new Collection<Stripe.Coupon>('coupon');
  readonly paymentMethods = new Collection<Stripe.PaymentMethod>('payment_method');
  readonly subscriptions = new Collection<Stripe.Subscription>('subscription');
  readonly invoices = new Collection<Stripe.Invoice>('invoice');
  readonly charges = new Collection<Stripe.Charge>('charge');
  readonly refunds = new Collection<Stripe.Refund>('refund');
  readonly paymentIntents = new Collection<Stripe.PaymentIntent>('payment_intent');
  readonly checkoutSessions = new Collection<Stripe.Checkout.Session>('checkout.session');
  readonly portalSessions = new Collection<Stripe.BillingPortal.Session>('billing_portal.session');
  readonly events = new Collection<Stripe.Event>('event');
  readonly webhookEndpoints = new Collection<Stripe.WebhookEndpoint>('webhook_endpoint');
  readonly byCustomer: Record<CustomerIndexed, Index> = {
    subscription: new Index(),
    payment_method: new Index(),
    charge: new Index(),
    invoice: new Index(),
    payment_intent: new Index(),
  };
  readonly byEmail = new Index();
  readonly idempotency = new Map<string, IdempotencyEntry>();
  /** Webhook endpoint secrets are returned once, at creation; kept here to sign deliveries. */
  readonly endpointSecrets = new Map<string, string>();
  /** Discounts live inside subscriptions by id (`di_…`), expandable like any object. */
  readonly discounts = new Map<string, Stripe.Discount>();
  /** Prorations waiting for the subscription's next invoice (Stripe's pending invoice items). */
  readonly pendingProrations = new Map<string, PendingProration[]>();
  /** Tiers of tiered prices (and of their `plan` views) by price id, served only when `tiers` is expanded. A
   * price's tiers never change once it exists. */
  readonly priceTiers = new Map<string, Stripe.Price.Tier[]>();
  /** Checkout line items, served when `line_items` is expanded or listed. */
  readonly checkoutLineItems = new Map<string, Stripe.LineItem[]>();
  /** Deleted customers still answer retrieve with `{ id, object, deleted: true }`, as on Stripe. */
  readonly deletedCustomers = new Set<string>();
  /** Cards that needed 3-D Secure and were authenticated by a payment, so off-session payments need it no more. */
  readonly setUpCards = new Set<string>();
  /** Intents waiting for 3-D Secure on the emulator's test page, with where to send the customer after it. */
  readonly pendingAuthentications = new Map<string, { returnUrl: string | null }>();
  /** Invoice sequence for `number`. */
  invoiceSeq = 0;

  constructor(readonly key: string) {
    this.livemode = key.startsWith('sk_live_') || key.startsWith('rk_live_');
    this.id = `acct_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  }

  collection(object: string): Collection<AnyObject> | undefined {
    const map: Record<string, AnyCollection> = {
      customer: this.customers,
      product: this.products,
      price: this.prices,
      coupon: this.coupons,
      payment_method: this.paymentMethods,
      subscription: this.subscriptions,
      invoice: this.invoices,
      charge: this.charges,
      refund: this.refunds,
      payment_intent: this.paymentIntents,
      'checkout.session': this.checkoutSessions,
      'billing_portal.session': this.portalSessions,
      event: this.events,
      webhook_endpoint: this.webhookEndpoints,
    };
    return map[object] as unknown as Collection<AnyObject> | undefined;
  }

  /** Store (insert or replace) and keep the secondary indexes in step. */
  save<T extends AnyObject>(obj: T): T {
    const c = this.collection(obj.object);
    if (!c) throw new Error(`no collection for ${obj.object}`);
    if (c.has(obj.id)) c.put(obj);
    else c.insert(obj);
    this.index(obj);
    return obj;
  }

  private index(obj: AnyObject): void {
    if (obj.object === 'customer') {
      this.byEmail.set(obj.id, obj.email ? obj.email.trim().toLowerCase() : null);
      return;
    }
    if ((CUSTOMER_INDEXED as readonly string[]).includes(obj.object) && 'customer' in obj) {
      this.byCustomer[obj.object as CustomerIndexed].set(obj.id, customerKey(obj.customer));
    }
  }

  remove(object: string, id: string): void {
    this.collection(object)?.remove(id);
    if (object === 'customer') this.byEmail.set(id, null);
    else if ((CUSTOMER_INDEXED as readonly string[]).includes(object))
      this.byCustomer[object as CustomerIndexed].set(id, null);
  }

  private readonly byPrefix: Record<string, AnyCollection> = {
    cus_: this.customers,
    prod_: this.products,
    price_: this.prices,
    pm_: this.paymentMethods,
    card_: this.paymentMethods,
    sub_: this.subscriptions,
    in_: this.invoices,
    ch_: this.charges,
    py_: this.charges,
    re_: this.refunds,
    pi_: this.paymentIntents,
    cs_: this.checkoutSessions,
    bps_: this.portalSessions,
    evt_: this.events,
    we_: this.webhookEndpoints,
  };

  /** The stored slot of any collection object by id: prefixes first, then coupons (their ids are free-form). */
  findSlot(id: string): Slot<AnyObject> | undefined {
    const prefix = id.slice(0, id.indexOf('_') + 1);
    const c = this.byPrefix[prefix] as unknown as Collection<AnyObject> | undefined;
    const hit = c?.slot(id);
    if (hit || prefix === 'di_') return hit;
    return this.coupons.slot(id);
  }

  /** Find any object by id, for expansion: collection objects, then discounts (which live inside subscriptions). */
  find(id: string): AnyObject | undefined {
    const slot = this.findSlot(id);
    if (slot) return slot.obj;
    if (id.startsWith('di_')) return this.discounts.get(id) as AnyObject | undefined;
    return undefined;
  }

  clear(): void {
    for (const o of [
      'customer',
      'product',
      'price',
      'coupon',
      'payment_method',
      'subscription',
      'invoice',
      'charge',
      'refund',
      'payment_intent',
      'checkout.session',
      'billing_portal.session',
      'event',
      'webhook_endpoint',
    ]) {
      this.collection(o)?.clear();
    }
    for (const ix of Object.values(this.byCustomer)) ix.clear();
    this.byEmail.clear();
    this.discounts.clear();
    this.priceTiers.clear();
    this.pendingProrations.clear();
    this.checkoutLineItems.clear();
    this.deletedCustomers.clear();
    this.setUpCards.clear();
    this.pendingAuthentications.clear();
    this.idempotency.clear();
    this.endpointSecrets.clear();
    this.invoiceSeq = 0;
  }
}
