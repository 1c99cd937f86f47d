/**
 * Matching Stripe customers to contacts (DESIGN.md §3.2): explicit link, then `metadata[<key>]` = the contact's
 * user_id, then email. Every function here works on a *set* of candidates and sorts by fixed keys, so the outcome
 * never depends on the order in which Stripe objects or webhooks arrived.
 */
import type Stripe from 'stripe';
import type { HostContact } from '../../app-sdk/index.ts';
import { TERMINAL_SUBSCRIPTION_STATUSES } from './pricing.ts';

export type MatchMethod = 'link' | 'user_id' | 'email';
export type ContactCandidate = Pick<HostContact, 'id' | 'role' | 'external_id' | 'email'>;

/** What matching needs to know about a customer: from the customer itself plus its subscriptions. */
export interface CustomerFacts {
  id: string;
  email: string | null;
  metadata: Readonly<Record<string, string>>;
  created: number;
  /** Has a subscription that is not canceled / incomplete_expired: the conflict rule prefers such a customer. */
  hasLiveSubscription: boolean;
}

export interface Match {
  contactId: string;
  method: MatchMethod;
}

export interface MatchOptions {
  /** The metadata key holding the host app's user id (a setting; `user_id` by default). */
  userIdKey?: string;
  /** customer id → contact id, for explicit links (a teammate's, or an earlier sync's). */
  links?: ReadonlyMap<string, string>;
  /** customer id → contact ids a teammate unlinked: never matched again by user_id or email. */
  unlinked?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Trim, Unicode NFC, lower case (NFC again: lower-casing can decompose, e.g. "İ" → "i̇"). Intercom compares
 * case-sensitively and its users trip over it. An empty address is no address.
 */
export function normaliseEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  const normalised = email.trim().normalize('NFC').toLowerCase().normalize('NFC');
  return normalised === '' ? null : normalised;
}

export function customerFacts(
  customer: Stripe.Customer,
  subscriptions: readonly Stripe.Subscription[],
): CustomerFacts {
  const own = subscriptions.filter(
    (s) => (typeof s.customer === 'string' ? s.customer : s.customer.id) === customer.id,
  );
  return {
    id: customer.id,
    email: customer.email,
    metadata: customer.metadata ?? {},
    created: customer.created,
    hasLiveSubscription: own.some((s) => !TERMINAL_SUBSCRIPTION_STATUSES.has(s.status)),
  };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * §3.2's fixed rule among customers that claim one contact by email: a customer with a live (non-terminal)
 * subscription first, then the most recently created, then the smaller id (ids never tie).
 */
export function compareEmailClaimants(a: CustomerFacts, b: CustomerFacts): number {
  return Number(b.hasLiveSubscription) - Number(a.hasLiveSubscription) || b.created - a.created || byId(a, b);
}

/**
 * One customer's own match, ignoring the account's other customers: the first rule that finds a contact wins.
 * A link to a contact missing from `contacts` (deleted) is stale and falls through to the next rule.
 * Email: users before leads (a lead is anonymous; the user is the identified person), then the smaller id.
 */
export function matchCustomer(
  customer: CustomerFacts,
  contacts: readonly ContactCandidate[],
  options: MatchOptions = {},
): Match | undefined {
  const linked = options.links?.get(customer.id);
  if (linked !== undefined && contacts.some((c) => c.id === linked)) {
    return { contactId: linked, method: 'link' };
  }
  const excluded = options.unlinked?.get(customer.id);
  const eligible = contacts.filter((c) => !excluded?.has(c.id));

  const userId = customer.metadata[options.userIdKey ?? 'user_id']?.trim();
  if (userId) {
    const user = eligible.find((c) => c.role === 'user' && c.external_id === userId);
    if (user) return { contactId: user.id, method: 'user_id' };
  }

  const email = normaliseEmail(customer.email);
  if (email === null) return undefined;
  const sameEmail = eligible
    .filter((c) => normaliseEmail(c.email) === email)
    .sort((a, b) => Number(a.role !== 'user') - Number(b.role !== 'user') || byId(a, b));
  // The other leads with this address show the same card (card.ts); only this contact gets the attributes.
  const [first] = sameEmail;
  return first ? { contactId: first.id, method: 'email' } : undefined;
}

export interface EmailConflict {
  /** null when no contact has the email yet: the winner is in `create` and gets the new contact. */
  contactId: string | null;
  /** The normalised email the customers share with the contact. */
  email: string;
  /** The customer the contact is linked to. */
  winner: string;
  winnerMethod: MatchMethod;
  /** The other customers that matched the contact by email, in the rule's order; they stay unlinked. */
  losers: string[];
}

export interface AccountMatches {
  matches: Map<string, Match>;
  conflicts: EmailConflict[];
  /**
   * Customers that matched no contact and have an email: the sync engine creates a user contact (email as
   * identity) for each. Of several such customers sharing an email only the rule's winner is here (the others are
   * conflicts), so one email never yields two new contacts.
   */
  create: string[];
  /** Customers with no match and no email: nothing identifies a contact for them, so none is created. */
  unmatched: string[];
}

/**
 * Matches all customers of one account (or any subset closed under "shares a normalised email", which is what the
 * sync engine passes when one customer changes). A contact claimed by a link or user_id keeps that customer, and
 * every email claimant of it is a conflict; otherwise the email claimants are ordered by compareEmailClaimants and
 * the first wins. Losers stay unlinked rather than creating a second contact with the same email.
 */
export function resolveAccountMatches(
  customers: readonly CustomerFacts[],
  contacts: readonly ContactCandidate[],
  options: MatchOptions = {},
): AccountMatches {
  const sorted = [...customers].sort(byId);
  const own = new Map(sorted.map((c) => [c.id, matchCustomer(c, contacts, options)] as const));

  const strongOwner = new Map<string, { customer: string; method: MatchMethod }>();
  const emailClaims = new Map<string, CustomerFacts[]>();
  for (const customer of sorted) {
    const match = own.get(customer.id);
    if (!match) continue;
    if (match.method === 'email') {
      emailClaims.set(match.contactId, [...(emailClaims.get(match.contactId) ?? []), customer]);
    } else if (!strongOwner.has(match.contactId)) {
      strongOwner.set(match.contactId, { customer: customer.id, method: match.method }); // smallest id reports it
    }
  }

  const matches = new Map<string, Match>();
  const conflicts: EmailConflict[] = [];
  for (const customer of sorted) {
    const match = own.get(customer.id);
    if (match && match.method !== 'email') matches.set(customer.id, match);
  }
  for (const [contactId, claimants] of [...emailClaims].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ordered = [...claimants].sort(compareEmailClaimants);
    const owner = strongOwner.get(contactId);
    const email = normaliseEmail(ordered[0]?.email) ?? '';
    if (owner) {
      conflicts.push({
        contactId,
        email,
        winner: owner.customer,
        winnerMethod: owner.method,
        losers: ordered.map((c) => c.id),
      });
      continue;
    }
    const [winner, ...losers] = ordered;
    if (!winner) continue;
    const match = own.get(winner.id);
    if (match) matches.set(winner.id, match);
    if (losers.length > 0) {
      conflicts.push({
        contactId,
        email,
        winner: winner.id,
        winnerMethod: 'email',
        losers: losers.map((c) => c.id),
      });
    }
  }
  const create: string[] = [];
  const unmatched: string[] = [];
  const newByEmail = new Map<string, CustomerFacts[]>();
  for (const customer of sorted) {
    if (own.get(customer.id)) continue;
    const email = normaliseEmail(customer.email);
    if (email === null) unmatched.push(customer.id);
    else newByEmail.set(email, [...(newByEmail.get(email) ?? []), customer]);
  }
  for (const [email, group] of [...newByEmail].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [winner, ...losers] = [...group].sort(compareEmailClaimants);
    if (!winner) continue;
    create.push(winner.id);
    if (losers.length > 0) {
      conflicts.push({
        contactId: null,
        email,
        winner: winner.id,
        winnerMethod: 'email',
        losers: losers.map((c) => c.id),
      });
    }
  }
  return { matches, conflicts, create, unmatched };
}

/** The conflicts for the connection's settings page: existing contacts by id, then new ones by email. */
export function listEmailConflicts(
  customers: readonly CustomerFacts[],
  contacts: readonly ContactCandidate[],
  options: MatchOptions = {},
): EmailConflict[] {
  return resolveAccountMatches(customers, contacts, options).conflicts;
}
