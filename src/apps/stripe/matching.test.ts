// §3.2: link, then metadata user_id, then normalised email; the fixed conflict rule, independent of arrival order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  customerFacts,
  listEmailConflicts,
  matchCustomer,
  normaliseEmail,
  resolveAccountMatches,
  type ContactCandidate,
  type CustomerFacts,
} from './matching.ts';
import { customer, item, price, subscription } from './__fixtures__/stripe-objects.ts';

const user = (id: string, external_id: string | null, email: string | null): ContactCandidate => ({
  id,
  role: 'user',
  external_id,
  email,
});
const lead = (id: string, email: string | null): ContactCandidate => ({
  id,
  role: 'lead',
  external_id: null,
  email,
});
const facts = (id: string, email: string | null, extra: Partial<CustomerFacts> = {}): CustomerFacts => ({
  id,
  email,
  metadata: {},
  created: 1000,
  hasLiveSubscription: false,
  ...extra,
});

describe('normaliseEmail', () => {
  it('trims, lower-cases and composes: decomposed and composed é are one address', () => {
    const composed = 'Ren\u00e9@Example.com'; // é as one code point
    const decomposed = ' rene\u0301@EXAMPLE.COM  '; // e + combining acute accent
    expect(composed).not.toBe(decomposed.trim());
    expect(normaliseEmail(composed)).toBe('ren\u00e9@example.com');
    expect(normaliseEmail(decomposed)).toBe(normaliseEmail(composed));
  });

  it('treats empty and blank addresses as none', () => {
    expect(normaliseEmail('   ')).toBeNull();
    expect(normaliseEmail(null)).toBeNull();
  });
});

describe('matchCustomer', () => {
  const contacts = [
    user('c_ada', 'u_ada', 'ada@example.com'),
    user('c_other', 'u_other', 'other@example.com'),
  ];

  it('explicit link wins over user_id and email', () => {
    const c = facts('cus_1', 'ada@example.com', { metadata: { user_id: 'u_ada' } });
    expect(matchCustomer(c, contacts, { links: new Map([['cus_1', 'c_other']]) })).toEqual({
      contactId: 'c_other',
      method: 'link',
    });
  });

  it('a link to a contact that no longer exists falls through to the next rule', () => {
    const c = facts('cus_1', 'ada@example.com');
    expect(matchCustomer(c, contacts, { links: new Map([['cus_1', 'c_deleted']]) })?.method).toBe('email');
  });

  it('metadata.user_id wins over email', () => {
    const c = facts('cus_1', 'other@example.com', { metadata: { user_id: 'u_ada' } });
    expect(matchCustomer(c, contacts)).toMatchObject({ contactId: 'c_ada', method: 'user_id' });
  });

  it('the metadata key is a setting', () => {
    const c = facts('cus_1', null, { metadata: { app_uid: 'u_ada', user_id: 'u_other' } });
    expect(matchCustomer(c, contacts, { userIdKey: 'app_uid' })).toMatchObject({
      contactId: 'c_ada',
      method: 'user_id',
    });
  });

  it('email matches case-insensitively and across Unicode forms', () => {
    const people = [user('c_rene', null, 'rene\u0301@example.com')];
    expect(matchCustomer(facts('cus_1', '  REN\u00c9@Example.COM'), people)).toMatchObject({
      contactId: 'c_rene',
      method: 'email',
    });
  });

  it('leads with the same email are matched too; a user is preferred as the contact', () => {
    const people = [lead('c_lead2', 'x@y.io'), user('c_user', null, 'X@y.io'), lead('c_lead1', 'x@Y.io')];
    expect(matchCustomer(facts('cus_1', 'x@y.io'), people)).toEqual({
      contactId: 'c_user',
      method: 'email',
    });
    expect(matchCustomer(facts('cus_1', 'x@y.io'), [lead('c_lead', 'x@y.io')])).toMatchObject({
      contactId: 'c_lead',
      method: 'email',
    });
  });

  it('a contact a teammate unlinked is not matched again by email or user_id', () => {
    const c = facts('cus_1', 'ada@example.com', { metadata: { user_id: 'u_ada' } });
    expect(
      matchCustomer(c, contacts, { unlinked: new Map([['cus_1', new Set(['c_ada'])]]) }),
    ).toBeUndefined();
  });

  it('no match without a link, user id or shared email', () => {
    expect(matchCustomer(facts('cus_1', 'nobody@example.com'), contacts)).toBeUndefined();
  });
});

describe('customerFacts', () => {
  it('a live subscription is any that is not canceled or incomplete_expired', () => {
    const cus = customer('cus_1', { email: 'a@b.c' });
    const mk = (status: 'canceled' | 'incomplete_expired' | 'paused') =>
      subscription(`s_${status}`, 'cus_1', status, [item('i', price('p', 100), 1)]);
    expect(customerFacts(cus, [mk('canceled'), mk('incomplete_expired')]).hasLiveSubscription).toBe(false);
    expect(customerFacts(cus, [mk('canceled'), mk('paused')]).hasLiveSubscription).toBe(true);
  });
});

describe('resolveAccountMatches: several customers, one email', () => {
  const contact = user('c_1', 'u_1', 'dup@example.com');
  const customers = [
    facts('cus_old_live', 'dup@example.com', { created: 100, hasLiveSubscription: true }),
    facts('cus_new_live', 'DUP@example.com', { created: 300, hasLiveSubscription: true }),
    facts('cus_newest_dead', ' dup@example.com', { created: 900, hasLiveSubscription: false }),
    facts('cus_tie_b', 'dup@example.com', { created: 50 }),
    facts('cus_tie_a', 'dup@example.com', { created: 50 }),
  ];

  it('links the live-subscription customer, most recent first; the rest are listed as conflicts', () => {
    const result = resolveAccountMatches(customers, [contact]);
    expect([...result.matches]).toEqual([['cus_new_live', { contactId: 'c_1', method: 'email' }]]);
    expect(result.conflicts).toEqual([
      {
        contactId: 'c_1',
        email: 'dup@example.com',
        winner: 'cus_new_live',
        winnerMethod: 'email',
        // live first (newer first), then by created desc, then the smaller id
        losers: ['cus_old_live', 'cus_newest_dead', 'cus_tie_a', 'cus_tie_b'],
      },
    ]);
    expect(result.create).toEqual([]);
  });

  it('gives the same links and conflicts for every arrival order', () => {
    const expected = resolveAccountMatches(customers, [contact]);
    fc.assert(
      fc.property(fc.shuffledSubarray(customers, { minLength: customers.length }), (arrival) => {
        const got = resolveAccountMatches(arrival, [contact]);
        expect([...got.matches]).toEqual([...expected.matches]);
        expect(got.conflicts).toEqual(expected.conflicts);
      }),
    );
  });

  it('any arrival order of any subset picks the winner by the rule', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(customers, { minLength: 1 }), (subset) => {
        const winner = [...resolveAccountMatches(subset, [contact]).matches.keys()];
        const live = subset.filter((c) => c.hasLiveSubscription);
        const pool = live.length > 0 ? live : subset;
        const newest = Math.max(...pool.map((c) => c.created));
        const expectedId = pool
          .filter((c) => c.created === newest)
          .map((c) => c.id)
          .sort()[0];
        expect(winner).toEqual([expectedId]);
      }),
    );
  });

  it('a contact held by a user_id match keeps that customer; email claimants are conflicts', () => {
    const result = resolveAccountMatches(
      [
        facts('cus_email', 'dup@example.com', { created: 999, hasLiveSubscription: true }),
        facts('cus_uid', 'else@example.com', { metadata: { user_id: 'u_1' } }),
      ],
      [contact],
    );
    expect([...result.matches.keys()]).toEqual(['cus_uid']);
    expect(result.conflicts).toEqual([
      {
        contactId: 'c_1',
        email: 'dup@example.com',
        winner: 'cus_uid',
        winnerMethod: 'user_id',
        losers: ['cus_email'],
      },
    ]);
  });

  it('customers without a contact: one new contact per email, by the same rule; no email, no contact', () => {
    const result = resolveAccountMatches(
      [
        facts('cus_a', 'new@example.com', { created: 10 }),
        facts('cus_b', 'NEW@example.com', { created: 20 }),
        facts('cus_solo', 'solo@example.com'),
        facts('cus_anon', null),
      ],
      [],
    );
    expect(result.create).toEqual(['cus_b', 'cus_solo']);
    expect(result.unmatched).toEqual(['cus_anon']);
    expect(
      listEmailConflicts(
        [
          facts('cus_a', 'new@example.com', { created: 10 }),
          facts('cus_b', 'new@example.com', { created: 20 }),
        ],
        [],
      ),
    ).toEqual([
      {
        contactId: null,
        email: 'new@example.com',
        winner: 'cus_b',
        winnerMethod: 'email',
        losers: ['cus_a'],
      },
    ]);
  });

  it('explicit links are not conflicts, even several on one contact', () => {
    const links = new Map([
      ['cus_x', 'c_1'],
      ['cus_y', 'c_1'],
    ]);
    const result = resolveAccountMatches([facts('cus_x', null), facts('cus_y', null)], [contact], { links });
    expect(result.conflicts).toEqual([]);
    expect([...result.matches.keys()]).toEqual(['cus_x', 'cus_y']);
  });
});
