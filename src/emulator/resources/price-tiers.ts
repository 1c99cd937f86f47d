// Tiered prices (`billing_scheme=tiered`, https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing):
// the `tiers_mode` and `tiers[]` parameters with their validation, where the tiers are kept, and what pricing.ts
// needs to bill an item of such a price. `tiers` is an includable field: it is on the wire only when expanded
// (`expand[]=tiers`, `data.tiers`, `items.data.price.tiers`), so the tiers live on the account by price id
// (`Account.priceTiers`, served by expand.ts's virtualField), never on the stored price.
import type Stripe from 'stripe';
import type { Account } from '../account.ts';
import { invalid, missingParam } from '../errors.ts';
import { objArr, oneOf, type Params } from '../params.ts';
import type { PricingLine, PricingTier } from '../pricing.ts';

export interface TieredPrice {
  tiers_mode: 'graduated' | 'volume';
  tiers: Stripe.Price.Tier[];
}

/** A plain string param at `key` of `p`, errors naming it `param`. */
function raw(p: Params, key: string, param: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid string: ${param}`, param);
  return v;
}

const DECIMAL = /^\d+(\.\d{1,12})?$/;

/** Stripe's form of a decimal amount: no leading zeros, no trailing fractional zeros ("0500.50" → "500.5"). */
function normalizeDecimal(v: string): string {
  const [whole = '0', frac = ''] = v.split('.');
  const w = whole.replace(/^0+(?=\d)/, '');
  const f = frac.replace(/0+$/, '');
  return f ? `${w}.${f}` : w;
}

function asDecimal(s: string): Stripe.Decimal {
  return s as unknown as Stripe.Decimal;
}

/** A tier's `unit_amount` or `flat_amount`, from the integer or the `_decimal` param (only one of them). The
 * integer form is set only when the amount is whole, as Stripe reports it. */
function tierAmount(
  tier: Params,
  name: 'unit_amount' | 'flat_amount',
  at: string,
): { amount: number | null; decimal: Stripe.Decimal | null } {
  const intParam = `${at}[${name}]`;
  const decParam = `${at}[${name}_decimal]`;
  const n = raw(tier, name, intParam);
  const d = raw(tier, `${name}_decimal`, decParam);
  if (n !== undefined && d !== undefined) {
    throw invalid(`You may only specify one of these parameters: ${name}, ${name}_decimal.`, intParam);
  }
  if (n !== undefined) {
    if (/^-\d+$/.test(n)) throw invalid(`Invalid integer: ${intParam} must be at least 0.`, intParam);
    if (!/^\d+$/.test(n) || !Number.isSafeInteger(Number(n)))
      throw invalid(`Invalid integer: ${n}`, intParam);
    return { amount: Number(n), decimal: asDecimal(String(Number(n))) };
  }
  if (d !== undefined) {
    if (!DECIMAL.test(d)) throw invalid(`Invalid decimal: ${d}`, decParam);
    const norm = normalizeDecimal(d);
    const whole = /^\d+$/.test(norm) && Number.isSafeInteger(Number(norm));
    return { amount: whole ? Number(norm) : null, decimal: asDecimal(norm) };
  }
  return { amount: null, decimal: null };
}

function upTo(tier: Params, at: string): number | null {
  const param = `${at}[up_to]`;
  const v = raw(tier, 'up_to', param);
  if (v === undefined) throw missingParam(param);
  if (v === 'inf') return null;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < 1) {
    throw invalid(`Invalid ${param}: must be a positive integer or \`inf\`.`, param);
  }
  return Number(v);
}

function tierFromParams(tier: Params, at: string): Stripe.Price.Tier {
  const up = upTo(tier, at);
  const unit = tierAmount(tier, 'unit_amount', at);
  const flat = tierAmount(tier, 'flat_amount', at);
  if (unit.decimal === null && flat.decimal === null) {
    throw invalid('An entry in the tiers array is missing an amount.', at);
  }
  return {
    flat_amount: flat.amount,
    flat_amount_decimal: flat.decimal,
    unit_amount: unit.amount,
    unit_amount_decimal: unit.decimal,
    up_to: up,
  };
}

/** `billing_scheme`, `tiers_mode` and `tiers[]` of a price being created: null for `per_unit` (the default), the
 * validated tiers for `tiered`. */
export function tieredFromParams(p: Params): TieredPrice | null {
  const scheme = oneOf(p, 'billing_scheme', ['per_unit', 'tiered'] as const) ?? 'per_unit';
  if (scheme === 'per_unit') {
    for (const k of ['tiers', 'tiers_mode']) {
      if (p[k] !== undefined) {
        throw invalid(`The \`${k}\` parameter requires \`billing_scheme\` to be set to \`tiered\`.`, k);
      }
    }
    return null;
  }
  for (const k of ['unit_amount', 'unit_amount_decimal', 'custom_unit_amount']) {
    if (p[k] !== undefined) throw invalid(`You may only specify one of these parameters: tiers, ${k}.`, k);
  }
  if (p.transform_quantity !== undefined) {
    throw invalid('You may only specify one of these parameters: tiers, transform_quantity.', 'tiers');
  }
  const mode = oneOf(p, 'tiers_mode', ['graduated', 'volume'] as const);
  if (!mode) throw missingParam('tiers_mode');
  const list = objArr(p, 'tiers');
  if (!list || list.length === 0) throw missingParam('tiers');
  const tiers = list.map((t, i) => tierFromParams(t, `tiers[${i}]`));
  tiers.forEach((t, i) => {
    const param = `tiers[${i}][up_to]`;
    const last = i === tiers.length - 1;
    if (last && t.up_to !== null) throw invalid('The last tier must have `up_to` set to `inf`.', param);
    if (!last && t.up_to === null) throw invalid('Only the last tier can have `up_to` set to `inf`.', param);
    const prev = tiers[i - 1]?.up_to;
    if (typeof prev === 'number' && t.up_to !== null && t.up_to <= prev) {
      throw invalid('Tiers must be in strictly increasing order of `up_to`.', param);
    }
  });
  return { tiers_mode: mode, tiers };
}

/** Tier params are not part of `default_price_data` on Stripe: they are unknown parameters there. */
export function rejectTierParams(p: Params, prefix: string): void {
  for (const k of ['billing_scheme', 'tiers', 'tiers_mode']) {
    if (p[k] !== undefined) throw invalid(`Received unknown parameter: ${prefix}[${k}]`, `${prefix}[${k}]`);
  }
}

function decimalOf(amount: number | null, d: Stripe.Decimal | null | undefined): string | null {
  if (d !== null && d !== undefined) return String(d);
  return amount === null ? null : String(amount);
}

/** What pricing.ts needs to bill `price`: its tiers when it is tiered (and they are known), else its unit amount. */
export function pricingOf(acct: Account, price: Stripe.Price): Pick<PricingLine, 'unitAmount' | 'tiers'> {
  const tiers = price.billing_scheme === 'tiered' ? acct.priceTiers.get(price.id) : undefined;
  const mode = price.tiers_mode === 'volume' ? 'volume' : 'graduated';
  if (tiers) {
    return {
      unitAmount: 0,
      tiers: {
        mode,
        tiers: tiers.map((t): PricingTier => ({
          up_to: t.up_to ?? null,
          unit_amount_decimal: decimalOf(t.unit_amount, t.unit_amount_decimal),
          flat_amount_decimal: decimalOf(t.flat_amount, t.flat_amount_decimal),
        })),
      },
    };
  }
  return { unitAmount: price.unit_amount ?? 0 };
}

/** A snapshot's price (or a subscription item's embedded one) may carry `tiers`, as an expanded price does: they
 * go to the account, and the price is stored without them. */
export function takeTiers<T extends Record<string, unknown>>(acct: Account, raw: T): T {
  const { tiers, ...rest } = raw;
  if (Array.isArray(tiers) && typeof raw.id === 'string') {
    acct.priceTiers.set(
      raw.id,
      (tiers as Array<Partial<Stripe.Price.Tier>>).map((t) => {
        const unit = decimalOf(t.unit_amount ?? null, t.unit_amount_decimal);
        const flat = decimalOf(t.flat_amount ?? null, t.flat_amount_decimal);
        return {
          flat_amount: t.flat_amount ?? null,
          flat_amount_decimal: flat === null ? null : asDecimal(flat),
          unit_amount: t.unit_amount ?? null,
          unit_amount_decimal: unit === null ? null : asDecimal(unit),
          up_to: t.up_to ?? null,
        };
      }),
    );
  }
  return rest as T;
}
