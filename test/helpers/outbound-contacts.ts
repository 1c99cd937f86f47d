// The bulk contacts of the outbound tests: a large "Pro users" segment and a few others, written in one statement.
import type { Db, Queryable } from '../../src/db/client.ts';
import { JobQueue } from '../../src/jobs/queue.ts';
import { createAttribute } from '../../src/platform/attributes/service.ts';
import { createOutbound, sendOutbound } from '../../src/platform/outbound/service.ts';
import { createSegment, segmentSource } from '../../src/platform/search/service.ts';

export const MEMBERS = Number(process.env.OUTBOUND_MEMBERS ?? 10_000);
export const OTHERS = 500;
export const PRO_USERS = { field: 'custom_attributes.plan', operator: '=', value: 'Pro' } as const;

/** `MEMBERS` users with plan=Pro (`bulk000001`…) and `OTHERS` with plan=Free after them, in bulk. */
export async function insertContacts(db: Queryable, workspaceId: string): Promise<void> {
  await db.query(
    `INSERT INTO contacts (workspace_id, id, role, email, email_normalized, custom_attributes, created_at)
     SELECT $1, 'bulk' || lpad(g::text, 6, '0'), 'user', 'm' || g || '@example.com', 'm' || g || '@example.com',
            jsonb_build_object('plan', CASE WHEN g <= $2::int THEN 'Pro' ELSE 'Free' END),
            now() - make_interval(secs => g)
     FROM generate_series(1, $2::int + $3::int) AS g`,
    [workspaceId, MEMBERS, OTHERS],
  );
}

export const bulkId = (n: number) => `bulk${String(n).padStart(6, '0')}`;

export async function proContactIds(db: Queryable, workspaceId: string): Promise<string[]> {
  const res = await db.query<{ id: string }>(
    `SELECT id FROM contacts WHERE workspace_id = $1 AND custom_attributes->>'plan' = 'Pro' ORDER BY id`,
    [workspaceId],
  );
  return res.rows.map((r) => r.id);
}

/** Every delivery of the message: contact ids in order, with duplicates if there were any. */
export async function deliveredTo(db: Queryable, workspaceId: string, messageId: string): Promise<string[]> {
  const res = await db.query<{ contact_id: string }>(
    `SELECT contact_id FROM outbound_deliveries WHERE workspace_id = $1 AND message_id = $2 ORDER BY contact_id`,
    [workspaceId, messageId],
  );
  return res.rows.map((r) => r.contact_id);
}

/**
 * A workspace with the bulk contacts, the "Pro users" segment and a message to it whose send job is queued, not
 * run: what the tests that kill the job's worker start from. Answers the message id.
 */
export async function queueProSend(
  db: Db,
  workspaceId: string,
  message: { title: string; body: string },
): Promise<string> {
  await createAttribute(db, workspaceId, { name: 'plan', data_type: 'string' });
  await insertContacts(db, workspaceId);
  const segment = await createSegment(db, workspaceId, { name: 'Pro users', query: PRO_USERS });
  const msg = await createOutbound(db, workspaceId, { segment_id: segment.id, ...message }, null);
  await sendOutbound(db, new JobQueue(db), segmentSource, workspaceId, msg.id);
  return msg.id;
}
