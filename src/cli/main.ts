import { loadConfig, ConfigError } from '../config/env.ts';
import { openDb } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { createApiToken } from '../platform/teammates/service.ts';
import { workspaceRepository } from '../platform/workspaces/repository.ts';
import { parseArgs, stringFlag } from './args.ts';
import { runningPid } from './lock.ts';
import { startCommand } from './start.ts';
import { stripeCommand } from './stripe.ts';

const usage = `Usage: npx settle <command>

  start                        run Settle (inbox, messenger, API, workers)
  migrate                      apply database migrations and exit
  tokens create --name NAME    create an admin API token (printed as the last line)
  stripe connect --key KEY [--api-base URL] [--wait]
                               connect a Stripe account (or the emulator) to a running Settle
  stripe sync [--wait]         re-run the Stripe backfill; --wait shows progress until it completes
  emulator [--port 12111] [--snapshot FILE] [--key KEY] [--demo] [--state FILE]
                               run the Stripe emulator on its own

Environment: PORT (3000), HOST (127.0.0.1), SETTLE_PUBLIC_URL, SETTLE_DATA_DIR (./data), DATABASE_URL,
SETTLE_MASTER_KEY, SETTLE_DEMO (1), SETTLE_WORKERS (2), SETTLE_LOG_LEVEL (info), SETTLE_TOKEN (for commands that
call a running Settle over HTTP; they take --url, default http://127.0.0.1:$PORT).`;

/** Commands that open the database directly refuse while a server holds the embedded one. */
function assertEmbeddedFree(config: ReturnType<typeof loadConfig>, what: string): void {
  if (config.databaseUrl) return;
  const pid = runningPid(config.dataDir);
  if (pid) {
    throw new Error(
      `the embedded database in ${config.dataDir} is in use by a running Settle (pid ${pid}). ` +
        `Stop it (Ctrl-C) and run '${what}' again, or use PostgreSQL (DATABASE_URL), which several processes can share.`,
    );
  }
}

async function main(argv: string[]): Promise<void> {
  const { positional, flags } = parseArgs(argv);
  const [command, sub] = positional;
  if (!command || command === 'help' || flags.help) {
    process.stdout.write(usage + '\n');
    return;
  }
  if (command === 'emulator') {
    // The emulator is a separate server; only the CLI (the composition root) knows it.
    const { runEmulatorCli } = await import('../emulator/index.ts');
    return runEmulatorCli(argv.slice(1));
  }
  const config = loadConfig();
  switch (command) {
    case 'start':
      return startCommand(config);
    case 'migrate': {
      assertEmbeddedFree(config, 'settle migrate');
      const db = await openDb({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        preparedStatements: config.preparedStatements,
      });
      const applied = await migrate(db);
      await db.close();
      process.stdout.write(
        applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n',
      );
      return;
    }
    case 'tokens': {
      if (sub !== 'create')
        throw new Error(`unknown tokens command ${sub ?? ''}: use 'tokens create --name NAME'`);
      const name = stringFlag(flags, 'name');
      if (!name) throw new Error('tokens create needs --name NAME');
      assertEmbeddedFree(config, 'settle tokens create');
      const db = await openDb({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        preparedStatements: config.preparedStatements,
      });
      try {
        await migrate(db);
        const ws = await workspaceRepository.first(db);
        if (!ws) throw new Error('no workspace yet: run `npm start` once to create one');
        const token = await createApiToken(db, ws.id, name);
        process.stdout.write(
          `Created API token "${name}" (${token.id}) for workspace ${ws.name}.\nIt is shown only now:\n${token.token}\n`,
        );
      } finally {
        await db.close();
      }
      return;
    }
    case 'stripe':
      return stripeCommand(config, sub, flags, process.env.SETTLE_TOKEN);
    default:
      throw new Error(`unknown command ${command}\n\n${usage}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message =
    err instanceof ConfigError
      ? `configuration error: ${err.message}`
      : err instanceof Error
        ? err.message
        : String(err);
  process.stderr.write(`settle: ${message}\n`);
  process.exit(1);
});
