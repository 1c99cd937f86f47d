import { ADMIN, PUBLIC, TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { hashToken } from '../../shared/ids.ts';
import { hashPassword } from './password.ts';
import { teammateError } from './errors.ts';
import { apiTokenRepository, sessionRepository, teammateRepository } from './repository.ts';
import { createTeammateBody, createTokenBody, idParams, loginBody, updateTeammateBody } from './schemas.ts';
import { createApiToken, createTeammate, SESSION_TTL_MS, toApiToken, toTeammate } from './service.ts';

export const SESSION_COOKIE = 'settle_session';

export const teammateRoutes: AnyRoute[] = [
  defineRoute({
    method: 'POST',
    url: '/api/auth/login',
    access: PUBLIC,
    summary: 'Log a teammate in: sets the session cookie, returns the CSRF token for writes',
    body: loginBody,
    async handler({ body, platform, req, reply }) {
      const session = await platform.login.login(body, req.ip);
      reply.setCookie(SESSION_COOKIE, session.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: platform.config.publicUrl.startsWith('https:'),
        maxAge: SESSION_TTL_MS / 1000,
      });
      return { teammate: session.teammate, workspace_id: session.workspaceId, csrf_token: session.csrfToken };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/auth/logout',
    access: ['teammate'],
    summary: 'End the current session',
    async handler({ platform, req, reply, principal }) {
      const p = requireWorkspace(principal);
      const token = req.cookies[SESSION_COOKIE];
      if (token && p.kind === 'teammate') {
        const s = await sessionRepository.findLiveByHash(platform.db, hashToken(token));
        if (s) await sessionRepository.delete(platform.db, s.workspace_id, s.id);
      }
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return undefined;
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/me',
    access: ['teammate'],
    summary: 'The logged-in teammate, their workspace and the CSRF token for writes',
    async handler({ platform, principal }) {
      if (principal.kind !== 'teammate') throw teammateError('teammate_not_found', 'not a teammate session');
      const row = await teammateRepository.get(platform.db, principal.workspaceId, principal.teammateId);
      if (!row) throw teammateError('teammate_not_found', 'teammate not found');
      return {
        teammate: toTeammate(row),
        workspace_id: principal.workspaceId,
        csrf_token: principal.csrfToken,
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/teammates',
    access: TEAM,
    summary: 'List teammates',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      const rows = await teammateRepository.list(platform.db, p.workspaceId);
      return { type: 'list', data: rows.map(toTeammate) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/teammates',
    access: ADMIN,
    summary: 'Invite a teammate with an initial password',
    body: createTeammateBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      reply.code(201);
      return createTeammate(platform.db, p.workspaceId, body);
    },
  }),
  defineRoute({
    method: 'PATCH',
    url: '/api/teammates/:id',
    access: ADMIN,
    summary: 'Rename, change role, disable or reset the password of a teammate',
    params: idParams,
    body: updateTeammateBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      const db = platform.db;
      const current = await teammateRepository.get(db, p.workspaceId, params.id);
      if (!current) throw teammateError('teammate_not_found', `no teammate ${params.id}`, 'id');
      const losesAdmin = current.role === 'admin' && (body.role === 'teammate' || body.disabled === true);
      if (losesAdmin && (await teammateRepository.countActiveAdmins(db, p.workspaceId)) <= 1) {
        throw teammateError('last_admin', 'the workspace must keep at least one active admin');
      }
      await teammateRepository.update(db, p.workspaceId, params.id, {
        name: body.name,
        role: body.role,
        disabled: body.disabled,
        password_hash: body.password ? await hashPassword(body.password) : undefined,
      });
      if (body.disabled || body.password || body.role) {
        await sessionRepository.deleteForTeammate(db, p.workspaceId, params.id);
      }
      const row = await teammateRepository.get(db, p.workspaceId, params.id);
      if (!row) throw teammateError('teammate_not_found', `no teammate ${params.id}`, 'id');
      return toTeammate(row);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/tokens',
    access: ADMIN,
    summary: 'List API tokens (never their values)',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      return {
        type: 'list',
        data: (await apiTokenRepository.list(platform.db, p.workspaceId)).map(toApiToken),
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/tokens',
    access: ADMIN,
    summary: 'Create an API token; its value is returned this once',
    body: createTokenBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      reply.code(201);
      return createApiToken(platform.db, p.workspaceId, body.name);
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/tokens/:id',
    access: ADMIN,
    summary: 'Revoke an API token',
    params: idParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      if (!(await apiTokenRepository.revoke(platform.db, p.workspaceId, params.id))) {
        throw teammateError('token_not_found', `no live token ${params.id}`, 'id');
      }
      return { id: params.id, revoked: true };
    },
  }),
];
