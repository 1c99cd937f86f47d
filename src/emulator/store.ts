// One collection per resource: a map by id plus an array kept in (created, insertion) order, so a page of a list
// is a binary search and a slice, not a sort, even at 100,000 objects.
import { invalid } from './errors.ts';
import { deepFreeze } from './freeze.ts';

export interface Stored {
  id: string;
  created: number;
}

export interface CreatedFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

export interface PageQuery<T> {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  created?: CreatedFilter;
  filter?: (obj: T) => boolean;
  /** Restrict to these ids (an index lookup, e.g. one customer's charges) instead of the whole collection. */
  ids?: Iterable<string>;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

/** A stored object's slot. `version` is its write counter: every put or remove of the id bumps it, so anything
 * derived from the object (its serialized JSON) can be checked for staleness with one comparison. */
export interface Slot<T = unknown> {
  readonly obj: T;
  readonly version: number;
  /** `obj` serialized, made when it is stored: reads splice it in instead of serializing again. */
  readonly wire: Wire;
  /** Serialized JSON derived from `obj`, by expansion key; dropped on every write. */
  readonly json: Map<string, unknown>;
}

/** JSON text and its length in UTF-8 bytes. */
export interface Wire {
  json: string;
  bytes: number;
}

function wireOf(obj: unknown): Wire {
  const json = JSON.stringify(obj);
  return { json, bytes: Buffer.byteLength(json) };
}

interface Entry<T> extends Slot<T> {
  obj: T;
  wire: Wire;
  seq: number;
  version: number;
  json: Map<string, unknown>;
}

export class Collection<T extends Stored> {
  private readonly byId = new Map<string, Entry<T>>();
  private order: Entry<T>[] = [];
  private nextSeq = 0;

  constructor(readonly kind: string) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): T | undefined {
    return this.byId.get(id)?.obj;
  }

  slot(id: string): Slot<T> | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  insert(obj: T): T {
    const existing = this.byId.get(obj.id);
    if (existing) {
      this.remove(obj.id);
    }
    // Frozen: a stored object changes only by being replaced, which bumps its version. An in-place edit would
    // leave every cached serialization of it stale, so it throws instead.
    const entry: Entry<T> = {
      obj: deepFreeze(obj),
      wire: wireOf(obj),
      seq: this.nextSeq++,
      version: 0,
      json: new Map(),
    };
    this.byId.set(obj.id, entry);
    const last = this.order[this.order.length - 1];
    if (!last || compare(last, entry) < 0) this.order.push(entry);
    else this.order.splice(this.lowerBound(entry), 0, entry);
    return obj;
  }

  /** Replace the stored object in place; `created` must not change. */
  put(obj: T): T {
    const entry = this.byId.get(obj.id);
    if (!entry) return this.insert(obj);
    entry.obj = deepFreeze(obj);
    entry.wire = wireOf(obj);
    entry.version++;
    entry.json.clear();
    return obj;
  }

  remove(id: string): T | undefined {
    const entry = this.byId.get(id);
    if (!entry) return undefined;
    this.byId.delete(id);
    entry.version++;
    entry.json.clear();
    const i = this.lowerBound(entry);
    if (this.order[i] === entry) this.order.splice(i, 1);
    else this.order = this.order.filter((e) => e !== entry);
    return entry.obj;
  }

  clear(): void {
    for (const e of this.order) {
      e.version++;
      e.json.clear();
    }
    this.byId.clear();
    this.order = [];
  }

  /** Oldest first. */
  values(): IterableIterator<T> {
    const order = this.order;
    let i = 0;
    return {
      next: () =>
        i < order.length
          ? { value: (order[i++] as Entry<T>).obj, done: false }
          : { value: undefined, done: true },
      [Symbol.iterator]() {
        return this;
      },
    } as IterableIterator<T>;
  }

  page(q: PageQuery<T>): Page<T> {
    const source = q.ids ? this.subset(q.ids) : this.order;
    const [lo, hi] = createdRange(source, q.created);
    const match = (e: Entry<T>): boolean => !q.filter || q.filter(e.obj);
    const out: T[] = [];
    if (q.endingBefore !== undefined) {
      const cursor = this.cursor(q.endingBefore, 'ending_before');
      let i = Math.max(lo, upperBound(source, cursor));
      for (; i < hi && out.length <= q.limit; i++) {
        const e = source[i] as Entry<T>;
        if (match(e)) out.push(e.obj);
      }
      const hasMore = out.length > q.limit;
      if (hasMore) out.pop();
      return { data: out.reverse(), hasMore };
    }
    let i = hi - 1;
    if (q.startingAfter !== undefined) {
      const cursor = this.cursor(q.startingAfter, 'starting_after');
      i = Math.min(i, lowerBoundIn(source, cursor) - 1);
    }
    for (; i >= lo && out.length <= q.limit; i--) {
      const e = source[i] as Entry<T>;
      if (match(e)) out.push(e.obj);
    }
    const hasMore = out.length > q.limit;
    if (hasMore) out.pop();
    return { data: out, hasMore };
  }

  private subset(ids: Iterable<string>): Entry<T>[] {
    const out: Entry<T>[] = [];
    for (const id of ids) {
      const e = this.byId.get(id);
      if (e) out.push(e);
    }
    return out.sort(compare);
  }

  private cursor(id: string, param: string): Entry<T> {
    const e = this.byId.get(id);
    if (!e) throw invalid(`No such ${this.kind}: '${id}'`, param, 'resource_missing');
    return e;
  }

  private lowerBound(entry: Entry<T>): number {
    return lowerBoundIn(this.order, entry);
  }
}

function compare<T extends Stored>(a: Entry<T>, b: Entry<T>): number {
  return a.obj.created - b.obj.created || a.seq - b.seq;
}

function lowerBoundIn<T extends Stored>(arr: Entry<T>[], x: Entry<T>): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(arr[mid] as Entry<T>, x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound<T extends Stored>(arr: Entry<T>[], x: Entry<T>): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(arr[mid] as Entry<T>, x) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index range [lo, hi) of entries whose `created` passes the filter. */
function createdRange<T extends Stored>(arr: Entry<T>[], f: CreatedFilter | undefined): [number, number] {
  if (!f) return [0, arr.length];
  let min = -Infinity;
  let max = Infinity;
  if (f.gt !== undefined) min = Math.max(min, f.gt + 1);
  if (f.gte !== undefined) min = Math.max(min, f.gte);
  if (f.lt !== undefined) max = Math.min(max, f.lt - 1);
  if (f.lte !== undefined) max = Math.min(max, f.lte);
  const firstAtLeast = (v: number): number => {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((arr[mid] as Entry<T>).obj.created < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const lo = min === -Infinity ? 0 : firstAtLeast(min);
  const hi = max === Infinity ? arr.length : firstAtLeast(max + 1);
  return [lo, Math.max(lo, hi)];
}

/** A multi-map from a key (customer id, lowercased email) to object ids; remembers each id's key so a change of
 * key (a payment method moving to another customer, an email edit) moves the id. Each key has a write counter,
 * bumped by `set` whenever one of its ids (before or after the change) is written, so anything derived from a
 * key's objects (a customer's expanded `subscriptions`) can be checked for staleness in one comparison. */
export class Index {
  private readonly map = new Map<string, Set<string>>();
  private readonly keyOf = new Map<string, string>();
  private readonly versions = new Map<string, number>();

  /** Call on every write of `id` (not only on a change of key): it also bumps the key's version. */
  set(id: string, key: string | null | undefined): void {
    const old = this.keyOf.get(id);
    if (old !== undefined) this.bump(old);
    if (key) this.bump(key);
    if (old === key) return;
    if (old !== undefined) this.map.get(old)?.delete(id);
    if (!key) {
      this.keyOf.delete(id);
      return;
    }
    this.keyOf.set(id, key);
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = new Set()));
    s.add(id);
  }

  get(key: string): Set<string> {
    return this.map.get(key) ?? new Set();
  }

  version(key: string): number {
    return this.versions.get(key) ?? 0;
  }

  private bump(key: string): void {
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
  }

  clear(): void {
    this.map.clear();
    this.keyOf.clear();
    // Versions survive a clear, so a key that is filled again never repeats a version seen before.
    for (const k of this.versions.keys()) this.bump(k);
  }
}
