import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/env.ts';
import type { Db } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { JobQueue } from '../jobs/queue.ts';
import { AppRuntime, type AppRegistry } from '../platform/apps/runtime.ts';
import { createSecretBox, loadMasterKey } from '../platform/crypto/secret-box.ts';
import { createPlatform, type Platform } from './platform.ts';

/** Field names that may carry a secret, wherever they appear in a logged object. */
export const secretFieldNames = [
  'password',
  'secret',
  'secret_key',
  'signing_secret',
  'webhook_secret',
  'api_key',
  'apiKey',
  'token',
  'access_token',
  'refresh_token',
  'session_token',
  'messenger_secret',
  'user_jwt',
  'csrf_token',
  'value',
  'authorization',
  'cookie',
];

/**
 * Values that could carry a secret are never written to logs, whatever a caller passes to the logger: the names
 * above at the top level and up to three levels down (`{api_key}`, `{connection: {api_key}}`, …), plus the
 * request headers that carry credentials.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["stripe-signature"]',
  ...secretFieldNames.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
];

export function createLogger(level: Config['logLevel'], destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } }, destination);
}

/** Wires a platform over an open database: migrations, master key, job queue, apps. */
export async function composePlatform(opts: {
  config: Config;
  db: Db;
  registry: AppRegistry;
  log?: Logger;
  masterKey?: Buffer;
}): Promise<Platform> {
  await migrate(opts.db);
  const key = opts.masterKey ?? loadMasterKey(opts.config.masterKey, join(opts.config.dataDir, 'master.key'));
  const log = opts.log ?? createLogger(opts.config.logLevel);
  const platform = createPlatform({
    config: opts.config,
    db: opts.db,
    box: createSecretBox(key),
    log,
    jobs: new JobQueue(opts.db),
    apps: new AppRuntime(opts.registry),
  });
  void platform.bus.relay(opts.db, log);
  return platform;
}
