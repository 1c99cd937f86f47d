// The JSON on the wire, without serializing a stored object twice. Backfills and benchmarks read the same stored
// objects again and again, and serializing them was most of a list page's cost. So:
// - every stored object is serialized once, when it is stored (`slot.wire`, store.ts);
// - an expanded object is that JSON with the expanded fields' values cut out and replaced by the JSON of what
//   they expand to, itself a stored object's wire JSON or spliced the same way; the text between is reused as
//   it is, so nothing off the expansion paths is serialized again;
// - the result is kept per expansion set, with the write counters of everything the expansion read, and reused
//   only while all of them are unchanged.
// A page is returned as its pieces, never joined into one string (a joined 350 KB string lands in V8's
// large-object space, fresh memory each time); server.ts copies them into a reused buffer. The cache holds strings,
// not Buffers: 350 MB of Buffers counts as external memory, and V8 starts a full GC of the whole (~1 GB) heap for
// every 64 MB of that growth, which made the first walk of a large account mostly GC.
import type { Account } from './account.ts';
import { checkDepth, depsCurrent, expand, resolve, virtualField, type Dep, type Trace } from './expand.ts';
import type { Slot, Wire } from './store.ts';

/** JSON text in pieces to write in order, and its length in UTF-8 bytes. */
export interface JsonPieces {
  pieces: string[];
  bytes: number;
}

interface CachedJson extends JsonPieces {
  deps: Dep[];
}

// Tests set EMULATOR_VERIFY_JSON_CACHE=1: every object's spliced JSON, cached or new, is then compared with a plain
// JSON.stringify of the expanded object, so the whole conformance suite checks both the splicing and that no
// write leaves a stale cache behind.
let verify = process.env.EMULATOR_VERIFY_JSON_CACHE === '1';

export function setVerifyJsonCache(on: boolean): void {
  verify = on;
}

/** Expansion paths as a tree: the fields to expand at this level, and what to expand below each. */
class Trie {
  readonly next = new Map<string, Trie>();
  readonly keys: string[] = [];
  /** No field name here that JSON would escape (splice compares names with the JSON text as they are). */
  plain = true;

  get size(): number {
    return this.keys.length;
  }

  child(key: string): Trie {
    let t = this.next.get(key);
    if (!t) {
      this.next.set(key, (t = new Trie()));
      this.keys.push(key);
      if (JSON.stringify(key).length !== key.length + 2) this.plain = false;
    }
    return t;
  }
}

/** One set of expansions (split paths), as a trie, and its cache key. */
interface Expansion {
  paths: string[][];
  trie: Trie;
  key: string;
}

function expansionOf(paths: string[][]): Expansion {
  return { paths, trie: trieOf(paths), key: paths.map((p) => p.join('.')).join('|') };
}

function trieOf(paths: string[][]): Trie {
  const root = new Trie();
  for (const segs of paths) {
    let node = root;
    for (const seg of segs) node = node.child(seg);
  }
  return root;
}

/** Collects a JSON text as pieces: stored objects' wire JSON is pushed as it is (shared, never copied); the small
 * text between (keys, punctuation, the reused parts of a spliced object) is concatenated. */
class Out {
  readonly pieces: string[] = [];
  bytes = 0;
  private text = '';

  add(s: string): void {
    this.text += s;
  }

  addWire(w: Wire): void {
    this.flush();
    this.pieces.push(w.json);
    this.bytes += w.bytes;
  }

  addAll(p: JsonPieces): void {
    this.flush();
    for (const piece of p.pieces) this.pieces.push(piece);
    this.bytes += p.bytes;
  }

  done(): JsonPieces {
    this.flush();
    return { pieces: this.pieces, bytes: this.bytes };
  }

  private flush(): void {
    if (!this.text) return;
    this.pieces.push(this.text);
    this.bytes += Buffer.byteLength(this.text);
    this.text = '';
  }
}

function storedSlot(acct: Account, value: object): Slot | undefined {
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'string') return undefined;
  const slot = acct.findSlot(id);
  return slot && slot.obj === value ? slot : undefined;
}

function resolveAll(acct: Account, v: unknown, trace: Trace | undefined): unknown {
  return Array.isArray(v) ? v.map((x) => resolve(acct, x, trace)) : resolve(acct, v, trace);
}

/** Writes the JSON of a value (already resolved) with the expansions of `trie` below it. */
function writeValue(acct: Account, value: unknown, trie: Trie, trace: Trace | undefined, out: Out): void {
  if (value === null || typeof value !== 'object') {
    out.add(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    out.add('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.add(',');
      writeValue(acct, value[i], trie, trace, out);
    }
    out.add(']');
    return;
  }
  const slot = storedSlot(acct, value);
  if (slot) {
    trace?.deps.push({ slot, version: slot.version });
    if (trie.size === 0) out.addWire(slot.wire);
    else splice(acct, value, slot.wire.json, 0, trie, trace, out);
    return;
  }
  const obj = value as Record<string, unknown>;
  // A list wrapper made by an expansion (a customer's `subscriptions`): its elements are stored objects.
  if (trie.size > 0 || obj.object === 'list') writeFields(acct, obj, trie, trace, out);
  else out.add(JSON.stringify(obj));
}

/** An object that has no JSON of its own, field by field in JSON.stringify's order, expanding the fields in
 * `trie` as expand() does (a field that exists only when expanded goes last, where expand's spread copy puts it).
 * With an empty trie (a list wrapper) the elements of `data` are looked up as stored objects. */
function writeFields(
  acct: Account,
  obj: Record<string, unknown>,
  trie: Trie,
  trace: Trace | undefined,
  out: Out,
): void {
  let first = true;
  for (const k of Object.keys(obj)) {
    const sub = trie.next.get(k);
    const v = obj[k];
    if (sub) {
      const x = v === undefined ? virtualField(acct, obj, k, trace) : v;
      if (x === undefined) continue;
      out.add(`${first ? '{' : ','}${JSON.stringify(k)}:`);
      writeValue(acct, resolveAll(acct, x, trace), sub, trace, out);
    } else if (trie.size === 0 && k === 'data' && Array.isArray(v)) {
      out.add(`${first ? '{' : ','}"data":`);
      writeValue(acct, v, trie, trace, out);
    } else {
      const json = JSON.stringify(v);
      if (json === undefined) continue;
      out.add(`${first ? '{' : ','}${JSON.stringify(k)}:${json}`);
    }
    first = false;
  }
  const wrote = writeVirtualFields(acct, obj, trie, trace, out, !first, '{');
  out.add(wrote ? '}' : '{}');
}

/** Writes the fields to expand that the object does not have (they exist only when expanded), after any written
 * before (`wrote`); the first one opens with `open`. Returns whether any field has been written. */
function writeVirtualFields(
  acct: Account,
  obj: Record<string, unknown>,
  trie: Trie,
  trace: Trace | undefined,
  out: Out,
  wrote: boolean,
  open: string,
): boolean {
  for (const [k, sub] of trie.next) {
    if (Object.hasOwn(obj, k)) continue;
    const v = virtualField(acct, obj, k, trace);
    if (v === undefined) continue;
    out.add(`${wrote ? ',' : open}${JSON.stringify(k)}:`);
    writeValue(acct, resolveAll(acct, v, trace), sub, trace, out);
    wrote = true;
  }
  return wrote;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;

/** The index just past the JSON value (as JSON.stringify writes it: no whitespace) that starts at `p`. */
function skipValue(json: string, p: number): number {
  let depth = 0;
  for (let i = p; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; json.charCodeAt(i) !== QUOTE; i++) if (json.charCodeAt(i) === BACKSLASH) i++;
      if (depth === 0) return i + 1;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      if (depth === 0) return i; // the end of a number, true, false or null, at its container's close
      if (--depth === 0) return i + 1;
    } else if (c === COMMA && depth === 0) return i;
  }
  return json.length;
}

/** Which of the trie's fields the key between `p` and `keyEnd` (quotes included) is, without copying it out:
 * most keys are compared only by length. Field names to expand are plain (no quotes or escapes). */
function expandedKey(json: string, p: number, keyEnd: number, trie: Trie): string | undefined {
  const length = keyEnd - p - 2;
  for (const k of trie.keys) if (k.length === length && json.startsWith(k, p + 1)) return k;
  return undefined;
}

/** Writes `obj` with the expansions of `trie`, from its JSON (`json` from `start`, as JSON.stringify wrote it):
 * the expanded fields' values are cut out and replaced, the text between is reused as it is. */
function splice(
  acct: Account,
  obj: object,
  json: string,
  start: number,
  trie: Trie,
  trace: Trace | undefined,
  out: Out,
): void {
  const src = obj as Record<string, unknown>;
  // (A field name that JSON escapes could not be found by expandedKey: such an expansion is built field by field.)
  if (!trie.plain) return writeFields(acct, src, trie, trace, out);
  // Once the last of the fields to expand that the object has is done, the rest of a whole object's JSON is
  // copied without looking at it.
  let wanted = 0;
  for (const k of trie.keys) if (src[k] !== undefined) wanted++;
  let at = start;
  let p = start + 1;
  let end = start + 1;
  if (wanted === 0 && start === 0) p = end = json.length - 1;
  while (json.charCodeAt(p) === QUOTE) {
    const keyEnd = skipValue(json, p);
    const valueStart = keyEnd + 1;
    const valueEnd = skipValue(json, valueStart);
    const key = expandedKey(json, p, keyEnd, trie);
    const sub = key === undefined ? undefined : trie.next.get(key);
    if (key !== undefined && sub) {
      const v = src[key];
      const x = resolveAll(acct, v, trace);
      // Unchanged (nothing to expand, or an id that resolves to nothing): the original text stays.
      if (x !== v || sub.size > 0) {
        out.add(json.slice(at, valueStart));
        // An embedded object's text is right here: splice into it rather than serializing it again.
        if (x === v && x !== null && typeof x === 'object' && !Array.isArray(x))
          splice(acct, x, json, valueStart, sub, trace, out);
        else writeValue(acct, x, sub, trace, out);
        at = valueEnd;
      }
      if (--wanted === 0 && start === 0) {
        end = json.length - 1;
        break;
      }
    }
    p = json.charCodeAt(valueEnd) === COMMA ? valueEnd + 1 : valueEnd;
    end = valueEnd;
  }
  // `end` is at the object's closing brace. Fields that exist only when expanded go last.
  out.add(json.slice(at, end));
  writeVirtualFields(acct, src, trie, trace, out, end !== start + 1, '');
  out.add('}');
}

/** Writes one object with expansions (`paths`, already split), kept in its slot when it is stored. */
function writeObject(acct: Account, obj: unknown, expansion: Expansion, out: Out): void {
  const { paths, trie, key } = expansion;
  const slot = obj !== null && typeof obj === 'object' ? storedSlot(acct, obj) : undefined;
  if (slot && trie.size === 0) {
    out.addWire(slot.wire);
    return;
  }
  // A handler may return a changed copy of a stored object: only the stored object itself is kept.
  if (!slot) {
    const own = new Out();
    writeValue(acct, obj, trie, undefined, own);
    out.addAll(checked(acct, obj, paths, own.done()));
    return;
  }
  const hit = slot.json.get(key) as CachedJson | undefined;
  if (hit && depsCurrent(hit.deps)) {
    out.addAll(checked(acct, obj, paths, hit));
    return;
  }
  // The object's own write counter too, though a write also empties `slot.json`: two locks on one door.
  const trace: Trace = { deps: [{ slot, version: slot.version }], cacheable: true };
  const own = new Out();
  writeValue(acct, obj, trie, trace, own);
  const made: CachedJson = { ...checked(acct, obj, paths, own.done()), deps: trace.deps };
  if (trace.cacheable) slot.json.set(key, made);
  out.addAll(made);
}

function checked(acct: Account, obj: unknown, paths: string[][], got: JsonPieces): JsonPieces {
  if (!verify) return got;
  const want = JSON.stringify(
    expand(
      acct,
      obj,
      paths.map((p) => p.join('.')),
    ),
  );
  if (got.pieces.join('') !== want || got.bytes !== Buffer.byteLength(want)) {
    const id = (obj as { id?: unknown } | null)?.id;
    throw new Error(
      `spliced JSON differs from JSON.stringify for ${String(id)} (expand: ${paths.join('|')})`,
    );
  }
  return got;
}

/** The JSON of an API result with `expand[]` applied. A list page is its envelope around each element's kept
 * JSON pieces. */
export function renderJson(acct: Account, result: unknown, paths: string[]): JsonPieces {
  checkDepth(paths);
  const list = result as { object?: unknown; data?: unknown } | null;
  const isList = (list?.object === 'list' || list?.object === 'search_result') && Array.isArray(list.data);
  const out = new Out();
  if (!isList) {
    writeObject(acct, result, expansionOf(paths.map((p) => p.split('.'))), out);
    return out.done();
  }
  if (!paths.every((p) => p.startsWith('data.'))) {
    const json = JSON.stringify(expand(acct, result, paths));
    return { pieces: [json], bytes: Buffer.byteLength(json) };
  }
  const inner = expansionOf(paths.map((p) => p.split('.').slice(1)));
  const shell = JSON.stringify({ ...list, data: [] });
  const at = shell.indexOf('"data":[]') + '"data":['.length;
  out.add(shell.slice(0, at));
  const data = list.data as unknown[];
  for (let i = 0; i < data.length; i++) {
    if (i > 0) out.add(',');
    writeObject(acct, data[i], inner, out);
  }
  out.add(shell.slice(at));
  return out.done();
}
