import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

describe.each(dbKinds())('a teammate answers a messenger user on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h?.close());

  it('carries a message from the messenger to the inbox and the reply back, keeping notes internal', async () => {
    const started = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'Where is my invoice?' },
    });
    expect(started.statusCode).toBe(201);
    const convId = (started.json() as { id: string }).id;

    const inbox = await h.request('teammate', { method: 'GET', url: '/api/conversations' });
    const listed = (inbox.json() as { conversations: { id: string; read: boolean; preview: string }[] })
      .conversations;
    expect(listed.find((c) => c.id === convId)).toMatchObject({
      read: false,
      preview: 'Where is my invoice?',
    });

    expect(
      (
        await h.request('teammate', {
          method: 'POST',
          url: `/api/conversations/${convId}/reply`,
          payload: { body: 'Sent it again.' },
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await h.request('teammate', {
          method: 'POST',
          url: `/api/conversations/${convId}/reply`,
          payload: { type: 'note', body: 'internal only' },
        })
      ).statusCode,
    ).toBe(201);

    const seen = await h.request('messenger_user', {
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
    });
    const bodies = (seen.json() as { messages: { body: string }[] }).messages.map((m) => m.body);
    expect(bodies).toEqual(['Where is my invoice?', 'Sent it again.']);

    const other = await h.request('messenger_lead', {
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
    });
    expect(other.statusCode).toBe(404);
  });
});
