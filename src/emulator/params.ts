// Reading typed values out of a parsed form body, with Stripe's error messages naming the offending param.
import { invalid, missingParam } from './errors.ts';
import type { FormObject, FormValue } from './form.ts';

export type Params = FormObject;

export function has(p: Params, name: string): boolean {
  return p[name] !== undefined;
}

/** `""` on the wire means "unset this field". */
export function isUnset(v: FormValue | undefined): boolean {
  return v === '';
}

export function str(p: Params, name: string, required = false): string | undefined {
  const v = p[name];
  if (v === undefined || v === '') {
    if (required) throw missingParam(name);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`Invalid string: ${name}`, name);
  return v;
}

export function int(p: Params, name: string, required = false): number | undefined {
  const v = str(p, name, required);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, name);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw invalid(`Invalid integer: ${v}`, name);
  return n;
}

export function num(p: Params, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalid(`Invalid decimal: ${v}`, name);
  return n;
}

export function bool(p: Params, name: string): boolean | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(`Invalid boolean: ${v}`, name);
}

export function oneOf<T extends string>(
  p: Params,
  name: string,
  values: readonly T[],
  required = false,
): T | undefined {
  const v = str(p, name, required);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw invalid(`Invalid ${name}: must be one of ${values.join(', ')}`, name);
  }
  return v as T;
}

export function obj(p: Params, name: string): Params | undefined {
  const v = p[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`Invalid object`, name);
  return v;
}

export function arr(p: Params, name: string): FormValue[] | undefined {
  const v = p[name];
  if (v === undefined || v === '') return undefined;
  if (Array.isArray(v)) return v;
  // A single object with non-numeric keys is not an array; a lone scalar is promoted for `expand=x` style callers.
  if (typeof v === 'string') return [v];
  throw invalid(`Invalid array`, name);
}

export function objArr(p: Params, name: string): Params[] | undefined {
  const a = arr(p, name);
  if (!a) return undefined;
  return a.map((v, i) => {
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`Invalid object`, `${name}[${i}]`);
    return v;
  });
}

export function strArr(p: Params, name: string): string[] | undefined {
  const a = arr(p, name);
  if (!a) return undefined;
  return a.map((v, i) => {
    if (typeof v !== 'string') throw invalid(`Invalid string`, `${name}[${i}]`);
    return v;
  });
}

export function expandParam(p: Params): string[] {
  return strArr(p, 'expand') ?? [];
}

/** Stripe's metadata semantics: keys merge, `""` deletes a key, `metadata=""` clears all. */
export function applyMetadata(current: Record<string, string>, p: Params): Record<string, string> {
  const v = p.metadata;
  if (v === undefined) return current;
  if (v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid metadata', 'metadata');
  const next = { ...current };
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalid('Invalid metadata value', `metadata[${k}]`);
    if (val === '') delete next[k];
    else {
      if (k.length > 40) throw invalid('Metadata keys can be at most 40 characters', `metadata[${k}]`);
      if (val.length > 500) throw invalid('Metadata values can be at most 500 characters', `metadata[${k}]`);
      next[k] = val;
    }
  }
  if (Object.keys(next).length > 50) throw invalid('Metadata can have at most 50 keys', 'metadata');
  return next;
}

/** Nullable string field on update: absent keeps, `""` clears, anything else sets. */
export function nullableStr(p: Params, name: string, current: string | null): string | null {
  const v = p[name];
  if (v === undefined) return current;
  if (v === '') return null;
  if (typeof v !== 'string') throw invalid(`Invalid string: ${name}`, name);
  return v;
}
