// Settle as separate processes (test/fixtures/settle-worker.ts) over one database, for the Stripe convergence
// tests and the outbound send's crash test: the parent prepares the database (workspace, and for Stripe the app
// installed and connected to the emulator), then starts, kills (SIGKILL) and restarts worker processes. On PGlite
// only one process may open the data directory, so the parent opens it only while no worker runs (`withDb`).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { stripeApp } from '../../src/apps/stripe/manifest.ts';
import { loadConfig } from '../../src/config/env.ts';
import { openDb, type Db } from '../../src/db/client.ts';
import { createTestDb, type DbKind, type TestDb } from '../../src/db/test-db.ts';
import { composePlatform, createLogger } from '../../src/server/compose.ts';
import type { Platform } from '../../src/server/platform.ts';
import { createWorkspace } from '../../src/platform/workspaces/service.ts';
import type { ApplyRecord, WorkerStatus } from '../fixtures/settle-worker.ts';
import { watchChild } from './child-output.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const workerScript = join(root, 'test/fixtures/settle-worker.ts');

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  ready: Promise<void>;
  exited: Promise<void>;
  output: () => string;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export class SettleCluster {
  readonly tmp = mkdtempSync(join(tmpdir(), 'settle-cluster-'));
  readonly dataDir = join(this.tmp, 'data');
  readonly dir = join(this.tmp, 'files');
  readonly masterKey = randomBytes(32);
  readonly children = new Set<WorkerProcess>();
  /** Every worker ever started, with its output, for diagnostics after it exited. */
  readonly history: WorkerProcess[] = [];
  pg: TestDb | undefined;
  workspaceId = '';
  connectionId = '';
  port = 0;

  constructor(readonly kind: DbKind) {
    mkdirSync(this.dir, { recursive: true });
  }

  async withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.pg) return fn(this.pg.db);
    if (this.children.size > 0) throw new Error('PGlite: a worker holds the data directory');
    const db = await openDb({ dataDir: this.dataDir });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  /** Database, workspace, the Stripe app installed with `settings`, and a connection to the emulator. */
  async setUp(opts: {
    apiKey: string;
    apiBase: string;
    settings: Record<string, unknown>;
    before?: (db: Db, workspaceId: string) => Promise<void>;
  }): Promise<void> {
    await this.setUpWorkspace(async (db, workspaceId, platform) => {
      await opts.before?.(db, workspaceId);
      await platform.apps.install(workspaceId, 'stripe', opts.settings);
      const res = (await platform.apps.runAction(workspaceId, 'stripe', 'connect', true, {
        api_key: opts.apiKey,
        api_base: opts.apiBase,
      })) as { connection: { id: string } };
      this.connectionId = res.connection.id;
    });
  }

  /** Database and workspace, filled by `prepare`; no app installed unless `prepare` installs one. */
  async setUpWorkspace(
    prepare: (db: Db, workspaceId: string, platform: Platform) => Promise<void>,
  ): Promise<void> {
    if (this.kind === 'postgres') this.pg = await createTestDb('postgres');
    else {
      mkdirSync(this.dataDir, { recursive: true });
      const template = process.env.SETTLE_TEST_PGLITE_TEMPLATE;
      const pglite = await PGlite.create({
        dataDir: join(this.dataDir, 'pglite'),
        ...(template ? { loadDataDir: new Blob([readFileSync(template)]) } : {}),
      });
      await pglite.close();
    }
    this.port = await freePort();
    await this.withDb(async (db) => {
      const config = {
        ...loadConfig({}),
        dataDir: '/nonexistent',
        publicUrl: `http://127.0.0.1:${this.port}`,
        logLevel: 'warn' as const,
      };
      const platform = await composePlatform({
        config,
        db,
        registry: { stripe: stripeApp },
        log: createLogger('warn'),
        masterKey: this.masterKey,
      });
      const ws = await createWorkspace(db, platform.box, 'Convergence');
      this.workspaceId = ws.id;
      await prepare(db, ws.id, platform);
    });
  }

  /** Starts a worker process; the first one listens on the port the webhook endpoint points at. */
  spawn(opts: { port?: number; concurrency?: number; env?: Record<string, string> } = {}): WorkerProcess {
    const port = opts.port ?? this.port;
    const child = spawn(
      process.execPath,
      [
        ...(process.env.SETTLE_WORKER_PROF
          ? ['--cpu-prof', '--cpu-prof-dir', process.env.SETTLE_WORKER_PROF]
          : []),
        '--import',
        'tsx',
        workerScript,
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          WORKER_DIR: this.dir,
          WORKER_PORT: String(port),
          WORKER_MASTER_KEY: this.masterKey.toString('hex'),
          WORKER_CONCURRENCY: String(opts.concurrency ?? 6),
          ...(this.pg?.url ? { WORKER_DATABASE_URL: this.pg.url } : { WORKER_DATA_DIR: this.dataDir }),
          ...opts.env,
        },
      },
    );
    const { ready, exited, output } = watchChild(child);
    if (child.pid === undefined) throw new Error('worker did not start');
    const w: WorkerProcess = { child, pid: child.pid, port, ready, exited, output };
    this.children.add(w);
    this.history.push(w);
    void exited.then(() => this.children.delete(w));
    return w;
  }

  async kill(w: WorkerProcess): Promise<void> {
    w.child.kill('SIGKILL');
    await w.exited;
  }

  async stop(w: WorkerProcess): Promise<void> {
    w.child.kill('SIGTERM');
    await w.exited;
  }

  /** The newest status any live worker wrote. */
  status(): WorkerStatus | undefined {
    let best: WorkerStatus | undefined;
    for (const w of this.children) {
      const f = join(this.dir, `status-${w.pid}.json`);
      if (!existsSync(f)) continue;
      try {
        const s = JSON.parse(readFileSync(f, 'utf8')) as WorkerStatus;
        if (!best || s.at > best.at) best = s;
      } catch {
        // being rewritten
      }
    }
    return best;
  }

  /**
   * Quiescence: no due job, `catchUpRounds` catch-up runs finished after the call (so events whose deliveries
   * were lost are enqueued), and still no due job after them.
   */
  async quiesce(opts: {
    idle: () => Promise<void>;
    catchUpRounds?: number;
    timeoutMs?: number;
  }): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 240_000);
    await opts.idle();
    const since = Date.now();
    let base: number | undefined;
    for (;;) {
      if (Date.now() > deadline)
        throw new Error(`no quiescence: ${JSON.stringify(this.status())}${this.diagnostics()}`);
      await sleep(200);
      const s = this.status();
      // Catch-up runs are counted only when nothing is due, so a count is also a moment of no due job.
      if (!s || s.at < since || s.catchUpRuns === null) continue;
      base ??= s.catchUpRuns;
      if (s.due === 0 && s.catchUpRuns >= base + (opts.catchUpRounds ?? 2)) {
        await opts.idle();
        await sleep(400);
        const again = this.status();
        if (again && again.due === 0) return;
      }
    }
  }

  /** Waits until the workers have no due job (a status written after the call says so). */
  async drained(timeoutMs = 240_000): Promise<void> {
    const since = Date.now();
    const deadline = since + timeoutMs;
    for (;;) {
      const s = this.status();
      if (s && s.at > since && s.due === 0) return;
      if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(s)}${this.diagnostics()}`);
      await sleep(100);
    }
  }

  applies(): ApplyRecord[] {
    return readdirSync(this.dir)
      .filter((f) => f.startsWith('applies-'))
      .flatMap((f) =>
        readFileSync(join(this.dir, f), 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as ApplyRecord),
      );
  }

  diagnostics(): string {
    return this.history.map((w) => `\n--- worker ${w.pid}:\n${w.output().slice(-4000)}`).join('');
  }

  async close(): Promise<void> {
    for (const w of this.children) w.child.kill('SIGKILL');
    await Promise.all([...this.children].map((w) => w.exited));
    await this.pg?.close();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
