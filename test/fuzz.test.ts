// Thousands of generated bad requests across every route, each sent with a credential the route admits (so it
// exercises validation, not authorization). Every one must get a 4xx with `{error: {code, message, path?}}` that
// names the faulty field; none may get a 5xx; the server must be healthy afterwards. Seeded: set FUZZ_SEED to
// replay a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { mulberry32 } from '../src/shared/random.ts';
import { fixtureRegistry } from './helpers/fixture-app.ts';
import { createHarness, type Harness, type Role } from './helpers/harness.ts';
import { allowedRoles, createWorld, routeKey, sampleFor, type World } from './helpers/route-samples.ts';

const TOTAL = 5200;
const BODY_LIMIT = 256 * 1024;

/** The fuzzer's draws, from one seed (the seed is printed, so a failure can be replayed). */
function prng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}
type Rng = ReturnType<typeof prng>;

interface Route {
  method: string;
  url: string;
  access: readonly string[];
}

interface FuzzCase {
  category: string;
  role: Role;
  method: string;
  url: string;
  payload?: string;
  headers: Record<string, string>;
  /** The path the error must name when it is a validation error (400/413/415). */
  path?: string | RegExp;
  /** Some faults (a made-up id) may be answered 404 rather than 400. */
  notFoundOk?: boolean;
}

/** Fields whose value is the app's business (passed through to it), so any JSON value is valid there. */
const freeForm = new Set(['input']);

const junkStrings = [
  '\ud800',
  '\udfff\ud800',
  '\uffff\ufffe',
  '\u202e\u202d gnp.exe',
  'Z̷̢̛̘̖̓a̶̧̤̐l̵̨̘̓g̶̣̈o̷͚̕',
  '💥🔥\u200d\u200b\u2060',
  '<script>alert(1)</script>',
  "'; DROP TABLE contacts; --",
  '${jndi:ldap://x}',
  '%00%ff',
  '\\u0000',
  '\r\n\t\f\v',
  'ｆｕｌｌｗｉｄｔｈ',
];
const unknownNames = [
  'zz_unknown',
  'isAdmin',
  'role_override',
  '__proto_x',
  'workspace_id_x',
  'éclair',
  'a'.repeat(80),
];
const malformedJson = [
  '{',
  '{"a":1',
  '{"a":1,}',
  "{'a':1}",
  '[1,2',
  'nul',
  'tru',
  '{"a":undefined}',
  '{"a":1}}',
  '"unterminated',
  '{"a":NaN}',
  '{"a":0x10}',
  '{"a":.5}',
  '\u0000',
  '{"a":"\\x41"}',
  '{"a":"\\ud800"',
  '{,}',
  '}{',
];
const badIds = [
  'x'.repeat(65),
  'y'.repeat(300),
  '%00',
  'a%00b',
  '%ff%fe',
  encodeURIComponent('💥\u202e'),
  '..%2F..%2Fetc%2Fpasswd',
  encodeURIComponent("1' OR '1'='1"),
  '-1',
  '0',
  '1e999',
  '99999999999999999999999',
  '9223372036854775808',
  '1.5',
  'null',
  '%20',
];
const wrongContentTypes = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'image/png',
  'application/octet-stream',
  'application/jsonx',
  'text/json-ish',
];

/** URL-encodes junk; a lone surrogate has no UTF-8 form, so it goes as the invalid bytes of one instead. */
function encodeJunk(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function wrongTypes(value: unknown): unknown[] {
  if (typeof value === 'string') return [123, -1.5, true, false, [], {}, ['x'], { a: 'x' }];
  if (typeof value === 'number') return ['12', '', true, [], {}, [1]];
  if (typeof value === 'boolean') return ['true', 1, 0, [], {}];
  if (Array.isArray(value)) return ['x', 1, true, {}];
  if (value && typeof value === 'object') return ['x', 1, true, [], [value]];
  return [];
}

const fieldPath = (k: string) => new RegExp(`^${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[.[])`);

function generate(
  rng: Rng,
  route: Route,
  role: Role,
  sample: { url: string; payload?: unknown; headers?: Record<string, string> },
): FuzzCase {
  const isWebhook = route.url.startsWith('/webhooks/');
  const json = { 'content-type': 'application/json' };
  const body =
    sample.payload && typeof sample.payload === 'object' && !Array.isArray(sample.payload)
      ? (sample.payload as Record<string, unknown>)
      : undefined;
  const fields = body ? Object.keys(body).filter((k) => !freeForm.has(k)) : [];
  const stringFields = fields.filter((k) => typeof body?.[k] === 'string');
  const numberFields = fields.filter((k) => typeof body?.[k] === 'number');
  const hasQuery = sample.url.includes('?');
  const paramNames = [...route.url.matchAll(/:([a-z_]+)/g)].map((m) => m[1] as string);
  const base = { role, method: route.method, url: sample.url, headers: { ...sample.headers } };
  const withBody = (b: unknown): Pick<FuzzCase, 'payload' | 'headers'> => ({
    payload: JSON.stringify(b),
    headers: { ...json },
  });

  // A GET's body has no meaning in HTTP and is ignored, so GETs are fuzzed through their URL only.
  const categories: string[] = ['unknown_query'];
  if (route.method !== 'GET') categories.push('bad_body_shape', 'malformed_json', 'oversize');
  if (route.method !== 'GET' && !isWebhook) categories.push('wrong_content_type');
  if (fields.length) categories.push('wrong_type', 'unknown_field', 'deep_nesting');
  if (stringFields.length) categories.push('huge_string', 'unicode_nul', 'unicode_junk');
  if (numberFields.length) categories.push('number_out_of_range');
  if (paramNames.length) categories.push('bad_id', 'bad_id');
  if (hasQuery) categories.push('bad_query_value', 'bad_query_value');
  if (isWebhook) categories.push('webhook_forgery', 'webhook_forgery');
  const category = rng.pick(categories);

  switch (category) {
    case 'unknown_query': {
      const name = rng.pick(['zz', 'debug', 'per_page[]', 'callback', 'admin', '__proto__']);
      const sep = sample.url.includes('?') ? '&' : '?';
      return {
        ...base,
        category,
        url: `${sample.url}${sep}${encodeURIComponent(name)}=${encodeJunk(rng.pick(junkStrings))}`,
        ...(body ? withBody(body) : {}),
        path: isWebhook ? undefined : `query.${name}`,
      };
    }
    case 'bad_body_shape': {
      const shapes: unknown[] = body
        ? [null, [], 42, 'str', true, false, [body], 0]
        : [{ a: 1 }, [1], 42, 'str', true, [], [{}]];
      const shape = rng.pick(shapes);
      if (isWebhook) return { ...base, category, ...withBody(shape) };
      return { ...base, category, ...withBody(shape), path: 'body' };
    }
    case 'malformed_json': {
      const full = JSON.stringify(body ?? { a: 1 });
      const text = rng.next() < 0.5 ? rng.pick(malformedJson) : full.slice(0, rng.int(1, full.length - 1));
      return { ...base, category, payload: text, headers: { ...json }, path: isWebhook ? undefined : 'body' };
    }
    case 'oversize': {
      const limit = isWebhook ? 1024 * 1024 : BODY_LIMIT;
      const pad = 'x'.repeat(limit + rng.int(1, 4096));
      return { ...base, category, ...withBody({ ...body, [fields[0] ?? 'padding']: pad }), path: 'body' };
    }
    case 'wrong_content_type': {
      const ct = rng.pick(wrongContentTypes);
      return {
        ...base,
        category,
        payload: body ? JSON.stringify(body) : 'a=1',
        headers: { 'content-type': ct },
        path: 'body',
      };
    }
    case 'wrong_type': {
      const k = rng.pick(fields);
      const v = rng.pick(wrongTypes(body?.[k]));
      return { ...base, category, ...withBody({ ...body, [k]: v }), path: fieldPath(k) };
    }
    case 'unknown_field': {
      const k = rng.pick(unknownNames);
      const v = rng.pick<unknown>([1, 'x', null, true, {}, [], { nested: { deeper: 1 } }]);
      return { ...base, category, ...withBody({ ...body, [k]: v }), path: k };
    }
    case 'deep_nesting': {
      const k = rng.pick(fields);
      const depth = rng.int(100, 5000);
      const nested =
        rng.next() < 0.5
          ? '['.repeat(depth) + ']'.repeat(depth)
          : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const others = JSON.stringify({ ...body, [k]: 0 }).replace(`"${k}":0`, `"${k}":${nested}`);
      return { ...base, category, payload: others, headers: { ...json }, path: fieldPath(k) };
    }
    case 'huge_string': {
      const k = rng.pick(stringFields);
      const s = rng.pick(['x', 'é', '💥', 'a b']).repeat(rng.int(20_001, 30_000));
      return { ...base, category, ...withBody({ ...body, [k]: s }), path: fieldPath(k) };
    }
    case 'unicode_nul': {
      // PostgreSQL text cannot hold NUL or lone surrogates: such input must be refused, not crash a query.
      const k = rng.pick(stringFields);
      const s = `${String(body?.[k]).slice(0, 10)}${rng.pick(['\u0000', '\ud800', '\udfff', 'a\udc00b'])}${rng.pick(junkStrings)}`;
      return { ...base, category, ...withBody({ ...body, [k]: s }), path: fieldPath(k) };
    }
    case 'unicode_junk': {
      // Odd but possibly valid text: any answer but a 5xx will do.
      const k = rng.pick(stringFields);
      const s = rng.pick(junkStrings) + rng.pick(junkStrings);
      const c: FuzzCase = { ...base, category, ...withBody({ ...body, [k]: s }) };
      return { ...c, category: 'unicode_junk(any)' };
    }
    case 'number_out_of_range': {
      const k = rng.pick(numberFields);
      const v = rng.pick([1e13, -1, 1.5, 1e308, -1e308, 2 ** 63, 253402300800]);
      return { ...base, category, ...withBody({ ...body, [k]: v }), path: fieldPath(k) };
    }
    case 'bad_id': {
      const name = rng.pick(paramNames);
      const bad = rng.pick(badIds);
      // Substitute the chosen param in the sample's concrete URL by position.
      const routeParts = route.url.split('?')[0]!.split('/');
      const [samplePath, query] = sample.url.split('?');
      const parts = samplePath!.split('/');
      const i = routeParts.indexOf(`:${name}`);
      parts[i] = bad;
      return {
        ...base,
        category,
        url: parts.join('/') + (query ? `?${query}` : ''),
        ...(body ? withBody(body) : {}),
        // The router refuses undecodable URLs before it knows the param: it names `params`.
        path: new RegExp(`^((params\\.)?${name}|params)$`),
        notFoundOk: true,
      };
    }
    case 'bad_query_value': {
      const [p, q] = sample.url.split('?');
      const params = new URLSearchParams(q);
      const keys = [...params.keys()];
      const k = rng.pick(keys.length ? keys : ['per_page']);
      const values: Record<string, string[]> = {
        per_page: [
          'abc',
          '0',
          '-1',
          '1e9',
          '1.5',
          '',
          '100000',
          '99999999999999999999',
          ' ',
          'Infinity',
          'NaN',
        ],
        state: ['bogus', '', 'OPEN', 'open ', '[]'],
        status: ['bogus', '', 'DEAD', 'dead\u0000'],
      };
      const v = rng.pick(values[k] ?? ['x'.repeat(300)]);
      params.set(k, v);
      return { ...base, category, url: `${p}?${params.toString()}`, path: `query.${k}` };
    }
    case 'webhook_forgery': {
      const forged = rng.pick<Record<string, string>>([
        { 'x-example-signature': 'deadbeef' },
        { 'x-example-signature': '' },
        {},
        { 'x-example-signature': sample.headers?.['x-example-signature'] ?? '' }, // a replayed signature, other body
      ]);
      return {
        ...base,
        category,
        payload: JSON.stringify({ id: `evt_${rng.int(0, 1e9)}`, contact_id: 'someone' }),
        headers: { 'content-type': rng.pick(['application/json', 'text/plain']), ...forged },
      };
    }
  }
  throw new Error(`no generator for ${category}`);
}

interface Failure {
  category: string;
  request: string;
  status: number;
  body: string;
  why: string;
  log?: string | undefined;
}

function check(c: FuzzCase, status: number, text: string): string | undefined {
  if (status >= 500) return '5xx';
  if (status < 400) return 'accepted an invalid request';
  if (status === 404 && !c.notFoundOk && c.category !== 'webhook_forgery')
    return '404 for a validation fault';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  const err = (parsed as { error?: Record<string, unknown> }).error;
  if (!err || typeof err.code !== 'string' || typeof err.message !== 'string')
    return 'no {error: {code, message}}';
  if (err.path !== undefined && typeof err.path !== 'string') return 'path is not a string';
  const extra = Object.keys(parsed as object).filter((k) => k !== 'error');
  if (extra.length) return `unexpected keys ${extra.join(',')}`;
  if (c.path && [400, 413, 415].includes(status)) {
    const p = typeof err.path === 'string' ? err.path : '';
    const ok = typeof c.path === 'string' ? p === c.path : c.path.test(p);
    if (!ok) return `path ${JSON.stringify(err.path)} does not name ${String(c.path)}`;
  }
  return undefined;
}

describe.each(dbKinds())('fuzzing every route on %s', (kind) => {
  let h: Harness;
  let w: World;
  const seed = Number(process.env.FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);

  beforeAll(async () => {
    h = await createHarness(kind, { registry: fixtureRegistry });
    w = await createWorld(h);
  });
  afterAll(async () => h?.close());

  it(
    `answers ${TOTAL} bad requests with a 4xx naming the fault, and stays healthy`,
    { timeout: 300_000 },
    async () => {
      console.log(`fuzz seed ${seed} (${kind}); replay with FUZZ_SEED=${seed}`);
      const rng = prng(seed);
      const routes = h.platform.routeCatalog;
      // One valid request per route and role, built once; each case then breaks one thing in it.
      const samplesByRoute = new Map<string, Map<Role, Awaited<ReturnType<typeof sampleFor>>>>();
      for (const route of routes) {
        const byRole = new Map<Role, Awaited<ReturnType<typeof sampleFor>>>();
        for (const role of allowedRoles(route.access)) byRole.set(role, await sampleFor(w, route, role));
        samplesByRoute.set(routeKey(route), byRole);
      }

      const failures: Failure[] = [];
      const counts: Record<string, number> = {};
      let sent = 0;
      for (let i = 0; sent < TOTAL; i++) {
        const route = routes[i % routes.length]!;
        const roles = allowedRoles(route.access).filter(
          (r) => !(route.url === '/api/auth/logout' && r !== 'admin'),
        );
        const role = rng.pick(roles);
        const sample = samplesByRoute.get(routeKey(route))!.get(role)!;
        const c = generate(rng, route, role, sample);
        const creds = sample.creds ?? h.creds[role];
        const res = await Promise.race([
          h.server.inject({
            method: c.method as 'GET',
            url: c.url,
            headers: { ...creds.headers, ...c.headers },
            ...(c.payload !== undefined ? { payload: c.payload } : {}),
          }),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error(`${c.method} ${c.url} (${c.category}) did not answer`)),
              10_000,
            ).unref(),
          ),
        ]);
        sent++;
        counts[c.category] = (counts[c.category] ?? 0) + 1;
        const anyOk = c.category.endsWith('(any)');
        const why = anyOk
          ? res.statusCode >= 500
            ? '5xx'
            : res.statusCode >= 400
              ? check({ ...c, path: undefined, notFoundOk: true }, res.statusCode, res.body)
              : undefined
          : check(c, res.statusCode, res.body);
        if (why) {
          failures.push({
            category: c.category,
            request: `${c.role} ${c.method} ${c.url.slice(0, 160)} ${c.headers['content-type'] ?? ''} ${(c.payload ?? '').slice(0, 160)}`,
            status: res.statusCode,
            body: res.body.slice(0, 300),
            why,
          });
        }
      }
      console.log(`fuzz ${kind}: ${sent} requests`, counts);
      failures.sort((a, b) => b.status - a.status);
      const summary = [
        ...new Set(
          failures.map((f) => `${f.why} | ${f.category} | ${f.request.split(' ').slice(0, 3).join(' ')}`),
        ),
      ];
      expect({ seed, distinct: summary.slice(0, 40), examples: failures.slice(0, 15) }).toEqual({
        seed,
        distinct: [],
        examples: [],
      });
      expect(sent).toBeGreaterThanOrEqual(5000);

      const health = await h.server.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      const created = await h.request('admin', {
        method: 'POST',
        url: '/api/contacts',
        payload: { email: 'after-the-fuzz@example.com', name: 'Still works' },
      });
      expect(created.statusCode).toBe(201);
      const found = await h.request('token', {
        method: 'GET',
        url: '/api/contacts?email=after-the-fuzz@example.com',
      });
      expect((found.json() as { data: { name: string }[] }).data.map((c) => c.name)).toEqual(['Still works']);
    },
  );
});
