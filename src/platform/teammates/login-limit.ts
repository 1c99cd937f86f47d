/**
 * Login attempts, counted in the database (rate_budgets, scope `login`) so that every Settle process sees the same
 * count: kept per process, N processes gave an attacker N times the guesses. Each limit is a GCRA bucket: a burst of
 * `burst` attempts, then one more every `windowMs / burst` (on average `burst` per window). An attempt is counted
 * before the password is checked; a successful one is given back. Keys are hashed: the table holds no address and
 * no IP.
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

// 10 failed attempts per address and 30 per IP within 15 minutes, then a wait.
const limits = (email: string, ip: string) => [bucket('email', email, 10), bucket('ip', ip, 30)] as const;

export const loginLimit = {
  /**
   * Counts a login attempt against the address's and the IP's buckets before the password is checked, in one
   * statement: concurrent guesses cannot all pass a check made before any of them failed. Answers 0 when the
   * attempt may go on, else the seconds until one may.
   */
  async attempt(db: Queryable, email: string, ip: string): Promise<number> {
    if (Math.random() < 0.05) await rateBudgetRepository.pruneIdle(db, SCOPE);
    const r = await rateBudgetRepository.reserve(db, SCOPE, limits(email, ip), 0);
    return r.taken ? 0 : Math.max(1, Math.ceil(r.waitMs / 1000));
  },

  /** An attempt that was no guess (an ambiguous address): given back to both buckets. */
  async refund(db: Queryable, email: string, ip: string): Promise<void> {
    for (const b of limits(email, ip)) await rateBudgetRepository.refund(db, SCOPE, b);
  },

  /**
   * A successful login forgets its address's failures, and gives its attempt back to the IP (an office behind one
   * address signs in many times a day), but not the IP's earlier failures.
   */
  async succeed(db: Queryable, email: string, ip: string): Promise<void> {
    const [byEmail, byIp] = limits(email, ip);
    await rateBudgetRepository.clear(db, SCOPE, byEmail.key);
    await rateBudgetRepository.refund(db, SCOPE, byIp);
  },
};
