// Payment intents, charges and refunds. `payWithCard` is the one place money moves: API confirmations, invoice
// payments, renewals and Checkout all go through it, so every payment emits the same events.
import type Stripe from 'stripe';
import { ApiError, invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, bool, int, oneOf, str } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import type { Decline } from '../test-cards.ts';
import { buildEnv, getCustomer } from './customers.ts';
import { resolvePaymentMethod, testCardOf } from './payment-methods.ts';
import { buildCharge, buildPaymentIntent, buildRefund } from './payment-objects.ts';

export interface PaymentRequest {
  customer: string | null;
  amount: number;
  currency: string;
  paymentMethod: Stripe.PaymentMethod;
  description?: string | null;
  offSession?: boolean;
  metadata?: Record<string, string>;
  /** An existing intent to confirm; otherwise one is created. */
  intent?: Stripe.PaymentIntent;
}

export interface PaymentResult {
  intent: Stripe.PaymentIntent;
  charge: Stripe.Charge;
  decline: Decline | null;
}

/** Charge a card now. Never throws for a decline: the caller decides whether a decline is an error. */
export function payWithCard(ctx: Ctx, req: PaymentRequest): PaymentResult {
  const env = buildEnv(ctx);
  const test = testCardOf(req.paymentMethod);
  const decline = test.decline ?? (req.offSession ? test.offSessionDecline : undefined) ?? null;
  let intent =
    req.intent ??
    buildPaymentIntent(env, {
      amount: req.amount,
      currency: req.currency,
      customer: req.customer,
      description: req.description ?? null,
      metadata: req.metadata ?? {},
    });
  if (!req.intent) {
    ctx.acct.save(intent);
    ctx.emit('payment_intent.created', intent);
  }
  const charge = buildCharge(
    env,
    {
      amount: req.amount,
      currency: req.currency,
      customer: req.customer,
      description: req.description ?? null,
      payment_intent: intent.id,
      metadata: req.metadata ?? {},
      ...(decline
        ? {
            status: 'failed',
            paid: false,
            captured: false,
            amount_captured: 0,
            failure_code: decline.code,
            failure_message: decline.message,
            outcome: {
              advice_code: null,
              network_advice_code: null,
              network_decline_code: null,
              network_status: 'declined_by_network',
              reason: decline.decline_code ?? decline.code,
              risk_level: 'normal',
              risk_score: 20,
              seller_message: 'The bank did not return any further details with this decline.',
              type: 'issuer_declined',
            },
          }
        : {}),
    },
    req.paymentMethod,
  );
  ctx.acct.save(charge);
  const before = intent;
  if (decline) {
    intent = {
      ...intent,
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: charge.id,
      last_payment_error: {
        type: 'card_error',
        code: decline.code as Stripe.PaymentIntent.LastPaymentError.Code,
        decline_code: decline.decline_code,
        message: decline.message,
        charge: charge.id,
        payment_method: req.paymentMethod,
      },
    };
    ctx.acct.save(intent);
    ctx.emit('charge.failed', charge);
    ctx.emit('payment_intent.payment_failed', intent, previousAttributes(before, intent));
  } else {
    intent = {
      ...intent,
      status: 'succeeded',
      amount_received: req.amount,
      payment_method: req.paymentMethod.id,
      latest_charge: charge.id,
      last_payment_error: null,
    };
    ctx.acct.save(intent);
    ctx.emit('charge.succeeded', charge);
    ctx.emit('payment_intent.succeeded', intent, previousAttributes(before, intent));
  }
  return { intent, charge, decline };
}

export function cardError(decline: Decline, result: PaymentResult): ApiError {
  return new ApiError(402, 'card_error', decline.message, {
    code: decline.code,
    decline_code: decline.decline_code,
    param: decline.param,
    charge: result.charge.id,
    payment_intent: result.intent,
  });
}

function defaultPaymentMethod(ctx: Ctx, customerId: string): Stripe.PaymentMethod | undefined {
  const c = ctx.acct.customers.get(customerId);
  const id = c?.invoice_settings.default_payment_method;
  if (typeof id === 'string') return ctx.acct.paymentMethods.get(id);
  const first = [...ctx.acct.byCustomer.payment_method.get(customerId)][0];
  return first ? ctx.acct.paymentMethods.get(first) : undefined;
}

export function refundCharge(
  ctx: Ctx,
  charge: Stripe.Charge,
  amount: number,
  reason: Stripe.Refund.Reason | null,
  metadata: Record<string, string> = {},
): Stripe.Refund {
  if (charge.status !== 'succeeded')
    throw invalid(`Charge ${charge.id} has not succeeded; it cannot be refunded.`, 'charge');
  const left = charge.amount - charge.amount_refunded;
  if (left <= 0)
    throw invalid(`Charge ${charge.id} has already been refunded.`, 'charge', 'charge_already_refunded');
  if (amount > left || amount <= 0) {
    throw invalid(
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
      'amount',
      'amount_too_large',
    );
  }
  const refund = buildRefund(buildEnv(ctx), {
    amount,
    charge: charge.id,
    currency: charge.currency,
    customer: charge.customer,
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason,
    metadata,
  });
  ctx.acct.save(refund);
  const refunds = charge.refunds ?? {
    object: 'list' as const,
    data: [],
    has_more: false,
    url: `/v1/charges/${charge.id}/refunds`,
  };
  const after: Stripe.Charge = {
    ...charge,
    amount_refunded: charge.amount_refunded + amount,
    refunded: charge.amount_refunded + amount >= charge.amount,
    refunds: { ...refunds, data: [refund, ...refunds.data] },
  };
  ctx.acct.save(after);
  ctx.emit('refund.created', refund);
  ctx.emit('charge.refunded', after, previousAttributes(charge, after));
  return refund;
}

export function registerPayments(r: Router): void {
  r.add('POST', '/v1/payment_intents', (ctx, p) => {
    const amount = int(p, 'amount', true) as number;
    if (amount < 50) throw invalid('Amount must be at least $0.50 usd', 'amount', 'amount_too_small');
    const currency = (str(p, 'currency', true) as string).toLowerCase();
    const customer = str(p, 'customer');
    if (customer) getCustomer(ctx, customer);
    const pmId = str(p, 'payment_method');
    const pm = pmId ? resolvePaymentMethod(ctx, pmId, 'payment_method') : undefined;
    let intent = buildPaymentIntent(buildEnv(ctx), {
      amount,
      currency,
      customer: customer ?? null,
      description: str(p, 'description') ?? null,
      metadata: applyMetadata({}, p),
      payment_method: pm?.id ?? null,
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
    });
    ctx.acct.save(intent);
    ctx.emit('payment_intent.created', intent);
    if (bool(p, 'confirm') && pm) {
      const res = payWithCard(ctx, {
        customer: customer ?? null,
        amount,
        currency,
        paymentMethod: pm,
        intent,
        offSession: bool(p, 'off_session') ?? false,
        description: intent.description,
      });
      if (res.decline) throw cardError(res.decline, res);
      intent = res.intent;
    }
    return intent;
  });
  r.add('GET', '/v1/payment_intents', (ctx, p) => {
    const customer = str(p, 'customer');
    const page = ctx.acct.paymentIntents.page({
      ...listParams(p),
      ids: customer ? ctx.acct.byCustomer.payment_intent.get(customer) : undefined,
    });
    return envelope('/v1/payment_intents', page);
  });
  r.add('GET', '/v1/payment_intents/:id', (ctx, _p, [id]) => getIntent(ctx, id as string));
  r.add('POST', '/v1/payment_intents/:id/confirm', (ctx, p, [id]) => {
    const intent = getIntent(ctx, id as string);
    if (intent.status === 'succeeded' || intent.status === 'canceled') {
      throw invalid(
        `This PaymentIntent's status is ${intent.status}, so it cannot be confirmed.`,
        'intent',
        'payment_intent_unexpected_state',
      );
    }
    const pmId =
      str(p, 'payment_method') ??
      (typeof intent.payment_method === 'string' ? intent.payment_method : undefined);
    if (!pmId) throw missingParam('payment_method');
    const pm = resolvePaymentMethod(ctx, pmId, 'payment_method');
    const cust = typeof intent.customer === 'string' ? intent.customer : null;
    const res = payWithCard(ctx, {
      customer: cust,
      amount: intent.amount,
      currency: intent.currency,
      paymentMethod: pm,
      intent,
      offSession: bool(p, 'off_session') ?? false,
      description: intent.description,
    });
    if (res.decline) throw cardError(res.decline, res);
    return res.intent;
  });
  r.add('POST', '/v1/payment_intents/:id/cancel', (ctx, p, [id]) => {
    const before = getIntent(ctx, id as string);
    if (before.status === 'succeeded' || before.status === 'canceled') {
      throw invalid(
        `You cannot cancel this PaymentIntent because it has a status of ${before.status}.`,
        'intent',
        'payment_intent_unexpected_state',
      );
    }
    const reason =
      oneOf(p, 'cancellation_reason', [
        'duplicate',
        'fraudulent',
        'requested_by_customer',
        'abandoned',
      ] as const) ?? null;
    const after: Stripe.PaymentIntent = {
      ...before,
      status: 'canceled',
      canceled_at: ctx.now,
      cancellation_reason: reason,
    };
    ctx.acct.save(after);
    ctx.emit('payment_intent.canceled', after, previousAttributes(before, after));
    return after;
  });

  r.add('POST', '/v1/charges', (ctx, p) => {
    const amount = int(p, 'amount', true) as number;
    const currency = (str(p, 'currency', true) as string).toLowerCase();
    const customer = str(p, 'customer') ?? null;
    if (customer) getCustomer(ctx, customer);
    const source = str(p, 'source');
    const pm = source
      ? resolvePaymentMethod(ctx, source, 'source')
      : customer
        ? defaultPaymentMethod(ctx, customer)
        : undefined;
    if (!pm) throw invalid('Cannot charge a customer that has no active card', 'card', 'missing');
    const res = payWithCard(ctx, {
      customer,
      amount,
      currency,
      paymentMethod: pm,
      description: str(p, 'description') ?? null,
      metadata: applyMetadata({}, p),
    });
    if (res.decline) throw cardError(res.decline, res);
    return res.charge;
  });
  r.add('GET', '/v1/charges', (ctx, p) => {
    const customer = str(p, 'customer');
    const pi = str(p, 'payment_intent');
    const page = ctx.acct.charges.page({
      ...listParams(p),
      ids: customer ? ctx.acct.byCustomer.charge.get(customer) : undefined,
      filter: pi ? (c) => c.payment_intent === pi : undefined,
    });
    return envelope('/v1/charges', page);
  });
  r.add('GET', '/v1/charges/:id', (ctx, _p, [id]) => getCharge(ctx, id as string));
  r.add('POST', '/v1/charges/:id', (ctx, p, [id]) => {
    const before = getCharge(ctx, id as string);
    const after = {
      ...before,
      metadata: applyMetadata(before.metadata, p),
      description: str(p, 'description') ?? before.description,
    };
    ctx.acct.save(after);
    ctx.emit('charge.updated', after, previousAttributes(before, after));
    return after;
  });

  r.add('POST', '/v1/refunds', (ctx, p) => {
    let chargeId = str(p, 'charge');
    const piId = str(p, 'payment_intent');
    if (!chargeId && piId) {
      const pi = getIntent(ctx, piId);
      chargeId = typeof pi.latest_charge === 'string' ? pi.latest_charge : pi.latest_charge?.id;
      if (!chargeId)
        throw invalid(`PaymentIntent ${piId} does not have a successful charge to refund.`, 'payment_intent');
    }
    if (!chargeId) throw missingParam('charge');
    const charge = getCharge(ctx, chargeId, 'charge');
    const amount = int(p, 'amount') ?? charge.amount - charge.amount_refunded;
    const reason = oneOf(p, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const) ?? null;
    return refundCharge(ctx, charge, amount, reason, applyMetadata({}, p));
  });
  r.add('GET', '/v1/refunds', (ctx, p) => {
    const charge = str(p, 'charge');
    const page = ctx.acct.refunds.page({
      ...listParams(p),
      filter: charge ? (x) => x.charge === charge : undefined,
    });
    return envelope('/v1/refunds', page);
  });
  r.add('GET', '/v1/refunds/:id', (ctx, _p, [id]) => {
    const x = ctx.acct.refunds.get(id as string);
    if (!x) throw noSuch('refund', id as string, 'id');
    return x;
  });
}

export { defaultPaymentMethod };

function getIntent(ctx: Ctx, id: string): Stripe.PaymentIntent {
  const pi = ctx.acct.paymentIntents.get(id);
  if (!pi) throw noSuch('payment_intent', id, 'intent');
  return pi;
}

function getCharge(ctx: Ctx, id: string, param = 'id'): Stripe.Charge {
  const c = ctx.acct.charges.get(id);
  if (!c) throw noSuch('charge', id, param);
  return c;
}
