import type { Queryable } from '../../db/client.ts';
import type { AttributeType } from './schemas.ts';

export interface AttributeDefinitionRow {
  workspace_id: string;
  name: string;
  type: AttributeType;
  label: string;
  description: string;
  source: string;
  declared_type: string | null;
  created_at: Date;
  archived_at: Date | null;
}

export const attributeRepository = {
  async list(db: Queryable, workspaceId: string): Promise<AttributeDefinitionRow[]> {
    const res = await db.query<AttributeDefinitionRow>(
      'SELECT * FROM attribute_definitions WHERE workspace_id = $1 ORDER BY source, name',
      [workspaceId],
    );
    return res.rows;
  },
  async get(db: Queryable, workspaceId: string, name: string): Promise<AttributeDefinitionRow | undefined> {
    const res = await db.query<AttributeDefinitionRow>(
      'SELECT * FROM attribute_definitions WHERE workspace_id = $1 AND name = $2',
      [workspaceId, name],
    );
    return res.rows[0];
  },
  async insert(
    db: Queryable,
    row: Pick<
      AttributeDefinitionRow,
      'workspace_id' | 'name' | 'type' | 'label' | 'description' | 'source' | 'declared_type'
    >,
  ): Promise<boolean> {
    const res = await db.query(
      `INSERT INTO attribute_definitions (workspace_id, name, type, label, description, source, declared_type)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace_id, name) DO NOTHING`,
      [row.workspace_id, row.name, row.type, row.label, row.description, row.source, row.declared_type],
    );
    return res.rowCount > 0;
  },
  /** The definition, locked until the transaction ends (a delete against a concurrent unarchive). */
  async getForUpdate(
    db: Queryable,
    workspaceId: string,
    name: string,
  ): Promise<AttributeDefinitionRow | undefined> {
    const res = await db.query<AttributeDefinitionRow>(
      'SELECT * FROM attribute_definitions WHERE workspace_id = $1 AND name = $2 FOR UPDATE',
      [workspaceId, name],
    );
    return res.rows[0];
  },
  /** Edits a teammates' definition; `archived` undefined leaves it as it is, and re-archiving keeps the first date. */
  async update(
    db: Queryable,
    workspaceId: string,
    name: string,
    patch: { label?: string | undefined; description?: string | undefined; archived?: boolean | undefined },
  ): Promise<AttributeDefinitionRow | undefined> {
    const res = await db.query<AttributeDefinitionRow>(
      `UPDATE attribute_definitions SET label = coalesce($3, label), description = coalesce($4, description),
         archived_at = CASE WHEN $5::boolean IS NULL THEN archived_at
                            WHEN $5::boolean THEN coalesce(archived_at, now()) END
       WHERE workspace_id = $1 AND name = $2 AND source = 'custom' RETURNING *`,
      [workspaceId, name, patch.label ?? null, patch.description ?? null, patch.archived ?? null],
    );
    return res.rows[0];
  },
  /** Removes one attribute's values from every contact of the workspace (archived contacts included). */
  async removeValues(db: Queryable, workspaceId: string, name: string): Promise<number> {
    const res = await db.query(
      'UPDATE contacts SET custom_attributes = custom_attributes - $2::text WHERE workspace_id = $1 AND custom_attributes ? $2::text',
      [workspaceId, name],
    );
    return res.rowCount;
  },
  /** Deletes an archived teammates' definition; an app's, or one unarchived meanwhile, stays. */
  async deleteArchived(db: Queryable, workspaceId: string, name: string): Promise<boolean> {
    const res = await db.query(
      `DELETE FROM attribute_definitions
       WHERE workspace_id = $1 AND name = $2 AND source = 'custom' AND archived_at IS NOT NULL`,
      [workspaceId, name],
    );
    return res.rowCount > 0;
  },
  /** Hands a teammate-made definition to an app (its values stay): only while it is still the teammates'. */
  async adopt(
    db: Queryable,
    row: Pick<
      AttributeDefinitionRow,
      'workspace_id' | 'name' | 'label' | 'description' | 'source' | 'declared_type'
    >,
  ): Promise<boolean> {
    const res = await db.query(
      // Unarchived too: an app's attributes are never archived, and the app must be able to write it.
      `UPDATE attribute_definitions SET source = $3, label = $4, description = $5, declared_type = $6,
         archived_at = NULL
       WHERE workspace_id = $1 AND name = $2 AND source = 'custom'`,
      [row.workspace_id, row.name, row.source, row.label, row.description, row.declared_type],
    );
    return res.rowCount > 0;
  },
};
