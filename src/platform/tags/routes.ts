import { TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { newId } from '../../shared/ids.ts';
import { getContact } from '../contacts/service.ts';
import { tagError } from './errors.ts';
import { tagRepository } from './repository.ts';
import { contactIdOnly, contactTagBody, contactTagParams, createTagBody, tagIdParams } from './schemas.ts';
import { toTag } from './service.ts';

export const tagRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/api/tags',
    access: TEAM,
    summary: 'List tags',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      return { type: 'list', data: (await tagRepository.list(platform.db, p.workspaceId)).map(toTag) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/tags',
    access: TEAM,
    summary: 'Create a tag, or rename one (with id); an existing name returns that tag',
    body: createTagBody,
    async handler({ platform, principal, body }) {
      const p = requireWorkspace(principal);
      if (body.id) {
        const renamed = await tagRepository.rename(platform.db, p.workspaceId, body.id, body.name);
        if (!renamed) throw tagError('tag_not_found', `no tag ${body.id}`, 'id');
        return toTag(renamed);
      }
      return toTag(await tagRepository.upsertByName(platform.db, p.workspaceId, newId(), body.name));
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/tags/:id',
    access: TEAM,
    summary: 'Retrieve a tag',
    params: tagIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const row = await tagRepository.get(platform.db, p.workspaceId, params.id);
      if (!row) throw tagError('tag_not_found', `no tag ${params.id}`, 'id');
      return toTag(row);
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/tags/:id',
    access: TEAM,
    summary: 'Delete a tag (and remove it from every contact)',
    params: tagIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      if (!(await tagRepository.delete(platform.db, p.workspaceId, params.id))) {
        throw tagError('tag_not_found', `no tag ${params.id}`, 'id');
      }
      return undefined;
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/contacts/:contact_id/tags',
    access: TEAM,
    summary: "A contact's tags",
    params: contactIdOnly,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      await getContact(platform.db, p.workspaceId, params.contact_id);
      const tags =
        (await tagRepository.forContacts(platform.db, p.workspaceId, [params.contact_id])).get(
          params.contact_id,
        ) ?? [];
      return { type: 'list', data: tags.map(toTag) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/contacts/:contact_id/tags',
    access: TEAM,
    summary: 'Tag a contact',
    params: contactIdOnly,
    body: contactTagBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      await getContact(platform.db, p.workspaceId, params.contact_id);
      const tag = await tagRepository.get(platform.db, p.workspaceId, body.id);
      if (!tag) throw tagError('tag_not_found', `no tag ${body.id}`, 'id');
      await tagRepository.tagContact(platform.db, p.workspaceId, params.contact_id, tag.id);
      return toTag(tag);
    },
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/contacts/:contact_id/tags/:tag_id',
    access: TEAM,
    summary: 'Remove a tag from a contact',
    params: contactTagParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const tag = await tagRepository.get(platform.db, p.workspaceId, params.tag_id);
      if (
        !tag ||
        !(await tagRepository.untagContact(platform.db, p.workspaceId, params.contact_id, params.tag_id))
      ) {
        throw tagError('tag_not_found', `contact ${params.contact_id} has no tag ${params.tag_id}`, 'tag_id');
      }
      return toTag(tag);
    },
  }),
];
