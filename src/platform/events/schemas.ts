import { z } from 'zod';

// Intercom's metadata: scalars, a rich link {url, value} or a monetary amount {amount (cents), currency}.
const metadataValue = z.union([
  z.string().max(2000),
  z.number(),
  z.boolean(),
  z.null(),
  z.strictObject({ url: z.url().max(2000), value: z.string().max(2000) }),
  z.strictObject({ amount: z.number().int(), currency: z.string().min(3).max(3) }),
]);

export const eventName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.\- ]+$/, 'may contain letters, digits, space, _ . and -');

export const createEventBody = z.strictObject({
  event_name: eventName,
  created_at: z.number().int().min(0).max(253402300799).optional(),
  contact_id: z.string().min(1).max(64).optional(),
  /** Intercom's name for the contact id. */
  id: z.string().min(1).max(64).optional(),
  user_id: z.string().min(1).max(255).optional(),
  email: z.email().max(254).optional(),
  metadata: z.record(z.string().max(128), metadataValue).optional(),
  /** Repeating a write with the same key records nothing new. */
  idempotency_key: z.string().min(1).max(255).optional(),
});
export type CreateEventInput = z.infer<typeof createEventBody>;

export const listEventsQuery = z.strictObject({
  per_page: z.coerce.number().int().min(1).max(150).default(50),
});

/** Intercom's `GET /events`: one of user_id, intercom_user_id or email names the contact. */
export const listUserEventsQuery = z.strictObject({
  type: z.literal('user'),
  user_id: z.string().max(255).optional(),
  intercom_user_id: z.string().max(64).optional(),
  email: z.string().max(254).optional(),
  summary: z.enum(['true', 'false']).optional(),
  per_page: z.coerce.number().int().min(1).max(150).default(50),
});
