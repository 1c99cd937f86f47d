import { TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type RouteDef } from '../../server/route.ts';
import { contactIdParams } from '../contacts/schemas.ts';
import {
  createSegmentBody,
  listSegmentsQuery,
  searchBody,
  segmentContactsQuery,
  segmentIdParams,
  updateSegmentBody,
} from './schemas.ts';
import {
  contactSegments,
  createSegment,
  deleteSegment,
  getSegment,
  listSegments,
  searchContacts,
  segmentContacts,
  updateSegment,
} from './service.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixed list; each entry is typed by defineRoute
export const searchRoutes: RouteDef<any, any, any>[] = [
  defineRoute({
    method: 'POST',
    url: '/api/contacts/search',
    access: TEAM,
    summary: "Search contacts with Intercom's query language (docs/search.md)",
    body: searchBody,
    async handler({ platform, principal, body }) {
      return searchContacts(platform.db, requireWorkspace(principal).workspaceId, body);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/contacts/:id/segments',
    access: TEAM,
    summary: "The segments a contact is in now (Intercom's list attached segments)",
    params: contactIdParams,
    async handler({ platform, principal, params, req }) {
      const workspaceId = requireWorkspace(principal).workspaceId;
      return { type: 'list', data: await contactSegments(platform.db, workspaceId, params.id, req.log) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/segments',
    access: TEAM,
    summary: 'List segments (Intercom shape), each with its member count now unless include_count=false',
    query: listSegmentsQuery,
    async handler({ platform, principal, query }) {
      const workspaceId = requireWorkspace(principal).workspaceId;
      const segments = await listSegments(platform.db, workspaceId, {
        count: query.include_count !== 'false',
      });
      return { type: 'segment.list', segments };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/segments',
    access: TEAM,
    summary: 'Save a search query as a segment',
    body: createSegmentBody,
    async handler({ platform, principal, body, reply }) {
      const segment = await createSegment(platform.db, requireWorkspace(principal).workspaceId, body);
      reply.code(201);
      return segment;
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/segments/:id',
    access: TEAM,
    summary: 'A segment with its member count now',
    params: segmentIdParams,
    async handler({ platform, principal, params }) {
      return getSegment(platform.db, requireWorkspace(principal).workspaceId, params.id);
    },
  }),
  defineRoute({
    method: 'PUT',
    url: '/api/segments/:id',
    access: TEAM,
    summary: 'Rename a segment or replace its query',
    params: segmentIdParams,
    body: updateSegmentBody,
    async handler({ platform, principal, params, body }) {
      return updateSegment(platform.db, requireWorkspace(principal).workspaceId, params.id, body);
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/segments/:id',
    access: TEAM,
    summary: 'Delete a segment (its contacts are untouched)',
    params: segmentIdParams,
    async handler({ platform, principal, params }) {
      await deleteSegment(platform.db, requireWorkspace(principal).workspaceId, params.id);
      return { id: params.id, deleted: true };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/segments/:id/contacts',
    access: TEAM,
    summary: "The segment's contacts now, paginated like search",
    params: segmentIdParams,
    query: segmentContactsQuery,
    async handler({ platform, principal, params, query }) {
      return segmentContacts(platform.db, requireWorkspace(principal).workspaceId, params.id, {
        per_page: query.per_page,
        starting_after: query.starting_after,
        sort: query.sort_field
          ? { field: query.sort_field, order: query.sort_order ?? 'descending' }
          : undefined,
      });
    },
  }),
];
