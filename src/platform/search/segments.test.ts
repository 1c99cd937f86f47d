import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import { AppError } from '../../shared/errors.ts';
import { membershipStatements } from './membership-compiler.ts';
import { segmentRepository } from './repository.ts';
import type { QueryNode } from './schemas.ts';
import {
  createSegment,
  deleteSegment,
  getSegment,
  listSegments,
  segmentContacts,
  updateSegment,
} from './service.ts';
import { defineAttributes, insertContacts, insertWorkspace } from './test-fixtures.ts';

const WS = 'ws_seg';
const proQuery = {
  operator: 'AND',
  value: [
    { field: 'custom_attributes.plan', operator: '=', value: 'Pro' },
    { field: 'custom_attributes.balance', operator: '>', value: 0 },
  ],
};

async function rejects(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe.each(dbKinds())('segments (%s)', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
    await insertWorkspace(t.db, WS);
    await insertWorkspace(t.db, 'ws_seg_other');
    await defineAttributes(t.db, WS, { plan: 'string', balance: 'number' });
    await insertContacts(t.db, WS, [
      { id: 's1', created_at: 1, custom_attributes: { plan: 'Pro', balance: 5 } },
      { id: 's2', created_at: 2, custom_attributes: { plan: 'Pro', balance: 0 } },
      { id: 's3', created_at: 3, custom_attributes: { plan: 'Pro', balance: 9 } },
    ]);
  });
  afterAll(async () => t?.close());

  it('create, read, list, rename, requery and delete, with a live count', async () => {
    const seg = await createSegment(t.db, WS, { name: 'Paying Pro', query: proQuery });
    expect(seg).toMatchObject({ type: 'segment', name: 'Paying Pro', query: proQuery, count: 2 });

    // The count is the query run now, not a snapshot.
    await insertContacts(t.db, WS, [
      { id: 's4', created_at: 4, custom_attributes: { plan: 'Pro', balance: 1 } },
    ]);
    expect((await getSegment(t.db, WS, seg.id)).count).toBe(3);
    expect((await listSegments(t.db, WS)).map((s) => [s.name, s.count])).toEqual([['Paying Pro', 3]]);

    const members = await segmentContacts(t.db, WS, seg.id, { per_page: 2 });
    expect(members.total_count).toBe(3);
    expect(members.data.map((c) => c.id)).toEqual(['s4', 's3']);
    const rest = await segmentContacts(t.db, WS, seg.id, {
      per_page: 2,
      starting_after: members.pages.next?.starting_after,
    });
    expect(rest.data.map((c) => c.id)).toEqual(['s1']);

    const renamed = await updateSegment(t.db, WS, seg.id, { name: 'Pro' });
    expect(renamed).toMatchObject({ name: 'Pro', count: 3, query: proQuery });
    const requeried = await updateSegment(t.db, WS, seg.id, {
      query: { field: 'custom_attributes.balance', operator: '=', value: 0 },
    });
    expect(requeried).toMatchObject({ name: 'Pro', count: 1 });

    await deleteSegment(t.db, WS, seg.id);
    expect((await rejects(getSegment(t.db, WS, seg.id))).status).toBe(404);
    expect(await listSegments(t.db, WS)).toEqual([]);
  });

  it('validates the stored query with the search schema and the attribute definitions', async () => {
    const bad = await rejects(
      createSegment(t.db, WS, {
        name: 'x',
        query: { operator: 'OR', value: [{ field: 'custom_attributes.plan', operator: '<', value: 'a' }] },
      }),
    );
    expect(bad.path).toBe('query.value[0].value');
    const unknown = await rejects(
      createSegment(t.db, WS, {
        name: 'x',
        query: { field: 'custom_attributes.nope', operator: '=', value: 1 },
      }),
    );
    expect(unknown.code).toBe('unknown_attribute');
    expect(unknown.path).toBe('query.field');
    expect((await rejects(createSegment(t.db, WS, { name: ' ', query: proQuery }))).path).toBe('name');
    const seg = await createSegment(t.db, WS, { name: 'Ok', query: proQuery });
    const typed = await rejects(
      updateSegment(t.db, WS, seg.id, {
        query: { field: 'custom_attributes.balance', operator: '~', value: '1' },
      }),
    );
    expect(typed.path).toBe('query.operator');
    expect((await getSegment(t.db, WS, seg.id)).query).toEqual(proQuery);
    expect((await rejects(createSegment(t.db, WS, { name: 'ok', query: proQuery }))).code).toBe(
      'segment_name_taken',
    );
    await deleteSegment(t.db, WS, seg.id);
  });

  it('is scoped to its workspace', async () => {
    const seg = await createSegment(t.db, WS, { name: 'Mine', query: proQuery });
    expect((await rejects(getSegment(t.db, 'ws_seg_other', seg.id))).code).toBe('segment_not_found');
    expect((await rejects(deleteSegment(t.db, 'ws_seg_other', seg.id))).code).toBe('segment_not_found');
    expect((await rejects(segmentContacts(t.db, 'ws_seg_other', seg.id))).code).toBe('segment_not_found');
    expect(await listSegments(t.db, 'ws_seg_other')).toEqual([]);
    await deleteSegment(t.db, WS, seg.id);
  });

  it("one contact's membership: failed queries leave no parameter behind; a long list splits, same answer", async () => {
    const queries: { key: string; node: QueryNode }[] = [
      { key: 'pro', node: proQuery as QueryNode },
      {
        // Compiles its first filter (two parameters), then fails on the unknown attribute.
        key: 'broken',
        node: {
          operator: 'AND',
          value: [
            { field: 'custom_attributes.plan', operator: '=', value: 'Pro' },
            { field: 'custom_attributes.nope', operator: '=', value: 1 },
          ],
        },
      },
      { key: 'zero', node: { field: 'custom_attributes.balance', operator: '=', value: 0 } },
      { key: 'all', node: { operator: 'AND', value: [] } },
    ];
    const types = new Map([
      ['plan', 'string'],
      ['balance', 'number'],
    ] as const);
    for (const id of ['s1', 's2', 's3']) {
      const one = membershipStatements(WS, id, queries, types);
      const split = membershipStatements(WS, id, queries, types, 3);
      expect(one.statements).toHaveLength(1);
      expect(split.statements).toHaveLength(3);
      expect(one.failed.map((f) => [f.key, f.error.code, f.error.path])).toEqual([
        ['broken', 'unknown_attribute', 'query.value[1].field'],
      ]);
      const members = await segmentRepository.membership(t.db, WS, one.statements);
      expect(await segmentRepository.membership(t.db, WS, split.statements)).toEqual(members);
      expect([...members!]).toEqual(id === 's2' ? ['zero', 'all'] : ['pro', 'all']);
    }
    const unknown = membershipStatements(WS, 'nobody', queries, types);
    expect(await segmentRepository.membership(t.db, WS, unknown.statements)).toBeNull();
    const otherWorkspace = membershipStatements('ws_seg_other', 's1', queries, types);
    expect(await segmentRepository.membership(t.db, 'ws_seg_other', otherWorkspace.statements)).toBeNull();
    const noQueries = membershipStatements(WS, 's1', [], types);
    expect(await segmentRepository.membership(t.db, WS, noQueries.statements)).toEqual(new Set());
  });

  it('reports a segment whose attribute was deleted instead of failing the list', async () => {
    await defineAttributes(t.db, WS, { temp: 'number' });
    const seg = await createSegment(t.db, WS, {
      name: 'Temp',
      query: { field: 'custom_attributes.temp', operator: '>', value: 1 },
    });
    await t.db.query(`DELETE FROM attribute_definitions WHERE workspace_id = $1 AND name = 'temp'`, [WS]);
    const [listed] = await listSegments(t.db, WS);
    expect(listed).toMatchObject({ id: seg.id, count: null, error: { code: 'unknown_attribute' } });
    await deleteSegment(t.db, WS, seg.id);
  });
});
