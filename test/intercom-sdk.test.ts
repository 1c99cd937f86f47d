// Settle's API driven only through Intercom's official Node SDK, as a team leaving Intercom would keep using it.
import { IntercomClient, IntercomError } from 'intercom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

describe.each(dbKinds())('intercom-client against Settle on %s', (kind) => {
  let h: Harness;
  let client: IntercomClient;
  let baseUrl: string;

  beforeAll(async () => {
    h = await createHarness(kind);
    const address = await h.server.listen({ port: 0, host: '127.0.0.1' });
    const token = h.creds.token.headers.authorization!.replace('Bearer ', '');
    baseUrl = `${address}/api`;
    client = new IntercomClient({ token, baseUrl, maxRetries: 0 });
  });
  afterAll(async () => h?.close());

  it('defines data attributes of every Intercom type and lists them', async () => {
    for (const [name, data_type] of [
      ['plan', 'string'],
      ['seats', 'integer'],
      ['mrr', 'float'],
      ['vip', 'boolean'],
      ['renews_at', 'date'],
    ] as const) {
      // The SDK's generated request type omits `name` and `model`, which Intercom's API requires.
      const created = await client.dataAttributes.create({ name, model: 'contact', data_type } as Parameters<
        typeof client.dataAttributes.create
      >[0]);
      expect(created).toMatchObject({
        name,
        data_type,
        model: 'contact',
        full_name: `custom_attributes.${name}`,
      });
    }
    const list = await client.dataAttributes.list({ model: 'contact' });
    expect(list.data?.map((a) => a.name)).toEqual(
      expect.arrayContaining(['plan', 'seats', 'mrr', 'vip', 'renews_at']),
    );
  });

  it('archives and unarchives a data attribute; an archived one is listed only on request and refuses writes', async () => {
    const created = await client.dataAttributes.create({
      name: 'legacy_tier',
      model: 'contact',
      data_type: 'string',
    } as Parameters<typeof client.dataAttributes.create>[0]);
    // Settle's id is the attribute's name; the SDK types Intercom's integer ids.
    expect(created.id as unknown).toBe('legacy_tier');
    const data_attribute_id = created.id!;
    const contact = (await client.contacts.create({
      role: 'user',
      email: 'tiered@example.com',
      custom_attributes: { legacy_tier: 'gold' },
    })) as { id: string };

    const archived = await client.dataAttributes.update({
      data_attribute_id,
      body: { archived: true, description: 'Replaced by plan' },
    });
    expect(archived).toMatchObject({ name: 'legacy_tier', archived: true, description: 'Replaced by plan' });
    const shown = await client.dataAttributes.list({ model: 'contact' });
    expect(shown.data?.map((a) => a.name)).not.toContain('legacy_tier');
    const all = await client.dataAttributes.list({ model: 'contact', include_archived: true });
    expect(all.data?.find((a) => a.name === 'legacy_tier')).toMatchObject({ archived: true });

    const write = client.contacts.update({
      contact_id: contact.id,
      custom_attributes: { legacy_tier: 'silver' },
    });
    await expect(write).rejects.toMatchObject({
      statusCode: 400,
      body: {
        error: { path: 'custom_attributes.legacy_tier', message: expect.stringMatching(/is archived/) },
      },
    });
    // The value it had stays until the attribute is deleted.
    expect(await client.contacts.find({ contact_id: contact.id })).toMatchObject({
      custom_attributes: { legacy_tier: 'gold' },
    });

    // Intercom's update fields Settle has no use for are refused by name, not ignored.
    await expect(
      client.dataAttributes.update({ data_attribute_id, body: { options: [{ value: 'gold' }] } }),
    ).rejects.toMatchObject({ statusCode: 400, body: { error: { path: 'options' } } });

    expect(
      await client.dataAttributes.update({ data_attribute_id, body: { archived: false } }),
    ).toMatchObject({
      archived: false,
      description: 'Replaced by plan',
    });
    expect(
      await client.contacts.update({ contact_id: contact.id, custom_attributes: { legacy_tier: 'silver' } }),
    ).toMatchObject({ custom_attributes: { legacy_tier: 'silver' } });
    const unknown = client.dataAttributes.update({
      data_attribute_id: 12345,
      body: { archived: true },
    });
    await expect(unknown).rejects.toMatchObject({
      statusCode: 404,
      body: { error: { code: 'attribute_not_found' } },
    });
  });

  it('creates, finds, updates, lists and deletes contacts', async () => {
    const created = await client.contacts.create({
      role: 'user',
      external_id: 'sdk-1',
      email: 'Sdk.User@Example.com',
      name: 'Sdk User',
      custom_attributes: { plan: 'Pro', seats: 3, mrr: 49.5, vip: true, renews_at: 1_800_000_000 },
    });
    const id = (created as { id: string }).id;
    expect(created).toMatchObject({ role: 'user', external_id: 'sdk-1', email: 'Sdk.User@Example.com' });

    const found = await client.contacts.find({ contact_id: id });
    expect(found).toMatchObject({ id, custom_attributes: { plan: 'Pro', seats: 3, mrr: 49.5, vip: true } });
    const byExternal = await client.contacts.showContactByExternalId({ external_id: 'sdk-1' });
    expect((byExternal as { id: string }).id).toBe(id);

    const updated = await client.contacts.update({
      contact_id: id,
      name: 'Renamed',
      custom_attributes: { plan: 'Team', vip: null },
    });
    expect(updated).toMatchObject({ name: 'Renamed', custom_attributes: { plan: 'Team' } });
    expect((updated as { custom_attributes: Record<string, unknown> }).custom_attributes).not.toHaveProperty(
      'vip',
    );

    const badType = client.contacts.update({ contact_id: id, custom_attributes: { seats: 2.5 } });
    await expect(badType).rejects.toMatchObject({ statusCode: 400 });

    const seen: string[] = [];
    const page = await client.contacts.list({ per_page: 1 });
    for await (const c of page) seen.push(c.id);
    expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);

    const lead = await client.contacts.create({ role: 'lead', name: 'To delete' });
    const deleted = await client.contacts.delete({ contact_id: (lead as { id: string }).id });
    expect(deleted).toMatchObject({ deleted: true });
    await expect(client.contacts.find({ contact_id: (lead as { id: string }).id })).rejects.toBeInstanceOf(
      IntercomError,
    );
  });

  it('submits data events once and lists them by user', async () => {
    const contact = await client.contacts.create({
      role: 'user',
      external_id: 'sdk-events',
      email: 'events@example.com',
    });
    const at = 1_790_000_000;
    await client.events.create({
      event_name: 'invited-teammate',
      created_at: at,
      user_id: 'sdk-events',
      metadata: { source: 'settings' },
    });
    // Intercom's de-duplication: same contact, name and second.
    await client.events.create({
      event_name: 'invited-teammate',
      created_at: at,
      user_id: 'sdk-events',
      metadata: { source: 'settings' },
    });
    await client.events.create({
      event_name: 'upgraded',
      created_at: at + 5,
      id: (contact as { id: string }).id,
    });
    const list = (await client.events.list({ type: 'user', user_id: 'sdk-events' })) as unknown as {
      events: { event_name: string; created_at: number; metadata: Record<string, unknown> }[];
    };
    expect(list.events.map((e) => e.event_name).sort()).toEqual(['invited-teammate', 'upgraded']);
    expect(list.events.find((e) => e.event_name === 'invited-teammate')).toMatchObject({
      created_at: at,
      metadata: { source: 'settings' },
    });
  });

  it('tags and untags contacts', async () => {
    const contact = (await client.contacts.create({ role: 'user', email: 'tagged@example.com' })) as {
      id: string;
    };
    const tag = await client.tags.create({ name: 'Churn risk' });
    const again = await client.tags.create({ name: 'churn risk' });
    expect(again.id).toBe(tag.id);
    await client.tags.tagContact({ contact_id: contact.id, id: tag.id });
    const attached = await client.contacts.listAttachedTags({ contact_id: contact.id });
    expect(attached.data?.map((t) => t.name)).toEqual(['Churn risk']);
    const fetched = (await client.contacts.find({ contact_id: contact.id })) as {
      tags: { data: { id: string }[] };
    };
    expect(fetched.tags.data.map((t) => t.id)).toEqual([tag.id]);
    await client.tags.untagContact({ contact_id: contact.id, tag_id: tag.id });
    expect((await client.contacts.listAttachedTags({ contact_id: contact.id })).data).toEqual([]);
    const all = await client.tags.list();
    expect(all.data?.map((t) => t.name)).toContain('Churn risk');
  });

  it("lists the segments a contact is in, evaluated now, and 404s for a contact that doesn't exist", async () => {
    // Intercom's segments are made in its UI; Settle's through its own API.
    const segment = async (name: string, query: unknown) => {
      const res = await h.request('token', {
        method: 'POST',
        url: '/api/segments',
        payload: { name, query },
      });
      expect(res.statusCode, res.body).toBe(201);
      return (res.json() as { id: string }).id;
    };
    const bigPaying = await segment('Big, not on Free', {
      operator: 'AND',
      value: [
        {
          operator: 'OR',
          value: [
            { field: 'custom_attributes.seats', operator: '>=', value: 10 },
            { field: 'custom_attributes.vip', operator: '=', value: true },
          ],
        },
        { field: 'custom_attributes.plan', operator: 'NIN', value: ['Free'] },
      ],
    });
    const noRenewal = await segment('No renewal date', {
      field: 'custom_attributes.renews_at',
      operator: '=',
      value: null,
    });
    await segment('Enterprise', { field: 'custom_attributes.plan', operator: '=', value: 'Enterprise' });

    const inTwo = (await client.contacts.create({
      role: 'user',
      email: 'segmented@example.com',
      custom_attributes: { plan: 'Growth', seats: 12 },
    })) as { id: string };
    const attached = await client.contacts.listAttachedSegments({ contact_id: inTwo.id });
    expect(attached.type).toBe('list');
    expect(attached.data?.map((s) => [s.id, s.name])).toEqual([
      [bigPaying, 'Big, not on Free'],
      [noRenewal, 'No renewal date'],
    ]);
    expect(attached.data?.[0]).toMatchObject({
      type: 'segment',
      person_type: 'user',
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
    });

    const inNone = (await client.contacts.create({
      role: 'user',
      email: 'unsegmented@example.com',
      custom_attributes: { plan: 'Free', seats: 50, renews_at: 1_800_000_000 },
    })) as { id: string };
    expect((await client.contacts.listAttachedSegments({ contact_id: inNone.id })).data).toEqual([]);

    // Intercom's segment list and retrieve: counts on request, as Intercom's include_count.
    const listed = await client.segments.list({ include_count: true });
    expect(listed.type).toBe('segment.list');
    const big = listed.segments?.find((s) => s.id === bigPaying);
    expect(big).toMatchObject({ type: 'segment', name: 'Big, not on Free', person_type: 'user', count: 1 });
    const enterprise = listed.segments?.find((s) => s.name === 'Enterprise');
    expect(enterprise?.count).toBe(0);
    const uncounted = await client.segments.list({ include_count: false });
    expect(uncounted.segments?.map((s) => s.id)).toEqual(listed.segments?.map((s) => s.id));
    expect(uncounted.segments?.every((s) => s.count === undefined)).toBe(true);
    // The count is the search's total for the same query.
    const withoutRenewal = await h.request('token', {
      method: 'POST',
      url: '/api/contacts/search',
      payload: { query: { field: 'custom_attributes.renews_at', operator: '=', value: null } },
    });
    const total = (withoutRenewal.json() as { total_count: number }).total_count;
    expect(total).toBeGreaterThan(1);
    expect(await client.segments.find({ segment_id: noRenewal })).toMatchObject({
      type: 'segment',
      id: noRenewal,
      name: 'No renewal date',
      count: total,
    });
    await expect(client.segments.find({ segment_id: 'no_such_segment' })).rejects.toMatchObject({
      statusCode: 404,
      body: { error: { code: 'segment_not_found' } },
    });

    await expect(
      client.contacts.listAttachedSegments({ contact_id: 'no_such_contact' }),
    ).rejects.toMatchObject({
      statusCode: 404,
      body: { error: { code: 'contact_not_found' } },
    });
  });

  it('lists conversations, retrieves one and replies as an admin and as the user', async () => {
    const started = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'My card was declined' },
    });
    const convId = (started.json() as { id: string }).id;

    const ids: string[] = [];
    for await (const c of await client.conversations.list({ per_page: 5 })) ids.push(c.id);
    expect(ids).toContain(convId);

    const conv = await client.conversations.find({ conversation_id: convId });
    expect(conv).toMatchObject({
      id: convId,
      open: true,
      source: { body: 'My card was declined', author: { type: 'user' } },
    });

    const replied = await client.conversations.reply({
      conversation_id: convId,
      body: {
        message_type: 'comment',
        type: 'admin',
        admin_id: h.ids.adminId,
        body: 'Please try another card.',
      },
    });
    const parts = (
      replied as unknown as {
        conversation_parts: { conversation_parts: { body: string; author: { type: string; id: string } }[] };
      }
    ).conversation_parts.conversation_parts;
    expect(parts.at(-1)).toMatchObject({
      body: 'Please try another card.',
      author: { type: 'admin', id: h.ids.adminId },
    });

    await client.conversations.reply({
      conversation_id: convId,
      body: {
        message_type: 'comment',
        type: 'user',
        intercom_user_id: h.ids.userContactId,
        body: 'Done, thanks',
      },
    });
    await client.conversations.reply({
      conversation_id: convId,
      body: { message_type: 'note', type: 'admin', admin_id: h.ids.adminId, body: 'resolved' },
    });
    const seenByUser = await h.request('messenger_user', {
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
    });
    expect((seenByUser.json() as { messages: { body: string }[] }).messages.map((m) => m.body)).toEqual([
      'My card was declined',
      'Please try another card.',
      'Done, thanks',
    ]);
  });

  it('is refused without a valid token', async () => {
    const bad = new IntercomClient({ token: 'stl_not_a_token', baseUrl, maxRetries: 0 });
    await expect(bad.contacts.list()).rejects.toMatchObject({ statusCode: 401 });
  });
});
