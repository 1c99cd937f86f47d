// Checkout Sessions in subscription mode. Paying (on the hosted page, checkout-page.ts) follows Stripe's order
// since 2025-03-31.basil: the payment first, then the subscription and its invoice, then
// `checkout.session.completed` (https://docs.stripe.com/changelog/basil/2025-03-31/checkout-legacy-subscription-upgrade).
import type Stripe from 'stripe';
import { ApiError, invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { priceInvoice } from '../pricing.ts';
import { applyMetadata, int, obj, objArr, oneOf, str } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import type { TestCard } from '../test-cards.ts';
import { lineDescription } from './billing.ts';
import { buildCustomer, buildEnv, getCustomer } from './customers.ts';
import { attachPaymentMethod, buildCardPaymentMethod } from './payment-methods.ts';
import { payWithCard } from './payments.ts';
import { pricingOf } from './price-tiers.ts';
import { itemRequests } from './subscription-items.ts';
import { createSubscription } from './subscriptions.ts';
import { redeemableCoupon } from './catalog.ts';

const SESSION_TTL = 24 * 3600;

export function getSession(ctx: Ctx, id: string): Stripe.Checkout.Session {
  const s = ctx.acct.checkoutSessions.get(id);
  if (!s) throw noSuch('checkout.session', id, 'session');
  return s;
}

function sessionCoupons(ctx: Ctx, s: Stripe.Checkout.Session): Stripe.Coupon[] {
  return (s.discounts ?? [])
    .map((d) => (typeof d.coupon === 'string' ? ctx.acct.coupons.get(d.coupon) : d.coupon))
    .filter((c): c is Stripe.Coupon => !!c);
}

export function registerCheckout(r: Router): void {
  r.add('POST', '/v1/checkout/sessions', (ctx, p) => {
    const mode = oneOf(p, 'mode', ['payment', 'setup', 'subscription'] as const, true);
    if (mode !== 'subscription')
      throw invalid('The emulator supports Checkout in mode=subscription only.', 'mode');
    const customerId = str(p, 'customer');
    const customer = customerId ? getCustomer(ctx, customerId) : undefined;
    const items = itemRequests(ctx, objArr(p, 'line_items'), 'line_items');
    const coupons = (objArr(p, 'discounts') ?? []).map((d, i) =>
      redeemableCoupon(ctx, str(d, 'coupon', true) as string, `discounts[${i}][coupon]`),
    );
    const successUrl = str(p, 'success_url');
    const uiMode = str(p, 'ui_mode') ?? 'hosted';
    if (!successUrl && uiMode === 'hosted') throw missingParam('success_url');
    const currency = items[0]?.price.currency ?? 'usd';
    const sd = obj(p, 'subscription_data');
    const trialDays = sd ? int(sd, 'trial_period_days') : undefined;
    const pricing = priceInvoice({
      currency,
      lines: items.map((it, i) => ({
        key: String(i),
        ...(trialDays ? { unitAmount: 0 } : pricingOf(ctx.acct, it.price)),
        quantity: it.quantity,
      })),
      discounts: coupons.map((c) => ({ coupon: c, start: ctx.now })),
      customerBalance: 0,
      at: ctx.now,
      firstInvoiceOfDiscount: true,
    });
    const id = ctx.emu.ids('cs_test', 58).replace('cs_test_', ctx.acct.livemode ? 'cs_live_' : 'cs_test_');
    const expiresAt = int(p, 'expires_at') ?? ctx.now + SESSION_TTL;
    const session: Stripe.Checkout.Session = {
      id,
      object: 'checkout.session',
      adaptive_pricing: null,
      after_expiration: null,
      allow_promotion_codes: null,
      allowed_payment_method_types: null,
      amount_subtotal: pricing.subtotal,
      amount_total: pricing.total,
      automatic_tax: { enabled: false, liability: null, provider: null, status: null },
      billing_address_collection: null,
      cancel_url: str(p, 'cancel_url') ?? null,
      client_reference_id: str(p, 'client_reference_id') ?? null,
      client_secret: null,
      collected_information: null,
      consent: null,
      consent_collection: null,
      created: ctx.now,
      currency,
      currency_conversion: null,
      custom_fields: [],
      custom_text: {
        after_submit: null,
        shipping_address: null,
        submit: null,
        terms_of_service_acceptance: null,
      },
      customer: customer?.id ?? null,
      customer_account: null,
      customer_creation: customer ? null : 'always',
      customer_details: customer
        ? {
            address: null,
            business_name: null,
            email: customer.email,
            individual_name: null,
            name: customer.name ?? null,
            phone: null,
            tax_exempt: 'none',
            tax_ids: null,
          }
        : null,
      customer_email: str(p, 'customer_email') ?? null,
      discounts: coupons.map((c) => ({ coupon: c.id, promotion_code: null })),
      expires_at: expiresAt,
      integration_identifier: null,
      invoice: null,
      invoice_creation: null,
      livemode: ctx.acct.livemode,
      locale: null,
      managed_payments: null,
      metadata: applyMetadata({}, p),
      mode: 'subscription',
      origin_context: null,
      payment_intent: null,
      payment_link: null,
      payment_method_collection: 'always',
      payment_method_configuration_details: null,
      payment_method_options: null,
      payment_method_types: ['card'],
      payment_status: 'unpaid',
      permissions: null,
      phone_number_collection: { enabled: false },
      recovered_from: null,
      saved_payment_method_options: null,
      setup_intent: null,
      shipping_address_collection: null,
      shipping_cost: null,
      shipping_options: [],
      status: 'open',
      submit_type: null,
      subscription: null,
      success_url: successUrl ?? null,
      total_details: { amount_discount: pricing.totalDiscount, amount_shipping: 0, amount_tax: 0 },
      ui_mode: 'hosted',
      url: `${ctx.emu.baseUrl}/checkout/pay/${id}`,
      wallet_options: null,
    };
    const lineItems: Stripe.LineItem[] = items.map((it, i) => ({
      id: ctx.emu.ids('li', 24),
      object: 'item',
      adjustable_quantity: null,
      amount_discount: pricing.lines[i]?.discountAmounts.reduce((a, d) => a + d.amount, 0) ?? 0,
      amount_subtotal: pricing.lines[i]?.amount ?? 0,
      amount_tax: 0,
      amount_total:
        (pricing.lines[i]?.amount ?? 0) -
        (pricing.lines[i]?.discountAmounts.reduce((a, d) => a + d.amount, 0) ?? 0),
      currency,
      description: lineDescription(ctx, it.price, it.quantity)
        .replace(/^\d+ × /, '')
        .replace(/ \(.*$/, ''),
      metadata: {},
      price: it.price,
      quantity: it.quantity,
    }));
    ctx.acct.checkoutLineItems.set(id, lineItems);
    if (trialDays) session.metadata = { ...session.metadata, __trial_period_days: String(trialDays) };
    ctx.acct.save(session);
    return publicSession(session);
  });
  r.add('GET', '/v1/checkout/sessions', (ctx, p) => {
    const customer = str(p, 'customer');
    const status = str(p, 'status');
    const page = ctx.acct.checkoutSessions.page({
      ...listParams(p),
      filter: (s) => (!customer || s.customer === customer) && (!status || s.status === status),
    });
    return envelope('/v1/checkout/sessions', { ...page, data: page.data.map(publicSession) });
  });
  r.add('GET', '/v1/checkout/sessions/:id', (ctx, _p, [id]) => publicSession(getSession(ctx, id as string)));
  r.add('GET', '/v1/checkout/sessions/:id/line_items', (ctx, _p, [id]) => {
    const s = getSession(ctx, id as string);
    return {
      object: 'list',
      data: ctx.acct.checkoutLineItems.get(s.id) ?? [],
      has_more: false,
      url: `/v1/checkout/sessions/${s.id}/line_items`,
    };
  });
  r.add('POST', '/v1/checkout/sessions/:id/expire', (ctx, _p, [id]) => {
    const s = getSession(ctx, id as string);
    if (s.status !== 'open')
      throw invalid(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${s.status}".`,
        'session',
      );
    return publicSession(expireSession(ctx, s));
  });
}

/** Trial days ride along in internal metadata; the API never shows them. */
function publicSession(s: Stripe.Checkout.Session): Stripe.Checkout.Session {
  if (!s.metadata || !('__trial_period_days' in s.metadata)) return s;
  const { __trial_period_days: _t, ...metadata } = s.metadata;
  return { ...s, metadata };
}

function expireSession(ctx: Ctx, s: Stripe.Checkout.Session): Stripe.Checkout.Session {
  const after: Stripe.Checkout.Session = { ...s, status: 'expired', url: null };
  ctx.acct.save(after);
  ctx.emit(
    'checkout.session.expired',
    publicSession(after),
    previousAttributes(publicSession(s), publicSession(after)),
  );
  return after;
}

export function expireCheckoutSessions(ctx: Ctx): void {
  for (const s of ctx.acct.checkoutSessions.values()) {
    if (s.status === 'open' && s.expires_at <= ctx.now) expireSession(ctx, s);
  }
}

export interface CardInput {
  card: TestCard;
  expMonth: number;
  expYear: number;
  name: string | null;
  email: string | null;
  /** The customer completed 3-D Secure on the hosted page (cards that need it are declined otherwise). */
  authenticated?: boolean;
}

/** Pay a session with a card. A decline throws a card error and leaves the session open. */
export function completeCheckout(ctx: Ctx, sessionId: string, input: CardInput): Stripe.Checkout.Session {
  const s = getSession(ctx, sessionId);
  if (s.status !== 'open' || s.expires_at <= ctx.now) {
    throw invalid(
      s.status === 'complete'
        ? 'This Checkout Session is already complete.'
        : 'This Checkout Session has expired.',
      'session',
    );
  }
  const items = (ctx.acct.checkoutLineItems.get(s.id) ?? []).map((li) => ({
    price: li.price as Stripe.Price,
    quantity: li.quantity ?? 1,
  }));
  const env = buildEnv(ctx);
  const email = input.email ?? s.customer_email;
  // Everything is checked before any object is created, so a decline leaves no trace but its failed charge.
  const pm = buildCardPaymentMethod(
    env,
    input.card,
    { billing_details: { address: null, email, name: input.name, phone: null, tax_id: null } },
    { month: input.expMonth, year: input.expYear },
  );
  const trialDays = Number(s.metadata?.__trial_period_days ?? 0);
  const amount = trialDays ? 0 : (s.amount_total ?? 0);
  let customer = typeof s.customer === 'string' ? ctx.acct.customers.get(s.customer) : undefined;
  ctx.acct.save(pm);
  let prepaid;
  if (amount > 0) {
    const res = payWithCard(ctx, {
      customer: customer?.id ?? null,
      amount,
      currency: s.currency ?? 'usd',
      paymentMethod: pm,
      description: 'Subscription creation',
      authenticated: input.authenticated,
    });
    if (res.decline) {
      throw new ApiError(402, 'card_error', res.decline.message, {
        code: res.decline.code,
        decline_code: res.decline.decline_code,
        charge: res.charge.id,
      });
    }
    prepaid = res;
  }
  if (!customer) {
    customer = buildCustomer(env, { email, name: input.name });
    ctx.acct.save(customer);
    ctx.emit('customer.created', customer);
    if (prepaid) {
      // The payment happened before the customer existed; Stripe links it once the customer is created.
      ctx.acct.save({ ...prepaid.charge, customer: customer.id });
      ctx.acct.save({ ...prepaid.intent, customer: customer.id });
    }
  }
  const attached = attachPaymentMethod(ctx, pm, customer.id);
  // Checkout sets the card up for the renewals (a SetupIntent when nothing is due now), authenticated if asked.
  if (input.authenticated) ctx.acct.setUpCards.add(attached.id);
  const beforeCust = customer;
  customer = {
    ...customer,
    invoice_settings: { ...customer.invoice_settings, default_payment_method: attached.id },
  };
  ctx.acct.save(customer);
  ctx.emit('customer.updated', customer, previousAttributes(beforeCust, customer));
  const sub = createSubscription(ctx, {
    customer,
    items,
    coupons: sessionCoupons(ctx, s),
    paymentMethod: attached,
    trialEnd: trialDays ? ctx.now + trialDays * 86_400 : undefined,
    prepaid,
    checkoutSession: s.id,
  });
  const after: Stripe.Checkout.Session = {
    ...s,
    status: 'complete',
    payment_status: amount > 0 ? 'paid' : 'no_payment_required',
    customer: customer.id,
    customer_details: {
      address: null,
      business_name: null,
      email: customer.email,
      individual_name: null,
      name: customer.name ?? null,
      phone: null,
      tax_exempt: 'none',
      tax_ids: null,
    },
    subscription: sub.id,
    invoice: typeof sub.latest_invoice === 'string' ? sub.latest_invoice : (sub.latest_invoice?.id ?? null),
    url: null,
  };
  ctx.acct.save(after);
  ctx.emit('checkout.session.completed', publicSession(after));
  return publicSession(after);
}
