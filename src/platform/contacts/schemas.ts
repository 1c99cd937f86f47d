import { z } from 'zod';
import { attributeValues } from '../attributes/schemas.ts';

const unixSeconds = z.number().int().min(0).max(253402300799);
const email = z.email().max(254);

const contactFields = {
  external_id: z.string().trim().min(1).max(255).nullable(),
  email: email.nullable(),
  name: z.string().trim().max(255).nullable(),
  phone: z.string().trim().max(64).nullable(),
  last_seen_at: unixSeconds.nullable(),
  signed_up_at: unixSeconds.nullable(),
  avatar: z.url().max(2000).nullable(),
  owner_id: z.string().max(64).nullable(),
  unsubscribed_from_emails: z.boolean(),
  custom_attributes: attributeValues,
};

/** Every field but the role is optional on create and on update; only create defaults the role. */
const optionalFields = Object.fromEntries(
  Object.entries(contactFields).map(([k, v]) => [k, v.optional()]),
) as { [K in keyof typeof contactFields]: z.ZodOptional<(typeof contactFields)[K]> };

export const createContactBody = z.strictObject({
  role: z.enum(['user', 'lead']).default('user'),
  ...optionalFields,
});
export type CreateContactInput = z.input<typeof createContactBody>;

export const updateContactBody = z.strictObject({
  role: z.enum(['user', 'lead']).optional(),
  ...optionalFields,
});
export type UpdateContactInput = z.infer<typeof updateContactBody>;

export const listContactsQuery = z.strictObject({
  per_page: z.coerce.number().int().min(1).max(150).default(50),
  starting_after: z.string().max(200).optional(),
  email: z.string().max(254).optional(),
  external_id: z.string().max(255).optional(),
});

export const contactIdParams = z.strictObject({ id: z.string().min(1).max(64) });

export const mergeContactsBody = z.strictObject({
  from: z.string().min(1).max(64),
  into: z.string().min(1).max(64),
});

export const externalIdParams = z.strictObject({ external_id: z.string().min(1).max(255) });
