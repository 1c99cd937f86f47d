import { defineErrors } from '../../shared/errors.ts';

export const eventError = defineErrors({ contact_required: 400 });
