// In-app messages to a segment: every member at send time gets exactly one delivery, even when the send job dies
// mid-way and runs again, and the messenger shows each message once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { JobQueue } from '../src/jobs/queue.ts';
import {
  OUTBOUND_SEND_QUEUE,
  outboundSendHandler,
  type SegmentMemberPager,
} from '../src/platform/outbound/service.ts';
import { segmentMemberIds } from '../src/platform/search/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const MEMBERS = Number(process.env.OUTBOUND_MEMBERS ?? 10_000);

describe.each(dbKinds())('outbound messages on %s', (kind) => {
  let h: Harness;
  let segmentId: string;

  beforeAll(async () => {
    h = await createHarness(kind);
    // 10,000 members (users with plan=Pro) and 500 others, inserted in bulk.
    await h.request('token', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'plan', data_type: 'string' },
    });
    await h.platform.db.query(
      `INSERT INTO contacts (workspace_id, id, role, email, email_normalized, custom_attributes, created_at)
       SELECT $1, 'bulk' || lpad(g::text, 6, '0'), 'user', 'm' || g || '@example.com', 'm' || g || '@example.com',
              jsonb_build_object('plan', CASE WHEN g <= $2 THEN 'Pro' ELSE 'Free' END),
              now() - make_interval(secs => g)
       FROM generate_series(1, $2 + 500) AS g`,
      [h.workspace.id, MEMBERS],
    );
    const seg = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'Pro users', query: { field: 'custom_attributes.plan', operator: '=', value: 'Pro' } },
    });
    segmentId = (seg.json() as { id: string }).id;
  });
  afterAll(async () => h?.close());

  async function deliveryCounts(messageId: string) {
    const res = await h.platform.db.query<{ total: number; distinct_contacts: number }>(
      `SELECT count(*)::int AS total, count(DISTINCT contact_id)::int AS distinct_contacts
       FROM outbound_deliveries WHERE workspace_id = $1 AND message_id = $2`,
      [h.workspace.id, messageId],
    );
    return res.rows[0]!;
  }

  it('delivers once to each of 10,000 members when the send job dies mid-way and is retried', async () => {
    const draft = await h.request('teammate', {
      method: 'POST',
      url: '/api/outbound',
      payload: { segment_id: segmentId, title: 'New invoices', body: 'Invoices now show your VAT number.' },
    });
    expect(draft.statusCode).toBe(201);
    const id = (draft.json() as { id: string }).id;
    const sent = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(sent.statusCode).toBe(202);
    const again = await h.request('teammate', { method: 'POST', url: `/api/outbound/${id}/send` });
    expect(again.json()).toMatchObject({ error: { code: 'already_sent' } });

    // A queue of our own whose send handler dies after 7 pages on its first run (a crashed worker), and whose
    // retry starts again from an earlier page than its checkpoint (a lost checkpoint): pages get applied twice.
    let attempt = 0;
    let pagesThisRun = 0;
    const dying: SegmentMemberPager = async (db, ws, seg, after, limit) => {
      pagesThisRun++;
      if (attempt === 1 && pagesThisRun === 8) throw new Error('worker died');
      return segmentMemberIds(db, ws, seg, attempt === 2 && pagesThisRun === 1 ? null : after, limit);
    };
    const queue = new JobQueue(h.platform.db);
    const handler = outboundSendHandler(h.platform.db, dying);
    queue.register(OUTBOUND_SEND_QUEUE, async (ctx) => {
      attempt = ctx.attempt;
      pagesThisRun = 0;
      await handler(ctx);
    });
    const worker = queue.startWorker({
      workspaceId: h.workspace.id,
      pollMs: 20,
      backoffMs: 10,
      concurrency: 1,
    });
    try {
      await expect
        .poll(
          async () => (await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` })).json(),
          { timeout: 120_000, interval: 200 },
        )
        .toMatchObject({ status: 'sent' });
    } finally {
      await worker.stop();
    }
    expect(attempt).toBe(2);
    expect(await deliveryCounts(id)).toEqual({ total: MEMBERS, distinct_contacts: MEMBERS });
    const nonMembers = await h.platform.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbound_deliveries d JOIN contacts c ON c.workspace_id = d.workspace_id AND c.id = d.contact_id
       WHERE d.workspace_id = $1 AND d.message_id = $2 AND c.custom_attributes->>'plan' <> 'Pro'`,
      [h.workspace.id, id],
    );
    expect(nonMembers.rows[0]?.n).toBe(0);
    const stats = await h.request('teammate', { method: 'GET', url: `/api/outbound/${id}` });
    expect(stats.json()).toMatchObject({ stats: { sent: MEMBERS, delivered: 0, opened: 0 } });
  }, 300_000);

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
          {
            timeout: 120_000,
            interval: 200,
          },
        )
        .toBe('sent');
    } finally {
      await worker.stop();
    }
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
