import { TEAM } from '../../server/access.ts';
import { defineRoute, requireWorkspace, type AnyRoute } from '../../server/route.ts';
import { openEventStream } from '../../server/sse.ts';
import { teammateRepository } from '../teammates/repository.ts';
import { getContact } from '../contacts/service.ts';
import { toContact } from '../contacts/service.ts';
import { decodeCursor, encodeCursor } from '../contacts/cursor.ts';
import { conversationError } from './errors.ts';
import { conversationRepository } from './repository.ts';
import {
  assignBody,
  conversationIdParams,
  createConversationBody,
  listConversationsQuery,
  replyBody,
  retrieveConversationQuery,
  type ReplyInput,
  stateBody,
} from './schemas.ts';
import { toConversation, toConversationParts, toMessage } from './service.ts';
import type { ConversationRow, MessageRow } from './repository.ts';
import type { ContactRow } from '../contacts/repository.ts';
import type { Queryable } from '../../db/client.ts';
import { normalizeEmail } from '../contacts/service.ts';

const authorOf = (p: ReturnType<typeof requireWorkspace>) =>
  p.kind === 'teammate'
    ? { authorType: 'teammate' as const, authorId: p.teammateId }
    : { authorType: 'teammate' as const, authorId: null };

function conversationView(c: ConversationRow, contact: ContactRow, messages: readonly MessageRow[]) {
  return {
    ...toConversation({ ...c, contact_external_id: contact.external_id }),
    ...toConversationParts(messages),
    contact: toContact(contact),
    messages: messages.map(toMessage),
  };
}

/** Who a reply is from: the teammate (or, for a token, `admin_id`), or with `type: user` the conversation's contact. */
async function replyAuthor(
  db: Queryable,
  p: ReturnType<typeof requireWorkspace>,
  body: ReplyInput,
  contact: ContactRow,
) {
  if (body.type === 'user') {
    const claimed = body.intercom_user_id ?? body.user_id ?? body.email;
    const matches =
      body.intercom_user_id === contact.id ||
      (body.user_id !== undefined && body.user_id === contact.external_id) ||
      (body.email !== undefined && normalizeEmail(body.email) === contact.email_normalized);
    if (!claimed || !matches) {
      throw conversationError(
        'reply_author_invalid',
        'a user reply must name the conversation’s contact',
        'intercom_user_id',
      );
    }
    if (body.message_type === 'note')
      throw conversationError('reply_author_invalid', 'only teammates write notes', 'message_type');
    return { authorType: 'contact' as const, authorId: contact.id };
  }
  if (p.kind === 'token' && body.admin_id) {
    if (!(await teammateRepository.get(db, p.workspaceId, body.admin_id))) {
      throw conversationError('assignee_not_found', `no teammate ${body.admin_id}`, 'admin_id');
    }
    return { authorType: 'teammate' as const, authorId: body.admin_id };
  }
  return authorOf(p);
}

export const conversationRoutes: AnyRoute[] = [
  defineRoute({
    method: 'GET',
    url: '/api/conversations',
    access: TEAM,
    summary: 'The inbox: conversations by state, most recent activity first',
    query: listConversationsQuery,
    async handler({ platform, principal, query }) {
      const p = requireWorkspace(principal);
      const before = query.starting_after ? decodeCursor(query.starting_after) : undefined;
      const rows = await conversationRepository.list(platform.db, p.workspaceId, {
        state: query.state === 'all' ? undefined : query.state,
        assigneeId: query.assignee_id,
        contactId: query.contact_id,
        limit: query.per_page + 1,
        before,
      });
      const page = rows.slice(0, query.per_page);
      const last = page[page.length - 1];
      return {
        type: 'conversation.list',
        conversations: page.map(toConversation),
        pages: {
          type: 'pages',
          per_page: query.per_page,
          next:
            rows.length > query.per_page && last
              ? { starting_after: encodeCursor(last.cursor_at, last.id) }
              : null,
        },
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/conversations',
    access: TEAM,
    summary:
      'Start a conversation with a contact (the first message is the team’s, so it starts read for the team)',
    body: createConversationBody,
    async handler({ platform, principal, body, reply }) {
      const p = requireWorkspace(principal);
      await getContact(platform.db, p.workspaceId, body.contact_id);
      const out = await platform.conversations.start(p.workspaceId, body.contact_id, {
        ...authorOf(p),
        kind: 'comment',
        body: body.body,
      });
      reply.code(201);
      return { ...toConversation(out.conversation), messages: [toMessage(out.message)] };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/conversations/:id',
    access: TEAM,
    summary: 'A conversation with its messages and notes',
    params: conversationIdParams,
    query: retrieveConversationQuery,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      const c = await platform.conversations.get(p.workspaceId, params.id);
      const messages = await conversationRepository.listMessages(platform.db, p.workspaceId, c.id, {
        includeNotes: true,
      });
      const contact = await getContact(platform.db, p.workspaceId, c.contact_id);
      return conversationView(c, contact, messages);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/conversations/:id/reply',
    access: TEAM,
    summary: 'Reply to the contact, or add an internal note',
    params: conversationIdParams,
    body: replyBody,
    async handler({ platform, principal, params, body, reply }) {
      const p = requireWorkspace(principal);
      const c = await platform.conversations.get(p.workspaceId, params.id);
      const contact = await getContact(platform.db, p.workspaceId, c.contact_id);
      const m = await platform.conversations.addMessage(p.workspaceId, params.id, {
        ...(await replyAuthor(platform.db, p, body, contact)),
        kind: body.message_type ?? (body.type === 'note' ? 'note' : 'comment'),
        body: body.body,
      });
      const messages = await conversationRepository.listMessages(platform.db, p.workspaceId, c.id, {
        includeNotes: true,
      });
      reply.code(201);
      // Intercom answers a reply with the conversation; `message` is the part just added.
      return {
        ...conversationView(await platform.conversations.get(p.workspaceId, c.id), contact, messages),
        message: toMessage(m),
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/conversations/:id/state',
    access: TEAM,
    summary: 'Open, snooze (until a time) or close a conversation',
    params: conversationIdParams,
    body: stateBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      if (body.state === 'snoozed' && body.snoozed_until === undefined) {
        throw conversationError(
          'snooze_requires_time',
          'snoozing needs snoozed_until (unix seconds)',
          'snoozed_until',
        );
      }
      const row = await platform.conversations.update(p.workspaceId, params.id, {
        state: body.state,
        snoozed_until:
          body.state === 'snoozed' && body.snoozed_until !== undefined
            ? new Date(body.snoozed_until * 1000)
            : null,
      });
      return toConversation(row);
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/conversations/:id/assign',
    access: TEAM,
    summary: 'Assign to a teammate, or unassign with null',
    params: conversationIdParams,
    body: assignBody,
    async handler({ platform, principal, params, body }) {
      const p = requireWorkspace(principal);
      if (body.assignee_id && !(await teammateRepository.get(platform.db, p.workspaceId, body.assignee_id))) {
        throw conversationError('assignee_not_found', `no teammate ${body.assignee_id}`, 'assignee_id');
      }
      return toConversation(
        await platform.conversations.update(p.workspaceId, params.id, { assignee_id: body.assignee_id }),
      );
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/conversations/:id/read',
    access: TEAM,
    summary: 'Mark a conversation read for the team',
    params: conversationIdParams,
    async handler({ platform, principal, params }) {
      const p = requireWorkspace(principal);
      return toConversation(
        await platform.conversations.update(p.workspaceId, params.id, { team_unread: false }),
      );
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/stream',
    access: TEAM,
    summary: 'Server-sent events: live conversation and message changes for the inbox',
    async handler({ platform, principal, req, reply }) {
      const p = requireWorkspace(principal);
      openEventStream(req, reply, (send) => platform.bus.subscribe(p.workspaceId, send));
      return reply;
    },
  }),
];
