import type { Queryable } from '../../db/client.ts';
import { byCodeUnits } from '../../shared/order.ts';

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
  /**
   * `insert` for many rows in one statement, with the same rule: one row per idempotency key, a key already
   * recorded (or given twice: the first given wins) is skipped. Returns how many rows were new. A row whose contact
   * does not exist fails the statement (the contact's foreign key), and then nothing of it is written.
   */
  async insertMany(
    db: Queryable,
    workspaceId: string,
    rows: readonly Omit<ContactEventRow, 'workspace_id'>[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    // Key order (a stable sort: of equal keys the first given stays first). A key another caller has just inserted
    // makes this one wait for that caller's commit, so two callers taking overlapping keys in different orders
    // could each wait for the other (a deadlock). In one order, a caller only ever waits for keys above all it
    // holds, and no two wait for each other. Parallel columns zipped by ROWS FROM, the metadata as one JSON array
    // (as `recordRepository.putMany`: parsed once, no text[] escaping).
    const sorted = [...rows].sort((x, y) => byCodeUnits(x.idempotency_key ?? '', y.idempotency_key ?? ''));
    const res = await db.query(
      `INSERT INTO contact_events (workspace_id, id, contact_id, name, created_at, metadata, source, idempotency_key)
       SELECT $1, r.id, r.contact_id, r.name, r.created_at, r.metadata, r.source, r.idempotency_key
       FROM ROWS FROM (unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::timestamptz[]),
         jsonb_array_elements($6::jsonb), unnest($7::text[]), unnest($8::text[]))
         AS r(id, contact_id, name, created_at, metadata, source, idempotency_key)
       ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
      [
        workspaceId,
        sorted.map((r) => r.id),
        sorted.map((r) => r.contact_id),
        sorted.map((r) => r.name),
        sorted.map((r) => r.created_at.toISOString()),
        JSON.stringify(sorted.map((r) => r.metadata)),
        sorted.map((r) => r.source),
        sorted.map((r) => r.idempotency_key),
      ],
      { prepare: true },
    );
    return res.rowCount;
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
