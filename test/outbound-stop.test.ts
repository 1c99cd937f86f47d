// Stopping an in-app message (POST /api/outbound/:id/stop). A stopped message is shown to no one from then on and
// its counts stay as they were at the stop. The send job takes its recipients in one statement, in the transaction
// that marks the message sent, under the message row's lock: a stop that comes before it leaves the job nothing to
// do (whether the job had not started, was between its read and its transaction, or was killed mid-statement and
// taken over), and a stop that meets it waits for it, then wins; the job never makes a stopped message sent again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { dbKinds, type DbKind } from '../src/db/test-db.ts';
import type { Worker } from '../src/jobs/queue.ts';
import { outboundRepository } from '../src/platform/outbound/repository.ts';
import { OUTBOUND_SEND_QUEUE, outboundSendHandler, stopOutbound } from '../src/platform/outbound/service.ts';
import { segmentSource } from '../src/platform/search/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import {
  bulkId,
  deliveredTo,
  insertContacts,
  MEMBERS,
  PRO_USERS,
  proContactIds,
  queueProSend,
} from './helpers/outbound-contacts.ts';
import { SettleCluster } from './helpers/settle-cluster.ts';

interface Outbound {
  status: string;
  stopped_at: number | null;
  stopped_by: string | null;
  stats: { sent: number; delivered: number; opened: number };
}

describe.each(dbKinds())('stopping an outbound message on %s', (kind: DbKind) => {
  let h: Harness;
  let proSegment: string;
  let messengerSegment: string;

  beforeAll(async () => {
    h = await createHarness(kind);
    await h.request('token', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'plan', data_type: 'string' },
    });
    await insertContacts(h.platform.db, h.workspace.id);
    const pro = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'Pro users', query: PRO_USERS },
    });
    proSegment = (pro.json() as { id: string }).id;
    const user = (
      await h.request('token', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` })
    ).json() as { email: string };
    // The two messenger sessions' contacts (the bulk contacts are all users, with other addresses).
    const both = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: {
        name: 'The messenger contacts',
        query: {
          operator: 'OR',
          value: [
            { field: 'email', operator: '=', value: user.email },
            { field: 'role', operator: '=', value: 'lead' },
          ],
        },
      },
    });
    messengerSegment = (both.json() as { id: string }).id;
  });
  afterAll(async () => h?.close());

  const outbound = async (id: string) =>
    (await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` })).json() as Outbound;
  const stop = (id: string, role: 'teammate' | 'token' = 'teammate') =>
    h.request(role, { method: 'POST', url: `/api/outbound/${id}/stop` });
  const shown = async (role: 'messenger_user' | 'messenger_lead') =>
    (
      (await h.request(role, { method: 'GET', url: '/messenger/outbound' })).json() as {
        data: { id: string }[];
      }
    ).data.map((m) => m.id);

  async function draft(segmentId: string, title: string): Promise<string> {
    const res = await h.request('teammate', {
      method: 'POST',
      url: '/api/outbound',
      payload: { segment_id: segmentId, title, body: 'Pro is now 9 € a month.' },
    });
    expect(res.statusCode).toBe(201);
    return (res.json() as { id: string }).id;
  }

  async function draftAndSend(segmentId: string, title: string): Promise<string> {
    const id = await draft(segmentId, title);
    const sent = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(sent.statusCode).toBe(202);
    return id;
  }

  const jobStatus = async (id: string) =>
    (
      await h.platform.db.query<{ status: string }>(
        'SELECT status FROM jobs WHERE workspace_id = $1 AND queue = $2 AND dedupe_key = $3',
        [h.workspace.id, OUTBOUND_SEND_QUEUE, id],
      )
    ).rows.map((r) => r.status);

  /** Runs the queue until the message's send job has finished. */
  async function untilJobDone(id: string): Promise<void> {
    const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
    try {
      await expect.poll(() => jobStatus(id), { timeout: 120_000, interval: 50 }).toEqual(['succeeded']);
    } finally {
      await worker.stop();
    }
  }

  const runSendJob = (db: Db, id: string, attempt = 1) =>
    outboundSendHandler(
      db,
      segmentSource,
    )({
      workspaceId: h.workspace.id,
      jobId: 0,
      lastAttempt: false,
      attempt,
      rerun: attempt > 1,
      payload: { id },
      signal: new AbortController().signal,
    });

  it('after the send: shown to no one from then on, opens refused and not counted, counts kept', async () => {
    const id = await draftAndSend(messengerSegment, 'Wrong price');
    await untilJobDone(id);
    expect(await outbound(id)).toMatchObject({ status: 'sent', stopped_at: null, stats: { sent: 2 } });
    // The lead's messenger shows it (delivered); the user's has not booted since.
    expect(await shown('messenger_lead')).toEqual([id]);
    const before = (await outbound(id)).stats;
    expect(before).toEqual({ sent: 2, delivered: 1, opened: 0 });

    const stopped = await stop(id);
    expect(stopped.statusCode).toBe(200);
    const body = stopped.json() as Outbound;
    expect(body).toMatchObject({ status: 'stopped', stopped_by: h.ids.teammateId, stats: before });
    expect(body.stopped_at).toEqual(expect.any(Number));

    expect(await shown('messenger_user')).toEqual([]);
    // Delivered but not opened: without the stop, the lead's next boot would show it again.
    expect(await shown('messenger_lead')).toEqual([]);
    for (const role of ['messenger_user', 'messenger_lead'] as const) {
      const open = await h.request(role, { method: 'POST', url: `/messenger/outbound/${id}/open` });
      expect(open.statusCode).toBe(409);
      expect(open.json()).toMatchObject({ error: { code: 'outbound_stopped', path: 'id' } });
    }
    expect(await outbound(id)).toMatchObject({ status: 'stopped', stats: before });
    const list = (await h.request('teammate', { method: 'GET', url: '/api/outbound' })).json() as {
      data: (Outbound & { id: string })[];
    };
    expect(list.data.find((m) => m.id === id)).toMatchObject({ status: 'stopped', stats: before });

    // Stopping again answers the stopped message as it was stopped (by whom, when).
    const again = await stop(id, 'token');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      status: 'stopped',
      stopped_at: body.stopped_at,
      stopped_by: h.ids.teammateId,
      stats: before,
    });
    // It cannot be sent again: a new message is the way.
    const resend = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(resend.statusCode).toBe(409);
    expect(resend.json()).toMatchObject({ error: { code: 'outbound_stopped' } });
    expect(await jobStatus(id)).toEqual(['succeeded']);
    expect(await outbound(id)).toMatchObject({ status: 'stopped', stats: before });
  }, 120_000);

  it('shows a message again on each boot until opened, writing nothing after the first showing', async () => {
    const id = await draftAndSend(messengerSegment, 'Shown on every boot');
    await untilJobDone(id);
    expect(await shown('messenger_lead')).toContain(id);
    // Row versions: a write (or a row lock) would change the delivery's xmin or the message's xmax.
    const versions = async () =>
      (
        await h.platform.db.query<{ d: string; m: string }>(
          `SELECT d.xmin::text AS d, m.xmax::text AS m FROM outbound_deliveries d
           JOIN outbound_messages m ON m.workspace_id = d.workspace_id AND m.id = d.message_id
           WHERE d.workspace_id = $1 AND d.message_id = $2 AND d.delivered_at IS NOT NULL`,
          [h.workspace.id, id],
        )
      ).rows;
    const before = await versions();
    expect(before).toHaveLength(1);
    expect(await shown('messenger_lead')).toContain(id);
    expect(await shown('messenger_lead')).toContain(id);
    expect(await versions()).toEqual(before);
    expect((await outbound(id)).stats).toEqual({ sent: 2, delivered: 1, opened: 0 });
    await stop(id);
  });

  it('a contact that never got the message still gets a 404 on open, stopped or not', async () => {
    const id = await draftAndSend(proSegment, 'Not for messenger contacts');
    expect((await stop(id)).statusCode).toBe(200);
    const open = await h.request('messenger_user', { method: 'POST', url: `/messenger/outbound/${id}/open` });
    expect(open.statusCode).toBe(404);
    expect(open.json()).toMatchObject({ error: { code: 'outbound_not_found' } });
  });

  it('refuses to stop a draft or a failed message, naming its status; 404 for no message', async () => {
    const drafted = await draft(proSegment, 'Draft');
    const refused = await stop(drafted);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'not_sent', path: 'id' } });
    expect(JSON.stringify(refused.json())).toContain('draft');
    expect((await outbound(drafted)).status).toBe('draft');

    const failed = await draftAndSend(proSegment, 'Failed');
    await outboundRepository.markFailed(h.platform.db, h.workspace.id, failed, {
      code: 'send_failed',
      message: 'test',
    });
    const refusedFailed = await stop(failed);
    expect(refusedFailed.statusCode).toBe(409);
    expect(JSON.stringify(refusedFailed.json())).toContain('failed');
    expect((await outbound(failed)).status).toBe('failed');

    const missing = await stop('no-such-message');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'outbound_not_found' } });
  });

  it('before its send job runs: the job delivers to no one and leaves the message stopped', async () => {
    const id = await draftAndSend(proSegment, 'Stopped while sending');
    expect(await outbound(id)).toMatchObject({ status: 'sending' });
    const stopped = await stop(id);
    expect(stopped.json()).toMatchObject({ status: 'stopped', stats: { sent: 0 } });
    await untilJobDone(id);
    expect(await outbound(id)).toMatchObject({ status: 'stopped', stats: { sent: 0, delivered: 0 } });
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual([]);
  }, 120_000);

  it("between the send job's read and its snapshot transaction: the job takes no snapshot", async () => {
    const id = await draftAndSend(proSegment, 'Stopped mid-job');
    // The job has read the message (sending) and is about to open its transaction when the stop commits.
    const db = h.platform.db;
    const racing: Db = {
      ...db,
      transaction: async (fn) => {
        await stopOutbound(db, h.workspace.id, id, null);
        return db.transaction(fn);
      },
    };
    await runSendJob(racing, id);
    expect(await outbound(id)).toMatchObject({ status: 'stopped', stopped_by: null, stats: { sent: 0 } });
    expect(await deliveredTo(db, h.workspace.id, id)).toEqual([]);
    // Its retries, however many, find it stopped.
    await runSendJob(db, id, 2);
    expect(await outbound(id)).toMatchObject({ status: 'stopped', stats: { sent: 0 } });
  });

  // Only PostgreSQL runs two sessions at once.
  it.runIf(kind === 'postgres')(
    'while the snapshot statement runs: the stop waits for it, then no recipient is shown the message',
    async () => {
      const id = await draftAndSend(proSegment, 'Stopped mid-snapshot');
      const members = await proContactIds(h.platform.db, h.workspace.id);
      const waitingOnLock = (prefix: string) =>
        expect
          .poll(
            async () =>
              (
                await h.platform.db.query<{ n: number }>(
                  `SELECT count(*)::int AS n FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
                  [`${prefix}%`],
                )
              ).rows[0]?.n,
            { timeout: 60_000, interval: 20 },
          )
          .toBe(1);
      // An uncommitted delivery for one member holds the job's INSERT … SELECT in the middle of the segment.
      let worker: Worker | undefined;
      let stopping: ReturnType<typeof stop> | undefined;
      await h.platform.db
        .transaction(async (blocker) => {
          await blocker.query(
            `INSERT INTO outbound_deliveries (workspace_id, message_id, contact_id) VALUES ($1, $2, $3)`,
            [h.workspace.id, id, bulkId(3)],
          );
          worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
          await waitingOnLock('INSERT INTO outbound_deliveries');
          stopping = stop(id);
          await waitingOnLock(`UPDATE outbound_messages SET status = 'stopped'`);
          throw new Error('roll the blocker back');
        })
        .catch((err: unknown) => {
          if (!(err instanceof Error) || err.message !== 'roll the blocker back') throw err;
        });
      const stopped = await stopping;
      expect(stopped?.statusCode).toBe(200);
      // The stop came after the snapshot: every member is a recipient, once, and none was shown it.
      expect(stopped?.json()).toMatchObject({
        status: 'stopped',
        stats: { sent: MEMBERS, delivered: 0, opened: 0 },
      });
      await worker?.stop();
      expect(await jobStatus(id)).toEqual(['succeeded']);
      expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual(members);
      for (const n of [1, 3, MEMBERS])
        expect(await outboundRepository.takeForContact(h.platform.db, h.workspace.id, bulkId(n))).toEqual([]);
      await runSendJob(h.platform.db, id, 2);
      expect(await outbound(id)).toMatchObject({
        status: 'stopped',
        stats: { sent: MEMBERS, delivered: 0, opened: 0 },
      });
    },
    120_000,
  );

  it.runIf(kind === 'postgres')(
    'messenger requests meeting a stop in progress wait for it, then neither show nor count the message',
    async () => {
      const id = await draftAndSend(messengerSegment, 'Stopped during a boot');
      await untilJobDone(id);
      expect(await outbound(id)).toMatchObject({ status: 'sent', stats: { sent: 2, delivered: 0 } });
      let boot: ReturnType<typeof h.request> | undefined;
      let open: ReturnType<typeof h.request> | undefined;
      await h.platform.db.transaction(async (tx) => {
        await stopOutbound(tx, h.workspace.id, id, null);
        boot = h.request('messenger_user', { method: 'GET', url: '/messenger/outbound' });
        open = h.request('messenger_lead', { method: 'POST', url: `/messenger/outbound/${id}/open` });
        await expect
          .poll(
            async () =>
              (
                await h.platform.db.query<{ n: number }>(
                  `SELECT count(*)::int AS n FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock'
                     AND (query LIKE 'WITH live AS%' OR query LIKE 'WITH pending AS%')`,
                )
              ).rows[0]?.n,
            { timeout: 10_000, interval: 20 },
          )
          .toBe(2);
      });
      expect(((await boot)?.json() as { data: unknown[] }).data).toEqual([]);
      expect((await open)?.json()).toMatchObject({ error: { code: 'outbound_stopped' } });
      expect(await outbound(id)).toMatchObject({
        status: 'stopped',
        stats: { sent: 2, delivered: 0, opened: 0 },
      });
    },
    60_000,
  );
});

// The send job's worker SIGKILLed in the middle of the snapshot statement (as in test/outbound.test.ts), the
// message stopped before a second worker takes the job over: the heir finds it stopped and delivers nothing.
describe.each(dbKinds())('an outbound send stopped after its worker was SIGKILLed, on %s', (kind: DbKind) => {
  let cluster: SettleCluster;
  let messageId = '';

  beforeAll(async () => {
    cluster = new SettleCluster(kind);
    await cluster.setUpWorkspace(async (db: Db, workspaceId: string) => {
      messageId = await queueProSend(db, workspaceId, {
        title: 'Wrong price',
        body: 'Pro is now 9 € a month.',
      });
    });
  });
  afterAll(async () => cluster?.close());

  const state = () =>
    cluster.withDb(async (db) => {
      const ws = cluster.workspaceId;
      const job = await db.query<{ status: string; attempts: number }>(
        `SELECT status, attempts FROM jobs WHERE workspace_id = $1 AND queue = $2`,
        [ws, OUTBOUND_SEND_QUEUE],
      );
      return {
        status: (await outboundRepository.get(db, ws, messageId))?.status,
        stats: await outboundRepository.stats(db, ws, messageId),
        jobs: job.rows,
        delivered: await deliveredTo(db, ws, messageId),
      };
    });

  it('the job taken over delivers to no one and leaves the message stopped', async () => {
    const doomed = cluster.spawn({ env: { WORKER_DIE_AT: 'INSERT INTO outbound_deliveries' } });
    await doomed.exited;
    expect(doomed.child.signalCode, doomed.output()).toBe('SIGKILL');
    expect(await state()).toMatchObject({
      status: 'sending',
      jobs: [{ status: 'running', attempts: 1 }],
      delivered: [],
    });

    const stopped = await cluster.withDb((db) => stopOutbound(db, cluster.workspaceId, messageId, null));
    expect(stopped.status).toBe('stopped');

    const heir = cluster.spawn();
    await heir.ready;
    await cluster.drained();
    await cluster.stop(heir);
    expect(await state()).toEqual({
      status: 'stopped',
      stats: { sent: 0, delivered: 0, opened: 0 },
      jobs: [{ status: 'succeeded', attempts: 2 }],
      delivered: [],
    });
  }, 300_000);
});
