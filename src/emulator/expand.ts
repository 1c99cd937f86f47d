// `expand[]`: replace ids by objects along dotted paths (up to 4 levels, as Stripe allows, counting a list's leading
// `data`), copying only what is on the path so stored objects are never modified.
import type { Account } from './account.ts';
import { invalid } from './errors.ts';
import type { Index, Slot } from './store.ts';

const MAX_LEVELS = 4;

/** What an expansion read, with the write counters seen, so a cached serialization can be checked: a stored
 * object's slot, or a customer's key in the subscription index (bumped by any write to their subscriptions).
 * `cacheable` turns false when something without a write counter was read (discounts, Checkout line items, an id
 * that resolved to nothing). */
export interface Trace {
  deps: Dep[];
  cacheable: boolean;
}

export type Dep = { slot: Slot; version: number } | { index: Index; key: string; version: number };

export function virtualSubscriptions(acct: Account, customer: string): { data: unknown[]; hasMore: boolean } {
  const page = acct.subscriptions.page({
    limit: 10,
    ids: acct.byCustomer.subscription.get(customer),
    filter: (s) => s.status !== 'canceled' && s.status !== 'incomplete_expired',
  });
  return { data: page.data, hasMore: page.hasMore };
}

export function depsCurrent(deps: Dep[]): boolean {
  for (const d of deps) {
    if ('slot' in d ? d.slot.version !== d.version : d.index.version(d.key) !== d.version) return false;
  }
  return true;
}

/** Fields that exist on the wire only when expanded. */
export function virtualField(
  acct: Account,
  obj: Record<string, unknown>,
  field: string,
  trace?: Trace,
): unknown {
  if (obj.object === 'customer' && field === 'subscriptions' && typeof obj.id === 'string') {
    if (trace) {
      const index = acct.byCustomer.subscription;
      trace.deps.push({ index, key: obj.id, version: index.version(obj.id) });
    }
    const page = virtualSubscriptions(acct, obj.id);
    for (const sub of page.data as Array<{ id: string }>) {
      const slot = acct.subscriptions.slot(sub.id);
      if (slot) trace?.deps.push({ slot, version: slot.version });
    }
    return {
      object: 'list',
      data: page.data,
      has_more: page.hasMore,
      url: `/v1/customers/${obj.id}/subscriptions`,
    };
  }
  // A tiered price's tiers (and its legacy `plan` view's): includable, kept on the account (price-tiers.ts). They
  // never change once the price exists; the price's own write counter is read anyway.
  if ((obj.object === 'price' || obj.object === 'plan') && field === 'tiers' && typeof obj.id === 'string') {
    const tiers = obj.billing_scheme === 'tiered' ? acct.priceTiers.get(obj.id) : undefined;
    if (!tiers) return undefined;
    if (trace) {
      const slot = acct.prices.slot(obj.id);
      if (slot) trace.deps.push({ slot, version: slot.version });
      else trace.cacheable = false;
    }
    return tiers;
  }
  if (obj.object === 'checkout.session' && field === 'line_items' && typeof obj.id === 'string') {
    if (trace) trace.cacheable = false;
    const data = acct.checkoutLineItems.get(obj.id) ?? [];
    return { object: 'list', data, has_more: false, url: `/v1/checkout/sessions/${obj.id}/line_items` };
  }
  return undefined;
}

export function resolve(acct: Account, v: unknown, trace?: Trace): unknown {
  if (typeof v !== 'string') return v;
  const slot = acct.findSlot(v);
  if (slot) {
    trace?.deps.push({ slot, version: slot.version });
    return slot.obj;
  }
  if (trace) trace.cacheable = false;
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

/** Every segment is a level, a list's leading `data` too: listing subscriptions, `data.items.data.price` (4) is
 * allowed and `data.items.data.price.tiers` (5) is refused, as on Stripe. */
export function checkDepth(paths: string[]): void {
  for (const path of paths) {
    if (path.split('.').length > MAX_LEVELS) {
      throw invalid(
        `You cannot expand more than ${MAX_LEVELS} levels of a property. Property: ${path}`,
        'expand',
      );
    }
  }
}

export function expand(acct: Account, result: unknown, paths: string[]): unknown {
  checkDepth(paths);
  let out = result;
  for (const path of paths) out = expandPath(acct, out, path.split('.'));
  return out;
}
