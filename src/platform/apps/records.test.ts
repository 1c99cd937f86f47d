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

  it('purges the records under a key prefix, tombstones included, and nothing else', async () => {
    const c = host.records<{ n: number }>('purged');
    const other = host.records<{ n: number }>('kept');
    const rows = Array.from({ length: 1203 }, (_, i) => ({ key: `acct_a:${i}`, data: { n: i } }));
    await c.putMany(rows);
    await c.put('acct_ab:1', { n: 1 });
    await c.put('acct_b:1', { n: 1 });
    await c.remove('acct_a:0', { version: 9 });
    await other.put('acct_a:1', { n: 1 });
    // Steps of 1,000: more than one statement's worth.
    expect(await c.purge('acct_a:')).toBe(1203);
    expect(await c.get('acct_a:0')).toBeUndefined();
    expect((await c.list()).map((r) => r.key).sort()).toEqual(['acct_ab:1', 'acct_b:1']);
    expect(await other.get('acct_a:1')).toBeDefined();
    await expect(c.purge('')).rejects.toThrow(/prefix/);
  });

  it('lists the records another collection has no live record for, by prefix, index and key', async () => {
    const people = host.records<{ n: number }>('lw_people');
    const badges = host.records<{ n: number }>('lw_badges');
    for (const k of ['a:1', 'a:2', 'a:3', 'a:4', 'b:1'])
      await people.put(k, { n: 1 }, { b: k === 'a:4' ? null : 'x' });
    await badges.put('a:1', { n: 1 });
    await badges.put('a:2', { n: 1 });
    await badges.remove('a:2'); // a tombstone is no badge
    const keys = (rs: { key: string }[]) => rs.map((r) => r.key);
    expect(keys(await people.listWithout('lw_badges', { prefix: 'a:' }))).toEqual(['a:2', 'a:3', 'a:4']);
    expect(keys(await people.listWithout('lw_badges', { prefix: 'a:', indexed: 'b' }))).toEqual([
      'a:2',
      'a:3',
    ]);
    expect(keys(await people.listWithout('lw_badges', { prefix: 'a:', after: 'a:2', limit: 1 }))).toEqual([
      'a:3',
    ]);
    await people.remove('a:3');
    expect(keys(await people.listWithout('lw_badges'))).toEqual(['a:2', 'a:4', 'b:1']);
    // Another workspace's records are not this one's.
    const other = h.platform.apps.host('elsewhere', 'store').records<{ n: number }>('lw_people');
    expect(await other.listWithout('lw_badges')).toEqual([]);
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

  it('answers many gets and finds at once with the versions those reads see, and nothing of another workspace', async () => {
    const subs = host.records<{ n: number }>('probe_subs');
    const cus = host.records<{ n: number }>('probe_cus');
    for (let i = 0; i < 5; i++) await subs.put(`s${i}`, { n: i }, { version: 10 + i, a: 'cus_a' });
    await subs.put('s9', { n: 9 }, { version: 3, b: 'x@example.com' });
    await cus.put('cus_a', { n: 1 }, { version: 42 });
    await cus.remove('cus_gone', { version: 8 });
    await subs.remove('s1', { version: 20 });
    const other = await h.platform.db.query<{ id: string }>(
      `INSERT INTO workspaces (id, name, app_id, messenger_secret) VALUES ('ws_probe', 'Probe', 'probe_app', 'x') RETURNING id`,
    );
    await h.platform.apps
      .host(other.rows[0]!.id, 'store')
      .records('probe_subs')
      .put('s7', { n: 7 }, { version: 1, a: 'cus_a' });

    const probes = [
      { collection: 'probe_cus', key: 'cus_a' },
      { collection: 'probe_cus', key: 'cus_gone' },
      { collection: 'probe_cus', key: 'cus_never' },
      { collection: 'probe_subs', index: 'a' as const, value: 'cus_a', limit: 100 },
      { collection: 'probe_subs', index: 'a' as const, value: 'cus_a', limit: 2 },
      { collection: 'probe_subs', index: 'b' as const, value: 'x@example.com', limit: 10 },
      { collection: 'probe_cus', index: 'a' as const, value: 'cus_a', limit: 10 },
    ];
    const seen = await host.recordVersions(probes);
    expect(seen).toEqual([
      [{ key: 'cus_a', version: 42, deleted: false }],
      [{ key: 'cus_gone', version: 8, deleted: true }],
      [],
      // As find reads: live records in key order (the tombstone s1 and the other workspace's s7 are left out).
      [
        { key: 's0', version: 10, deleted: false },
        { key: 's2', version: 12, deleted: false },
        { key: 's3', version: 13, deleted: false },
        { key: 's4', version: 14, deleted: false },
      ],
      [
        { key: 's0', version: 10, deleted: false },
        { key: 's2', version: 12, deleted: false },
      ],
      [{ key: 's9', version: 3, deleted: false }],
      [],
    ]);
    // The same answers as the reads themselves.
    const found = await subs.find('a', 'cus_a');
    expect(found.map((r) => [r.key, r.version])).toEqual(seen[3]!.map((r) => [r.key, r.version]));
    expect(await host.recordVersions([])).toEqual([]);
    // Many probes at once (sent another way past a dozen) answer the same, in order, data included.
    const many = Array.from({ length: 5 }, () => probes).flat();
    expect(await host.recordVersions(many)).toEqual(Array.from({ length: 5 }, () => seen).flat());
    const read = await host.readRecords(many);
    expect(read.map((rs) => rs.map((r) => ({ key: r.key, version: r.version, deleted: r.deleted })))).toEqual(
      Array.from({ length: 5 }, () => seen).flat(),
    );
    expect(read[0]![0]!.data).toEqual({ n: 1 });
  });
});
