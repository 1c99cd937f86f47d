// Crash safety of the job queue with real worker processes (test/fixtures/job-worker.ts): a worker SIGKILLed
// mid-job loses the job to another worker once its lease runs out, the job then runs once more to completion, and
// the two runs never overlap; on PostgreSQL two worker processes draining one queue never run a job twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { createTestDb, dbKinds, type DbKind, type TestDb } from '../src/db/test-db.ts';
import { JobQueue } from '../src/jobs/queue.ts';
import { jobRepository, type JobRow } from '../src/jobs/repository.ts';
import { createSecretBox } from '../src/platform/crypto/secret-box.ts';
import { createWorkspace } from '../src/platform/workspaces/service.ts';
import type { RunRecord } from './fixtures/job-worker.ts';
import { watchChild } from './helpers/child-output.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const workerScript = join(root, 'test/fixtures/job-worker.ts');

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  ready: Promise<void>;
  exited: Promise<void>;
  output: () => string;
}

let diagnostics = () => '';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${diagnostics()}`);
    await sleep(50);
  }
}

function readRuns(dir: string): RunRecord[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as RunRecord),
    );
}

describe.each(dbKinds())('job workers that crash, on %s', (kind: DbKind) => {
  // Short enough to keep the test quick, long enough that a busy machine does not starve a live worker's heartbeat.
  // On PGlite the second worker starts only after the first died, so a longer lease costs nothing there.
  const LEASE_MS = kind === 'postgres' ? 2000 : 5000;
  const tmp = mkdtempSync(join(tmpdir(), 'settle-jobs-crash-'));
  const dataDir = join(tmp, 'data');
  const children = new Set<WorkerProcess>();
  let pg: TestDb | undefined;
  let workspaceId = '';
  diagnostics = () => [...children].map((w) => `\n--- worker ${w.pid}:\n${w.output()}`).join('');

  /** PGlite allows one process at a time: the parent opens the data dir only while no worker runs. */
  async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (pg) return fn(pg.db);
    const db = await openDb({ dataDir });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  function spawnWorker(opts: { queue: string; runsDir: string; handlerMs: number }): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WORKER_QUEUE: opts.queue,
        WORKER_RUNS_DIR: opts.runsDir,
        WORKER_HANDLER_MS: String(opts.handlerMs),
        WORKER_LEASE_MS: String(LEASE_MS),
        ...(pg?.url ? { WORKER_DATABASE_URL: pg.url } : { WORKER_DATA_DIR: dataDir }),
      },
    });
    const { ready, exited, output } = watchChild(child);
    if (child.pid === undefined) throw new Error('worker did not start');
    const w: WorkerProcess = { child, pid: child.pid, ready, exited, output };
    children.add(w);
    void exited.then(() => children.delete(w));
    return w;
  }

  async function enqueue(queue: string, count: number): Promise<number[]> {
    return withDb((db) =>
      db.transaction(async (tx) => {
        const jobs = new JobQueue(db);
        const ids: number[] = [];
        for (let i = 0; i < count; i++) {
          ids.push((await jobs.enqueue({ workspaceId, queue, payload: { i } }, tx)).id);
        }
        return ids;
      }),
    );
  }

  beforeAll(async () => {
    if (kind === 'postgres') pg = await createTestDb('postgres');
    else {
      // A file-backed copy of the migrated template: the worker processes open this directory.
      const template = process.env.SETTLE_TEST_PGLITE_TEMPLATE;
      mkdirSync(dataDir, { recursive: true });
      const pglite = await PGlite.create({
        dataDir: join(dataDir, 'pglite'),
        ...(template ? { loadDataDir: new Blob([readFileSync(template)]) } : {}),
      });
      await pglite.close();
    }
    await withDb(async (db) => {
      await migrate(db);
      const ws = await createWorkspace(db, createSecretBox(randomBytes(32)), 'Crash tests');
      workspaceId = ws.id;
    });
  });

  afterAll(async () => {
    for (const w of children) w.child.kill('SIGKILL');
    await Promise.all([...children].map((w) => w.exited));
    await pg?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('runs a job whose worker was SIGKILLed mid-job once more to completion, never twice at once', async () => {
    const runsDir = mkdtempSync(join(tmp, 'runs-'));
    const [jobId] = await enqueue('crash', 1);

    // The first worker takes the job and hangs in the handler until it is killed.
    const first = spawnWorker({ queue: 'crash', runsDir, handlerMs: 120_000 });
    await first.ready;
    await waitFor('the first worker to start the job', () =>
      readRuns(runsDir).find((r) => r.jobId === jobId && r.event === 'start') ? true : undefined,
    );

    let second: WorkerProcess | undefined;
    if (kind === 'postgres') {
      // A second worker polls the same database while the first is alive: the heartbeat keeps the lease, so it
      // must not take the job even after the lease's original length has passed twice over.
      second = spawnWorker({ queue: 'crash', runsDir, handlerMs: 50 });
      await second.ready;
      await sleep(LEASE_MS * 2);
      expect(readRuns(runsDir).filter((r) => r.jobId === jobId && r.event === 'start')).toHaveLength(1);
    }

    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();

    // On PGlite the database is free only now; on PostgreSQL the waiting worker takes over when the lease ends.
    second ??= spawnWorker({ queue: 'crash', runsDir, handlerMs: 50 });
    await second.ready;
    await waitFor('the second worker to finish the job', () =>
      readRuns(runsDir).find((r) => r.jobId === jobId && r.event === 'end') ? true : undefined,
    );
    // SIGTERM stops the worker gracefully: it finishes marking the job before it closes the database.
    second.child.kill('SIGTERM');
    await second.exited;

    const runs = readRuns(runsDir).filter((r) => r.jobId === jobId);
    const starts = runs.filter((r) => r.event === 'start');
    const ends = runs.filter((r) => r.event === 'end');
    expect(starts.map((r) => r.pid)).toEqual([first.pid, second.pid]);
    expect(ends.map((r) => r.pid)).toEqual([second.pid]);
    expect(starts[1]!.attempt).toBe(2);
    // The killed run ended when its process died; the second began after that.
    expect(starts[1]!.at).toBeGreaterThan(killedAt);
    expect(starts[1]!.at).toBeGreaterThanOrEqual(starts[0]!.at);

    const job = await withDb((db) => jobRepository.get(db, workspaceId, jobId!));
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2, lease_token: null });
    expect(job?.finished_at).toBeInstanceOf(Date);
  }, 120_000);

  it.runIf(kind === 'postgres')(
    'never runs a job in two worker processes at once, nor twice, when both drain one queue',
    async () => {
      const runsDir = mkdtempSync(join(tmp, 'runs-'));
      const a = spawnWorker({ queue: 'race', runsDir, handlerMs: 4 });
      const b = spawnWorker({ queue: 'race', runsDir, handlerMs: 4 });
      await Promise.all([a.ready, b.ready]);

      // Both workers are polling when the jobs appear, all at once.
      const ids = await enqueue('race', 200);
      await waitFor('every job to succeed', async () => {
        const res = await pg!.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1 AND queue = 'race' AND status = 'succeeded'`,
          [workspaceId],
        );
        return res.rows[0]?.n === ids.length ? true : undefined;
      });
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);

      const runs = readRuns(runsDir);
      const byJob = new Map<number, RunRecord[]>();
      for (const r of runs) byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), r]);
      expect([...byJob.keys()].sort((x, y) => x - y)).toEqual(ids);
      const twice = [...byJob.entries()].filter(
        ([, rs]) => rs.filter((r) => r.event === 'start').length !== 1,
      );
      expect(twice).toEqual([]);
      for (const rs of byJob.values()) {
        expect(rs.map((r) => r.event)).toEqual(['start', 'end']);
        expect(new Set(rs.map((r) => r.pid)).size).toBe(1);
      }
      // Both processes took part: the work was shared, not drained by whichever started first.
      const pids = new Set(runs.map((r) => r.pid));
      expect(pids).toEqual(new Set([a.pid, b.pid]));

      const rows = await pg!.db.query<Pick<JobRow, 'status' | 'attempts'>>(
        `SELECT status, attempts FROM jobs WHERE workspace_id = $1 AND queue = 'race'`,
        [workspaceId],
      );
      expect(rows.rows).toHaveLength(200);
      expect(rows.rows.every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    },
    120_000,
  );
});
