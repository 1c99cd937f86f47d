import { z } from 'zod';

export const tagName = z.string().trim().min(1).max(100);
/** Intercom's create-or-update: with `id` it renames that tag. */
export const createTagBody = z.strictObject({ name: tagName, id: z.string().min(1).max(64).optional() });
export const tagIdParams = z.strictObject({ id: z.string().min(1).max(64) });
export const contactTagBody = z.strictObject({ id: z.string().min(1).max(64) });
export const contactTagParams = z.strictObject({
  contact_id: z.string().min(1).max(64),
  tag_id: z.string().min(1).max(64),
});
export const contactIdOnly = z.strictObject({ contact_id: z.string().min(1).max(64) });
