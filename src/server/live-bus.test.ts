import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapPool, type Db } from '../db/client.ts';
import { createTestDb, dbKinds, type TestDb } from '../db/test-db.ts';
import { LiveBus, type LiveEvent } from './live-bus.ts';

const quiet = pino({ level: 'silent' });

/** Resolves with the events `bus` delivers for the workspace once `n` arrived (or what arrived in `ms`). */
function collect(bus: LiveBus, workspaceId: string, n: number, ms = 5000): Promise<LiveEvent[]> {
  return new Promise((resolve) => {
    const got: LiveEvent[] = [];
    const done = () => {
      clearTimeout(timer);
      off();
      resolve(got);
    };
    const off = bus.subscribe(workspaceId, (e) => {
      got.push(e);
      if (got.length >= n) done();
    });
    const timer = setTimeout(done, ms);
  });
}

describe.skipIf(!dbKinds().includes('postgres'))('live events across processes (PostgreSQL)', () => {
  let t: TestDb;
  let dbs: Db[];
  let a: LiveBus;
  let b: LiveBus;
  beforeAll(async () => {
    t = await createTestDb('postgres');
    // Two pools stand for two Settle processes.
    dbs = ['a', 'b'].map((p) =>
      wrapPool(new pg.Pool({ connectionString: t.url, max: 3, application_name: `settle_live_${p}` })),
    );
    [a, b] = [new LiveBus(), new LiveBus()];
    await Promise.all([a.relay(dbs[0]!, quiet), b.relay(dbs[1]!, quiet)]);
  });
  afterAll(async () => {
    for (const db of dbs ?? []) await db.close();
    await t?.close();
  });

  it("delivers one process's events to the other's subscribers, once, in order", async () => {
    const atB = collect(b, 'ws_1', 3);
    const atA = collect(a, 'ws_1', 4, 1500);
    const otherWorkspace = collect(b, 'ws_2', 1, 1500);
    for (const i of [1, 2, 3])
      a.publish({ type: 'message.created', workspace_id: 'ws_1', conversation_id: 'c1', data: { i } });
    expect((await atB).map((e) => (e.data as { i: number }).i)).toEqual([1, 2, 3]);
    // Its own process hears each event once (at once, not again through the database).
    expect((await atA).map((e) => (e.data as { i: number }).i)).toEqual([1, 2, 3]);
    expect(await otherWorkspace).toEqual([]);
  });

  it('sends a message too long for a notification without its body, keeping its ids and kind', async () => {
    const atB = collect(b, 'ws_1', 1);
    const data = { id: 'm1', conversation_id: 'c1', kind: 'comment', body: 'x'.repeat(20_000) };
    a.publish({ type: 'message.created', workspace_id: 'ws_1', conversation_id: 'c1', data });
    expect(await atB).toEqual([
      {
        type: 'message.created',
        workspace_id: 'ws_1',
        conversation_id: 'c1',
        data: { id: 'm1', conversation_id: 'c1', kind: 'comment' },
        data_omitted: true,
      },
    ]);
  });

  it('listens again after its connection is lost', async () => {
    // The server drops both listening connections, as a restart or a failover would.
    await t.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
    );
    let received: LiveEvent[] = [];
    for (let i = 0; i < 60 && received.length === 0; i++) {
      const atB = collect(b, 'ws_1', 1, 250);
      a.publish({ type: 'conversation.updated', workspace_id: 'ws_1', conversation_id: 'c2' });
      // Once back, it first tells its streams to reload (`resync`, the next tests), then relays again.
      received = (await atB).filter((e) => e.type !== 'resync');
    }
    expect(received[0]).toMatchObject({ type: 'conversation.updated', conversation_id: 'c2' });
  }, 30_000);

  it("tells every process's streams to reload once the relay is back, if an event could not be relayed meanwhile", async () => {
    // A third process whose logger the test reads, to know when its relay connection is down.
    const logged: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          logged.push(String(chunk));
          cb();
        },
      }),
    );
    const db = wrapPool(new pg.Pool({ connectionString: t.url, max: 1, application_name: 'settle_live_c' }));
    dbs.push(db);
    const c = new LiveBus();
    await c.relay(db, log);
    const atB = collect(b, 'ws_9', 2, 15_000);
    const atC = collect(c, 'ws_9', 1, 15_000);
    await t.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'settle_live_c'`,
    );
    for (let i = 0; i < 100 && !logged.some((l) => l.includes('relay connection lost')); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // Published while c cannot relay: b never gets it, so b's streams must be told to reload instead.
    c.publish({ type: 'message.created', workspace_id: 'ws_9', conversation_id: 'c9', data: { id: 'm9' } });
    const [atCEvents, atBEvents] = await Promise.all([atC, atB]);
    // c's own streams got the event at once; b's got a resync once c was back. Neither got the lost event twice.
    expect(atCEvents.map((e) => e.type)).toEqual(['message.created']);
    expect(atBEvents.map((e) => e.type)).toEqual(['resync']);
    expect(logged.some((l) => l.includes('could not relay an event'))).toBe(true);
  }, 30_000);

  it('a process that lost its relay connection tells its own streams to reload', async () => {
    const atB = collect(b, 'ws_3', 1, 15_000);
    await t.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'settle_live_b'`,
    );
    expect((await atB).map((e) => e.type)).toEqual(['resync']);
  }, 30_000);
});
