// The benchmark's server process: an emulator with a generated account, in its own process (as `npx settle
// emulator` runs), so the SDK client and the server each get a core. Prints one JSON line when ready.
import { generateLargeAccount, startEmulator } from '../src/emulator/index.ts';

const customers = Number(process.argv[2] ?? 100_000);
const emu = await startEmulator({ seed: 1 });
const gen = generateLargeAccount(emu, { customers, seed: 1 });
process.stdout.write(`${JSON.stringify({ port: emu.port, key: emu.key, gen })}\n`);
process.on('SIGTERM', () => void emu.close().then(() => process.exit(0)));
