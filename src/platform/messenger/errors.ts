import { defineErrors } from '../../shared/errors.ts';

export const messengerError = defineErrors({
  unknown_app: 404,
  identity_verification_required: 401,
  invalid_user_jwt: 401,
  conversation_not_found: 404,
});
