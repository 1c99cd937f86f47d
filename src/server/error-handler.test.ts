import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionError } from '../app-sdk/index.ts';
import { AppError, commonError } from '../shared/errors.ts';
import { installErrorHandler } from './error-handler.ts';

// QA: connecting a Stripe account whose API base cannot be reached answered a proper 502 stripe_unreachable but
// logged it as an "unhandled error" with a stack at error level, like a bug. Each kind of error, and its log line.
describe('error handler logging', () => {
  const lines: Record<string, unknown>[] = [];
  const app = Fastify({
    loggerInstance: pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          cb();
        },
      }),
    ) as unknown as FastifyBaseLogger, // as app.ts hands Fastify its pino logger
  });
  beforeAll(async () => {
    installErrorHandler(app);
    app.get('/unreachable', () => {
      throw new ActionError(
        502,
        'stripe_unreachable',
        'could not reach Stripe to check the API key',
        'api_base',
      );
    });
    app.get('/unavailable', () => {
      throw new ActionError(503, 'stripe_unreachable', 'Stripe is unreachable; try again later');
    });
    app.get('/missing', () => {
      throw commonError('not_found', 'no such thing');
    });
    app.get('/undeclared', () => {
      throw new AppError('oops', 'a code with no declared status', 500);
    });
    app.get('/bug', () => {
      throw new TypeError('cannot read properties of undefined');
    });
    await app.ready();
  });
  afterAll(() => app.close());

  /** The handler's own lines for one request (Fastify's request/response lines left out). */
  const logged = async (url: string) => {
    const before = lines.length;
    const res = await app.inject({ method: 'GET', url });
    return {
      res,
      lines: lines.slice(before).filter((l) => l.msg !== 'incoming request' && l.msg !== 'request completed'),
    };
  };

  it('logs a typed 502/503 as a warning with code and message, no stack', async () => {
    for (const [url, status] of [
      ['/unreachable', 502],
      ['/unavailable', 503],
    ] as const) {
      const { res, lines: own } = await logged(url);
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ error: { code: 'stripe_unreachable' } });
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({ level: 40, code: 'stripe_unreachable', status });
      expect(own[0]?.msg).toMatch(/^stripe_unreachable: .*Stripe/);
      expect(JSON.stringify(own[0])).not.toMatch(/stack|unhandled/);
    }
  });

  it('keeps 4xx out of the error log, as before', async () => {
    const { res, lines: own } = await logged('/missing');
    expect(res.statusCode).toBe(404);
    expect(own).toEqual([]);
  });

  it('logs unknown errors, and typed ones without a declared status, as unhandled with a stack', async () => {
    for (const url of ['/bug', '/undeclared']) {
      const { res, lines: own } = await logged(url);
      expect(res.statusCode).toBe(500);
      // The details stay in the log; the caller gets the plain answer, a typed error without a status included.
      expect(res.json()).toEqual({ error: { code: 'internal_error', message: 'Internal server error' } });
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({ level: 50, msg: 'unhandled error' });
      expect((own[0]?.err as { stack?: string }).stack).toContain('error-handler.test.ts');
    }
  });
});
