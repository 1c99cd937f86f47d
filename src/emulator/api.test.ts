// Conformance through the official SDK: wire format, auth, errors, idempotency, lists, expand, core resources.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchErr, startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 11 });
  stripe = emu.stripe;
});
afterAll(() => emu.close());

describe('auth and accounts', () => {
  it('rejects a missing or malformed key with 401 as StripeAuthenticationError, masking the key', async () => {
    const bad = emu.client('sk_test_');
    const err = await catchErr(bad.customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const res = await fetch(`${emu.url}/v1/customers`, {
      headers: { authorization: 'Bearer pk_test_abcdefgh1234' },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).not.toContain('abcdefgh');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const none = await fetch(`${emu.url}/v1/customers`);
    expect(none.status).toBe(401);
  });

  it('gives each key its own account, with the mode from the prefix', async () => {
    const a = emu.client('sk_test_accountA');
    const b = emu.client('rk_test_accountB');
    const live = emu.client('sk_live_accountC');
    const c = await a.customers.create({ email: 'only-a@example.com' });
    expect(c.livemode).toBe(false);
    await expect(b.customers.retrieve(c.id)).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const accA = await a.accounts.retrieveCurrent();
    const accB = await b.accounts.retrieveCurrent();
    expect(accA.id).toMatch(/^acct_/);
    expect(accA.id).not.toBe(accB.id);
    expect((await live.customers.create({ email: 'l@example.com' })).livemode).toBe(true);
  });
});

describe('wire format', () => {
  it('sends Request-Id and Stripe-Version on every response', async () => {
    const ok = await fetch(`${emu.url}/v1/customers?limit=1`, {
      headers: { authorization: `Bearer ${emu.key}` },
    });
    expect(ok.headers.get('request-id')).toMatch(/^req_/);
    expect(ok.headers.get('stripe-version')).toBe('2026-10-28.endive');
    const missing = await fetch(`${emu.url}/v1/nothing`, { headers: { authorization: `Bearer ${emu.key}` } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('request-id')).toMatch(/^req_/);
  });

  it('reads nested form fields, and "" unsets a field or a metadata key', async () => {
    const c = await stripe.customers.create({
      email: 'form@example.com',
      description: 'note',
      metadata: { a: '1', b: '2' },
    });
    const u = await stripe.customers.update(c.id, { description: '', metadata: { a: '' } });
    expect(u.description).toBeNull();
    expect(u.metadata).toEqual({ b: '2' });
  });
});

describe('errors arrive as the SDK classes', () => {
  it('invalid request with param', async () => {
    const prod = await stripe.products.create({ name: 'P' });
    const err = await catchErr(stripe.prices.create({ product: prod.id, currency: 'usd' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.param).toBe('unit_amount');
    const missing = await catchErr(stripe.customers.retrieve('cus_missing'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
  });

  it('card errors carry decline_code', async () => {
    const err = await catchErr(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
        confirm: true,
      }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.decline_code).toBe('insufficient_funds');
    expect(err.message).toBe('Your card has insufficient funds.');
  });

  it('rate limits: 429 with Stripe-Rate-Limited-Reason, global and per endpoint', async () => {
    await emu.control('rate_limits', { global: 3 });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => stripe.products.list({ limit: 1 })));
    const limited = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason as Stripe.errors.StripeError);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    expect(limited[0]).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    await emu.control('rate_limits', { endpoints: { 'GET /v1/coupons': 1 } });
    await new Promise((r) => setTimeout(r, 1000));
    const res = await Promise.all(
      [1, 2].map(() => fetch(`${emu.url}/v1/coupons`, { headers: { authorization: `Bearer ${emu.key}` } })),
    );
    const r429 = res.find((r) => r.status === 429);
    expect(r429?.headers.get('stripe-rate-limited-reason')).toBe('endpoint-rate');
    expect(((await r429?.json()) as { error: { code: string } }).error.code).toBe('rate_limit');
    expect(
      (await fetch(`${emu.url}/v1/products`, { headers: { authorization: `Bearer ${emu.key}` } })).status,
    ).toBe(200);
    await emu.control('rate_limits', {});
  });
});

describe('idempotency', () => {
  it('replays the stored response with Idempotent-Replayed', async () => {
    const first = await stripe.customers.create(
      { email: 'idem@example.com' },
      { idempotencyKey: 'k-replay' },
    );
    const again = await stripe.customers.create(
      { email: 'idem@example.com' },
      { idempotencyKey: 'k-replay' },
    );
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    const list = await stripe.customers.list({ email: 'idem@example.com' });
    expect(list.data).toHaveLength(1);
  });

  it('the same key with other parameters is an idempotency error', async () => {
    await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'k-mismatch' });
    const err = await catchErr(
      stripe.customers.create({ email: 'b@example.com' }, { idempotencyKey: 'k-mismatch' }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('a key still in flight is a 409', async () => {
    await emu.control('latency', { fixed_ms: 300 });
    const req = (): Promise<Response> =>
      fetch(`${emu.url}/v1/customers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${emu.key}`,
          'idempotency-key': 'k-flight',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'email=f%40example.com',
      });
    const first = req();
    await new Promise((r) => setTimeout(r, 100));
    const second = await fetch(`${emu.url}/v1/customers`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${emu.key}`,
        'idempotency-key': 'k-flight',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'email=f%40example.com',
    });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: { type: string } }).error.type).toBe('idempotency_error');
    expect((await first).status).toBe(200);
    const replay = await req();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await emu.control('latency', { fixed_ms: 0 });
  });
});

describe('lists', () => {
  it('pages newest first in both directions, with created filters', async () => {
    const acct = emu.client('sk_test_pagination');
    emu.clock.freeze(1_800_000_000);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      emu.clock.advance(10);
      ids.push((await acct.customers.create({ email: `p${i}@example.com` })).id);
    }
    const newestFirst = [...ids].reverse();
    const p1 = await acct.customers.list({ limit: 10 });
    expect(p1.data.map((c) => c.id)).toEqual(newestFirst.slice(0, 10));
    expect(p1.has_more).toBe(true);
    const p2 = await acct.customers.list({ limit: 10, starting_after: p1.data[9]?.id });
    expect(p2.data.map((c) => c.id)).toEqual(newestFirst.slice(10, 20));
    const p3 = await acct.customers.list({ limit: 10, starting_after: p2.data[9]?.id });
    expect(p3.data.map((c) => c.id)).toEqual(newestFirst.slice(20));
    expect(p3.has_more).toBe(false);
    const back = await acct.customers.list({ limit: 10, ending_before: p3.data[0]?.id });
    expect(back.data.map((c) => c.id)).toEqual(newestFirst.slice(10, 20));
    expect(back.has_more).toBe(true);
    const t5 = 1_800_000_000 + 50;
    const ranged = await acct.customers.list({ limit: 100, created: { gte: t5, lt: t5 + 50 } });
    expect(ranged.data.map((c) => c.id)).toEqual(ids.slice(4, 9).reverse());
    const all = await acct.customers.list({ limit: 7 }).autoPagingToArray({ limit: 100 });
    expect(all.map((c) => c.id)).toEqual(newestFirst);
    const badLimit = await catchErr(acct.customers.list({ limit: 101 }));
    expect(badLimit.param).toBe('limit');
    emu.clock.unfreeze();
  });

  it('expands up to four levels, and customer.subscriptions only when asked', async () => {
    const c = await stripe.customers.create({ email: 'expand@example.com', payment_method: 'pm_card_visa' });
    const pmId = (await stripe.paymentMethods.list({ customer: c.id })).data[0]?.id as string;
    await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pmId } });
    const prod = await stripe.products.create({ name: 'Exp' });
    const price = await stripe.prices.create({
      product: prod.id,
      currency: 'usd',
      unit_amount: 500,
      recurring: { interval: 'month' },
    });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    const plain = await stripe.customers.retrieve(c.id);
    expect('subscriptions' in plain).toBe(false);
    const expanded = (await stripe.customers.retrieve(c.id, {
      expand: ['subscriptions', 'invoice_settings.default_payment_method'],
    })) as Stripe.Customer;
    expect(expanded.subscriptions?.data.map((s) => s.id)).toEqual([sub.id]);
    expect((expanded.invoice_settings.default_payment_method as Stripe.PaymentMethod).card?.last4).toBe(
      '4242',
    );
    const deep = await stripe.subscriptions.retrieve(sub.id, {
      expand: ['latest_invoice.customer.invoice_settings.default_payment_method'],
    });
    const inv = deep.latest_invoice as Stripe.Invoice;
    expect(
      ((inv.customer as Stripe.Customer).invoice_settings.default_payment_method as Stripe.PaymentMethod).id,
    ).toBe(pmId);
    const listed = await stripe.customers.list({
      email: 'expand@example.com',
      expand: ['data.subscriptions', 'data.invoice_settings.default_payment_method'],
    });
    expect(listed.data[0]?.subscriptions?.data).toHaveLength(1);
    // A repeated page reflects changes to what it expanded (pages are served from a per-object cache).
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await stripe.paymentMethods.update(pmId, { metadata: { note: 'changed' } });
    const again = await stripe.customers.list({
      email: 'expand@example.com',
      expand: ['data.subscriptions', 'data.invoice_settings.default_payment_method'],
    });
    expect(again.data[0]?.subscriptions?.data[0]?.cancel_at_period_end).toBe(true);
    expect((again.data[0]?.invoice_settings.default_payment_method as Stripe.PaymentMethod).metadata).toEqual(
      { note: 'changed' },
    );
    const tooDeep = await catchErr(
      stripe.subscriptions.retrieve(sub.id, {
        expand: ['latest_invoice.customer.invoice_settings.default_payment_method.customer'],
      }),
    );
    expect(tooDeep.param).toBe('expand');
    // On a list the leading `data` counts as a level too: four in all, as on Stripe.
    const four = await stripe.subscriptions.list({ customer: c.id, expand: ['data.items.data.price'] });
    expect(four.data[0]?.items.data[0]?.price.id).toBe(price.id);
    for (const path of [
      'data.items.data.price.product',
      'data.latest_invoice.customer.invoice_settings.default_payment_method',
    ]) {
      const err = await catchErr(stripe.subscriptions.list({ customer: c.id, expand: [path] }));
      const message = `You cannot expand more than 4 levels of a property. Property: ${path}`;
      expect([err.type, err.param, err.message]).toEqual(['StripeInvalidRequestError', 'expand', message]);
    }
  });
});

describe('customers', () => {
  it('creates, retrieves, updates, searches by email and deletes', async () => {
    const c = await stripe.customers.create({
      email: 'Search.Me@Example.com',
      name: 'Search Me',
      metadata: { user_id: 'u1' },
    });
    expect((await stripe.customers.retrieve(c.id)).id).toBe(c.id);
    const found = await stripe.customers.search({ query: "email:'search.me@example.com'" });
    expect(found.data.map((x) => x.id)).toEqual([c.id]);
    const byMeta = await stripe.customers.search({ query: "metadata['user_id']:'u1'" });
    expect(byMeta.data.map((x) => x.id)).toContain(c.id);
    const updated = await stripe.customers.update(c.id, { name: 'Renamed', balance: -500 });
    expect(updated.balance).toBe(-500);
    const del = await stripe.customers.del(c.id);
    expect(del.deleted).toBe(true);
    expect(await stripe.customers.retrieve(c.id)).toMatchObject({ id: c.id, deleted: true });
    await expect(stripe.customers.update(c.id, { name: 'x' })).rejects.toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError,
    );
    expect((await stripe.customers.search({ query: "email:'search.me@example.com'" })).data).toHaveLength(0);
  });
});

describe('catalog', () => {
  it('products, prices and coupons', async () => {
    const prod = await stripe.products.create({
      name: 'Catalog',
      default_price_data: { currency: 'usd', unit_amount: 1200, recurring: { interval: 'year' } },
    });
    expect(prod.default_price).toMatch(/^price_/);
    const price = await stripe.prices.retrieve(prod.default_price as string);
    expect(price.recurring?.interval).toBe('year');
    expect(price.type).toBe('recurring');
    const listed = await stripe.prices.list({ product: prod.id });
    expect(listed.data.map((p) => p.id)).toEqual([price.id]);
    const coupon = await stripe.coupons.create({
      id: 'TEN',
      percent_off: 10,
      duration: 'repeating',
      duration_in_months: 3,
    });
    expect(coupon).toMatchObject({
      id: 'TEN',
      percent_off: 10,
      duration: 'repeating',
      duration_in_months: 3,
      valid: true,
    });
    const amountOff = await catchErr(stripe.coupons.create({ amount_off: 500, duration: 'once' }));
    expect(amountOff.param).toBe('currency');
    expect((await stripe.coupons.del('TEN')).deleted).toBe(true);
  });
});

describe('payment methods, payments, refunds', () => {
  it('attaches and detaches test cards', async () => {
    const c = await stripe.customers.create({ email: 'pm@example.com' });
    const amex = await stripe.paymentMethods.attach('pm_card_amex', { customer: c.id });
    expect(amex.card?.brand).toBe('amex');
    const created = await stripe.paymentMethods.create({
      type: 'card',
      card: { number: '5555555555554444', exp_month: 4, exp_year: 2031, cvc: '123' },
    });
    await stripe.paymentMethods.attach(created.id, { customer: c.id });
    const list = await stripe.customers.listPaymentMethods(c.id);
    expect(list.data.map((p) => p.card?.brand).sort()).toEqual(['amex', 'mastercard']);
    const detached = await stripe.paymentMethods.detach(amex.id);
    expect(detached.customer).toBeNull();
    expect((await stripe.paymentMethods.list({ customer: c.id })).data).toHaveLength(1);
    const bad = await catchErr(
      stripe.paymentMethods.create({
        type: 'card',
        card: { number: '4242424242424241', exp_month: 1, exp_year: 2030 },
      }),
    );
    expect(bad).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(bad.code).toBe('incorrect_number');
  });

  it('charges through a payment intent and refunds partly, then fully', async () => {
    const c = await stripe.customers.create({ email: 'refund@example.com' });
    const pi = await stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      customer: c.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(pi.status).toBe('succeeded');
    const charges = await stripe.charges.list({ customer: c.id });
    const ch = charges.data[0] as Stripe.Charge;
    expect(ch).toMatchObject({ amount: 5000, status: 'succeeded', paid: true, payment_intent: pi.id });
    const r1 = await stripe.refunds.create({ charge: ch.id, amount: 2000 });
    expect(r1.status).toBe('succeeded');
    const after1 = await stripe.charges.retrieve(ch.id);
    expect(after1).toMatchObject({ amount_refunded: 2000, refunded: false });
    await stripe.refunds.create({ payment_intent: pi.id });
    const after2 = await stripe.charges.retrieve(ch.id);
    expect(after2).toMatchObject({ amount_refunded: 5000, refunded: true });
    const over = await catchErr(stripe.refunds.create({ charge: ch.id, amount: 1 }));
    expect(over).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});

describe('billing portal', () => {
  it('creates a session whose URL shows the customer, escaped', async () => {
    const c = await stripe.customers.create({ email: 'portal@example.com', name: '<b>Portal</b> & Co' });
    const session = await stripe.billingPortal.sessions.create({
      customer: c.id,
      return_url: 'https://example.com/account',
    });
    expect(session).toMatchObject({
      object: 'billing_portal.session',
      customer: c.id,
      return_url: 'https://example.com/account',
    });
    const html = await (await fetch(session.url)).text();
    expect(html).toContain('&#60;b&#62;Portal&#60;&#47;b&#62; &#38; Co');
    expect(html).not.toContain('<b>Portal');
  });
});

describe('events', () => {
  it('records changes with previous_attributes, filters by type, types[] and created, and keeps 30 days', async () => {
    const acct = emu.client('sk_test_events');
    emu.clock.freeze(1_810_000_000);
    const c = await acct.customers.create({ email: 'ev@example.com', name: 'Before' });
    emu.clock.advance(60);
    await acct.customers.update(c.id, { name: 'After' });
    const updated = await acct.events.list({ type: 'customer.updated' });
    expect(updated.data).toHaveLength(1);
    expect(updated.data[0]?.data.previous_attributes).toEqual({ name: 'Before' });
    expect((updated.data[0]?.data.object as Stripe.Customer).name).toBe('After');
    const both = await acct.events.list({ types: ['customer.created', 'customer.updated'] });
    expect(both.data.map((e) => e.type)).toEqual(['customer.updated', 'customer.created']);
    const wildcard = await acct.events.list({ type: 'customer.*' });
    expect(wildcard.data).toHaveLength(2);
    const early = await acct.events.list({ created: { lt: 1_810_000_030 } });
    expect(early.data.map((e) => e.type)).toEqual(['customer.created']);
    emu.clock.advance(31 * 86_400);
    expect((await acct.events.list()).data).toHaveLength(0);
    emu.clock.unfreeze();
  });
});
