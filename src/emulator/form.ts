// Stripe's SDK encodes bodies and query strings as `a[b][0][c]=v` (qs "indices" format). Values stay strings:
// the wire carries no types, and `""` means "unset", which only the resource knows how to apply.

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

const MAX_DEPTH = 8;

function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  re.lastIndex = open;
  let m: RegExpExecArray | null;
  let end = open;
  while ((m = re.exec(key)) && m.index === end) {
    parts.push(m[1] ?? '');
    end = re.lastIndex;
  }
  if (end !== key.length) parts.push(key.slice(end));
  return parts.slice(0, MAX_DEPTH + 1);
}

type Node = { [key: string]: Node | string } | string;

function assign(root: { [key: string]: Node }, path: string[], value: string): void {
  let cur: { [key: string]: Node } = root;
  for (let i = 0; i < path.length; i++) {
    let seg = path[i] ?? '';
    const last = i === path.length - 1;
    // `a[]=x` appends: give it the next free index so it reads as an array.
    if (seg === '' && i > 0) seg = String(Object.keys(cur).length);
    if (last) {
      cur[seg] = value;
      return;
    }
    const next = cur[seg];
    if (next === undefined || typeof next === 'string') {
      const created: { [key: string]: Node } = {};
      cur[seg] = created;
      cur = created;
    } else {
      cur = next;
    }
  }
}

function finish(node: Node): FormValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => finish(node[String(k)] as Node));
  }
  const out: { [key: string]: FormValue } = {};
  for (const k of keys) out[k] = finish(node[k] as Node);
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function parseForm(body: string): FormObject {
  const root: { [key: string]: Node } = {};
  if (!body) return {};
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey);
    if (!key || key === '__proto__' || key.includes('__proto__') || key.includes('constructor[')) continue;
    assign(root, splitKey(key), decode(rawValue));
  }
  return finish(root) as FormObject;
}

/** The inverse, for tests and for the checkout page's own requests. */
export function encodeForm(data: Record<string, unknown>): string {
  const pairs: string[] = [];
  const enc = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (value === null || typeof value !== 'object') {
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(value === null ? '' : String(value))}`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => enc(`${key}[${i}]`, v));
    } else {
      for (const [k, v] of Object.entries(value)) enc(`${key}[${k}]`, v);
    }
  };
  for (const [k, v] of Object.entries(data)) enc(k, v);
  return pairs.join('&');
}
