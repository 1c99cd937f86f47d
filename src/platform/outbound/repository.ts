import type { Queryable } from '../../db/client.ts';
import type { ContactFilter } from '../search/compiler.ts';

export interface OutboundRow {
  workspace_id: string;
  id: string;
  segment_id: string;
  title: string;
  body: string;
  status: 'draft' | 'sending' | 'sent' | 'failed';
  /** The segment's query when the message was sent (null before; older sends read the segment). */
  segment_query: unknown;
  /** Why a `failed` send could not run. */
  error: { code: string; message: string; path?: string } | null;
  created_by: string | null;
  created_at: Date;
  sent_at: Date | null;
  finished_at: Date | null;
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
  /** The messages a contact has not opened yet; marks them delivered (the messenger is showing them now). */
  async takeForContact(db: Queryable, workspaceId: string, contactId: string) {
    const res = await db.query<{ id: string; title: string; body: string; sent_at: Date | null }>(
      `WITH shown AS (
         UPDATE outbound_deliveries SET delivered_at = COALESCE(delivered_at, now())
         WHERE workspace_id = $1 AND contact_id = $2 AND opened_at IS NULL
         RETURNING message_id)
       SELECT m.id, m.title, m.body, m.sent_at FROM outbound_messages m JOIN shown s ON s.message_id = m.id
       WHERE m.workspace_id = $1 ORDER BY m.sent_at, m.id`,
      [workspaceId, contactId],
    );
    return res.rows;
  },
  async markOpened(
    db: Queryable,
    workspaceId: string,
    messageId: string,
    contactId: string,
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE outbound_deliveries SET opened_at = COALESCE(opened_at, now()), delivered_at = COALESCE(delivered_at, now())
       WHERE workspace_id = $1 AND message_id = $2 AND contact_id = $3`,
      [workspaceId, messageId, contactId],
    );
    return res.rowCount > 0;
  },
};
