import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineApp, type AppHost } from '../../app-sdk/index.ts';
import { dbKinds } from '../../db/test-db.ts';
import { createHarness, type Harness } from '../../../test/helpers/harness.ts';

const storeApp = defineApp({
  id: 'store',
  name: 'Store',
  description: 'exercises the record store',
  settings: z.object({}),
  secrets: [],
  attributes: [],
  events: [],
  cards: { sidebar: [], messenger: [] },
  webhooks: [],
  jobs: {},
  tools: [],
});

describe.each(dbKinds())('app records on %s', (kind) => {
  let h: Harness;
  let host: AppHost;
  beforeAll(async () => {
    h = await createHarness(kind, { registry: { store: storeApp } });
    host = h.platform.apps.host(h.workspace.id, 'store');
  });
  afterAll(async () => h?.close());

  it('keeps the newest version whatever order writes arrive in', async () => {
    const c = host.records<{ plan: string }>('customers');
    expect(await c.put('cus_1', { plan: 'v5' }, { version: 5 })).toBe(true);
    expect(await c.put('cus_1', { plan: 'v3' }, { version: 3 })).toBe(false);
    expect((await c.get('cus_1'))?.data).toEqual({ plan: 'v5' });
    expect(await c.put('cus_1', { plan: 'v7' }, { version: 7 })).toBe(true);
    expect((await c.get('cus_1'))?.data).toEqual({ plan: 'v7' });
  });

  it('leaves a tombstone so an older late write cannot bring a deleted record back', async () => {
    const c = host.records<{ plan: string }>('tomb');
    await c.put('cus_2', { plan: 'a' }, { version: 1 });
    expect(await c.remove('cus_2', { version: 4 })).toBe(true);
    expect(await c.put('cus_2', { plan: 'late' }, { version: 3 })).toBe(false);
    expect(await c.put('cus_2', { plan: 'same' }, { version: 4 })).toBe(false);
    expect((await c.get('cus_2'))?.deleted).toBe(true);
    expect(await c.count()).toBe(0);
  });

  it('finds by index and pages by key, within one workspace and app only', async () => {
    const c = host.records<{ n: number }>('paged');
    for (let i = 0; i < 7; i++) await c.put(`k${i}`, { n: i }, { a: i % 2 === 0 ? 'even' : 'odd' });
    expect((await c.find('a', 'even')).map((r) => r.data.n)).toEqual([0, 2, 4, 6]);
    const first = await c.list({ limit: 4 });
    const rest = await c.list({ after: first.at(-1)?.key, limit: 4 });
    expect([...first, ...rest].map((r) => r.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    const other = await h.platform.db.query<{ id: string }>(
      `INSERT INTO workspaces (id, name, app_id, messenger_secret) VALUES ('ws_other', 'Other', 'other_app', 'x') RETURNING id`,
    );
    const otherHost = h.platform.apps.host(other.rows[0]!.id, 'store');
    expect(await otherHost.records('paged').count()).toBe(0);
  });
});
