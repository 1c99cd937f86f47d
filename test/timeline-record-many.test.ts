// `host.timeline.recordMany` (the app SDK): many timeline entries in one statement, with `record`'s rule of one
// entry per idempotency key, whether a key is repeated in one call, recorded by an earlier call, or recorded by
// another caller at the same moment. On PostgreSQL the concurrent calls below really overlap (a table lock lets them
// go together): with their keys inserted in the order given instead of one order, they deadlock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atOnce } from '../src/db/test-at-once.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { EXAMPLE_APP, fixtureRegistry } from './helpers/fixture-app.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const AT = 1_700_000_000;

describe.each(dbKinds())('timeline.recordMany on %s', (kind) => {
  let h: Harness;
  const host = () => h.platform.apps.host(h.workspace.id, EXAMPLE_APP);
  const entry = (contactId: string, key: string, n = 0) => ({
    contactId,
    event: {
      name: 'example_happened',
      createdAt: new Date((AT + n) * 1000),
      metadata: { key, n },
      idempotencyKey: key,
    },
  });
  /** The rows whose (app) key starts with the prefix, by key. */
  const rows = async (prefix: string) => {
    const r = await h.platform.db.query<{
      key: string;
      contact_id: string;
      name: string;
      created_at: Date;
      metadata: Record<string, unknown>;
      source: string;
    }>(
      `SELECT idempotency_key AS key, contact_id, name, created_at, metadata, source FROM contact_events
        WHERE workspace_id = $1 AND starts_with(idempotency_key, $2) ORDER BY idempotency_key, id`,
      [h.workspace.id, `${EXAMPLE_APP}:${prefix}`],
    );
    return r.rows;
  };

  const atOnceOnEvents = <T>(calls: readonly (() => Promise<T>)[]) =>
    atOnce(h.platform.db, kind, { table: 'contact_events', statement: 'INSERT INTO contact_events' }, calls);

  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
    const res = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/install`,
      payload: { settings: {} },
    });
    expect(res.statusCode).toBe(200);
  });
  afterAll(async () => h?.close());

  it('records new entries on their contacts and answers how many were new', async () => {
    const { userContactId: user, leadContactId: lead } = h.ids;
    expect(await host().timeline.recordMany([])).toBe(0);
    expect(
      await host().timeline.recordMany([
        entry(user, 'new-1', 1),
        entry(lead, 'new-2', 2),
        entry(user, 'new-3', 3),
      ]),
    ).toBe(3);
    expect(await rows('new-')).toEqual([
      {
        key: `${EXAMPLE_APP}:new-1`,
        contact_id: user,
        name: 'example_happened',
        created_at: new Date((AT + 1) * 1000),
        metadata: { key: 'new-1', n: 1 },
        source: EXAMPLE_APP,
      },
      expect.objectContaining({
        key: `${EXAMPLE_APP}:new-2`,
        contact_id: lead,
        metadata: { key: 'new-2', n: 2 },
      }),
      expect.objectContaining({
        key: `${EXAMPLE_APP}:new-3`,
        contact_id: user,
        metadata: { key: 'new-3', n: 3 },
      }),
    ]);
    // The timeline a teammate reads.
    const res = await h.request('teammate', { method: 'GET', url: `/api/contacts/${lead}/events` });
    expect((res.json() as { events: unknown[] }).events).toEqual([
      expect.objectContaining({ event_name: 'example_happened', created_at: AT + 2, source: EXAMPLE_APP }),
    ]);
  });

  it('ignores a key repeated within one call (the first given stays) and keys recorded before', async () => {
    const user = h.ids.userContactId;
    expect(
      await host().timeline.recordMany([
        entry(user, 'rep-b', 1),
        entry(user, 'rep-a', 2),
        entry(user, 'rep-b', 3),
        entry(user, 'rep-a', 4),
      ]),
    ).toBe(2);
    expect((await rows('rep-')).map((r) => [r.key, r.metadata.n])).toEqual([
      [`${EXAMPLE_APP}:rep-a`, 2],
      [`${EXAMPLE_APP}:rep-b`, 1],
    ]);
    // Across calls, and across `record` and `recordMany` both ways.
    expect(await host().timeline.recordMany([entry(user, 'rep-a', 5), entry(user, 'rep-c', 6)])).toBe(1);
    expect(
      await host().timeline.recordMany([entry(user, 'rep-a'), entry(user, 'rep-b'), entry(user, 'rep-c')]),
    ).toBe(0);
    expect(await host().timeline.record(user, entry(user, 'rep-c').event)).toBe(false);
    expect(await host().timeline.record(user, entry(user, 'rep-d', 7).event)).toBe(true);
    expect(await host().timeline.recordMany([entry(user, 'rep-d'), entry(user, 'rep-e', 8)])).toBe(1);
    expect((await rows('rep-')).map((r) => [r.key, r.metadata.n])).toEqual([
      [`${EXAMPLE_APP}:rep-a`, 2],
      [`${EXAMPLE_APP}:rep-b`, 1],
      [`${EXAMPLE_APP}:rep-c`, 6],
      [`${EXAMPLE_APP}:rep-d`, 7],
      [`${EXAMPLE_APP}:rep-e`, 8],
    ]);
  });

  it('records each key once when two calls with overlapping keys run at once, their counts adding up', async () => {
    const { userContactId: user, leadContactId: lead } = h.ids;
    for (let round = 0; round < 5; round++) {
      const key = (i: number) => `race${round}-${String(i).padStart(3, '0')}`;
      // 0–79 and 40–119, the second in the opposite order and with a repeat: 40 keys wanted by both.
      const first = Array.from({ length: 80 }, (_, i) => entry(user, key(i), i));
      const second = Array.from({ length: 80 }, (_, i) => entry(lead, key(119 - i), 119 - i));
      second.push(entry(lead, key(60), 60));
      const counts = await atOnceOnEvents([
        () => host().timeline.recordMany(first),
        () => host().timeline.recordMany(second),
      ]);
      const recorded = await rows(`race${round}-`);
      expect(recorded.map((r) => r.key)).toEqual(
        Array.from({ length: 120 }, (_, i) => `${EXAMPLE_APP}:${key(i)}`),
      );
      expect(counts[0]! + counts[1]!, `round ${round}: ${counts.join(' + ')}`).toBe(120);
      // Each call recorded at least the keys only it had.
      expect(counts[0]).toBeGreaterThanOrEqual(40);
      expect(counts[1]).toBeGreaterThanOrEqual(40);
    }
  });

  it('refuses an undeclared event, or an entry on a deleted contact, as record does, recording nothing', async () => {
    const user = h.ids.userContactId;
    await expect(
      host().timeline.recordMany([
        entry(user, 'bad-1'),
        { contactId: user, event: { ...entry(user, 'bad-2').event, name: 'charged' } },
      ]),
    ).rejects.toThrow(/did not declare event charged/);
    const made = await h.request('token', {
      method: 'POST',
      url: '/api/contacts',
      payload: { role: 'user', email: 'gone@example.com' },
    });
    const gone = (made.json() as { id: string }).id;
    expect((await h.request('token', { method: 'DELETE', url: `/api/contacts/${gone}` })).statusCode).toBe(
      200,
    );
    // `record` fails on the contact's foreign key; `recordMany` fails the same way, for the whole call.
    await expect(host().timeline.record(gone, entry(gone, 'bad-3').event)).rejects.toThrow(/foreign key/);
    await expect(host().timeline.recordMany([entry(user, 'bad-4'), entry(gone, 'bad-5')])).rejects.toThrow(
      /foreign key/,
    );
    expect(await rows('bad-')).toEqual([]);
    // The call can be made again once the entry is left out.
    expect(await host().timeline.recordMany([entry(user, 'bad-4')])).toBe(1);
  });
});
