import type { Db } from '../../db/client.ts';
import { TtlCache } from '../../shared/ttl-cache.ts';
import { endpointRepository } from './repository.ts';

type Endpoint = { workspace_id: string; app_id: string };

/**
 * Webhook endpoint ids → their workspace and app. Every webhook looks its endpoint up before anything else, and
 * endpoints change only when an app connects or disconnects an account, so found ones are kept for a few seconds
 * (an acknowledgement then needs no query but its job insert). A deletion made in this process is seen at once;
 * one made in another process within `ttlMs`, and meanwhile the app's own checks (its connection, its signing
 * secret) still apply. Unknown ids are never kept: each is looked up.
 */
export class EndpointDirectory {
  private readonly cache: TtlCache<Endpoint>;

  constructor(
    private readonly db: Db,
    ttlMs = 10_000,
    maxEntries = 10_000,
  ) {
    this.cache = new TtlCache(ttlMs, maxEntries);
  }

  async find(id: string): Promise<Endpoint | undefined> {
    const hit = this.cache.get(id);
    if (hit.has) return hit.value;
    const value = await endpointRepository.find(this.db, id);
    if (!value) {
      this.cache.delete(id);
      return undefined;
    }
    return this.cache.set(id, value);
  }

  async insert(workspaceId: string, id: string, appId: string): Promise<void> {
    await endpointRepository.insert(this.db, workspaceId, id, appId);
  }

  async delete(workspaceId: string, id: string): Promise<void> {
    this.cache.delete(id);
    await endpointRepository.delete(this.db, workspaceId, id);
  }
}
