import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../test/helpers/harness.ts';
import { profileQueries } from '../../../test/helpers/query-profile.ts';
import { dbKinds } from '../../db/test-db.ts';
import { AttributeDefinitionCache } from './definition-cache.ts';
import type { AttributeValue } from './schemas.ts';
import { createAttribute } from './service.ts';

describe.each(dbKinds())('attribute definitions as app writes check them, on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h?.close());

  it('reads the definitions once for many writes, and never refuses one defined since (by any process)', async () => {
    const db = h.platform.db;
    const ws = h.workspace.id;
    // A second cache stands for another process: this one never hears of the definition made below.
    const cache = new AttributeDefinitionCache(db, 60_000);
    const check = async (values: Record<string, AttributeValue>, writer: string) =>
      (await cache.checkMany(ws, [values], writer))[0];
    const profile = profileQueries(db, 40);
    await createAttribute(db, ws, { name: 'cache_plan', type: 'string' }, 'example');
    const readsOf = () =>
      [...profile]
        .filter(([sql]) => sql.startsWith('SELECT') && sql.includes('attribute_definitions'))
        .reduce((n, [, p]) => n + p.n, 0);
    const before = readsOf();

    for (let i = 0; i < 5; i++) {
      expect(await check({ cache_plan: `p${i}` }, 'example')).toEqual({
        set: { cache_plan: `p${i}` },
        unset: [],
      });
    }
    expect(readsOf() - before).toBe(1);

    // Defined after the cache was filled: the kept copy refuses, a fresh read accepts.
    await createAttribute(db, ws, { name: 'cache_seats', data_type: 'integer' }, 'example');
    expect(await check({ cache_seats: 3, cache_plan: null }, 'example')).toEqual({
      set: { cache_seats: 3 },
      unset: ['cache_plan'],
    });

    // What is wrong stays refused after the fresh read, with the error the API gives.
    await expect(check({ cache_seats: 'three' }, 'example')).rejects.toMatchObject({
      code: 'attribute_type_mismatch',
      path: 'custom_attributes.cache_seats',
    });
    await expect(check({ cache_nothing: 1 }, 'example')).rejects.toMatchObject({
      code: 'unknown_attribute',
    });
    await expect(check({ cache_plan: 'x' }, 'another_app')).rejects.toMatchObject({
      code: 'attribute_read_only',
    });
  });
});
