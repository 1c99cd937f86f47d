/**
 * The optional profile claims of a verified user_jwt, fitted to the caps of `jwtClaims` (schemas.ts). The host app's
 * data is not the customer's to fix: an over-long name must not keep them out of the messenger (Intercom accepts
 * it), so it is cut instead of refusing the session. Identity claims (`user_id`) are never touched: they are
 * checked as before and a bad one is still refused.
 */
import { z } from 'zod';
import { JWT_EMAIL_MAX, JWT_NAME_MAX } from './schemas.ts';

/**
 * A profile claim fitted: cut (a long `name`) or left out (a long or malformed `email`, a `name` that is not text),
 * and why. Never the value: it is the customer's data.
 */
export interface FittedClaim {
  field: string;
  action: 'cut' | 'dropped';
  why: string;
  limit?: number;
}

const validEmail = z.email();

// The caps are `jwtClaims`'s, counted as zod counts them (UTF-16 code units).

/** Cuts to at most `max` UTF-16 code units without splitting a surrogate pair (an emoji, a rare CJK character). */
export function cutToLength(value: string, max: number): string {
  if (value.length <= max) return value;
  const code = value.charCodeAt(max - 1);
  // A high surrogate as the last unit kept would leave half a character (and invalid UTF-8 in the database).
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return value.slice(0, end);
}

/**
 * Returns the payload with over-long profile claims fitted, and which ones were. Only called once the signature
 * and `exp` are verified. An over-long `email` is left out rather than cut: a cut address is someone else's, and
 * the boot links a user to an existing contact by email (no valid address is over 254 characters anyway).
 */
export function fitProfileClaims(payload: Record<string, unknown>): {
  payload: Record<string, unknown>;
  fitted: FittedClaim[];
} {
  const out = { ...payload };
  const fitted: FittedClaim[] = [];
  if (out.name !== undefined && typeof out.name !== 'string') {
    delete out.name;
    fitted.push({ field: 'name', action: 'dropped', why: 'is not a string' });
  } else if (typeof out.name === 'string' && out.name.length > JWT_NAME_MAX) {
    out.name = cutToLength(out.name, JWT_NAME_MAX);
    fitted.push({
      field: 'name',
      action: 'cut',
      why: `is over ${JWT_NAME_MAX} characters`,
      limit: JWT_NAME_MAX,
    });
  }
  if (out.email !== undefined) {
    // A malformed address cannot be mended either: the session goes on without it, as a user with no email.
    if (typeof out.email === 'string' && out.email.length > JWT_EMAIL_MAX) {
      delete out.email;
      fitted.push({
        field: 'email',
        action: 'dropped',
        why: `is over ${JWT_EMAIL_MAX} characters`,
        limit: JWT_EMAIL_MAX,
      });
    } else if (!validEmail.safeParse(out.email).success) {
      delete out.email;
      fitted.push({ field: 'email', action: 'dropped', why: 'is not an email address' });
    }
  }
  return { payload: out, fitted };
}
