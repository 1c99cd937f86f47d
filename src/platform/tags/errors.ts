import { defineErrors } from '../../shared/errors.ts';

export const tagError = defineErrors({ tag_not_found: 404 });
