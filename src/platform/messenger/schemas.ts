import { z } from 'zod';
import { messageBody } from '../conversations/schemas.ts';

export const bootBody = z.strictObject({
  app_id: z.string().min(1).max(64),
  /** HS256 JWT signed with the workspace's messenger secret: `user_id` required, `email`/`name` optional, `exp` honoured. */
  user_jwt: z.string().min(1).max(4096).optional(),
  /** Claiming a user without a JWT is refused; the field exists so the refusal can say why. */
  user_id: z.string().max(255).optional(),
  /** An earlier anonymous session, so a returning visitor keeps their conversations. */
  session_token: z.string().max(200).optional(),
});

export const jwtClaims = z.object({
  user_id: z.string().min(1).max(255),
  email: z.email().max(254).optional(),
  name: z.string().max(255).optional(),
});

export const sendBody = z.strictObject({ body: messageBody });
export const conversationIdParams = z.strictObject({ id: z.string().min(1).max(64) });
