import type { Db, Queryable } from '../../db/client.ts';
import { newId } from '../../shared/ids.ts';
import { validateAttributeValues, type TypedValue } from '../attributes/service.ts';
import { contactError } from './errors.ts';
import { contactRepository, type ContactRow, type ContactWrite } from './repository.ts';
import type { CreateContactInput, UpdateContactInput } from './schemas.ts';
import { tagRepository, type TagRow } from '../tags/repository.ts';
import { contactTagList } from '../tags/service.ts';

/** Emails compare after trimming, Unicode NFC and lower-casing (DESIGN.md §3.2). */
export function normalizeEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  const n = email.trim().normalize('NFC').toLowerCase();
  return n || null;
}

const unix = (d: Date | null): number | null => (d ? Math.floor(d.getTime() / 1000) : null);

export interface Contact {
  type: 'contact';
  id: string;
  workspace_id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  name: string | null;
  phone: string | null;
  created_at: number;
  updated_at: number;
  last_seen_at: number | null;
  signed_up_at: number | null;
  avatar: string | null;
  owner_id: string | null;
  unsubscribed_from_emails: boolean;
  archived: boolean;
  custom_attributes: Record<string, TypedValue>;
  tags: ReturnType<typeof contactTagList>;
}

/** A contact in Intercom's shape (the fields Settle keeps), so scripts written for Intercom read it unchanged. */
export function toContact(row: ContactRow, tags: readonly TagRow[] = []): Contact {
  return {
    type: 'contact',
    id: row.id,
    workspace_id: row.workspace_id,
    role: row.role,
    external_id: row.external_id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    created_at: unix(row.created_at) ?? 0,
    updated_at: unix(row.updated_at) ?? 0,
    last_seen_at: unix(row.last_seen_at),
    signed_up_at: unix(row.signed_up_at),
    avatar: row.avatar,
    owner_id: row.owner_id,
    unsubscribed_from_emails: row.unsubscribed_from_emails,
    archived: row.archived_at !== null,
    custom_attributes: row.custom_attributes,
    tags: contactTagList(row.id, tags),
  };
}

const toDate = (s: number | null | undefined): Date | null | undefined =>
  s === undefined ? undefined : s === null ? null : new Date(s * 1000);

function identityColumns(input: UpdateContactInput): ContactWrite {
  return {
    role: input.role,
    external_id: input.external_id,
    email: input.email === undefined ? undefined : input.email?.trim() || null,
    email_normalized: input.email === undefined ? undefined : normalizeEmail(input.email),
    name: input.name,
    phone: input.phone,
    last_seen_at: toDate(input.last_seen_at),
    signed_up_at: toDate(input.signed_up_at),
    avatar: input.avatar,
    owner_id: input.owner_id,
    unsubscribed_from_emails: input.unsubscribed_from_emails,
  };
}

async function assertExternalIdFree(db: Queryable, workspaceId: string, externalId: string, self?: string) {
  const other = await contactRepository.getByExternalId(db, workspaceId, externalId);
  if (other && other.id !== self) {
    throw contactError(
      'external_id_taken',
      `another contact (${other.id}) has external_id ${externalId}`,
      'external_id',
    );
  }
}

export async function getContact(db: Queryable, workspaceId: string, id: string): Promise<ContactRow> {
  const row = await contactRepository.get(db, workspaceId, id);
  if (!row) throw contactError('contact_not_found', `no contact ${id}`, 'id');
  return row;
}

export async function createContact(
  db: Db | Queryable,
  workspaceId: string,
  input: CreateContactInput,
  writer = 'custom',
): Promise<ContactRow> {
  const role = input.role ?? 'user';
  if (role === 'user' && !input.external_id && !input.email) {
    throw contactError('identity_required', 'a user needs an external_id or an email', 'external_id');
  }
  if (input.external_id) await assertExternalIdFree(db, workspaceId, input.external_id);
  const attrs = await validateAttributeValues(db, workspaceId, input.custom_attributes ?? {}, writer);
  return contactRepository.insert(db, workspaceId, newId(), { ...identityColumns(input), role }, attrs.set);
}

export async function updateContact(
  db: Queryable,
  workspaceId: string,
  id: string,
  input: UpdateContactInput,
  writer = 'custom',
): Promise<ContactRow> {
  const current = await getContact(db, workspaceId, id);
  if (input.external_id) await assertExternalIdFree(db, workspaceId, input.external_id, id);
  const role = input.role ?? current.role;
  const externalId = input.external_id === undefined ? current.external_id : input.external_id;
  const email = input.email === undefined ? current.email : input.email;
  if (role === 'user' && !externalId && !email) {
    throw contactError('identity_required', 'a user needs an external_id or an email', 'external_id');
  }
  const attrs = await validateAttributeValues(db, workspaceId, input.custom_attributes ?? {}, writer);
  const row = await contactRepository.update(db, workspaceId, id, identityColumns(input), attrs);
  if (!row) throw contactError('contact_not_found', `no contact ${id}`, 'id');
  return row;
}

/**
 * Merges a lead into a user (Intercom's rule: only a lead merges, only into a user). The user keeps its own
 * values; the lead's fill the gaps; the lead's conversations and events move over; the lead is deleted.
 */
export async function mergeLeadIntoUser(
  db: Db,
  workspaceId: string,
  fromId: string,
  intoId: string,
): Promise<ContactRow> {
  if (fromId === intoId)
    throw contactError('merge_invalid', 'a contact cannot be merged into itself', 'from');
  return db.transaction(async (tx) => {
    const lead = await getContact(tx, workspaceId, fromId);
    const user = await getContact(tx, workspaceId, intoId);
    if (lead.role !== 'lead') throw contactError('merge_invalid', `${fromId} is not a lead`, 'from');
    if (user.role !== 'user') throw contactError('merge_invalid', `${intoId} is not a user`, 'into');
    await contactRepository.reassignOwned(tx, workspaceId, fromId, intoId);
    const fill: Record<string, TypedValue> = {};
    for (const [k, v] of Object.entries(lead.custom_attributes))
      if (!(k in user.custom_attributes)) fill[k] = v;
    await contactRepository.delete(tx, workspaceId, fromId);
    const merged = await contactRepository.update(
      tx,
      workspaceId,
      intoId,
      {
        email: user.email ?? lead.email,
        email_normalized: user.email_normalized ?? lead.email_normalized,
        name: user.name ?? lead.name,
        phone: user.phone ?? lead.phone,
      },
      { set: fill, unset: [] },
    );
    if (!merged) throw contactError('contact_not_found', `no contact ${intoId}`, 'into');
    return merged;
  });
}

/** Contacts with their tags, loaded in one query for the whole page. */
export async function serializeContacts(db: Queryable, workspaceId: string, rows: readonly ContactRow[]) {
  const tags = await tagRepository.forContacts(
    db,
    workspaceId,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toContact(r, tags.get(r.id) ?? []));
}
