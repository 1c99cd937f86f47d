import { decodeCursor, encodeCursor } from './cursor.ts';
import { ADMIN_OR_TOKEN, TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { contactError } from './errors.ts';
import { contactRepository, type ContactRow } from './repository.ts';
import type { Queryable } from '../../db/client.ts';
import {
  contactIdParams,
  externalIdParams,
  createContactBody,
  listContactsQuery,
  mergeContactsBody,
  updateContactBody,
} from './schemas.ts';
import {
  createContact,
  getContact,
  mergeLeadIntoUser,
  normalizeEmail,
  serializeContacts,
  updateContact,
} from './service.ts';

/**
 * A keyset cursor: the sort timestamp to the microsecond (as the database gives it, see `cursorAt`) and the id.
 * Milliseconds are not enough: rows written in the same millisecond, or in one transaction, would be skipped.
 */

async function serializeContact(db: Queryable, workspaceId: string, row: ContactRow) {
  return (await serializeContacts(db, workspaceId, [row]))[0];
}

export const contactRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/api/contacts',
    access: TEAM,
    summary: 'List contacts, newest first (cursor pagination)',
    query: listContactsQuery,
    async handler({ platform, principal, query }) {
      const p = requireWorkspace(principal);
      const rows = await contactRepository.list(platform.db, p.workspaceId, {
        limit: query.per_page + 1,
        after: query.starting_after ? decodeCursor(query.starting_after) : undefined,
        emailNormalized: normalizeEmail(query.email) ?? undefined,
        externalId: query.external_id,
      });
      const page = rows.slice(0, query.per_page);
      const last = page[page.length - 1];
      const total = await contactRepository.count(platform.db, p.workspaceId);
      return {
        type: 'list',
        data: await serializeContacts(platform.db, p.workspaceId, page),
        total_count: total,
        pages: {
          type: 'pages',
          per_page: query.per_page,
          total_pages: Math.ceil(total / query.per_page),
          next:
            rows.length > query.per_page && last
              ? { per_page: query.per_page, starting_after: encodeCursor(last.cursor_at, last.id) }
              : null,
        },
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/contacts',
    access: TEAM,
    summary: 'Create a user or a lead',
    body: createContactBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      const row = await platform.db.transaction((tx) => createContact(tx, p.workspaceId, body));
      reply.code(201);
      return serializeContact(platform.db, p.workspaceId, row);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/contacts/find_by_external_id/:external_id',
    access: TEAM,
    summary: 'Retrieve a contact by its external id (user_id)',
    params: externalIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const row = await contactRepository.getByExternalId(platform.db, p.workspaceId, params.external_id);
      if (!row)
        throw contactError(
          'contact_not_found',
          `no contact with external_id ${params.external_id}`,
          'external_id',
        );
      return serializeContact(platform.db, p.workspaceId, row);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/contacts/:id',
    access: TEAM,
    summary: 'Retrieve a contact',
    params: contactIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      return serializeContact(
        platform.db,
        p.workspaceId,
        await getContact(platform.db, p.workspaceId, params.id),
      );
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/api/contacts/:id',
    access: TEAM,
    summary: 'Update a contact (attributes: null removes a value)',
    params: contactIdParams,
    body: updateContactBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      const row = await platform.db.transaction((tx) => updateContact(tx, p.workspaceId, params.id, body));
      return serializeContact(platform.db, p.workspaceId, row);
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/contacts/:id',
    access: ADMIN_OR_TOKEN,
    summary: 'Delete a contact and everything that belongs to it',
    params: contactIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      if (!(await contactRepository.delete(platform.db, p.workspaceId, params.id))) {
        throw contactError('contact_not_found', `no contact ${params.id}`, 'id');
      }
      return { type: 'contact', id: params.id, deleted: true };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/contacts/:id/archive',
    access: TEAM,
    summary: 'Archive a contact',
    params: contactIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const row = await contactRepository.setArchived(platform.db, p.workspaceId, params.id, true);
      if (!row) throw contactError('contact_not_found', `no contact ${params.id}`, 'id');
      return serializeContact(platform.db, p.workspaceId, row);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/contacts/:id/unarchive',
    access: TEAM,
    summary: 'Unarchive a contact',
    params: contactIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const row = await contactRepository.setArchived(platform.db, p.workspaceId, params.id, false);
      if (!row) throw contactError('contact_not_found', `no contact ${params.id}`, 'id');
      return serializeContact(platform.db, p.workspaceId, row);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/contacts/merge',
    access: TEAM,
    summary: 'Merge a lead into a user',
    body: mergeContactsBody,
    async handler({ platform, principal, body }) {
      const p = requireWorkspace(principal);
      return serializeContact(
        platform.db,
        p.workspaceId,
        await mergeLeadIntoUser(platform.db, p.workspaceId, body.from, body.into),
      );
    },
  }),
];
