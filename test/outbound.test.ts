// In-app messages to a segment. The recipients are one snapshot of the segment, taken by the send job in one
// statement: every member at that instant gets exactly one delivery, even when the worker running the job is
// SIGKILLed mid-send and another takes the job over; contacts that join or leave the segment after the snapshot
// are not affected; and the messenger shows each message once.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { dbKinds, type DbKind } from '../src/db/test-db.ts';
import type { Worker } from '../src/jobs/queue.ts';
import { outboundRepository } from '../src/platform/outbound/repository.ts';
import { OUTBOUND_SEND_QUEUE, outboundSendHandler } from '../src/platform/outbound/service.ts';
import { segmentSource } from '../src/platform/search/service.ts';
import type { DiedRecord } from './fixtures/settle-worker.ts';
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

describe.each(dbKinds())('outbound messages on %s', (kind: DbKind) => {
  let h: Harness;
  let segmentId: string;

  beforeAll(async () => {
    h = await createHarness(kind);
    await h.request('token', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'plan', data_type: 'string' },
    });
    await insertContacts(h.platform.db, h.workspace.id);
    const seg = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'Pro users', query: PRO_USERS },
    });
    segmentId = (seg.json() as { id: string }).id;
  });
  afterAll(async () => h?.close());

  async function draftAndSend(title: string): Promise<string> {
    const draft = await h.request('teammate', {
      method: 'POST',
      url: '/api/outbound',
      payload: { segment_id: segmentId, title, body: 'Invoices now show your VAT number.' },
    });
    expect(draft.statusCode).toBe(201);
    const id = (draft.json() as { id: string }).id;
    const sent = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(sent.statusCode).toBe(202);
    expect(sent.json()).toMatchObject({ status: 'sending', stats: { sent: 0 } });
    return id;
  }

  async function untilSent(id: string): Promise<void> {
    const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
    try {
      await expect
        .poll(
          async () =>
            (
              (await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` })).json() as {
                status: string;
              }
            ).status,
          { timeout: 120_000, interval: 100 },
        )
        .toBe('sent');
    } finally {
      await worker.stop();
    }
  }

  async function setTier(contactIds: string[], tier: string | null): Promise<void> {
    for (const contactId of contactIds) {
      const res = await h.request('token', {
        method: 'PUT',
        url: `/api/contacts/${contactId}`,
        payload: { custom_attributes: { tier } },
      });
      expect(res.statusCode).toBe(200);
    }
  }

  async function setPlan(contactId: string, plan: string): Promise<void> {
    const res = await h.request('token', {
      method: 'PUT',
      url: `/api/contacts/${contactId}`,
      payload: { custom_attributes: { plan } },
    });
    expect(res.statusCode).toBe(200);
  }

  it('sends to the segment as of the snapshot: a contact joining after gets nothing, one leaving keeps it', async () => {
    const id = await draftAndSend('Snapshot');
    const again = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(again.json()).toMatchObject({ error: { code: 'already_sent' } });
    const members = await proContactIds(h.platform.db, h.workspace.id);
    await untilSent(id);
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual(members);

    const joiner = bulkId(MEMBERS + 1);
    const leaver = bulkId(1);
    await setPlan(joiner, 'Pro');
    await setPlan(leaver, 'Free');
    // The job runs again, as it does when its worker dies after the snapshot's commit but before the job is marked
    // done: it finds the message sent and takes no second snapshot.
    await outboundSendHandler(
      h.platform.db,
      segmentSource,
    )({
      workspaceId: h.workspace.id,
      jobId: 0,
      lastAttempt: false,
      attempt: 2,
      rerun: true,
      payload: { id },
      signal: new AbortController().signal,
    });

    const delivered = await deliveredTo(h.platform.db, h.workspace.id, id);
    expect(delivered).toEqual(members);
    expect(delivered).toContain(leaver);
    expect(delivered).not.toContain(joiner);
    const stats = await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` });
    expect(stats.json()).toMatchObject({ status: 'sent', stats: { sent: MEMBERS, delivered: 0, opened: 0 } });
    await setPlan(joiner, 'Free');
    await setPlan(leaver, 'Pro');
  }, 300_000);

  /** Runs the send job once, in this process. */
  const runSendJob = (id: string) =>
    outboundSendHandler(
      h.platform.db,
      segmentSource,
    )({
      workspaceId: h.workspace.id,
      jobId: 0,
      lastAttempt: false,
      attempt: 1,
      rerun: false,
      payload: { id },
      signal: new AbortController().signal,
    });
  const outbound = async (id: string) =>
    (await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` })).json() as {
      status: string;
      error: { code: string; message: string } | null;
      stats: { sent: number };
    };

  it('sends to the segment as it was when sent: editing or deleting it afterwards changes nothing', async () => {
    const seg = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'Pro, for a while', query: PRO_USERS },
    });
    const tempId = (seg.json() as { id: string }).id;
    const draft = await h.request('teammate', {
      method: 'POST',
      url: '/api/outbound',
      payload: { segment_id: tempId, title: 'Frozen', body: 'Sent before the segment changed.' },
    });
    const id = (draft.json() as { id: string }).id;
    expect(
      (await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` })).statusCode,
    ).toBe(202);
    const edited = await h.request('token', {
      method: 'PUT',
      url: `/api/segments/${tempId}`,
      payload: { query: { field: 'custom_attributes.plan', operator: '=', value: 'Free' } },
    });
    expect(edited.statusCode).toBe(200);
    expect((await h.request('token', { method: 'DELETE', url: `/api/segments/${tempId}` })).statusCode).toBe(
      200,
    );
    await runSendJob(id);
    expect(await outbound(id)).toMatchObject({ status: 'sent', error: null, stats: { sent: MEMBERS } });
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual(
      await proContactIds(h.platform.db, h.workspace.id),
    );
  }, 120_000);

  it('a send whose query no longer fits the attributes ends failed with the reason, and can be sent again', async () => {
    await h.request('token', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'tier', data_type: 'string' },
    });
    await setTier(['bulk000002', 'bulk000003'], 'gold');
    const seg = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'Gold', query: { field: 'custom_attributes.tier', operator: '=', value: 'gold' } },
    });
    const draft = await h.request('teammate', {
      method: 'POST',
      url: '/api/outbound',
      payload: { segment_id: (seg.json() as { id: string }).id, title: 'Gold', body: 'For gold members.' },
    });
    const id = (draft.json() as { id: string }).id;
    expect(
      (await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` })).statusCode,
    ).toBe(202);
    // The attribute goes away before the job runs, as an app's attributes do when it is uninstalled without
    // keeping its data.
    await h.platform.db.query(`DELETE FROM attribute_definitions WHERE workspace_id = $1 AND name = 'tier'`, [
      h.workspace.id,
    ]);
    // Through the queue, as in production: the job ends, the message says why.
    const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
    try {
      await expect
        .poll(async () => (await outbound(id)).status, { timeout: 60_000, interval: 50 })
        .toBe('failed');
    } finally {
      await worker.stop();
    }
    const failed = await outbound(id);
    expect(failed).toMatchObject({ status: 'failed', stats: { sent: 0 } });
    expect(failed.error?.message).toContain('tier');
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual([]);
    // While the attribute is missing, sending again is refused at once, naming the field.
    const refused = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(refused.statusCode).toBe(400);
    expect(JSON.stringify(refused.json())).toContain('tier');
    expect((await outbound(id)).status).toBe('failed');

    await h.request('token', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'tier', data_type: 'string' },
    });
    expect(
      (await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` })).statusCode,
    ).toBe(202);
    // A new send job for the second send (the first one's finished job does not hold the message any more).
    await untilSent(id);
    expect(await outbound(id)).toMatchObject({ status: 'sent', error: null, stats: { sent: 2 } });
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual(['bulk000002', 'bulk000003']);
    await setTier(['bulk000002', 'bulk000003'], null);
  }, 120_000);

  it('a send given up after its attempts (every one failed) ends failed, says what to do, and can be sent again', async () => {
    const id = await draftAndSend('Unlucky');
    // Every attempt fails as a database error would (not an answer a retry cannot change).
    await h.platform.db.exec(`
      CREATE FUNCTION test_refuse_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file (test)'; END $$;
      CREATE TRIGGER test_refuse_deliveries BEFORE INSERT ON outbound_deliveries
        FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_deliveries();`);
    const status = async () =>
      (
        await h.platform.db.query<{ status: string }>(
          'SELECT status FROM outbound_messages WHERE workspace_id = $1 AND id = $2',
          [h.workspace.id, id],
        )
      ).rows[0]?.status;
    const worker = h.platform.jobs.startWorker({
      workspaceId: h.workspace.id,
      pollMs: 20,
      backoffMs: 5,
      maxBackoffMs: 20,
    });
    try {
      await expect.poll(status, { timeout: 60_000, interval: 50 }).toBe('failed');
    } finally {
      await worker.stop();
      await h.platform.db.exec(`
        DROP TRIGGER test_refuse_deliveries ON outbound_deliveries;
        DROP FUNCTION test_refuse_deliveries();`);
    }
    const failed = await outbound(id);
    expect(failed).toMatchObject({ status: 'failed', stats: { sent: 0 }, error: { code: 'send_failed' } });
    expect(failed.error?.message).toContain('could not extend file (test)');
    expect(failed.error?.message).toContain('send the message again');
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual([]);

    expect(
      (await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` })).statusCode,
    ).toBe(202);
    await untilSent(id);
    expect(await outbound(id)).toMatchObject({ status: 'sent', error: null });
    expect(await deliveredTo(h.platform.db, h.workspace.id, id)).toEqual(
      await proContactIds(h.platform.db, h.workspace.id),
    );
  }, 120_000);

  // Only PostgreSQL runs two sessions at once: here the contacts change while the snapshot statement is running.
  it.runIf(kind === 'postgres')(
    'is not affected by contacts that join or leave while the snapshot statement runs',
    async () => {
      const id = await draftAndSend('Mid-statement');
      const members = await proContactIds(h.platform.db, h.workspace.id);
      const joiner = bulkId(MEMBERS + 2);
      const leaver = bulkId(2);
      // An uncommitted delivery for one member makes the job's INSERT … SELECT wait once it reaches that member;
      // the statement's snapshot is taken by then.
      let worker: Worker | undefined;
      await h.platform.db
        .transaction(async (blocker) => {
          await blocker.query(
            `INSERT INTO outbound_deliveries (workspace_id, message_id, contact_id) VALUES ($1, $2, $3)`,
            [h.workspace.id, id, bulkId(3)],
          );
          worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
          await expect
            .poll(
              async () =>
                (
                  await h.platform.db.query<{ n: number }>(
                    `SELECT count(*)::int AS n FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'
                       AND query LIKE 'INSERT INTO outbound_deliveries%SELECT%'`,
                  )
                ).rows[0]?.n,
              { timeout: 60_000, interval: 20 },
            )
            .toBe(1);
          await setPlan(joiner, 'Pro');
          await setPlan(leaver, 'Free');
          throw new Error('roll the blocker back');
        })
        .catch((err: unknown) => {
          if (!(err instanceof Error) || err.message !== 'roll the blocker back') throw err;
        });
      // The job goes on once the blocker is gone; stopping the worker waits for it.
      await worker?.stop();
      await untilSent(id);
      const delivered = await deliveredTo(h.platform.db, h.workspace.id, id);
      expect(delivered).toEqual(members);
      expect(delivered).toContain(leaver);
      expect(delivered).not.toContain(joiner);
      await setPlan(joiner, 'Free');
      await setPlan(leaver, 'Pro');
    },
    120_000,
  );

  it('shows a message in the messenger once, and counts delivered and opened', async () => {
    const user = (
      await h.request('token', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` })
    ).json() as {
      email: string;
    };
    const seg = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'The messenger user', query: { field: 'email', operator: '=', value: user.email } },
    });
    const segmentForUser = (seg.json() as { id: string }).id;
    const draft = await h.request('teammate', {
      method: 'POST',
      url: '/api/outbound',
      payload: { segment_id: segmentForUser, title: 'Hello', body: 'Welcome aboard' },
    });
    const id = (draft.json() as { id: string }).id;
    await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    await untilSent(id);
    const first = await h.request('messenger_user', { method: 'GET', url: '/messenger/outbound' });
    expect((first.json() as { data: { id: string; body: string }[] }).data).toEqual([
      expect.objectContaining({ id, body: 'Welcome aboard' }),
    ]);
    const lead = await h.request('messenger_lead', { method: 'GET', url: '/messenger/outbound' });
    expect((lead.json() as { data: unknown[] }).data).toEqual([]);
    expect(
      (await h.request('messenger_user', { method: 'POST', url: `/messenger/outbound/${id}/open` }))
        .statusCode,
    ).toBe(200);
    const after = await h.request('messenger_user', { method: 'GET', url: '/messenger/outbound' });
    expect((after.json() as { data: unknown[] }).data).toEqual([]);
    const stats = (await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` })).json() as {
      stats: { sent: number; delivered: number; opened: number };
    };
    expect(stats.stats).toEqual({ sent: 1, delivered: 1, opened: 1 });
  }, 300_000);
});

// The send job in Settle worker processes (test/fixtures/settle-worker.ts). The first is SIGKILLed in the middle of
// the snapshot statement, after the message was marked sent in the same transaction; a second takes the job over
// once the first one's lease has expired. On PGlite only one process may open the data directory, so the parent
// reads it between the two workers (and the second worker opens what the killed one left, recovery included).
describe.each(dbKinds())('an outbound send whose worker is SIGKILLed, on %s', (kind: DbKind) => {
  let cluster: SettleCluster;
  let messageId = '';

  beforeAll(async () => {
    cluster = new SettleCluster(kind);
    await cluster.setUpWorkspace(async (db: Db, workspaceId: string) => {
      messageId = await queueProSend(db, workspaceId, {
        title: 'New invoices',
        body: 'Invoices now show your VAT number.',
      });
    });
  });
  afterAll(async () => cluster?.close());

  const state = () =>
    cluster.withDb(async (db) => {
      const ws = cluster.workspaceId;
      const msg = await outboundRepository.get(db, ws, messageId);
      const job = await db.query<{ status: string; attempts: number }>(
        `SELECT status, attempts FROM jobs WHERE workspace_id = $1 AND queue = $2`,
        [ws, OUTBOUND_SEND_QUEUE],
      );
      return {
        status: msg?.status,
        stats: await outboundRepository.stats(db, ws, messageId),
        jobs: job.rows,
        delivered: await deliveredTo(db, ws, messageId),
        members: await proContactIds(db, ws),
      };
    });

  it('delivers once to each of 10,000 members, and to no one else, after the job is taken over', async () => {
    const doomed = cluster.spawn({ env: { WORKER_DIE_AT: 'INSERT INTO outbound_deliveries' } });
    await doomed.exited;
    expect(doomed.child.signalCode, doomed.output()).toBe('SIGKILL');
    const diedFile = join(cluster.dir, `died-${doomed.pid}.json`);
    expect(existsSync(diedFile), doomed.output()).toBe(true);
    const died = JSON.parse(readFileSync(diedFile, 'utf8')) as DiedRecord;
    expect(died.sql).toMatch(/^INSERT INTO outbound_deliveries/);
    if (kind === 'postgres') expect(['active', 'idle in transaction']).toContain(died.state);

    // Nothing of the killed transaction is visible: neither the status change nor any delivery.
    const afterKill = await state();
    expect(afterKill).toMatchObject({
      status: 'sending',
      stats: { sent: 0 },
      jobs: [{ status: 'running', attempts: 1 }],
      delivered: [],
    });

    const heir = cluster.spawn();
    await heir.ready;
    await cluster.drained();
    await cluster.stop(heir);

    const end = await state();
    expect(end.members).toHaveLength(MEMBERS);
    expect(end.delivered).toEqual(end.members);
    expect(end).toMatchObject({
      status: 'sent',
      stats: { sent: MEMBERS, delivered: 0, opened: 0 },
      jobs: [{ status: 'succeeded', attempts: 2 }],
    });
  }, 300_000);
});
