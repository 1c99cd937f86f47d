// `expand[]`: replace ids by objects along dotted paths (up to 4 levels, as Stripe allows), copying only what is
// on the path so stored objects are never modified.
import type { Account } from './account.ts';
import { invalid } from './errors.ts';

const MAX_LEVELS = 4;

/** What an expansion read: objects by id, and the virtual subscription lists. Lets a cached result be checked. */
export type Dep = { id: string; obj: unknown } | { customer: string; subs: unknown[] };

export function virtualSubscriptions(acct: Account, customer: string): { data: unknown[]; hasMore: boolean } {
  const page = acct.subscriptions.page({
    limit: 10,
    ids: acct.byCustomer.subscription.get(customer),
    filter: (s) => s.status !== 'canceled' && s.status !== 'incomplete_expired',
  });
  return { data: page.data, hasMore: page.hasMore };
}

export function depsCurrent(acct: Account, deps: Dep[]): boolean {
  for (const d of deps) {
    if ('id' in d) {
      if (acct.find(d.id) !== d.obj) return false;
    } else {
      const now = virtualSubscriptions(acct, d.customer).data;
      if (now.length !== d.subs.length || now.some((s, i) => s !== d.subs[i])) return false;
    }
  }
  return true;
}

/** Fields that exist on the wire only when expanded. */
function virtualField(acct: Account, obj: Record<string, unknown>, field: string, trace?: Dep[]): unknown {
  if (obj.object === 'customer' && field === 'subscriptions' && typeof obj.id === 'string') {
    const page = virtualSubscriptions(acct, obj.id);
    trace?.push({ customer: obj.id, subs: page.data });
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

function resolve(acct: Account, v: unknown, trace?: Dep[]): unknown {
  if (typeof v !== 'string') return v;
  const found = acct.find(v);
  trace?.push({ id: v, obj: found });
  return found ?? v;
}

function expandPath(acct: Account, value: unknown, segs: string[], trace?: Dep[]): unknown {
  if (segs.length === 0 || value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => expandPath(acct, v, segs, trace));
  if (typeof value !== 'object') return value;
  const [field, ...rest] = segs as [string, ...string[]];
  const src = value as Record<string, unknown>;
  let cur = src[field];
  if (cur === undefined) cur = virtualField(acct, src, field, trace);
  if (cur === undefined) return value;
  const copy: Record<string, unknown> = { ...src };
  cur = Array.isArray(cur) ? cur.map((v) => resolve(acct, v, trace)) : resolve(acct, cur, trace);
  copy[field] = expandPath(acct, cur, rest, trace);
  return copy;
}

function checkDepth(paths: string[]): void {
  for (const path of paths) {
    const segs = path.split('.');
    const levels = segs[0] === 'data' ? segs.length - 1 : segs.length;
    if (levels > MAX_LEVELS) {
      throw invalid(
        `You cannot expand more than ${MAX_LEVELS} levels of a property. Property: ${path}`,
        'expand',
      );
    }
  }
}

export function expand(acct: Account, result: unknown, paths: string[], trace?: Dep[]): unknown {
  checkDepth(paths);
  let out = result;
  for (const path of paths) out = expandPath(acct, out, path.split('.'), trace);
  return out;
}

// A list page re-serializes the same stored objects with the same expansions again and again (backfills,
// benchmarks). Each element's expanded JSON is cached on the stored object and reused while everything it
// read is unchanged; stored objects are never modified in place, so identity is a sound version check.
const elementCache = new WeakMap<object, Map<string, { json: string; deps: Dep[] }>>();

function elementJson(acct: Account, el: object, paths: string[][], key: string): string {
  let perPaths = elementCache.get(el);
  const hit = perPaths?.get(key);
  if (hit && depsCurrent(acct, hit.deps)) return hit.json;
  const deps: Dep[] = [];
  let out: unknown = el;
  for (const segs of paths) out = expandPath(acct, out, segs, deps);
  const json = JSON.stringify(out);
  if (!perPaths) elementCache.set(el, (perPaths = new Map()));
  perPaths.set(key, { json, deps });
  return json;
}

/** The JSON of an API result with `expand[]` applied. */
export function expandToJson(acct: Account, result: unknown, paths: string[]): string {
  checkDepth(paths);
  const list = result as { object?: unknown; data?: unknown } | null;
  const listPaths = paths.length > 0 && paths.every((p) => p.startsWith('data.'));
  if (!listPaths || list?.object !== 'list' || !Array.isArray(list.data)) {
    return JSON.stringify(expand(acct, result, paths));
  }
  const inner = paths.map((p) => p.split('.').slice(1));
  const key = paths.join('|');
  const parts = list.data.map((el: unknown) =>
    el && typeof el === 'object' ? elementJson(acct, el, inner, key) : JSON.stringify(el),
  );
  const shell = JSON.stringify({ ...list, data: [] });
  const at = shell.indexOf('"data":[]');
  return `${shell.slice(0, at)}"data":[${parts.join(',')}]${shell.slice(at + '"data":[]'.length)}`;
}
