import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapPool, type Db } from '../../db/client.ts';
import { createTestDb, dbKinds, type TestDb } from '../../db/test-db.ts';
import { reserveBudget, reserveSlot, type BudgetBucketInput } from './service.ts';

/**
 * When each reserved request goes: its slot on the database's clock, which is what the budget paces (the moment
 * the test's own event loop sees an answer drifts with the machine's load).
 */
async function sendTimes(db: Db, workspaceId: string, n: number, buckets: BudgetBucketInput[]) {
  const slots = await Promise.all(
    Array.from({ length: n }, () => reserveSlot(db, { workspaceId, scope: 'app:test' }, buckets)),
  );
  return slots.map((r) => r.slotMs);
}
const span = (times: number[]) => Math.max(...times) - Math.min(...times);
/** The fewest milliseconds between any two sends k apart in time order. */
function minGap(times: number[], k = 1): number {
  const sorted = [...times].sort((a, b) => a - b);
  let min = Infinity;
  for (let i = k; i < sorted.length; i++) min = Math.min(min, sorted[i]! - sorted[i - k]!);
  return min;
}
const ws = () => `ws_${randomBytes(4).toString('hex')}`;

describe.each(dbKinds())('rate budgets on %s', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it('paces a bucket: concurrent requests get slots one period apart', async () => {
    const times = await sendTimes(t.db, ws(), 20, [{ key: 'acct', perSecond: 20 }]);
    // 20 requests at 20/s without burst: the last goes ~950 ms after the first, never two within 50 ms.
    expect(span(times)).toBeGreaterThanOrEqual(19 * 50 - 1);
    expect(minGap(times)).toBeGreaterThanOrEqual(50 - 0.1);
  });

  it('lets a burst go at once, then keeps to the pace', async () => {
    const w = ws();
    const bucket = [{ key: 'acct', perSecond: 10, burst: 5 }];
    const slots = await Promise.all(
      Array.from({ length: 8 }, () => reserveSlot(t.db, { workspaceId: w, scope: 'app:test' }, bucket)),
    );
    // Five go as they come, without waiting; the other three one per 100 ms after the burst.
    expect(slots.filter((r) => r.waitMs < 1).length).toBeGreaterThanOrEqual(5);
    expect(span(slots.map((r) => r.slotMs))).toBeGreaterThanOrEqual(300 - 1);
  });

  it('takes the slot free in every bucket: an endpoint’s pace does not hold another endpoint', async () => {
    const w = ws();
    const account = { key: 'acct', perSecond: 100 };
    const [slow, fast] = await Promise.all([
      sendTimes(t.db, w, 5, [account, { key: 'acct|customers', perSecond: 10 }]),
      sendTimes(t.db, w, 5, [account, { key: 'acct|prices', perSecond: 100 }]),
    ]);
    expect(span(slow)).toBeGreaterThanOrEqual(400 - 1); // 10/s on its endpoint
    expect(span(fast)).toBeLessThan(300); // only the account's 100/s in its way
    expect(minGap([...slow, ...fast])).toBeGreaterThanOrEqual(10 - 0.1); // and both within the account's pace
  });

  it('keeps workspaces and scopes apart', async () => {
    const bucket = [{ key: 'acct', perSecond: 1 }];
    const first = await reserveSlot(t.db, { workspaceId: 'ws_a', scope: 'app:one' }, bucket);
    const others = await Promise.all([
      reserveBudget(t.db, { workspaceId: 'ws_b', scope: 'app:one' }, bucket),
      reserveBudget(t.db, { workspaceId: 'ws_a', scope: 'app:two' }, bucket),
    ]);
    expect([first.waitMs, ...others]).toEqual([0, 0, 0]);
    // The second request of ws_a's bucket gets the slot a second after the first. Compared on the database's clock:
    // a wall-clock gap measured from here would shrink by however long the calls above took on a loaded machine.
    const second = await reserveSlot(t.db, { workspaceId: 'ws_a', scope: 'app:one' }, bucket);
    expect(second.slotMs - first.slotMs).toBeGreaterThanOrEqual(1000 - 1);
  });

  it('refuses a bucket without a pace, or two buckets with one key, naming what is wrong', async () => {
    const scope = { workspaceId: ws(), scope: 'app:test' };
    await expect(reserveBudget(t.db, scope, [{ key: 'a', perSecond: 0 }])).rejects.toThrow(/0\.perSecond/);
    await expect(
      reserveBudget(t.db, scope, [
        { key: 'a', perSecond: 1 },
        { key: 'a', perSecond: 2 },
      ]),
    ).rejects.toThrow(/keys must differ/);
    await expect(reserveBudget(t.db, scope, [])).rejects.toThrow(/invalid budget buckets/);
  });

  it.runIf(kind === 'postgres')(
    'is shared by processes: two connection pools on one database pace together',
    async () => {
      // Each pool stands for a Settle process. With buckets kept per process, each would send its 12 at 20/s
      // and the two would together send 24 in ~550 ms, twice the budget.
      const other = wrapPool(new pg.Pool({ connectionString: t.url, max: 4 }));
      try {
        const w = ws();
        const bucket = [{ key: 'acct', perSecond: 20 }];
        const [a, b] = await Promise.all([sendTimes(t.db, w, 12, bucket), sendTimes(other, w, 12, bucket)]);
        const all = [...a, ...b];
        expect(span(all)).toBeGreaterThanOrEqual(23 * 50 - 1);
        expect(minGap(all)).toBeGreaterThanOrEqual(50 - 0.1);
      } finally {
        await other.close();
      }
    },
  );
});
