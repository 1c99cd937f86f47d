import type { Db, Queryable } from '../../db/client.ts';
import type { JobContext, JobQueue } from '../../jobs/queue.ts';
import { newId } from '../../shared/ids.ts';
import { outboundError } from './errors.ts';
import { outboundRepository, type OutboundRow, type OutboundStats } from './repository.ts';

export const OUTBOUND_SEND_QUEUE = 'platform:outbound-send';
const PAGE = 500;

/** One page of a segment's members (ids), evaluated now; `next` resumes after the page. */
export type SegmentMemberPager = (
  db: Queryable,
  workspaceId: string,
  segmentId: string,
  after: string | null,
  limit: number,
) => Promise<{ ids: string[]; next: string | null }>;

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
 * The send job: walks the segment page by page, writing a delivery per member and the cursor in one transaction.
 * A job killed mid-way resumes from the last cursor; a page applied twice adds nothing (deliveries are unique).
 */
export function outboundSendHandler(db: Db, members: SegmentMemberPager) {
  return async (ctx: JobContext): Promise<void> => {
    const { id } = ctx.payload as { id: string };
    const msg = await getOutbound(db, ctx.workspaceId, id);
    if (msg.status === 'sent') return;
    let cursor = msg.cursor;
    for (;;) {
      if (ctx.signal.aborted) throw new Error('lease lost');
      const page = await members(db, ctx.workspaceId, msg.segment_id, cursor, PAGE);
      await db.transaction(async (tx) => {
        await outboundRepository.insertDeliveries(tx, ctx.workspaceId, id, page.ids);
        await outboundRepository.saveCursor(tx, ctx.workspaceId, id, page.next);
      });
      if (!page.next) break;
      cursor = page.next;
    }
    await outboundRepository.markSent(db, ctx.workspaceId, id);
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
