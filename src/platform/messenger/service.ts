import { jwtVerify } from 'jose';
import type { Db } from '../../db/client.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import { hashToken, newId, newSecretToken } from '../../shared/ids.ts';
import { contactRepository, type ContactRow } from '../contacts/repository.ts';
import { mergeLeadIntoUser, normalizeEmail } from '../contacts/service.ts';
import { workspaceRepository } from '../workspaces/repository.ts';
import { openMessengerSecret } from '../workspaces/service.ts';
import { messengerError } from './errors.ts';
import { messengerSessionRepository } from './repository.ts';
import { fitProfileClaims } from './profile-claims.ts';
import { jwtClaims } from './schemas.ts';

const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export interface BootResult {
  session_token: string;
  contact: ContactRow;
  verified: boolean;
  workspace: { name: string };
}

/** Where the boot reports what it fitted: the request's logger in the route. */
export interface BootLog {
  warn(obj: object, msg: string): void;
}

async function verifyUserJwt(token: string, secret: string, log: BootLog, workspaceId: string) {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    // Only a verified payload is fitted: the signature, `exp` and `user_id` are checked exactly as before.
    const { payload: fittedPayload, fitted } = fitProfileClaims(payload);
    const claims = jwtClaims.safeParse(fittedPayload);
    if (!claims.success) throw new Error(claims.error.issues[0]?.message ?? 'bad claims');
    // The field and its cap, never its value nor the token: the host app's team can find and fix its data.
    for (const f of fitted)
      log.warn(
        { workspaceId, field: f.field, action: f.action, ...(f.limit ? { limit: f.limit } : {}) },
        `messenger boot: user_jwt claim ${f.field} ${f.why} (${f.action})`,
      );
    return claims.data;
  } catch (err) {
    throw messengerError('invalid_user_jwt', `user_jwt is not valid: ${(err as Error).message}`, 'user_jwt');
  }
}

/**
 * Boots a messenger: a verified user (JWT) or an anonymous lead. A claim to be a user without a valid JWT gets
 * nothing: no session, no contact data.
 */
export async function bootMessenger(
  db: Db,
  box: SecretBox,
  input: {
    app_id: string;
    user_jwt?: string | undefined;
    user_id?: string | undefined;
    session_token?: string | undefined;
  },
  log: BootLog,
): Promise<BootResult> {
  const workspace = await workspaceRepository.getByAppId(db, input.app_id);
  if (!workspace) throw messengerError('unknown_app', `no workspace with app_id ${input.app_id}`, 'app_id');
  const ws = workspace.id;
  const previous = input.session_token
    ? await messengerSessionRepository.findLiveByHash(db, hashToken(input.session_token))
    : undefined;
  const resumable = previous && previous.workspace_id === ws ? previous : undefined;

  let contact: ContactRow;
  let verified = false;
  if (input.user_jwt) {
    const claims = await verifyUserJwt(input.user_jwt, openMessengerSecret(box, workspace), log, ws);
    verified = true;
    const email = claims.email ?? null;
    let found = await contactRepository.getByExternalId(db, ws, claims.user_id);
    if (!found && email) {
      found = (await contactRepository.findByEmail(db, ws, normalizeEmail(email) ?? '')).find(
        (c) => c.role === 'user' && !c.external_id,
      );
    }
    if (found) {
      contact =
        (await contactRepository.update(db, ws, found.id, {
          external_id: claims.user_id,
          email: email ?? found.email,
          email_normalized: normalizeEmail(email ?? found.email),
          name: claims.name ?? found.name,
          last_seen_at: new Date(),
        })) ?? found;
    } else {
      contact = await contactRepository.insert(
        db,
        ws,
        newId(),
        {
          role: 'user',
          external_id: claims.user_id,
          email,
          email_normalized: normalizeEmail(email),
          name: claims.name ?? null,
          last_seen_at: new Date(),
        },
        {},
      );
    }
    if (resumable && !resumable.verified && resumable.contact_id !== contact.id) {
      const lead = await contactRepository.get(db, ws, resumable.contact_id);
      if (lead?.role === 'lead') contact = await mergeLeadIntoUser(db, ws, lead.id, contact.id);
    }
  } else if (input.user_id) {
    throw messengerError(
      'identity_verification_required',
      'identifying a user needs user_jwt signed with the messenger secret',
      'user_jwt',
    );
  } else if (
    resumable &&
    !resumable.verified &&
    // Only a lead resumes: once merged into a user, the old anonymous token must not open the user without a JWT.
    (await contactRepository.get(db, ws, resumable.contact_id))?.role === 'lead'
  ) {
    const lead = await contactRepository.update(db, ws, resumable.contact_id, { last_seen_at: new Date() });
    contact =
      lead ??
      (await contactRepository.insert(db, ws, newId(), { role: 'lead', last_seen_at: new Date() }, {}));
  } else {
    contact = await contactRepository.insert(db, ws, newId(), { role: 'lead', last_seen_at: new Date() }, {});
  }

  // The same visitor or user coming back with their token keeps their session (and its token, which other tabs of
  // the same browser hold too): a boot per page view must not leave a session row per page view.
  if (
    resumable &&
    input.session_token &&
    resumable.contact_id === contact.id &&
    resumable.verified === verified
  ) {
    await messengerSessionRepository.extend(db, ws, resumable.id, new Date(Date.now() + SESSION_TTL_MS));
    return { session_token: input.session_token, contact, verified, workspace: { name: workspace.name } };
  }
  const token = newSecretToken('ms');
  await messengerSessionRepository.insert(db, {
    workspace_id: ws,
    id: newId(),
    token_hash: hashToken(token),
    contact_id: contact.id,
    verified,
    expires_at: new Date(Date.now() + SESSION_TTL_MS),
  });
  return { session_token: token, contact, verified, workspace: { name: workspace.name } };
}
