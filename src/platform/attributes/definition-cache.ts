import type { Queryable } from '../../db/client.ts';
import { AppError } from '../../shared/errors.ts';
import { TtlCache } from '../../shared/ttl-cache.ts';
import { attributeDefinitions, checkAttributeValues, type AttributeDefinitions } from './service.ts';
import type { AttributeValue } from './schemas.ts';

/**
 * Definitions as apps' background writes read them: an applied Stripe event checks its values against the
 * workspace's definitions, one query per event that only changes when a teammate defines, archives or removes an
 * attribute. They are kept for `ttlMs`. A value the kept copy refuses is checked again against a fresh read before
 * it is refused, so a definition made a moment ago (in any process) is never missed; one archived meanwhile can
 * still be written for up to `ttlMs`. The API's own writes read the definitions each time.
 */
export class AttributeDefinitionCache {
  private readonly cache: TtlCache<AttributeDefinitions>;

  constructor(
    private readonly db: Queryable,
    ttlMs = 2_000,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  private async load(workspaceId: string): Promise<AttributeDefinitions> {
    return this.cache.set(workspaceId, await attributeDefinitions(this.db, workspaceId));
  }

  async get(workspaceId: string): Promise<{ defs: AttributeDefinitions; cached: boolean }> {
    const hit = this.cache.get(workspaceId);
    if (hit.value) return { defs: hit.value, cached: true };
    return { defs: await this.load(workspaceId), cached: false };
  }

  /** `checkAttributeValues` for many writes at once; a refusal from the kept copy is confirmed by a fresh read. */
  async checkMany(
    workspaceId: string,
    writes: readonly Record<string, AttributeValue>[],
    writer: string,
  ): Promise<ReturnType<typeof checkAttributeValues>[]> {
    const { defs, cached } = await this.get(workspaceId);
    try {
      return writes.map((values) => checkAttributeValues(defs, values, writer));
    } catch (err) {
      if (!cached || !(err instanceof AppError)) throw err;
      const fresh = await this.load(workspaceId);
      return writes.map((values) => checkAttributeValues(fresh, values, writer));
    }
  }

  /** This process changed the workspace's definitions: the next check reads them. */
  forget(workspaceId: string): void {
    this.cache.delete(workspaceId);
  }
}
