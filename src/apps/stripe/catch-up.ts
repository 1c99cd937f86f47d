/**
 * Catch-up from `/v1/events` (DESIGN.md §3.5 "Live"): webhooks can be lost for good (Settle down longer than
 * Stripe's retries, an endpoint that was unreachable, a misconfigured proxy). A periodic `catch_up` job per
 * connection lists the events created since the last one it saw, minus an overlap, and enqueues each as an
 * `apply_event` job under the same dedupe key the webhook uses: an event that already arrived adds nothing, one
 * that never did is applied once. The cursor (the newest `created` seen, in Stripe's clock) is checkpointed after
 * every run.
 *
 * Scheduling: runs are numbered by time slot (`floor(now / interval)`), and the dedupe key holds the slot, so any
 * number of processes asking for "the current run" make one job. Each run schedules the next slot before it
 * works, so the chain survives a worker killed mid-run; a run that comes due while Settle is down runs as soon as
 * a worker starts (the job is overdue), which is the catch-up "on start". A finished backfill starts the chain
 * (so a connection whose webhooks never reach Settle is still kept in step), and every `apply_event` makes sure
 * the current slot's run exists too (once per process and slot). While sync is off the chain keeps going without
 * listing, so turning sync back on needs nothing else to restart it.
 */
import type Stripe from 'stripe';
import type { AppHost } from '../../app-sdk/index.ts';
import { clientFor, getConnection, WEBHOOK_EVENTS } from './connections.ts';
import { ensureTimelineHistory } from './timeline-history.ts';

/** Stripe keeps events 30 days; the cursor must not point before that or the list answers nothing useful. */
const RETENTION_SECONDS = 30 * 86_400;
/** Events created within this many seconds before the cursor are listed again: one second can hold events still being written when the last run listed it. */
export const CATCH_UP_OVERLAP_SECONDS = 30;
export const DEFAULT_CATCH_UP_INTERVAL_SECONDS = 300;

export interface EventCursor {
  /** The newest event `created` seen (Stripe's clock). */
  created: number;
  /** Local time of the last finished run (unix ms). */
  ran_at: number;
  /** Events the last run listed / newly enqueued (for the status view and tests). */
  listed: number;
  enqueued: number;
}

const cursorKey = (connectionId: string) => `events:${connectionId}`;
const wanted = new Set<string>(WEBHOOK_EVENTS);

async function intervalMs(host: AppHost): Promise<number> {
  const s = await host.settings<{ catch_up_interval_seconds?: number }>();
  return Math.max(1, s.catch_up_interval_seconds ?? DEFAULT_CATCH_UP_INTERVAL_SECONDS) * 1000;
}

const ensured = new Map<string, number>();

/** Makes sure the current time slot's run exists (cheap after the first call per process and slot). */
export async function ensureCatchUp(
  host: AppHost,
  connectionId: string,
  intervalSeconds?: number,
): Promise<void> {
  const every = intervalSeconds === undefined ? await intervalMs(host) : Math.max(1, intervalSeconds) * 1000;
  const slot = Math.floor(Date.now() / every);
  const memo = `${host.workspaceId}:${connectionId}`;
  if (ensured.get(memo) === slot) return;
  await host.jobs.enqueue(
    'catch_up',
    { connectionId, slot },
    { dedupeKey: `catchup:${connectionId}:${slot}` },
  );
  ensured.set(memo, slot);
}

const eventCursors = (host: AppHost) => host.records<EventCursor>('event_cursors');

export async function readEventCursor(host: AppHost, connectionId: string) {
  const rec = await eventCursors(host).get(cursorKey(connectionId));
  return rec && !rec.deleted ? rec : undefined;
}

export interface CatchUpPayload {
  connectionId: string;
  slot: number;
}

/**
 * The `catch_up` job. It enqueues the run after it before it works (a worker killed mid-run leaves the chain
 * whole); a disconnected connection ends the chain, and while sync is off a run only keeps the chain going.
 */
export async function runCatchUp(host: AppHost, payload: CatchUpPayload) {
  const conn = await getConnection(host, payload.connectionId);
  if (!conn) return;
  const settings = await host.settings<{ sync_enabled: boolean; catch_up_interval_seconds?: number }>();
  const every = Math.max(1, settings.catch_up_interval_seconds ?? DEFAULT_CATCH_UP_INTERVAL_SECONDS) * 1000;
  const next = Math.max(payload.slot + 1, Math.floor(Date.now() / every) + 1);
  await host.jobs.enqueue(
    'catch_up',
    { connectionId: conn.id, slot: next },
    { dedupeKey: `catchup:${conn.id}:${next}`, runAt: new Date(next * every) },
  );
  if (!settings.sync_enabled) return;
  // The first run comes when the backfill is done: the history before the connection can be imported then.
  await ensureTimelineHistory(host, conn.id);

  const rec = await readEventCursor(host, conn.id);
  const handle = await clientFor(host, conn);
  const listedAt = Date.now();
  // Before the first run, the backfill covers what happened before the connection: start from it.
  const since = rec
    ? rec.data.created - CATCH_UP_OVERLAP_SECONDS
    : conn.created_at - CATCH_UP_OVERLAP_SECONDS;
  const floor = Math.floor(listedAt / 1000) - RETENTION_SECONDS;
  const events: Stripe.Event[] = [];
  // Newest first, as Stripe lists them; collected whole, then enqueued oldest first. Page by page through the
  // account's request budget, each page retried on a 429 or 5xx: after a long downtime this listing is many pages,
  // and it must leave the merchant's share of the rate limit alone like every other call.
  for (let after: string | undefined; ;) {
    const page = await handle.call('events', (s) =>
      s.events.list({
        created: { gte: Math.max(since, floor) },
        limit: 100,
        ...(after ? { starting_after: after } : {}),
      }),
    );
    for (const e of page.data) if (wanted.has(e.type)) events.push(e);
    after = page.data.at(-1)?.id;
    if (!page.has_more || !after) break;
  }
  events.sort((a, b) => a.created - b.created);
  // What Settle knew by the end of the listing: an event listed was created before its page came back, so a copy
  // fetched after this holds its change. The start of the listing would be too early: an event created while the
  // pages were being fetched would count as known before it happened, and a copy fetched in between would be taken
  // for fresh enough to skip the refetch (apply.ts, coalescing).
  const receivedAt = Date.now();
  let enqueued = 0;
  let newest = rec?.data.created ?? 0;
  for (const event of events) {
    const { created } = await host.jobs.enqueue(
      'apply_event',
      { connectionId: conn.id, event, receivedAt },
      { dedupeKey: `event:${conn.id}:${event.id}` },
    );
    if (created) enqueued += 1;
    newest = Math.max(newest, event.created);
  }
  const cursor: EventCursor = {
    created: newest || (rec?.data.created ?? conn.created_at),
    ran_at: Date.now(),
    listed: events.length,
    enqueued,
  };
  await eventCursors(host).put(cursorKey(conn.id), cursor, { version: (rec?.version ?? 0) + 1 });
  if (enqueued > 0)
    host.log.info('stripe catch-up enqueued missed events', { connection: conn.id, enqueued });
}
