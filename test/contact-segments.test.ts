// GET /api/contacts/:id/segments over HTTP: membership of one contact, checked against what a search with each
// segment's query returns, plus the segments that no longer compile and the workspace boundary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createApiToken } from '../src/platform/teammates/service.ts';
import { createWorkspace } from '../src/platform/workspaces/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

interface SegmentList {
  type: string;
  data: { type: string; id: string; name: string; person_type: string }[];
}

const QUERIES: Record<string, unknown> = {
  pro: { field: 'custom_attributes.plan', operator: '=', value: 'Pro' },
  'not pro or team': { field: 'custom_attributes.plan', operator: 'NIN', value: ['Pro', 'Team'] },
  'big or vip, not free': {
    operator: 'AND',
    value: [
      {
        operator: 'OR',
        value: [
          { field: 'custom_attributes.seats', operator: '>', value: 5 },
          { field: 'custom_attributes.vip', operator: '=', value: true },
        ],
      },
      { field: 'custom_attributes.plan', operator: '!=', value: 'Free' },
    ],
  },
  'no renewal date': { field: 'custom_attributes.renews_at', operator: '=', value: null },
  'renews before 2030': { field: 'custom_attributes.renews_at', operator: '<', value: 1_893_456_000 },
  'example emails, not ada': {
    operator: 'AND',
    value: [
      { field: 'email', operator: '$', value: '@example.com' },
      { field: 'name', operator: '!~', value: 'ada' },
    ],
  },
  leads: { field: 'role', operator: '=', value: 'lead' },
  everyone: { operator: 'AND', value: [] },
  nobody: { operator: 'OR', value: [] },
};

const CONTACTS = [
  {
    role: 'user',
    email: 'ada@example.com',
    name: 'Ada',
    custom_attributes: { plan: 'Pro', seats: 12, renews_at: 1_800_000_000 },
  },
  { role: 'user', email: 'bob@example.com', name: 'Bob', custom_attributes: { plan: 'Free', vip: true } },
  {
    role: 'user',
    email: 'cy@other.org',
    name: 'Cy',
    custom_attributes: { plan: 'Team', seats: 2, vip: false },
  },
  { role: 'user', email: 'dee@example.com', name: 'Dee', custom_attributes: { seats: 40 } },
  { role: 'lead', name: 'Eve', custom_attributes: { renews_at: 1_950_000_000, vip: true } },
  { role: 'lead' },
] as const;

describe.each(dbKinds())('contact segments on %s', (kind) => {
  let h: Harness;
  const contactIds: string[] = [];
  const segmentIds = new Map<string, string>();

  const get = (url: string, headers?: Record<string, string>) =>
    h.request('token', { method: 'GET', url, ...(headers ? { headers } : {}) });
  const segmentsOf = async (contactId: string): Promise<SegmentList> => {
    const res = await get(`/api/contacts/${contactId}/segments`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as SegmentList;
  };
  const createSegment = async (name: string, query: unknown, headers?: Record<string, string>) => {
    const res = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name, query },
      ...(headers ? { headers } : {}),
    });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: string }).id;
  };

  beforeAll(async () => {
    h = await createHarness(kind);
    for (const [name, type] of [
      ['plan', 'string'],
      ['seats', 'number'],
      ['vip', 'boolean'],
      ['renews_at', 'date'],
      ['temp', 'number'],
    ]) {
      const res = await h.request('token', {
        method: 'POST',
        url: '/api/data_attributes',
        payload: { name, type },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    for (const c of CONTACTS) {
      const res = await h.request('token', { method: 'POST', url: '/api/contacts', payload: c });
      expect(res.statusCode, res.body).toBe(201);
      contactIds.push((res.json() as { id: string }).id);
    }
    for (const [name, query] of Object.entries(QUERIES))
      segmentIds.set(name, await createSegment(name, query));
  });
  afterAll(async () => h?.close());

  it("answers Intercom's list of segments, each in Settle's segment shape", async () => {
    const list = await segmentsOf(contactIds[0]!);
    expect(list.type).toBe('list');
    expect(list.data.map((s) => s.name)).toEqual([
      'pro',
      'big or vip, not free',
      'renews before 2030',
      'everyone',
    ]);
    expect(list.data[0]).toEqual({
      type: 'segment',
      id: segmentIds.get('pro'),
      name: 'pro',
      query: QUERIES.pro,
      person_type: 'user',
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
    });
  });

  it('matches what a search with each segment query returns, for every contact', async () => {
    // Every contact of the workspace, the harness's own included.
    const all = await h.request('token', {
      method: 'POST',
      url: '/api/contacts/search',
      payload: { query: { operator: 'AND', value: [] }, pagination: { per_page: 150 } },
    });
    const everyone = (all.json() as { data: { id: string }[] }).data.map((c) => c.id);
    expect(everyone).toEqual(expect.arrayContaining(contactIds));
    const expected = new Map<string, string[]>(everyone.map((id) => [id, []]));
    for (const [name, query] of Object.entries(QUERIES)) {
      const res = await h.request('token', {
        method: 'POST',
        url: '/api/contacts/search',
        payload: { query, pagination: { per_page: 150 } },
      });
      for (const c of (res.json() as { data: { id: string }[] }).data) expected.get(c.id)!.push(name);
    }
    const order = Object.keys(QUERIES);
    for (const id of everyone) {
      const names = (await segmentsOf(id)).data.map((s) => s.name);
      expect({ id, names }).toEqual({ id, names: order.filter((n) => expected.get(id)!.includes(n)) });
    }
    // The cases the queries are there for, so the cross-check cannot pass by both sides being empty.
    const bob = (await segmentsOf(contactIds[1]!)).data.map((s) => s.name);
    expect(bob).toEqual(['not pro or team', 'no renewal date', 'example emails, not ada', 'everyone']);
    // No attribute at all: in the negative and the missing-value segments only (and the leads).
    const bare = (await segmentsOf(contactIds[5]!)).data.map((s) => s.name);
    expect(bare).toEqual(['not pro or team', 'no renewal date', 'leads', 'everyone']);
  });

  it('an archived contact is in no segment, as it is in no search', async () => {
    const id = contactIds[3]!;
    expect((await segmentsOf(id)).data.length).toBeGreaterThan(0);
    await h.request('token', { method: 'POST', url: `/api/contacts/${id}/archive` });
    expect((await segmentsOf(id)).data).toEqual([]);
    await h.request('token', { method: 'POST', url: `/api/contacts/${id}/unarchive` });
    expect((await segmentsOf(id)).data.length).toBeGreaterThan(0);
  });

  it('leaves out a segment whose query no longer compiles, and logs why', async () => {
    const broken = await createSegment('temperature', {
      operator: 'OR',
      value: [
        { field: 'custom_attributes.temp', operator: '>', value: 1 },
        { field: 'custom_attributes.plan', operator: '=', value: 'Pro' },
      ],
    });
    // Another segment after it still compiles into the same statement.
    const after = await createSegment('pro again', QUERIES.pro);
    expect((await segmentsOf(contactIds[0]!)).data.map((s) => s.name)).toContain('temperature');
    // The API refuses to delete an attribute a segment uses; a definition can still go (an import, an old row).
    await h.platform.db.query(`DELETE FROM attribute_definitions WHERE workspace_id = $1 AND name = 'temp'`, [
      h.workspace.id,
    ]);
    const before = h.logLines.length;
    const names = (await segmentsOf(contactIds[0]!)).data.map((s) => s.name);
    expect(names).toEqual(['pro', 'big or vip, not free', 'renews before 2030', 'everyone', 'pro again']);
    const logged = h.logLines.slice(before).filter((l) => l.includes(broken));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      level: 40,
      segment_id: broken,
      code: 'unknown_attribute',
      path: 'query.value[0].field',
    });
    for (const id of [broken, after])
      await h.request('token', { method: 'DELETE', url: `/api/segments/${id}` });
  });

  it("never shows another workspace's segments, nor its contacts", async () => {
    const other = await createWorkspace(h.platform.db, h.platform.box, 'Other');
    const headers = { authorization: `Bearer ${(await createApiToken(h.platform.db, other.id, 'o')).token}` };
    await createSegment('their everyone', { operator: 'AND', value: [] }, headers);
    for (const id of contactIds) {
      expect((await segmentsOf(id)).data.map((s) => s.name)).not.toContain('their everyone');
      const theirs = await get(`/api/contacts/${id}/segments`, headers);
      expect(theirs.statusCode).toBe(404);
    }
  });

  it('an unknown contact is a 404 from the contacts module', async () => {
    const res = await get('/api/contacts/no_such_contact/segments');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'contact_not_found', message: 'no contact no_such_contact', path: 'id' },
    });
  });
});
