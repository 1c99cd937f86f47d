import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The embedded database is a directory that only one process may open. The running server holds a pid file;
 * other commands check it and say clearly that the database is in use.
 */
export function lockPath(dataDir: string): string {
  return join(dataDir, 'settle.pid');
}

export function runningPid(dataDir: string): number | undefined {
  const file = lockPath(dataDir);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined; // a stale file from a process that died
  }
}

export function acquireLock(dataDir: string): () => void {
  const pid = runningPid(dataDir);
  if (pid && pid !== process.pid) {
    throw new Error(
      `the embedded database in ${dataDir} is in use by a running Settle (pid ${pid}); stop it first`,
    );
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(lockPath(dataDir), String(process.pid));
  return () => rmSync(lockPath(dataDir), { force: true });
}
