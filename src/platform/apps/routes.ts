import type { FastifyInstance } from 'fastify';
import { ADMIN, TEAM, type Principal } from '../../server/access.ts';
import type { Platform } from '../../server/platform.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { contactIdParams } from '../contacts/schemas.ts';
import { getContact } from '../contacts/service.ts';
import {
  appActionBody,
  appActionParams,
  appIdParams,
  appViewParams,
  cardActionBody,
  cardActionParams,
  installBody,
  secretBody,
  secretParams,
  settingsBody,
  uninstallBody,
} from './schemas.ts';

// API tokens are created by admins for scripts, so they may run admin actions (e.g. `settle stripe connect`).
const isAdmin = (p: Principal) => p.kind === 'token' || (p.kind === 'teammate' && p.role === 'admin');

export const appRoutes: AnyRoute[] = [
  defineRoute({
    method: 'POST',
    url: '/api/apps/:id/actions/:action',
    access: TEAM,
    summary: "Run an app's action (the action declares whether admins only may run it)",
    params: appActionParams,
    body: appActionBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      return platform.apps.runAction(p.workspaceId, params.id, params.action, isAdmin(p), body);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/apps/:id/views/:view',
    access: TEAM,
    summary: "Read an app's view (status pages, lists)",
    params: appViewParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      return platform.apps.loadView(p.workspaceId, params.id, params.view, isAdmin(p));
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/apps',
    access: TEAM,
    summary: 'The apps this Settle has, and whether each is installed',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      return { type: 'list', data: await platform.apps.list(p.workspaceId) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/apps/:id/install',
    access: ADMIN,
    summary: 'Install an app with its settings',
    params: appIdParams,
    body: installBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      await platform.apps.install(p.workspaceId, params.id, body.settings ?? {});
      return platform.apps.settingsView(p.workspaceId, params.id);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/apps/:id/uninstall',
    access: ADMIN,
    summary: 'Uninstall an app, keeping or removing its attributes (finishes in the background)',
    params: appIdParams,
    body: uninstallBody,
    async handler({ platform, principal, params, body, reply }) {
      const p = requireWorkspace(principal);
      await platform.apps.uninstall(p.workspaceId, params.id, body.keep_data);
      reply.code(202);
      return platform.apps.settingsView(p.workspaceId, params.id);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/apps/:id/settings',
    access: ADMIN,
    summary: "An app's settings and which of its secrets are set (never their values)",
    params: appIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      return platform.apps.settingsView(p.workspaceId, params.id);
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/api/apps/:id/settings',
    access: ADMIN,
    summary: "Replace an app's settings (validated by the app's schema)",
    params: appIdParams,
    body: settingsBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      await platform.apps.updateSettings(p.workspaceId, params.id, body.settings);
      return platform.apps.settingsView(p.workspaceId, params.id);
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/api/apps/:id/secrets/:name',
    access: ADMIN,
    summary: 'Set an app secret (stored encrypted; never returned)',
    params: secretParams,
    body: secretBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      await platform.apps.setSecret(p.workspaceId, params.id, params.name, body.value);
      return { name: params.name, set: true };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/contacts/:id/cards',
    access: TEAM,
    summary: 'Sidebar cards of the installed apps for a contact',
    params: contactIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      await getContact(platform.db, p.workspaceId, params.id);
      return { type: 'list', data: await platform.apps.sidebarCards(p.workspaceId, params.id) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/contacts/:contact_id/cards/:app/:card/actions/:action',
    access: TEAM,
    summary: 'Run an action of a sidebar card',
    params: cardActionParams,
    body: cardActionBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      return platform.apps.runCardAction(
        p.workspaceId,
        params.app,
        params.card,
        params.action,
        params.contact_id,
        body.input,
      );
    },
  }),
];

/**
 * App webhooks are public by nature (Stripe calls them); each handler verifies its own signature on the raw body,
 * so they get a buffer parser in their own scope and never the JSON one.
 */
export async function registerAppWebhooks(app: FastifyInstance, platform: Platform): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );
    for (const manifest of Object.values(platform.apps.registry)) {
      for (const hook of manifest.webhooks) {
        const url = `/webhooks/${hook.path.replace(/^\//, '')}`;
        platform.routeCatalog.push({
          method: 'POST',
          url,
          access: ['public'],
          summary: `${manifest.id} webhook`,
          hasBody: true,
        });
        scope.post(url, async (req, reply) => {
          const params = req.params as Record<string, string>;
          // Endpoint ids are made by createEndpoint(); anything else (NUL included) is not looked up.
          const endpoint = /^[A-Za-z0-9_-]{1,64}$/.test(params.endpoint ?? '')
            ? await platform.apps.endpoints.find(params.endpoint ?? '')
            : undefined;
          if (!endpoint || endpoint.app_id !== manifest.id) {
            return reply
              .code(404)
              .send({ error: { code: 'not_found', message: 'no such webhook endpoint' } });
          }
          const res = await hook.handle(platform.apps.host(endpoint.workspace_id, manifest.id), {
            endpoint: params.endpoint ?? '',
            params,
            headers: req.headers,
            rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          });
          return reply.code(res.status).send(res.body);
        });
      }
    }
  });
}
