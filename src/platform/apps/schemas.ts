import { z } from 'zod';

export const appIdParams = z.strictObject({ id: z.string().min(1).max(64) });
export const installBody = z.strictObject({ settings: z.record(z.string(), z.unknown()).optional() });
export const uninstallBody = z.strictObject({ keep_data: z.boolean() });
export const settingsBody = z.strictObject({ settings: z.record(z.string(), z.unknown()) });
export const secretParams = z.strictObject({
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(64),
});
export const secretBody = z.strictObject({ value: z.string().min(1).max(4096) });
export const cardActionParams = z.strictObject({
  contact_id: z.string().min(1).max(64),
  app: z.string().min(1).max(64),
  card: z.string().min(1).max(64),
  action: z.string().min(1).max(64),
});
export const cardActionBody = z.strictObject({ input: z.unknown().optional() });
export const appActionParams = z.strictObject({
  id: z.string().min(1).max(64),
  action: z.string().min(1).max(64),
});
export const appViewParams = z.strictObject({
  id: z.string().min(1).max(64),
  view: z.string().min(1).max(64),
});
/** The action's own schema checks the input; here it only has to be a JSON object. */
export const appActionBody = z.record(z.string(), z.unknown());
