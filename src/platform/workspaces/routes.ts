import { z } from 'zod';
import { ADMIN, PUBLIC, TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { commonError } from '../../shared/errors.ts';
import { workspaceRepository } from './repository.ts';
import { rotateMessengerSecret, toWorkspace } from './service.ts';

export const workspaceRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/healthz',
    access: PUBLIC,
    summary: 'Liveness and database reachability',
    async handler({ platform }) {
      await workspaceRepository.ping(platform.db);
      return { status: 'ok', database: platform.db.kind };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/workspace',
    access: TEAM,
    summary: 'The workspace: name, messenger app id',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      const row = await workspaceRepository.get(platform.db, p.workspaceId);
      if (!row) throw commonError('not_found', 'workspace not found');
      return toWorkspace(row);
    },
  }),
  defineRoute({
    method: 'PATCH',
    url: '/api/workspace',
    access: ADMIN,
    summary: 'Rename the workspace',
    body: z.strictObject({ name: z.string().trim().min(1).max(200) }),
    async handler({ platform, principal, body }) {
      const p = requireWorkspace(principal);
      await workspaceRepository.rename(platform.db, p.workspaceId, body.name);
      const row = await workspaceRepository.get(platform.db, p.workspaceId);
      if (!row) throw commonError('not_found', 'workspace not found');
      return toWorkspace(row);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/workspace/messenger_secret',
    access: ADMIN,
    summary: 'Rotate the messenger identity secret; the new one is returned this once',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      return { messenger_secret: await rotateMessengerSecret(platform.db, platform.box, p.workspaceId) };
    },
  }),
];
