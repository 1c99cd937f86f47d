/**
 * The backfill (DESIGN.md §3.5): lists every object type page by page (100 per page, `expand[]` so one page holds
 * what attributes need), writes each page to the record store, then checkpoints the cursor before the next page.
 * The checkpoint is the truth: a worker killed mid-way leaves a job the queue retries, and the retry starts from
 * the last checkpointed page. Once every list is done, every customer is matched and its attributes derived.
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { clientFor, getConnection, saveConnection } from './connections.ts';
import { customerIdOf, loadCatalog, recomputeCustomers } from './recompute.ts';
import {
  BACKFILL_TYPES,
  customerIndex,
  emailIndex,
  objectKey,
  stores,
  type BackfillType,
  type Cursor,
} from './store.ts';
import { fetchVersion } from './versions.ts';

export const PAGE_SIZE = 100;

/** For tests: throw once after this many pages, as a killed worker would stop (then the job is retried). */
export const backfillFaults: { failAfterPages: number | null } = { failAfterPages: null };

type Page = { data: { id: string }[]; has_more: boolean };

function listPage(type: BackfillType, stripe: Stripe, startingAfter: string | undefined): Promise<Page> {
  const base = { limit: PAGE_SIZE, ...(startingAfter ? { starting_after: startingAfter } : {}) };
  switch (type) {
    case 'customers':
      return stripe.customers.list({
        ...base,
        expand: ['data.invoice_settings.default_payment_method', 'data.default_source'],
      });
    case 'subscriptions':
      return stripe.subscriptions.list({
        ...base,
        status: 'all',
        expand: ['data.items.data.price', 'data.default_payment_method', 'data.discounts'],
      });
    case 'products':
      return stripe.products.list(base);
    case 'coupons':
      return stripe.coupons.list(base);
    case 'charges':
      return stripe.charges.list(base);
  }
}

/** Writes one fetched object to its collection; a stored newer version (from a webhook) wins. */
export async function storeObject(
  host: AppHost,
  connectionId: string,
  type: BackfillType | 'payment_methods',
  obj: { id: string },
  version: number,
  /** When the fetch started (unix seconds): lets a later fetch win over an earlier one of the same seconds. */
  startedAt?: number,
): Promise<void> {
  const s = stores(host);
  const key = objectKey(connectionId, obj.id);
  // We only ever write objects fetched from Stripe, never event payloads. A fetch that started after the stored
  // version's second (by our clock, no skew margin) saw everything the stored copy saw, so it goes one above it
  // even when the skew margin would make it tie or lose (two refetches within a few seconds).
  const col = {
    customers: s.customers,
    subscriptions: s.subscriptions,
    charges: s.charges,
    payment_methods: s.paymentMethods,
    products: s.products,
    coupons: s.coupons,
  }[type];
  const stored = await (col as typeof s.charges).get(key);
  if (
    startedAt !== undefined &&
    stored &&
    stored.version >= version &&
    stored.version < fetchVersion(startedAt, 0)
  )
    version = stored.version + 1;
  switch (type) {
    case 'customers': {
      const c = obj as Stripe.Customer;
      await s.customers.put(key, c, {
        version,
        a: customerIndex(connectionId, c.id),
        b: emailIndex(connectionId, c.email),
      });
      return;
    }
    case 'subscriptions':
    case 'charges':
    case 'payment_methods': {
      const cus = customerIdOf(obj as { customer?: string | { id: string } | null });
      const a = cus ? customerIndex(connectionId, cus) : null;
      await (col as typeof s.charges).put(key, obj as Stripe.Charge, { version, a });
      return;
    }
    case 'products':
      await s.products.put(key, obj as Stripe.Product, { version });
      return;
    case 'coupons':
      await s.coupons.put(key, obj as Stripe.Coupon, { version });
      return;
  }
}

const fresh = (run: number): Cursor => ({ run, starting_after: null, pages: 0, count: 0, done: false });

export async function readCursor(host: AppHost, connectionId: string, type: BackfillType, run: number) {
  const rec = await stores(host).cursors.get(`${connectionId}:${type}`);
  return rec && rec.data.run === run
    ? { cursor: rec.data, version: rec.version }
    : { cursor: fresh(run), version: rec?.version ?? 0 };
}

export async function runBackfill(
  host: AppHost,
  payload: { connectionId: string; run: number },
): Promise<void> {
  const conn = await getConnection(host, payload.connectionId);
  if (!conn || conn.sync.run !== payload.run) return; // disconnected, or a newer sync replaced this run
  await saveConnection(host, {
    ...conn,
    sync: {
      ...conn.sync,
      state: 'running',
      started_at: conn.sync.started_at ?? Math.floor(Date.now() / 1000),
    },
  });
  const handle = await clientFor(host, conn);
  const s = stores(host);
  let pagesThisAttempt = 0;
  try {
    for (const type of BACKFILL_TYPES) {
      let { cursor, version } = await readCursor(host, conn.id, type, payload.run);
      while (!cursor.done) {
        const started = Date.now() / 1000;
        const page = await handle.call(`list:${type}`, (st) =>
          listPage(type, st, cursor.starting_after ?? undefined),
        );
        const v = fetchVersion(started);
        for (const obj of page.data) await storeObject(host, conn.id, type, obj, v, started);
        const last = page.data.at(-1);
        cursor = {
          run: payload.run,
          starting_after: last?.id ?? cursor.starting_after,
          pages: cursor.pages + 1,
          count: cursor.count + page.data.length,
          done: !page.has_more || !last,
        };
        version += 1;
        await s.cursors.put(`${conn.id}:${type}`, cursor, { version });
        pagesThisAttempt += 1;
        if (backfillFaults.failAfterPages !== null && pagesThisAttempt >= backfillFaults.failAfterPages) {
          backfillFaults.failAfterPages = null;
          throw new Error('backfill interrupted (test fault)');
        }
      }
    }
    // Every list is complete: match and derive for every customer, with one catalog load for all of them.
    await runRecompute(host, { connectionId: conn.id });
    const latest = (await getConnection(host, conn.id)) ?? conn;
    await saveConnection(host, {
      ...latest,
      sync: { ...latest.sync, state: 'done', finished_at: Math.floor(Date.now() / 1000), last_error: null },
    });
  } catch (err) {
    const latest = (await getConnection(host, conn.id)) ?? conn;
    await saveConnection(host, {
      ...latest,
      sync: { ...latest.sync, state: 'error', last_error: err instanceof Error ? err.message : String(err) },
    });
    throw err; // the queue retries with backoff; the cursors say where to resume
  }
}

/** The `recompute` job: every customer of a connection (after it became primary). */
export async function runRecompute(host: AppHost, payload: { connectionId: string }): Promise<void> {
  const s = stores(host);
  const catalog = await loadCatalog(host, payload.connectionId);
  let after: string | undefined;
  for (;;) {
    const page = await s.customers.list({ after, limit: 500 });
    for (const r of page)
      if (r.key.startsWith(`${payload.connectionId}:`))
        await recomputeCustomers(host, payload.connectionId, [r.data.id], catalog);
    const last = page.at(-1);
    if (!last || page.length < 500) return;
    after = last.key;
  }
}

/** Starts a new run: cursors of older runs count as not started. */
export async function startSync(host: AppHost, connectionId: string): Promise<{ run: number }> {
  const conn = await getConnection(host, connectionId);
  if (!conn) throw new Error(`no connection ${connectionId}`);
  const run = conn.sync.run + 1;
  await saveConnection(host, {
    ...conn,
    sync: { run, state: 'pending', started_at: null, finished_at: null, last_error: null },
  });
  await host.jobs.enqueue(
    'backfill',
    { connectionId, run },
    { dedupeKey: `backfill:${connectionId}:${run}` },
  );
  return { run };
}
