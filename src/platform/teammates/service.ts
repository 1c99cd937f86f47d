import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import { hashToken, newId, newSecretToken } from '../../shared/ids.ts';
import { teammateError } from './errors.ts';
import { dummyHash, hashPassword, verifyPassword } from './password.ts';
import { loginLimit } from './login-limit.ts';
import {
  apiTokenRepository,
  sessionRepository,
  teammateRepository,
  type ApiTokenRow,
  type TeammateRow,
} from './repository.ts';

export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

export interface Teammate {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'teammate';
  disabled: boolean;
  created_at: number;
}

export const unix = (d: Date | null | undefined): number | null =>
  d ? Math.floor(d.getTime() / 1000) : null;

export function toTeammate(row: TeammateRow): Teammate {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled_at !== null,
    created_at: unix(row.created_at) ?? 0,
  };
}

export function toApiToken(row: ApiTokenRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.token_prefix,
    created_at: unix(row.created_at),
    last_used_at: unix(row.last_used_at),
    revoked: row.revoked_at !== null,
  };
}

export async function createTeammate(
  db: Db,
  workspaceId: string,
  input: { email: string; name: string; role: 'admin' | 'teammate'; password: string },
): Promise<Teammate> {
  if (await teammateRepository.findByEmail(db, workspaceId, input.email)) {
    throw teammateError('teammate_email_taken', `a teammate with email ${input.email} exists`, 'email');
  }
  const id = newId();
  await teammateRepository.insert(db, {
    workspace_id: workspaceId,
    id,
    email: input.email.trim(),
    name: input.name,
    role: input.role,
    password_hash: await hashPassword(input.password),
  });
  const row = await teammateRepository.get(db, workspaceId, id);
  if (!row) throw new Error('teammate vanished after insert');
  return toTeammate(row);
}

export class LoginService {
  constructor(private readonly db: Db) {}

  async login(input: { email: string; password: string; workspace_id?: string | undefined }, ip: string) {
    const emailKey = input.email.trim().toLowerCase();
    const wait = await loginLimit.attempt(this.db, emailKey, ip);
    if (wait > 0) {
      throw teammateError('login_rate_limited', `too many failed logins; try again in ${wait} seconds`);
    }
    let candidates = await teammateRepository.findByEmailAnyWorkspace(this.db, input.email);
    if (input.workspace_id) candidates = candidates.filter((c) => c.workspace_id === input.workspace_id);
    if (candidates.length > 1) {
      await loginLimit.refund(this.db, emailKey, ip);
      throw teammateError(
        'ambiguous_email',
        'this email belongs to several workspaces: give workspace_id',
        'workspace_id',
      );
    }
    const teammate = candidates[0];
    const ok = await verifyPassword(input.password, teammate?.password_hash ?? dummyHash);
    if (!teammate || !ok || teammate.disabled_at) {
      throw teammateError('invalid_credentials', 'email or password is wrong');
    }
    await loginLimit.succeed(this.db, emailKey, ip);
    const token = newSecretToken('sess');
    const csrfToken = randomBytes(24).toString('base64url');
    await sessionRepository.insert(this.db, {
      workspace_id: teammate.workspace_id,
      id: newId(),
      token_hash: hashToken(token),
      teammate_id: teammate.id,
      csrf_token: csrfToken,
      expires_at: new Date(Date.now() + SESSION_TTL_MS),
    });
    return { token, csrfToken, teammate: toTeammate(teammate), workspaceId: teammate.workspace_id };
  }
}

export async function createApiToken(db: Db, workspaceId: string, name: string) {
  const token = newSecretToken('stl');
  const id = newId();
  await apiTokenRepository.insert(db, {
    workspace_id: workspaceId,
    id,
    name,
    token_hash: hashToken(token),
    token_prefix: token.slice(0, 8),
  });
  return { id, name, token };
}
