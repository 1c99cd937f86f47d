// Tiered prices through the SDK: creation and validation, `tiers` only when expanded (retrieve, list, nested through
// a subscription), invoices priced from the tiers, and the state file and snapshots keeping them. Expected amounts
// are worked out here from Stripe's documented rules (pricing.ts, tieredAmount).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { catchErr, customerWithCard, startTestEmulator, type TestEmulator } from './test-support.ts';

let emu: TestEmulator;
let stripe: Stripe;
let product: Stripe.Product;
let graduated: Stripe.Price; // 1–5 at 7.00, 6–10 at 6.50 + 1.00 flat, 11+ at 6.00
let volume: Stripe.Price; // 1–5 at 7.00, 6–10 at 6.50, 11+ at 6.00 + 5.00 flat
let flat: Stripe.Price; // per_unit 10.00
const JAN_1 = Date.UTC(2026, 0, 1) / 1000;
const DAY = 86_400;

const GRADUATED_TIERS = [
  { flat_amount: null, flat_amount_decimal: null, unit_amount: 700, unit_amount_decimal: '700', up_to: 5 },
  { flat_amount: 100, flat_amount_decimal: '100', unit_amount: 650, unit_amount_decimal: '650', up_to: 10 },
  { flat_amount: null, flat_amount_decimal: null, unit_amount: 600, unit_amount_decimal: '600', up_to: null },
];
// 12 seats, graduated: 5 × 7.00 + (5 × 6.50 + 1.00) + 2 × 6.00.
const GRADUATED_12 = 5 * 700 + (5 * 650 + 100) + 2 * 600;
// 12 seats, volume: all 12 in the third tier, plus its flat amount.
const VOLUME_12 = 12 * 600 + 500;

const dec = (s: string): Stripe.Decimal => s as unknown as Stripe.Decimal;
/** The SDK turns `_decimal` strings into its Decimal objects; compare them as they are on the wire. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

const withCard = () => customerWithCard(stripe, `t${Math.random()}@example.com`);

beforeAll(async () => {
  emu = await startTestEmulator({ seed: 31 });
  stripe = emu.stripe;
  emu.clock.freeze(JAN_1 - DAY);
  product = await stripe.products.create({ name: 'Seats' });
  const monthly = { interval: 'month' as const };
  graduated = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    recurring: monthly,
    billing_scheme: 'tiered',
    tiers_mode: 'graduated',
    tiers: [
      { up_to: 5, unit_amount: 700 },
      { up_to: 10, unit_amount: 650, flat_amount: 100 },
      { up_to: 'inf', unit_amount: 600 },
    ],
  });
  volume = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    recurring: monthly,
    billing_scheme: 'tiered',
    tiers_mode: 'volume',
    tiers: [
      { up_to: 5, unit_amount: 700 },
      { up_to: 10, unit_amount: 650 },
      { up_to: 'inf', unit_amount: 600, flat_amount: 500 },
    ],
  });
  flat = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 1000,
    recurring: monthly,
  });
});
afterAll(() => emu.close());
beforeEach(() => emu.clock.freeze(JAN_1));

describe('creating tiered prices', () => {
  it('reports the scheme and mode, no unit amount, and no tiers unless expanded', () => {
    expect(graduated).toMatchObject({
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      unit_amount: null,
      unit_amount_decimal: null,
    });
    expect(volume.tiers_mode).toBe('volume');
    expect('tiers' in graduated).toBe(false);
    expect(flat).toMatchObject({ billing_scheme: 'per_unit', tiers_mode: null, unit_amount: 1000 });
  });

  it('takes decimal amounts, reporting the integer form only when it is whole', async () => {
    const p = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      recurring: { interval: 'month' },
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 1000, unit_amount_decimal: dec('0.50') },
        { up_to: 'inf', unit_amount_decimal: dec('0.25'), flat_amount_decimal: dec('100') },
      ],
      expand: ['tiers'],
    });
    expect(wire(p.tiers)).toEqual([
      {
        flat_amount: null,
        flat_amount_decimal: null,
        unit_amount: null,
        unit_amount_decimal: '0.5',
        up_to: 1000,
      },
      {
        flat_amount: 100,
        flat_amount_decimal: '100',
        unit_amount: null,
        unit_amount_decimal: '0.25',
        up_to: null,
      },
    ]);
    // 1000 × 0.5 + 1 × 0.25 + 100 = 600.25, billed 600.
    const c = await withCard();
    const preview = await stripe.invoices.createPreview({
      customer: c.id,
      subscription_details: { items: [{ price: p.id, quantity: 1001 }] },
    });
    expect(preview.subtotal).toBe(600);
  });

  it('rejects invalid tiers with Stripe-style errors naming the param', async () => {
    type Tier = Stripe.PriceCreateParams.Tier;
    const base = { product: product.id, currency: 'usd', recurring: { interval: 'month' as const } };
    const INF: Tier = { up_to: 'inf', unit_amount: 600 };
    const tiered = (tiers: Array<Partial<Tier>>, more: object = {}): Stripe.PriceCreateParams => ({
      ...base,
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: tiers as Tier[],
      ...more,
    });
    const { tiers_mode: _mode, ...noMode } = tiered([{ up_to: 5, unit_amount: 7 }, INF]);
    const { tiers: _tiers, ...noTiers } = tiered([]);
    const cases: Array<[Stripe.PriceCreateParams, string]> = [
      [noMode, 'tiers_mode'],
      [noTiers, 'tiers'],
      [tiered([INF], { unit_amount: 500 }), 'unit_amount'],
      [tiered([INF], { transform_quantity: { divide_by: 10, round: 'up' } }), 'tiers'],
      [{ ...base, unit_amount: 500, tiers: [INF] }, 'tiers'],
      [{ ...base, unit_amount: 500, tiers_mode: 'volume' }, 'tiers_mode'],
      [tiered([{ up_to: 5, unit_amount: 7 }]), 'tiers[0][up_to]'],
      [tiered([INF, INF]), 'tiers[0][up_to]'],
      [tiered([{ up_to: 5, unit_amount: 7 }, { up_to: 5, unit_amount: 6 }, INF]), 'tiers[1][up_to]'],
      [tiered([{ unit_amount: 7 }, INF]), 'tiers[0][up_to]'],
      [tiered([{ up_to: 0, unit_amount: 7 }, INF]), 'tiers[0][up_to]'],
      [tiered([{ up_to: 5 }, INF]), 'tiers[0]'],
      [tiered([{ up_to: 5, unit_amount: -1 }, INF]), 'tiers[0][unit_amount]'],
      [tiered([{ up_to: 5, unit_amount: 7, unit_amount_decimal: dec('7') }, INF]), 'tiers[0][unit_amount]'],
      [tiered([{ up_to: 5, flat_amount_decimal: dec('1.2.3') }, INF]), 'tiers[0][flat_amount_decimal]'],
    ];
    for (const [params, param] of cases) {
      const err = await catchErr(stripe.prices.create(params));
      expect(err, JSON.stringify(params)).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err.param, JSON.stringify(params)).toBe(param);
    }
    expect((await catchErr(stripe.prices.create(noTiers))).message).toBe('Missing required param: tiers.');
    // `default_price_data` has no tier params on Stripe: they are unknown parameters there.
    const unknown = await catchErr(
      stripe.products.create({
        name: 'Nope',
        default_price_data: {
          currency: 'usd',
          recurring: { interval: 'month' },
          tiers_mode: 'volume',
        } as Stripe.ProductCreateParams.DefaultPriceData,
      }),
    );
    expect(unknown.param).toBe('default_price_data[tiers_mode]');
    // A refused `default_price_data` leaves no product behind.
    expect((await stripe.products.list({ limit: 100 })).data.map((x) => x.name)).not.toContain('Nope');
  });
});

describe('tiers only when expanded', () => {
  it('retrieve and list', async () => {
    expect('tiers' in (await stripe.prices.retrieve(graduated.id))).toBe(false);
    const expanded = await stripe.prices.retrieve(graduated.id, { expand: ['tiers'] });
    expect(wire(expanded.tiers)).toEqual(GRADUATED_TIERS);
    // A second read is served from the JSON cache (verified against a fresh render in tests).
    expect(wire((await stripe.prices.retrieve(graduated.id, { expand: ['tiers'] })).tiers)).toEqual(
      GRADUATED_TIERS,
    );
    const plain = await stripe.prices.list({ product: product.id, limit: 100 });
    expect(plain.data.some((p) => 'tiers' in p)).toBe(false);
    const listed = await stripe.prices.list({ product: product.id, limit: 100, expand: ['data.tiers'] });
    const byId = new Map(listed.data.map((p) => [p.id, p]));
    expect(wire(byId.get(graduated.id)?.tiers)).toEqual(GRADUATED_TIERS);
    expect(byId.get(volume.id)?.tiers?.[2]).toMatchObject({
      flat_amount: 500,
      unit_amount: 600,
      up_to: null,
    });
    // A per-unit price has no tiers to include.
    expect('tiers' in (byId.get(flat.id) as object)).toBe(false);
  });

  it('nested through a subscription, whose plan carries the tiers mode', async () => {
    const c = await withCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: graduated.id, quantity: 12 }],
    });
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    expect('tiers' in item.price).toBe(false);
    expect(item.plan).toMatchObject({
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      amount: null,
      amount_decimal: null,
    });
    const deep = await stripe.subscriptions.retrieve(sub.id, {
      expand: ['items.data.price.tiers', 'items.data.plan.tiers'],
    });
    expect(wire(deep.items.data[0]?.price.tiers)).toEqual(GRADUATED_TIERS);
    expect(wire(deep.items.data[0]?.plan.tiers)).toEqual(GRADUATED_TIERS);
    const listed = await stripe.subscriptions.list({ customer: c.id, expand: ['data.items.data.price'] });
    expect(listed.data[0]?.items.data[0]?.price.id).toBe(graduated.id);
    // Five levels counting the list's `data`: refused, as on Stripe.
    const tooDeep = await catchErr(
      stripe.subscriptions.list({ customer: c.id, expand: ['data.items.data.price.tiers'] }),
    );
    expect(tooDeep.param).toBe('expand');
    expect(tooDeep.message).toContain('You cannot expand more than 4 levels of a property');
  });
});

describe('billing a tiered price', () => {
  it('graduated: the first invoice sums each tier, with the flat amount of each tier reached', async () => {
    const c = await withCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: graduated.id, quantity: 12 }],
      expand: ['latest_invoice'],
    });
    const inv = sub.latest_invoice as Stripe.Invoice;
    expect(inv).toMatchObject({ subtotal: GRADUATED_12, total: GRADUATED_12, status: 'paid' });
    expect(inv.lines.data.map((l) => [l.amount, l.quantity])).toEqual([[GRADUATED_12, 12]]);
    expect(inv.lines.data[0]?.pricing?.price_details?.price).toBe(graduated.id);
  });

  it('volume: every unit at the tier the quantity falls in; a preview agrees', async () => {
    const c = await withCard();
    const preview = await stripe.invoices.createPreview({
      customer: c.id,
      subscription_details: { items: [{ price: volume.id, quantity: 12 }] },
    });
    expect(preview.subtotal).toBe(VOLUME_12);
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: volume.id, quantity: 12 }],
      expand: ['latest_invoice'],
    });
    expect((sub.latest_invoice as Stripe.Invoice).amount_paid).toBe(VOLUME_12);
  });

  it('prorates a quantity change from the tiered amounts, and renews at the new quantity', async () => {
    const c = await withCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: graduated.id, quantity: 12 }],
    });
    const item = sub.items.data[0] as Stripe.SubscriptionItem;
    emu.clock.advance(10 * DAY);
    const left = item.current_period_end - (JAN_1 + 10 * DAY);
    const period = item.current_period_end - item.current_period_start;
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, quantity: 3 }],
      proration_behavior: 'always_invoice',
      expand: ['latest_invoice'],
    });
    const inv = updated.latest_invoice as Stripe.Invoice;
    const credit = -Math.round((GRADUATED_12 * left) / period);
    const charge = Math.round((3 * 700 * left) / period);
    expect(inv.lines.data.map((l) => l.amount)).toEqual([credit, charge]);
    await emu.control('clock', { advance: 31 * DAY });
    const renewed = await stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(renewed.latest_invoice).toMatchObject({ billing_reason: 'subscription_cycle', total: 3 * 700 });
  });

  it('a trial bills nothing', async () => {
    const c = await withCard();
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: volume.id, quantity: 12 }],
      trial_period_days: 7,
      expand: ['latest_invoice'],
    });
    expect((sub.latest_invoice as Stripe.Invoice).total).toBe(0);
  });
});

describe('keeping tiers', () => {
  it('across a restart with a state file', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'emu-tiers-')), 'state.json');
    const first = await startTestEmulator({ stateFile });
    const prod = await first.stripe.products.create({ name: 'Kept' });
    const price = await first.stripe.prices.create({
      product: prod.id,
      currency: 'usd',
      recurring: { interval: 'month' },
      billing_scheme: 'tiered',
      tiers_mode: 'volume',
      tiers: [{ up_to: 'inf', unit_amount: 300 }],
    });
    await first.close();
    const second = await startTestEmulator({ stateFile });
    try {
      const again = await second.stripe.prices.retrieve(price.id, { expand: ['tiers'] });
      expect(again.tiers?.[0]).toMatchObject({ unit_amount: 300, up_to: null });
    } finally {
      await second.close();
    }
  });

  it('from a snapshot whose prices carry their tiers, served only when expanded', async () => {
    const key = 'sk_test_tiers_snapshot';
    const tiers = [
      {
        flat_amount: null,
        flat_amount_decimal: null,
        unit_amount: 1000,
        unit_amount_decimal: '1000',
        up_to: 2,
      },
      {
        flat_amount: null,
        flat_amount_decimal: null,
        unit_amount: 500,
        unit_amount_decimal: '500',
        up_to: null,
      },
    ];
    emu.loadSnapshot(
      [
        { object: 'product', id: 'prod_snap_tiers', name: 'Snap' },
        {
          object: 'price',
          id: 'price_snap_tiers',
          product: 'prod_snap_tiers',
          billing_scheme: 'tiered',
          tiers_mode: 'graduated',
          recurring: { interval: 'month' },
          tiers,
        },
      ],
      key,
    );
    const s = emu.client(key);
    const plain = await s.prices.retrieve('price_snap_tiers');
    expect('tiers' in plain).toBe(false);
    expect(plain).toMatchObject({ unit_amount: null, billing_scheme: 'tiered' });
    expect(wire((await s.prices.retrieve('price_snap_tiers', { expand: ['tiers'] })).tiers)).toEqual(tiers);
  });
});
