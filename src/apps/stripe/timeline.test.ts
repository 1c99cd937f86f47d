// §3.4: the six Stripe events and their timeline entries, keyed by event id, dated at the event's created.
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { timelineEntryFor, timelineEventNames, timelineHandlers } from './timeline.ts';
import { charge, item, price, product, subscription } from './__fixtures__/stripe-objects.ts';

const CREATED = 1795608000;

function event(type: string, object: unknown, extra: Record<string, unknown> = {}): Stripe.Event {
  return {
    id: `evt_${type.replace(/\./g, '_')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: CREATED,
    livemode: false,
    pending_webhooks: 1,
    request: null,
    type,
    data: { object, ...extra },
  } as unknown as Stripe.Event;
}

const products = new Map([['prod_pro', product('prod_pro', 'Pro')]]);
const sub = subscription('sub_1', 'cus_1', 'active', [
  item('si', price('price_pro', 4900, { product: 'prod_pro' }), 2),
]);

describe('timeline handlers', () => {
  it('is a map of exactly the six §3.4 event types', () => {
    expect(Object.keys(timelineHandlers).sort()).toEqual(
      [
        'charge.failed',
        'charge.refunded',
        'charge.succeeded',
        'customer.subscription.created',
        'customer.subscription.deleted',
        'invoice.created',
      ].sort(),
    );
    expect(timelineEventNames).toHaveLength(6);
  });

  it('invoice.created → invoice_created', () => {
    const invoice = {
      id: 'in_1',
      object: 'invoice',
      customer: 'cus_1',
      amount_due: 49000,
      currency: 'usd',
      status: 'draft',
      parent: {
        type: 'subscription_details',
        subscription_details: { subscription: 'sub_bob', metadata: null },
        quote_details: null,
      },
    };
    expect(timelineEntryFor(event('invoice.created', invoice))).toEqual({
      customerId: 'cus_1',
      entry: {
        name: 'invoice_created',
        createdAt: new Date(CREATED * 1000),
        idempotencyKey: 'evt_invoice_created',
        metadata: {
          invoice_id: 'in_1',
          amount_due: 490,
          currency: 'usd',
          subscription: 'sub_bob',
          status: 'draft',
          livemode: false,
        },
      },
    });
  });

  it('customer.subscription.created → created_subscription with plan, price, interval, status', () => {
    const result = timelineEntryFor(event('customer.subscription.created', sub), { products });
    expect(result?.entry.name).toBe('created_subscription');
    expect(result?.entry.metadata).toMatchObject({
      subscription_id: 'sub_1',
      plan: 'Pro',
      price: 98, // 4900 × 2
      interval: 'month',
      interval_count: 1,
      status: 'active',
      currency: 'usd',
    });
  });

  it('charge.succeeded → charged', () => {
    const ch = charge('ch_1', 'cus_1', 6320, CREATED, { description: 'Subscription update' });
    expect(timelineEntryFor(event('charge.succeeded', ch))?.entry).toMatchObject({
      name: 'charged',
      metadata: { charge_id: 'ch_1', amount: 63.2, currency: 'usd', description: 'Subscription update' },
    });
  });

  it('charge.refunded → charge_refunded with the total refunded and this refund from previous_attributes', () => {
    const ch = charge('ch_1', 'cus_1', 5000, CREATED - 100, { amount_refunded: 3000, refunded: false });
    const result = timelineEntryFor(
      event('charge.refunded', ch, { previous_attributes: { amount_refunded: 1000 } }),
    );
    expect(result?.entry).toMatchObject({
      name: 'charge_refunded',
      createdAt: new Date(CREATED * 1000), // the event's time, not the charge's
      metadata: {
        charge_id: 'ch_1',
        amount: 50,
        amount_refunded: 30,
        refund_amount: 20,
        fully_refunded: false,
        currency: 'usd',
      },
    });
  });

  it('charge.failed → charge_failed with failure code and message', () => {
    const ch = charge('ch_2', 'cus_1', 49000, CREATED, {
      status: 'failed',
      failure_code: 'card_declined',
      failure_message: 'Your card has insufficient funds.',
      outcome: { reason: 'insufficient_funds' } as Stripe.Charge.Outcome,
    });
    expect(timelineEntryFor(event('charge.failed', ch))?.entry.metadata).toEqual({
      charge_id: 'ch_2',
      amount: 490,
      currency: 'usd',
      failure_code: 'card_declined',
      failure_message: 'Your card has insufficient funds.',
      decline_reason: 'insufficient_funds',
      livemode: false,
    });
  });

  it('customer.subscription.deleted → deleted_subscription with canceled_at', () => {
    const gone = { ...sub, status: 'canceled', canceled_at: 1790000000, ended_at: 1790856000 };
    expect(timelineEntryFor(event('customer.subscription.deleted', gone), { products })?.entry).toMatchObject(
      {
        name: 'deleted_subscription',
        metadata: { subscription_id: 'sub_1', plan: 'Pro', canceled_at: 1790000000, ended_at: 1790856000 },
      },
    );
  });

  it('other event types record nothing', () => {
    expect(timelineEntryFor(event('customer.updated', { id: 'cus_1' }))).toBeUndefined();
  });

  it('the same event gives the same idempotency key every time', () => {
    const ch = charge('ch_1', 'cus_1', 100, CREATED);
    const a = timelineEntryFor(event('charge.succeeded', ch));
    const b = timelineEntryFor(event('charge.succeeded', ch));
    expect(a?.entry.idempotencyKey).toBe('evt_charge_succeeded');
    expect(a).toEqual(b);
  });
});
