import type { Queryable } from '../../db/client.ts';

export interface TeammateRow {
  workspace_id: string;
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'teammate';
  password_hash: string;
  created_at: Date;
  disabled_at: Date | null;
}

export interface SessionRow {
  workspace_id: string;
  id: string;
  teammate_id: string;
  csrf_token: string;
  expires_at: Date;
  role: 'admin' | 'teammate';
}

export interface ApiTokenRow {
  workspace_id: string;
  id: string;
  name: string;
  token_prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export const teammateRepository = {
  async insert(
    db: Queryable,
    row: Pick<TeammateRow, 'workspace_id' | 'id' | 'email' | 'name' | 'role' | 'password_hash'>,
  ): Promise<void> {
    await db.query(
      `INSERT INTO teammates (workspace_id, id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.workspace_id, row.id, row.email, row.name, row.role, row.password_hash],
    );
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<TeammateRow | undefined> {
    const res = await db.query<TeammateRow>('SELECT * FROM teammates WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ]);
    return res.rows[0];
  },
  async findByEmail(db: Queryable, workspaceId: string, email: string): Promise<TeammateRow | undefined> {
    const res = await db.query<TeammateRow>(
      'SELECT * FROM teammates WHERE workspace_id = $1 AND lower(email) = lower($2)',
      [workspaceId, email],
    );
    return res.rows[0];
  },
  /** Login comes before a workspace is known: the one lookup that spans workspaces. */
  async findByEmailAnyWorkspace(db: Queryable, email: string): Promise<TeammateRow[]> {
    const res = await db.query<TeammateRow>(
      'SELECT * FROM teammates WHERE lower(email) = lower($1) LIMIT 2',
      [email],
    );
    return res.rows;
  },
  async list(db: Queryable, workspaceId: string): Promise<TeammateRow[]> {
    const res = await db.query<TeammateRow>(
      'SELECT * FROM teammates WHERE workspace_id = $1 ORDER BY created_at, id',
      [workspaceId],
    );
    return res.rows;
  },
  async update(
    db: Queryable,
    workspaceId: string,
    id: string,
    patch: { name?: string; role?: 'admin' | 'teammate'; disabled?: boolean; password_hash?: string },
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE teammates SET
         name = COALESCE($3, name),
         role = COALESCE($4, role),
         disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN COALESCE(disabled_at, now()) ELSE NULL END,
         password_hash = COALESCE($6, password_hash)
       WHERE workspace_id = $1 AND id = $2`,
      [
        workspaceId,
        id,
        patch.name ?? null,
        patch.role ?? null,
        patch.disabled ?? null,
        patch.password_hash ?? null,
      ],
    );
    return res.rowCount > 0;
  },
  async countActiveAdmins(db: Queryable, workspaceId: string): Promise<number> {
    const res = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM teammates WHERE workspace_id = $1 AND role = 'admin' AND disabled_at IS NULL`,
      [workspaceId],
    );
    return res.rows[0]?.n ?? 0;
  },
};

export const sessionRepository = {
  async insert(
    db: Queryable,
    row: {
      workspace_id: string;
      id: string;
      token_hash: string;
      teammate_id: string;
      csrf_token: string;
      expires_at: Date;
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO sessions (workspace_id, id, token_hash, teammate_id, csrf_token, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
      [row.workspace_id, row.id, row.token_hash, row.teammate_id, row.csrf_token, row.expires_at],
    );
  },
  /** Sessions are found by their hash before the workspace is known. */
  async findLiveByHash(db: Queryable, tokenHash: string): Promise<SessionRow | undefined> {
    const res = await db.query<SessionRow>(
      `SELECT s.workspace_id, s.id, s.teammate_id, s.csrf_token, s.expires_at, t.role
       FROM sessions s JOIN teammates t ON t.workspace_id = s.workspace_id AND t.id = s.teammate_id
       WHERE s.token_hash = $1 AND s.expires_at > now() AND t.disabled_at IS NULL`,
      [tokenHash],
    );
    return res.rows[0];
  },
  async delete(db: Queryable, workspaceId: string, id: string): Promise<void> {
    await db.query('DELETE FROM sessions WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
  },
  async deleteForTeammate(db: Queryable, workspaceId: string, teammateId: string): Promise<void> {
    await db.query('DELETE FROM sessions WHERE workspace_id = $1 AND teammate_id = $2', [
      workspaceId,
      teammateId,
    ]);
  },
};

export const apiTokenRepository = {
  async insert(
    db: Queryable,
    row: { workspace_id: string; id: string; name: string; token_hash: string; token_prefix: string },
  ): Promise<void> {
    await db.query(
      `INSERT INTO api_tokens (workspace_id, id, name, token_hash, token_prefix) VALUES ($1,$2,$3,$4,$5)`,
      [row.workspace_id, row.id, row.name, row.token_hash, row.token_prefix],
    );
  },
  async findLiveByHash(db: Queryable, tokenHash: string): Promise<ApiTokenRow | undefined> {
    const res = await db.query<ApiTokenRow>(
      `UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL
       RETURNING workspace_id, id, name, token_prefix, created_at, last_used_at, revoked_at`,
      [tokenHash],
    );
    return res.rows[0];
  },
  async list(db: Queryable, workspaceId: string): Promise<ApiTokenRow[]> {
    const res = await db.query<ApiTokenRow>(
      `SELECT workspace_id, id, name, token_prefix, created_at, last_used_at, revoked_at
       FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at DESC, id`,
      [workspaceId],
    );
    return res.rows;
  },
  async revoke(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query(
      'UPDATE api_tokens SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL',
      [workspaceId, id],
    );
    return res.rowCount > 0;
  },
};
