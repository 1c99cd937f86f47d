// What an object builder needs: ids, the time, the mode. Requests, the snapshot loader and the generator each
// provide one.
import type { IdSource } from './ids.ts';

export interface BuildEnv {
  ids: IdSource;
  now: number;
  livemode: boolean;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Defaults filled under a partial object (a snapshot's), recursing into nested plain objects. */
export function fill<T>(defaults: T, partial: unknown): T {
  if (!isPlain(partial) || !isPlain(defaults)) return (partial === undefined ? defaults : partial) as T;
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(partial)) {
    const d = out[k];
    out[k] = isPlain(d) && isPlain(v) && !('object' in v && v.object === 'list') ? fill(d, v) : v;
  }
  return out as T;
}

export function randomUpper(env: BuildEnv, n: number): string {
  return env
    .ids('x', n)
    .slice(2)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, 'X');
}
