import { defineErrors } from '../../shared/errors.ts';

export const appError = defineErrors({
  app_not_found: 404,
  app_not_installed: 409,
  invalid_settings: 400,
  unknown_secret: 400,
  card_not_found: 404,
  action_not_found: 404,
});
