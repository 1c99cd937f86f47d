import type { FastifyRequest } from 'fastify';
import type { Db } from '../db/client.ts';
import { hashToken } from '../shared/ids.ts';
import { commonError } from '../shared/errors.ts';
import { apiTokenRepository, sessionRepository } from '../platform/teammates/repository.ts';
import { messengerSessionRepository } from '../platform/messenger/repository.ts';
import { SESSION_COOKIE } from '../platform/teammates/routes.ts';
import type { Access, Principal } from './access.ts';
import { checkAccess } from './route.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves who is calling: a bearer API token (`stl_…`), a messenger session (`ms_…`), or a teammate's session
 * cookie. Cookie-authenticated writes must echo the session's CSRF token in `X-CSRF-Token`, since a browser sends
 * the cookie on cross-site requests too; bearer credentials are never sent by a browser on its own.
 */
export async function authenticate(
  db: Db,
  req: FastifyRequest,
  access: readonly Access[],
): Promise<Principal> {
  let principal: Principal = { kind: 'anonymous' };
  let invalid = false;
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const token = match?.[1];
    if (token?.startsWith('stl_')) {
      const row = await apiTokenRepository.findLiveByHash(db, hashToken(token));
      if (row) principal = { kind: 'token', workspaceId: row.workspace_id, tokenId: row.id };
      else invalid = true;
    } else if (token?.startsWith('ms_')) {
      const row = await messengerSessionRepository.findLiveByHash(db, hashToken(token));
      if (row)
        principal = {
          kind: 'messenger',
          workspaceId: row.workspace_id,
          contactId: row.contact_id,
          verified: row.verified,
        };
      else invalid = true;
    } else {
      invalid = true;
    }
  } else {
    const cookie = req.cookies[SESSION_COOKIE];
    if (cookie) {
      const s = await sessionRepository.findLiveByHash(db, hashToken(cookie));
      if (s) {
        principal = {
          kind: 'teammate',
          workspaceId: s.workspace_id,
          teammateId: s.teammate_id,
          role: s.role,
          csrfToken: s.csrf_token,
        };
        if (
          !SAFE_METHODS.has(req.method) &&
          !access.includes('public') &&
          req.headers['x-csrf-token'] !== s.csrf_token
        ) {
          checkAccess(principal, access, false);
          throw commonError(
            'csrf_failed',
            'missing or wrong X-CSRF-Token header for a cookie-authenticated write',
          );
        }
      } else {
        invalid = true;
      }
    }
  }
  checkAccess(principal, access, invalid);
  return principal;
}
