import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './helpers/harness.ts';

// Header behaviour does not depend on the database: PGlite only.
describe('HTTP headers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('pglite');
  });
  afterAll(async () => h?.close());

  it('serves pages with a CSP that forbids framing and foreign scripts', async () => {
    const res = await h.server.inject({ method: 'GET', url: '/inbox/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('redirects /inbox to /inbox/', async () => {
    const res = await h.server.inject({ method: 'GET', url: '/inbox' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/inbox/');
  });

  it('lets other origins call the messenger API (bearer tokens, no cookies) but not the team API', async () => {
    const pre = await h.server.inject({
      method: 'OPTIONS',
      url: '/messenger/boot',
      headers: { origin: 'https://customer.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toContain('authorization');
    const boot = await h.server.inject({
      method: 'POST',
      url: '/messenger/boot',
      payload: { app_id: h.workspace.app_id },
    });
    expect(boot.headers['access-control-allow-origin']).toBe('*');
    const api = await h.request('token', {
      method: 'GET',
      url: '/api/contacts',
      headers: { origin: 'https://evil.example' },
    });
    expect(api.headers['access-control-allow-origin']).toBeUndefined();
  });
});
