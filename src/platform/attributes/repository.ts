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
  /** Hands a teammate-made definition to an app (its values stay): only while it is still the teammates'. */
  async adopt(
    db: Queryable,
    row: Pick<
      AttributeDefinitionRow,
      'workspace_id' | 'name' | 'label' | 'description' | 'source' | 'declared_type'
    >,
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE attribute_definitions SET source = $3, label = $4, description = $5, declared_type = $6
       WHERE workspace_id = $1 AND name = $2 AND source = 'custom'`,
      [row.workspace_id, row.name, row.source, row.label, row.description, row.declared_type],
    );
    return res.rowCount > 0;
  },
};
