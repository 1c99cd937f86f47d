import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

interface EventsBody {
  events: { event_name: string; contact_id: string; created_at: number; metadata: Record<string, unknown> }[];
}

describe.each(dbKinds())('timeline events through the API on %s', (kind) => {
  let h: Harness;
  let contactId: string;
  beforeAll(async () => {
    h = await createHarness(kind);
    const res = await h.request('token', {
      method: 'POST',
      url: '/api/contacts',
      payload: { external_id: 'ev-user', email: 'Events.User@Example.com' },
    });
    contactId = (res.json() as { id: string }).id;
  });
  afterAll(async () => h?.close());

  const record = (payload: Record<string, unknown>) =>
    h.request('token', { method: 'POST', url: '/api/events', payload });
  const timeline = async () =>
    (
      (
        await h.request('teammate', { method: 'GET', url: `/api/contacts/${contactId}/events` })
      ).json() as EventsBody
    ).events;

  it('records an event by user_id once, however often the same write is repeated', async () => {
    const payload = {
      user_id: 'ev-user',
      event_name: 'charged',
      created_at: 1_800_000_000,
      metadata: { amount: 12.5, currency: 'eur' },
      idempotency_key: 'ch_1',
    };
    const first = await record(payload);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ recorded: true });
    for (let i = 0; i < 3; i++) {
      const again = await record(payload);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ recorded: false });
    }
    const charged = (await timeline()).filter((e) => e.event_name === 'charged');
    expect(charged).toHaveLength(1);
    expect(charged[0]).toMatchObject({
      contact_id: contactId,
      created_at: 1_800_000_000,
      metadata: { amount: 12.5, currency: 'eur' },
    });
  });

  it('records an event by email, matched case-insensitively, also once per idempotency key', async () => {
    const payload = {
      email: 'events.user@example.com',
      event_name: 'charge_failed',
      idempotency_key: 'ch_2',
    };
    expect((await record(payload)).json()).toEqual({ recorded: true });
    expect((await record({ ...payload, email: 'EVENTS.USER@EXAMPLE.COM' })).json()).toEqual({
      recorded: false,
    });
    expect((await timeline()).filter((e) => e.event_name === 'charge_failed')).toHaveLength(1);
  });

  it('records every write without an idempotency key', async () => {
    await record({ contact_id: contactId, event_name: 'opened-app' });
    await record({ contact_id: contactId, event_name: 'opened-app' });
    expect((await timeline()).filter((e) => e.event_name === 'opened-app')).toHaveLength(2);
  });

  it('refuses an event without an identity or for an unknown contact', async () => {
    const none = await record({ event_name: 'x' });
    expect(none.statusCode).toBe(400);
    expect((none.json() as { error: { code: string } }).error.code).toBe('contact_required');
    const unknown = await record({ user_id: 'nobody', event_name: 'x' });
    expect(unknown.statusCode).toBe(404);
    const badName = await record({ contact_id: contactId, event_name: 'bad/name' });
    expect(badName.statusCode).toBe(400);
  });
});
