import { contactError } from './errors.ts';

/** Keyset cursors over (timestamp with microseconds, id): opaque to clients, checked when they come back. */
export function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: string; id: string } {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([^|]+)$/.exec(
    Buffer.from(cursor, 'base64url').toString(),
  );
  // A forged cursor with an impossible date would reach the query and fail it: check it parses.
  if (!m?.[1] || !m[2] || m[2].length > 64 || Number.isNaN(Date.parse(`${m[1].slice(0, 23)}Z`)))
    throw contactError('invalid_cursor', 'starting_after is not a valid cursor', 'starting_after');
  return { at: m[1], id: m[2] };
}
