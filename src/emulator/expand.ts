// `expand[]`: replace ids by objects along dotted paths (up to 4 levels, as Stripe allows), copying only what is
// on the path so stored objects are never modified.
import type { Account } from './account.ts';
import { invalid } from './errors.ts';

const MAX_LEVELS = 4;

/** Fields that exist on the wire only when expanded. */
function virtualField(acct: Account, obj: Record<string, unknown>, field: string): unknown {
  if (obj.object === 'customer' && field === 'subscriptions' && typeof obj.id === 'string') {
    const page = acct.subscriptions.page({
      limit: 10,
      ids: acct.byCustomer.subscription.get(obj.id),
      filter: (s) => s.status !== 'canceled' && s.status !== 'incomplete_expired',
    });
    return {
      object: 'list',
      data: page.data,
      has_more: page.hasMore,
      url: `/v1/customers/${obj.id}/subscriptions`,
    };
  }
  if (obj.object === 'checkout.session' && field === 'line_items' && typeof obj.id === 'string') {
    const data = acct.checkoutLineItems.get(obj.id) ?? [];
    return { object: 'list', data, has_more: false, url: `/v1/checkout/sessions/${obj.id}/line_items` };
  }
  return undefined;
}

function resolve(acct: Account, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  return acct.find(v) ?? v;
}

function expandPath(acct: Account, value: unknown, segs: string[]): unknown {
  if (segs.length === 0 || value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => expandPath(acct, v, segs));
  if (typeof value !== 'object') return value;
  const [field, ...rest] = segs as [string, ...string[]];
  const src = value as Record<string, unknown>;
  let cur = src[field];
  if (cur === undefined) cur = virtualField(acct, src, field);
  if (cur === undefined) return value;
  const copy: Record<string, unknown> = { ...src };
  cur = Array.isArray(cur) ? cur.map((v) => resolve(acct, v)) : resolve(acct, cur);
  copy[field] = expandPath(acct, cur, rest);
  return copy;
}

export function expand(acct: Account, result: unknown, paths: string[]): unknown {
  let out = result;
  for (const path of paths) {
    const segs = path.split('.');
    const levels = segs[0] === 'data' ? segs.length - 1 : segs.length;
    if (levels > MAX_LEVELS) {
      throw invalid(
        `You cannot expand more than ${MAX_LEVELS} levels of a property. Property: ${path}`,
        'expand',
      );
    }
    out = expandPath(acct, out, segs);
  }
  return out;
}
