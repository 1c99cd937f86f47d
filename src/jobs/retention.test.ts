import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/helpers/harness.ts';
import { ConfigError, loadConfig } from '../config/env.ts';
import { dbKinds } from '../db/test-db.ts';
import { workspaceRepository } from '../platform/workspaces/repository.ts';
import { createWorkspace } from '../platform/workspaces/service.ts';
import { jobRepository } from './repository.ts';
import { startJobRetention } from './retention.ts';

describe('SETTLE_JOB_RETENTION_DAYS', () => {
  it('defaults to 35 days and refuses a window shorter than Stripe keeps events, naming the variable', () => {
    expect(loadConfig({}).jobRetentionDays).toBe(35);
    expect(loadConfig({ SETTLE_JOB_RETENTION_DAYS: '90' }).jobRetentionDays).toBe(90);
    expect(() => loadConfig({ SETTLE_JOB_RETENTION_DAYS: '7' })).toThrow(ConfigError);
    expect(() => loadConfig({ SETTLE_JOB_RETENTION_DAYS: '7' })).toThrow(
      /SETTLE_JOB_RETENTION_DAYS: must be at least 31 days/,
    );
    expect(() => loadConfig({ SETTLE_JOB_RETENTION_DAYS: 'forever' })).toThrow(/SETTLE_JOB_RETENTION_DAYS/);
  });
});

describe.each(dbKinds())('job retention on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A job in the given state, `daysAgo` days after it last changed. */
  async function job(
    ws: string,
    state: 'queued' | 'running' | 'succeeded' | 'dead',
    daysAgo: number,
    key?: string,
  ) {
    const { id } = await jobRepository.insert(h.platform.db, {
      workspaceId: ws,
      queue: 'retention-test',
      payload: { state, daysAgo },
      ...(key ? { dedupeKey: key } : {}),
    });
    const finished = state === 'succeeded' || state === 'dead';
    await h.platform.db.query(
      `UPDATE jobs SET status = $3, run_at = now() - make_interval(days => $4), updated_at = now() - make_interval(days => $4),
         created_at = now() - make_interval(days => $4 + 1),
         finished_at = CASE WHEN $5 THEN now() - make_interval(days => $4) END,
         locked_until = CASE WHEN $3 = 'running' THEN now() + interval '1 minute' END
       WHERE workspace_id = $1 AND id = $2`,
      [ws, id, state, daysAgo, finished],
    );
    return id;
  }

  const remaining = async (ws: string) =>
    (
      await h.platform.db.query<{ id: string }>(
        `SELECT id FROM jobs WHERE workspace_id = $1 AND queue = 'retention-test' ORDER BY id`,
        [ws],
      )
    ).rows.map((r) => Number(r.id));

  it('deletes jobs finished before the window in every workspace, in batches, and keeps the rest', async () => {
    const other = await createWorkspace(h.platform.db, h.platform.box, 'Retention elsewhere');
    const mine = h.workspace.id;
    const oldDone = [
      await job(mine, 'succeeded', 40),
      await job(mine, 'succeeded', 36),
      await job(mine, 'dead', 50),
    ];
    const kept = [
      await job(mine, 'succeeded', 20), // finished inside the window
      await job(mine, 'dead', 1),
      await job(mine, 'queued', 60), // waiting for a long time: never finished, never pruned
      await job(mine, 'running', 45),
    ];
    const otherOld = [await job(other.id, 'succeeded', 100), await job(other.id, 'dead', 40)];
    const otherKept = await job(other.id, 'succeeded', 2);

    const pruned: [string, number][] = [];
    const retention = startJobRetention({
      db: h.platform.db,
      retentionDays: 35,
      workspaces: () => workspaceRepository.ids(h.platform.db),
      onPruned: (ws, n) => pruned.push([ws, n]),
      batch: 2, // three old jobs in one workspace: two statements
      firstDelayMs: 3_600_000,
    });
    try {
      expect(await retention.runOnce()).toBeGreaterThanOrEqual(oldDone.length + otherOld.length);
      expect(await remaining(mine)).toEqual(kept);
      expect(await remaining(other.id)).toEqual([otherKept]);
      expect(pruned).toContainEqual([mine, oldDone.length]);
      expect(pruned).toContainEqual([other.id, otherOld.length]);
      // Nothing left to do: a second round deletes nothing.
      expect(await retention.runOnce()).toBe(0);
    } finally {
      await retention.stop();
    }
  });

  it('a finished job inside the window still makes a repeated enqueue a no-op; past it, the key is free', async () => {
    const ws = h.workspace.id;
    const recent = await job(ws, 'succeeded', 30, 'event:conn:evt_recent');
    const old = await job(ws, 'succeeded', 40, 'event:conn:evt_old');
    const retention = startJobRetention({
      db: h.platform.db,
      retentionDays: 35,
      workspaces: async () => [ws],
      firstDelayMs: 3_600_000,
    });
    try {
      await retention.runOnce();
    } finally {
      await retention.stop();
    }
    const again = (key: string) =>
      jobRepository.insert(h.platform.db, { workspaceId: ws, queue: 'retention-test', dedupeKey: key });
    expect(await again('event:conn:evt_recent')).toEqual({ id: recent, created: false });
    const reborn = await again('event:conn:evt_old');
    expect(reborn.created).toBe(true);
    expect(reborn.id).not.toBe(old);
  });
});
