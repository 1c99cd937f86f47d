import { z } from 'zod';

export const email = z.email().max(254);
export const password = z.string().min(10, 'must be at least 10 characters').max(200);

export const loginBody = z.strictObject({
  email,
  password: z.string().min(1).max(200),
  workspace_id: z.string().max(64).optional(),
});

export const createTeammateBody = z.strictObject({
  email,
  name: z.string().trim().min(1).max(200),
  role: z.enum(['admin', 'teammate']),
  password,
});

export const updateTeammateBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  role: z.enum(['admin', 'teammate']).optional(),
  disabled: z.boolean().optional(),
  password: password.optional(),
});

export const createTokenBody = z.strictObject({ name: z.string().trim().min(1).max(100) });

export const idParams = z.strictObject({ id: z.string().min(1).max(64) });
