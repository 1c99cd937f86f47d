import { z } from 'zod';

export const attributeTypes = ['string', 'number', 'boolean', 'date'] as const;
export type AttributeType = (typeof attributeTypes)[number];

export const attributeName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must start with a letter and use only a-z, 0-9 and _ (at most 64)');

/** Intercom's names for attribute types; integer and float are both numbers in Settle. */
export const intercomDataTypes = [
  'string',
  'integer',
  'float',
  'number',
  'boolean',
  'date',
  'datetime',
] as const;
export type DeclaredType = (typeof intercomDataTypes)[number];

export const createAttributeBody = z
  .strictObject({
    name: attributeName,
    /** Intercom's field; contacts are the only model Settle has. */
    model: z.literal('contact').optional(),
    data_type: z.enum(intercomDataTypes).optional(),
    /** Settle's own name for data_type. */
    type: z.enum(attributeTypes).optional(),
    label: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(1000).optional(),
  })
  .refine((b) => b.data_type !== undefined || b.type !== undefined, {
    message: 'data_type is required (string, integer, float, boolean or date)',
    path: ['data_type'],
  });

/** A definition is addressed by its name: unique in a workspace and never changed (Intercom uses integer ids). */
export const attributeIdParams = z.strictObject({ id: z.string().min(1).max(64) });

/**
 * Intercom's update fields that Settle has no use for are refused by name rather than ignored, so a script that
 * relies on them learns it at once.
 */
export const updateAttributeBody = z.strictObject({
  archived: z.boolean().optional(),
  description: z.string().max(1000).optional(),
  /** Settle's: Intercom's API cannot rename an attribute's label. */
  label: z.string().trim().min(1).max(200).optional(),
  // The messenger never writes custom attributes in Settle, so false is the only true answer.
  messenger_writable: z
    .boolean()
    .refine((v) => !v, 'the messenger cannot write custom attributes in Settle; only false is accepted')
    .optional(),
  options: z
    .unknown()
    .refine(() => false, 'Settle has no option lists for attributes; leave options out')
    .optional(),
});
export type UpdateAttributeInput = z.infer<typeof updateAttributeBody>;

export const listAttributesQuery = z.strictObject({
  model: z.literal('contact').optional(),
  include_archived: z.enum(['true', 'false']).optional(),
});

export function storedType(declared: DeclaredType): AttributeType {
  if (declared === 'integer' || declared === 'float') return 'number';
  return declared === 'datetime' ? 'date' : declared;
}

/**
 * The longest string value, in UTF-8 bytes. Every string value is a key in btree indexes (the per-attribute
 * expression indexes and the search count table), and PostgreSQL refuses an index entry over ~2,700 bytes: a
 * longer value would make the whole contact write fail with a database error instead of a clear 400.
 */
export const MAX_STRING_VALUE_BYTES = 2000;
export const stringValueFits = (s: string) => Buffer.byteLength(s, 'utf8') <= MAX_STRING_VALUE_BYTES;
const stringValueTooLong = `a string value is at most ${MAX_STRING_VALUE_BYTES} bytes of UTF-8`;

/** A value as a client sends it; checked against the attribute's type by the service. */
export const attributeValue = z.union([
  z.string().refine(stringValueFits, stringValueTooLong),
  z.number(),
  z.boolean(),
  z.null(),
]);
export const attributeValues = z.record(z.string().max(64), attributeValue);
export type AttributeValue = z.infer<typeof attributeValue>;
