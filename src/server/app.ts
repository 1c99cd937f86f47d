import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import { registerAppWebhooks } from '../platform/apps/routes.ts';
import { lazyChild } from '../shared/lazy-logger.ts';
import { installErrorHandler } from './error-handler.ts';
import type { Platform } from './platform.ts';
import { registerRoute } from './route.ts';
import { allRoutes } from './routes.ts';

const pageCsp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const isMessengerPath = (url: string) => url.startsWith('/messenger/');
/** Public modules the widget imports besides its own folder: a page on another origin loads them as modules too. */
const isSharedModule = (url: string) => url.startsWith('/shared/');

const webDir = join(dirname(fileURLToPath(import.meta.url)), '../../web');

/** Builds the HTTP server for a platform; `listen` is the caller's. */
export async function buildServer(platform: Platform): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: platform.log as unknown as FastifyBaseLogger,
    // Each request's child logger is made only if the request logs (lazy-logger.ts).
    childLoggerFactory: (logger, bindings, opts) =>
      lazyChild(logger as unknown as Logger, bindings, opts) as unknown as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    trustProxy: false,
    // Malformed URLs (bad percent-encoding, over-long ids) are answered by the router before any route runs:
    // give them the same error shape as everything else.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as FastifyReply)
        .code(status)
        .send({ error: { code: 'invalid_request', message: err.message, path: 'params' } });
    },
    // One line per request only when debugging: request logs are noise at info level.
    logController: new LogController({
      disableRequestLogging: platform.config.logLevel !== 'debug' && platform.config.logLevel !== 'trace',
    }),
  });
  installErrorHandler(app);
  await app.register(cookie);
  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'same-origin');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      // Settle's own pages load nothing from elsewhere and are never framed (clickjacking).
      void reply.header('content-security-policy', pageCsp);
    }
    if (isMessengerPath(req.url) || isSharedModule(req.url)) {
      // The messenger is embedded on the customer's own site and authenticates with a bearer token, never a
      // cookie, so any origin may call it; module scripts from another origin load only with this header.
      void reply.header('access-control-allow-origin', '*');
    }
    return payload;
  });
  // CORS preflight for the messenger API.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS' && isMessengerPath(req.url)) {
      return reply
        .code(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'authorization, content-type')
        .header('access-control-max-age', '600')
        .send();
    }
  });
  for (const def of allRoutes) registerRoute(app, platform, def);
  await registerAppWebhooks(app, platform);
  if (existsSync(webDir)) {
    await app.register(fastifyStatic, { root: webDir, prefix: '/', index: ['index.html'], wildcard: false });
    for (const dir of ['inbox', 'messenger']) app.get(`/${dir}`, (_req, reply) => reply.redirect(`/${dir}/`));
  }
  return app;
}
