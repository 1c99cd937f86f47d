import ts from 'typescript';
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

  // The widget is ES modules the browser fetches one by one from where widget.js came from, and the static files
  // are listed when the server starts: a module it does not serve would break every embedding page.
  it('serves the messenger widget, every module it imports and its stylesheet', async () => {
    const seen = new Set<string>();
    const queue = ['/messenger/widget.js'];
    for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await h.server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toContain('javascript');
      // Loaded as modules by the customer's own site, another origin: without this, the browser refuses them.
      expect(res.headers['access-control-allow-origin'], url).toBe('*');
      for (const { fileName } of ts.preProcessFile(res.body, true, true).importedFiles) {
        expect(fileName, `${url} imports ${fileName}`).toMatch(/^\.\.?\//);
        queue.push(new URL(fileName, `http://settle.test${url}`).pathname);
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['/messenger/messenger.js', '/shared/dom.js']));
    const css = await h.server.inject({ method: 'GET', url: '/messenger/widget.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
  });
});
