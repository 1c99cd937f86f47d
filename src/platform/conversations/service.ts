import type { Db } from '../../db/client.ts';
import type { LiveBus } from '../../server/live-bus.ts';
import { newId } from '../../shared/ids.ts';
import { conversationError } from './errors.ts';
import {
  conversationRepository,
  type AuthorType,
  type ConversationRow,
  type MessageKind,
  type MessageRow,
} from './repository.ts';

const unix = (d: Date | null): number | null => (d ? Math.floor(d.getTime() / 1000) : null);

export function toConversation(
  row: ConversationRow & {
    contact_name?: string | null;
    contact_email?: string | null;
    contact_external_id?: string | null;
    last_body?: string | null;
  },
) {
  return {
    type: 'conversation',
    id: row.id,
    // Intercom's fields, so scripts written for its API read conversations unchanged.
    open: row.state === 'open',
    admin_assignee_id: row.assignee_id,
    team_assignee_id: null,
    priority: 'not_priority',
    contacts: {
      type: 'contact.list',
      contacts: [{ type: 'contact', id: row.contact_id, external_id: row.contact_external_id ?? null }],
    },
    contact_id: row.contact_id,
    title: row.title,
    state: row.state,
    snoozed_until: unix(row.snoozed_until),
    assignee_id: row.assignee_id,
    read: !row.team_unread,
    created_at: unix(row.created_at),
    updated_at: unix(row.updated_at),
    last_message_at: unix(row.last_message_at),
    ...(row.contact_name !== undefined
      ? { contact: { id: row.contact_id, name: row.contact_name, email: row.contact_email } }
      : {}),
    ...(row.last_body !== undefined ? { preview: row.last_body?.slice(0, 200) ?? null } : {}),
  };
}

const intercomAuthor: Record<AuthorType, string> = {
  contact: 'user',
  teammate: 'admin',
  agent: 'bot',
  system: 'bot',
};

/** Messages as Intercom's conversation parts (the first one is the conversation's `source`). */
export function toConversationParts(messages: readonly MessageRow[]) {
  const parts = messages.map((m) => ({
    type: 'conversation_part',
    id: m.id,
    part_type: m.kind === 'note' ? 'note' : m.kind === 'card' ? 'card' : 'comment',
    body: m.body,
    created_at: unix(m.created_at),
    updated_at: unix(m.created_at),
    author: { type: intercomAuthor[m.author_type], id: m.author_id },
  }));
  const first = messages[0];
  return {
    source: first
      ? {
          type: 'conversation',
          id: first.id,
          delivered_as: first.author_type === 'contact' ? 'customer_initiated' : 'admin_initiated',
          body: first.body,
          author: { type: intercomAuthor[first.author_type], id: first.author_id },
        }
      : null,
    conversation_parts: {
      type: 'conversation_part.list',
      conversation_parts: parts.slice(1),
      total_count: parts.length - 1,
    },
  };
}

export function toMessage(row: MessageRow) {
  return {
    type: 'message',
    id: row.id,
    conversation_id: row.conversation_id,
    author: { type: row.author_type, id: row.author_id },
    kind: row.kind,
    body: row.body,
    card: row.card ?? null,
    created_at: unix(row.created_at),
    seq: row.seq,
  };
}

export interface NewMessage {
  authorType: AuthorType;
  authorId: string | null;
  kind: MessageKind;
  body: string;
  card?: unknown;
}

/** Conversations and their messages; every change is published to open inboxes and messengers. */
export class ConversationService {
  constructor(
    private readonly db: Db,
    private readonly bus: LiveBus,
  ) {}

  async get(workspaceId: string, id: string): Promise<ConversationRow> {
    const row = await conversationRepository.get(this.db, workspaceId, id);
    if (!row) throw conversationError('conversation_not_found', `no conversation ${id}`, 'id');
    return row;
  }

  async start(
    workspaceId: string,
    contactId: string,
    first: NewMessage,
  ): Promise<{ conversation: ConversationRow; message: MessageRow }> {
    const out = await this.db.transaction(async (tx) => {
      const conversation = await conversationRepository.insert(
        tx,
        workspaceId,
        newId(),
        contactId,
        first.body.slice(0, 80) || null,
        // Unread for the team only when the customer wrote first: a conversation a teammate (or the system)
        // starts has nothing in it the team has not seen, as a teammate's reply leaves a conversation read.
        first.authorType === 'contact',
      );
      const message = await conversationRepository.insertMessage(tx, {
        workspace_id: workspaceId,
        id: newId(),
        conversation_id: conversation.id,
        author_type: first.authorType,
        author_id: first.authorId,
        kind: first.kind,
        body: first.body,
        card: first.card ?? null,
      });
      await conversationRepository.touchForMessage(
        tx,
        workspaceId,
        conversation.id,
        first.authorType,
        first.kind,
      );
      return { conversation, message };
    });
    this.bus.publish({
      type: 'conversation.created',
      workspace_id: workspaceId,
      conversation_id: out.conversation.id,
      contact_id: contactId,
    });
    this.publishMessage(workspaceId, contactId, out.message);
    return out;
  }

  async addMessage(workspaceId: string, conversationId: string, m: NewMessage): Promise<MessageRow> {
    const conversation = await this.get(workspaceId, conversationId);
    const message = await this.db.transaction(async (tx) => {
      const row = await conversationRepository.insertMessage(tx, {
        workspace_id: workspaceId,
        id: newId(),
        conversation_id: conversationId,
        author_type: m.authorType,
        author_id: m.authorId,
        kind: m.kind,
        body: m.body,
        card: m.card ?? null,
      });
      await conversationRepository.touchForMessage(tx, workspaceId, conversationId, m.authorType, m.kind);
      return row;
    });
    this.publishMessage(workspaceId, conversation.contact_id, message);
    return message;
  }

  async update(
    workspaceId: string,
    id: string,
    patch: Parameters<typeof conversationRepository.update>[3],
  ): Promise<ConversationRow> {
    const row = await conversationRepository.update(this.db, workspaceId, id, patch);
    if (!row) throw conversationError('conversation_not_found', `no conversation ${id}`, 'id');
    this.bus.publish({
      type: 'conversation.updated',
      workspace_id: workspaceId,
      conversation_id: id,
      contact_id: row.contact_id,
    });
    return row;
  }

  private publishMessage(workspaceId: string, contactId: string, message: MessageRow): void {
    this.bus.publish({
      type: 'message.created',
      workspace_id: workspaceId,
      conversation_id: message.conversation_id,
      contact_id: contactId,
      data: toMessage(message),
    });
  }
}
