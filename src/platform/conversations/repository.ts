import type { Queryable } from '../../db/client.ts';
import { cursorAt } from '../contacts/repository.ts';

export type ConversationState = 'open' | 'snoozed' | 'closed';
export type AuthorType = 'contact' | 'teammate' | 'agent' | 'system';
export type MessageKind = 'comment' | 'note' | 'card';

export interface ConversationRow {
  workspace_id: string;
  id: string;
  contact_id: string;
  title: string | null;
  state: ConversationState;
  snoozed_until: Date | null;
  assignee_id: string | null;
  team_unread: boolean;
  contact_unread: number;
  created_at: Date;
  updated_at: Date;
  last_message_at: Date;
}

export interface MessageRow {
  workspace_id: string;
  id: string;
  conversation_id: string;
  author_type: AuthorType;
  author_id: string | null;
  kind: MessageKind;
  body: string;
  card: unknown;
  created_at: Date;
  seq: number;
}

export const conversationRepository = {
  async insert(
    db: Queryable,
    workspaceId: string,
    id: string,
    contactId: string,
    title: string | null,
    teamUnread: boolean,
  ): Promise<ConversationRow> {
    const res = await db.query<ConversationRow>(
      `INSERT INTO conversations (workspace_id, id, contact_id, title, team_unread)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [workspaceId, id, contactId, title, teamUnread],
    );
    return res.rows[0] as ConversationRow;
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<ConversationRow | undefined> {
    const res = await db.query<ConversationRow>(
      'SELECT * FROM conversations WHERE workspace_id = $1 AND id = $2',
      [workspaceId, id],
    );
    return res.rows[0];
  },
  async list(
    db: Queryable,
    workspaceId: string,
    f: {
      state?: ConversationState;
      assigneeId?: string;
      contactId?: string;
      limit: number;
      before?: { at: string; id: string };
    },
  ): Promise<
    (ConversationRow & {
      contact_name: string | null;
      contact_email: string | null;
      contact_external_id: string | null;
      last_body: string | null;
      cursor_at: string;
    })[]
  > {
    const res = await db.query<
      ConversationRow & {
        contact_name: string | null;
        contact_email: string | null;
        contact_external_id: string | null;
        last_body: string | null;
        cursor_at: string;
      }
    >(
      `SELECT c.*, ct.name AS contact_name, ct.email AS contact_email, ct.external_id AS contact_external_id,
         ${cursorAt('c.last_message_at')} AS cursor_at,
         (SELECT m.body FROM messages m WHERE m.workspace_id = c.workspace_id AND m.conversation_id = c.id AND m.kind <> 'note'
          ORDER BY m.seq DESC LIMIT 1) AS last_body
       FROM conversations c JOIN contacts ct ON ct.workspace_id = c.workspace_id AND ct.id = c.contact_id
       WHERE c.workspace_id = $1 AND ($2::text IS NULL OR c.state = $2) AND ($3::text IS NULL OR c.assignee_id = $3)
         AND ($4::text IS NULL OR c.contact_id = $4)
         AND ($5::timestamptz IS NULL OR (c.last_message_at, c.id) < ($5::timestamptz, $6::text))
       ORDER BY c.last_message_at DESC, c.id DESC LIMIT $7`,
      [
        workspaceId,
        f.state ?? null,
        f.assigneeId ?? null,
        f.contactId ?? null,
        f.before?.at ?? null,
        f.before?.id ?? null,
        f.limit,
      ],
    );
    return res.rows;
  },
  async update(
    db: Queryable,
    workspaceId: string,
    id: string,
    patch: {
      state?: ConversationState;
      snoozed_until?: Date | null;
      assignee_id?: string | null;
      team_unread?: boolean;
    },
  ): Promise<ConversationRow | undefined> {
    const res = await db.query<ConversationRow>(
      `UPDATE conversations SET
         state = COALESCE($3, state),
         snoozed_until = CASE WHEN $4::boolean THEN $5::timestamptz ELSE snoozed_until END,
         assignee_id = CASE WHEN $6::boolean THEN $7::text ELSE assignee_id END,
         team_unread = COALESCE($8, team_unread),
         updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [
        workspaceId,
        id,
        patch.state ?? null,
        patch.snoozed_until !== undefined,
        patch.snoozed_until ?? null,
        patch.assignee_id !== undefined,
        patch.assignee_id ?? null,
        patch.team_unread ?? null,
      ],
    );
    return res.rows[0];
  },
  /** A message from the contact reopens the conversation and marks it unread for the team; one from the team counts
   * as unread for the contact. Notes change neither. */
  async touchForMessage(
    db: Queryable,
    workspaceId: string,
    id: string,
    author: AuthorType,
    kind: MessageKind,
  ): Promise<void> {
    await db.query(
      `UPDATE conversations SET last_message_at = now(), updated_at = now(),
         team_unread = CASE WHEN $3 = 'contact' THEN true ELSE team_unread END,
         state = CASE WHEN $3 = 'contact' THEN 'open' ELSE state END,
         snoozed_until = CASE WHEN $3 = 'contact' THEN NULL ELSE snoozed_until END,
         contact_unread = CASE WHEN $3 <> 'contact' AND $4 <> 'note' THEN contact_unread + 1 ELSE contact_unread END
       WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, author, kind],
    );
  },
  async markReadByContact(db: Queryable, workspaceId: string, id: string): Promise<void> {
    await db.query('UPDATE conversations SET contact_unread = 0 WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ]);
  },
  async insertMessage(
    db: Queryable,
    m: Pick<
      MessageRow,
      'workspace_id' | 'id' | 'conversation_id' | 'author_type' | 'author_id' | 'kind' | 'body' | 'card'
    >,
  ): Promise<MessageRow> {
    const res = await db.query<MessageRow>(
      `INSERT INTO messages (workspace_id, id, conversation_id, author_type, author_id, kind, body, card)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        m.workspace_id,
        m.id,
        m.conversation_id,
        m.author_type,
        m.author_id,
        m.kind,
        m.body,
        m.card === undefined || m.card === null ? null : JSON.stringify(m.card),
      ],
    );
    return res.rows[0] as MessageRow;
  },
  async listMessages(
    db: Queryable,
    workspaceId: string,
    conversationId: string,
    opts: { includeNotes: boolean; afterSeq?: number },
  ): Promise<MessageRow[]> {
    const res = await db.query<MessageRow>(
      `SELECT * FROM messages WHERE workspace_id = $1 AND conversation_id = $2 AND ($3 OR kind <> 'note') AND seq > $4
       ORDER BY seq LIMIT 500`,
      [workspaceId, conversationId, opts.includeNotes, opts.afterSeq ?? 0],
    );
    return res.rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  },
};
