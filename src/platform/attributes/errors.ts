import { defineErrors } from '../../shared/errors.ts';

export const attributeError = defineErrors({
  attribute_exists: 409,
  attribute_type_conflict: 409,
  unknown_attribute: 400,
  attribute_type_mismatch: 400,
  attribute_value_too_long: 400,
  attribute_read_only: 400,
  attribute_not_found: 404,
  attribute_not_archived: 409,
  attribute_in_use: 409,
});
