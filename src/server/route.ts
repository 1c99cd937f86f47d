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
  const path = formatPath(issue?.path ?? []);
  const message = issue?.message ?? 'invalid input';
  const named = where === 'body' ? path : path ? `${where}.${path}` : where;
  return commonError('invalid_request', named ? `${named}: ${message}` : message, named || undefined);
}

function parsePart<T>(
  schema: z.ZodType<T> | undefined,
  value: unknown,
  where: 'body' | 'query' | 'params',
): T {
  if (!schema) {
    if (
      where === 'body' &&
      value !== undefined &&
      value !== null &&
      !(typeof value === 'object' && Object.keys(value).length === 0)
    ) {
      throw commonError('invalid_request', 'this route takes no request body', 'body');
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
