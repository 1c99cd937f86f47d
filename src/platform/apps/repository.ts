import { contactRepository } from '../contacts/repository.ts';
import type { Queryable } from '../../db/client.ts';

export interface InstallationRow {
  workspace_id: string;
  app_id: string;
  status: 'installed' | 'uninstalling' | 'uninstalled';
  settings: unknown;
  installed_at: Date;
  updated_at: Date;
}

export const installationRepository = {
  async get(db: Queryable, workspaceId: string, appId: string): Promise<InstallationRow | undefined> {
    const res = await db.query<InstallationRow>(
      'SELECT * FROM app_installations WHERE workspace_id = $1 AND app_id = $2',
      [workspaceId, appId],
    );
    return res.rows[0];
  },
  async list(db: Queryable, workspaceId: string): Promise<InstallationRow[]> {
    const res = await db.query<InstallationRow>('SELECT * FROM app_installations WHERE workspace_id = $1', [
      workspaceId,
    ]);
    return res.rows;
  },
  async upsert(db: Queryable, workspaceId: string, appId: string, settings: unknown): Promise<void> {
    await db.query(
      `INSERT INTO app_installations (workspace_id, app_id, status, settings) VALUES ($1, $2, 'installed', $3)
       ON CONFLICT (workspace_id, app_id) DO UPDATE SET status = 'installed', settings = EXCLUDED.settings,
         installed_at = now(), updated_at = now()`,
      [workspaceId, appId, JSON.stringify(settings)],
    );
  },
  async setSettings(db: Queryable, workspaceId: string, appId: string, settings: unknown): Promise<void> {
    await db.query(
      'UPDATE app_installations SET settings = $3, updated_at = now() WHERE workspace_id = $1 AND app_id = $2',
      [workspaceId, appId, JSON.stringify(settings)],
    );
  },
  async setStatus(
    db: Queryable,
    workspaceId: string,
    appId: string,
    status: InstallationRow['status'],
  ): Promise<void> {
    await db.query(
      'UPDATE app_installations SET status = $3, updated_at = now() WHERE workspace_id = $1 AND app_id = $2',
      [workspaceId, appId, status],
    );
  },
};

export const secretRepository = {
  async put(db: Queryable, workspaceId: string, appId: string, name: string, sealed: string): Promise<void> {
    await db.query(
      `INSERT INTO app_secrets (workspace_id, app_id, name, sealed) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id, app_id, name) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()`,
      [workspaceId, appId, name, sealed],
    );
  },
  async get(db: Queryable, workspaceId: string, appId: string, name: string): Promise<string | undefined> {
    const res = await db.query<{ sealed: string }>(
      'SELECT sealed FROM app_secrets WHERE workspace_id = $1 AND app_id = $2 AND name = $3',
      [workspaceId, appId, name],
    );
    return res.rows[0]?.sealed;
  },
  async names(db: Queryable, workspaceId: string, appId: string): Promise<string[]> {
    const res = await db.query<{ name: string }>(
      'SELECT name FROM app_secrets WHERE workspace_id = $1 AND app_id = $2',
      [workspaceId, appId],
    );
    return res.rows.map((r) => r.name);
  },
  async deleteAll(db: Queryable, workspaceId: string, appId: string): Promise<void> {
    await db.query('DELETE FROM app_secrets WHERE workspace_id = $1 AND app_id = $2', [workspaceId, appId]);
  },
};

/** Removes an app's attribute values from every contact and its definitions (uninstall without keeping data). */
export async function removeAppAttributes(db: Queryable, workspaceId: string, appId: string): Promise<void> {
  const res = await db.query<{ name: string }>(
    'SELECT name FROM attribute_definitions WHERE workspace_id = $1 AND source = $2',
    [workspaceId, appId],
  );
  const names = res.rows.map((r) => r.name);
  if (names.length === 0) return;
  await contactRepository.removeAttributeKeys(db, workspaceId, names);
  await db.query('DELETE FROM attribute_definitions WHERE workspace_id = $1 AND source = $2', [
    workspaceId,
    appId,
  ]);
}

export const endpointRepository = {
  async insert(db: Queryable, workspaceId: string, id: string, appId: string): Promise<void> {
    await db.query('INSERT INTO app_endpoints (workspace_id, id, app_id) VALUES ($1, $2, $3)', [
      workspaceId,
      id,
      appId,
    ]);
  },
  /** A webhook arrives before anything names its workspace: the endpoint id does. */
  async find(db: Queryable, id: string): Promise<{ workspace_id: string; app_id: string } | undefined> {
    const res = await db.query<{ workspace_id: string; app_id: string }>(
      'SELECT workspace_id, app_id FROM app_endpoints WHERE id = $1',
      [id],
    );
    return res.rows[0];
  },
  async delete(db: Queryable, workspaceId: string, id: string): Promise<void> {
    await db.query('DELETE FROM app_endpoints WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
  },
};
