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
});
