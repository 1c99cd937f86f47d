import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import { newId } from '../../shared/ids.ts';
import { workspaceRepository, type WorkspaceRow } from './repository.ts';

export interface Workspace {
  id: string;
  name: string;
  app_id: string;
  created_at: number;
}

export function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    name: row.name,
    app_id: row.app_id,
    created_at: Math.floor(row.created_at.getTime() / 1000),
  };
}

const messengerContext = (workspaceId: string) => `workspace:${workspaceId}:messenger_secret`;

export async function createWorkspace(db: Db, box: SecretBox, name: string): Promise<Workspace> {
  const id = newId();
  const secret = randomBytes(32).toString('base64url');
  await workspaceRepository.insert(db, {
    id,
    name,
    app_id: randomBytes(6).toString('hex'),
    messenger_secret: box.seal(secret, messengerContext(id)),
  });
  const row = await workspaceRepository.get(db, id);
  if (!row) throw new Error('workspace vanished after insert');
  return toWorkspace(row);
}

export function openMessengerSecret(box: SecretBox, row: WorkspaceRow): string {
  return box.open(row.messenger_secret, messengerContext(row.id));
}

/** Rotating returns the new secret once, to the admin who asked: it is shown nowhere else. */
export async function rotateMessengerSecret(db: Db, box: SecretBox, workspaceId: string): Promise<string> {
  const secret = randomBytes(32).toString('base64url');
  await workspaceRepository.setMessengerSecret(
    db,
    workspaceId,
    box.seal(secret, messengerContext(workspaceId)),
  );
  return secret;
}
