import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import type { QueryNode, Sort } from './schemas.ts';
import { searchContacts } from './service.ts';
import { defineAttributes, insertContacts, insertWorkspace } from './test-fixtures.ts';

const WS = 'ws_pages';
const T0 = 1_700_000_000;
const N = 230;

// score: every 4th contact lacks it, and values repeat so ties are broken by id.
const score = (i: number): number | undefined => (i % 4 === 0 ? undefined : i % 7);

async function walk(db: TestDb['db'], query: QueryNode, sort: Sort, perPage: number) {
  const ids: string[] = [];
  const pages: number[] = [];
  let starting_after: string | null = null;
  for (;;) {
    const res = await searchContacts(db, WS, {
      query,
      sort,
      pagination: { per_page: perPage, starting_after },
    });
    expect(res.total_count).toBe(N);
    expect(res.pages.total_pages).toBe(Math.ceil(N / perPage));
    pages.push(res.pages.page);
    ids.push(...res.data.map((c) => c.id));
    if (!res.pages.next) break;
    expect(res.pages.next.per_page).toBe(perPage);
    starting_after = res.pages.next.starting_after;
  }
  return { ids, pages };
}

describe.each(dbKinds())('search pagination (%s)', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
    await insertWorkspace(t.db, WS);
    await defineAttributes(t.db, WS, { score: 'number', tier: 'string' });
    await insertContacts(
      t.db,
      WS,
      Array.from({ length: N }, (_, i) => {
        const s = score(i);
        return {
          id: `p${String(i).padStart(4, '0')}`,
          // Ten contacts share each second, so created_at alone does not order them.
          created_at: T0 + Math.floor(i / 10),
          last_seen_at: i % 3 === 0 ? null : T0 + (i % 11),
          custom_attributes: {
            ...(s === undefined ? {} : { score: s }),
            ...(i % 5 ? { tier: `t${i % 6}` } : {}),
          },
        };
      }),
    );
  });
  afterAll(async () => t?.close());

  const everyone: QueryNode = { field: 'role', operator: '=', value: 'user' };

  it('walks every page of a custom-attribute sort, missing values last, with no duplicates or misses', async () => {
    for (const order of ['ascending', 'descending'] as const) {
      const { ids, pages } = await walk(t.db, everyone, { field: 'custom_attributes.score', order }, 17);
      expect(new Set(ids).size).toBe(N);
      expect(pages).toEqual(Array.from({ length: Math.ceil(N / 17) }, (_, i) => i + 1));
      const sign = order === 'ascending' ? 1 : -1;
      const expected = Array.from({ length: N }, (_, i) => i).sort((a, b) => {
        const x = score(a);
        const y = score(b);
        if (x === undefined || y === undefined) return x === y ? sign * (a - b) : x === undefined ? 1 : -1;
        return x === y ? sign * (a - b) : sign * (x - y);
      });
      expect(ids).toEqual(expected.map((i) => `p${String(i).padStart(4, '0')}`));
    }
  });

  it('walks a string sort and a nullable date sort, page sizes 1 and 150', async () => {
    for (const [sort, perPage] of [
      [{ field: 'custom_attributes.tier', order: 'ascending' }, 150],
      [{ field: 'last_seen_at', order: 'descending' }, 1],
    ] as const) {
      const { ids } = await walk(t.db, everyone, sort, perPage);
      expect(new Set(ids).size).toBe(N);
      const lastWithValue = ids.findLastIndex((id) => {
        const i = Number(id.slice(1));
        return sort.field === 'last_seen_at' ? i % 3 !== 0 : i % 5 !== 0;
      });
      const firstMissing = ids.findIndex((id) => {
        const i = Number(id.slice(1));
        return sort.field === 'last_seen_at' ? i % 3 === 0 : i % 5 === 0;
      });
      expect(lastWithValue).toBeLessThan(firstMissing);
    }
  });

  it('default sort is newest first, ties by id, and stays stable across pages', async () => {
    const { ids } = await walk(t.db, everyone, { field: 'created_at', order: 'descending' }, 23);
    expect(ids).toEqual(Array.from({ length: N }, (_, i) => `p${String(N - 1 - i).padStart(4, '0')}`));
  });

  it('a contact created between pages does not shift later pages', async () => {
    const sort: Sort = { field: 'created_at', order: 'ascending' };
    const first = await searchContacts(t.db, WS, { query: everyone, sort, pagination: { per_page: 5 } });
    await insertContacts(t.db, WS, [{ id: 'p_early', created_at: T0 - 100 }]);
    const second = await searchContacts(t.db, WS, {
      query: everyone,
      sort,
      pagination: { per_page: 5, starting_after: first.pages.next?.starting_after ?? null },
    });
    expect(second.data.map((c) => c.id)).toEqual(['p0005', 'p0006', 'p0007', 'p0008', 'p0009']);
    await t.db.query(`DELETE FROM contacts WHERE id = 'p_early'`);
  });
});
