// Payment intents, and 3-D Secure for them. Confirming with a card that needs it leaves the intent in `requires_action`,
// pointing at the emulator's test page (as Stripe's test mode does at hooks.stripe.com), where the customer
// completes or fails the challenge; the payment is then attempted, or the intent goes back to
// `requires_payment_method` with Stripe's `payment_intent_authentication_failure`.
import type Stripe from 'stripe';
import { invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, bool, int, oneOf, str } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import { buildEnv, getCustomer } from './customers.ts';
import { resolvePaymentMethod } from './payment-methods.ts';
import { buildPaymentIntent } from './payment-objects.ts';
import { cardError, needsAuthentication, payWithCard, type PaymentResult } from './payments.ts';

export const AUTHENTICATION_FAILED =
  'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.';

export function authenticationUrl(ctx: Ctx, intentId: string): string {
  return `${ctx.emu.baseUrl}/3d_secure/${intentId}`;
}

/** Leaves the intent waiting for the customer to authenticate; `return_url` is where the test page sends them. */
export function requireAction(
  ctx: Ctx,
  intent: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  returnUrl: string | null,
): Stripe.PaymentIntent {
  if (returnUrl !== null && !URL.canParse(returnUrl))
    throw invalid('Not a valid URL', 'return_url', 'url_invalid');
  const url = authenticationUrl(ctx, intent.id);
  const after: Stripe.PaymentIntent = {
    ...intent,
    status: 'requires_action',
    payment_method: pm.id,
    last_payment_error: null,
    next_action: returnUrl
      ? { type: 'redirect_to_url', redirect_to_url: { url, return_url: returnUrl } }
      : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: url } },
  };
  ctx.acct.pendingAuthentications.set(intent.id, { returnUrl });
  ctx.acct.save(after);
  ctx.emit('payment_intent.requires_action', after, previousAttributes(intent, after));
  return after;
}

export interface AuthenticationOutcome {
  intent: Stripe.PaymentIntent;
  /** The payment attempted after a completed challenge (it may still be declined, e.g. 4000008260003178). */
  payment: PaymentResult | null;
  returnUrl: string | null;
}

/** The customer completed (`true`) or failed the challenge on the test page. */
export function finishAuthentication(ctx: Ctx, intentId: string, completed: boolean): AuthenticationOutcome {
  const pending = ctx.acct.pendingAuthentications.get(intentId);
  const intent = ctx.acct.paymentIntents.get(intentId);
  const pmId =
    typeof intent?.payment_method === 'string' ? intent.payment_method : intent?.payment_method?.id;
  const pm = pmId ? ctx.acct.paymentMethods.get(pmId) : undefined;
  if (!pending || !intent || intent.status !== 'requires_action' || !pm) {
    throw invalid(
      'This PaymentIntent is not waiting for authentication.',
      'intent',
      'payment_intent_unexpected_state',
    );
  }
  ctx.acct.pendingAuthentications.delete(intentId);
  if (completed) {
    const payment = payWithCard(ctx, {
      customer: typeof intent.customer === 'string' ? intent.customer : (intent.customer?.id ?? null),
      amount: intent.amount,
      currency: intent.currency,
      paymentMethod: pm,
      intent,
      authenticated: true,
      description: intent.description,
    });
    return { intent: payment.intent, payment, returnUrl: pending.returnUrl };
  }
  const after: Stripe.PaymentIntent = {
    ...intent,
    status: 'requires_payment_method',
    payment_method: null,
    next_action: null,
    last_payment_error: {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message: AUTHENTICATION_FAILED,
      payment_method: pm,
    },
  };
  ctx.acct.save(after);
  ctx.emit('payment_intent.payment_failed', after, previousAttributes(intent, after));
  return { intent: after, payment: null, returnUrl: pending.returnUrl };
}

export function registerPaymentIntents(r: Router): void {
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
      const offSession = bool(p, 'off_session') ?? false;
      if (!offSession && needsAuthentication(ctx, pm, false))
        return requireAction(ctx, intent, pm, str(p, 'return_url') ?? null);
      const res = payWithCard(ctx, {
        customer: customer ?? null,
        amount,
        currency,
        paymentMethod: pm,
        intent,
        offSession,
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
    const offSession = bool(p, 'off_session') ?? false;
    if (!offSession && needsAuthentication(ctx, pm, false))
      return requireAction(ctx, intent, pm, str(p, 'return_url') ?? null);
    const res = payWithCard(ctx, {
      customer: cust,
      amount: intent.amount,
      currency: intent.currency,
      paymentMethod: pm,
      intent,
      offSession,
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
    ctx.acct.pendingAuthentications.delete(before.id);
    const after: Stripe.PaymentIntent = {
      ...before,
      status: 'canceled',
      next_action: null,
      canceled_at: ctx.now,
      cancellation_reason: reason,
    };
    ctx.acct.save(after);
    ctx.emit('payment_intent.canceled', after, previousAttributes(before, after));
    return after;
  });
}

function getIntent(ctx: Ctx, id: string): Stripe.PaymentIntent {
  const pi = ctx.acct.paymentIntents.get(id);
  if (!pi) throw noSuch('payment_intent', id, 'intent');
  return pi;
}
