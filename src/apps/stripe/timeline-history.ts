/**
 * The timeline's history (DESIGN.md §3.4): what happened in an account before it was connected. The backfill
 * copies objects, which carry no history, and the catch-up lists events from the connection on, so without this a
 * newly connected account's contacts would show no billing events until the next ones happen. Stripe keeps events
 * 30 days; this job lists that window, up to the connection, once per connection, and records the §3.4 types on the
 * timeline only: attributes come from the backfill's current objects, and an old event must not be applied over
 * them. Entries are keyed by the event id like every other, so an event both listed here and delivered live (the
 * seconds around the connection) is recorded once.
 *
 * It starts with the first catch-up run, that is once the backfill is done and the customers are linked; a customer
 * no contact holds (or whose linked contact was deleted since) gets its entries held (held-timeline.ts), as a live
 * event's would be. A checkpoint per page lets a killed run resume where it stopped; while sync is off the job does
 * nothing, and the catch-up asks again later.
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { loadCatalog } from './bundle.ts';
import { clientFor, getConnection } from './connections.ts';
import { holdTimelineEntry, liveLinks } from './held-timeline.ts';
import { objectKey } from './store.ts';
import { timelineEntryFor, timelineHandlers, type TimelineEntry } from './timeline.ts';

/** How long Stripe keeps events: nothing older can be listed. */
export const HISTORY_SECONDS = 30 * 86_400;

export interface HistoryCursor {
  /** The last event of the last page written (the list runs newest first). */
  after: string | null;
  done: boolean;
  /** Events listed, entries newly recorded, entries held for customers no contact holds. */
  listed: number;
  recorded: number;
  held: number;
  /** The window listed, Stripe's clock (seconds): fixed by the first run so a resumed one lists the same. */
  since: number;
  until: number;
}

const historyKey = (connectionId: string) => `history:${connectionId}`;
const cursors = (host: AppHost) => host.records<HistoryCursor>('event_cursors');
const TYPES = Object.keys(timelineHandlers) as Stripe.Event.Type[];

export async function readHistoryCursor(host: AppHost, connectionId: string) {
  const rec = await cursors(host).get(historyKey(connectionId));
  return rec && !rec.deleted ? rec : undefined;
}

/** Test hook: fail the run after this many written pages (once), as a killed worker would stop. */
export const historyFaults = { failAfterPages: 0 };

/** Per process: connections whose history is done need no further look. */
const finished = new Set<string>();

/** Enqueues the history job unless it is done: one record read per catch-up run until it is. */
export async function ensureTimelineHistory(host: AppHost, connectionId: string): Promise<void> {
  const memo = `${host.workspaceId}:${connectionId}`;
  if (finished.has(memo)) return;
  const rec = await readHistoryCursor(host, connectionId);
  if (rec?.data.done) {
    finished.add(memo);
    return;
  }
  // Released at once when it ends: a run that stopped early (sync turned off) can be asked for again.
  await host.jobs.enqueue(
    'timeline_history',
    { connectionId },
    { dedupeKey: `history:${connectionId}`, releaseKeyAfterMs: 0 },
  );
}

export async function runTimelineHistory(host: AppHost, payload: { connectionId: string }): Promise<void> {
  const conn = await getConnection(host, payload.connectionId);
  if (!conn) return;
  const { sync_enabled } = await host.settings<{ sync_enabled: boolean }>();
  if (!sync_enabled) return;
  const store = cursors(host);
  const rec = await readHistoryCursor(host, conn.id);
  if (rec?.data.done) return;
  let version = rec?.version ?? 0;
  const nowSeconds = Math.floor(Date.now() / 1000);
  let cursor: HistoryCursor = rec?.data ?? {
    after: null,
    done: false,
    listed: 0,
    recorded: 0,
    held: 0,
    since: Math.max(conn.created_at - HISTORY_SECONDS, nowSeconds - HISTORY_SECONDS),
    until: conn.created_at,
  };
  const handle = await clientFor(host, conn);
  const { products } = await loadCatalog(host, conn.id);
  for (;;) {
    const after = cursor.after;
    const page = await handle.call('events', (s) =>
      s.events.list({
        types: TYPES,
        created: { gte: cursor.since, lt: cursor.until },
        limit: 100,
        ...(after ? { starting_after: after } : {}),
      }),
    );
    const results = page.data.flatMap((event) => {
      const r = timelineEntryFor(event, { products });
      return r?.customerId ? [{ event, customerId: r.customerId, entry: r.entry }] : [];
    });
    // A link to a contact deleted since is no link: its entries are held, not recorded (recordMany would fail as
    // a whole on it, on every retry). A contact deleted after this read fails the page once; the retry sees it gone.
    const linked = await liveLinks(host, [...new Set(results.map((r) => objectKey(conn.id, r.customerId)))]);
    const entries: { contactId: string; event: TimelineEntry }[] = [];
    let held = 0;
    for (const { event, customerId, entry } of results) {
      const contactId = linked.get(objectKey(conn.id, customerId));
      if (contactId) entries.push({ contactId, event: entry });
      else {
        await holdTimelineEntry(host, conn.id, customerId, event.id, entry);
        held += 1;
      }
    }
    // The page's entries in one statement, not one each: a million events are ten thousand statements. An entry
    // recorded before (delivered live, or by a run that stopped before its checkpoint) counts for nothing.
    const recorded = await host.timeline.recordMany(entries);
    const last = page.data.at(-1)?.id;
    cursor = {
      ...cursor,
      after: last ?? cursor.after,
      done: !page.has_more || !last,
      listed: cursor.listed + page.data.length,
      recorded: cursor.recorded + recorded,
      held: cursor.held + held,
    };
    version += 1;
    await store.put(historyKey(conn.id), cursor, { version });
    if (cursor.done) break;
    if (historyFaults.failAfterPages > 0 && --historyFaults.failAfterPages === 0)
      throw new Error('injected failure after a history page');
    // Turned off or disconnected meanwhile: stop at this checkpoint.
    const latest = await host.settings<{ sync_enabled: boolean }>();
    if (!latest.sync_enabled || !(await getConnection(host, conn.id))) return;
  }
  if (cursor.listed > 0)
    host.log.info('stripe timeline history imported', {
      connection: conn.id,
      listed: cursor.listed,
      recorded: cursor.recorded,
      held: cursor.held,
    });
}
