// The sync benchmark's worker process: Settle's job queue for one workspace over a PostgreSQL database, as a
// `settle start` worker would run it, so the benchmark can kill it with SIGKILL mid-backfill and start another.
// Environment: SYNC_DATABASE_URL, SYNC_MASTER_KEY (hex), SYNC_WORKSPACE. Prints `ready` once polling.
import pg from 'pg';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { loadConfig } from '../src/config/env.ts';
import { wrapPool } from '../src/db/client.ts';
import { composePlatform, createLogger } from '../src/server/compose.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const pool = new pg.Pool({ connectionString: env('SYNC_DATABASE_URL'), max: 10 });
pool.on('error', () => undefined);
const platform = await composePlatform({
  config: { ...loadConfig({}), dataDir: '/nonexistent', logLevel: 'warn' },
  db: wrapPool(pool),
  registry: { stripe: stripeApp },
  log: createLogger('warn'),
  masterKey: Buffer.from(env('SYNC_MASTER_KEY'), 'hex'),
});
// A short lease: the job a killed worker held is claimed again soon after.
platform.jobs.startWorker({
  workspaceId: env('SYNC_WORKSPACE'),
  pollMs: 50,
  backoffMs: 100,
  maxBackoffMs: 500,
  leaseMs: 3000,
});
process.stdout.write('ready\n');
