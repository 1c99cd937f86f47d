import type { Queryable } from '../../db/client.ts';

export interface WorkspaceRow {
  id: string;
  name: string;
  app_id: string;
  messenger_secret: string;
  created_at: Date;
}

export const workspaceRepository = {
  /** A round trip to the database, for the health check. */
  async ping(db: Queryable): Promise<void> {
    await db.query('SELECT 1');
  },
  async insert(db: Queryable, row: Omit<WorkspaceRow, 'created_at'>): Promise<void> {
    await db.query('INSERT INTO workspaces (id, name, app_id, messenger_secret) VALUES ($1, $2, $3, $4)', [
      row.id,
      row.name,
      row.app_id,
      row.messenger_secret,
    ]);
  },
  async get(db: Queryable, workspaceId: string): Promise<WorkspaceRow | undefined> {
    const res = await db.query<WorkspaceRow>('SELECT * FROM workspaces WHERE id = $1', [workspaceId]);
    return res.rows[0];
  },
  /** The messenger finds its workspace by the public app id before anyone is authenticated. */
  async getByAppId(db: Queryable, appId: string): Promise<WorkspaceRow | undefined> {
    const res = await db.query<WorkspaceRow>('SELECT * FROM workspaces WHERE app_id = $1', [appId]);
    return res.rows[0];
  },
  /** Every workspace's id, for maintenance that runs per workspace (job retention). */
  async ids(db: Queryable): Promise<string[]> {
    const res = await db.query<{ id: string }>('SELECT id FROM workspaces ORDER BY id');
    return res.rows.map((r) => r.id);
  },
  async first(db: Queryable): Promise<WorkspaceRow | undefined> {
    const res = await db.query<WorkspaceRow>('SELECT * FROM workspaces ORDER BY created_at, id LIMIT 1');
    return res.rows[0];
  },
  async rename(db: Queryable, workspaceId: string, name: string): Promise<void> {
    await db.query('UPDATE workspaces SET name = $2 WHERE id = $1', [workspaceId, name]);
  },
  async setMessengerSecret(db: Queryable, workspaceId: string, sealed: string): Promise<void> {
    await db.query('UPDATE workspaces SET messenger_secret = $2 WHERE id = $1', [workspaceId, sealed]);
  },
};
