// Updating, archiving and deleting contact attribute definitions over HTTP (the SDK side is in intercom-sdk.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { deleteAttribute } from '../src/platform/attributes/service.ts';
import { createContact } from '../src/platform/contacts/service.ts';
import { createApiToken } from '../src/platform/teammates/service.ts';
import { createWorkspace } from '../src/platform/workspaces/service.ts';
import { EXAMPLE_APP, fixtureRegistry } from './helpers/fixture-app.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

interface ErrorBody {
  error: { code: string; message: string; path?: string };
}

describe.each(dbKinds())('data attribute update, archive and delete on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
  });
  afterAll(async () => h?.close());

  const define = (name: string, type: string, headers?: Record<string, string>) =>
    headers
      ? h.server.inject({ method: 'POST', url: '/api/data_attributes', headers, payload: { name, type } })
      : h.request('admin', { method: 'POST', url: '/api/data_attributes', payload: { name, type } });
  const update = (name: string, payload: Record<string, unknown>) =>
    h.request('token', { method: 'PUT', url: `/api/data_attributes/${name}`, payload });
  const remove = (name: string) =>
    h.request('token', { method: 'DELETE', url: `/api/data_attributes/${name}` });
  const newContact = async (attrs: Record<string, string | number>) => {
    const res = await h.request('token', {
      method: 'POST',
      url: '/api/contacts',
      payload: { role: 'lead', custom_attributes: attrs },
    });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: string }).id;
  };
  const attrsOf = async (id: string) =>
    (
      (await h.request('token', { method: 'GET', url: `/api/contacts/${id}` })).json() as {
        custom_attributes: Record<string, unknown>;
      }
    ).custom_attributes;
  const search = (query: unknown) =>
    h.request('token', { method: 'POST', url: '/api/contacts/search', payload: { query } });
  /** What the search side tables hold for the key in this workspace. */
  const sideRows = async (key: string) => {
    const values = await h.platform.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM contact_attribute_values WHERE workspace_id = $1 AND key = $2',
      [h.workspace.id, key],
    );
    const counts = await h.platform.db.query<{ n: number }>(
      'SELECT coalesce(sum(delta), 0)::int AS n FROM contact_search_counts WHERE workspace_id = $1 AND key = $2',
      [h.workspace.id, key],
    );
    return { values: values.rows[0]?.n, counted: counts.rows[0]?.n };
  };

  it('answers each definition with its name as id; edits label and description; refuses unknown ids', async () => {
    expect((await define('region', 'string')).json()).toMatchObject({ id: 'region', name: 'region' });
    const res = await update('region', {
      label: '  Sales region ',
      description: 'Where the account sits',
      messenger_writable: false,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      id: 'region',
      label: 'Sales region',
      description: 'Where the account sits',
      archived: false,
      messenger_writable: false,
    });
    for (const [payload, path] of [
      [{ messenger_writable: true }, 'messenger_writable'],
      [{ options: [{ value: 'EU' }] }, 'options'],
      [{ label: ' ' }, 'label'],
      [{ data_type: 'integer' }, 'data_type'],
    ] as const) {
      const bad = await update('region', payload);
      expect(bad.statusCode).toBe(400);
      expect((bad.json() as ErrorBody).error.path).toBe(path);
    }
    for (const res of [await update('nope', { archived: true }), await remove('nope')]) {
      expect(res.statusCode).toBe(404);
      expect((res.json() as ErrorBody).error.code).toBe('attribute_not_found');
    }
  });

  it("refuses to edit, archive or delete an app's attribute, naming the app", async () => {
    await h.platform.apps.install(h.workspace.id, EXAMPLE_APP, {});
    for (const res of [
      await update('example_plan', { archived: true }),
      await update('example_plan', { description: 'mine now' }),
      await remove('example_plan'),
    ]) {
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'attribute_read_only' } });
      expect((res.json() as ErrorBody).error.message).toContain(`the ${EXAMPLE_APP} app`);
    }
    const list = await h.request('token', {
      method: 'GET',
      url: '/api/data_attributes?include_archived=true',
    });
    expect((list.json() as { data: { name: string; archived: boolean }[] }).data).toContainEqual(
      expect.objectContaining({ name: 'example_plan', archived: false }),
    );
  });

  it('deletes only an archived attribute, with its values on every contact of the workspace only', async () => {
    // Another workspace with the same name keeps its definition and values.
    const other = await createWorkspace(h.platform.db, h.platform.box, 'Other');
    const otherHeaders = {
      authorization: `Bearer ${(await createApiToken(h.platform.db, other.id, 'other')).token}`,
    };
    expect((await define('tier', 'string', otherHeaders)).statusCode).toBe(201);
    const otherContact = await createContact(h.platform.db, other.id, {
      role: 'lead',
      custom_attributes: { tier: 'gold' },
    });

    expect((await define('tier', 'string')).statusCode).toBe(201);
    const a = await newContact({ tier: 'gold' });
    const b = await newContact({ tier: 'silver', region: 'EU' });
    const archivedContact = await newContact({ tier: 'gold' });
    expect(
      (await h.request('token', { method: 'POST', url: `/api/contacts/${archivedContact}/archive` }))
        .statusCode,
    ).toBe(200);
    expect(await sideRows('tier')).toEqual({ values: 2, counted: 2 });

    const notArchived = await remove('tier');
    expect(notArchived.statusCode).toBe(409);
    expect((notArchived.json() as ErrorBody).error).toMatchObject({ code: 'attribute_not_archived' });
    expect((notArchived.json() as ErrorBody).error.message).toContain('PUT /api/data_attributes/tier');
    expect(await attrsOf(a)).toMatchObject({ tier: 'gold' });

    const archived = await update('tier', { archived: true });
    expect(archived.json()).toMatchObject({ id: 'tier', archived: true });
    // Search keeps working on the values an archived attribute still has.
    const found = await search({ field: 'custom_attributes.tier', operator: '=', value: 'gold' });
    expect(found.json()).toMatchObject({ total_count: 1, data: [{ id: a }] });

    // A saved segment on it would break: it is named, and the delete waits for it.
    const seg = await h.request('token', {
      method: 'POST',
      url: '/api/segments',
      payload: { name: 'Gold', query: { field: 'custom_attributes.tier', operator: '=', value: 'gold' } },
    });
    expect(seg.statusCode, seg.body).toBe(201);
    const inUse = await remove('tier');
    expect(inUse.statusCode).toBe(409);
    expect((inUse.json() as ErrorBody).error).toMatchObject({ code: 'attribute_in_use' });
    expect((inUse.json() as ErrorBody).error.message).toContain('"Gold"');
    const segId = (seg.json() as { id: string }).id;
    expect((await h.request('token', { method: 'DELETE', url: `/api/segments/${segId}` })).statusCode).toBe(
      200,
    );

    const deleted = await remove('tier');
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toEqual({
      type: 'data_attribute',
      id: 'tier',
      deleted: true,
      contacts_updated: 3,
    });
    expect(await attrsOf(a)).toEqual({});
    expect(await attrsOf(b)).toEqual({ region: 'EU' });
    expect(await sideRows('tier')).toEqual({ values: 0, counted: 0 });
    const list = await h.request('token', {
      method: 'GET',
      url: '/api/data_attributes?include_archived=true',
    });
    expect((list.json() as { data: { name: string }[] }).data.map((d) => d.name)).not.toContain('tier');
    const unknown = await search({ field: 'custom_attributes.tier', operator: '=', value: 'gold' });
    expect(unknown.json()).toMatchObject({ error: { code: 'unknown_attribute' } });
    expect((await remove('tier')).statusCode).toBe(404);

    // Defined again, it finds none of the old values: not in the contacts, not in the counts.
    expect((await define('tier', 'string')).statusCode).toBe(201);
    const none = await search({ field: 'custom_attributes.tier', operator: '=', value: 'gold' });
    expect(none.json()).toMatchObject({ total_count: 0, data: [] });
    const unarchived = await h.request('token', {
      method: 'POST',
      url: `/api/contacts/${archivedContact}/unarchive`,
    });
    expect(unarchived.statusCode).toBe(200);
    expect(await attrsOf(archivedContact)).toEqual({});

    // …and once more, with another type.
    await update('tier', { archived: true });
    expect((await remove('tier')).json()).toMatchObject({ deleted: true, contacts_updated: 0 });
    const asNumber = await define('tier', 'number');
    expect(asNumber.json()).toMatchObject({ id: 'tier', data_type: 'float' });
    await newContact({ tier: 3 });
    const byNumber = await search({ field: 'custom_attributes.tier', operator: '>', value: 1 });
    expect(byNumber.json()).toMatchObject({ total_count: 1 });

    // The other workspace was not touched.
    const otherRead = await h.server.inject({
      method: 'GET',
      url: `/api/contacts/${otherContact.id}`,
      headers: otherHeaders,
    });
    expect((otherRead.json() as { custom_attributes: unknown }).custom_attributes).toEqual({ tier: 'gold' });
    const otherList = await h.server.inject({
      method: 'GET',
      url: '/api/data_attributes',
      headers: otherHeaders,
    });
    expect((otherList.json() as { data: unknown[] }).data).toContainEqual(
      expect.objectContaining({ name: 'tier', data_type: 'string', archived: false }),
    );
  });

  // The authorization matrix checks routes against their declared access; this pins the declaration itself.
  it('lets only admins and API tokens archive or delete, and others change nothing', async () => {
    await define('guarded', 'string');
    const c = await newContact({ guarded: 'x' });
    const calls = [
      { method: 'PUT', url: '/api/data_attributes/guarded', payload: { archived: true } },
      { method: 'DELETE', url: '/api/data_attributes/guarded' },
    ] as const;
    for (const role of ['teammate', 'messenger_user', 'messenger_lead', 'anonymous'] as const) {
      for (const call of calls) {
        const res = await h.request(role, call);
        expect({ role, call: call.method, status: res.statusCode }).toEqual({
          role,
          call: call.method,
          status: role === 'anonymous' ? 401 : 403,
        });
      }
    }
    expect(await attrsOf(c)).toEqual({ guarded: 'x' });
    expect((await h.request('admin', calls[0])).json()).toMatchObject({ archived: true });
    expect((await h.request('admin', calls[1])).json()).toMatchObject({ deleted: true, contacts_updated: 1 });
  });

  it('removes the values in batches of contacts, none missed between batches, archived contacts included', async () => {
    await define('batched', 'string');
    await define('kept', 'string');
    const ids: string[] = [];
    // Every third contact has no value: batches of two see all mixes (both, one, none).
    for (let i = 0; i < 11; i++)
      ids.push(await newContact(i % 3 === 2 ? { kept: `k${i}` } : { batched: `b${i}`, kept: `k${i}` }));
    const archived = ids[4]!;
    expect(
      (await h.request('token', { method: 'POST', url: `/api/contacts/${archived}/archive` })).statusCode,
    ).toBe(200);
    await update('batched', { archived: true });
    const { contactsUpdated } = await deleteAttribute(h.platform.db, h.workspace.id, 'batched', { batch: 2 });
    expect(contactsUpdated).toBe(ids.filter((_, i) => i % 3 !== 2).length);
    const left = await h.platform.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND custom_attributes ? 'batched'",
      [h.workspace.id],
    );
    expect(left.rows[0]?.n).toBe(0);
    for (const [i, id] of ids.entries()) {
      const row = await h.platform.db.query<{ custom_attributes: Record<string, unknown> }>(
        'SELECT custom_attributes FROM contacts WHERE workspace_id = $1 AND id = $2',
        [h.workspace.id, id],
      );
      expect(row.rows[0]?.custom_attributes).toEqual({ kept: `k${i}` });
    }
    expect(await sideRows('batched')).toEqual({ values: 0, counted: 0 });
  });

  it('keeps an archived attribute’s name taken, and says so', async () => {
    await define('old_score', 'number');
    await update('old_score', { archived: true });
    const again = await define('old_score', 'number');
    expect(again.statusCode).toBe(409);
    expect((again.json() as ErrorBody).error.message).toMatch(/archived: unarchive it .* or delete it/);
  });
});
