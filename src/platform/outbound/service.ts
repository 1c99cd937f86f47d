import type { Db, Queryable } from '../../db/client.ts';
import type { JobContext, JobQueue } from '../../jobs/queue.ts';
import { newId } from '../../shared/ids.ts';
import type { ContactFilter } from '../search/compiler.ts';
import { outboundError } from './errors.ts';
import { outboundRepository, type OutboundRow, type OutboundStats } from './repository.ts';

export const OUTBOUND_SEND_QUEUE = 'platform:outbound-send';

/** The contacts a segment matches now, as a filter (the search module's `segmentFilter`). */
export type SegmentFilter = (db: Queryable, workspaceId: string, segmentId: string) => Promise<ContactFilter>;

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
    stats,
  };
}

export async function getOutbound(db: Queryable, workspaceId: string, id: string): Promise<OutboundRow> {
  const row = await outboundRepository.get(db, workspaceId, id);
  if (!row) throw outboundError('outbound_not_found', `no outbound message ${id}`, 'id');
  return row;
}

/** Sending is a job: the message is marked and the job queued in one transaction, so neither happens alone. */
export async function sendOutbound(db: Db, jobs: JobQueue, workspaceId: string, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await getOutbound(tx, workspaceId, id);
    if (!(await outboundRepository.markSending(tx, workspaceId, id))) {
      throw outboundError('already_sent', 'this message was sent already', 'id');
    }
    await jobs.enqueue({ workspaceId, queue: OUTBOUND_SEND_QUEUE, payload: { id }, dedupeKey: id }, tx);
  });
}

/**
 * The send job. The recipients are one snapshot of the segment: one INSERT … SELECT writes every member's
 * delivery, in the transaction that marks the message sent, so a contact is a recipient if and only if it was a
 * member when that statement ran, and the message appears to every recipient at once. A job killed before the
 * commit leaves nothing and its retry takes the snapshot again; a retry after the commit finds the message sent.
 */
export function outboundSendHandler(db: Db, segmentFilter: SegmentFilter) {
  return async (ctx: JobContext): Promise<void> => {
    const { id } = ctx.payload as { id: string };
    const msg = await getOutbound(db, ctx.workspaceId, id);
    if (msg.status !== 'sending') return;
    if (ctx.signal.aborted) throw new Error('lease lost');
    await db.transaction(async (tx) => {
      // The status change comes first: it locks the message row, so a second run of this job waits here and
      // then finds the message sent.
      if (!(await outboundRepository.markSent(tx, ctx.workspaceId, id))) return;
      const members = await segmentFilter(tx, ctx.workspaceId, msg.segment_id);
      await outboundRepository.insertDeliveries(tx, ctx.workspaceId, id, members);
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
