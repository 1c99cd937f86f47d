import type { ChildProcess } from 'node:child_process';

/**
 * Watches a spawned worker: its output (the last 20,000 characters, for failure messages), when it exits, and
 * when it prints `ready` (rejected, with the output, if it exits first).
 */
export function watchChild(child: ChildProcess): {
  ready: Promise<void>;
  exited: Promise<void>;
  output: () => string;
} {
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  child.stderr?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (out.includes('ready\n')) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`worker exited before it was ready (${code ?? signal}): ${out}`)),
    );
  });
  ready.catch(() => undefined);
  return { ready, exited, output: () => out };
}
