import type { Queryable } from '../../db/client.ts';

export interface MessengerSessionRow {
  workspace_id: string;
  id: string;
  contact_id: string;
  verified: boolean;
  expires_at: Date;
}

export const messengerSessionRepository = {
  async insert(
    db: Queryable,
    row: {
      workspace_id: string;
      id: string;
      token_hash: string;
      contact_id: string;
      verified: boolean;
      expires_at: Date;
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO messenger_sessions (workspace_id, id, token_hash, contact_id, verified, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
      [row.workspace_id, row.id, row.token_hash, row.contact_id, row.verified, row.expires_at],
    );
  },
  /** Sessions are found by their hash before the workspace is known. */
  /** Sliding expiry: a session in use stays alive. */
  async extend(db: Queryable, workspaceId: string, id: string, expiresAt: Date): Promise<void> {
    await db.query('UPDATE messenger_sessions SET expires_at = $3 WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
      expiresAt,
    ]);
  },
  async findLiveByHash(db: Queryable, tokenHash: string): Promise<MessengerSessionRow | undefined> {
    const res = await db.query<MessengerSessionRow>(
      `SELECT workspace_id, id, contact_id, verified, expires_at FROM messenger_sessions WHERE token_hash = $1 AND expires_at > now()`,
      [tokenHash],
    );
    return res.rows[0];
  },
};
