/**
 * Verification of Stripe's `Stripe-Signature` header (DESIGN.md §3.6), on the raw body bytes: HMAC-SHA256 over
 * `${t}.${rawBody}` with the endpoint's signing secret, accepted when any `v1=` value matches (Stripe sends several
 * while a secret is being rolled), compared in constant time, within a tolerance of the injected clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed_header' | 'no_signature' | 'bad_signature' | 'stale' };

export interface VerifyOptions {
  /** The header as the HTTP layer hands it (a repeated header arrives as an array and is refused). */
  header: string | readonly string[] | undefined;
  rawBody: Buffer | Uint8Array | string;
  secret: string;
  /** Unix seconds. */
  now: number;
  toleranceSeconds?: number;
}

function hmacHex(secret: string, timestamp: string, rawBody: Buffer | Uint8Array | string): string {
  // The signed bytes are `t`, a dot, then the body exactly as received: never a re-serialised JSON.
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest('hex');
}

interface ParsedHeader {
  timestamp: string;
  v1: string[];
}

/** `t=…,v1=…,v1=…,v0=…`; unknown schemes (v0, future ones) are ignored, as Stripe's own libraries do. */
function parseHeader(header: string): ParsedHeader | undefined {
  let timestamp: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = value;
    } else if (key === 'v1') {
      v1.push(value);
    }
  }
  return timestamp === undefined ? undefined : { timestamp, v1 };
}

/**
 * The signature is checked before the timestamp, so a forged request is reported as `bad_signature` whatever its
 * age and `stale` means "authentic but outside the window" (a replay). The window is symmetric: a timestamp more
 * than the tolerance in the future is refused too, since Stripe never signs ahead of its clock by minutes.
 */
export function verifyStripeSignature(options: VerifyOptions): SignatureResult {
  const raw = options.header;
  if (raw === undefined || (typeof raw !== 'string' && raw.length !== 1))
    return { ok: false, reason: 'malformed_header' };
  const header = typeof raw === 'string' ? raw : (raw[0] ?? '');
  const parsed = parseHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed_header' };
  if (parsed.v1.length === 0) return { ok: false, reason: 'no_signature' };

  const expected = Buffer.from(hmacHex(options.secret, parsed.timestamp, options.rawBody), 'hex');
  const matches = parsed.v1.some((candidate) => {
    if (!/^[0-9a-f]{64}$/i.test(candidate)) return false;
    return timingSafeEqual(expected, Buffer.from(candidate, 'hex'));
  });
  if (!matches) return { ok: false, reason: 'bad_signature' };

  const timestamp = Number(parsed.timestamp);
  const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(options.now - timestamp) > tolerance) return { ok: false, reason: 'stale' };
  return { ok: true, timestamp };
}

/** A `Stripe-Signature` header for `payload`, as Stripe would send it: for tests and the emulator. */
export function signPayload(options: {
  payload: Buffer | Uint8Array | string;
  secret: string;
  timestamp: number;
}): string {
  const t = String(Math.floor(options.timestamp));
  return `t=${t},v1=${hmacHex(options.secret, t, options.payload)}`;
}
