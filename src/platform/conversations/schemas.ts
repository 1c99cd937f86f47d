import { z } from 'zod';

export const messageBody = z.string().trim().min(1, 'must not be empty').max(20_000);

export const listConversationsQuery = z.strictObject({
  state: z.enum(['open', 'snoozed', 'closed', 'all']).default('open'),
  assignee_id: z.string().max(64).optional(),
  contact_id: z.string().max(64).optional(),
  per_page: z.coerce.number().int().min(1).max(150).default(50),
  starting_after: z.string().max(200).optional(),
});

export const replyBody = z.strictObject({
  type: z.enum(['comment', 'note']).default('comment'),
  body: messageBody,
});

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
