// Invoices: previews (`create_preview`) for a new subscription or a change to one, list, retrieve, pay.
import type Stripe from 'stripe';
import { invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { int, obj, objArr, oneOf, str } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import {
  buildDiscount,
  buildInvoice,
  chargeInvoice,
  lineDescription,
  nextPeriodEnd,
  paymentMethodFor,
  prorationLines,
  type InvoiceLineSpec,
} from './billing.ts';
import { buildEnv, getCustomer } from './customers.ts';
import { cardError } from './payments.ts';
import { resolvePaymentMethod } from './payment-methods.ts';
import {
  applyItemChanges,
  discountsFromParams,
  itemRequests,
  parseItemChanges,
  prorate,
} from './subscription-items.ts';
import { getSubscription } from './subscriptions.ts';

function getInvoice(ctx: Ctx, id: string): Stripe.Invoice {
  const inv = ctx.acct.invoices.get(id);
  if (!inv) throw noSuch('invoice', id, 'invoice');
  return inv;
}

function preview(ctx: Ctx, p: Record<string, unknown> & Parameters<typeof str>[0]): Stripe.Invoice {
  const subId = str(p, 'subscription');
  const details = obj(p, 'subscription_details') ?? {};
  const env = buildEnv(ctx);
  const coupons = discountsFromParams(ctx, p);
  const tempDiscounts = coupons.map((c) => {
    const d = buildDiscount(env, c, {});
    ctx.acct.discounts.set(d.id, d);
    return d.id;
  });
  try {
    if (!subId) {
      const customer = getCustomer(ctx, str(p, 'customer', true) as string);
      const items = itemRequests(ctx, objArr(details, 'items'), 'subscription_details[items]');
      const first = items[0];
      if (!first) throw missingParam('subscription_details[items]');
      const end = nextPeriodEnd(ctx.now, first.price.recurring);
      return buildInvoice(ctx, {
        customer,
        subscription: null,
        lines: items.map((it) => ({
          price: it.price,
          quantity: it.quantity,
          period: { start: ctx.now, end },
          description: lineDescription(ctx, it.price, it.quantity),
          subscriptionItem: null,
        })),
        discounts: tempDiscounts,
        reason: 'subscription_create',
        currency: first.price.currency,
        periodStart: ctx.now,
        periodEnd: ctx.now,
        preview: true,
      }).invoice;
    }
    const sub = getSubscription(ctx, subId, 'subscription');
    const customer = getCustomer(ctx, typeof sub.customer === 'string' ? sub.customer : sub.customer.id);
    const changes = parseItemChanges(ctx, objArr(details, 'items'), 'subscription_details[items]');
    const items = changes.length > 0 ? applyItemChanges(ctx, sub, changes) : sub.items.data;
    const behavior =
      oneOf(details, 'proration_behavior', ['create_prorations', 'always_invoice', 'none'] as const) ??
      'create_prorations';
    const at = int(details, 'proration_date') ?? ctx.now;
    const pending = [...(ctx.acct.pendingProrations.get(sub.id) ?? [])];
    if (changes.length > 0 && behavior !== 'none')
      pending.push(...prorate(ctx, sub, sub.items.data, items, at));
    const lines: InvoiceLineSpec[] = prorationLines(ctx, pending);
    const periodEnd = items[0]?.current_period_end ?? ctx.now;
    if (behavior !== 'always_invoice') {
      for (const i of items) {
        lines.push({
          price: i.price,
          quantity: i.quantity ?? 1,
          period: { start: periodEnd, end: nextPeriodEnd(periodEnd, i.price.recurring) },
          description: lineDescription(ctx, i.price, i.quantity ?? 1),
          subscriptionItem: i.id,
        });
      }
    }
    return buildInvoice(ctx, {
      customer,
      subscription: sub,
      lines,
      discounts: [...(p.discounts !== undefined ? [] : sub.discounts), ...tempDiscounts],
      reason: behavior === 'always_invoice' ? 'subscription_update' : 'upcoming',
      currency: sub.currency,
      periodStart: behavior === 'always_invoice' ? ctx.now : periodEnd,
      periodEnd: behavior === 'always_invoice' ? ctx.now : periodEnd,
      preview: true,
    }).invoice;
  } finally {
    for (const id of tempDiscounts) ctx.acct.discounts.delete(id);
  }
}

export function registerInvoices(r: Router): void {
  r.add('POST', '/v1/invoices/create_preview', (ctx, p) => {
    if (!str(p, 'customer') && !str(p, 'subscription')) throw missingParam('customer');
    return preview(ctx, p);
  });
  r.add('GET', '/v1/invoices', (ctx, p) => {
    const customer = str(p, 'customer');
    const subscription = str(p, 'subscription');
    const status = str(p, 'status');
    const page = ctx.acct.invoices.page({
      ...listParams(p),
      ids: customer ? ctx.acct.byCustomer.invoice.get(customer) : undefined,
      filter: (i) =>
        (!status || i.status === status) &&
        (!subscription || i.parent?.subscription_details?.subscription === subscription),
    });
    return envelope('/v1/invoices', page);
  });
  r.add('GET', '/v1/invoices/:id', (ctx, _p, [id]) => getInvoice(ctx, id as string));
  r.add('GET', '/v1/invoices/:id/lines', (ctx, _p, [id]) => getInvoice(ctx, id as string).lines);
  r.add('POST', '/v1/invoices/:id/pay', (ctx, p, [id]) => {
    const inv = getInvoice(ctx, id as string);
    if (inv.status === 'paid') throw invalid('Invoice is already paid', undefined, 'invoice_already_paid');
    if (inv.status !== 'open')
      throw invalid(
        `You can only pay an open invoice. This invoice is ${inv.status}.`,
        undefined,
        'invoice_not_editable',
      );
    const subId = inv.parent?.subscription_details?.subscription;
    const sub = typeof subId === 'string' ? (ctx.acct.subscriptions.get(subId) ?? null) : null;
    const customerId = typeof inv.customer === 'string' ? inv.customer : (inv.customer?.id ?? '');
    const pmId = str(p, 'payment_method');
    const pm = pmId
      ? resolvePaymentMethod(ctx, pmId, 'payment_method')
      : paymentMethodFor(ctx, sub, customerId);
    if (!pm)
      throw invalid(
        'This customer has no attached payment source or default payment method.',
        'payment_method',
        'invoice_no_customer_line_items',
      );
    const res = chargeInvoice(ctx, inv, pm, false);
    if (res.result?.decline) throw cardError(res.result.decline, res.result);
    if (sub && (sub.status === 'past_due' || sub.status === 'incomplete' || sub.status === 'unpaid')) {
      const after = { ...sub, status: 'active' as const };
      ctx.acct.save(after);
      ctx.emit('customer.subscription.updated', after, previousAttributes(sub, after));
    }
    return res.invoice;
  });
}
