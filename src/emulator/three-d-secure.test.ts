// 3-D Secure through the official SDK: Stripe's authentication test cards leave an on-session payment in
// `requires_action`, pointing at the emulator's test page; off-session they are declined unless set up.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 31 });
  stripe = emu.stripe;
});
afterAll(async () => emu.close());

/** What the customer does on the test page: press Complete or Fail. */
async function answer(url: string, outcome: 'complete' | 'fail'): Promise<Response> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('id="complete-authentication"');
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `outcome=${outcome}`,
    redirect: 'manual',
  });
}

/** The test page of an intent waiting for 3-D Secure without a return_url (`use_stripe_sdk`). */
const challengePage = (intent: Stripe.PaymentIntent): string =>
  (intent.next_action?.use_stripe_sdk as { stripe_js: string }).stripe_js;

async function eventTypes(intentId: string): Promise<string[]> {
  const events = await stripe.events.list({ limit: 100 });
  return events.data
    .filter((e) => (e.data.object as { id?: string }).id === intentId)
    .map((e) => e.type)
    .reverse();
}

describe('3-D Secure for payment intents', () => {
  it('requires action, then succeeds once the customer completes the challenge and returns to return_url', async () => {
    const customer = await stripe.customers.create({ email: 'three@example.com' });
    const intent = await stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
      return_url: 'https://shop.example.com/done?order=7',
    });
    expect(intent.status).toBe('requires_action');
    expect(intent.latest_charge).toBeNull();
    expect(intent.next_action?.type).toBe('redirect_to_url');
    const redirect = intent.next_action?.redirect_to_url;
    expect(redirect?.return_url).toBe('https://shop.example.com/done?order=7');

    const res = await answer(redirect?.url as string, 'complete');
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location') as string);
    expect(back.origin + back.pathname).toBe('https://shop.example.com/done');
    expect(Object.fromEntries(back.searchParams)).toEqual({
      order: '7',
      payment_intent: intent.id,
      payment_intent_client_secret: intent.client_secret,
      redirect_status: 'succeeded',
    });

    const paid = await stripe.paymentIntents.retrieve(intent.id);
    expect(paid).toMatchObject({ status: 'succeeded', amount_received: 4200, next_action: null });
    const charge = await stripe.charges.retrieve(paid.latest_charge as string);
    expect(charge).toMatchObject({ paid: true, amount: 4200, customer: customer.id });
    expect(await eventTypes(intent.id)).toEqual([
      'payment_intent.created',
      'payment_intent.requires_action',
      'payment_intent.succeeded',
    ]);
    // The page answers once.
    expect((await fetch(redirect?.url as string)).status).toBe(404);
  });

  it('a failed challenge leaves the intent for another payment method, with Stripe error', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 1500,
      currency: 'eur',
      payment_method: 'pm_card_threeDSecure2Required',
      confirm: true,
    });
    expect(intent.status).toBe('requires_action');
    expect(intent.next_action?.type).toBe('use_stripe_sdk');
    const res = await answer(challengePage(intent), 'fail');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('The provided PaymentMethod has failed authentication.');

    const failed = await stripe.paymentIntents.retrieve(intent.id);
    expect(failed).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: null,
      last_payment_error: { code: 'payment_intent_authentication_failure', type: 'invalid_request_error' },
    });
    expect(await eventTypes(intent.id)).toEqual([
      'payment_intent.created',
      'payment_intent.requires_action',
      'payment_intent.payment_failed',
    ]);
    // Another card finishes it.
    const retried = await stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
  });

  it('a card authenticated and then declined by the bank fails with the decline', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 900,
      currency: 'usd',
      payment_method: 'pm_card_authenticationRequiredChargeDeclinedInsufficientFunds',
      confirm: true,
    });
    expect(intent.status).toBe('requires_action');
    await answer(challengePage(intent), 'complete');
    const after = await stripe.paymentIntents.retrieve(intent.id);
    expect(after).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds' },
    });
    const charge = await stripe.charges.retrieve(after.latest_charge as string);
    expect(charge).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
  });

  it('rejects a return_url that is not a URL', async () => {
    const err = await stripe.paymentIntents
      .create({
        amount: 900,
        currency: 'usd',
        payment_method: 'pm_card_authenticationRequired',
        confirm: true,
        return_url: 'not a url',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ param: 'return_url' });
  });
});

describe('3-D Secure cards off-session', () => {
  async function customerWith(card: string) {
    const customer = await stripe.customers.create({ email: `${card}@example.com` });
    const pm = await stripe.paymentMethods.attach(card, { customer: customer.id });
    return { customer, pm };
  }
  const offSession = (customer: string, pm: string) =>
    stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      customer,
      payment_method: pm,
      confirm: true,
      off_session: true,
    });

  it('a card that needs it every time is declined with authentication_required', async () => {
    const { customer, pm } = await customerWith('pm_card_authenticationRequired');
    const err = await offSession(customer.id, pm.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ code: 'authentication_required', decline_code: 'authentication_required' });
  });

  it('a card that needs it on setup is declined until an authenticated payment sets it up', async () => {
    const { customer, pm } = await customerWith('pm_card_authenticationRequiredOnSetup');
    const err = await offSession(customer.id, pm.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'authentication_required' });

    const onSession = await stripe.paymentIntents.create({
      amount: 500,
      currency: 'usd',
      customer: customer.id,
      payment_method: pm.id,
      confirm: true,
    });
    expect(onSession.status).toBe('requires_action');
    await answer(challengePage(onSession), 'complete');

    expect((await offSession(customer.id, pm.id)).status).toBe('succeeded');
  });

  it('the Charges API cannot ask the customer, so it declines such a card', async () => {
    const err = await stripe.charges
      .create({ amount: 1000, currency: 'usd', source: 'tok_threeDSecure2Required' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ code: 'authentication_required' });
  });

  it('a subscription whose first payment needs authentication is incomplete', async () => {
    const { customer, pm } = await customerWith('pm_card_authenticationRequired');
    const product = await stripe.products.create({ name: 'Secure plan' });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      recurring: { interval: 'month' },
    });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      default_payment_method: pm.id,
    });
    expect(sub.status).toBe('incomplete');
    const updates = await stripe.events.list({ type: 'customer.subscription.updated', limit: 100 });
    expect(updates.data.filter((e) => (e.data.object as Stripe.Subscription).id === sub.id)).toEqual([]);
    const invoice = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice).toMatchObject({ status: 'open', amount_paid: 0 });
  });
});
