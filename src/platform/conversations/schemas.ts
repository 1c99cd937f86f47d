import { z } from 'zod';

export const messageBody = z.string().trim().min(1, 'must not be empty').max(20_000);

export const listConversationsQuery = z.strictObject({
  state: z.enum(['open', 'snoozed', 'closed', 'all']).default('all'),
  assignee_id: z.string().max(64).optional(),
  contact_id: z.string().max(64).optional(),
  per_page: z.coerce.number().int().min(1).max(150).default(50),
  starting_after: z.string().max(200).optional(),
});

/**
 * A reply. Intercom's shape: `message_type` (comment | note), `type` (admin | user: who writes), `admin_id` or the
 * user's `intercom_user_id` / `user_id` / `email`. Settle's short form `{type: 'comment' | 'note', body}` is a
 * teammate's reply.
 */
export const replyBody = z.strictObject({
  message_type: z.enum(['comment', 'note']).optional(),
  type: z.enum(['comment', 'note', 'admin', 'user']).default('admin'),
  admin_id: z.string().min(1).max(64).optional(),
  intercom_user_id: z.string().min(1).max(64).optional(),
  user_id: z.string().min(1).max(255).optional(),
  email: z.string().max(254).optional(),
  body: messageBody,
});
export type ReplyInput = z.infer<typeof replyBody>;

export const stateBody = z.strictObject({
  state: z.enum(['open', 'snoozed', 'closed']),
  snoozed_until: z.number().int().min(0).max(253402300799).optional(),
});

export const assignBody = z.strictObject({ assignee_id: z.string().min(1).max(64).nullable() });

export const conversationIdParams = z.strictObject({ id: z.string().min(1).max(64) });

export const createConversationBody = z.strictObject({
  contact_id: z.string().min(1).max(64),
  body: messageBody,
});

/** Intercom's retrieve options; Settle always answers in plain text, so they change nothing. */
export const retrieveConversationQuery = z.strictObject({
  display_as: z.enum(['plaintext', 'html']).optional(),
  include_translations: z.enum(['true', 'false']).optional(),
});
