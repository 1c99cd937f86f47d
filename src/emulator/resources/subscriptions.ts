// Subscriptions: create (first invoice and payment), update (items with proration, discounts, cancel at period
// end), cancel now, list by status, and renewal when the clock passes a period end.
import type Stripe from 'stripe';
import type { PendingProration } from '../account.ts';
import { fill, type BuildEnv } from '../build-env.ts';
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
import { getPrice, planOf, redeem, redeemableCoupon } from './catalog.ts';
import { buildEnv, getCustomer } from './customers.ts';
import { cardError, payWithCard, type PaymentResult } from './payments.ts';
import { resolvePaymentMethod, testCardOf } from './payment-methods.ts';

export function buildSubscriptionItem(
  env: BuildEnv,
  price: Stripe.Price,
  partial: Partial<Stripe.SubscriptionItem>,
): Stripe.SubscriptionItem {
  return fill<Stripe.SubscriptionItem>(
    {
      id: env.ids('si', 14),
      object: 'subscription_item',
      billing_thresholds: null,
      created: env.now,
      current_period_end: nextPeriodEnd(env.now, price.recurring),
      current_period_start: env.now,
      current_trial: null,
      discounts: [],
      metadata: {},
      plan: planOf(price),
      price,
      quantity: 1,
      subscription: '',
      tax_rates: [],
    },
    { ...partial, price, plan: planOf(price) },
  );
}

export function buildSubscription(
  env: BuildEnv,
  partial: Partial<Stripe.Subscription> = {},
): Stripe.Subscription {
  const id = partial.id ?? env.ids('sub', 24);
  const base: Stripe.Subscription = {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: env.now,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: 'charge_automatically',
    created: env.now,
    currency: 'usd',
    customer: '',
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: 'self' },
    },
    items: { object: 'list', data: [], has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    livemode: env.livemode,
    managed_payments: null,
    metadata: {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: env.now,
    status: 'incomplete',
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: {
      end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' },
    },
    trial_start: null,
  };
  return fill(base, { ...partial, id });
}

export function getSubscription(ctx: Ctx, id: string, param = 'id'): Stripe.Subscription {
  const s = ctx.acct.subscriptions.get(id);
  if (!s) throw noSuch('subscription', id, param);
  return s;
}

function customerId(s: Stripe.Subscription): string {
  return typeof s.customer === 'string' ? s.customer : s.customer.id;
}

export interface ItemRequest {
  price: Stripe.Price;
  quantity: number;
}

export function itemRequests(ctx: Ctx, items: Params[] | undefined, param = 'items'): ItemRequest[] {
  if (!items || items.length === 0) throw missingParam(param);
  const out = items.map((it, i) => {
    const priceId = str(it, 'price');
    if (!priceId) throw missingParam(`${param}[${i}][price]`);
    const price = getPrice(ctx, priceId, `${param}[${i}][price]`);
    if (!price.recurring) {
      throw invalid(
        `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`,
        `${param}[${i}][price]`,
      );
    }
    if (!price.active)
      throw invalid(
        `The price specified is inactive. This field only accepts active prices.`,
        `${param}[${i}][price]`,
      );
    const quantity = int(it, 'quantity') ?? 1;
    if (quantity < 0)
      throw invalid('Invalid integer: quantity must be at least 0', `${param}[${i}][quantity]`);
    return { price, quantity };
  });
  checkCompatible(
    out.map((x) => x.price),
    param,
  );
  return out;
}

function checkCompatible(prices: Stripe.Price[], param: string): void {
  const [first, ...rest] = prices;
  if (!first) return;
  for (const p of rest) {
    if (p.currency !== first.currency) {
      throw invalid('Currency of all prices must match.', param);
    }
    if (
      p.recurring?.interval !== first.recurring?.interval ||
      p.recurring?.interval_count !== first.recurring?.interval_count
    ) {
      throw invalid('Currently only one billing interval is supported per subscription.', param);
    }
  }
}

export function discountsFromParams(ctx: Ctx, p: Params): Stripe.Coupon[] {
  const list = objArr(p, 'discounts') ?? [];
  const coupons = list.map((d, i) => {
    const id = str(d, 'coupon');
    if (!id) throw invalid('Only coupon discounts are emulated.', `discounts[${i}][coupon]`);
    return redeemableCoupon(ctx, id, `discounts[${i}][coupon]`);
  });
  const legacy = str(p, 'coupon');
  if (legacy) coupons.push(redeemableCoupon(ctx, legacy, 'coupon'));
  return coupons;
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
      ...(trialing ? { price: { ...it.price, unit_amount: 0 } } : {}),
    })),
    discounts,
    reason: 'subscription_create',
    currency: first.price.currency,
    periodStart: ctx.now,
    periodEnd: ctx.now,
  });
  const due = pricing.amountDue;
  const decline = pm ? (testCardOf(pm).decline ?? null) : null;
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

/** Unused time on the old items is credited, remaining time on the new charged, by seconds of the period. */
function prorate(
  ctx: Ctx,
  sub: Stripe.Subscription,
  oldItems: Stripe.SubscriptionItem[],
  newItems: Stripe.SubscriptionItem[],
  at: number,
): PendingProration[] {
  const out: PendingProration[] = [];
  const byId = new Map(newItems.map((i) => [i.id, i]));
  const oldById = new Map(oldItems.map((i) => [i.id, i]));
  const add = (item: Stripe.SubscriptionItem, sign: 1 | -1): void => {
    const period = item.current_period_end - item.current_period_start;
    const seconds = Math.max(0, item.current_period_end - at);
    if (period <= 0 || seconds <= 0) return;
    const name = lineDescription(ctx, item.price, item.quantity ?? 1)
      .replace(/^\d+ × /, '')
      .replace(/ \(.*$/, '');
    out.push({
      price: item.price,
      quantity: item.quantity ?? 1,
      seconds,
      periodSeconds: period,
      sign,
      description:
        sign < 0
          ? `Unused time on ${item.quantity ?? 1} × ${name} after ${new Date(at * 1000).toUTCString().slice(5, 16)}`
          : `Remaining time on ${item.quantity ?? 1} × ${name} after ${new Date(at * 1000).toUTCString().slice(5, 16)}`,
      period: { start: at, end: item.current_period_end },
      subscriptionItem: item.id,
    });
  };
  for (const old of oldItems) {
    const now = byId.get(old.id);
    if (!now || now.price.id !== old.price.id || now.quantity !== old.quantity) add(old, -1);
  }
  for (const item of newItems) {
    const was = oldById.get(item.id);
    if (!was || was.price.id !== item.price.id || was.quantity !== item.quantity) add(item, 1);
  }
  void sub;
  return out;
}

export interface ItemChange {
  id?: string;
  price?: Stripe.Price;
  quantity?: number;
  deleted?: boolean;
}

export function parseItemChanges(ctx: Ctx, list: Params[] | undefined, param: string): ItemChange[] {
  return (list ?? []).map((it, i) => {
    const priceId = str(it, 'price');
    return {
      id: str(it, 'id'),
      price: priceId ? getPrice(ctx, priceId, `${param}[${i}][price]`) : undefined,
      quantity: int(it, 'quantity'),
      deleted: bool(it, 'deleted') ?? false,
    };
  });
}

/** The items a subscription would have after `changes` (new items start now, with the current period). */
export function applyItemChanges(
  ctx: Ctx,
  sub: Stripe.Subscription,
  changes: ItemChange[],
): Stripe.SubscriptionItem[] {
  const env = buildEnv(ctx);
  let items = [...sub.items.data];
  const ref = items[0];
  for (const [i, ch] of changes.entries()) {
    if (ch.id) {
      const idx = items.findIndex((x) => x.id === ch.id);
      const cur = items[idx];
      if (!cur) throw invalid(`Invalid subscription_item id: ${ch.id}`, `items[${i}][id]`);
      if (ch.deleted) {
        items = items.filter((x) => x.id !== ch.id);
        continue;
      }
      const price = ch.price ?? cur.price;
      items[idx] = { ...cur, price, plan: planOf(price), quantity: ch.quantity ?? cur.quantity };
    } else if (ch.price) {
      items.push(
        buildSubscriptionItem(env, ch.price, {
          quantity: ch.quantity ?? 1,
          subscription: sub.id,
          current_period_start: ref?.current_period_start ?? ctx.now,
          current_period_end: ref?.current_period_end ?? nextPeriodEnd(ctx.now, ch.price.recurring),
        }),
      );
    } else {
      throw missingParam(`items[${i}][price]`);
    }
  }
  if (items.length === 0) throw invalid('A subscription must have at least one active plan.', 'items');
  checkCompatible(
    items.map((x) => x.price),
    'items',
  );
  return items;
}

export { prorate };

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

function endTrial(ctx: Ctx, sub: Stripe.Subscription): Stripe.Subscription {
  const items = sub.items.data.map((i) => ({
    ...i,
    current_period_start: ctx.now,
    current_period_end: nextPeriodEnd(ctx.now, i.price.recurring),
  }));
  return billPeriod(
    ctx,
    { ...sub, items: { ...sub.items, data: items } },
    sub,
    'subscription_cycle',
    ctx.now,
  );
}

/** Invoice and charge a subscription's new period; `before` is the state to report in previous_attributes. */
function billPeriod(
  ctx: Ctx,
  sub: Stripe.Subscription,
  before: Stripe.Subscription,
  reason: Stripe.Invoice.BillingReason,
  at: number,
): Stripe.Subscription {
  const customer = ctx.acct.customers.get(customerId(sub));
  if (!customer) return sub;
  const pending = ctx.acct.pendingProrations.get(sub.id) ?? [];
  ctx.acct.pendingProrations.delete(sub.id);
  const first = sub.items.data[0];
  const lines: InvoiceLineSpec[] = [
    ...prorationLines(ctx, pending),
    ...sub.items.data.map((i) => ({
      price: i.price,
      quantity: i.quantity ?? 1,
      period: { start: i.current_period_start, end: i.current_period_end },
      description: lineDescription(ctx, i.price, i.quantity ?? 1),
      subscriptionItem: i.id,
    })),
  ];
  const { invoice, pricing } = buildInvoice(ctx, {
    customer,
    subscription: sub,
    lines,
    discounts: sub.discounts,
    reason,
    currency: sub.currency,
    periodStart: first?.current_period_start ?? at,
    periodEnd: first?.current_period_start ?? at,
  });
  finalizeInvoice(ctx, invoice, pricing);
  const paid = chargeInvoice(ctx, invoice, paymentMethodFor(ctx, sub, customer.id), true);
  const ok = paid.invoice.status === 'paid';
  const next: Stripe.Subscription = {
    ...sub,
    status: ok ? 'active' : 'past_due',
    latest_invoice: invoice.id,
    discounts: spendOnceDiscounts(ctx, sub.discounts),
  };
  ctx.acct.save(next);
  ctx.emit('customer.subscription.updated', next, previousAttributes(before, next));
  return next;
}

/** Everything due by `now`: period ends (renewal or cancel at period end), trial ends, incomplete expiry. */
export function advanceSubscriptions(ctx: Ctx): void {
  for (const s of [...ctx.acct.subscriptions.values()]) {
    let sub = s;
    for (let guard = 0; guard < 120; guard++) {
      if (sub.status === 'canceled' || sub.status === 'incomplete_expired') break;
      if (sub.status === 'incomplete') {
        if (ctx.now >= sub.created + 23 * 3600) {
          const after = { ...sub, status: 'incomplete_expired' as const, ended_at: ctx.now };
          ctx.acct.save(after);
          ctx.emit('customer.subscription.deleted', after, previousAttributes(sub, after));
        }
        break;
      }
      const end = sub.items.data[0]?.current_period_end;
      if (end === undefined || end > ctx.now) break;
      if (sub.cancel_at_period_end || (sub.cancel_at !== null && sub.cancel_at <= end)) {
        cancelSubscriptionNow(ctx, sub, 'cancellation_requested', end);
        break;
      }
      const items = sub.items.data.map((i) => ({
        ...i,
        current_period_start: end,
        current_period_end: nextPeriodEnd(end, i.price.recurring),
      }));
      const renewed: Stripe.Subscription = { ...sub, items: { ...sub.items, data: items } };
      sub = billPeriod(ctx, renewed, sub, 'subscription_cycle', end);
    }
  }
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
