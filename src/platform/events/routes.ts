import { TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { contactIdParams } from '../contacts/schemas.ts';
import { contactRepository } from '../contacts/repository.ts';
import { getContact, normalizeEmail } from '../contacts/service.ts';
import { contactError } from '../contacts/errors.ts';
import { eventError } from './errors.ts';
import { eventRepository } from './repository.ts';
import { createEventBody, listEventsQuery, listUserEventsQuery } from './schemas.ts';
import type { Queryable } from '../../db/client.ts';
import { recordEvent, toTimelineEvent } from './service.ts';

async function resolveContactId(
  db: Queryable,
  workspaceId: string,
  ids: { id?: string | undefined; user_id?: string | undefined; email?: string | undefined },
): Promise<string | undefined> {
  if (ids.id) return ids.id;
  if (ids.user_id) return (await contactRepository.getByExternalId(db, workspaceId, ids.user_id))?.id;
  if (ids.email)
    return (await contactRepository.findByEmail(db, workspaceId, normalizeEmail(ids.email) ?? ''))[0]?.id;
  return undefined;
}

export const eventRoutes: AnyRoute[] = [
  defineRoute({
    method: 'POST',
    url: '/api/events',
    access: TEAM,
    summary: 'Record a timeline event on a contact (by contact_id, user_id or email)',
    body: createEventBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      const db = platform.db;
      let contactId = body.contact_id ?? body.id;
      if (!contactId && body.user_id)
        contactId = (await contactRepository.getByExternalId(db, p.workspaceId, body.user_id))?.id;
      if (!contactId && body.email) {
        const matches = await contactRepository.findByEmail(
          db,
          p.workspaceId,
          normalizeEmail(body.email) ?? '',
        );
        contactId = matches[0]?.id;
      }
      if (!body.contact_id && !body.id && !body.user_id && !body.email) {
        throw eventError('contact_required', 'give contact_id, user_id or email', 'contact_id');
      }
      if (!contactId)
        throw contactError('contact_not_found', 'no contact matches the given identity', 'contact_id');
      await getContact(db, p.workspaceId, contactId);
      const recorded = await recordEvent(db, p.workspaceId, {
        contactId,
        name: body.event_name,
        createdAt: body.created_at !== undefined ? new Date(body.created_at * 1000) : undefined,
        metadata: body.metadata,
        // Like Intercom: without a key, the same event name at the same second for the same contact is one event.
        idempotencyKey:
          body.idempotency_key ??
          (body.created_at !== undefined
            ? `intercom:${contactId}:${body.event_name}:${body.created_at}`
            : undefined),
      });
      reply.code(recorded ? 202 : 200);
      return { recorded };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/contacts/:id/events',
    access: TEAM,
    summary: "A contact's timeline, newest first",
    params: contactIdParams,
    query: listEventsQuery,
    async handler({ platform, principal, params, query }) {
      const p = requireWorkspace(principal);
      await getContact(platform.db, p.workspaceId, params.id);
      const rows = await eventRepository.listForContact(
        platform.db,
        p.workspaceId,
        params.id,
        query.per_page,
      );
      return { type: 'event.list', events: rows.map(toTimelineEvent) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/events',
    access: TEAM,
    summary: "A contact's events in Intercom's shape (type=user and user_id, intercom_user_id or email)",
    query: listUserEventsQuery,
    async handler({ platform, principal, query }) {
      const p = requireWorkspace(principal);
      if (!query.user_id && !query.intercom_user_id && !query.email) {
        throw eventError('contact_required', 'give user_id, intercom_user_id or email', 'user_id');
      }
      const contactId = await resolveContactId(platform.db, p.workspaceId, {
        id: query.intercom_user_id,
        user_id: query.user_id,
        email: query.email,
      });
      const contact = contactId
        ? await contactRepository.get(platform.db, p.workspaceId, contactId)
        : undefined;
      if (!contact)
        throw contactError('contact_not_found', 'no contact matches the given identity', 'user_id');
      const rows = await eventRepository.listForContact(
        platform.db,
        p.workspaceId,
        contact.id,
        query.per_page,
      );
      return {
        type: 'event.list',
        events: rows.map((r) => ({
          ...toTimelineEvent(r),
          intercom_user_id: contact.id,
          user_id: contact.external_id,
          email: contact.email,
        })),
        pages: { next: null },
      };
    },
  }),
];
