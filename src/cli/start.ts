import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/env.ts';
import { openDb } from '../db/client.ts';
import { appRegistry } from '../apps/registry.ts';
import { seedDemoSegments } from '../platform/demo/segments.ts';
import { seedDemo } from '../platform/demo/seed.ts';
import { createTeammate } from '../platform/teammates/service.ts';
import { workspaceRepository } from '../platform/workspaces/repository.ts';
import { createWorkspace } from '../platform/workspaces/service.ts';
import { buildServer } from '../server/app.ts';
import { composePlatform } from '../server/compose.ts';
import { ensureAllAttributeIndexes } from '../platform/search/repository.ts';
import type { Platform } from '../server/platform.ts';
import { acquireLock } from './lock.ts';
import { startEmulator, type RunningEmulator } from '../emulator/index.ts';
import { randomBytes } from 'node:crypto';
import { startJobRetention, type Retention } from '../jobs/retention.ts';
import { trackPendingRequests } from '../server/pending-requests.ts';

const credentialsFile = (config: Config) => join(config.dataDir, 'demo-admin.json');

/**
 * The demo's logins as kept in ./data/demo-admin.json (mode 0600). The admin's stay at the top level, as the file
 * has always had them; `teammate` (Sam, so the inbox can be tried as a teammate too) is absent from files written
 * before it was added.
 */
interface DemoCredentials {
  email: string;
  password: string;
  teammate?: { email: string; password: string };
}

function demoLoginLines(c: DemoCredentials): string[] {
  return [
    `Demo admin login: ${c.email} / ${c.password}`,
    ...(c.teammate ? [`Demo teammate login: ${c.teammate.email} / ${c.teammate.password}`] : []),
  ];
}

/** First start on an empty database: the demo, or an empty workspace whose admin password is shown once. */
async function firstStart(
  platform: Platform,
  config: Config,
): Promise<{ lines: string[]; demoWorkspaceId?: string }> {
  const lines: string[] = [];
  if (await workspaceRepository.first(platform.db)) {
    // Printed on every start while the demo is on (SETTLE_DEMO=0 stops showing them, the file stays).
    if (config.demo && existsSync(credentialsFile(config))) {
      lines.push(
        ...demoLoginLines(JSON.parse(readFileSync(credentialsFile(config), 'utf8')) as DemoCredentials),
      );
    }
    return { lines };
  }
  if (config.demo) {
    const demo = await seedDemo(platform.db, platform.box, platform.conversations);
    if (demo) {
      const credentials: DemoCredentials = {
        email: demo.adminEmail,
        password: demo.adminPassword,
        teammate: { email: demo.teammateEmail, password: demo.teammatePassword },
      };
      writeFileSync(credentialsFile(config), JSON.stringify(credentials), { mode: 0o600 });
      // writeFileSync's mode applies only when it creates the file (and under the umask): make sure.
      chmodSync(credentialsFile(config), 0o600);
      lines.push(...demoLoginLines(credentials));
    }
    return { lines, demoWorkspaceId: demo?.workspaceId };
  }
  const ws = await createWorkspace(platform.db, platform.box, 'Settle');
  const password = randomBytes(12).toString('base64url');
  await createTeammate(platform.db, ws.id, {
    email: 'admin@settle.local',
    name: 'Admin',
    role: 'admin',
    password,
  });
  lines.push(
    `Created workspace and admin: admin@settle.local / ${password}  (shown once: change it after logging in)`,
  );
  return { lines };
}

export async function startCommand(config: Config): Promise<void> {
  const release = config.databaseUrl ? () => undefined : acquireLock(config.dataDir);
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.preparedStatements,
  });
  const platform = await composePlatform({ config, db, registry: appRegistry });
  // Search indexes for every attribute defined (cheap when they exist; builds missing ones after an upgrade).
  await ensureAllAttributeIndexes(db);
  const { lines: notes, demoWorkspaceId } = await firstStart(platform, config);
  // The demo's Stripe: the built-in emulator with demo data, its state kept beside the database.
  let emulator: RunningEmulator | undefined;
  if (config.demo) {
    emulator = await startEmulator({
      port: config.emulatorPort,
      demo: true,
      stateFile: join(config.dataDir, 'emulator.json'),
    });
    notes.push(`Stripe emulator: ${emulator.url} (key ${emulator.key}, test mode)`);
  }
  const server = await buildServer(platform);
  const pendingRequests = trackPendingRequests(server.server);
  let retention: Retention | undefined;
  if (config.workers > 0) {
    platform.jobs.startWorker({
      concurrency: config.workers,
      prefetch: Math.ceil(config.workers / 2),
      // Jobs wait a moment while requests do (a burst of webhooks): docs/architecture.md, "Jobs".
      yieldWhile: () => pendingRequests.busy(),
      onError: (err) => platform.log.warn({ err }, 'job failed'),
    });
    // A process without workers leaves maintenance to those with them.
    retention = startJobRetention({
      db,
      retentionDays: config.jobRetentionDays,
      workspaces: () => workspaceRepository.ids(db),
      onPruned: (workspaceId, deleted) =>
        platform.log.info({ workspaceId, deleted }, 'finished jobs past retention deleted'),
      onError: (err) => platform.log.warn({ err }, 'job retention round failed; retried next hour'),
    });
  }
  await server.listen({ port: config.port, host: config.host });
  // §3.9: on the demo's first start, connect the emulator as the primary (test mode) account and sync it. The
  // emulator posts webhooks to config.publicUrl, so that must reach this server (it does by default).
  if (demoWorkspaceId && emulator) {
    try {
      await platform.apps.install(demoWorkspaceId, 'stripe', {});
      await platform.apps.runAction(demoWorkspaceId, 'stripe', 'connect', true, {
        api_key: emulator.key,
        api_base: emulator.url,
      });
      notes.push('Stripe: the emulator is connected and syncing (contacts get stripe_* attributes shortly)');
      await seedDemoSegments(platform.db, demoWorkspaceId);
    } catch (err) {
      platform.log.warn({ err }, 'demo: connecting the Stripe emulator failed');
    }
  }

  const url = config.publicUrl;
  const appId = (await workspaceRepository.first(platform.db))?.app_id;
  const out = [
    '',
    `Settle is running (${db.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`,
    `  Inbox:          ${url}/inbox/`,
    `  Messenger demo: ${url}/messenger/demo.html${appId ? `?app_id=${appId}` : ''}`,
    `  API:            ${url}/api  (create a token: npx settle tokens create --name NAME)`,
    ...notes.map((n) => `  ${n}`),
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await emulator?.close();
    await retention?.stop();
    await platform.jobs.stopAll();
    await db.close();
    release();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
