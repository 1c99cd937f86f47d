import type { Queryable } from '../../db/client.ts';
import type { ContactFilter } from '../search/compiler.ts';

export type OutboundStatus = 'draft' | 'sending' | 'sent' | 'failed' | 'stopped';

export interface OutboundRow {
  workspace_id: string;
  id: string;
  segment_id: string;
  title: string;
  body: string;
  status: OutboundStatus;
  /** The segment's query when the message was sent (null before; older sends read the segment). */
  segment_query: unknown;
  /** Why a `failed` send could not run. */
  error: { code: string; message: string; path?: string } | null;
  created_by: string | null;
  created_at: Date;
  sent_at: Date | null;
  finished_at: Date | null;
  stopped_at: Date | null;
  /** The teammate who stopped it (null for an API token). */
  stopped_by: string | null;
}

export interface OutboundStats {
  sent: number;
  delivered: number;
  opened: number;
}

export const outboundRepository = {
  async insert(
    db: Queryable,
    row: Pick<OutboundRow, 'workspace_id' | 'id' | 'segment_id' | 'title' | 'body' | 'created_by'>,
  ) {
    const res = await db.query<OutboundRow>(
      `INSERT INTO outbound_messages (workspace_id, id, segment_id, title, body, created_by) VALUES ($1,$2,$3,$4,$5,$6) RETURNING *`,
      [row.workspace_id, row.id, row.segment_id, row.title, row.body, row.created_by],
    );
    return res.rows[0] as OutboundRow;
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<OutboundRow | undefined> {
    const res = await db.query<OutboundRow>(
      'SELECT * FROM outbound_messages WHERE workspace_id = $1 AND id = $2',
      [workspaceId, id],
    );
    return res.rows[0];
  },
  async list(db: Queryable, workspaceId: string, limit: number): Promise<OutboundRow[]> {
    const res = await db.query<OutboundRow>(
      'SELECT * FROM outbound_messages WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
      [workspaceId, limit],
    );
    return res.rows;
  },
  /** draft (or failed) → sending, once: a second send of the same message is refused by the WHERE. */
  async markSending(db: Queryable, workspaceId: string, id: string, query: unknown): Promise<boolean> {
    const res = await db.query(
      `UPDATE outbound_messages SET status = 'sending', sent_at = now(), segment_query = $3, error = NULL
       WHERE workspace_id = $1 AND id = $2 AND status IN ('draft', 'failed')`,
      [workspaceId, id, JSON.stringify(query)],
    );
    return res.rowCount > 0;
  },
  /** sending → failed, with the reason: nothing was delivered. */
  async markFailed(
    db: Queryable,
    workspaceId: string,
    id: string,
    error: { code: string; message: string; path?: string },
  ): Promise<void> {
    await db.query(
      `UPDATE outbound_messages SET status = 'failed', error = $3, finished_at = now()
       WHERE workspace_id = $1 AND id = $2 AND status = 'sending'`,
      [workspaceId, id, JSON.stringify(error)],
    );
  },
  /**
   * sending → sent: the status change that records the recipients' snapshot, made in the snapshot's transaction.
   * It locks the message row, so two runs of the send job take turns and the second finds nothing to do.
   */
  async markSent(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query(
      `UPDATE outbound_messages SET status = 'sent', finished_at = now() WHERE workspace_id = $1 AND id = $2 AND status = 'sending'`,
      [workspaceId, id],
    );
    return res.rowCount > 0;
  },
  /**
   * sending|sent → stopped. It waits for the row's lock, so it comes strictly before or after the send job's
   * snapshot transaction (which takes that lock first) and before or after any messenger request reading the message
   * (they share-lock it): whichever way, nothing changes the message's deliveries once the stop has committed.
   */
  async markStopped(
    db: Queryable,
    workspaceId: string,
    id: string,
    stoppedBy: string | null,
  ): Promise<OutboundRow | undefined> {
    const res = await db.query<OutboundRow>(
      `UPDATE outbound_messages SET status = 'stopped', stopped_at = now(), stopped_by = $3
       WHERE workspace_id = $1 AND id = $2 AND status IN ('sending', 'sent') RETURNING *`,
      [workspaceId, id, stoppedBy],
    );
    return res.rows[0];
  },
  /**
   * A delivery for every contact `members` matches, in one statement: one snapshot of the segment, whatever joins
   * or leaves it meanwhile. Contacts that already have one are skipped.
   */
  async insertDeliveries(
    db: Queryable,
    workspaceId: string,
    messageId: string,
    members: ContactFilter,
  ): Promise<number> {
    // The filter's `$1` is its workspace: it must be this one, or the statement would read another tenant.
    if (members.workspaceId !== workspaceId || members.params[0] !== workspaceId) {
      throw new Error('outbound: the members filter belongs to another workspace');
    }
    const res = await db.query(
      `INSERT INTO outbound_deliveries (workspace_id, message_id, contact_id)
       SELECT workspace_id, $${members.params.length + 1}::text, id FROM contacts WHERE ${members.where}
       ON CONFLICT DO NOTHING`,
      [...members.params, messageId],
    );
    return res.rowCount;
  },
  async stats(db: Queryable, workspaceId: string, messageId: string): Promise<OutboundStats> {
    const res = await db.query<OutboundStats>(
      `SELECT count(*)::int AS sent, count(delivered_at)::int AS delivered, count(opened_at)::int AS opened
       FROM outbound_deliveries WHERE workspace_id = $1 AND message_id = $2`,
      [workspaceId, messageId],
    );
    return res.rows[0] ?? { sent: 0, delivered: 0, opened: 0 };
  },
  /**
   * The sent messages a contact has not opened yet; marks the new ones delivered (the messenger is showing them
   * now). Only a first showing changes a count, so only it share-locks its message: a stop committed meanwhile is
   * waited for and then seen (the message is left out), and a stop waits for it, so a stopped message's counts never
   * move again and no one sees it for the first time after the stop returns. A message shown before is read without
   * a lock or a write: every page view of a member with an unopened message would otherwise write (WAL, a flush, a
   * MultiXact on the shared message row; docs/benchmarks.md, "Outbound messages"). Such a read racing a stop may
   * show it once more to someone who has seen it.
   */
  async takeForContact(db: Queryable, workspaceId: string, contactId: string) {
    const res = await db.query<{ id: string; title: string; body: string; sent_at: Date | null }>(
      `WITH pending AS (
         SELECT message_id, delivered_at IS NULL AS fresh FROM outbound_deliveries
         WHERE workspace_id = $1 AND contact_id = $2 AND opened_at IS NULL),
       live AS (
         SELECT m.id FROM outbound_messages m
         WHERE m.workspace_id = $1 AND m.status = 'sent' AND m.id IN (SELECT message_id FROM pending WHERE fresh)
         FOR SHARE OF m),
       shown AS (
         UPDATE outbound_deliveries d SET delivered_at = now()
         FROM live WHERE d.workspace_id = $1 AND d.contact_id = $2 AND d.message_id = live.id
           AND d.delivered_at IS NULL AND d.opened_at IS NULL
         RETURNING d.message_id)
       SELECT m.id, m.title, m.body, m.sent_at FROM outbound_messages m
       WHERE m.workspace_id = $1
         AND (m.id IN (SELECT id FROM live)
              OR (m.status = 'sent' AND m.id IN (SELECT message_id FROM pending WHERE NOT fresh)))
       ORDER BY m.sent_at, m.id`,
      [workspaceId, contactId],
    );
    return res.rows;
  },
  /** Records the open of a sent message (share-locked, as in `takeForContact`); false if there is none to open. */
  async markOpened(
    db: Queryable,
    workspaceId: string,
    messageId: string,
    contactId: string,
  ): Promise<boolean> {
    const res = await db.query(
      `WITH live AS (
         SELECT id FROM outbound_messages WHERE workspace_id = $1 AND id = $2 AND status = 'sent' FOR SHARE)
       UPDATE outbound_deliveries d
       SET opened_at = COALESCE(d.opened_at, now()), delivered_at = COALESCE(d.delivered_at, now())
       FROM live WHERE d.workspace_id = $1 AND d.message_id = live.id AND d.contact_id = $3`,
      [workspaceId, messageId, contactId],
    );
    return res.rowCount > 0;
  },
  /** The status of a message the contact has a delivery of (undefined if it has none): why an open was refused. */
  async deliveredStatus(
    db: Queryable,
    workspaceId: string,
    messageId: string,
    contactId: string,
  ): Promise<OutboundStatus | undefined> {
    const res = await db.query<{ status: OutboundStatus }>(
      `SELECT m.status FROM outbound_messages m
       JOIN outbound_deliveries d ON d.workspace_id = m.workspace_id AND d.message_id = m.id
       WHERE m.workspace_id = $1 AND m.id = $2 AND d.contact_id = $3`,
      [workspaceId, messageId, contactId],
    );
    return res.rows[0]?.status;
  },
};
