// Card payment methods: create from a test number or `tok_*`, attach/detach, list per customer. `pm_card_*`
// shortcuts mint a new payment method wherever an id is accepted, as on Stripe.
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { fill, type BuildEnv } from '../build-env.ts';
import { ApiError, invalid, noSuch } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, int, obj, str, type Params } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import { cardByLast4, cardFromNumber, shortcutCard, type TestCard } from '../test-cards.ts';
import { buildEnv, getCustomer } from './customers.ts';

export function buildCardPaymentMethod(
  env: BuildEnv,
  card: TestCard,
  partial: Partial<Stripe.PaymentMethod> = {},
  expiry?: { month: number; year: number },
): Stripe.PaymentMethod {
  const year = new Date(env.now * 1000).getUTCFullYear();
  const base: Stripe.PaymentMethod = {
    id: env.ids('pm', 24),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: card.country,
      display_brand: card.brand,
      exp_month: expiry?.month ?? 12,
      exp_year: expiry?.year ?? year + 3,
      fingerprint: createHash('sha256').update(card.number).digest('base64url').slice(0, 16),
      funding: card.funding,
      generated_from: null,
      last4: card.number.slice(-4),
      networks: { available: [card.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: env.now,
    customer: null,
    customer_account: null,
    livemode: env.livemode,
    metadata: {},
    type: 'card',
  };
  return fill(base, partial);
}

/** The test card behind a stored payment method (by brand and last 4), for deciding how a charge goes. */
export function testCardOf(pm: Stripe.PaymentMethod): TestCard {
  const c = pm.card;
  if (!c) return { number: '0000', brand: 'unknown', funding: 'credit', country: 'US' };
  return (
    cardByLast4(c.brand, c.last4) ?? { number: c.last4, brand: c.brand, funding: 'credit', country: 'US' }
  );
}

/** An existing payment method, or a new one minted from a `pm_card_*` / `tok_*` shortcut. */
export function resolvePaymentMethod(ctx: Ctx, id: string, param: string): Stripe.PaymentMethod {
  const existing = ctx.acct.paymentMethods.get(id);
  if (existing) return existing;
  const card = shortcutCard(id);
  if (card) {
    const pm = buildCardPaymentMethod(buildEnv(ctx), card);
    ctx.acct.save(pm);
    return pm;
  }
  throw noSuch('PaymentMethod', id, param);
}

export function attachPaymentMethod(
  ctx: Ctx,
  pm: Stripe.PaymentMethod,
  customerId: string,
): Stripe.PaymentMethod {
  if (pm.customer && pm.customer !== customerId) {
    throw invalid(
      'The payment method you provided has already been attached to a customer.',
      'payment_method',
      'payment_method_already_attached',
    );
  }
  const attached = { ...pm, customer: customerId };
  ctx.acct.save(attached);
  if (pm.customer !== customerId) ctx.emit('payment_method.attached', attached);
  return attached;
}

function createFromParams(ctx: Ctx, p: Params): Stripe.PaymentMethod {
  const type = str(p, 'type', true);
  if (type !== 'card') throw invalid(`The emulator supports only type=card, not ${type}.`, 'type');
  const c = obj(p, 'card');
  if (!c) throw invalid('Missing required param: card.', 'card', 'parameter_missing');
  const token = str(c, 'token');
  let card: TestCard | undefined;
  if (token) {
    card = shortcutCard(token);
    if (!card) throw noSuch('token', token, 'card[token]');
  } else {
    card = cardFromNumber(str(c, 'number', true) as string);
  }
  const month = int(c, 'exp_month');
  const year = int(c, 'exp_year');
  if (month !== undefined && (month < 1 || month > 12)) {
    throw new ApiError(402, 'card_error', "Your card's expiration month is invalid.", {
      code: 'invalid_expiry_month',
      param: 'card[exp_month]',
    });
  }
  const bd = obj(p, 'billing_details');
  return buildCardPaymentMethod(
    buildEnv(ctx),
    card,
    {
      metadata: applyMetadata({}, p),
      billing_details: {
        address: null,
        email: bd ? (str(bd, 'email') ?? null) : null,
        name: bd ? (str(bd, 'name') ?? null) : null,
        phone: bd ? (str(bd, 'phone') ?? null) : null,
        tax_id: null,
      },
    },
    month !== undefined && year !== undefined ? { month, year: year < 100 ? 2000 + year : year } : undefined,
  );
}

export function registerPaymentMethods(r: Router): void {
  r.add('POST', '/v1/payment_methods', (ctx, p) => {
    const pm = createFromParams(ctx, p);
    ctx.acct.save(pm);
    return pm;
  });
  r.add('GET', '/v1/payment_methods/:id', (ctx, _p, [id]) => {
    const pm = ctx.acct.paymentMethods.get(id as string);
    if (!pm) throw noSuch('PaymentMethod', id as string, 'payment_method');
    return pm;
  });
  r.add('POST', '/v1/payment_methods/:id', (ctx, p, [id]) => {
    const before = ctx.acct.paymentMethods.get(id as string);
    if (!before) throw noSuch('PaymentMethod', id as string, 'payment_method');
    const after: Stripe.PaymentMethod = { ...before, metadata: applyMetadata(before.metadata ?? {}, p) };
    const c = obj(p, 'card');
    if (c && after.card) {
      after.card = {
        ...after.card,
        exp_month: int(c, 'exp_month') ?? after.card.exp_month,
        exp_year: int(c, 'exp_year') ?? after.card.exp_year,
      };
    }
    const bd = obj(p, 'billing_details');
    if (bd) {
      after.billing_details = {
        ...after.billing_details,
        name: bd.name !== undefined ? (str(bd, 'name') ?? null) : after.billing_details.name,
        email: bd.email !== undefined ? (str(bd, 'email') ?? null) : after.billing_details.email,
      };
    }
    ctx.acct.save(after);
    ctx.emit('payment_method.updated', after, previousAttributes(before, after));
    return after;
  });
  r.add('POST', '/v1/payment_methods/:id/attach', (ctx, p, [id]) => {
    const customer = getCustomer(ctx, str(p, 'customer', true) as string);
    const pm = resolvePaymentMethod(ctx, id as string, 'payment_method');
    return attachPaymentMethod(ctx, pm, customer.id);
  });
  r.add('POST', '/v1/payment_methods/:id/detach', (ctx, _p, [id]) => {
    const pm = ctx.acct.paymentMethods.get(id as string);
    if (!pm) throw noSuch('PaymentMethod', id as string, 'payment_method');
    if (!pm.customer) {
      throw invalid(
        'The payment method you provided is not attached to a customer so detachment is impossible.',
        'payment_method',
      );
    }
    const customerId = typeof pm.customer === 'string' ? pm.customer : pm.customer.id;
    const detached = { ...pm, customer: null };
    ctx.acct.save(detached);
    const cust = ctx.acct.customers.get(customerId);
    if (cust && cust.invoice_settings.default_payment_method === pm.id) {
      const next = { ...cust, invoice_settings: { ...cust.invoice_settings, default_payment_method: null } };
      ctx.acct.save(next);
      ctx.emit('customer.updated', next, previousAttributes(cust, next));
    }
    ctx.emit('payment_method.detached', detached, { customer: customerId });
    return detached;
  });
  r.add('GET', '/v1/payment_methods', (ctx, p) => {
    const customer = str(p, 'customer');
    const type = str(p, 'type');
    const page = ctx.acct.paymentMethods.page({
      ...listParams(p),
      ids: customer ? ctx.acct.byCustomer.payment_method.get(customer) : undefined,
      filter: (pm) => (!type || pm.type === type) && (!customer ? true : pm.customer === customer),
    });
    return envelope('/v1/payment_methods', page);
  });
  r.add('GET', '/v1/customers/:id/payment_methods', (ctx, p, [id]) => {
    const cust = getCustomer(ctx, id as string, 'customer');
    const type = str(p, 'type');
    const page = ctx.acct.paymentMethods.page({
      ...listParams(p),
      ids: ctx.acct.byCustomer.payment_method.get(cust.id),
      filter: (pm) => !type || pm.type === type,
    });
    return envelope(`/v1/customers/${cust.id}/payment_methods`, page);
  });
}
