/**
 * Stripe events → timeline events (DESIGN.md §3.4). A map from event type to handler rather than a switch, so
 * the set of handled types is data (the manifest's `events` list and tests read it) and adding one is one entry.
 * Amounts in metadata are major units, like the attributes; every entry carries the Stripe object's currency.
 */
import type Stripe from 'stripe';
import { toMajorUnits } from './currency.ts';
import { pickPrimaryItem, planPricePerInterval } from './pricing.ts';

/** Exactly what `host.timeline.record` takes: keyed by the Stripe event id, dated at the event's `created`. */
export interface TimelineEntry {
  name: string;
  createdAt: Date;
  metadata: Record<string, unknown>;
  idempotencyKey: string;
}

export interface TimelineResult {
  /** The Stripe customer the event belongs to: the sync engine turns it into a contact through matching. */
  customerId: string | null;
  entry: TimelineEntry;
}

export interface TimelineContext {
  /** Products by id, for plan names when `price.product` is not expanded. */
  products?: ReadonlyMap<string, Stripe.Product>;
}

type EventOf<T extends Stripe.Event['type']> = Extract<Stripe.Event, { type: T }>;
type Handler<T extends Stripe.Event['type']> = (
  event: EventOf<T>,
  ctx: TimelineContext,
) => TimelineResult | undefined;

function idOf(ref: string | { id: string } | null | undefined): string | null {
  return (typeof ref === 'string' ? ref : ref?.id) ?? null;
}

function entry(event: Stripe.Event, name: string, metadata: Record<string, unknown>): TimelineEntry {
  // livemode in every entry: test-mode data is labelled as such wherever it appears (§3.1).
  return {
    name,
    createdAt: new Date(event.created * 1000),
    metadata: { ...metadata, livemode: event.livemode },
    idempotencyKey: event.id,
  };
}

function planOf(subscription: Stripe.Subscription, ctx: TimelineContext) {
  const item = pickPrimaryItem(subscription);
  if (!item) return { plan: null, price: null, interval: null, interval_count: null };
  const product = item.price.product;
  const resolved = typeof product === 'string' ? ctx.products?.get(product) : product;
  return {
    plan: resolved && !resolved.deleted ? resolved.name : (item.price.nickname ?? null),
    price: toMajorUnits(planPricePerInterval(subscription, item), subscription.currency),
    interval: item.price.recurring?.interval ?? null,
    interval_count: item.price.recurring?.interval_count ?? null,
  };
}

const chargeFacts = (charge: Stripe.Charge) => ({
  charge_id: charge.id,
  amount: toMajorUnits(charge.amount, charge.currency),
  currency: charge.currency,
});

const invoiceSubscription = (invoice: Stripe.Invoice): string | null =>
  idOf(invoice.parent?.subscription_details?.subscription);

export const timelineHandlers: { readonly [T in Stripe.Event['type']]?: Handler<T> } = {
  'invoice.created': (event) => {
    const invoice = event.data.object;
    return {
      customerId: idOf(invoice.customer),
      entry: entry(event, 'invoice_created', {
        invoice_id: invoice.id,
        amount_due: toMajorUnits(invoice.amount_due, invoice.currency),
        currency: invoice.currency,
        subscription: invoiceSubscription(invoice),
        status: invoice.status,
      }),
    };
  },
  'customer.subscription.created': (event, ctx) => {
    const subscription = event.data.object;
    return {
      customerId: idOf(subscription.customer),
      entry: entry(event, 'created_subscription', {
        subscription_id: subscription.id,
        ...planOf(subscription, ctx),
        currency: subscription.currency,
        status: subscription.status,
      }),
    };
  },
  'charge.succeeded': (event) => {
    const charge = event.data.object;
    return {
      customerId: idOf(charge.customer),
      entry: entry(event, 'charged', { ...chargeFacts(charge), description: charge.description }),
    };
  },
  'charge.refunded': (event) => {
    const charge = event.data.object;
    // `amount_refunded` is cumulative; `previous_attributes` (when Stripe sends it) gives this refund's share.
    const before = event.data.previous_attributes?.amount_refunded;
    return {
      customerId: idOf(charge.customer),
      entry: entry(event, 'charge_refunded', {
        ...chargeFacts(charge),
        amount_refunded: toMajorUnits(charge.amount_refunded, charge.currency),
        refund_amount:
          typeof before === 'number' ? toMajorUnits(charge.amount_refunded - before, charge.currency) : null,
        fully_refunded: charge.refunded,
      }),
    };
  },
  'charge.failed': (event) => {
    const charge = event.data.object;
    return {
      customerId: idOf(charge.customer),
      entry: entry(event, 'charge_failed', {
        ...chargeFacts(charge),
        failure_code: charge.failure_code,
        failure_message: charge.failure_message,
        decline_reason: charge.outcome?.reason ?? null,
      }),
    };
  },
  'customer.subscription.deleted': (event, ctx) => {
    const subscription = event.data.object;
    const { plan } = planOf(subscription, ctx);
    return {
      customerId: idOf(subscription.customer),
      entry: entry(event, 'deleted_subscription', {
        subscription_id: subscription.id,
        plan,
        // canceled_at is when cancellation was requested; a subscription that simply ran out has only ended_at.
        canceled_at: subscription.canceled_at ?? subscription.ended_at ?? event.created,
        ended_at: subscription.ended_at,
      }),
    };
  },
};

/** Timeline event names, for the manifest's `events`. */
export const timelineEventNames = [
  'invoice_created',
  'created_subscription',
  'charged',
  'charge_refunded',
  'charge_failed',
  'deleted_subscription',
] as const;

/** The entry for a Stripe event, or undefined for a type the timeline does not record. */
export function timelineEntryFor(event: Stripe.Event, ctx: TimelineContext = {}): TimelineResult | undefined {
  const handler = timelineHandlers[event.type] as Handler<Stripe.Event['type']> | undefined;
  return handler?.(event as never, ctx);
}
