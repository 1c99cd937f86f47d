// Payment intents, charges and refunds. `payWithCard` is the one place money moves: API confirmations, invoice
// payments, renewals and Checkout all go through it, so every payment emits the same events.
import type Stripe from 'stripe';
import { ApiError, invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, int, oneOf, str } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import { AUTHENTICATION_REQUIRED, type Decline } from '../test-cards.ts';
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
  /** The customer completed 3-D Secure for this payment (the hosted Checkout page or the 3-D Secure page). */
  authenticated?: boolean;
  metadata?: Record<string, string>;
  /** An existing intent to confirm; otherwise one is created. */
  intent?: Stripe.PaymentIntent;
}

export interface PaymentResult {
  intent: Stripe.PaymentIntent;
  charge: Stripe.Charge;
  decline: Decline | null;
}

/**
 * Whether charging this card now needs 3-D Secure first (Stripe's test cards, docs.stripe.com/testing#regulatory-cards):
 * on-session always, for a card that has it; off-session only for a card that needs it on every payment, or one
 * never set up by an authenticated payment.
 */
export function needsAuthentication(
  ctx: Ctx,
  pm: Stripe.PaymentMethod,
  offSession: boolean,
  authenticated = false,
): boolean {
  const auth = testCardOf(pm).authentication;
  if (!auth || authenticated) return false;
  if (!offSession || auth === 'every_payment') return true;
  return auth === 'on_session' && !ctx.acct.setUpCards.has(pm.id);
}

/** How charging this card now would be declined, or null if it would succeed. */
export function declineFor(
  ctx: Ctx,
  pm: Stripe.PaymentMethod,
  offSession: boolean,
  authenticated = false,
): Decline | null {
  if (needsAuthentication(ctx, pm, offSession, authenticated)) return AUTHENTICATION_REQUIRED;
  return testCardOf(pm).decline ?? null;
}

/**
 * Charge a card now. Never throws for a decline: the caller decides whether a decline is an error. A card that
 * needs 3-D Secure which the customer has not completed is declined with `authentication_required`; callers that
 * can ask the customer (an API confirmation, the hosted Checkout page) check `needsAuthentication` first.
 */
export function payWithCard(ctx: Ctx, req: PaymentRequest): PaymentResult {
  const env = buildEnv(ctx);
  const decline = declineFor(ctx, req.paymentMethod, req.offSession ?? false, req.authenticated);
  if (req.authenticated && !decline) ctx.acct.setUpCards.add(req.paymentMethod.id);
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
      next_action: null,
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
      next_action: null,
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
      const pi = ctx.acct.paymentIntents.get(piId);
      if (!pi) throw noSuch('payment_intent', piId, 'payment_intent');
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

function getCharge(ctx: Ctx, id: string, param = 'id'): Stripe.Charge {
  const c = ctx.acct.charges.get(id);
  if (!c) throw noSuch('charge', id, param);
  return c;
}
