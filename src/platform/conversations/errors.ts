import { defineErrors } from '../../shared/errors.ts';

export const conversationError = defineErrors({
  conversation_not_found: 404,
  assignee_not_found: 400,
  snooze_requires_time: 400,
  reply_author_invalid: 400,
});
