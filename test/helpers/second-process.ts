// A second Settle process in the test's own: its own pool, platform and server over the harness's PostgreSQL
// database, as a second `settle start` would be. For what must cross processes (live events).
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/env.ts';
import { openDb, type Db } from '../../src/db/client.ts';
import { buildServer } from '../../src/server/app.ts';
import { composePlatform, createLogger } from '../../src/server/compose.ts';
import type { LiveBus } from '../../src/server/live-bus.ts';
import { testMasterKey, type Harness } from './harness.ts';

export interface SecondProcess {
  server: FastifyInstance;
  db: Db;
  /** `http://127.0.0.1:PORT` of its server. */
  base: string;
  bus: LiveBus;
  close(): Promise<void>;
}

/**
 * Starts it and resolves once both processes relay live events (composePlatform starts the relay): an event
 * published before a process listens never reaches it. `applicationName` names its connections in
 * pg_stat_activity, so a test can cut them.
 */
export async function startSecondProcess(
  h: Harness,
  opts: { applicationName?: string } = {},
): Promise<SecondProcess> {
  const url = new URL(h.testDb.url ?? '');
  if (!h.testDb.url) throw new Error('a second process needs the harness on PostgreSQL');
  if (opts.applicationName) url.searchParams.set('application_name', opts.applicationName);
  const db = await openDb({ databaseUrl: url.toString(), dataDir: '/nonexistent', poolSize: 4 });
  const platform = await composePlatform({
    config: { ...loadConfig({}), dataDir: '/nonexistent', logLevel: 'warn' as const },
    db,
    registry: {},
    log: createLogger('warn'),
    masterKey: testMasterKey,
  });
  const server = await buildServer(platform);
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  for (const bus of [platform.bus, h.platform.bus]) {
    if (!bus.relaying) throw new Error('live events are not relayed on this database');
    await bus.relaying;
  }
  return {
    server,
    db,
    base,
    bus: platform.bus,
    async close() {
      await server.close();
      await db.close();
    },
  };
}
