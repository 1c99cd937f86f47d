import { MESSENGER, TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { outboundError } from './errors.ts';
import { outboundRepository } from './repository.ts';
import { createOutboundBody, outboundIdParams } from './schemas.ts';
import { createOutbound, getOutbound, sendOutbound, stopOutbound, toOutbound } from './service.ts';
import { getSegment, segmentSource } from '../search/service.ts';

export const outboundRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/api/outbound',
    access: TEAM,
    summary: 'In-app messages to segments, newest first, with sent / delivered / opened counts',
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      const rows = await outboundRepository.list(platform.db, p.workspaceId, 100);
      const data = [];
      for (const r of rows)
        data.push(toOutbound(r, await outboundRepository.stats(platform.db, p.workspaceId, r.id)));
      return { type: 'list', data };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/outbound',
    access: TEAM,
    summary: 'Draft an in-app message to a segment',
    body: createOutboundBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      await getSegment(platform.db, p.workspaceId, body.segment_id);
      const row = await createOutbound(
        platform.db,
        p.workspaceId,
        body,
        p.kind === 'teammate' ? p.teammateId : null,
      );
      reply.code(201);
      return toOutbound(row, { sent: 0, delivered: 0, opened: 0 });
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/outbound/:id',
    access: TEAM,
    summary: 'An in-app message and its stats',
    params: outboundIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const row = await getOutbound(platform.db, p.workspaceId, params.id);
      return toOutbound(row, await outboundRepository.stats(platform.db, p.workspaceId, row.id));
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/outbound/:id/send',
    access: TEAM,
    summary:
      "Send to the segment's members, taken as one snapshot when the send job runs; each gets it once, all at once",
    params: outboundIdParams,
    async handler({ platform, principal, params, reply }) {
      const p = requireWorkspace(principal);
      await sendOutbound(platform.db, platform.jobs, segmentSource, p.workspaceId, params.id);
      reply.code(202);
      const row = await getOutbound(platform.db, p.workspaceId, params.id);
      return toOutbound(row, await outboundRepository.stats(platform.db, p.workspaceId, row.id));
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/outbound/:id/stop',
    access: TEAM,
    summary:
      'Stop a sending or sent message: no contact is shown it from now on; its stats stay as they were (409 for a draft or failed message; stopping again is fine)',
    params: outboundIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const row = await stopOutbound(
        platform.db,
        p.workspaceId,
        params.id,
        p.kind === 'teammate' ? p.teammateId : null,
      );
      return toOutbound(row, await outboundRepository.stats(platform.db, p.workspaceId, row.id));
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/messenger/outbound',
    access: MESSENGER,
    summary:
      "In-app messages sent to the session's contact that it has not opened, stopped ones left out (marks them delivered)",
    async handler({ platform, principal }) {
      const p = requireWorkspace(principal);
      if (p.kind !== 'messenger')
        throw outboundError('outbound_not_found', 'a messenger session is required');
      const rows = await outboundRepository.takeForContact(platform.db, p.workspaceId, p.contactId);
      return {
        type: 'list',
        data: rows.map((r) => ({
          id: r.id,
          title: r.title,
          body: r.body,
          sent_at: r.sent_at ? Math.floor(r.sent_at.getTime() / 1000) : null,
        })),
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/messenger/outbound/:id/open',
    access: MESSENGER,
    summary:
      'Record that the contact opened an in-app message (409 outbound_stopped once it was stopped; the open is not counted)',
    params: outboundIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      if (p.kind !== 'messenger')
        throw outboundError('outbound_not_found', `no message ${params.id} for you`, 'id');
      if (await outboundRepository.markOpened(platform.db, p.workspaceId, params.id, p.contactId)) {
        return { id: params.id, opened: true };
      }
      // Only a recipient learns that the message was stopped; anyone else gets the same 404 as for no message.
      const status = await outboundRepository.deliveredStatus(
        platform.db,
        p.workspaceId,
        params.id,
        p.contactId,
      );
      if (status === 'stopped') {
        throw outboundError(
          'outbound_stopped',
          `message ${params.id} was stopped; it is not shown any more`,
          'id',
        );
      }
      throw outboundError('outbound_not_found', `no message ${params.id} for you`, 'id');
    },
  }),
];
