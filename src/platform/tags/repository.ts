import type { Queryable } from '../../db/client.ts';

export interface TagRow {
  workspace_id: string;
  id: string;
  name: string;
  created_at: Date;
}

export const tagRepository = {
  /** Intercom's "create or update": a name that exists (case-insensitively) returns the existing tag. */
  async upsertByName(db: Queryable, workspaceId: string, id: string, name: string): Promise<TagRow> {
    await db.query(
      `INSERT INTO tags (workspace_id, id, name) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, lower(name)) DO NOTHING`,
      [workspaceId, id, name],
    );
    const res = await db.query<TagRow>(
      'SELECT * FROM tags WHERE workspace_id = $1 AND lower(name) = lower($2)',
      [workspaceId, name],
    );
    return res.rows[0] as TagRow;
  },
  async rename(db: Queryable, workspaceId: string, id: string, name: string): Promise<TagRow | undefined> {
    const res = await db.query<TagRow>(
      'UPDATE tags SET name = $3 WHERE workspace_id = $1 AND id = $2 RETURNING *',
      [workspaceId, id, name],
    );
    return res.rows[0];
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<TagRow | undefined> {
    const res = await db.query<TagRow>('SELECT * FROM tags WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ]);
    return res.rows[0];
  },
  async list(db: Queryable, workspaceId: string): Promise<TagRow[]> {
    const res = await db.query<TagRow>('SELECT * FROM tags WHERE workspace_id = $1 ORDER BY lower(name)', [
      workspaceId,
    ]);
    return res.rows;
  },
  async delete(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query('DELETE FROM tags WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return res.rowCount > 0;
  },
  async tagContact(db: Queryable, workspaceId: string, contactId: string, tagId: string): Promise<void> {
    await db.query(
      `INSERT INTO contact_tags (workspace_id, contact_id, tag_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [workspaceId, contactId, tagId],
    );
  },
  async untagContact(db: Queryable, workspaceId: string, contactId: string, tagId: string): Promise<boolean> {
    const res = await db.query(
      'DELETE FROM contact_tags WHERE workspace_id = $1 AND contact_id = $2 AND tag_id = $3',
      [workspaceId, contactId, tagId],
    );
    return res.rowCount > 0;
  },
  /** Tags of many contacts in one query, for lists. */
  async forContacts(
    db: Queryable,
    workspaceId: string,
    contactIds: readonly string[],
  ): Promise<Map<string, TagRow[]>> {
    const out = new Map<string, TagRow[]>();
    if (contactIds.length === 0) return out;
    const res = await db.query<TagRow & { contact_id: string }>(
      `SELECT ct.contact_id, t.* FROM contact_tags ct JOIN tags t ON t.workspace_id = ct.workspace_id AND t.id = ct.tag_id
       WHERE ct.workspace_id = $1 AND ct.contact_id = ANY($2::text[]) ORDER BY lower(t.name)`,
      [workspaceId, contactIds],
    );
    for (const r of res.rows) {
      const list = out.get(r.contact_id) ?? [];
      list.push({ workspace_id: r.workspace_id, id: r.id, name: r.name, created_at: r.created_at });
      out.set(r.contact_id, list);
    }
    return out;
  },
};
