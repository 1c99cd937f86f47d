import { z } from 'zod';

export const createOutboundBody = z.strictObject({
  segment_id: z.string().min(1).max(64),
  title: z.string().trim().min(1).max(200),
  body: z.string().trim().min(1).max(10_000),
});
export const outboundIdParams = z.strictObject({ id: z.string().min(1).max(64) });
