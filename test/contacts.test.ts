import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createContact } from '../src/platform/contacts/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

interface ContactBody {
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  name: string | null;
  archived: boolean;
  custom_attributes: Record<string, unknown>;
}
interface ErrorBody {
  error: { code: string; message: string; path?: string };
}
interface Page {
  data: ContactBody[];
  total_count: number;
  pages: { next: { starting_after: string } | null };
}

describe.each(dbKinds())('contacts through the API on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
    for (const [name, type] of [
      ['plan', 'string'],
      ['seats', 'number'],
      ['vip', 'boolean'],
      ['renews_at', 'date'],
    ]) {
      const res = await h.request('admin', {
        method: 'POST',
        url: '/api/data_attributes',
        payload: { name, type },
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => h?.close());

  const create = (payload: Record<string, unknown>) =>
    h.request('token', { method: 'POST', url: '/api/contacts', payload });
  const put = (id: string, payload: Record<string, unknown>) =>
    h.request('teammate', { method: 'PUT', url: `/api/contacts/${id}`, payload });
  const get = (id: string) => h.request('teammate', { method: 'GET', url: `/api/contacts/${id}` });

  it('creates users and leads, and refuses a user without an identity', async () => {
    const user = await create({ role: 'user', external_id: 'c-1', email: 'Ann@Example.com', name: 'Ann' });
    expect(user.statusCode).toBe(201);
    expect(user.json()).toMatchObject({ role: 'user', external_id: 'c-1', email: 'Ann@Example.com' });

    const lead = await create({ role: 'lead' });
    expect(lead.statusCode).toBe(201);
    expect(lead.json()).toMatchObject({ role: 'lead', external_id: null, email: null });

    const nobody = await create({ role: 'user', name: 'No identity' });
    expect(nobody.statusCode).toBe(400);
    expect((nobody.json() as ErrorBody).error.code).toBe('identity_required');

    // Turning a user into one without identity is refused as well.
    const id = (user.json() as ContactBody).id;
    const strip = await put(id, { external_id: null, email: null });
    expect(strip.statusCode).toBe(400);
    expect((strip.json() as ErrorBody).error.code).toBe('identity_required');
  });

  it('answers 409 when an external_id is already taken, on create and on update', async () => {
    expect((await create({ external_id: 'dup-1' })).statusCode).toBe(201);
    const again = await create({ external_id: 'dup-1' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'external_id_taken', path: 'external_id' } });

    const other = (await create({ external_id: 'dup-2' })).json() as ContactBody;
    const clash = await put(other.id, { external_id: 'dup-1' });
    expect(clash.statusCode).toBe(409);
    // Re-saving one's own external_id is no conflict.
    expect((await put(other.id, { external_id: 'dup-2', name: 'Two' })).statusCode).toBe(200);
  });

  it('stores typed custom attributes, removes one on null, and names the attribute in a type error', async () => {
    const c = (await create({ email: 'attrs@example.com' })).json() as ContactBody;
    const updated = await put(c.id, {
      custom_attributes: { plan: 'pro', seats: 5, vip: true, renews_at: 1_900_000_000 },
    });
    expect(updated.statusCode).toBe(200);
    expect((updated.json() as ContactBody).custom_attributes).toEqual({
      plan: 'pro',
      seats: 5,
      vip: true,
      renews_at: 1_900_000_000,
    });

    // A partial update keeps the other values; null removes one.
    const removed = await put(c.id, { custom_attributes: { vip: null, seats: 6 } });
    expect((removed.json() as ContactBody).custom_attributes).toEqual({
      plan: 'pro',
      seats: 6,
      renews_at: 1_900_000_000,
    });
    expect(((await get(c.id)).json() as ContactBody).custom_attributes).not.toHaveProperty('vip');

    for (const [name, value] of [
      ['seats', 'five'],
      ['vip', 'yes'],
      ['plan', 3],
      ['renews_at', 1.5],
    ] as const) {
      const bad = await put(c.id, { custom_attributes: { [name]: value } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({
        error: { code: 'attribute_type_mismatch', path: `custom_attributes.${name}` },
      });
      expect((bad.json() as ErrorBody).error.message).toContain(`custom_attributes.${name}`);
    }
    // 2,000 bytes of UTF-8 is the longest string value; an index entry of an incompressible one still fits, so
    // it is stored and found by search. One byte more is refused with the attribute's path.
    const longest = randomBytes(1500).toString('base64').slice(0, 1996) + 'éé';
    const stored = await put(c.id, { custom_attributes: { plan: longest } });
    expect(stored.statusCode).toBe(200);
    const found = await h.request('token', {
      method: 'POST',
      url: '/api/contacts/search',
      payload: { query: { field: 'custom_attributes.plan', operator: '=', value: longest } },
    });
    expect(found.statusCode, found.body).toBe(200);
    expect((found.json() as { data: { id: string }[] }).data.map((d) => d.id)).toEqual([c.id]);
    const tooLong = await put(c.id, { custom_attributes: { plan: longest + 'x' } });
    expect(tooLong.statusCode).toBe(400);
    expect((tooLong.json() as ErrorBody).error.path).toBe('custom_attributes.plan');
    expect((tooLong.json() as ErrorBody).error.message).toContain('2000 bytes');
    await put(c.id, { custom_attributes: { plan: 'pro' } });

    const unknown = await put(c.id, { custom_attributes: { nope: 1 } });
    expect(unknown.statusCode).toBe(400);
    expect((unknown.json() as ErrorBody).error.path).toBe('custom_attributes.nope');
    // Nothing of the refused writes stuck.
    expect(((await get(c.id)).json() as ContactBody).custom_attributes).toEqual({
      plan: 'pro',
      seats: 6,
      renews_at: 1_900_000_000,
    });
  });

  it('archives, unarchives and deletes a contact', async () => {
    const c = (await create({ email: 'arch@example.com' })).json() as ContactBody;
    const archived = await h.request('teammate', { method: 'POST', url: `/api/contacts/${c.id}/archive` });
    expect(archived.json()).toMatchObject({ archived: true });
    expect(((await get(c.id)).json() as ContactBody).archived).toBe(true);
    const back = await h.request('teammate', { method: 'POST', url: `/api/contacts/${c.id}/unarchive` });
    expect(back.json()).toMatchObject({ archived: false });

    // Deleting is for admins and tokens, not for every teammate.
    expect((await h.request('teammate', { method: 'DELETE', url: `/api/contacts/${c.id}` })).statusCode).toBe(
      403,
    );
    const del = await h.request('admin', { method: 'DELETE', url: `/api/contacts/${c.id}` });
    expect(del.json()).toEqual({ type: 'contact', id: c.id, deleted: true });
    expect((await get(c.id)).statusCode).toBe(404);
    expect((await h.request('admin', { method: 'DELETE', url: `/api/contacts/${c.id}` })).statusCode).toBe(
      404,
    );
    expect(
      (await h.request('teammate', { method: 'POST', url: `/api/contacts/${c.id}/archive` })).statusCode,
    ).toBe(404);
  });

  it('finds a contact by email whatever its case and surrounding spaces', async () => {
    const c = (await create({ email: 'Mixed.Case@Example.COM' })).json() as ContactBody;
    for (const q of ['mixed.case@example.com', 'MIXED.CASE@EXAMPLE.COM', ' Mixed.Case@example.com ']) {
      const res = await h.request('teammate', {
        method: 'GET',
        url: `/api/contacts?email=${encodeURIComponent(q)}`,
      });
      expect((res.json() as Page).data.map((x) => x.id)).toEqual([c.id]);
    }
  });

  it('walks every contact exactly once through starting_after, also contacts imported in one transaction', async () => {
    for (let i = 0; i < 7; i++) expect((await create({ external_id: `page-${i}` })).statusCode).toBe(201);
    // An import writes many contacts in one transaction: they share created_at.
    await h.platform.db.transaction(async (tx) => {
      for (let i = 0; i < 6; i++)
        await createContact(tx, h.workspace.id, { role: 'user', external_id: `import-${i}` });
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let total: number;
    let pages = 0;
    do {
      const res = await h.request('token', {
        method: 'GET',
        url: `/api/contacts?per_page=4${cursor ? `&starting_after=${cursor}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json() as Page;
      total = page.total_count;
      seen.push(...page.data.map((c) => c.id));
      cursor = page.pages.next?.starting_after;
      pages++;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(total);
    const all = await h.platform.db.query<{ id: string }>('SELECT id FROM contacts WHERE workspace_id = $1', [
      h.workspace.id,
    ]);
    expect(new Set(seen)).toEqual(new Set(all.rows.map((r) => r.id)));

    const bad = await h.request('token', { method: 'GET', url: '/api/contacts?starting_after=garbage' });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as ErrorBody).error.code).toBe('invalid_cursor');
  });

  it("merges a lead into a user, moving the lead's conversations and events", async () => {
    const user = (await create({ external_id: 'merge-user', name: 'Merged User' })).json() as ContactBody;
    const lead = (
      await create({ role: 'lead', email: 'lead@example.com', name: 'Lead Name' })
    ).json() as ContactBody;
    await put(lead.id, { custom_attributes: { plan: 'trial' } });
    const conv = await h.request('teammate', {
      method: 'POST',
      url: '/api/conversations',
      payload: { contact_id: lead.id, body: 'Hi, can we help?' },
    });
    expect(conv.statusCode).toBe(201);
    const convId = (conv.json() as { id: string }).id;
    expect(
      (
        await h.request('token', {
          method: 'POST',
          url: '/api/events',
          payload: { contact_id: lead.id, event_name: 'visited-pricing' },
        })
      ).statusCode,
    ).toBe(202);

    // Only a lead merges, and only into a user.
    const wrong = await h.request('teammate', {
      method: 'POST',
      url: '/api/contacts/merge',
      payload: { from: user.id, into: lead.id },
    });
    expect(wrong.statusCode).toBe(400);
    expect((wrong.json() as ErrorBody).error.code).toBe('merge_invalid');

    const merged = await h.request('teammate', {
      method: 'POST',
      url: '/api/contacts/merge',
      payload: { from: lead.id, into: user.id },
    });
    expect(merged.statusCode).toBe(200);
    // The user keeps its own values; the lead's fill the gaps.
    expect(merged.json()).toMatchObject({
      id: user.id,
      role: 'user',
      name: 'Merged User',
      email: 'lead@example.com',
      custom_attributes: { plan: 'trial' },
    });
    expect((await get(lead.id)).statusCode).toBe(404);

    const conversation = await h.request('teammate', { method: 'GET', url: `/api/conversations/${convId}` });
    expect(conversation.json()).toMatchObject({ contact_id: user.id });
    const events = await h.request('teammate', { method: 'GET', url: `/api/contacts/${user.id}/events` });
    expect((events.json() as { events: { event_name: string }[] }).events.map((e) => e.event_name)).toEqual([
      'visited-pricing',
    ]);
  });
});
