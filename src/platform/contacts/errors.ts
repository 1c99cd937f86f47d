import { defineErrors } from '../../shared/errors.ts';

export const contactError = defineErrors({
  contact_not_found: 404,
  external_id_taken: 409,
  identity_required: 400,
  merge_invalid: 400,
  invalid_cursor: 400,
});
