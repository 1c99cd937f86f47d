import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import type { LiveEvent } from '../src/server/live-bus.ts';
import { createHarness, type Harness, type Role } from './helpers/harness.ts';
import { startSecondProcess, type SecondProcess } from './helpers/second-process.ts';
import { openSse, type SseStream } from './helpers/sse.ts';

interface Conversation {
  id: string;
  contact_id: string;
  state: 'open' | 'snoozed' | 'closed';
  snoozed_until: number | null;
  assignee_id: string | null;
  read: boolean;
}
interface ConversationList {
  conversations: Conversation[];
  pages: { next: { starting_after: string } | null };
}
interface Message {
  body: string;
  kind: string;
}

describe.each(dbKinds())('conversations in the inbox on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h?.close());

  /** A conversation the messenger user starts, as a customer would. */
  async function fromCustomer(body = 'Help, please'): Promise<string> {
    const res = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body },
    });
    expect(res.statusCode).toBe(201);
    return (res.json() as { id: string }).id;
  }
  const customerSays = (id: string, body: string) =>
    h.request('messenger_user', {
      method: 'POST',
      url: `/messenger/conversations/${id}/messages`,
      payload: { body },
    });
  const inbox = async (query: string, role: Role = 'teammate') => {
    const res = await h.request(role, { method: 'GET', url: `/api/conversations?${query}` });
    expect(res.statusCode).toBe(200);
    return res.json() as ConversationList;
  };
  const ids = (l: ConversationList) => l.conversations.map((c) => c.id);
  const setState = (id: string, payload: Record<string, unknown>) =>
    h.request('teammate', { method: 'POST', url: `/api/conversations/${id}/state`, payload });
  const conversation = async (id: string) =>
    (
      await h.request('teammate', { method: 'GET', url: `/api/conversations/${id}` })
    ).json() as Conversation & {
      messages: Message[];
    };

  it('moves a conversation between the open, snoozed and closed inboxes; a customer message reopens it', async () => {
    const id = await fromCustomer();
    expect(ids(await inbox('state=open'))).toContain(id);

    const noTime = await setState(id, { state: 'snoozed' });
    expect(noTime.statusCode).toBe(400);
    expect(noTime.json()).toMatchObject({ error: { code: 'snooze_requires_time', path: 'snoozed_until' } });
    expect((await conversation(id)).state).toBe('open');

    const until = Math.floor(Date.now() / 1000) + 3600;
    const snoozed = await setState(id, { state: 'snoozed', snoozed_until: until });
    expect(snoozed.json()).toMatchObject({ state: 'snoozed', snoozed_until: until });
    expect(ids(await inbox('state=snoozed'))).toContain(id);
    expect(ids(await inbox('state=open'))).not.toContain(id);

    expect((await setState(id, { state: 'closed' })).json()).toMatchObject({
      state: 'closed',
      snoozed_until: null,
    });
    expect(ids(await inbox('state=closed'))).toContain(id);
    expect(ids(await inbox('state=snoozed'))).not.toContain(id);
    expect(ids(await inbox('state=all'))).toContain(id);

    expect((await customerSays(id, 'Still broken')).statusCode).toBe(201);
    expect((await conversation(id)).state).toBe('open');
    expect(ids(await inbox('state=open'))).toContain(id);

    // A customer message also wakes a snoozed conversation.
    await setState(id, { state: 'snoozed', snoozed_until: until });
    await customerSays(id, 'Hello?');
    expect(await conversation(id)).toMatchObject({ state: 'open', snoozed_until: null });
  });

  it('assigns a conversation to a teammate and unassigns it', async () => {
    const id = await fromCustomer();
    const assign = (assignee_id: string | null) =>
      h.request('admin', {
        method: 'POST',
        url: `/api/conversations/${id}/assign`,
        payload: { assignee_id },
      });
    expect((await assign(h.ids.teammateId)).json()).toMatchObject({ assignee_id: h.ids.teammateId });
    expect(ids(await inbox(`state=all&assignee_id=${h.ids.teammateId}`))).toContain(id);

    const unknown = await assign('no-such-teammate');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: { code: 'assignee_not_found', path: 'assignee_id' } });
    expect((await conversation(id)).assignee_id).toBe(h.ids.teammateId);

    expect((await assign(null)).json()).toMatchObject({ assignee_id: null });
    expect(ids(await inbox(`state=all&assignee_id=${h.ids.teammateId}`))).not.toContain(id);
  });

  it('shows a conversation unread after a customer message until a teammate reads it', async () => {
    const id = await fromCustomer();
    expect((await conversation(id)).read).toBe(false);
    const read = await h.request('teammate', { method: 'POST', url: `/api/conversations/${id}/read` });
    expect(read.json()).toMatchObject({ read: true });
    expect((await inbox('state=open')).conversations.find((c) => c.id === id)?.read).toBe(true);

    // The team's own reply does not make it unread; the customer's next message does.
    await h.request('teammate', {
      method: 'POST',
      url: `/api/conversations/${id}/reply`,
      payload: { body: 'On it' },
    });
    expect((await conversation(id)).read).toBe(true);
    await customerSays(id, 'Thanks!');
    expect((await conversation(id)).read).toBe(false);
  });

  it('shows a conversation a teammate starts read, until the customer answers', async () => {
    const started = await h.request('teammate', {
      method: 'POST',
      url: '/api/conversations',
      payload: { contact_id: h.ids.userContactId, body: 'Your card expires next month' },
    });
    expect(started.statusCode).toBe(201);
    const id = (started.json() as { id: string }).id;
    // QA: every conversation the team started was unread (bold, counted in the tab title) for that same team.
    expect((await conversation(id)).read).toBe(true);
    expect((await inbox('state=open')).conversations.find((c) => c.id === id)?.read).toBe(true);
    await customerSays(id, 'Thanks, updating it now');
    expect((await conversation(id)).read).toBe(false);
  });

  it('keeps notes out of everything the messenger shows', async () => {
    const id = await fromCustomer('First question');
    await h.request('teammate', {
      method: 'POST',
      url: `/api/conversations/${id}/reply`,
      payload: { body: 'Public answer' },
    });
    await h.request('teammate', {
      method: 'POST',
      url: `/api/conversations/${id}/reply`,
      payload: { type: 'note', body: 'Secret note: refund abuser?' },
    });
    const team = await conversation(id);
    expect(team.messages.map((m) => m.body)).toContain('Secret note: refund abuser?');

    const thread = await h.request('messenger_user', {
      method: 'GET',
      url: `/messenger/conversations/${id}`,
    });
    expect(thread.body).not.toContain('Secret note');
    expect((thread.json() as { messages: Message[] }).messages.map((m) => m.body)).toEqual([
      'First question',
      'Public answer',
    ]);
    const list = await h.request('messenger_user', { method: 'GET', url: '/messenger/conversations' });
    expect(list.body).not.toContain('Secret note');
    expect(
      (list.json() as { conversations: { id: string; preview: string }[] }).conversations.find(
        (c) => c.id === id,
      )?.preview,
    ).toBe('Public answer');
  });

  it('pages through the inbox with starting_after without repeating or missing a conversation', async () => {
    const contact = await h.request('token', {
      method: 'POST',
      url: '/api/contacts',
      payload: { email: 'pages@example.com' },
    });
    const contactId = (contact.json() as { id: string }).id;
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await h.request('teammate', {
        method: 'POST',
        url: '/api/conversations',
        payload: { contact_id: contactId, body: `Outbound ${i}` },
      });
      expect(res.statusCode).toBe(201);
      created.push((res.json() as { id: string }).id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await inbox(
        `state=all&contact_id=${contactId}&per_page=3${cursor ? `&starting_after=${cursor}` : ''}`,
      );
      seen.push(...ids(page));
      cursor = page.pages.next?.starting_after;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(3);
    // Most recent activity first.
    expect(seen).toEqual([...created].reverse());
  });
});

describe.each(dbKinds())('live updates over server-sent events on %s', (kind) => {
  let h: Harness;
  let base: string;
  const streams: SseStream[] = [];
  beforeAll(async () => {
    h = await createHarness(kind);
    await h.server.listen({ port: 0, host: '127.0.0.1' });
    const addr = h.server.server.address();
    if (!addr || typeof addr === 'string') throw new Error('the server is not listening on a port');
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await h?.close();
  });
  const open = async (path: string, role: Role) => {
    const s = await openSse(`${base}${path}`, h.creds[role].headers);
    streams.push(s);
    return s;
  };

  it('tells an open inbox about a new messenger message', async () => {
    const inbox = await open('/api/stream', 'teammate');
    const started = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'Live question' },
    });
    const convId = (started.json() as { id: string }).id;
    const e = await inbox.next((x) => x.event === 'message.created');
    expect(e.data).toMatchObject({
      type: 'message.created',
      conversation_id: convId,
      data: { body: 'Live question', kind: 'comment', author: { type: 'contact' } },
    });
  });

  it("delivers the team's reply to the messenger but never a note", async () => {
    const started = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'Anyone there?' },
    });
    const convId = (started.json() as { id: string }).id;
    const messenger = await open('/messenger/stream', 'messenger_user');
    const lead = await open('/messenger/stream', 'messenger_lead');
    await h.request('teammate', {
      method: 'POST',
      url: `/api/conversations/${convId}/reply`,
      payload: { type: 'note', body: 'internal: check the logs' },
    });
    await h.request('teammate', {
      method: 'POST',
      url: `/api/conversations/${convId}/reply`,
      payload: { body: 'Yes, here!' },
    });
    const reply = await messenger.next((x) => x.event === 'message.created');
    expect(reply.data).toMatchObject({
      conversation_id: convId,
      data: { body: 'Yes, here!', kind: 'comment' },
    });
    // The note was sent first: had it been delivered, it would have arrived before the reply.
    expect(JSON.stringify(messenger.events)).not.toContain('internal: check the logs');
    expect(messenger.events).toHaveLength(1);

    // Another visitor's messenger hears nothing of it; a message of its own proves the stream is live.
    const own = await h.request('messenger_lead', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'Lead here' },
    });
    const leadConv = (own.json() as { id: string }).id;
    await h.request('teammate', {
      method: 'POST',
      url: `/api/conversations/${leadConv}/reply`,
      payload: { body: 'Hello lead' },
    });
    await lead.next((x) => (x.data as { data?: { body?: string } }).data?.body === 'Hello lead');
    expect(JSON.stringify(lead.events)).not.toContain('Yes, here!');
  });

  it('logs nothing amiss when a stream closes', async () => {
    const s = await openSse(`${base}/api/stream`, h.creds.teammate.headers);
    s.close();
    for (
      let i = 0;
      i < 20 && !h.logLines.some((l) => l.includes('/api/stream') && l.includes('completed'));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    // Until session 14 every disconnect logged "Reply was already sent" as a warning.
    expect(h.logLines.filter((l) => l.includes('already sent'))).toEqual([]);
  });

  it('refuses the streams without credentials', async () => {
    expect((await fetch(`${base}/api/stream`)).status).toBe(401);
    expect((await fetch(`${base}/messenger/stream`)).status).toBe(401);
  });
});

// Two Settle processes on one PostgreSQL: the inbox and the messenger are served by whichever process a load
// balancer picks, and the change is made through another (issue: live updates were in-process until session 14).
describe.skipIf(!dbKinds().includes('postgres'))('live updates between two Settle processes', () => {
  let h: Harness;
  let other: SecondProcess;
  const streams: SseStream[] = [];
  beforeAll(async () => {
    h = await createHarness('postgres');
    other = await startSecondProcess(h);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await other?.close();
    await h?.close();
  });
  const open = async (path: string, role: Role) => {
    const s = await openSse(`${other.base}${path}`, h.creds[role].headers);
    streams.push(s);
    return s;
  };

  it("shows one process's messages in inboxes and messengers served by the other, notes never, long ones reloaded", async () => {
    const inbox = await open('/api/stream', 'teammate');
    const started = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'Asked through the first process' },
    });
    const convId = (started.json() as { id: string }).id;
    const seen = await inbox.next((x) => x.event === 'message.created');
    expect(seen.data).toMatchObject({
      conversation_id: convId,
      data: { body: 'Asked through the first process', author: { type: 'contact' } },
    });

    const messenger = await open('/messenger/stream', 'messenger_user');
    const reply = (body: string, type?: string) =>
      h.request('teammate', {
        method: 'POST',
        url: `/api/conversations/${convId}/reply`,
        payload: type ? { type, body } : { body },
      });
    await reply('internal: relayed notes stay inside', 'note');
    const long = `A long answer. ${'Details. '.repeat(1500)}`;
    await reply(long);
    await reply('Short answer');
    const short = await messenger.next(
      (x) => (x.data as { data?: { body?: string } }).data?.body === 'Short answer',
    );
    expect(short.data).toMatchObject({ conversation_id: convId });
    // The long reply came without its body (over PostgreSQL's 8,000-byte notification), marked for a reload.
    const relayed = messenger.events.map((e) => e.data as LiveEvent);
    expect(relayed).toHaveLength(2);
    expect(relayed[0]).toMatchObject({ data: { kind: 'comment' }, data_omitted: true });
    expect(JSON.stringify(relayed)).not.toContain('internal: relayed notes');
    // What the messenger then reloads holds the whole reply.
    const thread = await h.request('messenger_user', {
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
    });
    expect(JSON.stringify(thread.json())).toContain('Details. Details.');
  });

  it('passes a resync (events lost while a relay was down) to inboxes and messengers, which then reload', async () => {
    const inbox = await open('/api/stream', 'teammate');
    const messenger = await open('/messenger/stream', 'messenger_user');
    // What the bus emits once a relay connection is back (src/server/live-bus.test.ts covers when it does).
    other.bus.publish({ type: 'resync', workspace_id: h.workspace.id });
    for (const s of [inbox, messenger])
      expect((await s.next((x) => x.event === 'resync')).event).toBe('resync');
  });
});
