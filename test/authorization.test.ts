// The authorization matrix: every route × every kind of caller. Allowed callers get through; every other call is
// a 401 (no or bad credentials) or 403 (wrong role) that changes nothing in the database.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { openMessengerSecret } from '../src/platform/workspaces/service.ts';
import { workspaceRepository } from '../src/platform/workspaces/repository.ts';
import { allRoutes } from '../src/server/routes.ts';
import { fingerprint } from './helpers/db-inspect.ts';
import { fixtureRegistry } from './helpers/fixture-app.ts';
import {
  createHarness,
  roles,
  signUserJwt,
  type Credentials,
  type Harness,
  type Role,
} from './helpers/harness.ts';
import {
  allowedRoles,
  createWorld,
  routeKey,
  sampleFor,
  samples,
  type SampleRequest,
  type World,
} from './helpers/route-samples.ts';

const isStream = (url: string) => url.endsWith('/stream');
const writes = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);

describe.each(dbKinds())('authorization on %s', (kind) => {
  let h: Harness;
  let w: World;
  let baseUrl: string | undefined;

  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
    w = await createWorld(h);
  });
  afterAll(async () => h?.close());

  function send(
    route: { method: string },
    sample: SampleRequest,
    creds: Credentials,
  ): Promise<LightMyRequestResponse> {
    const res = h.server.inject({
      method: route.method as 'GET',
      url: sample.url,
      headers: { ...creds.headers, ...sample.headers },
      ...(sample.payload !== undefined ? { payload: sample.payload as string } : {}),
    });
    // A stream that should have been refused but was opened never ends: fail fast instead of hanging.
    return Promise.race([
      res,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${route.method} ${sample.url} did not answer`)), 10_000).unref(),
      ),
    ]);
  }

  /** Server-sent event streams never end, so an allowed call goes over a socket and is cut once it answers. */
  async function openStream(url: string, creds: Credentials): Promise<number> {
    baseUrl ??= await h.server.listen({ port: 0, host: '127.0.0.1' });
    const abort = new AbortController();
    const res = await fetch(baseUrl + url, { headers: creds.headers, signal: abort.signal });
    const status = res.status;
    abort.abort();
    return status;
  }

  /** Each call is refused with the given status and code, and none of them changes the database. */
  async function expectRefusedUnchanged(
    route: { method: string; url: string },
    sample: SampleRequest,
    calls: { creds: Credentials; label: string }[],
    status: 401 | 403,
    code: string,
  ) {
    const before = await fingerprint(h.platform.db);
    for (const { creds, label } of calls) {
      const res = await send(route, sample, creds);
      const got = (res.json() as { error?: { code?: string } }).error?.code;
      expect({ label, status: res.statusCode, code: got }).toEqual({ label, status, code });
    }
    expect(
      await fingerprint(h.platform.db),
      `${calls.map((c) => c.label).join(', ')} changed the database`,
    ).toEqual(before);
  }

  it('the matrix covers every route the server registered, webhooks included', () => {
    const catalog = h.platform.routeCatalog.map(routeKey).sort();
    const platformRoutes = allRoutes.map(routeKey);
    const webhooks = catalog.filter((k) => k.startsWith('POST /webhooks/'));
    expect(webhooks).toEqual(['POST /webhooks/example/:endpoint']);
    expect(catalog).toEqual([...platformRoutes, ...webhooks].sort());
    // Every route has a valid request in the samples, so an allowed call proves the request itself is fine.
    expect(catalog.filter((k) => !samples[k])).toEqual([]);
    for (const route of allRoutes) expect(route.access.length, routeKey(route)).toBeGreaterThan(0);
  });

  describe.each(allRoutes.map((r) => [routeKey(r), r] as const))('%s', (_name, route) => {
    const allowed = allowedRoles(route.access);
    it.each(roles)('as %s', async (role: Role) => {
      const sample = await sampleFor(w, route, role);
      const creds = sample.creds ?? h.creds[role];
      if (allowed.includes(role)) {
        if (isStream(route.url)) {
          expect(await openStream(sample.url, creds)).toBe(200);
          return;
        }
        const res = await send(route, sample, creds);
        // A valid request from an allowed caller succeeds: proof that the refusals below are about who calls.
        expect({ role, status: res.statusCode, body: res.statusCode < 400 ? '' : res.body }).toEqual({
          role,
          status: expect.toSatisfy((s: number) => s >= 200 && s < 300) as number,
          body: '',
        });
        return;
      }
      await expectRefusedUnchanged(
        route,
        sample,
        [{ creds, label: `${role} ${routeKey(route)}` }],
        role === 'anonymous' ? 401 : 403,
        role === 'anonymous' ? 'unauthorized' : 'forbidden',
      );
    });

    if (!route.access.includes('public')) {
      it('refuses forged and unknown credentials with 401', async () => {
        const sample = await sampleFor(w, route, 'admin');
        const forged: Credentials[] = [
          { headers: { authorization: 'Bearer stl_forged0000000000000000000000000000000000' } },
          { headers: { authorization: 'Bearer ms_forged00000000000000000000000000000000000' } },
          { headers: { authorization: 'Bearer something-else' } },
          { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
          { headers: { cookie: 'settle_session=sess_forged', 'x-csrf-token': 'x' } },
        ];
        await expectRefusedUnchanged(
          route,
          sample,
          forged.map((creds) => ({ creds, label: JSON.stringify(creds.headers) })),
          401,
          'unauthorized',
        );
      });
    }

    if (writes(route.method) && !route.access.includes('public')) {
      for (const role of ['admin', 'teammate'] as const) {
        if (!allowed.includes(role)) continue;
        it(`refuses a cookie-authenticated ${role} write without the CSRF token`, async () => {
          const sample = await sampleFor(w, route, role);
          const creds = sample.creds ?? h.creds[role];
          const { 'x-csrf-token': _csrf, ...cookieOnly } = creds.headers;
          await expectRefusedUnchanged(
            route,
            sample,
            [
              { creds: { headers: cookieOnly }, label: 'no csrf token' },
              { creds: { headers: { ...cookieOnly, 'x-csrf-token': '' } }, label: 'empty csrf token' },
              {
                creds: { headers: { ...cookieOnly, 'x-csrf-token': 'not-the-token' } },
                label: 'wrong csrf token',
              },
            ],
            403,
            'csrf_failed',
          );
        });
      }
    }
  });

  it('a revoked API token gets 401 everywhere it used to work', async () => {
    const created = await h.request('admin', {
      method: 'POST',
      url: '/api/tokens',
      payload: { name: 'soon gone' },
    });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json() as { id: string; token: string };
    const creds = { headers: { authorization: `Bearer ${token}` } };
    expect((await h.server.inject({ method: 'GET', url: '/api/contacts', ...creds })).statusCode).toBe(200);
    expect((await h.request('admin', { method: 'DELETE', url: `/api/tokens/${id}` })).statusCode).toBe(200);
    for (const route of allRoutes.filter((r) => r.access.includes('token'))) {
      const sample = await sampleFor(w, route, 'token');
      await expectRefusedUnchanged(
        route,
        sample,
        [{ creds, label: `revoked ${routeKey(route)}` }],
        401,
        'unauthorized',
      );
    }
  });

  it('a logged-out session gets 401', async () => {
    const route = { method: 'POST', url: '/api/auth/logout' };
    const sample = await sampleFor(w, route, 'teammate');
    const creds = sample.creds!;
    expect((await send(route, sample, creds)).statusCode).toBe(204);
    const me = await h.server.inject({ method: 'GET', url: '/api/me', headers: creds.headers });
    expect(me.statusCode).toBe(401);
  });

  describe('messenger identity', () => {
    const currentSecret = async () =>
      openMessengerSecret(h.platform.box, (await workspaceRepository.get(h.platform.db, h.workspace.id))!);
    const sessionCount = async () =>
      (await h.platform.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messenger_sessions')).rows[0]
        ?.n;
    const userEmail = async () =>
      (
        await h.platform.db.query<{ email: string }>('SELECT email FROM contacts WHERE id = $1', [
          h.ids.userContactId,
        ])
      ).rows[0]!.email;
    const userExternalId = async () =>
      (
        await h.platform.db.query<{ external_id: string }>('SELECT external_id FROM contacts WHERE id = $1', [
          h.ids.userContactId,
        ])
      ).rows[0]!.external_id;

    async function expectBootRefused(payload: Record<string, unknown>, label: string) {
      const before = await fingerprint(h.platform.db);
      const sessions = await sessionCount();
      const res = await h.server.inject({ method: 'POST', url: '/messenger/boot', payload });
      expect({ label, status: res.statusCode }).toEqual({ label, status: 401 });
      const body = res.json() as Record<string, unknown>;
      expect(body).not.toHaveProperty('session_token');
      expect(body).not.toHaveProperty('contact');
      expect(res.body).not.toContain(await userEmail());
      expect(res.body).not.toContain(h.ids.userContactId);
      expect(await sessionCount()).toBe(sessions);
      expect(await fingerprint(h.platform.db), label).toEqual(before);
    }

    it('refuses expired, forged and unsigned user JWTs with 401 and no session', async () => {
      const secret = await currentSecret();
      const claims = { user_id: await userExternalId(), email: await userEmail() };
      const app_id = h.workspace.app_id;
      await expectBootRefused({ app_id, user_jwt: await signUserJwt(secret, claims, '-10s') }, 'expired');
      await expectBootRefused(
        { app_id, user_jwt: await signUserJwt('not-the-messenger-secret', claims) },
        'wrong secret',
      );
      const unsigned = [
        Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
        Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })).toString(
          'base64url',
        ),
        '',
      ].join('.');
      await expectBootRefused({ app_id, user_jwt: unsigned }, 'alg none');
      const valid = await signUserJwt(secret, claims);
      const [head, , sig] = valid.split('.');
      const tampered = `${head}.${Buffer.from(JSON.stringify({ ...claims, user_id: 'someone-else', exp: 4102444800 })).toString('base64url')}.${sig}`;
      await expectBootRefused({ app_id, user_jwt: tampered }, 'tampered claims');
      await expectBootRefused({ app_id, user_jwt: 'garbage' }, 'garbage');
    });

    it('refuses a boot that claims a user_id without a JWT and shows none of that user', async () => {
      await expectBootRefused(
        { app_id: h.workspace.app_id, user_id: await userExternalId() },
        'user_id only',
      );
      await expectBootRefused(
        { app_id: h.workspace.app_id, user_id: await userExternalId(), session_token: 'ms_whatever' },
        'user_id with a made-up session',
      );
    });

    it('a valid JWT still boots the user (the refusals above are about the JWT)', async () => {
      const secret = await currentSecret();
      const res = await h.server.inject({
        method: 'POST',
        url: '/messenger/boot',
        payload: {
          app_id: h.workspace.app_id,
          user_jwt: await signUserJwt(secret, { user_id: await userExternalId() }),
        },
      });
      expect(res.statusCode).toBe(200);
      expect((res.json() as { contact: { id: string }; verified: boolean }).contact.id).toBe(
        h.ids.userContactId,
      );
    });

    it("a messenger session cannot read or write another contact's conversation", async () => {
      const cases: [Role, string][] = [
        ['messenger_user', w.leadConversationId],
        ['messenger_lead', w.userConversationId],
      ];
      for (const [role, other] of cases) {
        const before = await fingerprint(h.platform.db);
        const read = await h.request(role, { method: 'GET', url: `/messenger/conversations/${other}` });
        expect(read.statusCode).toBe(404);
        const write = await h.request(role, {
          method: 'POST',
          url: `/messenger/conversations/${other}/messages`,
          payload: { body: 'let me in' },
        });
        expect(write.statusCode).toBe(404);
        // Answered exactly like an id that does not exist, so ids cannot be probed.
        const missing = await h.request(role, {
          method: 'GET',
          url: '/messenger/conversations/000000000000',
        });
        expect(read.json()).toMatchObject({
          error: { code: (missing.json() as { error: { code: string } }).error.code },
        });
        expect(await fingerprint(h.platform.db)).toEqual(before);
        const list = await h.request(role, { method: 'GET', url: '/messenger/conversations' });
        expect(list.body).not.toContain(other);
      }
    });
  });
});
