import type { Queryable } from '../../db/client.ts';
import type { TypedValue } from '../attributes/service.ts';
import { byCodeUnits } from '../../shared/order.ts';

export interface ContactRow {
  workspace_id: string;
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  email_normalized: string | null;
  name: string | null;
  phone: string | null;
  custom_attributes: Record<string, TypedValue>;
  created_at: Date;
  updated_at: Date;
  last_seen_at: Date | null;
  archived_at: Date | null;
  avatar: string | null;
  signed_up_at: Date | null;
  owner_id: string | null;
  unsubscribed_from_emails: boolean;
}

export interface ContactWrite {
  role?: 'user' | 'lead';
  external_id?: string | null;
  email?: string | null;
  email_normalized?: string | null;
  name?: string | null;
  phone?: string | null;
  last_seen_at?: Date | null;
  signed_up_at?: Date | null;
  avatar?: string | null;
  owner_id?: string | null;
  unsubscribed_from_emails?: boolean;
}

const columns = [
  'role',
  'external_id',
  'email',
  'email_normalized',
  'name',
  'phone',
  'last_seen_at',
  'signed_up_at',
  'avatar',
  'owner_id',
  'unsubscribed_from_emails',
] as const;

/**
 * Every column of a contact, named: the lookups apps make on each applied event are prepared statements, and a
 * prepared `SELECT *` fails once a migration adds a column while the server process keeps it.
 */
const ROW = [
  'workspace_id',
  'id',
  ...columns,
  'custom_attributes',
  'created_at',
  'updated_at',
  'archived_at',
] as const satisfies readonly (keyof ContactRow)[];
// Does not compile when ContactRow gains a field ROW lacks.
export const contactColumnsComplete: [Exclude<keyof ContactRow, (typeof ROW)[number]>] extends [never]
  ? true
  : never = true;
const ROW_LIST = ROW.join(', ');

/** A timestamp as cursor text, to the microsecond, in UTC. */
export const cursorAt = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Rounds of `updateAttributesMany` for rows that other writers keep changing, before it gives up. */
const UPDATE_ROUNDS = 5;

export const contactRepository = {
  async insert(
    db: Queryable,
    workspaceId: string,
    id: string,
    row: ContactWrite & { role: 'user' | 'lead' },
    attributes: Record<string, TypedValue>,
  ): Promise<ContactRow> {
    const res = await db.query<ContactRow>(
      `INSERT INTO contacts (workspace_id, id, role, external_id, email, email_normalized, name, phone, last_seen_at,
         custom_attributes, signed_up_at, avatar, owner_id, unsubscribed_from_emails)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
      [
        workspaceId,
        id,
        row.role,
        row.external_id ?? null,
        row.email ?? null,
        row.email_normalized ?? null,
        row.name ?? null,
        row.phone ?? null,
        row.last_seen_at ?? null,
        JSON.stringify(attributes),
        row.signed_up_at ?? null,
        row.avatar ?? null,
        row.owner_id ?? null,
        row.unsubscribed_from_emails ?? false,
      ],
    );
    return res.rows[0] as ContactRow;
  },

  async get(db: Queryable, workspaceId: string, id: string): Promise<ContactRow | undefined> {
    const res = await db.query<ContactRow>(
      `SELECT ${ROW_LIST} FROM contacts WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id],
      { prepare: true },
    );
    return res.rows[0];
  },

  /** Which of these ids name a contact now, in one statement (an app's links to contacts a teammate deleted). */
  async existingIds(db: Queryable, workspaceId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const res = await db.query<{ id: string }>(
      // One primary-key probe per id, as findByEmails does (a plan made on an unanalysed table could scan it).
      `SELECT c.id FROM unnest($2::text[]) AS v(x)
       CROSS JOIN LATERAL (SELECT id FROM contacts WHERE workspace_id = $1 AND id = v.x OFFSET 0) c`,
      [workspaceId, [...new Set(ids)]],
    );
    return new Set(res.rows.map((r) => r.id));
  },

  async getByExternalId(
    db: Queryable,
    workspaceId: string,
    externalId: string,
  ): Promise<ContactRow | undefined> {
    const res = await db.query<ContactRow>(
      `SELECT ${ROW_LIST} FROM contacts WHERE workspace_id = $1 AND external_id = $2`,
      [workspaceId, externalId],
      { prepare: true },
    );
    return res.rows[0];
  },

  async findByEmail(db: Queryable, workspaceId: string, emailNormalized: string): Promise<ContactRow[]> {
    const res = await db.query<ContactRow>(
      `SELECT ${ROW_LIST} FROM contacts WHERE workspace_id = $1 AND email_normalized = $2
       ORDER BY role DESC, created_at, id`,
      [workspaceId, emailNormalized],
      { prepare: true },
    );
    return res.rows;
  },

  async findByEmails(db: Queryable, workspaceId: string, emails: readonly string[]): Promise<ContactRow[]> {
    if (emails.length === 0) return [];
    const res = await db.query<ContactRow>(
      // One index probe per value (LATERAL; OFFSET 0 keeps the planner from flattening it into a join): on a table
      // not analysed yet, `= ANY(array)` or a join plans a full scan.
      `SELECT c.* FROM unnest($2::text[]) AS v(x)
       CROSS JOIN LATERAL (
         SELECT ${ROW_LIST} FROM contacts WHERE workspace_id = $1 AND email_normalized = v.x OFFSET 0) c
       ORDER BY c.role DESC, c.created_at, c.id`,
      // Not prepared: a generic plan made while the table was small scans it for every value (a backfill's
      // 100-email lookups took 190 ms each at 20,000 contacts), and the planning of an unnest is cheap.
      [workspaceId, emails],
    );
    return res.rows;
  },

  async findByExternalIds(db: Queryable, workspaceId: string, ids: readonly string[]): Promise<ContactRow[]> {
    if (ids.length === 0) return [];
    const res = await db.query<ContactRow>(
      `SELECT c.* FROM unnest($2::text[]) AS v(x)
       CROSS JOIN LATERAL (
         SELECT ${ROW_LIST} FROM contacts WHERE workspace_id = $1 AND external_id = v.x OFFSET 0) c`,
      [workspaceId, ids],
    );
    return res.rows;
  },

  /** Many contacts in one statement (an import, a Stripe backfill page). */
  async insertMany(
    db: Queryable,
    workspaceId: string,
    rows: readonly (ContactWrite & {
      id: string;
      role: 'user' | 'lead';
      custom_attributes?: Record<string, TypedValue>;
    })[],
  ): Promise<ContactRow[]> {
    if (rows.length === 0) return [];
    const payload = rows.map((r) => ({
      id: r.id,
      role: r.role,
      external_id: r.external_id ?? null,
      email: r.email ?? null,
      email_normalized: r.email_normalized ?? null,
      name: r.name ?? null,
      custom_attributes: r.custom_attributes ?? {},
    }));
    const res = await db.query<ContactRow>(
      `INSERT INTO contacts (workspace_id, id, role, external_id, email, email_normalized, name, custom_attributes)
       SELECT $1, r.id, r.role, r.external_id, r.email, r.email_normalized, r.name, r.custom_attributes
       FROM jsonb_to_recordset($2::jsonb) AS r(id text, role text, external_id text, email text,
         email_normalized text, name text, custom_attributes jsonb)
       RETURNING *`,
      [workspaceId, JSON.stringify(payload)],
    );
    return res.rows;
  },

  /**
   * Inserts the user rows whose `email_normalized` no user contact holds yet; answers the inserted rows. Must run
   * in a transaction: each address is locked first (a transaction-scoped advisory lock, taken in sorted order so
   * two callers never deadlock), and the insert is a later statement, whose snapshot sees a contact another
   * locker committed while this one waited. Two writers creating a contact for one new address at the same moment
   * (a backfill page and a webhook's apply) therefore make one contact, not two. Rows must have distinct addresses.
   */
  async insertUsersIfAbsent(
    tx: Queryable,
    workspaceId: string,
    rows: readonly (ContactWrite & {
      id: string;
      email_normalized: string;
      custom_attributes?: Record<string, TypedValue>;
    })[],
  ): Promise<ContactRow[]> {
    if (rows.length === 0) return [];
    const addresses = rows.map((r) => r.email_normalized).sort(byCodeUnits);
    await tx.query(
      `SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(1) || a, 0)) FROM unnest($2::text[]) AS a`,
      [workspaceId, addresses],
    );
    const payload = rows.map((r) => ({
      id: r.id,
      email: r.email ?? null,
      email_normalized: r.email_normalized,
      name: r.name ?? null,
      custom_attributes: r.custom_attributes ?? {},
    }));
    const res = await tx.query<ContactRow>(
      // OFFSET 0 keeps NOT EXISTS a per-row index probe (not an anti-join that could scan the table).
      `INSERT INTO contacts (workspace_id, id, role, email, email_normalized, name, custom_attributes)
       SELECT $1, r.id, 'user', r.email, r.email_normalized, r.name, r.custom_attributes
       FROM jsonb_to_recordset($2::jsonb) AS r(id text, email text, email_normalized text, name text,
         custom_attributes jsonb)
       WHERE NOT EXISTS (
         SELECT 1 FROM contacts c
         WHERE c.workspace_id = $1 AND c.email_normalized = r.email_normalized AND c.role = 'user' OFFSET 0)
       RETURNING *`,
      [workspaceId, JSON.stringify(payload)],
    );
    return res.rows;
  },

  /** Merges attributes (`unset` names removed) into many contacts in one statement. */
  async updateAttributesMany(
    db: Queryable,
    workspaceId: string,
    updates: readonly { id: string; set: Record<string, TypedValue>; unset: string[] }[],
  ): Promise<number> {
    // The rows to change are found by key first (LATERAL, one probe each), so the update never scans the table.
    // A row another transaction updated meanwhile has moved: the update re-checks `ctid = tid` against its new
    // version and skips it (READ COMMITTED). Those rows are answered and written again, so no merge is lost.
    // Written in id order (the plan visits them in the array's order), as every batch writes them: two batches
    // sharing contacts wait for each other rather than deadlock.
    let pending = [...updates].sort((a, b) => byCodeUnits(a.id, b.id));
    let written = 0;
    for (let round = 1; pending.length > 0; round++) {
      if (round > UPDATE_ROUNDS)
        throw new Error(
          `contacts changed by other writers ${UPDATE_ROUNDS} times in a row: ${pending.length} left`,
        );
      const res = await db.query<{ id: string; done: boolean }>(
        `WITH u AS (
           SELECT r->>'id' AS id, r->'set' AS s, ARRAY(SELECT jsonb_array_elements_text(r->'unset')) AS un
           FROM jsonb_array_elements($2::jsonb) AS r
         ), t AS (
           SELECT u.id, c.ctid AS tid, u.s, u.un FROM u
           CROSS JOIN LATERAL (SELECT ctid FROM contacts WHERE workspace_id = $1 AND id = u.id OFFSET 0) c
         ), w AS (
           UPDATE contacts c SET custom_attributes = (c.custom_attributes || t.s) - t.un, updated_at = now()
           FROM t WHERE c.ctid = t.tid AND c.workspace_id = $1
           RETURNING c.id
         )
         SELECT t.id, EXISTS (SELECT 1 FROM w WHERE w.id = t.id) AS done FROM t`,
        [workspaceId, JSON.stringify(pending)],
      );
      const skipped = new Set(res.rows.filter((r) => !r.done).map((r) => r.id));
      written += res.rows.length - skipped.size;
      pending = pending.filter((u) => skipped.has(u.id));
    }
    return written;
  },

  /** Updates the given columns and merges attributes (`unset` names are removed) in one statement. */
  async update(
    db: Queryable,
    workspaceId: string,
    id: string,
    patch: ContactWrite,
    attributes: { set: Record<string, TypedValue>; unset: string[] } = { set: {}, unset: [] },
  ): Promise<ContactRow | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [workspaceId, id, JSON.stringify(attributes.set), attributes.unset];
    for (const col of columns) {
      if (patch[col] !== undefined) {
        params.push(patch[col]);
        sets.push(`${col} = $${params.length}`);
      }
    }
    const res = await db.query<ContactRow>(
      `UPDATE contacts SET ${sets.map((s) => s + ', ').join('')}
         custom_attributes = (custom_attributes || $3::jsonb) - $4::text[], updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING ${ROW_LIST}`,
      params,
      // Attributes alone are what apps write on every applied event: that one shape is prepared.
      { prepare: sets.length === 0 },
    );
    return res.rows[0];
  },

  async setArchived(
    db: Queryable,
    workspaceId: string,
    id: string,
    archived: boolean,
  ): Promise<ContactRow | undefined> {
    const res = await db.query<ContactRow>(
      `UPDATE contacts SET archived_at = CASE WHEN $3 THEN COALESCE(archived_at, now()) ELSE NULL END, updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [workspaceId, id, archived],
    );
    return res.rows[0];
  },

  async delete(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query('DELETE FROM contacts WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return res.rowCount > 0;
  },

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(
    db: Queryable,
    workspaceId: string,
    opts: {
      limit: number;
      after?: { at: string; id: string };
      emailNormalized?: string;
      externalId?: string;
    },
  ): Promise<(ContactRow & { cursor_at: string })[]> {
    const res = await db.query<ContactRow & { cursor_at: string }>(
      `SELECT *, ${cursorAt('created_at')} AS cursor_at FROM contacts WHERE workspace_id = $1
         AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::text))
         AND ($4::text IS NULL OR email_normalized = $4)
         AND ($5::text IS NULL OR external_id = $5)
       ORDER BY created_at DESC, id DESC LIMIT $6`,
      [
        workspaceId,
        opts.after?.at ?? null,
        opts.after?.id ?? null,
        opts.emailNormalized ?? null,
        opts.externalId ?? null,
        opts.limit,
      ],
    );
    return res.rows;
  },

  async count(db: Queryable, workspaceId: string): Promise<number> {
    const res = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1',
      [workspaceId],
    );
    return res.rows[0]?.n ?? 0;
  },

  /**
   * Removes these attribute keys from every contact of the workspace (archived ones included), `batch` contacts
   * (in id order) per statement: each statement row-locks only its batch, so at a million contacts the webhook
   * applies and teammates' edits of other contacts never wait minutes behind one giant UPDATE. Each batch commits
   * on its own (call it outside a transaction); a repeat after a crash finds less to do. Returns the contacts
   * changed.
   */
  async removeAttributeKeys(
    db: Queryable,
    workspaceId: string,
    keys: readonly string[],
    batch = 2000,
  ): Promise<number> {
    let changed = 0;
    for (let after = ''; ;) {
      const edge = await db.query<{ id: string }>(
        `SELECT id FROM contacts WHERE workspace_id = $1 AND id > $2 ORDER BY id OFFSET $3 LIMIT 1`,
        [workspaceId, after, batch - 1],
      );
      const upTo = edge.rows[0]?.id;
      const res = await db.query(
        `UPDATE contacts SET custom_attributes = custom_attributes - $2::text[]
         WHERE workspace_id = $1 AND id > $3 AND ($4::text IS NULL OR id <= $4) AND custom_attributes ?| $2::text[]`,
        [workspaceId, keys, after, upTo ?? null],
      );
      changed += res.rowCount;
      if (upTo === undefined) return changed;
      after = upTo;
    }
  },
  /**
   * Moves what belongs to one contact (conversations, events) to another. The old contact's messenger sessions are
   * ended, not moved: an anonymous lead's token must never become a way into a verified user's conversations.
   */
  async reassignOwned(db: Queryable, workspaceId: string, fromId: string, intoId: string): Promise<void> {
    for (const table of ['conversations', 'contact_events']) {
      await db.query(`UPDATE ${table} SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2`, [
        workspaceId,
        fromId,
        intoId,
      ]);
    }
    await db.query('DELETE FROM messenger_sessions WHERE workspace_id = $1 AND contact_id = $2', [
      workspaceId,
      fromId,
    ]);
  },
};
