// Products, prices and coupons.
import type Stripe from 'stripe';
import { fill, type BuildEnv } from '../build-env.ts';
import { invalid, missingParam, noSuch } from '../errors.ts';
import { previousAttributes, snapshot } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, bool, int, nullableStr, num, obj, oneOf, str, type Params } from '../params.ts';
import type { Ctx, Router } from '../router.ts';
import { buildEnv } from './customers.ts';
import { rejectTierParams, tieredFromParams } from './price-tiers.ts';

export function buildProduct(env: BuildEnv, partial: Partial<Stripe.Product> = {}): Stripe.Product {
  const base: Stripe.Product = {
    id: env.ids('prod', 14),
    object: 'product',
    active: true,
    created: env.now,
    default_price: null,
    description: null,
    images: [],
    livemode: env.livemode,
    marketing_features: [],
    metadata: {},
    name: '',
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: 'service',
    unit_label: null,
    updated: env.now,
    url: null,
  };
  const p = fill(base, partial);
  if (partial.updated === undefined) p.updated = p.created;
  return p;
}

/** Stripe sends decimal amounts as strings; the SDK's type brands them. */
export function decimal(n: number | null): Stripe.Decimal | null {
  return n === null ? null : (String(n) as unknown as Stripe.Decimal);
}

export function buildPrice(env: BuildEnv, partial: Partial<Stripe.Price> = {}): Stripe.Price {
  const recurring = partial.recurring
    ? fill<Stripe.Price.Recurring>(
        {
          interval: 'month',
          interval_count: 1,
          meter: null,
          trial_period_days: null,
          usage_type: 'licensed',
        },
        partial.recurring,
      )
    : null;
  const base: Stripe.Price = {
    id: env.ids('price', 24),
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: env.now,
    currency: 'usd',
    custom_unit_amount: null,
    livemode: env.livemode,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: '',
    recurring,
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: 0,
    unit_amount_decimal: null,
  };
  const price = fill(base, { ...partial, recurring });
  price.type = price.recurring ? 'recurring' : 'one_time';
  // A tiered price's amounts are in its tiers (price-tiers.ts): its own unit amount is null.
  if (price.billing_scheme === 'tiered') price.unit_amount = null;
  price.unit_amount_decimal = decimal(price.unit_amount);
  return price;
}

/** The legacy `plan` view of a recurring price, still present on subscription items. */
export function planOf(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? 'month',
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: price.livemode,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: typeof price.product === 'string' ? price.product : price.product.id,
    tiers_mode: price.tiers_mode,
    transform_usage: null,
    trial_period_days: price.recurring?.trial_period_days ?? null,
    usage_type: price.recurring?.usage_type ?? 'licensed',
  };
}

export function buildCoupon(env: BuildEnv, partial: Partial<Stripe.Coupon> = {}): Stripe.Coupon {
  const base: Stripe.Coupon = {
    id: env.ids('x', 8).slice(2),
    object: 'coupon',
    amount_off: null,
    created: env.now,
    currency: null,
    duration: 'once',
    duration_in_months: null,
    livemode: env.livemode,
    max_redemptions: null,
    metadata: {},
    name: null,
    percent_off: null,
    redeem_by: null,
    times_redeemed: 0,
    valid: true,
  };
  return fill(base, partial);
}

export function getPrice(ctx: Ctx, id: string, param = 'price'): Stripe.Price {
  const p = ctx.acct.prices.get(id);
  if (!p) throw noSuch('price', id, param);
  return p;
}

export function getCoupon(ctx: Ctx, id: string, param = 'coupon'): Stripe.Coupon {
  const c = ctx.acct.coupons.get(id);
  if (!c) throw noSuch('coupon', id, param);
  if (!c.valid) throw invalid(`Coupon ${id} is no longer valid.`, param);
  return c;
}

function getProduct(ctx: Ctx, id: string, param = 'id'): Stripe.Product {
  const p = ctx.acct.products.get(id);
  if (!p) throw noSuch('product', id, param);
  return p;
}

/** A new price from `POST /v1/prices` params, or from `default_price_data` (`within` names it in errors). A tiered
 * price's tiers are kept on the account (price-tiers.ts). */
function priceFromParams(ctx: Ctx, p: Params, productId: string, within?: string): Stripe.Price {
  const param = (k: string): string => (within ? `${within}[${k}]` : k);
  const currency = (str(p, 'currency', true) as string).toLowerCase();
  if (within) rejectTierParams(p, within);
  const tiered = within ? null : tieredFromParams(p);
  const unitAmount = tiered ? null : int(p, 'unit_amount');
  if (unitAmount === undefined) throw missingParam(param('unit_amount'));
  if (unitAmount !== null && unitAmount < 0)
    throw invalid('Invalid integer: unit_amount must be at least 0.', param('unit_amount'));
  const rec = obj(p, 'recurring');
  let recurring: Stripe.Price.Recurring | null = null;
  if (rec) {
    const interval = oneOf(
      rec,
      'interval',
      ['day', 'week', 'month', 'year'] as const,
      true,
    ) as Stripe.Price.Recurring.Interval;
    recurring = {
      interval,
      interval_count: int(rec, 'interval_count') ?? 1,
      meter: null,
      trial_period_days: int(rec, 'trial_period_days') ?? null,
      usage_type: 'licensed',
    };
  }
  const price = buildPrice(buildEnv(ctx), {
    currency,
    unit_amount: unitAmount,
    billing_scheme: tiered ? 'tiered' : 'per_unit',
    tiers_mode: tiered?.tiers_mode ?? null,
    recurring,
    product: productId,
    nickname: str(p, 'nickname') ?? null,
    lookup_key: str(p, 'lookup_key') ?? null,
    metadata: applyMetadata({}, p),
  });
  if (tiered) ctx.acct.priceTiers.set(price.id, tiered.tiers);
  return price;
}

export function registerCatalog(r: Router): void {
  r.add('POST', '/v1/products', (ctx, p) => {
    const id = str(p, 'id');
    if (id && ctx.acct.products.has(id))
      throw invalid(`Product already exists.`, 'id', 'resource_already_exists');
    const prod = buildProduct(buildEnv(ctx), {
      ...(id ? { id } : {}),
      name: str(p, 'name', true) as string,
      description: str(p, 'description') ?? null,
      active: bool(p, 'active') ?? true,
      metadata: applyMetadata({}, p),
    });
    // The price is built (and its params checked) before anything is saved: a 400 leaves no product behind.
    const dp = obj(p, 'default_price_data');
    const price = dp ? priceFromParams(ctx, dp, prod.id, 'default_price_data') : undefined;
    ctx.acct.save(prod);
    ctx.emit('product.created', prod);
    if (price) {
      ctx.acct.save(price);
      ctx.emit('price.created', price);
      const withDefault = { ...prod, default_price: price.id };
      ctx.acct.save(withDefault);
      return withDefault;
    }
    return prod;
  });
  r.add('GET', '/v1/products', (ctx, p) => {
    const active = bool(p, 'active');
    const page = ctx.acct.products.page({
      ...listParams(p),
      filter: active === undefined ? undefined : (x) => x.active === active,
    });
    return envelope('/v1/products', page);
  });
  r.add('GET', '/v1/products/:id', (ctx, _p, [id]) => getProduct(ctx, id as string));
  r.add('POST', '/v1/products/:id', (ctx, p, [id]) => {
    const before = getProduct(ctx, id as string);
    const after: Stripe.Product = {
      ...before,
      name: str(p, 'name') ?? before.name,
      description: nullableStr(p, 'description', before.description),
      active: bool(p, 'active') ?? before.active,
      metadata: applyMetadata(before.metadata, p),
      default_price:
        p.default_price !== undefined ? (str(p, 'default_price') ?? null) : (before.default_price ?? null),
      updated: ctx.now,
    };
    ctx.acct.save(after);
    ctx.emit('product.updated', after, previousAttributes(before, after));
    return after;
  });
  r.add('DELETE', '/v1/products/:id', (ctx, _p, [id]) => {
    const prod = getProduct(ctx, id as string);
    const hasPrices = [...ctx.acct.prices.values()].some((x) => x.product === prod.id);
    if (hasPrices) {
      throw invalid('This product cannot be deleted because it has one or more user-created prices.', 'id');
    }
    ctx.acct.remove('product', prod.id);
    ctx.emit('product.deleted', snapshot(prod));
    return { id: prod.id, object: 'product', deleted: true };
  });

  r.add('POST', '/v1/prices', (ctx, p) => {
    let productId = str(p, 'product');
    const pd = obj(p, 'product_data');
    if (!productId && pd) {
      const prod = buildProduct(buildEnv(ctx), {
        name: str(pd, 'name', true) as string,
        metadata: applyMetadata({}, pd),
      });
      ctx.acct.save(prod);
      ctx.emit('product.created', prod);
      productId = prod.id;
    }
    if (!productId) throw missingParam('product');
    getProduct(ctx, productId, 'product');
    const price = priceFromParams(ctx, p, productId);
    ctx.acct.save(price);
    ctx.emit('price.created', price);
    return price;
  });
  r.add('GET', '/v1/prices', (ctx, p) => {
    const active = bool(p, 'active');
    const product = str(p, 'product');
    const type = str(p, 'type');
    const page = ctx.acct.prices.page({
      ...listParams(p),
      filter: (x) =>
        (active === undefined || x.active === active) &&
        (!product || x.product === product) &&
        (!type || x.type === type),
    });
    return envelope('/v1/prices', page);
  });
  r.add('GET', '/v1/prices/:id', (ctx, _p, [id]) => getPrice(ctx, id as string, 'id'));
  r.add('POST', '/v1/prices/:id', (ctx, p, [id]) => {
    const before = getPrice(ctx, id as string, 'id');
    const after: Stripe.Price = {
      ...before,
      active: bool(p, 'active') ?? before.active,
      nickname: nullableStr(p, 'nickname', before.nickname),
      lookup_key: nullableStr(p, 'lookup_key', before.lookup_key),
      metadata: applyMetadata(before.metadata, p),
    };
    ctx.acct.save(after);
    ctx.emit('price.updated', after, previousAttributes(before, after));
    return after;
  });

  r.add('POST', '/v1/coupons', (ctx, p) => {
    const id = str(p, 'id');
    if (id && ctx.acct.coupons.has(id))
      throw invalid('Coupon already exists.', 'id', 'resource_already_exists');
    const percent = num(p, 'percent_off');
    const amount = int(p, 'amount_off');
    if (percent === undefined && amount === undefined) throw missingParam('percent_off');
    if (percent !== undefined && amount !== undefined) {
      throw invalid('You may only specify one of these parameters: amount_off, percent_off.', 'amount_off');
    }
    if (percent !== undefined && (percent <= 0 || percent > 100)) {
      throw invalid('Invalid percent_off: must be greater than 0 and at most 100.', 'percent_off');
    }
    const currency = str(p, 'currency')?.toLowerCase() ?? null;
    if (amount !== undefined && !currency) throw missingParam('currency');
    const duration = oneOf(p, 'duration', ['once', 'repeating', 'forever'] as const) ?? 'once';
    const months = int(p, 'duration_in_months') ?? null;
    if (duration === 'repeating' && !months) throw missingParam('duration_in_months');
    const c = buildCoupon(buildEnv(ctx), {
      ...(id ? { id } : {}),
      percent_off: percent ?? null,
      amount_off: amount ?? null,
      currency: amount !== undefined ? currency : null,
      duration,
      duration_in_months: duration === 'repeating' ? months : null,
      name: str(p, 'name') ?? null,
      max_redemptions: int(p, 'max_redemptions') ?? null,
      redeem_by: int(p, 'redeem_by') ?? null,
      metadata: applyMetadata({}, p),
    });
    ctx.acct.save(c);
    ctx.emit('coupon.created', c);
    return c;
  });
  r.add('GET', '/v1/coupons', (ctx, p) => envelope('/v1/coupons', ctx.acct.coupons.page(listParams(p))));
  r.add('GET', '/v1/coupons/:id', (ctx, _p, [id]) => {
    const c = ctx.acct.coupons.get(id as string);
    if (!c) throw noSuch('coupon', id as string, 'id');
    return c;
  });
  r.add('POST', '/v1/coupons/:id', (ctx, p, [id]) => {
    const before = ctx.acct.coupons.get(id as string);
    if (!before) throw noSuch('coupon', id as string, 'id');
    const after: Stripe.Coupon = {
      ...before,
      name: nullableStr(p, 'name', before.name),
      metadata: applyMetadata(before.metadata ?? {}, p),
    };
    ctx.acct.save(after);
    ctx.emit('coupon.updated', after, previousAttributes(before, after));
    return after;
  });
  r.add('DELETE', '/v1/coupons/:id', (ctx, _p, [id]) => {
    const c = ctx.acct.coupons.get(id as string);
    if (!c) throw noSuch('coupon', id as string, 'id');
    ctx.acct.remove('coupon', c.id);
    ctx.emit('coupon.deleted', snapshot(c));
    return { id: c.id, object: 'coupon', deleted: true };
  });
}

/** A coupon still redeemable now (valid, before `redeem_by`, under `max_redemptions`). */
export function redeemableCoupon(ctx: Ctx, id: string, param: string): Stripe.Coupon {
  const c = getCoupon(ctx, id, param);
  const expired =
    (c.redeem_by !== null && ctx.now > c.redeem_by) ||
    (c.max_redemptions !== null && c.times_redeemed >= c.max_redemptions);
  if (expired) throw invalid(`Coupon ${id} is no longer valid.`, param);
  return c;
}

export function redeem(ctx: Ctx, c: Stripe.Coupon): void {
  const next = { ...c, times_redeemed: c.times_redeemed + 1 };
  if (next.max_redemptions !== null && next.times_redeemed >= next.max_redemptions) next.valid = false;
  ctx.acct.save(next);
}
