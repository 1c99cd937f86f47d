import type { Platform } from '../../server/platform.ts';
import { MESSENGER, PUBLIC, type Principal } from '../../server/access.ts';
import { defineRoute, type AnyRoute } from '../../server/route.ts';
import { openEventStream } from '../../server/sse.ts';
import { contactRepository } from '../contacts/repository.ts';
import { conversationRepository } from '../conversations/repository.ts';
import { toMessage } from '../conversations/service.ts';
import { messengerError } from './errors.ts';
import { bootBody, conversationIdParams, sendBody } from './schemas.ts';
import { bootMessenger } from './service.ts';

function messengerOf(p: Principal) {
  if (p.kind !== 'messenger')
    throw messengerError('identity_verification_required', 'a messenger session is required');
  return p;
}

/** What the messenger may show of a conversation: never notes, never other contacts'. */
function toMessengerConversation(row: {
  id: string;
  state: string;
  contact_unread: number;
  last_message_at: Date;
  last_body?: string | null;
}) {
  return {
    type: 'conversation',
    id: row.id,
    state: row.state,
    unread: row.contact_unread,
    last_message_at: Math.floor(row.last_message_at.getTime() / 1000),
    ...(row.last_body !== undefined ? { preview: row.last_body?.slice(0, 200) ?? null } : {}),
  };
}

async function ownConversation(platform: Platform, p: ReturnType<typeof messengerOf>, id: string) {
  const c = await conversationRepository.get(platform.db, p.workspaceId, id);
  // Someone else's conversation is answered exactly like a missing one, so ids cannot be probed.
  if (!c || c.contact_id !== p.contactId)
    throw messengerError('conversation_not_found', `no conversation ${id}`, 'id');
  return c;
}

export const messengerRoutes: AnyRoute[] = [
  defineRoute({
    method: 'POST',
    url: '/messenger/boot',
    access: PUBLIC,
    summary: 'Start a messenger session: a verified user (user_jwt) or an anonymous lead',
    body: bootBody,
    async handler({ platform, body, req }) {
      const r = await bootMessenger(platform.db, platform.box, body, req.log);
      return {
        session_token: r.session_token,
        verified: r.verified,
        workspace: r.workspace,
        contact: {
          id: r.contact.id,
          role: r.contact.role,
          name: r.contact.name,
          email: r.contact.email,
          external_id: r.contact.external_id,
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/messenger/conversations',
    access: MESSENGER,
    summary: "The session's own conversations",
    async handler({ platform, principal }) {
      const p = messengerOf(principal);
      const rows = await conversationRepository.list(platform.db, p.workspaceId, {
        contactId: p.contactId,
        limit: 50,
      });
      return { type: 'conversation.list', conversations: rows.map(toMessengerConversation) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/messenger/conversations',
    access: MESSENGER,
    summary: 'Start a conversation with the team',
    body: sendBody,
    async handler({ platform, principal, body, reply }) {
      const p = messengerOf(principal);
      const out = await platform.conversations.start(p.workspaceId, p.contactId, {
        authorType: 'contact',
        authorId: p.contactId,
        kind: 'comment',
        body: body.body,
      });
      await contactRepository.update(platform.db, p.workspaceId, p.contactId, { last_seen_at: new Date() });
      reply.code(201);
      return { ...toMessengerConversation(out.conversation), messages: [toMessage(out.message)] };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/messenger/conversations/:id',
    access: MESSENGER,
    summary: 'A conversation of the session’s contact (notes are never shown)',
    params: conversationIdParams,
    async handler({ platform, principal, params }) {
      const p = messengerOf(principal);
      const c = await ownConversation(platform, p, params.id);
      const messages = await conversationRepository.listMessages(platform.db, p.workspaceId, c.id, {
        includeNotes: false,
      });
      await conversationRepository.markReadByContact(platform.db, p.workspaceId, c.id);
      return { ...toMessengerConversation(c), messages: messages.map(toMessage) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/messenger/conversations/:id/messages',
    access: MESSENGER,
    summary: 'Send a message in one of the session’s conversations',
    params: conversationIdParams,
    body: sendBody,
    async handler({ platform, principal, params, body, reply }) {
      const p = messengerOf(principal);
      const c = await ownConversation(platform, p, params.id);
      const m = await platform.conversations.addMessage(p.workspaceId, c.id, {
        authorType: 'contact',
        authorId: p.contactId,
        kind: 'comment',
        body: body.body,
      });
      reply.code(201);
      return toMessage(m);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/messenger/stream',
    access: MESSENGER,
    summary: "Server-sent events: new messages in the session's own conversations, and resync (reload)",
    async handler({ platform, principal, req, reply }) {
      const p = messengerOf(principal);
      openEventStream(
        req,
        reply,
        (send) =>
          platform.bus.subscribe(p.workspaceId, (e) => {
            const data = e.data as { kind?: string } | undefined;
            if (e.type === 'resync') send(e);
            else if (e.contact_id === p.contactId && e.type === 'message.created' && data?.kind !== 'note')
              send(e);
          }),
        // Embedded on the customer's own site: any origin may read its stream, as the rest of the messenger API.
        { 'access-control-allow-origin': '*' },
      );
      return reply;
    },
  }),
];
