import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AppError } from '../shared/errors.ts';
import { commonError } from '../shared/errors.ts';
import { principalAccess, type Access, type Principal, type WorkspacePrincipal } from './access.ts';
import type { Platform } from './platform.ts';

export interface RouteContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal;
  platform: Platform;
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDef<B = unknown, Q = unknown, P = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  access: readonly Access[];
  summary: string;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  /** Returns the response body; `undefined` answers 204. */
  handler(ctx: RouteContext<B, Q, P>): Promise<unknown>;
}

/** A route of any input types, for lists of routes (each was checked where it was defined). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

/** Keeps the generic types of a route definition together. */
export function defineRoute<B = undefined, Q = undefined, P = undefined>(
  def: RouteDef<B, Q, P>,
): RouteDef<B, Q, P> {
  return def;
}

/** Zod paths as people write them: `query.value[1].operator`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

export function validationError(error: z.ZodError, where: 'body' | 'query' | 'params'): AppError {
  const issue = error.issues[0];
  // An unknown field is reported on the object that holds it; name the field itself.
  const segs =
    issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined
      ? [...issue.path, issue.keys[0]]
      : (issue?.path ?? []);
  const path = formatPath(segs);
  const message = issue?.message ?? 'invalid input';
  // Body fields are named as they are (`email`); a fault in the body as a whole is `body`.
  const named = where === 'body' ? path || 'body' : path ? `${where}.${path}` : where;
  return commonError('invalid_request', `${named}: ${message}`, named);
}

/** NUL, or a surrogate that is not half of a pair: text that PostgreSQL cannot store. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * PostgreSQL text cannot hold U+0000 or ill-formed UTF-16 (a lone surrogate in a JSON string), so such input would
 * fail a query with a 5xx: refuse it here, naming where it is.
 */
function findUnstorable(value: unknown, where: 'body' | 'query' | 'params'): string | undefined {
  interface Node {
    v: unknown;
    key?: PropertyKey;
    parent?: Node;
  }
  const pathOf = (n: Node | undefined): PropertyKey[] => {
    const out: PropertyKey[] = [];
    for (let at = n; at?.key !== undefined; at = at.parent) out.unshift(at.key);
    return out;
  };
  // Iterative with parent links: deeply nested input costs linear time, not a stack overflow.
  const stack: Node[] = [{ v: value }];
  while (stack.length) {
    const node = stack.pop()!;
    const v = node.v;
    if (typeof v === 'string') {
      if (unstorable.test(v)) return formatPath(pathOf(node));
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (unstorable.test(k)) return formatPath(pathOf(node)) || where;
        stack.push({ v: child, key: Array.isArray(v) ? Number(k) : k, parent: node });
      }
    }
  }
  return undefined;
}

function parsePart<T>(
  schema: z.ZodType<T> | undefined,
  value: unknown,
  where: 'body' | 'query' | 'params',
): T {
  const bad = findUnstorable(value, where);
  if (bad !== undefined) {
    const named = where === 'body' ? bad || 'body' : bad ? `${where}.${bad}` : where;
    throw commonError(
      'invalid_request',
      `${named}: must be well-formed Unicode text without NUL (U+0000) characters`,
      named,
    );
  }
  if (!schema) {
    if (where === 'body') {
      // Nothing, JSON null or an empty object: what clients send to a route without a body.
      const empty =
        value === undefined ||
        value === null ||
        (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
      if (!empty) throw commonError('invalid_request', 'this route takes no request body', 'body');
    } else if (value && typeof value === 'object') {
      // Unknown query parameters are refused like unknown body fields, not silently ignored.
      const key = Object.keys(value)[0];
      if (key !== undefined) {
        throw commonError(
          'invalid_request',
          `${where}.${key}: this route takes no ${where} parameters`,
          `${where}.${key}`,
        );
      }
    }
    return undefined as T;
  }
  const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (!parsed.success) throw validationError(parsed.error, where);
  return parsed.data;
}

export interface RouteCatalogEntry {
  method: string;
  url: string;
  access: readonly Access[];
  summary: string;
  hasBody: boolean;
}

export function requireWorkspace(p: Principal): WorkspacePrincipal {
  if (p.kind === 'anonymous') throw commonError('unauthorized', 'authentication required');
  return p;
}

export function registerRoute(app: FastifyInstance, platform: Platform, def: AnyRoute): void {
  if (def.access.length === 0) throw new Error(`route ${def.method} ${def.url} declares no access`);
  platform.routeCatalog.push({
    method: def.method,
    url: def.url,
    access: def.access,
    summary: def.summary,
    hasBody: def.body !== undefined,
  });
  app.route({
    method: def.method,
    url: def.url,
    handler: async (req, reply) => {
      const principal = await platform.authenticate(req, def.access);
      const ctx: RouteContext<unknown, unknown, unknown> = {
        principal,
        platform,
        req,
        reply,
        params: parsePart(def.params, req.params, 'params'),
        query: parsePart(def.query, req.query, 'query'),
        body: parsePart(def.body, req.body, 'body'),
      };
      const result = await def.handler(ctx);
      // A route that streams (server-sent events) hijacks the reply and returns it; a reply is thenable, so awaiting
      // it gives undefined once the stream closes, and sending then logged "Reply was already sent" at every
      // disconnect.
      if (reply.sent) return reply;
      if (result === undefined) return reply.code(reply.statusCode === 200 ? 204 : reply.statusCode).send();
      return result;
    },
  });
}

/** Checks a resolved principal against a route's access list: 401 without credentials, 403 with the wrong ones. */
export function checkAccess(
  principal: Principal,
  access: readonly Access[],
  credentialsInvalid: boolean,
): void {
  if (access.includes('public')) return;
  const has = principalAccess(principal);
  if (has.some((a) => access.includes(a))) return;
  if (principal.kind === 'anonymous') {
    throw commonError(
      'unauthorized',
      credentialsInvalid ? 'the credentials are invalid or expired' : 'authentication required',
    );
  }
  throw commonError('forbidden', 'your role may not call this route');
}
