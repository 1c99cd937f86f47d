// Subscriptions: create (first invoice and payment), update (items with proration, discounts, cancel at period
// end), cancel now, list by status, and renewal when the clock passes a period end.
import type Stripe from 'stripe';
import { ApiError, invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, bool, int, objArr, oneOf, str, type Params } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import {
  buildDiscount,
  buildInvoice,
  chargeInvoice,
  finalizeInvoice,
  lineDescription,
  nextPeriodEnd,
  paymentMethodFor,
  prorationLines,
  spendOnceDiscounts,
  type InvoiceLineSpec,
} from './billing.ts';
import { redeem } from './catalog.ts';
import { buildEnv, getCustomer } from './customers.ts';
import { cardError, declineFor, payWithCard, type PaymentResult } from './payments.ts';
import { resolvePaymentMethod } from './payment-methods.ts';
import { buildSubscriptionItem, buildSubscription, customerId } from './subscription-builders.ts';
import {
  type ItemRequest,
  itemRequests,
  discountsFromParams,
  prorate,
  parseItemChanges,
  applyItemChanges,
} from './subscription-items.ts';
import { endTrial } from './renewals.ts';

export function getSubscription(ctx: Ctx, id: string, param = 'id'): Stripe.Subscription {
  const s = ctx.acct.subscriptions.get(id);
  if (!s) throw noSuch('subscription', id, param);
  return s;
}

export interface CreateSubscriptionInput {
  customer: Stripe.Customer;
  items: ItemRequest[];
  coupons: Stripe.Coupon[];
  paymentMethod?: Stripe.PaymentMethod;
  trialEnd?: number;
  paymentBehavior?:
    'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete' | 'pending_if_incomplete';
  metadata?: Record<string, string>;
  /** Checkout pays before the subscription exists (Stripe's order since 2025-03-31.basil). */
  prepaid?: PaymentResult;
  checkoutSession?: string;
}

export function createSubscription(ctx: Ctx, input: CreateSubscriptionInput): Stripe.Subscription {
  const env = buildEnv(ctx);
  const first = input.items[0];
  if (!first) throw missingParam('items');
  const trialing = input.trialEnd !== undefined && input.trialEnd > ctx.now;
  const periodEnd = trialing ? (input.trialEnd as number) : nextPeriodEnd(ctx.now, first.price.recurring);
  const subId = env.ids('sub', 24);
  const discounts = input.coupons.map((c) => {
    const d = buildDiscount(env, c, {
      customer: input.customer.id,
      subscription: subId,
      checkout_session: input.checkoutSession ?? null,
    });
    ctx.acct.discounts.set(d.id, d);
    redeem(ctx, c);
    return d.id;
  });
  const items = input.items.map((it) =>
    buildSubscriptionItem(env, it.price, {
      quantity: it.quantity,
      subscription: subId,
      current_period_start: ctx.now,
      current_period_end: periodEnd,
    }),
  );
  const pm = paymentMethodFor(ctx, null, input.customer.id, input.paymentMethod);
  const { invoice, pricing } = buildInvoice(ctx, {
    customer: input.customer,
    subscription: buildSubscription(env, { id: subId, metadata: input.metadata ?? {} }),
    lines: input.items.map((it, i) => ({
      price: it.price,
      quantity: it.quantity,
      period: { start: ctx.now, end: periodEnd },
      description: trialing
        ? `Trial period for ${lineDescription(ctx, it.price, it.quantity)
            .replace(/^\d+ × /, '')
            .replace(/ \(.*$/, '')}`
        : lineDescription(ctx, it.price, it.quantity),
      subscriptionItem: items[i]?.id ?? null,
      // A trial bills nothing, whatever the price's scheme (a tiered price's tiers are not read then).
      ...(trialing ? { price: { ...it.price, billing_scheme: 'per_unit' as const, unit_amount: 0 } } : {}),
    })),
    discounts,
    reason: 'subscription_create',
    currency: first.price.currency,
    periodStart: ctx.now,
    periodEnd: ctx.now,
  });
  const due = pricing.amountDue;
  const decline = pm ? declineFor(ctx, pm, false) : null;
  const behavior = input.paymentBehavior ?? 'allow_incomplete';
  if (due > 0 && !input.prepaid) {
    if (!pm && behavior !== 'default_incomplete') {
      throw invalid(
        'This customer has no attached payment source or default payment method. Please consider adding a default payment method.',
        'customer',
        'resource_missing',
      );
    }
  }
  const willPay = due === 0 || !!input.prepaid || (behavior !== 'default_incomplete' && !!pm && !decline);
  const status: Stripe.Subscription.Status = trialing ? 'trialing' : willPay ? 'active' : 'incomplete';
  let sub = buildSubscription(env, {
    id: subId,
    customer: input.customer.id,
    currency: first.price.currency,
    default_payment_method: input.paymentMethod?.id ?? null,
    discounts: spendOnceDiscounts(ctx, discounts),
    items: {
      object: 'list',
      data: items,
      has_more: false,
      url: `/v1/subscription_items?subscription=${subId}`,
    },
    latest_invoice: invoice.id,
    metadata: input.metadata ?? {},
    status,
    trial_start: trialing ? ctx.now : null,
    trial_end: trialing ? (input.trialEnd as number) : null,
  });
  if (behavior === 'error_if_incomplete' && due > 0 && pm && decline) {
    // Stripe creates nothing when the first payment must succeed and does not.
    const res = payWithCardForError(ctx, input.customer.id, due, first.price.currency, pm);
    throw cardError(decline, res);
  }
  ctx.acct.save(sub);
  ctx.emit('customer.subscription.created', sub);
  finalizeInvoice(ctx, invoice, pricing);
  if (due > 0 && behavior !== 'default_incomplete') {
    const paid = chargeInvoice(ctx, invoice, pm, false, input.prepaid);
    if (paid.result?.decline && status !== 'incomplete') {
      const before = sub;
      sub = { ...sub, status: 'incomplete' };
      ctx.acct.save(sub);
      ctx.emit('customer.subscription.updated', sub, previousAttributes(before, sub));
    }
  }
  return sub;
}

function payWithCardForError(
  ctx: Ctx,
  customer: string,
  amount: number,
  currency: string,
  pm: Stripe.PaymentMethod,
): PaymentResult {
  return payWithCard(ctx, { customer, amount, currency, paymentMethod: pm });
}

export function cancelSubscriptionNow(
  ctx: Ctx,
  sub: Stripe.Subscription,
  reason: Stripe.Subscription.CancellationDetails.Reason = 'cancellation_requested',
  at = ctx.now,
): Stripe.Subscription {
  const after: Stripe.Subscription = {
    ...sub,
    status: 'canceled',
    canceled_at: sub.canceled_at ?? at,
    ended_at: at,
    cancel_at_period_end: false,
    cancellation_details: {
      ...(sub.cancellation_details ?? { comment: null, feedback: null, feedback_option: null }),
      reason,
    },
  };
  ctx.acct.save(after);
  ctx.acct.pendingProrations.delete(sub.id);
  ctx.emit('customer.subscription.deleted', after, previousAttributes(sub, after));
  return after;
}

function updateSubscription(ctx: Ctx, before: Stripe.Subscription, p: Params): Stripe.Subscription {
  if (before.status === 'canceled' || before.status === 'incomplete_expired') {
    throw invalid(
      `A canceled subscription can only update its cancellation_details and metadata.`,
      undefined,
    );
  }
  let sub: Stripe.Subscription = { ...before, metadata: applyMetadata(before.metadata, p) };
  const cape = bool(p, 'cancel_at_period_end');
  if (cape !== undefined) {
    sub.cancel_at_period_end = cape;
    sub.canceled_at = cape ? ctx.now : null;
    sub.cancel_at = cape ? (before.items.data[0]?.current_period_end ?? null) : null;
    sub.cancellation_details = {
      ...(before.cancellation_details ?? { comment: null, feedback: null, feedback_option: null }),
      reason: cape ? 'cancellation_requested' : null,
    };
  }
  const pmId = str(p, 'default_payment_method');
  if (pmId) sub.default_payment_method = resolvePaymentMethod(ctx, pmId, 'default_payment_method').id;
  else if (p.default_payment_method === '') sub.default_payment_method = null;
  if (p.discounts !== undefined) {
    const coupons = p.discounts === '' ? [] : discountsFromParams(ctx, p);
    sub.discounts = coupons.map((c) => {
      const d = buildDiscount(buildEnv(ctx), c, { customer: customerId(before), subscription: before.id });
      ctx.acct.discounts.set(d.id, d);
      redeem(ctx, c);
      return d.id;
    });
  }
  if (str(p, 'trial_end') === 'now' && sub.status === 'trialing') {
    sub.trial_end = ctx.now;
  }
  const changes = parseItemChanges(ctx, objArr(p, 'items'), 'items');
  let invoiceNow: InvoiceLineSpec[] = [];
  if (changes.length > 0) {
    const items = applyItemChanges(ctx, before, changes);
    const behavior =
      oneOf(p, 'proration_behavior', ['create_prorations', 'always_invoice', 'none'] as const) ??
      'create_prorations';
    const at = int(p, 'proration_date') ?? ctx.now;
    if (behavior !== 'none' && before.status !== 'trialing') {
      const pr = prorate(ctx, before, before.items.data, items, at);
      if (behavior === 'always_invoice')
        invoiceNow = prorationLines(ctx, [...(ctx.acct.pendingProrations.get(before.id) ?? []), ...pr]);
      else
        ctx.acct.pendingProrations.set(before.id, [
          ...(ctx.acct.pendingProrations.get(before.id) ?? []),
          ...pr,
        ]);
      if (behavior === 'always_invoice') ctx.acct.pendingProrations.delete(before.id);
    }
    sub = { ...sub, items: { ...before.items, data: items } };
  }
  ctx.acct.save(sub);
  ctx.emit('customer.subscription.updated', sub, previousAttributes(before, sub));
  if (invoiceNow.length > 0) {
    const customer = getCustomer(ctx, customerId(sub));
    const { invoice, pricing } = buildInvoice(ctx, {
      customer,
      subscription: sub,
      lines: invoiceNow,
      discounts: sub.discounts,
      reason: 'subscription_update',
      currency: sub.currency,
      periodStart: ctx.now,
      periodEnd: ctx.now,
    });
    finalizeInvoice(ctx, invoice, pricing);
    const res = chargeInvoice(ctx, invoice, paymentMethodFor(ctx, sub, customer.id), false);
    const withInvoice = { ...sub, latest_invoice: invoice.id };
    ctx.acct.save(withInvoice);
    sub = withInvoice;
    if (res.result?.decline) throw cardError(res.result.decline, res.result);
  }
  if (sub.trial_end === ctx.now && before.status === 'trialing') {
    sub = endTrial(ctx, sub);
  }
  return sub;
}

export function registerSubscriptions(r: Router): void {
  r.add('POST', '/v1/subscriptions', (ctx, p) => {
    const customer = getCustomer(ctx, str(p, 'customer', true) as string);
    const items = itemRequests(ctx, objArr(p, 'items'));
    const pmId = str(p, 'default_payment_method');
    const pm = pmId ? resolvePaymentMethod(ctx, pmId, 'default_payment_method') : undefined;
    if (pm && pm.customer !== customer.id) {
      throw invalid(
        'The customer does not have a payment method with the ID ' +
          pm.id +
          '. The payment method must be attached to the customer.',
        'default_payment_method',
      );
    }
    const trialDays = int(p, 'trial_period_days');
    const trialEndRaw = str(p, 'trial_end');
    const trialEnd =
      trialEndRaw === 'now'
        ? undefined
        : trialEndRaw
          ? (int(p, 'trial_end') as number)
          : trialDays
            ? ctx.now + trialDays * 86_400
            : undefined;
    if (trialEnd !== undefined && trialEnd <= ctx.now)
      throw invalid('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end');
    return createSubscription(ctx, {
      customer,
      items,
      coupons: discountsFromParams(ctx, p),
      paymentMethod: pm,
      trialEnd,
      paymentBehavior: oneOf(p, 'payment_behavior', [
        'allow_incomplete',
        'default_incomplete',
        'error_if_incomplete',
        'pending_if_incomplete',
      ] as const),
      metadata: applyMetadata({}, p),
    });
  });

  r.add('GET', '/v1/subscriptions', (ctx, p) => {
    const status = str(p, 'status');
    const customer = str(p, 'customer');
    const price = str(p, 'price');
    const statuses = [
      'active',
      'all',
      'canceled',
      'ended',
      'incomplete',
      'incomplete_expired',
      'past_due',
      'paused',
      'trialing',
      'unpaid',
    ];
    if (status && !statuses.includes(status))
      throw invalid(`Invalid status: must be one of ${statuses.join(', ')}`, 'status');
    const page = ctx.acct.subscriptions.page({
      ...listParams(p),
      ids: customer ? ctx.acct.byCustomer.subscription.get(customer) : undefined,
      filter: (s) => {
        if (price && !s.items.data.some((i) => i.price.id === price)) return false;
        if (!status) return s.status !== 'canceled' && s.status !== 'incomplete_expired';
        if (status === 'all') return true;
        if (status === 'ended') return s.status === 'canceled' || s.status === 'incomplete_expired';
        return s.status === status;
      },
    });
    return envelope('/v1/subscriptions', page);
  });

  r.add('GET', '/v1/subscriptions/:id', (ctx, _p, [id]) => getSubscription(ctx, id as string));
  r.add('POST', '/v1/subscriptions/:id', (ctx, p, [id]) =>
    updateSubscription(ctx, getSubscription(ctx, id as string), p),
  );
  r.add('DELETE', '/v1/subscriptions/:id', (ctx, p, [id]) => {
    const sub = getSubscription(ctx, id as string);
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
      throw new ApiError(400, 'invalid_request_error', `No such subscription: '${sub.id}'`, {
        code: 'resource_missing',
        param: 'id',
      });
    }
    const after = cancelSubscriptionNow(ctx, sub);
    return after;
  });
  r.add('GET', '/v1/subscription_items', (ctx, p) => {
    const sub = getSubscription(ctx, str(p, 'subscription', true) as string, 'subscription');
    return { object: 'list', data: sub.items.data, has_more: false, url: '/v1/subscription_items' };
  });
}
