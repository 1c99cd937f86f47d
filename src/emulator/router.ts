// A tiny route table: `/v1/customers/:id` patterns compiled to regexes, each with a name used for per-endpoint
// rate limits.
import type Stripe from 'stripe';
import type { Account } from './account.ts';
import type { Emulator } from './emulator.ts';
import type { Params } from './params.ts';

export interface Ctx {
  emu: Emulator;
  acct: Account;
  now: number;
  requestId: string;
  idempotencyKey: string | null;
  emit(
    type: Stripe.Event.Type,
    object: { id: string; object: string },
    previous?: Record<string, unknown>,
  ): void;
}

export type Handler = (ctx: Ctx, params: Params, args: string[]) => unknown;

export interface Route {
  method: string;
  name: string;
  regex: RegExp;
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: 'GET' | 'POST' | 'DELETE', pattern: string, handler: Handler): void {
    const regex = new RegExp('^' + pattern.replace(/:[a-z_]+/g, '([^/]+)').replace(/\//g, '\\/') + '$');
    this.routes.push({ method, name: `${method} ${pattern}`, regex, handler });
  }

  match(
    method: string,
    path: string,
  ): { route: Route; args: string[] } | { methodMismatch: true } | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      return { route, args: m.slice(1).map((s) => decodeURIComponent(s)) };
    }
    return pathMatched ? { methodMismatch: true } : undefined;
  }
}
