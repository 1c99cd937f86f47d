// The app framework end to end, with a fixture app that uses every extension point: install, settings, attributes,
// timeline events, sidebar and messenger cards, webhooks, jobs, tools and uninstall.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostContact } from '../src/app-sdk/index.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { EXAMPLE_APP, fixtureRegistry, signExampleWebhook } from './helpers/fixture-app.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

interface Attr {
  name: string;
  source: string;
  custom: boolean;
}

describe.each(dbKinds())('the app framework on %s', (kind) => {
  let h: Harness;
  const host = () => h.platform.apps.host(h.workspace.id, EXAMPLE_APP);
  const contact = async (id: string) =>
    (await h.request('token', { method: 'GET', url: `/api/contacts/${id}` })).json() as {
      custom_attributes: Record<string, unknown>;
    };
  const attributes = async () =>
    ((await h.request('teammate', { method: 'GET', url: '/api/data_attributes' })).json() as { data: Attr[] })
      .data;
  const settingsView = async () =>
    (await h.request('admin', { method: 'GET', url: `/api/apps/${EXAMPLE_APP}/settings` })).json() as {
      status: string;
      settings: unknown;
      secrets: { name: string; set: boolean }[];
    };
  async function runJobsUntil(check: () => Promise<boolean>) {
    const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 20 });
    try {
      await expect.poll(check, { timeout: 15_000, interval: 50 }).toBe(true);
    } finally {
      await worker.stop();
    }
  }

  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
  });
  afterAll(async () => h?.close());

  it('refuses invalid settings at install, naming the setting, and installs nothing', async () => {
    const cases: [unknown, string][] = [
      [{ threshold: 'ten' }, 'settings.threshold'],
      [{ threshold: 1000 }, 'settings.threshold'],
      [{ greeting: '' }, 'settings.greeting'],
      [{ greeting: 'Hi', colour: 'red' }, 'settings.colour'],
    ];
    for (const [settings, path] of cases) {
      const res = await h.request('admin', {
        method: 'POST',
        url: `/api/apps/${EXAMPLE_APP}/install`,
        payload: { settings },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'invalid_settings', path } });
    }
    expect((await settingsView()).status).toBe('not_installed');
    expect((await attributes()).filter((a) => a.source === EXAMPLE_APP)).toEqual([]);
  });

  it('installs: settings with defaults, attribute definitions owned by the app', async () => {
    const res = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/install`,
      payload: { settings: { threshold: 3 } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'installed', settings: { greeting: 'Hello', threshold: 3 } });
    const owned = (await attributes()).filter((a) => a.source === EXAMPLE_APP);
    expect(owned.map((a) => [a.name, a.custom]).sort()).toEqual([
      ['example_plan', false],
      ['example_score', false],
    ]);
    const apps = (await h.request('teammate', { method: 'GET', url: '/api/apps' })).json() as {
      data: { id: string; status: string }[];
    };
    expect(apps.data.find((a) => a.id === EXAMPLE_APP)?.status).toBe('installed');
    const bad = await h.request('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/settings`,
      payload: { settings: { threshold: -1 } },
    });
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_settings', path: 'settings.threshold' } });
    expect((await settingsView()).settings).toEqual({ greeting: 'Hello', threshold: 3 });
  });

  it('gives the app its new settings at once after a teammate changes them (the app reads them cached)', async () => {
    expect(await host().settings()).toEqual({ greeting: 'Hello', threshold: 3 });
    const res = await h.request('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/settings`,
      payload: { settings: { threshold: 5 } },
    });
    expect(res.statusCode).toBe(200);
    expect(await host().settings()).toEqual({ greeting: 'Hello', threshold: 5 });
    await h.request('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/settings`,
      payload: { settings: { threshold: 3 } },
    });
    expect(await host().settings()).toEqual({ greeting: 'Hello', threshold: 3 });
  });

  it('shows sidebar cards; a card that throws shows an error entry, not a 500', async () => {
    const res = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${h.ids.userContactId}/cards`,
    });
    expect(res.statusCode).toBe(200);
    const cards = (res.json() as { data: unknown[] }).data;
    expect(cards).toEqual([
      {
        app_id: EXAMPLE_APP,
        card_id: 'summary',
        error: null,
        view: expect.objectContaining({
          title: 'Hello, User',
          actions: [{ id: 'upgrade', label: 'Upgrade to gold', input: { plan: 'gold' } }],
        }) as unknown,
      },
      {
        app_id: EXAMPLE_APP,
        card_id: 'broken',
        view: null,
        error: 'Broken card could not load; try refreshing',
      },
    ]);
    // The app's internal error stays in the logs.
    expect(res.body).not.toContain('upstream service is down');
    expect(h.logLines.some((l) => l.includes('sidebar card failed'))).toBe(true);
    const missing = await h.request('teammate', { method: 'GET', url: '/api/contacts/nobody/cards' });
    expect(missing.statusCode).toBe(404);
  });

  it('runs a card action, which writes the app’s own attribute', async () => {
    const url = `/api/contacts/${h.ids.userContactId}/cards/${EXAMPLE_APP}/summary/actions/upgrade`;
    const res = await h.request('teammate', { method: 'POST', url, payload: { input: { plan: 'gold' } } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: 'upgraded to gold' });
    expect((await contact(h.ids.userContactId)).custom_attributes.example_plan).toBe('gold');
    const cards = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${h.ids.userContactId}/cards`,
    });
    expect(cards.body).toContain('"value":"gold"');
    const unknown = await h.request('teammate', {
      method: 'POST',
      url: url.replace('upgrade', 'downgrade'),
      payload: {},
    });
    expect(unknown.json()).toMatchObject({ error: { code: 'action_not_found' } });
  });

  it('runs app actions and views with their own access rule and input schema', async () => {
    const base = `/api/apps/${EXAMPLE_APP}`;
    if (!(await h.platform.apps.isInstalled(h.workspace.id, EXAMPLE_APP))) {
      await h.platform.apps.install(h.workspace.id, EXAMPLE_APP, { greeting: 'Hi', threshold: 5 });
    }
    const renamed = await h.request('teammate', {
      method: 'POST',
      url: `${base}/actions/rename_greeting`,
      payload: { greeting: 'Howdy' },
    });
    expect(renamed.statusCode).toBe(200);
    const view = await h.request('teammate', { method: 'GET', url: `${base}/views/state` });
    expect(view.json()).toEqual({ greeting: 'Howdy' });

    const bad = await h.request('teammate', {
      method: 'POST',
      url: `${base}/actions/rename_greeting`,
      payload: { greeting: '' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_request', path: 'greeting' } });

    const asMate = await h.request('teammate', { method: 'POST', url: `${base}/actions/reset`, payload: {} });
    expect(asMate.statusCode).toBe(403);
    expect((await h.request('teammate', { method: 'GET', url: `${base}/views/state` })).json()).toEqual({
      greeting: 'Howdy',
    });
    expect(
      (await h.request('teammate', { method: 'GET', url: `${base}/views/secrets_overview` })).statusCode,
    ).toBe(403);

    const asAdmin = await h.request('admin', { method: 'POST', url: `${base}/actions/reset`, payload: {} });
    expect(asAdmin.statusCode).toBe(200);
    expect((await h.request('token', { method: 'GET', url: `${base}/views/state` })).json()).toEqual({
      greeting: null,
    });
    expect(
      (await h.request('admin', { method: 'POST', url: `${base}/actions/nope`, payload: {} })).statusCode,
    ).toBe(404);
  });

  it('keeps attributes to their owners: apps write only what they declared, the API not what apps own', async () => {
    const vip = await h.request('admin', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'vip', type: 'boolean' },
    });
    expect(vip.statusCode).toBe(201);
    await h.platform.apps.install(h.workspace.id, 'spare', {});
    await expect(host().contacts.setAttributes(h.ids.userContactId, { vip: true })).rejects.toThrow(
      /did not declare/,
    );
    await expect(host().contacts.setAttributes(h.ids.userContactId, { spare_flag: true })).rejects.toThrow(
      /did not declare/,
    );
    await expect(
      host().contacts.setAttributes(h.ids.userContactId, { example_score: 'high' }),
    ).rejects.toThrow();

    for (const [method, url, payload] of [
      ['PUT', `/api/contacts/${h.ids.userContactId}`, { custom_attributes: { example_plan: 'free' } }],
      ['PUT', `/api/contacts/${h.ids.userContactId}`, { custom_attributes: { example_plan: null } }],
      ['POST', '/api/contacts', { email: 'new@example.com', custom_attributes: { example_score: 1 } }],
    ] as const) {
      const res = await h.request('token', { method, url, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'attribute_read_only' } });
      expect((res.json() as { error: { path: string } }).error.path).toMatch(/^custom_attributes\.example_/);
    }
    expect((await contact(h.ids.userContactId)).custom_attributes.example_plan).toBe('gold');
    // …while the API still writes the workspace's own attributes.
    const ok = await h.request('token', {
      method: 'PUT',
      url: `/api/contacts/${h.ids.userContactId}`,
      payload: { custom_attributes: { vip: true } },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('creates one user per address however many writers create it at once; a lead does not hold the address', async () => {
    const lead = await h.request('token', {
      method: 'POST',
      url: '/api/contacts',
      payload: { role: 'lead', email: 'both.ways@example.com' },
    });
    expect(lead.statusCode).toBe(201);
    // Three writers at once (on PostgreSQL, three connections), the addresses spelled differently.
    const answers = await Promise.all([
      host().contacts.createUsers([
        { email: 'One.Race@Example.com', name: 'First', attributes: { example_score: 1 } },
        { email: 'both.ways@example.com' },
      ]),
      host().contacts.createUsers([{ email: ' one.race@example.com ' }]),
      host().contacts.createUsers([{ email: 'BOTH.WAYS@example.com' }, { email: 'both.ways@example.com' }]),
    ]);
    for (const address of ['one.race@example.com', 'both.ways@example.com']) {
      const users = (await host().contacts.findByEmail(address)).filter((c) => c.role === 'user');
      expect(users).toHaveLength(1);
      const mine = answers.flat().filter((a) => a.email?.trim().toLowerCase() === address);
      // Every answer for the address names that one user; exactly one of them made it.
      expect(new Set(mine.map((a) => a.id))).toEqual(new Set([users[0]!.id]));
      expect(mine.filter((a) => a.created)).toHaveLength(1);
    }
    expect((await host().contacts.findByEmail('both.ways@example.com')).map((c) => c.role).sort()).toEqual([
      'lead',
      'user',
    ]);
  });

  it('records a timeline event once per idempotency key, and only declared events', async () => {
    const event = { name: 'example_happened', createdAt: new Date(1_700_000_000_000), metadata: { n: 1 } };
    expect(await host().timeline.record(h.ids.userContactId, { ...event, idempotencyKey: 'k1' })).toBe(true);
    expect(await host().timeline.record(h.ids.userContactId, { ...event, idempotencyKey: 'k1' })).toBe(false);
    expect(await host().timeline.record(h.ids.userContactId, { ...event, idempotencyKey: 'k2' })).toBe(true);
    await expect(
      host().timeline.record(h.ids.userContactId, { ...event, name: 'charged', idempotencyKey: 'k3' }),
    ).rejects.toThrow(/did not declare/);
    const res = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${h.ids.userContactId}/events`,
    });
    const events = (res.json() as { events: { event_name: string; source: string; created_at: number }[] })
      .events;
    expect(events.filter((e) => e.event_name === 'example_happened')).toEqual([
      expect.objectContaining({ source: EXAMPLE_APP, created_at: 1_700_000_000 }),
      expect.objectContaining({ source: EXAMPLE_APP, created_at: 1_700_000_000 }),
    ]);
  });

  it('adds a messenger card the customer sees, and notes the customer does not', async () => {
    const started = await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: 'Any offers?' },
    });
    const convId = (started.json() as { id: string }).id;
    await host().conversations.addCard(convId, {
      type: 'example_offer',
      data: { plan: 'Pro', price: 10 },
      text: 'Pro for 10 a month',
    });
    await host().conversations.addNote(convId, 'offer sent by the example app');
    await expect(
      host().conversations.addCard(convId, { type: 'undeclared', data: {}, text: 'x' }),
    ).rejects.toThrow(/did not declare/);
    const seen = await h.request('messenger_user', {
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
    });
    const messages = (seen.json() as { messages: { kind: string; body: string; card: unknown }[] }).messages;
    expect(messages.map((m) => m.kind)).toEqual(['comment', 'card']);
    expect(messages[1]).toMatchObject({
      body: 'Pro for 10 a month',
      card: { app_id: EXAMPLE_APP, type: 'example_offer', data: { plan: 'Pro', price: 10 } },
    });
    const team = await h.request('teammate', { method: 'GET', url: `/api/conversations/${convId}` });
    expect(team.body).toContain('offer sent by the example app');
  });

  it('serves the app’s webhook at the URL createEndpoint() gives, and 404 for an unknown endpoint', async () => {
    await host().setSecret('api_key', 'whsec_fixture');
    const endpoint = await host().webhooks.createEndpoint();
    expect(endpoint.url).toMatch(new RegExp(`/webhooks/example/${endpoint.id}$`));
    const path = new URL(endpoint.url).pathname;
    const body = JSON.stringify({ id: 'evt_hook_1', contact_id: h.ids.leadContactId });
    const headers = {
      'content-type': 'application/json',
      'x-example-signature': signExampleWebhook('whsec_fixture', body),
    };
    const res = await h.server.inject({ method: 'POST', url: path, payload: body, headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true });
    const again = await h.server.inject({ method: 'POST', url: path, payload: body, headers });
    expect(again.statusCode).toBe(200);
    const events = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${h.ids.leadContactId}/events`,
    });
    expect((events.json() as { events: unknown[] }).events).toHaveLength(1);

    const forged = await h.server.inject({
      method: 'POST',
      url: path,
      payload: body,
      headers: { ...headers, 'x-example-signature': signExampleWebhook('guess', body) },
    });
    expect(forged.statusCode).toBe(400);
    const unknown = await h.server.inject({
      method: 'POST',
      url: '/webhooks/example/000000000000000000000000',
      payload: body,
      headers,
    });
    expect(unknown.statusCode).toBe(404);
    await host().webhooks.deleteEndpoint(endpoint.id);
    const deleted = await h.server.inject({ method: 'POST', url: path, payload: body, headers });
    expect(deleted.statusCode).toBe(404);
  });

  it('runs app jobs through a worker; only declared jobs can be enqueued', async () => {
    await host().jobs.enqueue('score', { contact_id: h.ids.userContactId, score: 42 });
    expect(() => host().jobs.enqueue('undeclared', {})).toThrow(/declares no job/);
    await runJobsUntil(
      async () => (await contact(h.ids.userContactId)).custom_attributes.example_score === 42,
    );
  });

  it('offers its tools, which see only the contact they are given', async () => {
    const tool = h.platform.apps.manifest(EXAMPLE_APP).tools.find((t) => t.name === 'example_plan')!;
    expect(tool.parameters.safeParse({}).success).toBe(true);
    expect(tool.parameters.safeParse({ customer: 'cus_other' }).success).toBe(false);
    const c = (await host().contacts.get(h.ids.userContactId)) as HostContact;
    expect(await tool.run(host(), c, {})).toEqual({ plan: 'gold' });
  });

  it('uninstalls in a job: keep_data=true keeps attributes, secrets go either way', async () => {
    const res = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/uninstall`,
      payload: { keep_data: true },
    });
    expect(res.statusCode).toBe(202);
    expect((res.json() as { status: string }).status).toBe('uninstalling');
    await runJobsUntil(async () => (await settingsView()).status === 'uninstalled');
    expect((await settingsView()).secrets.every((s) => !s.set)).toBe(true);
    expect(await host().secret('api_key')).toBeUndefined();
    expect((await attributes()).filter((a) => a.source === EXAMPLE_APP)).toHaveLength(2);
    expect((await contact(h.ids.userContactId)).custom_attributes).toMatchObject({
      example_plan: 'gold',
      example_score: 42,
    });
    // An uninstalled app shows no cards and takes no settings.
    const cards = await h.request('teammate', {
      method: 'GET',
      url: `/api/contacts/${h.ids.userContactId}/cards`,
    });
    expect(
      (cards.json() as { data: { app_id: string }[] }).data.filter((c) => c.app_id === EXAMPLE_APP),
    ).toEqual([]);
    const put = await h.request('admin', {
      method: 'PUT',
      url: `/api/apps/${EXAMPLE_APP}/secrets/api_key`,
      payload: { value: 'x' },
    });
    expect(put.statusCode).toBe(409);
  });

  it('uninstalls with keep_data=false: the app’s attribute values and definitions go, others stay', async () => {
    const reinstall = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/install`,
      payload: { settings: {} },
    });
    expect(reinstall.statusCode).toBe(200);
    await host().setSecret('api_key', 'again');
    const res = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/uninstall`,
      payload: { keep_data: false },
    });
    expect(res.statusCode).toBe(202);
    await runJobsUntil(async () => (await settingsView()).status === 'uninstalled');
    expect(await host().secret('api_key')).toBeUndefined();
    expect((await attributes()).filter((a) => a.source === EXAMPLE_APP)).toEqual([]);
    const attrs = (await contact(h.ids.userContactId)).custom_attributes;
    expect(attrs).not.toHaveProperty('example_plan');
    expect(attrs).not.toHaveProperty('example_score');
    expect(attrs).toMatchObject({ vip: true });
    const again = await h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/uninstall`,
      payload: { keep_data: false },
    });
    expect(again.json()).toMatchObject({ error: { code: 'app_not_installed' } });
  });
});

// Teams moving from Intercom bring the attributes its apps made (`stripe_plan`…) as their own custom attributes.
describe.each(dbKinds())('installing an app over attributes the team already has, on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
  });
  afterAll(async () => h?.close());
  const define = async (name: string, type: string) => {
    const res = await h.request('admin', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name, type },
    });
    expect(res.statusCode).toBe(201);
  };
  const install = () =>
    h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/install`,
      payload: { settings: {} },
    });

  it('refuses one of another type, naming both types, and installs nothing', async () => {
    await define('example_score', 'string');
    const res = await install();
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'attribute_type_conflict', path: 'name' } });
    expect((res.json() as { error: { message: string } }).error.message).toMatch(
      /example_score exists with type string, and the example app needs number/,
    );
    const view = await h.request('admin', { method: 'GET', url: `/api/apps/${EXAMPLE_APP}/settings` });
    expect((view.json() as { status: string }).status).toBe('not_installed');
  });

  it('adopts one of the same name and type, with its values, and keeps it as the app’s from then on', async () => {
    // Out of the way: the conflicting one of the first test.
    await h.platform.db.query(
      `DELETE FROM attribute_definitions WHERE workspace_id = $1 AND name = 'example_score'`,
      [h.workspace.id],
    );
    await define('example_plan', 'string');
    const set = await h.request('token', {
      method: 'PUT',
      url: `/api/contacts/${h.ids.userContactId}`,
      payload: { custom_attributes: { example_plan: 'legacy' } },
    });
    expect(set.statusCode).toBe(200);
    // Before, the install failed with "attribute example_plan exists".
    expect((await install()).statusCode).toBe(200);
    const attrs = (
      (await h.request('teammate', { method: 'GET', url: '/api/data_attributes' })).json() as { data: Attr[] }
    ).data;
    expect(attrs.find((a) => a.name === 'example_plan')).toMatchObject({
      source: EXAMPLE_APP,
      custom: false,
    });
    const contact = await h.request('token', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` });
    expect(
      (contact.json() as { custom_attributes: Record<string, unknown> }).custom_attributes.example_plan,
    ).toBe('legacy');
    const write = await h.request('token', {
      method: 'PUT',
      url: `/api/contacts/${h.ids.userContactId}`,
      payload: { custom_attributes: { example_plan: 'free' } },
    });
    expect(write.json()).toMatchObject({ error: { code: 'attribute_read_only' } });
    await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).contacts.setAttributes(h.ids.userContactId, {
      example_plan: 'gold',
    });
  });
});

// The way out of a type conflict: the custom attribute is archived, then deleted with its values.
describe.each(dbKinds())('clearing a custom attribute that keeps an app from installing, on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
  });
  afterAll(async () => h?.close());
  const install = () =>
    h.request('admin', {
      method: 'POST',
      url: `/api/apps/${EXAMPLE_APP}/install`,
      payload: { settings: {} },
    });

  it('says how in the conflict, and installs once the attribute is archived and deleted', async () => {
    const defined = await h.request('admin', {
      method: 'POST',
      url: '/api/data_attributes',
      payload: { name: 'example_score', type: 'string' },
    });
    expect(defined.statusCode).toBe(201);
    const set = await h.request('token', {
      method: 'PUT',
      url: `/api/contacts/${h.ids.userContactId}`,
      payload: { custom_attributes: { example_score: 'high' } },
    });
    expect(set.statusCode).toBe(200);

    const refused = await install();
    expect(refused.statusCode).toBe(409);
    const message = (refused.json() as { error: { message: string } }).error.message;
    expect(message).toContain('PUT /api/data_attributes/example_score {"archived": true}');
    expect(message).toContain('DELETE /api/data_attributes/example_score');

    const archived = await h.request('admin', {
      method: 'PUT',
      url: '/api/data_attributes/example_score',
      payload: { archived: true },
    });
    expect(archived.statusCode).toBe(200);
    // Archived only, it still blocks the install, and the message skips the step already done.
    const stillRefused = await install();
    expect(stillRefused.statusCode).toBe(409);
    expect((stillRefused.json() as { error: { message: string } }).error.message).not.toContain('PUT ');
    const deleted = await h.request('admin', { method: 'DELETE', url: '/api/data_attributes/example_score' });
    expect(deleted.json()).toMatchObject({ deleted: true, contacts_updated: 1 });

    // One of the right type that the team archived is adopted too, and unarchived: the app writes it.
    for (const [method, url, payload] of [
      ['POST', '/api/data_attributes', { name: 'example_plan', type: 'string' }],
      ['PUT', '/api/data_attributes/example_plan', { archived: true }],
    ] as const) {
      expect((await h.request('admin', { method, url, payload })).statusCode).toBeLessThan(300);
    }

    expect((await install()).statusCode).toBe(200);
    const attrs = (
      (await h.request('teammate', { method: 'GET', url: '/api/data_attributes' })).json() as {
        data: (Attr & { data_type: string; archived: boolean })[];
      }
    ).data;
    expect(attrs.find((a) => a.name === 'example_score')).toMatchObject({
      source: EXAMPLE_APP,
      data_type: 'float',
    });
    expect(attrs.find((a) => a.name === 'example_plan')).toMatchObject({
      source: EXAMPLE_APP,
      archived: false,
    });
    await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).contacts.setAttributes(h.ids.userContactId, {
      example_score: 7,
      example_plan: 'gold',
    });
    const contact = await h.request('token', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` });
    expect(
      (contact.json() as { custom_attributes: Record<string, unknown> }).custom_attributes,
    ).toMatchObject({
      example_score: 7,
    });
  });
});
