import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import { AppError } from '../../shared/errors.ts';
import { buildPageQueries, compileSearch } from './compiler.ts';
import { countQuery } from './count-compiler.ts';
import { attributeIndexName, ensureAttributeIndexes } from './repository.ts';
import { searchContacts } from './service.ts';
import { defineAttributes, insertContacts, insertWorkspace, type FixtureContact } from './test-fixtures.ts';
import type { QueryNode } from './schemas.ts';

const WS = 'ws_search';
const T0 = 1_700_000_000;

const contacts: FixtureContact[] = [
  {
    id: 'c01',
    email: 'Alice@Example.com',
    name: 'Alice Smith',
    external_id: 'u-1',
    created_at: T0 + 0.5,
    last_seen_at: T0 + 100,
    custom_attributes: {
      plan: 'Pro',
      balance: 10,
      delinquent: false,
      expires: T0 + 1000,
      note: '50% off_now',
    },
  },
  {
    id: 'c02',
    email: 'bob@example.org',
    name: 'Bob',
    created_at: T0 + 1,
    custom_attributes: { plan: 'pro', balance: -5.5, delinquent: true, expires: T0 - 1000 },
  },
  {
    id: 'c03',
    role: 'lead',
    email: 'carol@test.io',
    created_at: T0 + 2,
    custom_attributes: { plan: 'Basic', balance: 0 },
  },
  {
    id: 'c04',
    name: 'Dan',
    created_at: T0 + 3,
    custom_attributes: { delinquent: false, note: '50 percent' },
  },
  { id: 'c05', role: 'lead', created_at: T0 + 4, custom_attributes: {} },
  {
    id: 'c06',
    email: 'gone@example.com',
    created_at: T0 + 5,
    archived: true,
    custom_attributes: { plan: 'Pro' },
  },
];

async function ids(
  db: TestDb['db'],
  query: QueryNode,
  extra: Record<string, unknown> = {},
): Promise<string[]> {
  const res = await searchContacts(db, WS, { query, pagination: { per_page: 150 }, ...extra });
  expect(res.total_count).toBe(res.data.length);
  return res.data.map((c) => c.id).sort();
}

async function searchError(db: TestDb['db'], body: unknown): Promise<AppError> {
  const err = await searchContacts(db, WS, body).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

const f = (field: string, operator: string, value: unknown) => ({ field, operator, value }) as QueryNode;

describe.each(dbKinds())('contacts search (%s)', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
    await insertWorkspace(t.db, WS);
    await insertWorkspace(t.db, 'ws_other');
    await defineAttributes(t.db, WS, {
      plan: 'string',
      balance: 'number',
      delinquent: 'boolean',
      expires: 'date',
      note: 'string',
    });
    // Another workspace gives "balance" another type: the shared indexes must tolerate it.
    await defineAttributes(t.db, 'ws_other', { balance: 'string' });
    await insertContacts(t.db, WS, contacts);
    await insertContacts(t.db, 'ws_other', [
      { id: 'o01', email: 'alice@example.com', custom_attributes: { balance: 'lots' } },
    ]);
  });
  afterAll(async () => t?.close());

  it('= and != on a string attribute compare exactly; != includes contacts lacking it', async () => {
    expect(await ids(t.db, f('custom_attributes.plan', '=', 'Pro'))).toEqual(['c01']);
    expect(await ids(t.db, f('custom_attributes.plan', '!=', 'Pro'))).toEqual(['c02', 'c03', 'c04', 'c05']);
  });

  it('IN and NIN; NIN includes contacts lacking the attribute', async () => {
    expect(await ids(t.db, f('custom_attributes.plan', 'IN', ['Pro', 'Basic']))).toEqual(['c01', 'c03']);
    expect(await ids(t.db, f('custom_attributes.plan', 'NIN', ['Pro', 'Basic']))).toEqual([
      'c02',
      'c04',
      'c05',
    ]);
    expect(await ids(t.db, f('custom_attributes.plan', 'IN', []))).toEqual([]);
    expect(await ids(t.db, f('custom_attributes.balance', 'IN', [10, 0]))).toEqual(['c01', 'c03']);
  });

  it('<, >, <=, >= on numbers never match contacts lacking the attribute', async () => {
    expect(await ids(t.db, f('custom_attributes.balance', '>', 0))).toEqual(['c01']);
    expect(await ids(t.db, f('custom_attributes.balance', '>=', 0))).toEqual(['c01', 'c03']);
    expect(await ids(t.db, f('custom_attributes.balance', '<', 0))).toEqual(['c02']);
    expect(await ids(t.db, f('custom_attributes.balance', '<=', -5.5))).toEqual(['c02']);
  });

  it('booleans', async () => {
    expect(await ids(t.db, f('custom_attributes.delinquent', '=', true))).toEqual(['c02']);
    expect(await ids(t.db, f('custom_attributes.delinquent', '!=', true))).toEqual([
      'c01',
      'c03',
      'c04',
      'c05',
    ]);
    expect(await ids(t.db, f('custom_attributes.delinquent', 'IN', [false]))).toEqual(['c01', 'c04']);
  });

  it('dates in unix seconds, on attributes and on columns (floored to the second)', async () => {
    expect(await ids(t.db, f('custom_attributes.expires', '<', T0))).toEqual(['c02']);
    expect(await ids(t.db, f('created_at', '=', T0))).toEqual(['c01']);
    expect(await ids(t.db, f('created_at', '<=', T0 + 1))).toEqual(['c01', 'c02']);
    expect(await ids(t.db, f('created_at', '>', T0))).toEqual(['c02', 'c03', 'c04', 'c05']);
    expect(await ids(t.db, f('created_at', 'IN', [T0, T0 + 4]))).toEqual(['c01', 'c05']);
    expect(await ids(t.db, f('last_seen_at', '>', 0))).toEqual(['c01']);
    expect(await ids(t.db, f('last_seen_at', '!=', T0 + 100))).toEqual(['c02', 'c03', 'c04', 'c05']);
  });

  it('~, !~, ^, $ are case-insensitive and treat % _ \\ literally', async () => {
    expect(await ids(t.db, f('name', '~', 'SMITH'))).toEqual(['c01']);
    expect(await ids(t.db, f('name', '^', 'b'))).toEqual(['c02']);
    expect(await ids(t.db, f('name', '$', 'AN'))).toEqual(['c04']);
    expect(await ids(t.db, f('name', '!~', 'a'))).toEqual(['c02', 'c03', 'c05']);
    expect(await ids(t.db, f('custom_attributes.note', '~', '50%'))).toEqual(['c01']);
    expect(await ids(t.db, f('custom_attributes.note', '~', 'f_n'))).toEqual(['c01']);
    expect(await ids(t.db, f('custom_attributes.note', '~', '\\'))).toEqual([]);
  });

  it('email compares case-insensitively with every operator; name compares exactly with =', async () => {
    expect(await ids(t.db, f('email', '=', 'ALICE@example.COM'))).toEqual(['c01']);
    expect(await ids(t.db, f('email', 'IN', ['BOB@EXAMPLE.ORG', 'nobody@x.y']))).toEqual(['c02']);
    expect(await ids(t.db, f('email', '$', '@EXAMPLE.com'))).toEqual(['c01']);
    expect(await ids(t.db, f('name', '=', 'alice smith'))).toEqual([]);
    expect(await ids(t.db, f('name', '=', 'Alice Smith'))).toEqual(['c01']);
  });

  it('= null matches contacts lacking the field, != null those having it', async () => {
    expect(await ids(t.db, f('custom_attributes.plan', '=', null))).toEqual(['c04', 'c05']);
    expect(await ids(t.db, f('custom_attributes.plan', '!=', null))).toEqual(['c01', 'c02', 'c03']);
    expect(await ids(t.db, f('email', '=', null))).toEqual(['c04', 'c05']);
    expect(await ids(t.db, f('external_id', '!=', null))).toEqual(['c01']);
    expect(await ids(t.db, f('role', '=', null))).toEqual([]);
  });

  it('nested groups', async () => {
    const q: QueryNode = {
      operator: 'AND',
      value: [
        f('custom_attributes.plan', 'IN', ['Pro', 'pro']),
        {
          operator: 'OR',
          value: [f('custom_attributes.balance', '>', 0), f('custom_attributes.delinquent', '=', true)],
        },
      ],
    };
    expect(await ids(t.db, q)).toEqual(['c01', 'c02']);
    expect(
      await ids(t.db, { operator: 'OR', value: [f('role', '=', 'lead'), f('name', '=', 'Dan')] }),
    ).toEqual(['c03', 'c04', 'c05']);
    expect(await ids(t.db, { operator: 'AND', value: [] })).toEqual(['c01', 'c02', 'c03', 'c04', 'c05']);
    expect(await ids(t.db, { operator: 'OR', value: [] })).toEqual([]);
  });

  it('never returns archived contacts or other workspaces', async () => {
    expect(await ids(t.db, f('email', '~', 'example'))).toEqual(['c01', 'c02']);
  });

  it('rejects a value of the wrong type, naming its path', async () => {
    const err = await searchError(t.db, {
      query: {
        operator: 'AND',
        value: [
          f('role', '=', 'user'),
          { operator: 'OR', value: [f('custom_attributes.balance', '=', '10')] },
        ],
      },
    });
    expect(err.status).toBe(400);
    expect(err.path).toBe('query.value[1].value[0].value');
    expect(err.message).toContain('query.value[1].value[0].value');
    expect(err.message).toContain('number');
    const inErr = await searchError(t.db, { query: f('custom_attributes.delinquent', 'IN', [true, 'no']) });
    expect(inErr.path).toBe('query.value[1]');
    const dateErr = await searchError(t.db, { query: f('created_at', '>', 1.5) });
    expect(dateErr.path).toBe('query.value');
  });

  it('rejects an operator the field type does not support, naming the operator', async () => {
    const err = await searchError(t.db, {
      query: { operator: 'OR', value: [f('custom_attributes.plan', '>', 3)] },
    });
    expect(err.path).toBe('query.value[0].operator');
    const err2 = await searchError(t.db, { query: f('custom_attributes.balance', '~', '1') });
    expect(err2.path).toBe('query.operator');
  });

  it('rejects unknown attributes, fields and operators, naming them', async () => {
    const err = await searchError(t.db, {
      query: { operator: 'AND', value: [f('custom_attributes.nope', '=', 1)] },
    });
    expect(err.code).toBe('unknown_attribute');
    expect(err.path).toBe('query.value[0].field');
    expect(err.message).toContain('"nope"');
    // Defined in another workspace only.
    const other = await searchError(t.db, { query: f('custom_attributes.balanc', '=', 1) });
    expect(other.code).toBe('unknown_attribute');
    const field = await searchError(t.db, { query: f('phone_number', '=', 'x') });
    expect(field.path).toBe('query.field');
    const op = await searchError(t.db, {
      query: {
        operator: 'AND',
        value: [f('role', '=', 'user'), { operator: 'OR', value: [f('role', 'LIKE', 'u')] }],
      },
    });
    expect(op.path).toBe('query.value[1].value[0].operator');
    const sort = await searchError(t.db, {
      query: f('role', '=', 'user'),
      sort: { field: 'custom_attributes.x' },
    });
    expect(sort.path).toBe('sort.field');
  });

  it('limits nesting to 10 levels and groups to 100 filters', async () => {
    let q: QueryNode = f('role', '=', 'user');
    for (let i = 0; i < 10; i++) q = { operator: 'AND', value: [q] };
    expect(await ids(t.db, q)).toHaveLength(3);
    const deep = await searchError(t.db, { query: { operator: 'AND', value: [q] } });
    expect(deep.path).toBe(`query${'.value[0]'.repeat(10)}.operator`);
    const wide = { operator: 'OR', value: Array.from({ length: 101 }, () => f('role', '=', 'user')) };
    expect((await searchError(t.db, { query: wide })).path).toBe('query.value');
    const ok = { operator: 'OR', value: Array.from({ length: 100 }, () => f('role', '=', 'user')) };
    expect(await ids(t.db, ok as QueryNode)).toHaveLength(3);
  });

  it('rejects bad pagination and cursors', async () => {
    const q = f('role', '=', 'user');
    expect((await searchError(t.db, { query: q, pagination: { per_page: 151 } })).path).toBe(
      'pagination.per_page',
    );
    expect(
      (await searchError(t.db, { query: q, pagination: { per_page: 1, starting_after: 'zz' } })).path,
    ).toBe('pagination.starting_after');
    const first = await searchContacts(t.db, WS, { query: q, pagination: { per_page: 1 } });
    const cursor = first.pages.next?.starting_after;
    expect(cursor).toBeTypeOf('string');
    const mismatch = await searchError(t.db, {
      query: q,
      pagination: { per_page: 1, starting_after: cursor },
      sort: { field: 'name', order: 'ascending' },
    });
    expect(mismatch.code).toBe('invalid_cursor');
    // A forged cursor with a value that is not a timestamp.
    const forged = Buffer.from(
      JSON.stringify([1, 'created_at', 'descending', 2, 'not a time', 'c01']),
    ).toString('base64url');
    expect((await searchError(t.db, { query: q, pagination: { starting_after: forged } })).code).toBe(
      'invalid_cursor',
    );
  });

  it('returns contacts in the Intercom shape, newest first by default', async () => {
    const res = await searchContacts(t.db, WS, {
      query: f('role', '=', 'user'),
      pagination: { per_page: 2 },
    });
    expect(res).toMatchObject({
      type: 'list',
      total_count: 3,
      pages: { type: 'pages', page: 1, per_page: 2, total_pages: 2 },
    });
    expect(res.data.map((c) => c.id)).toEqual(['c04', 'c02']);
    expect(res.data[1]).toMatchObject({
      type: 'contact',
      id: 'c02',
      role: 'user',
      external_id: null,
      email: 'bob@example.org',
      name: 'Bob',
      phone: null,
      created_at: T0 + 1,
      updated_at: T0 + 1,
      last_seen_at: null,
      custom_attributes: { plan: 'pro', balance: -5.5, delinquent: true, expires: T0 - 1000 },
    });
    const next = await searchContacts(t.db, WS, {
      query: f('role', '=', 'user'),
      pagination: { per_page: 2, starting_after: res.pages.next?.starting_after },
    });
    expect(next.data.map((c) => c.id)).toEqual(['c01']);
    expect(next.pages).toMatchObject({ page: 2, next: null });
  });

  it('uses the expression indexes for pages and the narrow indexes for counts', async () => {
    await insertWorkspace(t.db, 'ws_big');
    await defineAttributes(t.db, 'ws_big', { plan: 'string', balance: 'number', delinquent: 'boolean' });
    const big: FixtureContact[] = Array.from({ length: 3000 }, (_, i) => ({
      id: `b${String(i).padStart(5, '0')}`,
      created_at: T0 + i,
      custom_attributes: {
        ...(i % 50 === 0 ? {} : { plan: `Plan ${i}` }),
        balance: i,
        delinquent: i % 100 === 0,
      },
    }));
    await insertContacts(t.db, 'ws_big', big);
    await t.db.query('VACUUM ANALYZE contacts, contact_attribute_values');
    const types = new Map([
      ['balance', 'number' as const],
      ['plan', 'string' as const],
      ['delinquent', 'boolean' as const],
    ]);
    const explain = async (sql: { sql: string; params: unknown[] }) => {
      const res = await t.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.sql}`, sql.params);
      return res.rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    const compile = (q: QueryNode, sort?: { field: string; order: 'descending' }) =>
      compileSearch('ws_big', q, sort ?? { field: 'created_at', order: 'descending' }, types);
    // Pages read contacts through the expression indexes.
    const plan = (q: QueryNode, sort?: { field: string; order: 'descending' }) =>
      explain(buildPageQueries(compile(q, sort), null, 50)[0]!);
    // Counts read only contact ids from the narrow indexes (docs/search.md, "Counts").
    const count = (q: QueryNode) => explain(countQuery(compile(q)));
    expect(await plan(f('custom_attributes.balance', '>', 2990))).toMatch(/contacts_ca_n_/);
    expect(await plan(f('custom_attributes.plan', 'IN', ['Plan 7', 'x']))).toMatch(/contacts_ca_s_/);
    expect(await plan(f('custom_attributes.plan', '^', 'plan 12'))).toMatch(/contacts_ca_l_/);
    expect(await plan(f('custom_attributes.delinquent', '=', true))).toMatch(/contacts_ca_b_/);
    const sorted = await plan(f('role', '=', 'user'), {
      field: 'custom_attributes.balance',
      order: 'descending',
    });
    expect(sorted).toMatch(/Index Scan Backward using contacts_ca_n_/);
    expect(sorted).not.toMatch(/Sort/);

    expect(await count(f('custom_attributes.balance', '>', 2990))).toMatch(
      /Index Only Scan using contact_attribute_values_num/,
    );
    expect(await count(f('custom_attributes.plan', 'IN', ['Plan 7', 'x']))).toMatch(
      /Index Only Scan using contact_attribute_values_text/,
    );
    expect(await count(f('custom_attributes.plan', '^', 'plan 12'))).toMatch(/contacts_ca_l_/);
    // A negative filter counts the positive set and subtracts it from the live contacts.
    expect(await count(f('custom_attributes.delinquent', '!=', true))).toMatch(
      /Index Only Scan using contact_attribute_values_bool/,
    );
    // A lone presence test is read from the counters alone.
    const lacking = await count(f('custom_attributes.plan', '=', null));
    expect(lacking).toMatch(/contact_search_counts/);
    expect(lacking).not.toMatch(/contact_attribute_values|on contacts/);
    // A compound query combines id sets read from the indexes that carry contact ids.
    expect(
      await count({
        operator: 'AND',
        value: [f('custom_attributes.plan', '=', 'Plan 7'), f('custom_attributes.delinquent', '!=', true)],
      }),
    ).toMatch(/contact_attribute_values_text on/);
  });

  it('creates attribute indexes idempotently, one per name across workspaces, outside a transaction too', async () => {
    const name = "it's \\ 100% odd";
    // On PostgreSQL, a pool (not a transaction) builds CONCURRENTLY.
    const first = await ensureAttributeIndexes(t.db, WS, name, 'string');
    const again = await ensureAttributeIndexes(t.db, 'ws_other', name, 'string');
    expect(again).toEqual(first);
    expect(first).toEqual([attributeIndexName(name, 's'), attributeIndexName(name, 'l')]);
    const res = await t.db.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'contacts' AND indexname = ANY($1::text[])`,
      [first],
    );
    expect(res.rows).toHaveLength(2);
    expect(res.rows[0]?.indexdef).toContain(`'it''s \\ 100% odd'`);
  });
});
