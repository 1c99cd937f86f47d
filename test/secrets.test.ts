// App secrets are write-only: sealed at rest (AES-256-GCM, bound to workspace, app and name), never in an API
// response, never in a log line, yet readable by the app through its host.
import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { secretContext } from '../src/platform/apps/host.ts';
import { createSecretBox } from '../src/platform/crypto/secret-box.ts';
import { createWorkspace } from '../src/platform/workspaces/service.ts';
import { dumpAllTables } from './helpers/db-inspect.ts';
import { EXAMPLE_APP, fixtureRegistry, signExampleWebhook } from './helpers/fixture-app.ts';
import { createHarness, testMasterKey, type Harness, type Role } from './helpers/harness.ts';

describe.each(dbKinds())('app secrets on %s', (kind) => {
  let h: Harness;
  // Distinctive enough that a match anywhere is the secret and nothing else.
  const secret = `sk_live_${randomBytes(18).toString('hex')}`;
  const encodings = [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
  ];
  const responses: string[] = [];

  async function call(role: Role, opts: InjectOptions): Promise<LightMyRequestResponse> {
    const res = await h.request(role, opts);
    responses.push(`${opts.method} ${opts.url} ${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`);
    return res;
  }
  const sealedRow = async (workspaceId: string, name = 'api_key') =>
    (
      await h.platform.db.query<{ sealed: string }>(
        'SELECT sealed FROM app_secrets WHERE workspace_id = $1 AND app_id = $2 AND name = $3',
        [workspaceId, EXAMPLE_APP, name],
      )
    ).rows[0]?.sealed;

  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
    const installed = await call('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/install`,
      payload: { settings: {} },
    });
    expect(installed.statusCode).toBe(200);
    const put = await call('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/secrets/api_key`,
      payload: { value: secret },
    });
    expect(put.statusCode).toBe(200);
  });
  afterAll(async () => h?.close());

  it('stores the secret sealed: no table holds it in plain text or a plain encoding', async () => {
    const sealed = await sealedRow(h.workspace.id);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const dump = await dumpAllTables(h.platform.db);
    expect(dump).toContain(sealed); // the dump does cover app_secrets
    for (const e of encodings) expect(dump).not.toContain(e);
    // The same holds for the platform's own credentials: the messenger secret, API tokens, session cookies.
    expect(dump).not.toContain(h.messengerSecret);
    expect(dump).not.toContain(h.creds.token.headers.authorization!.replace('Bearer ', ''));
    expect(dump).not.toContain(/settle_session=([^;]+)/.exec(h.creds.admin.headers.cookie!)![1]);
  });

  it('the app reads it through its host', async () => {
    expect(await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).secret('api_key')).toBe(secret);
    expect(await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).secret('signing_secret')).toBeUndefined();
  });

  it('no API response shows it: settings say only that it is set', async () => {
    const settings = await call('admin', { method: 'GET', url: `/api/apps/${EXAMPLE_APP}/settings` });
    expect(settings.json()).toMatchObject({
      status: 'installed',
      secrets: [
        { name: 'api_key', set: true },
        { name: 'signing_secret', set: false },
      ],
    });
    await call('admin', { method: 'GET', url: '/api/apps' });
    await call('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/settings`,
      payload: { settings: { greeting: 'Hello' } },
    });
    await call('teammate', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}/cards` });
    await call('token', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` });
    await call('admin', { method: 'GET', url: '/api/jobs' });
    // Refused and invalid writes do not echo it either.
    for (const payload of [
      { value: secret, extra: true },
      { value: [secret] },
      { value: secret.repeat(200) },
    ]) {
      const res = await call('admin', {
        method: 'PUT',
        url: `/api/apps/${EXAMPLE_APP}/secrets/api_key`,
        payload,
      });
      expect(res.statusCode).toBe(400);
    }
    const unknown = await call('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/secrets/not_declared`,
      payload: { value: secret },
    });
    expect(unknown.statusCode).toBe(400);
    const teammate = await call('teammate', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/secrets/api_key`,
      payload: { value: secret },
    });
    expect(teammate.statusCode).toBe(403);
    // The app uses it (the webhook checks signatures with it) without it showing.
    const endpoint = await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).webhooks.createEndpoint();
    const body = JSON.stringify({ id: 'evt_1' });
    const hook = await h.server.inject({
      method: 'POST',
      url: `/webhooks/example/${endpoint.id}`,
      payload: body,
      headers: {
        'content-type': 'application/json',
        'x-example-signature': signExampleWebhook(secret, body),
      },
    });
    expect(hook.statusCode).toBe(200);
    responses.push(hook.body);

    expect(responses.length).toBeGreaterThan(10);
    for (const e of encodings) expect(responses.filter((r) => r.includes(e))).toEqual([]);
  });

  it('no log line holds it, whatever field an app or the platform logs it under', async () => {
    const host = h.platform.apps.host(h.workspace.id, EXAMPLE_APP);
    const before = h.logLines.length;
    host.log.info('connected', { api_key: secret });
    host.log.warn('retrying', { value: secret, attempt: 2 });
    host.log.error('failed', { secret });
    host.log.info('nested', { connection: { api_key: secret } });
    host.log.info('deeper', { config: { stripe: { secret_key: secret } } });
    host.log.info('token', { token: secret, password: secret });
    h.platform.log.info({ apiKey: secret, signing_secret: secret }, 'platform');
    h.platform.log.info({ req: { headers: { authorization: `Bearer ${secret}` } } }, 'headers');
    // With request logging on (debug), a request carrying it in the body and in a header.
    await call('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/secrets/api_key`,
      payload: { value: secret },
      headers: { 'x-api-key': secret },
    });
    const logged = h.logLines.slice(before);
    expect(logged.filter((l) => l.includes('[redacted]')).length).toBeGreaterThanOrEqual(8);
    for (const e of encodings) expect(h.logLines.filter((l) => l.includes(e))).toEqual([]);
  });

  it('a sealed value does not open in another workspace, under another name, or with another key', async () => {
    const sealed = (await sealedRow(h.workspace.id))!;
    const other = await createWorkspace(h.platform.db, h.platform.box, 'Other');
    await h.platform.apps.install(other.id, EXAMPLE_APP, {});
    await h.platform.db.query(
      `INSERT INTO app_secrets (workspace_id, app_id, name, sealed) VALUES ($1, $2, 'api_key', $3),
         ($4, $2, 'signing_secret', $3)`,
      [other.id, EXAMPLE_APP, sealed, h.workspace.id],
    );
    await expect(h.platform.apps.host(other.id, EXAMPLE_APP).secret('api_key')).rejects.toThrow();
    await expect(
      h.platform.apps.host(h.workspace.id, EXAMPLE_APP).secret('signing_secret'),
    ).rejects.toThrow();

    const context = secretContext(h.workspace.id, EXAMPLE_APP, 'api_key');
    expect(createSecretBox(testMasterKey).open(sealed, context)).toBe(secret);
    expect(() => createSecretBox(randomBytes(32)).open(sealed, context)).toThrow();
    const [v, iv, tag, ct] = sealed.split('.') as [string, string, string, string];
    const flipped = `${v}.${iv}.${tag}.${(ct[0] === 'A' ? 'B' : 'A') + ct.slice(1)}`;
    expect(() => createSecretBox(testMasterKey).open(flipped, context)).toThrow();
    // Sealing twice gives different envelopes (a fresh IV each time), so equal secrets cannot be spotted.
    expect(createSecretBox(testMasterKey).seal(secret, context)).not.toBe(sealed);
  });

  it('uninstalling deletes the secrets', async () => {
    const res = await call('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/uninstall`,
      payload: { keep_data: true },
    });
    expect(res.statusCode).toBe(202);
    const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
    try {
      await expect.poll(() => sealedRow(h.workspace.id), { timeout: 10_000 }).toBeUndefined();
    } finally {
      await worker.stop();
    }
    expect(await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).secret('api_key')).toBeUndefined();
  });
});
