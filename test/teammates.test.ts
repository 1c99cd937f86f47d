import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { LoginService } from '../src/platform/teammates/service.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const password = 'a long enough password';

describe.each(dbKinds())('teammates, sessions and tokens on %s', (kind) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h?.close());

  const login = (email: string, pw: string) =>
    h.server.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: pw } });

  async function invite(role: 'admin' | 'teammate' = 'teammate') {
    const email = `mate${++n}-${kind}@example.com`;
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/teammates',
      payload: { email, name: `Mate ${n}`, role, password },
    });
    expect(res.statusCode).toBe(201);
    return { id: (res.json() as { id: string }).id, email };
  }
  async function session(email: string) {
    const res = await login(email, password);
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'settle_session');
    return {
      cookie: `settle_session=${cookie?.value}`,
      csrf: (res.json() as { csrf_token: string }).csrf_token,
    };
  }
  const me = (cookie: string) => h.server.inject({ method: 'GET', url: '/api/me', headers: { cookie } });

  it('answers a wrong password and an unknown email alike, with 401', async () => {
    const { email } = await invite();
    const wrong = await login(email, 'not the password');
    const unknown = await login('nobody@example.com', password);
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'invalid_credentials' } });
      expect(res.cookies.find((c) => c.name === 'settle_session')).toBeUndefined();
    }
  });

  it('ends the session on logout', async () => {
    const { email } = await invite();
    const s = await session(email);
    expect((await me(s.cookie)).statusCode).toBe(200);
    const out = await h.server.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    expect(out.statusCode).toBeLessThan(300);
    expect((await me(s.cookie)).statusCode).toBe(401);
  });

  it("ends a teammate's sessions when an admin disables them, and refuses their login", async () => {
    const mate = await invite();
    const s = await session(mate.email);
    expect((await me(s.cookie)).statusCode).toBe(200);
    const disabled = await h.request('admin', {
      method: 'PATCH',
      url: `/api/teammates/${mate.id}`,
      payload: { disabled: true },
    });
    expect(disabled.json()).toMatchObject({ disabled: true });
    expect((await me(s.cookie)).statusCode).toBe(401);
    expect((await login(mate.email, password)).statusCode).toBe(401);
  });

  it('keeps at least one active admin', async () => {
    const second = await invite('admin');
    // Two admins: one may step down.
    const demoted = await h.request('admin', {
      method: 'PATCH',
      url: `/api/teammates/${second.id}`,
      payload: { role: 'teammate' },
    });
    expect(demoted.json()).toMatchObject({ role: 'teammate' });
    // Now the harness's admin is the last one: it can be neither demoted nor disabled.
    for (const payload of [{ role: 'teammate' }, { disabled: true }]) {
      const res = await h.request('admin', {
        method: 'PATCH',
        url: `/api/teammates/${h.ids.adminId}`,
        payload,
      });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: { code: 'last_admin' } });
    }
    const me2 = await h.request('admin', { method: 'GET', url: '/api/me' });
    expect(me2.json()).toMatchObject({ teammate: { id: h.ids.adminId, role: 'admin', disabled: false } });
    // A teammate cannot manage teammates at all.
    const byMate = await h.request('teammate', {
      method: 'PATCH',
      url: `/api/teammates/${second.id}`,
      payload: { role: 'admin' },
    });
    expect(byMate.statusCode).toBe(403);
  });

  it('creates, lists and revokes API tokens, never listing a token value', async () => {
    const created = await h.request('admin', {
      method: 'POST',
      url: '/api/tokens',
      payload: { name: 'ci script' },
    });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json() as { id: string; token: string };
    expect(token).toMatch(/^stl_/);
    const bearer = { authorization: `Bearer ${token}` };
    expect((await h.server.inject({ method: 'GET', url: '/api/contacts', headers: bearer })).statusCode).toBe(
      200,
    );

    const list = await h.request('admin', { method: 'GET', url: '/api/tokens' });
    expect(list.body).not.toContain(token);
    expect((list.json() as { data: { id: string; name: string; revoked: boolean }[] }).data).toContainEqual(
      expect.objectContaining({ id, name: 'ci script', revoked: false }),
    );
    expect((await h.request('teammate', { method: 'GET', url: '/api/tokens' })).statusCode).toBe(403);

    const revoked = await h.request('admin', { method: 'DELETE', url: `/api/tokens/${id}` });
    expect(revoked.json()).toEqual({ id, revoked: true });
    const refused = await h.server.inject({ method: 'GET', url: '/api/contacts', headers: bearer });
    expect(refused.statusCode).toBe(401);
    const after = await h.request('admin', { method: 'GET', url: '/api/tokens' });
    expect((after.json() as { data: { id: string; revoked: boolean }[] }).data).toContainEqual(
      expect.objectContaining({ id, revoked: true }),
    );
    expect((await h.request('admin', { method: 'DELETE', url: `/api/tokens/${id}` })).statusCode).toBe(404);
  });

  it('counts failed logins across processes: a second process refuses an address the first saw fail 10 times', async () => {
    const { email } = await invite();
    // Each Settle process has its own LoginService; the count lives in the database they share.
    const [first, second] = [new LoginService(h.testDb.db), new LoginService(h.testDb.db)];
    const ip = '198.51.100.7';
    for (let i = 0; i < 10; i++)
      await expect(first.login({ email, password: `wrong ${i}` }, ip)).rejects.toMatchObject({
        code: 'invalid_credentials',
      });
    await expect(second.login({ email, password }, ip)).rejects.toMatchObject({ code: 'login_rate_limited' });
    // Nothing about the address or the IP is stored in the clear.
    const rows = await h.testDb.db.query<{ key: string }>(
      `SELECT key FROM rate_budgets WHERE scope = 'login'`,
    );
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const r of rows.rows) expect(r.key).not.toMatch(/@|198\.51/);
  });

  it('lets no more than 10 of 20 guesses at once through to the password check', async () => {
    const { email } = await invite();
    const service = new LoginService(h.testDb.db);
    const ip = '198.51.100.8';
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        service.login({ email, password: `guess ${i}` }, ip).then(
          () => 'ok',
          (err: { code?: string }) => err.code,
        ),
      ),
    );
    // Before, the limit was checked before any of them had failed: all 20 were checked against the password.
    expect(outcomes.filter((o) => o === 'invalid_credentials').length).toBe(10);
    expect(outcomes.filter((o) => o === 'login_rate_limited').length).toBe(10);
  });

  it('does not count successful logins against their IP (an office behind one address)', async () => {
    const { email } = await invite();
    const service = new LoginService(h.testDb.db);
    for (let i = 0; i < 35; i++) await service.login({ email, password }, '198.51.100.9');
  });

  // Last: it spends failed logins from this IP.
  it('rate-limits logins after 10 failures with 429 and Retry-After, even for the right password', async () => {
    const { email } = await invite();
    for (let i = 0; i < 10; i++) expect((await login(email, `wrong ${i}`)).statusCode).toBe(401);
    const blocked = await login(email, 'wrong again');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ error: { code: 'login_rate_limited' } });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    const right = await login(email, password);
    expect(right.statusCode).toBe(429);
    // Other teammates can still log in.
    const other = await invite();
    expect((await login(other.email, password)).statusCode).toBe(200);
  });
});
