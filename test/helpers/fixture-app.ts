// A small app that uses every extension point of the app SDK, for the security and app-framework tests. It lives in
// test/ (not src/apps/) and, like a real app, imports only the app SDK and npm packages.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { defineApp, type AppManifest } from '../../src/app-sdk/index.ts';

export const EXAMPLE_APP = 'example';
export const SPARE_APP = 'spare';

export const exampleSettings = z.strictObject({
  greeting: z.string().min(1).max(100).default('Hello'),
  threshold: z.number().int().min(0).max(100).default(10),
});

const upgradeInput = z.strictObject({ plan: z.string().min(1).max(50) });
const scoreJob = z.strictObject({ contact_id: z.string(), score: z.number() });

/** The signature the example webhook expects: hex HMAC-SHA256 of the raw body under the app's `api_key`. */
export function signExampleWebhook(key: string, body: string): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

export const exampleApp = defineApp({
  id: EXAMPLE_APP,
  name: 'Example',
  description: 'A fixture app that uses every extension point',
  settings: exampleSettings,
  secrets: ['api_key', 'signing_secret'],
  attributes: [
    { name: 'example_plan', type: 'string', label: 'Example plan' },
    { name: 'example_score', type: 'number', label: 'Example score' },
  ],
  events: ['example_happened'],
  cards: {
    sidebar: [
      {
        id: 'summary',
        title: 'Example',
        async load(host, contact) {
          const settings = await host.settings<z.infer<typeof exampleSettings>>();
          const plan = contact.custom_attributes.example_plan;
          return {
            title: `${settings.greeting}, ${contact.name ?? contact.email ?? contact.id}`,
            sections: [{ title: 'Plan', rows: [{ label: 'Plan', value: String(plan ?? 'none') }] }],
            // The button carries the choice it offers: the inbox sends `input` with the click.
            actions: [{ id: 'upgrade', label: 'Upgrade to gold', input: { plan: 'gold' } }],
          };
        },
        actions: {
          async upgrade(host, contact, input) {
            const parsed = upgradeInput.safeParse(input);
            if (!parsed.success) return { message: 'choose a plan' };
            await host.contacts.setAttributes(contact.id, { example_plan: parsed.data.plan });
            return { message: `upgraded to ${parsed.data.plan}` };
          },
        },
      },
      {
        id: 'broken',
        title: 'Broken card',
        async load() {
          throw new Error('the upstream service is down');
        },
      },
    ],
    messenger: [{ type: 'example_offer', description: 'An offer the customer can accept' }],
  },
  webhooks: [
    {
      path: 'example/:endpoint',
      async handle(host, req) {
        const key = await host.secret('api_key');
        const sig = req.headers['x-example-signature'];
        const expected = key ? signExampleWebhook(key, req.rawBody.toString('utf8')) : '';
        if (
          !key ||
          typeof sig !== 'string' ||
          sig.length !== expected.length ||
          !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))
        ) {
          return { status: 400, body: { error: { code: 'bad_signature', message: 'signature mismatch' } } };
        }
        let event: { contact_id?: unknown; id?: unknown };
        try {
          event = JSON.parse(req.rawBody.toString('utf8')) as typeof event;
        } catch {
          return { status: 400, body: { error: { code: 'invalid_json', message: 'bad body' } } };
        }
        if (typeof event.contact_id === 'string' && typeof event.id === 'string') {
          await host.timeline.record(event.contact_id, {
            name: 'example_happened',
            createdAt: new Date(),
            metadata: { via: 'webhook' },
            idempotencyKey: event.id,
          });
        }
        return { status: 200, body: { received: true } };
      },
    },
  ],
  jobs: {
    async score(host, payload) {
      const p = scoreJob.parse(payload);
      await host.contacts.setAttributes(p.contact_id, { example_score: p.score });
    },
  },
  tools: [
    {
      name: 'example_plan',
      description: "The contact's example plan",
      parameters: z.strictObject({}),
      async run(_host, contact) {
        return { plan: contact.custom_attributes.example_plan ?? null };
      },
    },
  ],
  actions: {
    rename_greeting: {
      access: 'team',
      summary: 'Any teammate may change the greeting',
      input: z.strictObject({ greeting: z.string().min(1).max(50) }),
      async run(host, input) {
        await host.records<{ greeting: string }>('state').put('greeting', { greeting: input.greeting });
        return { greeting: input.greeting };
      },
    },
    reset: {
      access: 'admin',
      summary: 'Admins only',
      input: z.strictObject({}),
      async run(host) {
        await host.records('state').remove('greeting');
        return { reset: true };
      },
    },
  },
  views: {
    state: {
      access: 'team',
      summary: 'What the app stored',
      async load(host) {
        const rec = await host.records<{ greeting: string }>('state').get('greeting');
        return { greeting: rec && !rec.deleted ? rec.data.greeting : null };
      },
    },
    secrets_overview: {
      access: 'admin',
      summary: 'Admins only',
      async load() {
        return { ok: true };
      },
    },
  },
});

/** A second app with nothing but a secret: something to install and uninstall without touching the first. */
export const spareApp = defineApp({
  id: SPARE_APP,
  name: 'Spare',
  description: 'A minimal fixture app',
  settings: z.strictObject({}),
  secrets: ['token'],
  attributes: [{ name: 'spare_flag', type: 'boolean', label: 'Spare flag' }],
  events: [],
  cards: { sidebar: [], messenger: [] },
  webhooks: [],
  jobs: {},
  tools: [],
});

export const fixtureRegistry: Readonly<Record<string, AppManifest>> = {
  [EXAMPLE_APP]: exampleApp as unknown as AppManifest,
  [SPARE_APP]: spareApp as unknown as AppManifest,
};
