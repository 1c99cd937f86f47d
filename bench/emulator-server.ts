// The benchmark's server process: an emulator with a generated account, in its own process (as `npx settle
// emulator` runs), so the SDK client and the server each get a core. Prints one JSON line when ready.
// Arguments: customers (default 100000), then optionally the generator's options as JSON
// (e.g. '{"allSubscribed":true,"multiSubscriptionShare":0.2}').
import { generateLargeAccount, startEmulator, type GenerateOptions } from '../src/emulator/index.ts';

const customers = Number(process.argv[2] ?? 100_000);
const extra = JSON.parse(process.argv[3] ?? '{}') as Partial<GenerateOptions>;
const emu = await startEmulator({ seed: 1 });
const gen = generateLargeAccount(emu, { ...extra, customers, seed: 1 });
process.stdout.write(`${JSON.stringify({ port: emu.port, key: emu.key, gen })}\n`);
process.on('SIGTERM', () => void emu.close().then(() => process.exit(0)));
