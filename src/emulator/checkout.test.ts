// Checkout paid through the hosted page in Chromium: a decline shows Stripe's message and keeps the session
// open; a good card completes it in Stripe's event order; cards that need 3-D Secure get the test challenge;
// sessions expire after 24 h.
import type { Browser } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../../test/helpers/chromium.ts';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;
let browser: Browser;
let price: Stripe.Price;

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 9 });
  stripe = emu.stripe;
  const product = await stripe.products.create({ name: 'Pro <script>alert(1)</script>' });
  price = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 2900,
    recurring: { interval: 'month' },
  });
  await stripe.coupons.create({ id: 'HALF', percent_off: 50, duration: 'once' });
  if (chromiumAvailable()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await emu.close();
});

describe.skipIf(!chromiumAvailable())('hosted Checkout', () => {
  it('declines with Stripe message, then completes with a good card: payment first, then subscription and invoice', async () => {
    const rx = await startReceiver();
    const ep = await stripe.webhookEndpoints.create({ url: rx.url, enabled_events: ['*'] });
    const customer = await stripe.customers.create({ email: 'buyer@example.com', name: 'Buyer' });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: price.id, quantity: 2 }],
      discounts: [{ coupon: 'HALF' }],
      success_url: `${emu.url}/_emulator/health?session={CHECKOUT_SESSION_ID}`,
      cancel_url: 'https://example.com/cancel',
    });
    expect(session).toMatchObject({
      status: 'open',
      amount_subtotal: 5800,
      amount_total: 2900,
      url: expect.stringContaining('/checkout/pay/'),
    });

    const page = await browser.newPage();
    await page.goto(session.url as string);
    // Catalog text is shown as text, never as markup.
    expect(await page.locator('body').innerText()).toContain('Pro <script>alert(1)</script>');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('#total').innerText()).toBe('29.00 USD');

    await page.fill('#cardnumber', '4000 0000 0000 0002');
    await page.fill('#exp', '12 / 34');
    await page.fill('#cvc', '123');
    await page.click('#submit');
    expect(await page.locator('#error').innerText()).toBe('Your card was declined.');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');

    await page.fill('#cardnumber', '4242 4242 4242 4242');
    await page.fill('#cvc', '123');
    await page.click('#submit');
    await page.waitForURL(/\/_emulator\/health\?session=/);
    expect(page.url()).toContain(session.id);
    await page.close();

    const done = await stripe.checkout.sessions.retrieve(session.id, {
      expand: ['subscription', 'line_items'],
    });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid', customer: customer.id });
    const sub = done.subscription as Stripe.Subscription;
    expect(sub.status).toBe('active');
    expect(done.line_items?.data[0]?.quantity).toBe(2);
    const inv = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(inv).toMatchObject({ status: 'paid', amount_paid: 2900, total: 2900 });

    await emu.webhooksIdle();
    const types: string[] = rx.received.map((r) => (JSON.parse(r.body) as Stripe.Event).type);
    const at = (t: string): number => types.indexOf(t);
    expect(types).toContain('charge.failed');
    expect(at('charge.succeeded')).toBeGreaterThan(at('charge.failed'));
    expect(at('payment_intent.succeeded')).toBeLessThan(at('customer.subscription.created'));
    expect(at('customer.subscription.created')).toBeLessThan(at('invoice.created'));
    expect(at('invoice.paid')).toBeLessThan(at('checkout.session.completed'));
    expect(at('checkout.session.completed')).toBe(types.length - 1);
    for (const r of rx.received) {
      expect(() =>
        stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'] as string, ep.secret as string),
      ).not.toThrow();
    }
    await stripe.webhookEndpoints.del(ep.id);
    await rx.close();
  });

  it('creates a customer from the email when none was given', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: price.id }],
      success_url: `${emu.url}/_emulator/health`,
    });
    const page = await browser.newPage();
    await page.goto(session.url as string);
    await page.fill('#email', 'new.buyer@example.com');
    await page.fill('#cardnumber', '5555555555554444');
    await page.fill('#exp', '0130');
    await page.fill('#cvc', '321');
    await page.click('#submit');
    await page.waitForURL(/\/_emulator\/health/);
    await page.close();
    const done = await stripe.checkout.sessions.retrieve(session.id);
    const cust = (await stripe.customers.retrieve(done.customer as string, {
      expand: ['invoice_settings.default_payment_method'],
    })) as Stripe.Customer;
    expect(cust.email).toBe('new.buyer@example.com');
    expect((cust.invoice_settings.default_payment_method as Stripe.PaymentMethod).card?.brand).toBe(
      'mastercard',
    );
  });

  it('asks for 3-D Secure: a failed challenge keeps the session open, a completed one pays and sets the card up for renewals', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer_email: 'secure@example.com',
      line_items: [{ price: price.id }],
      success_url: `${emu.url}/_emulator/health?session={CHECKOUT_SESSION_ID}`,
    });
    const page = await browser.newPage();
    await page.goto(session.url as string);
    const payWith = async (card: string) => {
      await page.fill('#cardnumber', card);
      await page.fill('#exp', '12 / 34');
      await page.fill('#cvc', '123');
      await page.click('#submit');
    };
    await payWith('4000 0025 0000 3155');
    expect(await page.locator('#challenge').innerText()).toContain(
      'A payment of 29.00 USD needs authentication',
    );
    expect(await page.locator('script').count()).toBe(0);
    await page.click('#fail-authentication');
    expect(await page.locator('#error').innerText()).toBe(
      'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
    );
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    // The card number never travels through the challenge page: it has to be typed again.
    expect(await page.inputValue('#cardnumber')).toBe('');
    expect(await page.inputValue('#email')).toBe('secure@example.com');

    // Authenticated, but then declined by the bank: Stripe's message, the session stays open.
    await payWith('4000 0082 6000 3178');
    await page.click('#complete-authentication');
    expect(await page.locator('#error').innerText()).toBe('Your card has insufficient funds.');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');

    await payWith('4000 0025 0000 3155');
    await page.click('#complete-authentication');
    await page.waitForURL(/\/_emulator\/health\?session=/);
    await page.close();
    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const sub = done.subscription as Stripe.Subscription;
    expect(sub.status).toBe('active');

    // This card needs 3-D Secure off-session unless it was set up: Checkout's authenticated payment set it up,
    // so the renewal a month later goes through without the customer.
    await emu.control('clock', { advance: 32 * 86_400 });
    const renewed = await stripe.subscriptions.retrieve(sub.id);
    expect(renewed.status).toBe('active');
    const invoices = await stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => [i.billing_reason, i.status])).toEqual([
      ['subscription_cycle', 'paid'],
      ['subscription_create', 'paid'],
    ]);
  });

  it('refuses a challenge answer that was never asked for', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: price.id }],
      success_url: 'https://example.com/ok',
    });
    const res = await fetch(`${emu.url}/checkout/authenticate/${session.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=forged&outcome=complete',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This authentication has expired. Enter your card again.');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
  });

  it('expires after 24 hours', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: price.id }],
      success_url: 'https://example.com/ok',
    });
    expect(session.expires_at - session.created).toBe(24 * 3600);
    await emu.control('clock', { advance: 24 * 3600 + 1 });
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
    const ev = await stripe.events.list({ type: 'checkout.session.expired', limit: 1 });
    expect((ev.data[0]?.data.object as Stripe.Checkout.Session).id).toBe(session.id);
    const res = await fetch(session.url as string);
    expect(await res.text()).toContain('expired');
  });
});
