// The HTTP layer: authentication, rate limits, latency, form parsing, idempotency, routing, expansion, and
// Stripe's error and header conventions. Plain node:http: the emulator needs its own body parsing anyway.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, unknownUrl } from './errors.ts';
import { KEY_PATTERN, type Emulator } from './emulator.ts';
import { API_VERSION } from './events.ts';
import { renderJson, type JsonPieces } from './wire-json.ts';
import { parseForm, type FormObject } from './form.ts';
import { makeCtx } from './context.ts';
import { expandParam } from './params.ts';

const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const MAX_BODY = 1024 * 1024;

export type ExtraHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: string,
) => Promise<boolean> | boolean;

function requestId(): string {
  return `req_${randomBytes(10).toString('base64url').replace(/[-_]/g, 'x').slice(0, 14)}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'invalid_request_error', 'Request body too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Stripe shows only the last four characters of a rejected key. */
function maskKey(key: string): string {
  const prefix = /^[a-z]+_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}${'*'.repeat(Math.max(0, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

function authKey(req: IncomingMessage): string | ApiError {
  const h = req.headers.authorization;
  if (!h) {
    return new ApiError(
      401,
      'invalid_request_error',
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    );
  }
  let key = '';
  if (h.startsWith('Bearer ')) key = h.slice(7).trim();
  else if (h.startsWith('Basic ')) key = Buffer.from(h.slice(6), 'base64').toString().split(':')[0] ?? '';
  if (!KEY_PATTERN.test(key)) {
    return new ApiError(401, 'invalid_request_error', `Invalid API Key provided: ${maskKey(key)}`);
  }
  return key;
}

function send(
  res: ServerResponse,
  status: number,
  body: string | JsonPieces,
  headers: Record<string, string>,
): void {
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.bytes;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': length,
    'access-control-allow-origin': '*',
    'cache-control': 'no-cache, no-store',
    ...headers,
  });
  if (typeof body === 'string') {
    res.end(body);
    return;
  }
  // The pieces are copied into a reused buffer: one write, no joined string (a fresh 350 KB string or buffer per
  // page costs more in first-touch page faults than the copy), and no write call per piece.
  let buf = buffers.pop();
  if (!buf || buf.length < body.bytes) buf = Buffer.allocUnsafeSlow(Math.max(body.bytes, 512 * 1024));
  let at = 0;
  for (const piece of body.pieces) at += buf.write(piece, at);
  const used = buf;
  res.end(used.subarray(0, at), () => {
    if (buffers.length < 8) buffers.push(used);
  });
}

/** Response buffers free for reuse: a buffer returns here once its response has been handed to the socket. */
const buffers: Buffer[] = [];

export class EmulatorServer {
  private server: Server | null = null;
  private readonly extras: ExtraHandler[] = [];

  constructor(private readonly emu: Emulator) {}

  /** Non-API routes (hosted pages, test controls) checked before the Stripe API. */
  use(handler: ExtraHandler): void {
    this.extras.push(handler);
  }

  listen(port: number, host: string): Promise<{ port: number; url: string }> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent)
          send(
            res,
            500,
            JSON.stringify({ error: { type: 'api_error', message: (err as Error).message } }),
            {},
          );
      });
    });
    this.server.keepAliveTimeout = 5000;
    return new Promise((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => {
        const addr = this.server?.address() as AddressInfo;
        const h = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
        resolve({ port: addr.port, url: `http://${h}:${addr.port}` });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = method === 'POST' || method === 'DELETE' ? await readBody(req).catch(() => '') : '';
    for (const h of this.extras) if (await h(req, res, url, body)) return;

    const reqId = requestId();
    const version = (req.headers['stripe-version'] as string | undefined) ?? API_VERSION;
    const headers: Record<string, string> = { 'request-id': reqId, 'stripe-version': version };
    const fail = (err: ApiError): void =>
      send(res, err.status, JSON.stringify(err.body(reqId)), { ...headers, ...(err.extra.headers ?? {}) });

    if (!url.pathname.startsWith('/v1/')) return fail(unknownUrl(method, url.pathname));
    const key = authKey(req);
    if (key instanceof ApiError) return fail(key);
    const acct = this.emu.account(key);

    const match = this.emu.router.match(method, url.pathname);
    if (!match) return fail(unknownUrl(method, url.pathname));
    if ('methodMismatch' in match) return fail(unknownUrl(method, url.pathname));

    const limited = this.emu.rateLimiter.check(acct.id, match.route.name);
    if (limited) {
      return fail(
        new ApiError(
          429,
          'invalid_request_error',
          'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.',
          {
            code: 'rate_limit',
            headers: { 'stripe-rate-limited-reason': limited, 'stripe-should-retry': 'true' },
          },
        ),
      );
    }

    let params: FormObject;
    try {
      params = parseForm(method === 'GET' ? url.search.slice(1) : body || url.search.slice(1));
    } catch {
      return fail(new ApiError(400, 'invalid_request_error', 'Invalid request body.'));
    }

    const idemKey =
      method === 'POST' ? ((req.headers['idempotency-key'] as string | undefined) ?? null) : null;
    let idemSlot: string | null = null;
    if (idemKey) {
      if (idemKey.length > 255)
        return fail(
          new ApiError(400, 'invalid_request_error', 'Idempotency keys may be at most 255 characters.', {
            param: 'Idempotency-Key',
          }),
        );
      headers['idempotency-key'] = idemKey;
      const now = this.emu.clock.now();
      const fingerprint = createHash('sha256').update(`${method} ${url.pathname}\n${body}`).digest('hex');
      idemSlot = idemKey;
      const entry = acct.idempotency.get(idemKey);
      if (entry && now - entry.createdAt < IDEMPOTENCY_TTL_SECONDS) {
        if (entry.fingerprint !== fingerprint) {
          return fail(
            new ApiError(
              400,
              'idempotency_error',
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`,
            ),
          );
        }
        if (!entry.done) {
          return fail(
            new ApiError(
              409,
              'idempotency_error',
              'There is currently another in-progress request using this Stripe token (that probably means you clicked twice), and the concurrent request was rejected. Please try again later.',
              {
                code: 'idempotency_key_in_use',
                headers: { 'stripe-should-retry': 'true' },
              },
            ),
          );
        }
        return send(res, entry.status ?? 200, entry.body ?? '{}', {
          ...headers,
          'idempotent-replayed': 'true',
        });
      }
      acct.idempotency.set(idemKey, { fingerprint, createdAt: now, done: false });
    }

    // Latency stands for processing time: it runs after the idempotency key is claimed.
    const { fixedMs, jitterMs } = this.emu.latency;
    if (fixedMs > 0 || jitterMs > 0) {
      await new Promise((r) => setTimeout(r, fixedMs + Math.floor(this.emu.random.float() * jitterMs)));
    }
    const ctx = makeCtx(this.emu, acct, reqId, idemKey);
    let status = 200;
    let out: string | JsonPieces;
    let store = true;
    try {
      const result = await match.route.handler(ctx, params, match.args);
      out = renderJson(acct, result, expandParam(params));
      if (method !== 'GET') this.emu.mutated();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status = err.status;
      out = JSON.stringify(err.body(reqId));
      Object.assign(headers, err.extra.headers ?? {});
      // Stripe saves a result only once the endpoint started executing; validation failures can be retried.
      store = err.status < 500 && !(err.status === 400 && err.type === 'invalid_request_error');
      if (method !== 'GET') this.emu.mutated();
    }
    if (idemSlot) {
      if (store)
        acct.idempotency.set(idemSlot, {
          ...(acct.idempotency.get(idemSlot) as { fingerprint: string; createdAt: number }),
          done: true,
          status,
          body: typeof out === 'string' ? out : out.pieces.join(''),
        });
      else acct.idempotency.delete(idemSlot);
    }
    send(res, status, out, headers);
  }
}
