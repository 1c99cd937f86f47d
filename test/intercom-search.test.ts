// Contacts search driven only through Intercom's official SDK: every operator, nesting, null semantics, paging.
import { IntercomClient } from 'intercom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

type Query = Parameters<IntercomClient['contacts']['search']>[0]['query'];

const people = [
  {
    external_id: 'p1',
    email: 'Ada@Example.com',
    name: 'Ada Lovelace',
    custom_attributes: { plan: 'Pro', balance: 12.5, delinquent: false, renews_at: 1_800_000_000 },
  },
  {
    external_id: 'p2',
    email: 'grace@example.com',
    name: 'Grace Hopper',
    custom_attributes: { plan: 'Team', balance: 0, delinquent: true, renews_at: 1_700_000_000 },
  },
  {
    external_id: 'p3',
    email: 'alan@turing.org',
    name: 'Alan Turing',
    custom_attributes: { plan: 'Pro', balance: -3, delinquent: true },
  },
  { external_id: 'p4', email: 'linus@kernel.org', name: 'Linus', custom_attributes: { plan: 'Starter' } },
  { external_id: 'p5', email: 'kat@example.com', name: 'Katherine Johnson', custom_attributes: {} },
] as const;

describe.each(dbKinds())('intercom-client contacts.search on %s', (kind) => {
  let h: Harness;
  let client: IntercomClient;
  const idOf = new Map<string, string>();

  /** Runs a query over this test's people only (the harness has contacts of its own), walking every page. */
  async function ids(query: unknown): Promise<string[]> {
    const scoped = { operator: 'AND', value: [query, { field: 'external_id', operator: '^', value: 'p' }] };
    const out: string[] = [];
    for await (const c of await client.contacts.search({
      query: scoped as Query,
      pagination: { per_page: 2 },
    })) {
      out.push([...idOf.entries()].find(([, id]) => id === c.id)?.[0] ?? c.id);
    }
    return out.sort();
  }

  beforeAll(async () => {
    h = await createHarness(kind);
    const address = await h.server.listen({ port: 0, host: '127.0.0.1' });
    const token = h.creds.token.headers.authorization!.replace('Bearer ', '');
    client = new IntercomClient({ token, baseUrl: `${address}/api`, maxRetries: 0 });
    for (const [name, data_type] of [
      ['plan', 'string'],
      ['balance', 'float'],
      ['delinquent', 'boolean'],
      ['renews_at', 'date'],
    ] as const) {
      await client.dataAttributes.create({ name, model: 'contact', data_type } as Parameters<
        typeof client.dataAttributes.create
      >[0]);
    }
    for (const p of people) {
      const c = (await client.contacts.create({ role: 'user', ...p })) as { id: string };
      idOf.set(p.external_id, c.id);
    }
  });
  afterAll(async () => h?.close());

  const f = (field: string, operator: string, value: unknown) => ({ field, operator, value });
  const cases: [string, unknown, string[]][] = [
    ['= string', f('custom_attributes.plan', '=', 'Pro'), ['p1', 'p3']],
    ['!= (lacking counts)', f('custom_attributes.plan', '!=', 'Pro'), ['p2', 'p4', 'p5']],
    ['IN', f('custom_attributes.plan', 'IN', ['Team', 'Starter']), ['p2', 'p4']],
    ['NIN (lacking counts)', f('custom_attributes.plan', 'NIN', ['Pro', 'Team']), ['p4', 'p5']],
    ['> number', f('custom_attributes.balance', '>', 0), ['p1']],
    ['<= number', f('custom_attributes.balance', '<=', 0), ['p2', 'p3']],
    ['< date', f('custom_attributes.renews_at', '<', 1_750_000_000), ['p2']],
    ['>= date', f('custom_attributes.renews_at', '>=', 1_700_000_000), ['p1', 'p2']],
    ['~ contains, any case', f('name', '~', 'LOVE'), ['p1']],
    ['!~', f('email', '!~', 'example'), ['p3', 'p4']],
    ['^ starts with', f('email', '^', 'ada@'), ['p1']],
    ['$ ends with', f('email', '$', '.ORG'), ['p3', 'p4']],
    ['email = ignores case', f('email', '=', 'ada@example.COM'), ['p1']],
    ['= null: lacking', f('custom_attributes.balance', '=', null), ['p4', 'p5']],
    ['!= null: having', f('custom_attributes.delinquent', '!=', null), ['p1', 'p2', 'p3']],
    ['boolean', f('custom_attributes.delinquent', '=', true), ['p2', 'p3']],
    [
      'three levels of nesting',
      {
        operator: 'AND',
        value: [
          f('role', '=', 'user'),
          {
            operator: 'OR',
            value: [
              f('custom_attributes.plan', '=', 'Starter'),
              {
                operator: 'AND',
                value: [
                  f('custom_attributes.plan', '=', 'Pro'),
                  f('custom_attributes.delinquent', '=', true),
                ],
              },
            ],
          },
        ],
      },
      ['p3', 'p4'],
    ],
  ];

  it.each(cases)('%s', async (_name, query, expected) => {
    expect(await ids(query)).toEqual(expected);
  });

  it('answers a malformed query with a 400 naming the path', async () => {
    const bad = client.contacts.search({
      query: { operator: 'AND', value: [f('name', '=', 'x'), f('name', 'LIKE', 'x')] } as unknown as Query,
    });
    await expect(bad).rejects.toMatchObject({
      statusCode: 400,
      body: { error: { path: 'query.value[1].operator' } },
    });
  });
});
