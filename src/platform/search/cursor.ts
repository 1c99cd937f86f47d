/**
 * Opaque pagination cursors. A cursor names the sort it was made for, so reusing it under another sort is a
 * clear 400 rather than a silently wrong page.
 */
import { searchError } from './errors.ts';
import type { Keyset } from './compiler.ts';
import type { Sort } from './schemas.ts';

export interface Cursor extends Keyset {
  /** The page number the cursor starts. */
  page: number;
}

export function encodeCursor(sort: Sort, c: Cursor): string {
  return Buffer.from(JSON.stringify([1, sort.field, sort.order, c.page, c.value, c.id])).toString(
    'base64url',
  );
}

export function decodeCursor(sort: Sort, raw: string, path: string): Cursor {
  const bad = (why: string) => searchError('invalid_cursor', `${path}: ${why}`, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor returned by this API');
  }
  if (!Array.isArray(parsed) || parsed.length !== 6 || parsed[0] !== 1)
    throw bad('not a cursor returned by this API');
  const [, field, order, page, value, id] = parsed as unknown[];
  if (
    typeof page !== 'number' ||
    !Number.isInteger(page) ||
    page < 2 ||
    (value !== null && typeof value !== 'string') ||
    typeof id !== 'string'
  ) {
    throw bad('not a cursor returned by this API');
  }
  if (field !== sort.field || order !== sort.order) {
    throw bad(
      `this cursor belongs to a search sorted by ${String(field)} ${String(order)}; repeat that sort`,
    );
  }
  return { page, value, id };
}
