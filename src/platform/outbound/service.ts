import type { Db, Queryable } from '../../db/client.ts';
import type { JobContext, JobQueue } from '../../jobs/queue.ts';
import { AppError } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { ContactFilter } from '../search/compiler.ts';
import { outboundError } from './errors.ts';
import { outboundRepository, type OutboundRow, type OutboundStats } from './repository.ts';

export const OUTBOUND_SEND_QUEUE = 'platform:outbound-send';

/** What sending needs of the search module (its `segmentQuery` and `queryFilter`). */
export interface SegmentSource {
  /** The segment's query as stored; 404 `segment_not_found` if it was deleted. */
  query(db: Queryable, workspaceId: string, segmentId: string): Promise<unknown>;
  /** A query compiled now into a filter on contacts; a 400 with a path if it no longer fits the attributes. */
  filter(db: Queryable, workspaceId: string, query: unknown): Promise<ContactFilter>;
}

const unix = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);

export function toOutbound(row: OutboundRow, stats: OutboundStats) {
  return {
    type: 'outbound_message',
    id: row.id,
    segment_id: row.segment_id,
    title: row.title,
    body: row.body,
    status: row.status,
    created_at: unix(row.created_at),
    sent_at: unix(row.sent_at),
    finished_at: unix(row.finished_at),
    stopped_at: unix(row.stopped_at),
    stopped_by: row.stopped_by,
    error: row.error,
    stats,
  };
}

export async function getOutbound(db: Queryable, workspaceId: string, id: string): Promise<OutboundRow> {
  const row = await outboundRepository.get(db, workspaceId, id);
  if (!row) throw outboundError('outbound_not_found', `no outbound message ${id}`, 'id');
  return row;
}

/** Sending is a job: the message is marked and the job queued in one transaction, so neither happens alone. */
export async function sendOutbound(
  db: Db,
  jobs: JobQueue,
  segments: SegmentSource,
  workspaceId: string,
  id: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const msg = await getOutbound(tx, workspaceId, id);
    if (msg.status === 'sending' || msg.status === 'sent') {
      throw outboundError('already_sent', 'this message was sent already', 'id');
    }
    if (msg.status === 'stopped') {
      throw outboundError(
        'outbound_stopped',
        'this message was stopped; draft a new one to send it again',
        'id',
      );
    }
    // The segment's query goes with the message: editing or deleting the segment afterwards changes nothing. It
    // must compile now, so a segment that no longer fits the attributes is refused here, with its path.
    const query = await segments.query(tx, workspaceId, msg.segment_id);
    await segments.filter(tx, workspaceId, query);
    if (!(await outboundRepository.markSending(tx, workspaceId, id, query))) {
      throw outboundError('already_sent', 'this message was sent already', 'id');
    }
    // One send job per send: a failed message sent again gets a new job once the last one has finished.
    await jobs.enqueue(
      { workspaceId, queue: OUTBOUND_SEND_QUEUE, payload: { id }, dedupeKey: id, releaseKeyAfterMs: 0 },
      tx,
    );
  });
}

/**
 * Stops a sending or sent message: the messenger no longer shows it, and its counts stay as they are. A stop that
 * finds the send job taking its snapshot waits for that one statement; one that comes before it leaves the job
 * nothing to do. Stopping a stopped message answers it as it is.
 */
export async function stopOutbound(
  db: Queryable,
  workspaceId: string,
  id: string,
  stoppedBy: string | null,
): Promise<OutboundRow> {
  for (let attempt = 1; ; attempt++) {
    const stopped = await outboundRepository.markStopped(db, workspaceId, id, stoppedBy);
    if (stopped) return stopped;
    const msg = await getOutbound(db, workspaceId, id);
    if (msg.status === 'stopped') return msg;
    // Sent between the two statements: it can be stopped now.
    if ((msg.status === 'sending' || msg.status === 'sent') && attempt === 1) continue;
    throw outboundError(
      'not_sent',
      `only a sending or sent message can be stopped; this one is ${msg.status}${
        msg.status === 'failed' ? ' (nothing was delivered)' : ''
      }`,
      'id',
    );
  }
}

/**
 * The send job. The recipients are one snapshot of the segment: one INSERT … SELECT writes every member's
 * delivery, in the transaction that marks the message sent, so a contact is a recipient if and only if it was a
 * member when that statement ran, and the message appears to every recipient at once. A job killed before the
 * commit leaves nothing and its retry takes the snapshot again; a retry after the commit finds the message sent.
 * A message stopped before the transaction is left alone (markSent finds it stopped), however many runs follow.
 */
export function outboundSendHandler(db: Db, segments: SegmentSource) {
  return async (ctx: JobContext): Promise<void> => {
    const { id } = ctx.payload as { id: string };
    const msg = await getOutbound(db, ctx.workspaceId, id);
    if (msg.status !== 'sending') return;
    if (ctx.signal.aborted) throw new Error('lease lost');
    try {
      await db.transaction(async (tx) => {
        // The status change comes first: it locks the message row, so a second run of this job waits here and
        // then finds the message sent.
        if (!(await outboundRepository.markSent(tx, ctx.workspaceId, id))) return;
        // (A message sent before the query was copied onto messages reads its segment now.)
        const query = msg.segment_query ?? (await segments.query(tx, ctx.workspaceId, msg.segment_id));
        const members = await segments.filter(tx, ctx.workspaceId, query);
        await outboundRepository.insertDeliveries(tx, ctx.workspaceId, id, members);
      });
    } catch (err) {
      // A query that no longer compiles (an attribute it names was deleted) or a segment gone: no retry can send
      // it. The message says why, and can be sent again once fixed.
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await outboundRepository.markFailed(db, ctx.workspaceId, id, {
        code: err.code,
        message: err.message,
        ...(err.path ? { path: err.path } : {}),
      });
    }
  };
}

/**
 * The send job was given up (its attempts spent on errors a retry could fix, such as a database down longer than
 * the backoff): the message must not stay `sending` for ever. It ends `failed` with the last error, and can be
 * sent again.
 */
export function outboundSendGivenUp(db: Db) {
  return async (ctx: { workspaceId: string; payload: unknown; attempt: number }, error: string) => {
    const { id } = ctx.payload as { id: string };
    await outboundRepository.markFailed(db, ctx.workspaceId, id, {
      code: 'send_failed',
      message: `the send was given up after ${ctx.attempt} attempts (last error: ${error}); send the message again to retry`,
    });
  };
}

export async function createOutbound(
  db: Queryable,
  workspaceId: string,
  input: { segment_id: string; title: string; body: string },
  createdBy: string | null,
): Promise<OutboundRow> {
  return outboundRepository.insert(db, {
    workspace_id: workspaceId,
    id: newId(),
    ...input,
    created_by: createdBy,
  });
}
