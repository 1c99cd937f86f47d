import { z } from 'zod';

export const attributeTypes = ['string', 'number', 'boolean', 'date'] as const;
export type AttributeType = (typeof attributeTypes)[number];

export const attributeName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must start with a letter and use only a-z, 0-9 and _ (at most 64)');

export const createAttributeBody = z.strictObject({
  name: attributeName,
  type: z.enum(attributeTypes),
  label: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(1000).optional(),
});

/** A value as a client sends it; checked against the attribute's type by the service. */
export const attributeValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
export const attributeValues = z.record(z.string().max(64), attributeValue);
export type AttributeValue = z.infer<typeof attributeValue>;
