// Invoices for subscriptions: build from priced lines, finalize, pay. Shared by subscription create/update,
// renewals, invoice previews and Checkout.
import type Stripe from 'stripe';
import type { Account, PendingProration } from '../account.ts';
import { fill, type BuildEnv } from '../build-env.ts';
import { previousAttributes } from '../events.ts';
import {
  addMonths,
  priceInvoice,
  type PricingDiscount,
  type PricingLine,
  type PricingResult,
} from '../pricing.ts';
import type { Ctx } from '../router.ts';
import { decimal } from './catalog.ts';
import { buildEnv } from './customers.ts';
import { pricingOf } from './price-tiers.ts';
import { defaultPaymentMethod, payWithCard, type PaymentResult } from './payments.ts';

export function nextPeriodEnd(start: number, recurring: Stripe.Price.Recurring | null): number {
  const n = recurring?.interval_count ?? 1;
  switch (recurring?.interval) {
    case 'day':
      return start + 86_400 * n;
    case 'week':
      return start + 7 * 86_400 * n;
    case 'year':
      return addMonths(start, 12 * n);
    default:
      return addMonths(start, n);
  }
}

export function buildDiscount(
  env: BuildEnv,
  coupon: Stripe.Coupon,
  partial: Partial<Stripe.Discount>,
): Stripe.Discount {
  const start = partial.start ?? env.now;
  return fill<Stripe.Discount>(
    {
      id: env.ids('di', 24),
      object: 'discount',
      checkout_session: null,
      customer: null,
      customer_account: null,
      end: coupon.duration === 'repeating' ? addMonths(start, coupon.duration_in_months ?? 0) : null,
      invoice: null,
      invoice_item: null,
      promotion_code: null,
      source: { coupon: coupon.id, type: 'coupon' },
      start,
      subscription: null,
      subscription_item: null,
    },
    partial,
  );
}

export function couponOfDiscount(ctx: Ctx, d: Stripe.Discount): Stripe.Coupon | undefined {
  const c = d.source.coupon;
  if (!c) return undefined;
  return typeof c === 'string' ? ctx.acct.coupons.get(c) : c;
}

export function pricingDiscounts(ctx: Ctx, ids: Array<string | Stripe.Discount>): PricingDiscount[] {
  const out: PricingDiscount[] = [];
  for (const ref of ids) {
    const d = typeof ref === 'string' ? ctx.acct.discounts.get(ref) : ref;
    if (!d) continue;
    const coupon = couponOfDiscount(ctx, d);
    if (coupon) out.push({ coupon, start: d.start });
  }
  return out;
}

export interface InvoiceLineSpec {
  price: Stripe.Price;
  quantity: number;
  period: { start: number; end: number };
  proration?: { seconds: number; periodSeconds: number; sign: 1 | -1 };
  description: string;
  subscriptionItem: string | null;
}

export interface InvoiceSpec {
  customer: Stripe.Customer;
  subscription: Stripe.Subscription | null;
  lines: InvoiceLineSpec[];
  discounts: Array<string | Stripe.Discount>;
  reason: Stripe.Invoice.BillingReason;
  currency: string;
  periodStart: number;
  periodEnd: number;
  /** Preview invoices are not stored and have no number. */
  preview?: boolean;
}

function productName(ctx: Ctx, price: Stripe.Price): string {
  const pid = typeof price.product === 'string' ? price.product : price.product.id;
  return ctx.acct.products.get(pid)?.name ?? pid;
}

export function lineDescription(ctx: Ctx, price: Stripe.Price, quantity: number): string {
  const per = price.recurring?.interval ?? 'one-time';
  if (price.billing_scheme === 'tiered')
    return `${quantity} × ${productName(ctx, price)} (${price.tiers_mode ?? 'tiered'} tiers / ${per})`;
  return `${quantity} × ${productName(ctx, price)} (at $${((price.unit_amount ?? 0) / 100).toFixed(2)} / ${per})`;
}

export function prorationLines(ctx: Ctx, pending: PendingProration[]): InvoiceLineSpec[] {
  return pending.map((p) => ({
    price: p.price,
    quantity: p.quantity,
    period: p.period,
    proration: { seconds: p.seconds, periodSeconds: p.periodSeconds, sign: p.sign },
    description: p.description,
    subscriptionItem: p.subscriptionItem,
  }));
}

export function priceSpec(
  acct: Account,
  spec: InvoiceSpec,
  pricingDiscountList: PricingDiscount[],
  at: number,
): PricingResult {
  const lines: PricingLine[] = spec.lines.map((l, i) => ({
    key: String(i),
    ...pricingOf(acct, l.price),
    quantity: l.quantity,
    ...(l.proration
      ? {
          proration: { seconds: l.proration.seconds, periodSeconds: l.proration.periodSeconds },
          sign: l.proration.sign,
        }
      : {}),
  }));
  return priceInvoice({
    currency: spec.currency,
    lines,
    discounts: pricingDiscountList,
    customerBalance: spec.customer.balance,
    at,
    // A `once` discount is removed after its first invoice (see applyOnceDiscounts), so any still present is unused.
    firstInvoiceOfDiscount: true,
  });
}

/** Build (and unless previewing, store as draft→open, or paid when nothing is due) an invoice for `spec`. */
export function buildInvoice(
  ctx: Ctx,
  spec: InvoiceSpec,
): { invoice: Stripe.Invoice; pricing: PricingResult } {
  const env = buildEnv(ctx);
  const discounts = pricingDiscounts(ctx, spec.discounts);
  const pricing = priceSpec(ctx.acct, spec, discounts, spec.periodStart);
  const id = spec.preview ? `upcoming_${env.ids('in', 24)}` : env.ids('in', 24);
  const appliedDiscountIds = spec.discounts
    .map((d) => (typeof d === 'string' ? d : d.id))
    .filter((id) => {
      const d = ctx.acct.discounts.get(id);
      const c = d ? couponOfDiscount(ctx, d) : undefined;
      return c ? pricing.discounts.some((x) => x.coupon === c.id) : false;
    });
  const discountIdForCoupon = (couponId: string): string =>
    appliedDiscountIds.find((id) => {
      const d = ctx.acct.discounts.get(id);
      return d ? couponOfDiscount(ctx, d)?.id === couponId : false;
    }) ?? couponId;
  const lines: Stripe.InvoiceLineItem[] = spec.lines.map((l, i) => {
    const priced = pricing.lines[i];
    const amount = priced?.amount ?? 0;
    return {
      id: env.ids('il', 24),
      object: 'line_item',
      amount,
      currency: spec.currency,
      description: l.description,
      discount_amounts: (priced?.discountAmounts ?? []).map((d) => ({
        amount: d.amount,
        discount: discountIdForCoupon(d.coupon),
      })),
      discountable: !l.proration || l.proration.sign > 0,
      discounts: [],
      invoice: id,
      livemode: ctx.acct.livemode,
      metadata: {},
      parent: {
        type: 'subscription_item_details',
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: !!l.proration,
          proration_details: { credited_items: null },
          subscription: spec.subscription?.id ?? null,
          subscription_item: l.subscriptionItem ?? '',
        },
      },
      period: l.period,
      pretax_credit_amounts: [],
      pricing: {
        type: 'price_details',
        price_details: {
          price: l.price.id,
          product: typeof l.price.product === 'string' ? l.price.product : l.price.product.id,
        },
        unit_amount_decimal: decimal(l.price.unit_amount),
      },
      quantity: l.quantity,
      quantity_decimal: decimal(l.quantity),
      subscription: spec.subscription?.id ?? null,
      subtotal: amount,
      taxes: [],
    };
  });
  const paidNow = pricing.amountDue === 0;
  const invoice: Stripe.Invoice = {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Settle Emulator',
    account_tax_ids: null,
    amount_due: pricing.amountDue,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: pricing.amountDue,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: !spec.preview,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: spec.reason,
    collection_method: 'charge_automatically',
    created: ctx.now,
    currency: spec.currency,
    custom_fields: null,
    customer: spec.customer.id,
    customer_account: null,
    customer_address: null,
    customer_email: spec.customer.email,
    customer_name: spec.customer.name ?? null,
    customer_phone: spec.customer.phone ?? null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: appliedDiscountIds,
    due_date: null,
    effective_at: spec.preview ? null : ctx.now,
    ending_balance: spec.preview ? null : pricing.endingBalance,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: spec.preview ? null : `${ctx.emu.baseUrl}/invoices/${id}`,
    invoice_pdf: spec.preview ? null : `${ctx.emu.baseUrl}/invoices/${id}/pdf`,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: ctx.acct.livemode,
    metadata: {},
    next_payment_attempt: null,
    number: spec.preview
      ? null
      : `${spec.customer.invoice_prefix ?? 'EMU'}-${String(++ctx.acct.invoiceSeq).padStart(4, '0')}`,
    on_behalf_of: null,
    parent: spec.subscription
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: { metadata: spec.subscription.metadata, subscription: spec.subscription.id },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: spec.periodEnd,
    period_start: spec.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: pricing.startingBalance,
    statement_descriptor: null,
    status: spec.preview ? 'draft' : paidNow ? 'paid' : 'open',
    status_transitions: {
      finalized_at: spec.preview ? null : ctx.now,
      marked_uncollectible_at: null,
      paid_at: !spec.preview && paidNow ? ctx.now : null,
      voided_at: null,
    },
    subtotal: pricing.subtotal,
    subtotal_excluding_tax: pricing.subtotal,
    test_clock: null,
    total: pricing.total,
    total_discount_amounts: pricing.discounts.map((d) => ({
      amount: d.amount,
      discount: discountIdForCoupon(d.coupon),
    })),
    total_excluding_tax: pricing.total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
  return { invoice, pricing };
}

/** Store a finalized invoice, move the customer's balance, emit created/finalized (and paid when nothing is due). */
export function finalizeInvoice(ctx: Ctx, invoice: Stripe.Invoice, pricing: PricingResult): Stripe.Invoice {
  ctx.acct.save(invoice);
  ctx.emit('invoice.created', { ...invoice, status: 'draft' } as Stripe.Invoice);
  ctx.emit('invoice.finalized', { ...invoice, status: 'open' } as Stripe.Invoice);
  if (pricing.startingBalance !== pricing.endingBalance && typeof invoice.customer === 'string') {
    const before = ctx.acct.customers.get(invoice.customer);
    if (before) {
      const after = { ...before, balance: pricing.endingBalance };
      ctx.acct.save(after);
      ctx.emit('customer.updated', after, previousAttributes(before, after));
    }
  }
  if (invoice.status === 'paid') {
    ctx.emit('invoice.paid', invoice);
    ctx.emit('invoice.payment_succeeded', invoice);
  }
  return invoice;
}

/** After an invoice, `once` coupons are spent: Stripe removes the discount. */
export function spendOnceDiscounts(
  ctx: Ctx,
  discountIds: Array<string | Stripe.Discount>,
): Array<string | Stripe.Discount> {
  return discountIds.filter((ref) => {
    const id = typeof ref === 'string' ? ref : ref.id;
    const d = ctx.acct.discounts.get(id);
    const c = d ? couponOfDiscount(ctx, d) : undefined;
    return c?.duration !== 'once';
  });
}

export function paymentMethodFor(
  ctx: Ctx,
  sub: Stripe.Subscription | null,
  customerId: string,
  explicit?: Stripe.PaymentMethod,
): Stripe.PaymentMethod | undefined {
  if (explicit) return explicit;
  const subPm = sub?.default_payment_method;
  if (typeof subPm === 'string') {
    const pm = ctx.acct.paymentMethods.get(subPm);
    if (pm) return pm;
  }
  return defaultPaymentMethod(ctx, customerId);
}

export interface InvoicePayment {
  invoice: Stripe.Invoice;
  result: PaymentResult | null;
}

/** Charge an open invoice. A decline leaves it open with an attempt counted and emits `invoice.payment_failed`. */
export function chargeInvoice(
  ctx: Ctx,
  invoice: Stripe.Invoice,
  pm: Stripe.PaymentMethod | undefined,
  offSession: boolean,
  prepaid?: PaymentResult,
): InvoicePayment {
  if (invoice.status !== 'open' || invoice.amount_remaining <= 0) return { invoice, result: null };
  const customerId = typeof invoice.customer === 'string' ? invoice.customer : (invoice.customer?.id ?? null);
  const before = invoice;
  if (!pm && !prepaid) {
    const failed: Stripe.Invoice = {
      ...invoice,
      attempted: true,
      attempt_count: invoice.attempt_count + 1,
      next_payment_attempt: null,
    };
    ctx.acct.save(failed);
    ctx.emit('invoice.payment_failed', failed, previousAttributes(before, failed));
    return { invoice: failed, result: null };
  }
  const result =
    prepaid ??
    payWithCard(ctx, {
      customer: customerId,
      amount: invoice.amount_remaining,
      currency: invoice.currency,
      paymentMethod: pm as Stripe.PaymentMethod,
      description:
        invoice.billing_reason === 'subscription_create' ? 'Subscription creation' : 'Subscription update',
      offSession,
    });
  if (result.decline) {
    const failed: Stripe.Invoice = {
      ...invoice,
      attempted: true,
      attempt_count: invoice.attempt_count + 1,
      next_payment_attempt: ctx.now + 3 * 86_400,
    };
    ctx.acct.save(failed);
    ctx.emit('invoice.updated', failed, previousAttributes(before, failed));
    ctx.emit('invoice.payment_failed', failed);
    return { invoice: failed, result };
  }
  const paid: Stripe.Invoice = {
    ...invoice,
    attempted: true,
    attempt_count: invoice.attempt_count + 1,
    amount_paid: invoice.amount_remaining,
    amount_remaining: 0,
    status: 'paid',
    next_payment_attempt: null,
    default_payment_method: result.charge.payment_method,
    status_transitions: { ...invoice.status_transitions, paid_at: ctx.now },
  };
  ctx.acct.save(paid);
  // Link the payment to its invoice, as the charge's description and metadata do on Stripe.
  const ch = ctx.acct.charges.get(result.charge.id);
  if (ch)
    ctx.acct.save({
      ...ch,
      description: ch.description ?? `Invoice ${paid.number ?? paid.id}`,
      metadata: { ...ch.metadata, invoice: paid.id },
    });
  ctx.emit('invoice.updated', paid, previousAttributes(before, paid));
  ctx.emit('invoice.paid', paid);
  ctx.emit('invoice.payment_succeeded', paid);
  return { invoice: paid, result };
}
