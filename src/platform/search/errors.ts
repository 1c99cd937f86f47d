import { defineErrors } from '../../shared/errors.ts';

export const searchError = defineErrors({
  // Same code as the router's schema errors, so a client sees one code for every malformed query.
  invalid_request: 400,
  unknown_attribute: 400,
  invalid_cursor: 400,
  segment_not_found: 404,
  segment_name_taken: 409,
});
