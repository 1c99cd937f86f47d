import { z } from 'zod';

const booleanFlag = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

/** Every environment variable Settle reads, parsed once at start-up. */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  SETTLE_PUBLIC_URL: z.url().optional(),
  SETTLE_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  SETTLE_MASTER_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/=_-]{43,88}$/, 'must be 32 bytes, base64 or hex encoded')
    .optional(),
  SETTLE_DEMO: booleanFlag.default(true),
  SETTLE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SETTLE_WORKERS: z.coerce.number().int().min(0).max(64).default(2),
  /**
   * Finished jobs are the webhook inbox's memory of event ids: Stripe lists events for 30 days (the catch-up reads
   * that far back), so a shorter retention would let an old event be applied and recorded twice.
   */
  SETTLE_JOB_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(
      31,
      'must be at least 31 days: finished jobs remember Stripe event ids, and Stripe lists events for 30 days',
    )
    .max(3650)
    .default(35),
  SETTLE_TOKEN: z.string().optional(),
  SETTLE_EMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(12111),
  /** Off behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21). */
  SETTLE_DB_PREPARED_STATEMENTS: booleanFlag.default(true),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  masterKey: string | undefined;
  demo: boolean;
  logLevel: Env['SETTLE_LOG_LEVEL'];
  workers: number;
  jobRetentionDays: number;
  emulatorPort: number;
  preparedStatements: boolean;
}

export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; the error names the first bad variable and what is wrong with it. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, issue?.message ?? 'invalid value');
  }
  const env = parsed.data;
  return {
    port: env.PORT,
    host: env.HOST,
    publicUrl: (env.SETTLE_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
    dataDir: env.SETTLE_DATA_DIR,
    databaseUrl: env.DATABASE_URL,
    masterKey: env.SETTLE_MASTER_KEY,
    demo: env.SETTLE_DEMO,
    logLevel: env.SETTLE_LOG_LEVEL,
    workers: env.SETTLE_WORKERS,
    jobRetentionDays: env.SETTLE_JOB_RETENTION_DAYS,
    emulatorPort: env.SETTLE_EMULATOR_PORT,
    preparedStatements: env.SETTLE_DB_PREPARED_STATEMENTS,
  };
}
