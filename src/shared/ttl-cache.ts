/**
 * A per-process map whose entries expire `ttlMs` after they were set, for rows that background work reads on every
 * job or request but that change rarely (installations, webhook endpoints, attribute definitions). Past
 * `maxEntries` it starts over rather than track ages: the rows are cheap to read again.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The entry if it is still fresh; `has` tells a kept `undefined` from a miss. */
  get(key: string): { has: boolean; value: V | undefined } {
    const hit = this.entries.get(key);
    return hit && hit.until > Date.now() ? { has: true, value: hit.value } : { has: false, value: undefined };
  }

  set(key: string, value: V): V {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + this.ttlMs });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
