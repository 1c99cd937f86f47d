/** Test and benchmark data: contacts inserted directly, in bulk, bypassing the contacts module. */
import type { Queryable } from '../../db/client.ts';
import { normalizeEmail } from './compiler.ts';
import type { AttributeType } from './expressions.ts';
import { ensureAttributeIndexes } from './repository.ts';

export interface FixtureContact {
  id: string;
  role?: 'user' | 'lead';
  external_id?: string | null;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  custom_attributes?: Record<string, unknown>;
  /** Unix seconds, fractions allowed (PostgreSQL keeps microseconds). */
  created_at?: number;
  updated_at?: number;
  last_seen_at?: number | null;
  archived?: boolean;
}

export async function insertWorkspace(db: Queryable, id: string): Promise<void> {
  await db.query(`INSERT INTO workspaces (id, name, app_id, messenger_secret) VALUES ($1, $1, $2, 'x')`, [
    id,
    `app_${id}`,
  ]);
}

export async function defineAttributes(
  db: Queryable,
  workspaceId: string,
  attrs: Record<string, AttributeType>,
  opts: { indexes?: boolean } = {},
): Promise<void> {
  for (const [name, type] of Object.entries(attrs)) {
    await db.query(
      `INSERT INTO attribute_definitions (workspace_id, name, type, label) VALUES ($1, $2, $3, $2)`,
      [workspaceId, name, type],
    );
    if (opts.indexes !== false)
      await ensureAttributeIndexes(db, workspaceId, name, type, { concurrently: false });
  }
}

/** One statement per 2,000 contacts: the rows travel as a single JSON parameter. */
export async function insertContacts(
  db: Queryable,
  workspaceId: string,
  contacts: FixtureContact[],
): Promise<void> {
  for (let i = 0; i < contacts.length; i += 2000) {
    const chunk = contacts.slice(i, i + 2000).map((c) => ({
      id: c.id,
      role: c.role ?? 'user',
      external_id: c.external_id ?? null,
      email: c.email ?? null,
      email_normalized: c.email == null ? null : normalizeEmail(c.email),
      name: c.name ?? null,
      phone: c.phone ?? null,
      custom_attributes: c.custom_attributes ?? {},
      created_at: c.created_at ?? 1_700_000_000,
      updated_at: c.updated_at ?? c.created_at ?? 1_700_000_000,
      last_seen_at: c.last_seen_at ?? null,
      archived: c.archived ?? false,
    }));
    await db.query(
      `INSERT INTO contacts (workspace_id, id, role, external_id, email, email_normalized, name, phone,
         custom_attributes, created_at, updated_at, last_seen_at, archived_at)
       SELECT $1, x.id, x.role, x.external_id, x.email, x.email_normalized, x.name, x.phone, x.custom_attributes,
         to_timestamp(x.created_at), to_timestamp(x.updated_at), to_timestamp(x.last_seen_at),
         CASE WHEN x.archived THEN now() END
       FROM jsonb_to_recordset($2::jsonb) AS x(id text, role text, external_id text, email text,
         email_normalized text, name text, phone text, custom_attributes jsonb, created_at float8,
         updated_at float8, last_seen_at float8, archived boolean)`,
      [workspaceId, JSON.stringify(chunk)],
    );
  }
}
