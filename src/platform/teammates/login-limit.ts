/**
 * Failed logins, counted in the database (rate_budgets, scope `login`) so that every Settle process sees the same
 * count: kept per process, N processes gave an attacker N times the guesses. Each limit is a GCRA bucket: a burst of
 * `burst` failures, then one more every `windowMs / burst` (on average `burst` per window). Keys are hashed: the
 * table holds no address and no IP.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../../db/client.ts';
import { rateBudgetRepository, type GcraBucket } from '../rate-budgets/repository.ts';

const SCOPE = { workspaceId: '', scope: 'login' };
const WINDOW_MS = 15 * 60_000;

function bucket(kind: 'email' | 'ip', value: string, burst: number): GcraBucket {
  const periodMs = WINDOW_MS / burst;
  const digest = createHash('sha256').update(value).digest('base64url').slice(0, 32);
  return { key: `${kind}:${digest}`, periodMs, toleranceMs: (burst - 1) * periodMs };
}

// 10 failures per address and 30 per IP within 15 minutes, then a wait.
const limits = (email: string, ip: string) => [bucket('email', email, 10), bucket('ip', ip, 30)] as const;

export const loginLimit = {
  /** Seconds until this address may try again from this IP, or 0. */
  async blockedFor(db: Queryable, email: string, ip: string): Promise<number> {
    const waits = await Promise.all(
      limits(email, ip).map((b) => rateBudgetRepository.blockedFor(db, SCOPE, b)),
    );
    return Math.ceil(Math.max(0, ...waits) / 1000);
  },

  async fail(db: Queryable, email: string, ip: string): Promise<void> {
    for (const b of limits(email, ip)) await rateBudgetRepository.spend(db, SCOPE, b);
    // A bucket whose time has passed is the same as none: dropping such rows now and then loses nothing.
    if (Math.random() < 0.05) await rateBudgetRepository.pruneIdle(db, SCOPE);
  },

  /** A successful login forgets its address's failures (not its IP's). */
  async succeed(db: Queryable, email: string): Promise<void> {
    await rateBudgetRepository.clear(db, SCOPE, bucket('email', email, 10).key);
  },
};
