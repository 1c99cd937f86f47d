import { ADMIN_OR_TOKEN, TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { attributeRepository } from './repository.ts';
import {
  attributeIdParams,
  createAttributeBody,
  listAttributesQuery,
  updateAttributeBody,
} from './schemas.ts';
import { createAttribute, deleteAttribute, toAttributeDefinition, updateAttribute } from './service.ts';
import { ensureAttributeIndexes } from '../search/repository.ts';

export const attributeRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/api/data_attributes',
    access: TEAM,
    summary: 'List contact attribute definitions',
    query: listAttributesQuery,
    async handler({ platform, principal, query }) {
      const p = requireWorkspace(principal);
      const rows = await attributeRepository.list(platform.db, p.workspaceId);
      const shown = query.include_archived === 'true' ? rows : rows.filter((r) => r.archived_at === null);
      return { type: 'list', data: shown.map(toAttributeDefinition) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/data_attributes',
    access: ADMIN_OR_TOKEN,
    summary: 'Define a custom contact attribute',
    body: createAttributeBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      const row = await createAttribute(platform.db, p.workspaceId, body);
      // After the definition is committed: on PostgreSQL the index builds concurrently, without blocking writes.
      await ensureAttributeIndexes(platform.db, p.workspaceId, row.name, row.type);
      reply.code(201);
      return toAttributeDefinition(row);
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/api/data_attributes/:id',
    access: ADMIN_OR_TOKEN,
    summary: "Update or archive a custom attribute (id: its name); an app's are read-only",
    params: attributeIdParams,
    body: updateAttributeBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      const row = await updateAttribute(platform.db, p.workspaceId, params.id, body);
      platform.apps.forgetDefinitions(p.workspaceId);
      return toAttributeDefinition(row);
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/data_attributes/:id',
    access: ADMIN_OR_TOKEN,
    summary: 'Delete an archived custom attribute and its values on every contact (Settle extension)',
    params: attributeIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const { contactsUpdated } = await deleteAttribute(platform.db, p.workspaceId, params.id);
      platform.apps.forgetDefinitions(p.workspaceId);
      return { type: 'data_attribute', id: params.id, deleted: true, contacts_updated: contactsUpdated };
    },
  }),
];
