// Settle's Stripe emulator: a separate HTTP server. Nothing in the Settle app imports this module.
import { createEmulator } from './app.ts';
import { controlsHandler } from './controls.ts';
import { loadDemoData } from './demo-data.ts';
import type { Emulator } from './emulator.ts';
import { checkoutPageHandler } from './checkout-page.ts';
import { EmulatorServer } from './server.ts';
import { loadSnapshot, normalizeSnapshot, readSnapshot } from './snapshot.ts';
import { debounced, loadState, saveState } from './state-file.ts';

export { generateLargeAccount, type GenerateOptions } from './generator.ts';
export type { Emulator } from './emulator.ts';

export interface StartOptions {
  port?: number;
  host?: string;
  snapshot?: string;
  key?: string;
  seed?: number;
  demo?: boolean;
  stateFile?: string;
}

export interface RunningEmulator {
  url: string;
  port: number;
  key: string;
  emulator: Emulator;
  clock: Emulator['clock'];
  loadSnapshot(data: unknown, key?: string): number;
  reset(): void;
  /** Resolves once every webhook delivery queued so far has been attempted (retries included). */
  webhooksIdle(): Promise<void>;
  close(): Promise<void>;
}

export async function startEmulator(opts: StartOptions = {}): Promise<RunningEmulator> {
  const key = opts.key ?? 'sk_test_emulator';
  const emu = createEmulator({ seed: opts.seed, defaultKey: key });
  const server = new EmulatorServer(emu);
  server.use(controlsHandler(emu));
  server.use(checkoutPageHandler(emu));
  const restored = opts.stateFile ? loadState(emu, opts.stateFile) : false;
  if (!restored) {
    if (opts.demo) loadDemoData(emu, emu.account(key));
    if (opts.snapshot) loadSnapshot(emu, emu.account(key), readSnapshot(opts.snapshot));
  }
  const persist = opts.stateFile ? debounced(() => saveState(emu, opts.stateFile as string), 500) : null;
  if (persist) emu.onMutation(() => persist.trigger());
  const host = opts.host ?? '127.0.0.1';
  const { port, url } = await server.listen(opts.port ?? 0, host);
  emu.baseUrl = url;
  // Renewals and Checkout expiry follow the clock even when nobody advances it.
  const ticker = setInterval(() => emu.tick(), 5000);
  ticker.unref();
  return {
    url,
    port,
    key,
    emulator: emu,
    clock: emu.clock,
    loadSnapshot: (data, k) => loadSnapshot(emu, emu.account(k ?? key), normalizeSnapshot(data)),
    reset: () => emu.reset(),
    webhooksIdle: () => emu.webhooks.idle(),
    async close() {
      clearInterval(ticker);
      emu.webhooks.close();
      await server.close();
      persist?.flush();
    },
  };
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

export async function runEmulatorCli(argv: string[]): Promise<void> {
  const port = argValue(argv, '--port');
  const running = await startEmulator({
    port: port ? Number(port) : 12111,
    host: argValue(argv, '--host'),
    snapshot: argValue(argv, '--snapshot'),
    key: argValue(argv, '--key'),
    demo: argv.includes('--demo'),
    stateFile: argValue(argv, '--state'),
    seed: argValue(argv, '--seed') ? Number(argValue(argv, '--seed')) : undefined,
  });
  console.log(`Stripe emulator listening on ${running.url}`);
  console.log(`API key: ${running.key}`);
  console.log(
    `SDK: new Stripe('${running.key}', { host: '${new URL(running.url).hostname}', port: ${running.port}, protocol: 'http' })`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
