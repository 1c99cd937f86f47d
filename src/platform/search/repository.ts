/** The search module's only SQL-executing file. Every statement is scoped by workspace_id. */
import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../../db/client.ts';
import { buildPageQueries, type CompiledSearch, type Keyset } from './compiler.ts';
import { countQuery } from './count-compiler.ts';
import type { MembershipStatement } from './membership-compiler.ts';
import { attributeIndexSpecs, type AttributeType } from './expressions.ts';
import type { QueryNode } from './schemas.ts';

export interface ContactRow {
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  name: string | null;
  phone: string | null;
  custom_attributes: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  last_seen_at: Date | null;
  sort_key: string | null;
}

export interface SegmentRow {
  workspace_id: string;
  id: string;
  name: string;
  query: QueryNode;
  created_at: Date;
  updated_at: Date;
}

export const searchRepository = {
  async attributeTypes(
    db: Queryable,
    workspaceId: string,
    names: string[],
  ): Promise<Map<string, AttributeType>> {
    if (names.length === 0) return new Map();
    const res = await db.query<{ name: string; type: AttributeType }>(
      `SELECT name, type FROM attribute_definitions WHERE workspace_id = $1 AND name = ANY($2::text[])`,
      [workspaceId, names],
    );
    return new Map(res.rows.map((r) => [r.name, r.type]));
  },

  async count(db: Queryable, c: CompiledSearch): Promise<number> {
    const q = countQuery(c);
    const res = await db.query<{ n: number }>(q.sql, q.params);
    return res.rows[0]?.n ?? 0;
  },

  /** Up to `limit` rows after the keyset, in sort order. */
  async page(db: Queryable, c: CompiledSearch, after: Keyset | null, limit: number): Promise<ContactRow[]> {
    const rows: ContactRow[] = [];
    for (const q of buildPageQueries(c, after, limit)) {
      // Only the last parameter (the limit) changes between the parts.
      const params = [...q.params.slice(0, -1), limit - rows.length];
      const res = await db.query<ContactRow>(q.sql, params);
      rows.push(...res.rows);
      if (rows.length >= limit) break;
    }
    return rows;
  },
};

export const segmentRepository = {
  async list(db: Queryable, workspaceId: string): Promise<SegmentRow[]> {
    const res = await db.query<SegmentRow>(
      `SELECT * FROM segments WHERE workspace_id = $1 ORDER BY created_at, id`,
      [workspaceId],
    );
    return res.rows;
  },

  async get(db: Queryable, workspaceId: string, id: string): Promise<SegmentRow | undefined> {
    const res = await db.query<SegmentRow>(`SELECT * FROM segments WHERE workspace_id = $1 AND id = $2`, [
      workspaceId,
      id,
    ]);
    return res.rows[0];
  },

  async nameTaken(db: Queryable, workspaceId: string, name: string, exceptId?: string): Promise<boolean> {
    const res = await db.query(
      `SELECT 1 FROM segments WHERE workspace_id = $1 AND lower(name) = lower($2) AND id IS DISTINCT FROM $3`,
      [workspaceId, name, exceptId ?? null],
    );
    return res.rows.length > 0;
  },

  async insert(
    db: Queryable,
    row: Pick<SegmentRow, 'workspace_id' | 'id' | 'name' | 'query'>,
  ): Promise<void> {
    await db.query(`INSERT INTO segments (workspace_id, id, name, query) VALUES ($1, $2, $3, $4::jsonb)`, [
      row.workspace_id,
      row.id,
      row.name,
      JSON.stringify(row.query),
    ]);
  },

  async update(
    db: Queryable,
    workspaceId: string,
    id: string,
    patch: { name?: string | undefined; query?: QueryNode | undefined },
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE segments SET name = coalesce($3, name), query = coalesce($4::jsonb, query), updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, patch.name ?? null, patch.query === undefined ? null : JSON.stringify(patch.query)],
    );
    return res.rowCount > 0;
  },

  async delete(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query(`DELETE FROM segments WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
    return res.rowCount > 0;
  },

  /**
   * The keys of the queries one contact matches (membership-compiler.ts); null when the contact does not exist.
   * Each statement is scoped by its `$1`, which must be this workspace.
   */
  async membership(
    db: Queryable,
    workspaceId: string,
    statements: readonly MembershipStatement[],
  ): Promise<Set<string> | null> {
    const member = new Set<string>();
    for (const s of statements) {
      if (s.params[0] !== workspaceId) throw new Error('membership statement built for another workspace');
      const res = await db.query<{ hits: boolean[] }>(s.sql, s.params);
      const row = res.rows[0];
      if (!row) return null;
      s.keys.forEach((key, i) => {
        if (row.hits[i] === true) member.add(key);
      });
    }
    return member;
  },
};

/** Index names are per table, not per workspace: one index per attribute name (hashed: names are free text). */
export function attributeIndexName(name: string, suffix: string): string {
  return `contacts_ca_${suffix}_${createHash('sha256').update(name).digest('hex').slice(0, 24)}`;
}

export interface EnsureIndexOptions {
  /**
   * Build without blocking writes (PostgreSQL only; impossible inside a transaction). Defaults to true when
   * `db` is a PostgreSQL pool rather than a transaction.
   */
  concurrently?: boolean;
}

/**
 * Creates the expression indexes that make searches on this attribute fast. Idempotent and shared by every
 * workspace using the name; the attributes module calls it when a definition is created.
 */
export async function ensureAttributeIndexes(
  db: Queryable | Db,
  _workspaceId: string,
  name: string,
  type: AttributeType,
  opts: EnsureIndexOptions = {},
): Promise<string[]> {
  const isPool = 'kind' in db && db.kind === 'postgres';
  const concurrently = opts.concurrently ?? isPool;
  const created: string[] = [];
  for (const spec of attributeIndexSpecs(type)) {
    const index = attributeIndexName(name, spec.suffix);
    // A failed concurrent build leaves an invalid index that IF NOT EXISTS would keep forever.
    const invalid = await db.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND NOT i.indisvalid`,
      [index],
    );
    if (invalid.rows.length > 0) await db.exec(`DROP INDEX IF EXISTS ${index}`);
    // DDL takes no parameters: PostgreSQL's own format(%L) quotes the attribute name.
    const ddl = await db.query<{ sql: string }>(`SELECT format($1, $2::text) AS sql`, [
      `CREATE INDEX ${concurrently ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${index} ON contacts (${spec.columns})`,
      name,
    ]);
    const sql = ddl.rows[0]?.sql;
    if (!sql) throw new Error('format() returned nothing');
    try {
      await db.exec(sql);
    } catch (err) {
      // Two workspaces defining the same name at once: IF NOT EXISTS does not cover a build in progress.
      const code = (err as { code?: unknown }).code;
      if (code !== '42P07' && code !== '23505') throw err;
    }
    created.push(index);
  }
  return created;
}

/** For start-up: indexes for every defined attribute (e.g. definitions made before this code existed). */
export async function ensureAllAttributeIndexes(db: Db): Promise<void> {
  const res = await db.query<{ name: string; type: AttributeType }>(
    `SELECT DISTINCT name, type FROM attribute_definitions ORDER BY name, type`,
  );
  for (const r of res.rows) await ensureAttributeIndexes(db, '', r.name, r.type);
}
