import type { Queryable } from '../../db/client.ts';

export interface ContactEventRow {
  workspace_id: string;
  id: string;
  contact_id: string;
  name: string;
  created_at: Date;
  metadata: Record<string, unknown>;
  source: string;
  idempotency_key: string | null;
}

export const eventRepository = {
  /** Returns false when an event with the same idempotency key was recorded before. */
  async insert(
    db: Queryable,
    row: Omit<ContactEventRow, 'workspace_id'> & { workspace_id: string },
  ): Promise<boolean> {
    const res = await db.query(
      `INSERT INTO contact_events (workspace_id, id, contact_id, name, created_at, metadata, source, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
      [
        row.workspace_id,
        row.id,
        row.contact_id,
        row.name,
        row.created_at,
        JSON.stringify(row.metadata),
        row.source,
        row.idempotency_key,
      ],
    );
    return res.rowCount > 0;
  },
  async listForContact(
    db: Queryable,
    workspaceId: string,
    contactId: string,
    limit: number,
  ): Promise<ContactEventRow[]> {
    const res = await db.query<ContactEventRow>(
      `SELECT * FROM contact_events WHERE workspace_id = $1 AND contact_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
      [workspaceId, contactId, limit],
    );
    return res.rows;
  },
};
