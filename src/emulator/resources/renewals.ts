// What happens with time: period ends renew (invoice, off-session charge, past_due on a decline) or cancel,
// trials end, incomplete subscriptions expire.
import type Stripe from 'stripe';
import { previousAttributes } from '../events.ts';
import type { Ctx } from '../router.ts';
import {
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
import { customerId } from './subscription-builders.ts';
import { cancelSubscriptionNow } from './subscriptions.ts';

export function endTrial(ctx: Ctx, sub: Stripe.Subscription): Stripe.Subscription {
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
