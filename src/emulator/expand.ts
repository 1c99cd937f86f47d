// `expand[]`: replace ids by objects along dotted paths (up to 4 levels, as Stripe allows), copying only what is
// on the path so stored objects are never modified.
import type { Account } from './account.ts';
import { invalid } from './errors.ts';
import type { Index, Slot } from './store.ts';

const MAX_LEVELS = 4;

/** What an expansion read, with the write counters seen, so a cached serialization can be checked: a stored
 * object's slot, or a customer's key in the subscription index (bumped by any write to their subscriptions).
 * `cacheable` turns false when something without a write counter was read (discounts, Checkout line items, an id
 * that resolved to nothing). */
interface Trace {
  deps: Dep[];
  cacheable: boolean;
}

type Dep = { slot: Slot; version: number } | { index: Index; key: string; version: number };

export function virtualSubscriptions(acct: Account, customer: string): { data: unknown[]; hasMore: boolean } {
  const page = acct.subscriptions.page({
    limit: 10,
    ids: acct.byCustomer.subscription.get(customer),
    filter: (s) => s.status !== 'canceled' && s.status !== 'incomplete_expired',
  });
  return { data: page.data, hasMore: page.hasMore };
}

function depsCurrent(deps: Dep[]): boolean {
  for (const d of deps) {
    if ('slot' in d ? d.slot.version !== d.version : d.index.version(d.key) !== d.version) return false;
  }
  return true;
}

/** Fields that exist on the wire only when expanded. */
function virtualField(acct: Account, obj: Record<string, unknown>, field: string, trace?: Trace): unknown {
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
  if (obj.object === 'checkout.session' && field === 'line_items' && typeof obj.id === 'string') {
    if (trace) trace.cacheable = false;
    const data = acct.checkoutLineItems.get(obj.id) ?? [];
    return { object: 'list', data, has_more: false, url: `/v1/checkout/sessions/${obj.id}/line_items` };
  }
  return undefined;
}

function resolve(acct: Account, v: unknown, trace?: Trace): unknown {
  if (typeof v !== 'string') return v;
  const slot = acct.findSlot(v);
  if (slot) {
    trace?.deps.push({ slot, version: slot.version });
    return slot.obj;
  }
  if (trace) trace.cacheable = false;
  return acct.find(v) ?? v;
}

function expandPath(acct: Account, value: unknown, segs: string[], trace?: Trace): unknown {
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

export function expand(acct: Account, result: unknown, paths: string[]): unknown {
  checkDepth(paths);
  let out = result;
  for (const path of paths) out = expandPath(acct, out, path.split('.'));
  return out;
}

// A list page re-serializes the same stored objects with the same expansions again and again (backfills,
// benchmarks). Each stored object's serialized JSON (per set of expansions) is cached in its slot, which every
// write clears; it is reused only while the write counters of everything the expansion read are unchanged.
// A page is written as its pieces, never joined: a joined 350 KB string lands in V8's large-object space, fresh
// memory each time, and its first-touch page faults cost more than the serialization on this machine. The cache
// holds strings, not Buffers: 350 MB of Buffers counts as external memory, and V8 starts a full GC of the whole
// (~1 GB) heap for every 64 MB of that growth, which made the first walk of a large account mostly GC.
interface CachedJson {
  json: string;
  bytes: number;
  deps: Dep[];
}

/** JSON text in pieces to write in order, and its length in UTF-8 bytes. */
export interface JsonPieces {
  pieces: string[];
  bytes: number;
}

// Tests set EMULATOR_VERIFY_JSON_CACHE=1: every cache hit is then re-rendered and compared, so the whole
// conformance suite checks that no write leaves a stale cache behind.
let verify = process.env.EMULATOR_VERIFY_JSON_CACHE === '1';

export function setVerifyJsonCache(on: boolean): void {
  verify = on;
}

function render(acct: Account, obj: unknown, paths: string[][], trace?: Trace): string {
  let out = obj;
  for (const segs of paths) out = expandPath(acct, out, segs, trace);
  return JSON.stringify(out);
}

/** The JSON of one object with expansions; from its slot's cache when it is a stored object. */
function objectJson(acct: Account, obj: unknown, paths: string[][]): { json: string; bytes: number } {
  const o = obj as { id?: unknown } | null;
  const slot = o && typeof o === 'object' && typeof o.id === 'string' ? acct.findSlot(o.id) : undefined;
  // A handler may return a changed copy of a stored object: only the stored object itself has a cache.
  if (!slot || slot.obj !== obj) {
    const json = render(acct, obj, paths);
    return { json, bytes: Buffer.byteLength(json) };
  }
  const key = paths.map((p) => p.join('.')).join('|');
  const hit = slot.json.get(key) as CachedJson | undefined;
  if (hit && depsCurrent(hit.deps)) {
    if (verify && hit.json !== render(acct, obj, paths)) {
      throw new Error(`stale JSON cache for ${String(o?.id)} (expand: ${key})`);
    }
    return hit;
  }
  // The object's own write counter too, though a write also empties `slot.json`: two locks on one door.
  const trace: Trace = { deps: [{ slot, version: slot.version }], cacheable: true };
  const json = render(acct, obj, paths, trace);
  const cached: CachedJson = { json, bytes: Buffer.byteLength(json), deps: trace.deps };
  if (trace.cacheable) slot.json.set(key, cached);
  return cached;
}

/** The JSON of an API result with `expand[]` applied. A list page is its envelope around each element's cached
 * JSON, as separate pieces. */
export function renderJson(acct: Account, result: unknown, paths: string[]): JsonPieces {
  checkDepth(paths);
  const list = result as { object?: unknown; data?: unknown } | null;
  const isList = (list?.object === 'list' || list?.object === 'search_result') && Array.isArray(list.data);
  if (!isList) {
    const one = objectJson(
      acct,
      result,
      paths.map((p) => p.split('.')),
    );
    return { pieces: [one.json], bytes: one.bytes };
  }
  if (!paths.every((p) => p.startsWith('data.'))) {
    const json = JSON.stringify(expand(acct, result, paths));
    return { pieces: [json], bytes: Buffer.byteLength(json) };
  }
  const inner = paths.map((p) => p.split('.').slice(1));
  const shell = JSON.stringify({ ...list, data: [] });
  const at = shell.indexOf('"data":[]') + '"data":['.length;
  const head = shell.slice(0, at);
  const tail = shell.slice(at);
  const pieces = [head];
  let bytes = Buffer.byteLength(head) + Buffer.byteLength(tail);
  (list.data as unknown[]).forEach((el, i) => {
    if (i > 0) {
      pieces.push(',');
      bytes++;
    }
    const one = objectJson(acct, el, inner);
    pieces.push(one.json);
    bytes += one.bytes;
  });
  pieces.push(tail);
  return { pieces, bytes };
}
