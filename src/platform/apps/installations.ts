import type { Db } from '../../db/client.ts';
import { TtlCache } from '../../shared/ttl-cache.ts';
import { installationRepository, type InstallationRow } from './repository.ts';

/**
 * Installations as background work reads them: every app job checks that its app is still installed, and most
 * read its settings, two queries per job that change only when a teammate installs, configures or uninstalls
 * the app. Rows are kept for `ttlMs`; this process forgets one as soon as it changes it, other processes see the
 * change within `ttlMs`. The API's own views (installed? settings page) read the database each time.
 */
export class InstallationCache {
  private readonly cache: TtlCache<InstallationRow | undefined>;

  constructor(
    private readonly db: Db,
    ttlMs = 2_000,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  async get(workspaceId: string, appId: string): Promise<InstallationRow | undefined> {
    const key = `${workspaceId}:${appId}`;
    const hit = this.cache.get(key);
    if (hit.has) return hit.value;
    return this.cache.set(key, await installationRepository.get(this.db, workspaceId, appId));
  }

  forget(workspaceId: string, appId: string): void {
    this.cache.delete(`${workspaceId}:${appId}`);
  }
}
