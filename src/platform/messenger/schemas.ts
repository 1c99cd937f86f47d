import { z } from 'zod';
import { messageBody } from '../conversations/schemas.ts';

export const bootBody = z.strictObject({
  app_id: z.string().min(1).max(64),
  /** HS256 JWT signed with the workspace's messenger secret: `user_id` required, `email`/`name` optional, `exp` honoured. */
  /** 16 KB: room for a long non-Latin name (cut to its cap once verified), still a bound on what is verified. */
  user_jwt: z.string().min(1).max(16_384).optional(),
  /** Claiming a user without a JWT is refused; the field exists so the refusal can say why. */
  user_id: z.string().max(255).optional(),
  /** An earlier anonymous session, so a returning visitor keeps their conversations. */
  session_token: z.string().max(200).optional(),
});

/** Caps of the optional profile claims; a verified JWT over them is fitted, not refused (profile-claims.ts). */
export const JWT_NAME_MAX = 255;
export const JWT_EMAIL_MAX = 254;

export const jwtClaims = z.object({
  user_id: z.string().min(1).max(255),
  email: z.email().max(JWT_EMAIL_MAX).optional(),
  name: z.string().max(JWT_NAME_MAX).optional(),
});

export const sendBody = z.strictObject({ body: messageBody });
export const conversationIdParams = z.strictObject({ id: z.string().min(1).max(64) });
