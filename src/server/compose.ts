import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/env.ts';
import type { Db } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { JobQueue } from '../jobs/queue.ts';
import { AppRuntime, type AppRegistry } from '../platform/apps/runtime.ts';
import { createSecretBox, loadMasterKey } from '../platform/crypto/secret-box.ts';
import { createPlatform, type Platform } from './platform.ts';

/** Values that could carry a secret are never written to logs, whatever a caller passes to the logger. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  '*.password',
  '*.secret',
  '*.api_key',
  '*.token',
  '*.value',
  '*.session_token',
  '*.messenger_secret',
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
  return createPlatform({
    config: opts.config,
    db: opts.db,
    box: createSecretBox(key),
    log: opts.log ?? createLogger(opts.config.logLevel),
    jobs: new JobQueue(opts.db),
    apps: new AppRuntime(opts.registry),
  });
}
