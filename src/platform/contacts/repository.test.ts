import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../../db/test-db.ts';
import { createHarness, type Harness } from '../../../test/helpers/harness.ts';
import { contactRepository } from './repository.ts';

describe.each(dbKinds())('contact attribute writes on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h?.close());

  const attrs = async (id: string) =>
    (await contactRepository.get(h.platform.db, h.workspace.id, id))?.custom_attributes ?? null;

  it('merges attributes into many contacts at once, removes unset names and skips unknown ids', async () => {
    const { userContactId: user, leadContactId: lead } = h.ids;
    await contactRepository.updateAttributesMany(h.platform.db, h.workspace.id, [
      { id: user, set: { plan: 'Pro', seats: 3 }, unset: [] },
      { id: lead, set: { plan: 'Free' }, unset: [] },
    ]);
    const n = await contactRepository.updateAttributesMany(h.platform.db, h.workspace.id, [
      { id: user, set: { plan: 'Team' }, unset: ['seats'] },
      { id: lead, set: { trial: true }, unset: [] },
      { id: 'no_such_contact', set: { plan: 'Pro' }, unset: [] },
    ]);
    expect(n).toBe(2);
    expect(await attrs(user)).toMatchObject({ plan: 'Team' });
    expect(await attrs(user)).not.toHaveProperty('seats');
    expect(await attrs(lead)).toMatchObject({ plan: 'Free', trial: true });
  });

  /** Waits until `n` statements of this database wait for a lock. */
  async function waitingForLocks(n: number): Promise<void> {
    for (let i = 0; i < 300; i++) {
      const waiting = await h.platform.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if ((waiting.rows[0]?.n ?? 0) >= n) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`fewer than ${n} statements waited for a lock`);
  }

  /**
   * Takes row locks in another transaction with `lock`, starts `writes` (which wait for them), lets `waiters`
   * statements queue, then commits and answers what the writes answered.
   */
  async function behindLock<T>(lock: string, params: unknown[], waiters: number, writes: () => Promise<T>) {
    const other = new pg.Client({ connectionString: h.testDb.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(lock, params);
      const written = writes();
      written.catch(() => undefined); // awaited below, after the commit
      await waitingForLocks(waiters);
      await other.query('COMMIT');
      return await written;
    } finally {
      await other.end();
    }
  }

  it.runIf(kind === 'postgres')(
    'keeps both changes when another transaction changes the contact meanwhile',
    async () => {
      const { userContactId: user, leadContactId: lead } = h.ids;
      // The batch blocks on the row the other transaction holds; the row then has a new version.
      const written = await behindLock(
        `UPDATE contacts SET custom_attributes = custom_attributes || '{"from_other": 1}'
         WHERE workspace_id = $1 AND id = $2`,
        [h.workspace.id, user],
        1,
        () =>
          contactRepository.updateAttributesMany(h.platform.db, h.workspace.id, [
            { id: user, set: { from_batch: 2 }, unset: [] },
            { id: lead, set: { from_batch: 2 }, unset: [] },
          ]),
      );
      expect(written).toBe(2);
      expect(await attrs(user)).toMatchObject({ from_other: 1, from_batch: 2 });
      expect(await attrs(lead)).toMatchObject({ from_batch: 2 });
    },
  );

  it.runIf(kind === 'postgres')(
    'two batches naming the same contacts in opposite orders both land (they wait, not deadlock)',
    async () => {
      const { userContactId: user, leadContactId: lead } = h.ids;
      // Both rows locked (not changed), so that both batches are under way before either can write. Written in
      // the order given, each batch would hold the row the other waits for (deadlock detected).
      const written = await behindLock(
        `SELECT id FROM contacts WHERE workspace_id = $1 AND id = ANY($2::text[]) FOR UPDATE`,
        [h.workspace.id, [user, lead]],
        2,
        () =>
          Promise.all([
            contactRepository.updateAttributesMany(h.platform.db, h.workspace.id, [
              { id: user, set: { first: 1 }, unset: [] },
              { id: lead, set: { first: 1 }, unset: [] },
            ]),
            contactRepository.updateAttributesMany(h.platform.db, h.workspace.id, [
              { id: lead, set: { second: 2 }, unset: [] },
              { id: user, set: { second: 2 }, unset: [] },
            ]),
          ]),
      );
      expect(written).toEqual([2, 2]);
      for (const id of [user, lead]) expect(await attrs(id)).toMatchObject({ first: 1, second: 2 });
    },
  );
});
