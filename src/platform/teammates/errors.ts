import { defineErrors } from '../../shared/errors.ts';

export const teammateError = defineErrors({
  invalid_credentials: 401,
  login_rate_limited: 429,
  ambiguous_email: 400,
  teammate_not_found: 404,
  teammate_email_taken: 409,
  last_admin: 409,
  token_not_found: 404,
});
