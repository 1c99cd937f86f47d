import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../shared/errors.ts';
import { validationError } from './route.ts';

export interface ErrorBody {
  error: { code: string; message: string; path?: string };
}

// Fastify's own 4xx errors, in our vocabulary.
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

/**
 * The one place where errors become HTTP answers. Unknown errors are logged with their stack and answered with a
 * plain 500; typed 502/503s are logged as warnings (code and message); 4xx are the client's and not logged here.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status = 500;
    let body: ErrorBody = { error: { code: 'internal_error', message: 'Internal server error' } };
    // A typed error that fell back to 500 (its code has no declared status) is a bug like any other: its message
    // was written for the log, not for the caller, so it gets the plain answer.
    if (err instanceof AppError && err.status !== 500) {
      status = err.status;
      body = { error: { code: err.code, message: err.message, ...(err.path ? { path: err.path } : {}) } };
    } else if (err instanceof z.ZodError) {
      const e = validationError(err, 'body');
      status = e.status;
      body = { error: { code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) } };
    } else if (
      'statusCode' in err &&
      typeof err.statusCode === 'number' &&
      err.statusCode >= 400 &&
      err.statusCode < 500
    ) {
      status = err.statusCode;
      const code =
        fastifyCodes[err.code] ?? (err instanceof SyntaxError ? 'invalid_json' : 'invalid_request');
      body = { error: { code, message: err.message, path: 'body' } };
    } else if (err instanceof SyntaxError) {
      status = 400;
      body = { error: { code: 'invalid_json', message: err.message, path: 'body' } };
    }
    // A typed error with a 5xx other than 500 (Stripe unreachable: 502/503) is one the product raises on purpose
    // and explains in its answer: a warning with its code, not a stack trace that reads like a bug. Only what we
    // did not foresee (and an AppError whose code has no declared status) is an unhandled error.
    if (err instanceof AppError && status > 500)
      req.log.warn({ code: err.code, status }, `${err.code}: ${err.message}`);
    else if (status >= 500) req.log.error({ err }, 'unhandled error');
    if (status === 429 && err instanceof AppError) {
      const wait = /(\d+) seconds/.exec(err.message)?.[1];
      if (wait) void reply.header('retry-after', wait);
    }
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    return reply
      .code(404)
      .send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}
