// Subscriptions, invoices, prorations and renewals through the SDK. Expected amounts are derived here from
// Stripe's documented rules (see pricing.ts), using the periods the API reports.
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;
let pro: Stripe.Price; // 30.00 / month
let team: Stripe.Price; // 90.00 / month
let seat: Stripe.Price; // 15.00 / month
const JAN_1 = Date.UTC(2026, 0, 1) / 1000;
const DAY = 86_400;

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 5 });
  stripe = emu.stripe;
  emu.clock.freeze(JAN_1 - DAY);
  const product = await stripe.products.create({ name: 'Plan' });
  const monthly = { interval: 'month' as const };
  pro = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 3000,
    recurring: monthly,
  });
  team = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 9000,
    recurring: monthly,
  });
  seat = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 1500,
    recurring: monthly,
  });
  await stripe.coupons.create({ id: 'FIVEOFF', amount_off: 500, currency: 'usd', duration: 'once' });
  await stripe.coupons.create({ id: 'TWENTY', percent_off: 20, duration: 'forever' });
  await stripe.coupons.create({ id: 'TENPCT', percent_off: 10, duration: 'forever' });
});
afterAll(() => emu.close());
beforeEach(() => emu.clock.freeze(JAN_1));

async function customerWithCard(
  card = 'pm_card_visa',
  balance = 0,
): Promise<{ c: Stripe.Customer; pm: string }> {
  const c = await stripe.customers.create({ email: `c${Math.random()}@example.com`, balance });
  const pm = await stripe.paymentMethods.attach(card, { customer: c.id });
  await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm.id } });
  return { c, pm: pm.id };
}

describe('invoices.createPreview', () => {
  it('prices a new subscription: quantities, a percent coupon, customer credit', async () => {
    const { c } = await customerWithCard('pm_card_visa', -500);
    const inv = await stripe.invoices.createPreview({
      customer: c.id,
      subscription_details: { items: [{ price: pro.id, quantity: 2 }, { price: seat.id }] },
      discounts: [{ coupon: 'TENPCT' }],
    });
    const subtotal = 3000 * 2 + 1500;
    const discount = subtotal / 10;
    expect(inv.subtotal).toBe(subtotal);
    expect(inv.total).toBe(subtotal - discount);
    expect(inv.amount_due).toBe(subtotal - discount - 500);
    expect(inv.lines.data.map((l) => l.amount)).toEqual([6000, 1500]);
  });
});

describe('subscriptions', () => {
  it('creates: first invoice paid from the default card, parent and item periods in the current shapes', async () => {
    const { c } = await customerWithCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: pro.id }],
      expand: ['latest_invoice'],
    });
    expect(sub.status).toBe('active');
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    expect(item.current_period_start).toBe(JAN_1);
    expect(item.current_period_end).toBe(Date.UTC(2026, 1, 1) / 1000);
    const inv = sub.latest_invoice as Stripe.Invoice;
    expect(inv).toMatchObject({ status: 'paid', amount_paid: 3000, billing_reason: 'subscription_create' });
    expect(inv.parent?.subscription_details?.subscription).toBe(sub.id);
    const charges = await stripe.charges.list({ customer: c.id });
    expect(charges.data.map((x) => [x.amount, x.status])).toEqual([[3000, 'succeeded']]);
    const types = (await stripe.events.list({ limit: 30 })).data.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['customer.subscription.created', 'invoice.paid', 'charge.succeeded']),
    );
  });

  it('a declined first payment leaves the subscription incomplete; error_if_incomplete fails with a card error', async () => {
    const { c } = await customerWithCard('pm_card_chargeCustomerFail');
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: pro.id }],
      expand: ['latest_invoice'],
    });
    expect(sub.status).toBe('incomplete');
    expect((sub.latest_invoice as Stripe.Invoice).status).toBe('open');
    await expect(
      stripe.subscriptions.create({
        customer: c.id,
        items: [{ price: pro.id }],
        payment_behavior: 'error_if_incomplete',
      }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeCardError);
  });

  it('applies customer credit to the first invoice and moves the balance', async () => {
    const { c } = await customerWithCard('pm_card_visa', -1000);
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: pro.id }],
      expand: ['latest_invoice'],
    });
    const inv = sub.latest_invoice as Stripe.Invoice;
    expect(inv.total).toBe(3000);
    expect(inv.amount_due).toBe(2000);
    expect(((await stripe.customers.retrieve(c.id)) as Stripe.Customer).balance).toBe(0);
  });

  it('upgrades mid-period with always_invoice: credit and charge by seconds of the period', async () => {
    const { c } = await customerWithCard();
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: pro.id }] });
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    emu.clock.advance(10 * DAY);
    const now = JAN_1 + 10 * DAY;
    const period = item.current_period_end - item.current_period_start;
    const left = item.current_period_end - now;
    const preview = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: item.id, price: team.id }], proration_date: now },
    });
    const credit = -Math.round((3000 * left) / period);
    const charge = Math.round((9000 * left) / period);
    expect(preview.lines.data.map((l) => l.amount)).toEqual([credit, charge, 9000]);
    expect(preview.lines.data[0]?.parent?.subscription_item_details?.proration).toBe(true);
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: team.id }],
      proration_behavior: 'always_invoice',
      expand: ['latest_invoice'],
    });
    const inv = updated.latest_invoice as Stripe.Invoice;
    expect(inv.billing_reason).toBe('subscription_update');
    expect(inv.total).toBe(credit + charge);
    expect(inv.status).toBe('paid');
    expect(updated.items.data[0]?.price.id).toBe(team.id);
    const ev = (await stripe.events.list({ type: 'customer.subscription.updated', limit: 1 })).data[0];
    expect(ev?.data.previous_attributes).toHaveProperty('items');
  });

  it('renews at period end: new invoice charged to the default card; a decline makes it past_due; paying fixes it', async () => {
    const { c } = await customerWithCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: pro.id }],
      discounts: [{ coupon: 'FIVEOFF' }],
      expand: ['latest_invoice'],
    });
    expect((sub.latest_invoice as Stripe.Invoice).total).toBe(3000 - 500);
    expect(sub.discounts).toEqual([]);
    await emu.control('clock', { advance: 31 * DAY + 60 });
    const renewed = await stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    const inv = renewed.latest_invoice as Stripe.Invoice;
    expect(inv).toMatchObject({ billing_reason: 'subscription_cycle', total: 3000, status: 'paid' });
    expect(renewed.items.data[0]?.current_period_start).toBe(Date.UTC(2026, 1, 1) / 1000);

    const failing = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: c.id });
    await stripe.subscriptions.update(sub.id, { default_payment_method: failing.id });
    await emu.control('clock', { advance: 28 * DAY });
    const pastDue = await stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(pastDue.status).toBe('past_due');
    const openInv = pastDue.latest_invoice as Stripe.Invoice;
    expect(openInv).toMatchObject({ status: 'open', attempt_count: 1, amount_remaining: 3000 });
    const failed = (await stripe.charges.list({ customer: c.id })).data[0];
    expect(failed).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
    const paid = await stripe.invoices.pay(openInv.id, { payment_method: 'pm_card_visa' });
    expect(paid.status).toBe('paid');
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  it('a forever percent coupon discounts every renewal', async () => {
    const { c } = await customerWithCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: pro.id }],
      discounts: [{ coupon: 'TWENTY' }],
    });
    expect(sub.discounts).toHaveLength(1);
    await emu.control('clock', { advance: 32 * DAY });
    const inv = (await stripe.invoices.list({ subscription: sub.id })).data[0];
    expect(inv?.total).toBe(3000 - 600);
    expect(inv?.total_discount_amounts?.[0]?.amount).toBe(600);
  });

  it('a trial bills nothing, then charges when it ends', async () => {
    const { c } = await customerWithCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: pro.id }],
      trial_period_days: 7,
      expand: ['latest_invoice'],
    });
    expect(sub.status).toBe('trialing');
    expect(sub.trial_end).toBe(JAN_1 + 7 * DAY);
    expect((sub.latest_invoice as Stripe.Invoice).amount_due).toBe(0);
    await emu.control('clock', { advance: 8 * DAY });
    const after = await stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(after.status).toBe('active');
    expect((after.latest_invoice as Stripe.Invoice).amount_paid).toBe(3000);
  });

  it('cancels at period end or now, and lists by status including all', async () => {
    const { c } = await customerWithCard();
    const a = await stripe.subscriptions.create({ customer: c.id, items: [{ price: pro.id }] });
    const b = await stripe.subscriptions.create({ customer: c.id, items: [{ price: seat.id }] });
    const atEnd = await stripe.subscriptions.update(a.id, { cancel_at_period_end: true });
    expect(atEnd).toMatchObject({
      status: 'active',
      cancel_at_period_end: true,
      cancel_at: a.items.data[0]?.current_period_end,
    });
    const now = await stripe.subscriptions.cancel(b.id);
    expect(now.status).toBe('canceled');
    const deletedIds = async (): Promise<string[]> =>
      (await stripe.events.list({ type: 'customer.subscription.deleted', limit: 100 })).data.map(
        (e) => (e.data.object as Stripe.Subscription).id,
      );
    expect(await deletedIds()).toContain(b.id);
    expect((await stripe.subscriptions.list({ customer: c.id })).data.map((s) => s.id)).toEqual([a.id]);
    await emu.control('clock', { advance: 32 * DAY });
    expect((await stripe.subscriptions.retrieve(a.id)).status).toBe('canceled');
    expect((await stripe.subscriptions.list({ customer: c.id })).data).toHaveLength(0);
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'all' })).data).toHaveLength(2);
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'canceled' })).data).toHaveLength(2);
    // Events are kept 30 days: b's cancellation has left the window, a's (at its period end) is listed.
    const later = await deletedIds();
    expect(later).toContain(a.id);
    expect(later).not.toContain(b.id);
  });
});
