// Through HTTP with a minimal Fastify: the app factory is not ready yet, so the platform is a stand-in that
// authenticates every request as an API token of one workspace.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import { installErrorHandler } from '../../server/error-handler.ts';
import type { Platform } from '../../server/platform.ts';
import { registerRoute } from '../../server/route.ts';
import { searchRoutes } from './routes.ts';
import { defineAttributes, insertContacts, insertWorkspace } from './test-fixtures.ts';

const WS = 'ws_http';

describe.each(dbKinds())('search routes over HTTP (%s)', (kind) => {
  let t: TestDb;
  let app: FastifyInstance;
  beforeAll(async () => {
    t = await createTestDb(kind);
    await insertWorkspace(t.db, WS);
    await defineAttributes(t.db, WS, { plan: 'string', balance: 'number' });
    await insertContacts(t.db, WS, [
      { id: 'h1', email: 'a@x.io', created_at: 10, custom_attributes: { plan: 'Pro', balance: 3 } },
      { id: 'h2', created_at: 20, custom_attributes: { plan: 'Basic' } },
    ]);
    const platform = {
      db: t.db,
      routeCatalog: [],
      authenticate: async () => ({ kind: 'token', workspaceId: WS, tokenId: 't' }),
    } as unknown as Platform;
    app = Fastify();
    installErrorHandler(app);
    for (const r of searchRoutes) registerRoute(app, platform, r);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('POST /api/contacts/search answers the Intercom list shape', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/contacts/search',
      payload: { query: { field: 'custom_attributes.plan', operator: '=', value: 'Pro' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      type: 'list',
      total_count: 1,
      data: [{ type: 'contact', id: 'h1', email: 'a@x.io', created_at: 10 }],
      pages: { type: 'pages', page: 1, per_page: 50, total_pages: 1, next: null },
    });
  });

  it('a malformed query is a 400 naming the path, from the schema or from the type check', async () => {
    const structural = await app.inject({
      method: 'POST',
      url: '/api/contacts/search',
      payload: {
        query: {
          operator: 'AND',
          value: [{ operator: 'OR', value: [{ field: 'name', operator: 'LIKE', value: 'a' }] }],
        },
      },
    });
    expect(structural.statusCode).toBe(400);
    expect(structural.json().error).toMatchObject({
      code: 'invalid_request',
      path: 'query.value[0].value[0].operator',
    });
    const typed = await app.inject({
      method: 'POST',
      url: '/api/contacts/search',
      payload: {
        query: {
          operator: 'AND',
          value: [{ field: 'custom_attributes.balance', operator: '>', value: '3' }],
        },
      },
    });
    expect(typed.statusCode).toBe(400);
    expect(typed.json().error.path).toBe('query.value[0].value');
    const mistyped = await app.inject({
      method: 'POST',
      url: '/api/contacts/search',
      payload: {
        query: {
          operator: 'AND',
          value: [{ field: 'custom_attributes.balance', operator: '=', value: 'x' }],
        },
      },
    });
    expect(mistyped.json().error).toMatchObject({ code: 'invalid_request', path: 'query.value[0].value' });
    expect(mistyped.json().error.message).toMatch(/^query\.value\[0\]\.value: .*number/);
  });

  it('segments over HTTP: create 201, read with count, members, delete', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/segments',
      payload: {
        name: 'Has balance',
        query: { field: 'custom_attributes.balance', operator: '!=', value: null },
      },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json().count).toBe(1);
    const members = await app.inject({ method: 'GET', url: `/api/segments/${id}/contacts?per_page=1` });
    expect(members.json()).toMatchObject({ total_count: 1, data: [{ id: 'h1' }] });
    const put = await app.inject({
      method: 'PUT',
      url: `/api/segments/${id}`,
      payload: { query: { field: 'custom_attributes.balance', operator: '=', value: null } },
    });
    expect(put.json()).toMatchObject({ count: 1, name: 'Has balance' });
    expect((await app.inject({ method: 'DELETE', url: `/api/segments/${id}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/segments/${id}` })).statusCode).toBe(404);
  });
});
