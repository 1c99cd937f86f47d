import type { Db } from '../../db/client.ts';
import { installationRepository, type InstallationRow } from './repository.ts';

/**
 * Installations as background work reads them: every app job checks that its app is still installed, and most
 * read its settings, two queries per job that change only when a teammate installs, configures or uninstalls
 * the app. Rows are kept for `ttlMs`; this process forgets one as soon as it changes it, other processes see the
 * change within `ttlMs`. The API's own views (installed? settings page) read the database each time.
 */
export class InstallationCache {
  private readonly cache = new Map<string, { row: InstallationRow | undefined; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 2_000,
  ) {}

  async get(workspaceId: string, appId: string): Promise<InstallationRow | undefined> {
    const key = `${workspaceId}:${appId}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.row;
    const row = await installationRepository.get(this.db, workspaceId, appId);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, { row, until: Date.now() + this.ttlMs });
    return row;
  }

  forget(workspaceId: string, appId: string): void {
    this.cache.delete(`${workspaceId}:${appId}`);
  }
}
