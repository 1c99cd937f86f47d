/**
 * Request budgets shared by every process of an installation (migration 0011): GCRA buckets in the database, so two
 * Settle processes pacing the same Stripe account together send what one would. See docs/apps.md, "Budgets".
 */
import { z } from 'zod';
import type { Queryable } from '../../db/client.ts';
import { rateBudgetRepository, type BudgetScope, type GcraBucket, type Reservation } from './repository.ts';

export const budgetBucketSchema = z.object({
  key: z.string().min(1).max(200),
  /** The pace: requests per second, kept up indefinitely. */
  perSecond: z.number().finite().positive().max(1_000_000),
  /** Requests that may go at once after a pause (≥ 1; 1: none ahead of the pace). */
  burst: z.number().finite().min(1).max(1_000_000).default(1),
});
export const budgetBucketsSchema = z
  .array(budgetBucketSchema)
  .min(1)
  .max(8)
  .refine((bs) => new Set(bs.map((b) => b.key)).size === bs.length, 'bucket keys must differ');

export type BudgetBucketInput = z.input<typeof budgetBucketSchema>;

/** GCRA's view of a bucket: one request every period, at most burst − 1 periods ahead of it. */
export function toGcra(b: z.output<typeof budgetBucketSchema>): GcraBucket {
  const periodMs = 1000 / b.perSecond;
  return { key: b.key, periodMs, toleranceMs: (b.burst - 1) * periodMs };
}

/**
 * How far ahead a slot may be taken. Further away, the caller sleeps until the slot is this near and asks again:
 * a far slot taken would hold the account's other endpoints until then (repository.ts), and a slot not taken can
 * still go to a request that fits before it. The jitter keeps waiters for one slot from asking all at once.
 */
export const RESERVE_HORIZON_MS = 100;

/** Reserves one request in every bucket; resolves to the milliseconds to wait before sending it. */
export async function reserveBudget(
  db: Queryable,
  scope: BudgetScope,
  buckets: readonly BudgetBucketInput[],
): Promise<number> {
  return (await reserveSlot(db, scope, buckets)).waitMs;
}

/** `reserveBudget`, answering the slot taken as well (on the database's clock). */
export async function reserveSlot(
  db: Queryable,
  scope: BudgetScope,
  buckets: readonly BudgetBucketInput[],
): Promise<Reservation> {
  const parsed = budgetBucketsSchema.safeParse(buckets);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid budget buckets: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const gcra = parsed.data.map(toGcra);
  for (;;) {
    const r = await rateBudgetRepository.reserve(db, scope, gcra, RESERVE_HORIZON_MS);
    if (r.taken) return r;
    await sleep(r.waitMs - RESERVE_HORIZON_MS + Math.random() * (RESERVE_HORIZON_MS / 2));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(1, ms)));
