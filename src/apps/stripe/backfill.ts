/**
 * The backfill (DESIGN.md §3.5), in three phases: the catalog (products, coupons), then customers and
 * subscriptions (`status=all`) together, then charges (for the attributes beyond Intercom's set). Each list type
 * is split into `created` ranges (ranges.ts), each range a cursor of its own listing 100 per page with `expand[]`.
 *
 * Each page's objects are written (one statement), then the customers it touches are matched and their
 * attributes derived (settle-batch.ts), and only then is the range's cursor checkpointed. Settles go through a
 * queue keyed by the page's range and customers (keyed-queue.ts): a customer's settles and a range's checkpoints
 * keep their order, pages with nothing in common settle side by side, and the careful path (shared emails) runs
 * alone. Fetching runs ahead of the queue, so the API budget, not the database, sets the pace. A process killed at
 * any point leaves checkpoints that name pages fully written; the retried job lists each range again from its
 * checkpoint. The run reports `done` only after the last phase.
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { isNotFound, type StripeHandle } from './client.ts';
import { ensureCatchUp } from './catch-up.ts';
import { clientFor, getConnection, saveConnection } from './connections.ts';
import { planRanges, splitLargest, STRIPE_EPOCH, type RangeCursor } from './ranges.ts';
import { customerIdOf, loadCatalog, type Catalog } from './bundle.ts';
import { listPage, storePage, type Page } from './pages.ts';
import { withPriceTiers } from './price-tiers.ts';
import { settleCustomers } from './settle-batch.ts';
import { stores, type BackfillType, type Connection } from './store.ts';
import { fetchVersion } from './versions.ts';
import { KeyedQueue, type TaskContext } from './keyed-queue.ts';

export const PHASES: readonly (readonly BackfillType[])[] = [
  ['products', 'coupons'],
  ['customers', 'subscriptions'],
  ['charges'],
];
export const DEFAULT_RANGES = 8;
/** Pages fetched but not yet written, per run: bounds memory when the database is slower than the API. */
const MAX_PENDING_PAGES = 24;
/** Pages stored at once beside the settle queue: PostgreSQL uses a second core for them. */
const STORE_LANES = 2;
/** Pages settled at once when they share no customer and no range. */
const SETTLE_LANES = 2;

/**
 * For tests: throw once after this many pages, as a killed worker would stop (then the job is retried); `afterPage`
 * runs after each written page (a test turns sync off mid-run with it).
 */
export const backfillFaults: {
  failAfterPages: number | null;
  afterPage: ((pagesWritten: number) => Promise<void>) | null;
} = { failAfterPages: null, afterPage: null };

const cursorKey = (connectionId: string, type: BackfillType, id: string) => `${connectionId}:${type}:${id}`;
const planIndex = (connectionId: string, type: BackfillType) => `${connectionId}:${type}`;
const rangeKey = (type: BackfillType, rangeId: string) => `range:${type}:${rangeId}`;

/** The run's range cursors of one type (empty before the type was planned). */
export async function readRanges(
  host: AppHost,
  connectionId: string,
  type: BackfillType,
  run: number,
): Promise<{ cursor: RangeCursor; version: number }[]> {
  const recs = await stores(host).cursors.find('a', planIndex(connectionId, type), { limit: 1000 });
  return recs
    .map((r) => ({ cursor: r.data as unknown as RangeCursor, version: r.version }))
    .filter((r) => r.cursor.run === run && typeof r.cursor.id === 'string');
}

/** A `sync` started a newer run of the connection while this one was listing: this one stops, quietly. */
class SupersededRun extends Error {}

/**
 * `sync_enabled` was turned off: the run stops and reports `paused`; turning sync on resumes it from its cursors
 * (`resumeSync`), as a killed run resumes.
 */
class SyncPaused extends Error {}

const syncEnabled = async (host: AppHost) =>
  (await host.settings<{ sync_enabled?: boolean }>()).sync_enabled !== false;

/** One run of one connection: the cursors in memory, the write queue, the versions of cursor records. */
class BackfillRun {
  private versions = new Map<string, number>();
  private queue = new KeyedQueue(SETTLE_LANES);
  private pending = 0;
  private waiters: (() => void)[] = [];
  private failure: unknown = null;
  private pagesWritten = 0;
  private splits = 0;
  catalog: Catalog = { products: new Map(), coupons: new Map() };

  constructor(
    private host: AppHost,
    private conn: Connection,
    private handle: StripeHandle,
    private run: number,
    private ranges: number,
    private userIdKey: string,
    private lo: number,
  ) {}

  private get hi() {
    return Math.floor(Date.now() / 1000) + 1;
  }

  /**
   * Stops every cursor once the connection names a newer run (or is gone): two runs must not list side by side,
   * share cursors or report for each other. One read by key before each page, small beside the page.
   */
  private async checkCurrent(): Promise<void> {
    const [latest, enabled] = await Promise.all([
      getConnection(this.host, this.conn.id),
      syncEnabled(this.host),
    ]);
    if (!latest || latest.sync.run !== this.run)
      this.failure ??= new SupersededRun(`run ${this.run} of ${this.conn.id} was replaced`);
    else if (!enabled) this.failure ??= new SyncPaused('sync is off');
  }

  /** Runs `fn` after everything queued before it that shares a key; the first failure stops every cursor. */
  private enqueue(keys: Iterable<string>, fn: (ctx: TaskContext) => Promise<void>): void {
    this.pending++;
    void this.queue.push(keys, async (ctx) => {
      try {
        if (this.failure === null) await fn(ctx);
      } catch (err) {
        this.failure ??= err;
      } finally {
        this.pending--;
        this.waiters.shift()?.();
      }
    });
  }

  /** One cursor, each page written before the next is fetched: the engine before ranges, kept as a baseline. */
  private sequential = false;

  private async room(): Promise<void> {
    if (this.sequential) await this.queue.idle();
    while (this.pending >= MAX_PENDING_PAGES && this.failure === null)
      await new Promise<void>((r) => this.waiters.push(r));
  }

  private async writeCursors(cursors: RangeCursor[]): Promise<void> {
    const rows = cursors.map((c) => {
      const key = cursorKey(this.conn.id, c.type, c.id);
      const version = (this.versions.get(key) ?? 0) + 1;
      this.versions.set(key, version);
      return { key, data: c, version, a: planIndex(this.conn.id, c.type) };
    });
    await stores(this.host).cursors.putMany(rows as never);
  }

  /** The type's cursors of this run: read back after a restart, else planned (all in one statement). */
  private async cursorsOf(type: BackfillType): Promise<RangeCursor[]> {
    const stored = await readRanges(this.host, this.conn.id, type, this.run);
    const all = await stores(this.host).cursors.find('a', planIndex(this.conn.id, type), { limit: 1000 });
    for (const r of all) this.versions.set(r.key, r.version);
    if (stored.length > 0) return stored.map((r) => r.cursor);
    // The catalog is small: one cursor each.
    const k = type === 'products' || type === 'coupons' ? 1 : this.ranges;
    const plan = planRanges(this.run, type, this.lo, this.hi, k);
    await this.writeCursors(plan);
    return plan;
  }

  async phase(types: readonly BackfillType[]): Promise<void> {
    this.sequential = this.ranges <= 1;
    if (this.sequential) {
      // One cursor, one type after another: the sequential engine (the benchmark's baseline).
      for (const t of types) await this.listType(t);
    } else await Promise.all(types.map((t) => this.listType(t)));
    await this.queue.idle();
    // A failure skips the settles still queued: their pages' stores end before the job does (and is retried).
    await Promise.allSettled(this.inFlight);
    if (this.failure !== null) throw this.failure;
  }

  private async listType(type: BackfillType): Promise<void> {
    const cursors = await this.cursorsOf(type);
    this.live.set(type, cursors);
    const free = cursors.filter((c) => !c.done);
    const workers = Math.max(1, Math.min(this.ranges, free.length || 1));
    const claimed = new Set<string>();
    const next = (): RangeCursor | undefined => {
      const c = cursors.find((x) => !x.done && !claimed.has(x.id));
      if (c) claimed.add(c.id);
      return c;
    };
    const worker = async () => {
      for (;;) {
        if (this.failure !== null) return;
        let c = next();
        // At most 4K ranges per type: splitting is for balance, not for ever finer slices.
        if (!c && this.ranges > 1 && !catalog && cursors.length < 4 * this.ranges)
          c = this.steal(type, cursors, claimed);
        if (!c) return;
        await this.listRange(type, c);
      }
    };
    const catalog = type === 'products' || type === 'coupons';
    const extra = this.ranges > 1 && !catalog ? Math.max(0, this.ranges - workers) : 0;
    await Promise.all(Array.from({ length: workers + extra }, worker));
  }

  /** Half of the largest range still being listed becomes a new range for an idle cursor. */
  private steal(type: BackfillType, cursors: RangeCursor[], claimed: Set<string>): RangeCursor | undefined {
    const split = splitLargest(cursors, this.lo, this.hi, `s${Date.now().toString(36)}${++this.splits}`);
    if (!split) return undefined;
    // The running range's bounds change in memory now (its next page uses them); the split is written in queue
    // order, after the checkpoints of its pages already fetched, as one statement with the new range.
    split.victim.gte = split.narrowed.gte;
    cursors.push(split.added);
    claimed.add(split.added.id);
    const added = { ...split.added };
    this.enqueue([rangeKey(type, split.victim.id), rangeKey(type, added.id)], async () => {
      // The victim's last checkpoint as of now (its pages queued before this one are written), narrowed.
      const committed = this.committed.get(split.victim.id) ?? split.victim;
      const narrowed = { ...committed, gte: split.narrowed.gte };
      this.committed.set(split.victim.id, narrowed);
      await this.writeCursors([narrowed, added]);
    });
    return split.added;
  }

  /** The last checkpointed state of each range (what a restart would read). */
  private committed = new Map<string, RangeCursor>();

  /** Each type's cursors in this phase, by range id: customers look at their subscriptions' partner range. */
  private live = new Map<BackfillType, RangeCursor[]>();

  /**
   * A customer page waits until the same range's subscriptions have been listed past it: then the customer's
   * contact is usually written once, with its subscriptions, rather than once without and again with them. Only
   * the order changes (never what is listed), and the subscriptions, with more pages, set the phase's pace anyway.
   */
  private async followSubscriptions(c: RangeCursor): Promise<void> {
    const partner = this.live.get('subscriptions')?.find((p) => p.id === c.id);
    if (!partner || partner.gte !== c.gte || partner.lt !== c.lt) return;
    const pos = (x: RangeCursor) => x.last_created ?? Number.POSITIVE_INFINITY;
    while (!partner.done && pos(partner) >= pos(c) && this.failure === null)
      await new Promise((r) => setTimeout(r, 20));
  }

  private async listRange(type: BackfillType, c: RangeCursor): Promise<void> {
    if (!this.committed.has(c.id)) this.committed.set(c.id, { ...c });
    while (!c.done && this.failure === null) {
      await this.room();
      await this.checkCurrent();
      if (this.failure !== null) return;
      if (type === 'customers' && !this.sequential) await this.followSubscriptions(c);
      // The page's version: when its request was sent, after any wait for the budget (see refetchAndStore).
      let started = Date.now() / 1000;
      let page: Page;
      try {
        page = await this.handle.call(
          `list:${type}`,
          (st) => listPage(type, st, c),
          (t) => (started = t),
        );
      } catch (err) {
        // The checkpointed object was deleted since: list from its second again (repeats are harmless).
        if (isNotFound(err) && c.starting_after && c.last_created !== null) {
          c.starting_after = null;
          c.lt = c.last_created + 1;
          continue;
        }
        throw err;
      }
      const last = page.data.at(-1);
      // A split while this page was in flight gave what lies below the new bound to another range: leave it
      // to that range (listed and counted once), and stop here, everything further being older still.
      const gte = c.gte;
      const kept = gte === null ? page.data : page.data.filter((o) => o.created >= gte);
      const dropped = kept.length < page.data.length;
      if (dropped) page = { ...page, data: kept };
      c.starting_after = last?.id ?? c.starting_after;
      c.last_created = last?.created ?? c.last_created;
      c.pages += 1;
      c.count += kept.length;
      c.done = !page.has_more || !last || dropped;
      const snapshot = { ...c };
      const version = fetchVersion(started);
      // Stored now, beside the queue (on another connection); settled in queue order once stored.
      const stored = this.store(type, page, version);
      if (type === 'customers')
        for (const o of page.data) this.queued.set(o.id, (this.queued.get(o.id) ?? 0) + 1);
      this.enqueue(this.keysOf(type, c, page), async (ctx) => {
        await this.settlePage(type, page, await stored, ctx);
        if (type === 'customers')
          for (const o of page.data) {
            const n = (this.queued.get(o.id) ?? 1) - 1;
            if (n > 0) this.queued.set(o.id, n);
            else this.queued.delete(o.id);
          }
        // The bounds at fetch time: a split written later narrows them in its own statement.
        await this.writeCursors([snapshot]);
        this.committed.set(snapshot.id, snapshot);
        this.pagesWritten += 1;
        if (backfillFaults.failAfterPages !== null && this.pagesWritten >= backfillFaults.failAfterPages) {
          backfillFaults.failAfterPages = null;
          throw new Error('backfill interrupted (test fault)');
        }
        await backfillFaults.afterPage?.(this.pagesWritten);
      });
    }
  }

  /** Pages being stored (at most STORE_LANES at a time) and the ones waiting to be. */
  private storing = 0;
  private storeWaiters: (() => void)[] = [];
  private inFlight = new Set<Promise<boolean>>();
  /** Customers in customer pages fetched and not settled yet (how many such pages hold each). */
  private queued = new Map<string, number>();

  /**
   * Writes a page's objects outside the queue: record writes take most of the database time, and a settle only
   * needs the records of its own page stored first. A customer's settles run in queue order, each after its own
   * page's store ended, and a settle reads everything stored before it starts; so the customer's last settle
   * still sees all its objects.
   */
  private store(type: BackfillType, page: Page, version: number): Promise<boolean> {
    const run = async () => {
      while (this.storing >= STORE_LANES) await new Promise<void>((r) => this.storeWaiters.push(r));
      this.storing++;
      try {
        const data =
          type === 'subscriptions'
            ? ((await withPriceTiers(
                this.host,
                this.handle,
                this.conn.id,
                page.data as unknown as Stripe.Subscription[],
                version,
              )) as unknown as Page['data'])
            : page.data;
        return await storePage(this.host, this.conn.id, type, { ...page, data }, version);
      } finally {
        this.storing--;
        this.storeWaiters.shift()?.();
      }
    };
    const p = run();
    this.inFlight.add(p);
    // Awaited by the page's queued settle, which reports a failure.
    p.catch(() => undefined).finally(() => this.inFlight.delete(p));
    return p;
  }

  /** What a page's settle must not run beside: its range (checkpoint order) and the customers it touches. */
  private keysOf(type: BackfillType, c: RangeCursor, page: Page): string[] {
    const keys = [rangeKey(type, c.id)];
    if (type === 'products' || type === 'coupons') return keys;
    for (const o of page.data) {
      const id =
        type === 'customers' ? o.id : customerIdOf(o as { customer?: string | { id: string } | null });
      if (id) keys.push(`customer:${id}`);
    }
    return keys;
  }

  private async settlePage(type: BackfillType, page: Page, exact: boolean, ctx: TaskContext): Promise<void> {
    if (type === 'products' || type === 'coupons') return;
    const ids =
      type === 'customers'
        ? page.data.map((o) => o.id)
        : page.data
            .map((o) => customerIdOf(o as { customer?: string | { id: string } | null }))
            // A customer whose page is queued after this one (often already stored) is left to that page's
            // settle, which sees this page's objects: its contact is then written once, with all of them.
            .filter((id) => !(id && this.queued.has(id)));
    await settleCustomers(
      this.host,
      this.conn,
      ids.filter((id): id is string => !!id),
      this.catalog,
      this.userIdKey,
      type === 'customers' && exact
        ? new Map(page.data.map((c) => [c.id, c as unknown as Stripe.Customer]))
        : undefined,
      // The careful path follows shared emails to customers outside this page's keys.
      (step) => ctx.alone(step),
    );
  }

  async loadCatalog(): Promise<void> {
    this.catalog = await loadCatalog(this.host, this.conn.id);
  }
}

/**
 * Patches the sync state of run `run`, and only of that run: a run a newer `sync` replaced must not mark the new
 * one done (or failed). A gone connection is not written back.
 */
async function setState(host: AppHost, id: string, run: number, patch: Partial<Connection['sync']>) {
  const latest = await getConnection(host, id);
  if (!latest || latest.sync.run !== run) throw new SupersededRun(`run ${run} of ${id} was replaced`);
  await saveConnection(host, { ...latest, sync: { ...latest.sync, ...patch } });
}

export async function runBackfill(
  host: AppHost,
  payload: { connectionId: string; run: number },
  ctx: { lastAttempt: boolean } = { lastAttempt: false },
): Promise<void> {
  const conn = await getConnection(host, payload.connectionId);
  if (!conn || conn.sync.run !== payload.run) return; // disconnected, or a newer sync replaced this run
  const state = (patch: Partial<Connection['sync']>) => setState(host, conn.id, payload.run, patch);
  try {
    if (!(await syncEnabled(host))) throw new SyncPaused('sync is off');
    await state({ state: 'running', started_at: conn.sync.started_at ?? Math.floor(Date.now() / 1000) });
    const settings = await host.settings<{ metadata_key: string; backfill_ranges?: number }>();
    const handle = await clientFor(host, conn);
    let lo = STRIPE_EPOCH;
    const planned = await readRanges(host, conn.id, 'customers', payload.run);
    if (planned.length === 0) {
      // The account's age sets the first plan; the open ends and work stealing keep it right if it is off.
      const account = await handle.call('account', (s) => s.accounts.retrieveCurrent());
      if (account.created) lo = Math.max(STRIPE_EPOCH, account.created);
    }
    const run = new BackfillRun(
      host,
      conn,
      handle,
      payload.run,
      settings.backfill_ranges ?? DEFAULT_RANGES,
      settings.metadata_key,
      lo,
    );
    for (const [i, types] of PHASES.entries()) {
      if (i === 1) await run.loadCatalog();
      const name = types.join('+');
      const latest = (await getConnection(host, conn.id)) ?? conn;
      const times = { ...latest.sync.phase_times };
      times[name] = [times[name]?.[0] ?? Date.now(), null];
      await state({ phase: name, phase_times: times });
      await run.phase(types);
      times[name] = [times[name][0], Date.now()];
      await state({ phase_times: times });
    }
    await state({ state: 'done', finished_at: Math.floor(Date.now() / 1000), last_error: null });
    // The events catch-up starts once the backfill is done, not with the first webhook: if Stripe's deliveries
    // never reach Settle (a wrong public URL, a proxy), it alone keeps the contacts in step from then on. Its first
    // run lists everything since the connection was made, so starting earlier would gain nothing and would spend
    // the backfill's request budget and database time on applies it is about to make anyway.
    await ensureCatchUp(host, conn.id);
  } catch (err) {
    // A newer run (or a disconnect) took over: it reports for the connection now, and this job is over.
    if (err instanceof SupersededRun) return;
    try {
      if (err instanceof SyncPaused) return await state({ state: 'paused' });
      await state({
        state: ctx.lastAttempt ? 'failed' : 'error',
        last_error: err instanceof Error ? err.message : String(err),
      });
    } catch (stateErr) {
      if (stateErr instanceof SupersededRun) return;
      throw stateErr;
    }
    throw err; // the queue retries with backoff; the cursors say where to resume
  }
}
