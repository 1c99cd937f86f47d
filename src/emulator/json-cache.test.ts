// The serialized-JSON cache (expand.ts): every write to an object, or to an object its expansion read, must show
// in the next list or retrieve. Each step first checks the stale JSON really was cached, so a pass means the
// cache was invalidated, not bypassed. The suite runs with EMULATOR_VERIFY_JSON_CACHE=1 (vitest.config.ts), which
// also re-renders every cache hit and fails on a difference; these tests switch that off to see the cache's own
// answers.
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVerifyJsonCache } from './wire-json.ts';
import { startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;
const EXPAND = ['data.invoice_settings.default_payment_method', 'data.subscriptions'];

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 21 });
  stripe = emu.stripe;
  setVerifyJsonCache(false);
});
afterAll(async () => {
  setVerifyJsonCache(process.env.EMULATOR_VERIFY_JSON_CACHE === '1');
  await emu.close();
});

/** How many serializations are cached for a stored object (all expansion sets). */
function cached(id: string): number {
  return emu.emulator.account(emu.key).findSlot(id)?.json.size ?? 0;
}

async function setup(email: string): Promise<{ customer: string; pm: string; price: string }> {
  const c = await stripe.customers.create({ email, name: 'Before', payment_method: 'pm_card_visa' });
  const pm = (await stripe.paymentMethods.list({ customer: c.id })).data[0]?.id as string;
  await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm } });
  const prod = await stripe.products.create({ name: 'Cache' });
  const price = await stripe.prices.create({
    product: prod.id,
    currency: 'usd',
    unit_amount: 700,
    recurring: { interval: 'month' },
  });
  return { customer: c.id, pm, price: price.id };
}

const list = (email: string): Promise<Stripe.ApiList<Stripe.Customer>> =>
  stripe.customers.list({ email, expand: EXPAND });
const retrieve = async (id: string): Promise<Stripe.Customer> =>
  (await stripe.customers.retrieve(id, {
    expand: ['invoice_settings.default_payment_method', 'subscriptions'],
  })) as Stripe.Customer;
const pmOf = (c: Stripe.Customer | undefined): Stripe.PaymentMethod =>
  c?.invoice_settings.default_payment_method as Stripe.PaymentMethod;

describe('serialized JSON cache', () => {
  it('serves a customer update on the next list and retrieve', async () => {
    const { customer } = await setup('cache-update@example.com');
    expect((await list('cache-update@example.com')).data[0]?.name).toBe('Before');
    expect((await retrieve(customer)).name).toBe('Before');
    expect(cached(customer)).toBeGreaterThan(0);
    await stripe.customers.update(customer, { name: 'After', metadata: { tier: 'gold' } });
    const listed = (await list('cache-update@example.com')).data[0];
    expect(listed?.name).toBe('After');
    expect(listed?.metadata).toEqual({ tier: 'gold' });
    expect((await retrieve(customer)).name).toBe('After');
    expect((await stripe.customers.retrieve(customer)) as Stripe.Customer).toMatchObject({ name: 'After' });
  });

  it('follows a change to an expanded payment method, which the customer itself did not see', async () => {
    const { customer, pm } = await setup('cache-pm@example.com');
    expect(pmOf((await list('cache-pm@example.com')).data[0]).metadata).toEqual({});
    expect(pmOf(await retrieve(customer)).metadata).toEqual({});
    expect(cached(customer)).toBeGreaterThan(0);
    await stripe.paymentMethods.update(pm, { metadata: { note: 'changed' } });
    expect(pmOf((await list('cache-pm@example.com')).data[0]).metadata).toEqual({ note: 'changed' });
    expect(pmOf(await retrieve(customer)).metadata).toEqual({ note: 'changed' });
  });

  it('follows subscriptions created, changed and canceled under an expanded customer', async () => {
    const { customer, price } = await setup('cache-subs@example.com');
    expect((await list('cache-subs@example.com')).data[0]?.subscriptions?.data).toEqual([]);
    expect(cached(customer)).toBeGreaterThan(0);
    const sub = await stripe.subscriptions.create({ customer, items: [{ price }] });
    const afterCreate = (await list('cache-subs@example.com')).data[0]?.subscriptions?.data ?? [];
    expect(afterCreate.map((s) => s.id)).toEqual([sub.id]);
    expect(afterCreate[0]?.cancel_at_period_end).toBe(false);
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true, metadata: { k: 'v' } });
    const afterUpdate = (await list('cache-subs@example.com')).data[0]?.subscriptions?.data[0];
    expect(afterUpdate?.cancel_at_period_end).toBe(true);
    expect(afterUpdate?.metadata).toEqual({ k: 'v' });
    expect((await retrieve(customer)).subscriptions?.data[0]?.cancel_at_period_end).toBe(true);
    await stripe.subscriptions.cancel(sub.id);
    expect((await list('cache-subs@example.com')).data[0]?.subscriptions?.data).toEqual([]);
    expect((await retrieve(customer)).subscriptions?.data).toEqual([]);
  });

  it('drops a deleted customer and a detached default payment method', async () => {
    const { customer, pm } = await setup('cache-delete@example.com');
    expect(pmOf((await list('cache-delete@example.com')).data[0]).id).toBe(pm);
    await stripe.paymentMethods.detach(pm);
    const detached = (await list('cache-delete@example.com')).data[0]?.invoice_settings
      .default_payment_method;
    const fresh = (await stripe.customers.retrieve(customer)) as Stripe.Customer;
    // Whatever Stripe shows for the customer after a detach, the expanded page agrees with a plain retrieve.
    expect(typeof detached === 'object' && detached ? detached.id : detached).toBe(
      fresh.invoice_settings.default_payment_method,
    );
    if (detached && typeof detached === 'object') expect(detached.customer).toBeNull();
    await stripe.customers.del(customer);
    expect((await list('cache-delete@example.com')).data).toEqual([]);
    expect(await stripe.customers.retrieve(customer)).toMatchObject({ id: customer, deleted: true });
  });

  it('serves the same bytes from the cache as a fresh render, page after page', async () => {
    for (let i = 0; i < 5; i++) await setup(`cache-bytes-${i}@example.com`);
    const url = `${emu.url}/v1/customers?limit=100&expand[0]=${EXPAND[0]}&expand[1]=${EXPAND[1]}`;
    const get = async (): Promise<string> =>
      (await fetch(url, { headers: { authorization: `Bearer ${emu.key}` } })).text();
    const first = await get();
    const second = await get();
    expect(second).toBe(first);
    setVerifyJsonCache(true);
    try {
      expect(await get()).toBe(first);
    } finally {
      setVerifyJsonCache(false);
    }
  });

  it('splices expansions into the stored JSON exactly where JSON.stringify would put them', async () => {
    // Keys named like the expanded fields inside metadata, quotes, braces and non-ASCII text in values: the
    // splice must find the expanded fields at the top level only, and count bytes, not characters.
    const c = await stripe.customers.create({
      email: 'cache-splice@example.com',
      name: 'Zoë "}{," 🎉',
      payment_method: 'pm_card_visa',
      metadata: { invoice_settings: '{"default_payment_method":"pm_x"}', subscriptions: '],[' },
    });
    const pm = (await stripe.paymentMethods.list({ customer: c.id })).data[0]?.id as string;
    await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm } });
    const url = `${emu.url}/v1/customers?email=cache-splice@example.com&expand[0]=${EXPAND[0]}&expand[1]=${EXPAND[1]}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${emu.key}` } });
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    const got = (JSON.parse(text) as Stripe.ApiList<Stripe.Customer>).data[0];
    expect(got?.name).toBe('Zoë "}{," 🎉');
    expect(got?.metadata).toEqual({
      invoice_settings: '{"default_payment_method":"pm_x"}',
      subscriptions: '],[',
    });
    expect(pmOf(got).id).toBe(pm);
    expect(got?.subscriptions?.data).toEqual([]);
    setVerifyJsonCache(true);
    try {
      // Verification compares the spliced text with JSON.stringify of the expanded object, byte for byte.
      expect((await fetch(url, { headers: { authorization: `Bearer ${emu.key}` } })).status).toBe(200);
      expect(pmOf((await retrieve(c.id)) as Stripe.Customer).id).toBe(pm);
    } finally {
      setVerifyJsonCache(false);
    }
  });

  it('refuses an in-place edit of a stored object, which would leave its cached JSON stale', async () => {
    const { customer } = await setup('cache-frozen@example.com');
    const stored = emu.emulator.account(emu.key).customers.get(customer) as Stripe.Customer;
    expect(() => {
      (stored as { name: string | null }).name = 'Sneaky';
    }).toThrow(TypeError);
    expect(() => {
      stored.metadata.k = 'v';
    }).toThrow(TypeError);
    expect(((await stripe.customers.retrieve(customer)) as Stripe.Customer).name).toBe('Before');
  });
});
